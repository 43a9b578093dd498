//! Configuration: built-in defaults < `ampere.toml` (or `--config FILE`) < `AMPERE_*`
//! environment variables < command-line flags.
//!
//! clap already folds flags over environment variables (each flag names its `AMPERE_*`
//! variable), so what is left here is laying that over the file and the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde::Deserialize;

/// How the server treats a charger that connects with an identity nobody registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownChargers {
    /// Refuse the WebSocket handshake with 404.
    Reject,
    /// Let it connect, answer BootNotification `Pending`, and list it for approval.
    Pending,
    /// Let it connect and accept it at once.
    Accept,
}

/// Flags shared by every subcommand that opens the data store or starts listeners.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Configuration file (TOML). Without it, `./ampere.toml` is read when it exists.
    #[arg(long, env = "AMPERE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database and files.
    #[arg(long, env = "AMPERE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://…`; default: SQLite in the data directory.
    #[arg(
        long,
        env = "AMPERE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Plain WebSocket listener for chargers (security profile 1).
    #[arg(long, env = "AMPERE_OCPP_ADDR", global = true)]
    pub ocpp_addr: Option<SocketAddr>,
    /// TLS WebSocket listener for chargers (profiles 2 and 3).
    #[arg(long, env = "AMPERE_OCPP_TLS_ADDR", global = true)]
    pub ocpp_tls_addr: Option<SocketAddr>,
    /// Server certificate chain (PEM) for the TLS listener.
    #[arg(long, env = "AMPERE_TLS_CERT", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM) for the TLS listener.
    #[arg(long, env = "AMPERE_TLS_KEY", global = true)]
    pub tls_key: Option<PathBuf>,
    /// CA bundle (PEM) that charger client certificates are checked against.
    #[arg(long, env = "AMPERE_TLS_CLIENT_CA", global = true)]
    pub tls_client_ca: Option<PathBuf>,
    /// Operator CA certificate (PEM) that signs chargers' certificate requests
    /// (SignCertificate); default `<data-dir>/pki/ca.pem` when it exists.
    #[arg(long, env = "AMPERE_CA_CERT", global = true)]
    pub ca_cert: Option<PathBuf>,
    /// The operator CA's private key (PEM); default `<data-dir>/pki/ca.key.pem`.
    #[arg(long, env = "AMPERE_CA_KEY", global = true)]
    pub ca_key: Option<PathBuf>,
    /// External CA instead of the operator CA: a command (run by `sh -c`) that gets the
    /// charger's PEM CSR on stdin, `AMPERE_CHARGER_ID` and `AMPERE_CERTIFICATE_TYPE` in its
    /// environment, and prints the signed PEM chain (leaf first) on stdout.
    #[arg(long, env = "AMPERE_CSR_HOOK", global = true)]
    pub csr_hook: Option<String>,
    /// Organisation (O) a charger's certificate request must name, when set.
    #[arg(long, env = "AMPERE_CSR_ORGANISATION", global = true)]
    pub csr_organisation: Option<String>,
    /// Validity of the charger certificates the operator CA signs, in days.
    #[arg(long, env = "AMPERE_CHARGER_CERT_DAYS", global = true)]
    pub charger_cert_days: Option<u32>,
    /// Ask a charger for a new certificate this many days before its certificate expires.
    #[arg(long, env = "AMPERE_CERT_RENEW_DAYS", global = true)]
    pub cert_renew_days: Option<u32>,
    /// How often to look for certificates to renew, in seconds.
    #[arg(long, env = "AMPERE_CERT_CHECK_INTERVAL", global = true)]
    pub cert_check_interval: Option<u64>,
    /// REST API, dashboard and charger file endpoints.
    #[arg(long, env = "AMPERE_HTTP_ADDR", global = true)]
    pub http_addr: Option<SocketAddr>,
    /// Base URL chargers reach the HTTP listener at (firmware downloads, log uploads), e.g.
    /// `http://csms.example.com:8080`; default derived from --http-addr.
    #[arg(long, env = "AMPERE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Largest firmware image operators may upload, in bytes (default 1 GiB).
    #[arg(long, env = "AMPERE_MAX_FIRMWARE_BYTES", global = true)]
    pub max_firmware_bytes: Option<u64>,
    /// Largest diagnostics or log file a charger may upload, in bytes (default 256 MiB).
    #[arg(long, env = "AMPERE_MAX_UPLOAD_BYTES", global = true)]
    pub max_upload_bytes: Option<u64>,
    /// What to do with chargers nobody registered.
    #[arg(long, env = "AMPERE_UNKNOWN_CHARGERS", global = true)]
    pub unknown_chargers: Option<UnknownChargers>,
    /// NATS server for cluster mode.
    #[arg(long, env = "AMPERE_NATS_URL", global = true)]
    pub nats_url: Option<String>,
    /// Heartbeat interval given to chargers in BootNotification, in seconds.
    #[arg(long, env = "AMPERE_HEARTBEAT_INTERVAL", global = true)]
    pub heartbeat_interval: Option<u64>,
    /// Seconds to wait for a charger's answer to a CSMS-initiated call.
    #[arg(long, env = "AMPERE_CALL_TIMEOUT", global = true)]
    pub call_timeout: Option<u64>,
    /// Largest OCPP message accepted from a charger, in bytes.
    #[arg(long, env = "AMPERE_MAX_MESSAGE_BYTES", global = true)]
    pub max_message_bytes: Option<usize>,
    /// Most charger connections held at once.
    #[arg(long, env = "AMPERE_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
    /// Milliseconds a charger has from TCP accept to a finished upgrade (slow clients are
    /// cut off; default 10000).
    #[arg(long, env = "AMPERE_HANDSHAKE_TIMEOUT_MS", global = true)]
    pub handshake_timeout_ms: Option<u64>,
    /// Handshakes in progress at once from one source address (default 2048; chargers
    /// behind one NAT address share it).
    #[arg(long, env = "AMPERE_MAX_HANDSHAKES_PER_ADDRESS", global = true)]
    pub max_handshakes_per_address: Option<usize>,
    /// Seconds without any traffic from a charger (not even a pong) before it is
    /// disconnected; default three heartbeat intervals, 0 never.
    #[arg(long, env = "AMPERE_IDLE_TIMEOUT", global = true)]
    pub idle_timeout: Option<u64>,
    /// Sustained messages per second read from one charger (faster ones are read later,
    /// nothing is refused); default 50, 0 no limit.
    #[arg(long, env = "AMPERE_MAX_MESSAGE_RATE", global = true)]
    pub max_message_rate: Option<f64>,
    /// Messages a charger may send at once above the rate (default 500).
    #[arg(long, env = "AMPERE_MESSAGE_BURST", global = true)]
    pub message_burst: Option<u32>,
    /// Failed password logins of one charger identity, within 5 minutes, that lock it
    /// (default 5; 0 never).
    #[arg(long, env = "AMPERE_AUTH_FAILURES_PER_IDENTITY", global = true)]
    pub auth_failures_per_identity: Option<u32>,
    /// Failed password logins from one source address, within 5 minutes, that lock it
    /// (default 100, as chargers share NAT addresses; 0 never).
    #[arg(long, env = "AMPERE_AUTH_FAILURES_PER_ADDRESS", global = true)]
    pub auth_failures_per_address: Option<u32>,
    /// Seconds of the first lock; each further one doubles, up to an hour (default 60).
    #[arg(long, env = "AMPERE_LOCKOUT_SECONDS", global = true)]
    pub lockout_seconds: Option<u64>,
    /// Milliseconds a connected charger has to answer a ping when a second connection
    /// claims its identity (default 3000).
    #[arg(long, env = "AMPERE_DUPLICATE_PROBE_MS", global = true)]
    pub duplicate_probe_ms: Option<u64>,
    /// Accept any URL path whose last segment is the charger identity (chargers migrated
    /// from another CSMS keep their URL).
    #[arg(long, env = "AMPERE_ACCEPT_ANY_PATH", global = true)]
    pub accept_any_path: Option<bool>,
    /// Log format: `text` or `json`.
    #[arg(long, env = "AMPERE_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    /// Keep the OCPP message log (every frame both ways): on or off (default on).
    #[arg(
        long,
        env = "AMPERE_MESSAGE_LOG",
        global = true,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub message_log: Option<bool>,
    /// Days the OCPP message log keeps frames (default 7); 0 keeps them forever.
    #[arg(long, env = "AMPERE_MESSAGE_LOG_RETENTION_DAYS", global = true)]
    pub message_log_retention_days: Option<u32>,
    /// Wait before the first webhook retry, in milliseconds (default 10000); it doubles
    /// with every further attempt, up to an hour, less some random jitter.
    #[arg(long, env = "AMPERE_WEBHOOK_RETRY_BASE_MS", global = true)]
    pub webhook_retry_base_ms: Option<u64>,
    /// Attempts per webhook delivery before it is given up (default 10).
    #[arg(long, env = "AMPERE_WEBHOOK_MAX_ATTEMPTS", global = true)]
    pub webhook_max_attempts: Option<u32>,
    /// Time limit of one webhook post, in milliseconds (default 10000).
    #[arg(long, env = "AMPERE_WEBHOOK_TIMEOUT_MS", global = true)]
    pub webhook_timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The file's shape: every key optional, names as the flags with `_` for `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    ocpp_addr: Option<SocketAddr>,
    ocpp_tls_addr: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    ca_cert: Option<PathBuf>,
    ca_key: Option<PathBuf>,
    csr_hook: Option<String>,
    csr_organisation: Option<String>,
    charger_cert_days: Option<u32>,
    cert_renew_days: Option<u32>,
    cert_check_interval: Option<u64>,
    http_addr: Option<SocketAddr>,
    public_url: Option<String>,
    max_firmware_bytes: Option<u64>,
    max_upload_bytes: Option<u64>,
    unknown_chargers: Option<UnknownChargers>,
    nats_url: Option<String>,
    heartbeat_interval: Option<u64>,
    call_timeout: Option<u64>,
    max_message_bytes: Option<usize>,
    max_connections: Option<usize>,
    handshake_timeout_ms: Option<u64>,
    max_handshakes_per_address: Option<usize>,
    idle_timeout: Option<u64>,
    max_message_rate: Option<f64>,
    message_burst: Option<u32>,
    auth_failures_per_identity: Option<u32>,
    auth_failures_per_address: Option<u32>,
    lockout_seconds: Option<u64>,
    duplicate_probe_ms: Option<u64>,
    accept_any_path: Option<bool>,
    log_format: Option<LogFormat>,
    message_log: Option<bool>,
    message_log_retention_days: Option<u32>,
    webhook_retry_base_ms: Option<u64>,
    webhook_max_attempts: Option<u32>,
    webhook_timeout_ms: Option<u64>,
}

/// The configuration in force, every value decided.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub ocpp_addr: SocketAddr,
    pub ocpp_tls_addr: SocketAddr,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    /// The operator CA for SignCertificate: both given, or both found in `<data-dir>/pki`.
    pub ca_cert: Option<PathBuf>,
    pub ca_key: Option<PathBuf>,
    pub csr_hook: Option<String>,
    pub csr_organisation: Option<String>,
    pub charger_cert_days: u32,
    pub cert_renew_days: u32,
    pub cert_check_interval: Duration,
    pub http_addr: SocketAddr,
    /// Without a trailing `/`; `None`: derived from the bound HTTP address.
    pub public_url: Option<String>,
    pub max_firmware_bytes: u64,
    pub max_upload_bytes: u64,
    pub unknown_chargers: UnknownChargers,
    pub nats_url: Option<String>,
    pub heartbeat_interval: Duration,
    pub call_timeout: Duration,
    pub max_message_bytes: usize,
    pub max_connections: usize,
    pub handshake_timeout: Duration,
    pub max_handshakes_per_address: usize,
    /// `Duration::ZERO`: never.
    pub idle_timeout: Duration,
    /// 0: no limit.
    pub max_message_rate: f64,
    pub message_burst: u32,
    pub auth_failures_per_identity: u32,
    pub auth_failures_per_address: u32,
    pub lockout: Duration,
    pub duplicate_probe: Duration,
    pub accept_any_path: bool,
    pub log_format: LogFormat,
    pub message_log: bool,
    pub message_log_retention_days: u32,
    pub webhook_retry_base: Duration,
    pub webhook_max_attempts: u32,
    pub webhook_timeout: Duration,
}

const DEFAULT_CONFIG_FILE: &str = "ampere.toml";

impl Config {
    /// Lays the flags (already folded over the environment by clap) over the file and the
    /// defaults.
    pub fn load(args: &ConfigArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                read_file(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => FileConfig::default(),
        };
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("ampere-data"));
        let database_url = args
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| sqlite_url(&data_dir));
        let config =
            Self {
                database_url,
                ocpp_addr: args
                    .ocpp_addr
                    .or(file.ocpp_addr)
                    .unwrap_or(([0, 0, 0, 0], 8180).into()),
                ocpp_tls_addr: args
                    .ocpp_tls_addr
                    .or(file.ocpp_tls_addr)
                    .unwrap_or(([0, 0, 0, 0], 8443).into()),
                tls_cert: args.tls_cert.clone().or(file.tls_cert),
                tls_key: args.tls_key.clone().or(file.tls_key),
                tls_client_ca: args.tls_client_ca.clone().or(file.tls_client_ca),
                ca_cert: args.ca_cert.clone().or(file.ca_cert).or_else(|| {
                    Some(data_dir.join("pki").join("ca.pem")).filter(|path| path.exists())
                }),
                ca_key: args.ca_key.clone().or(file.ca_key).or_else(|| {
                    Some(data_dir.join("pki").join("ca.key.pem")).filter(|path| path.exists())
                }),
                csr_hook: args.csr_hook.clone().or(file.csr_hook),
                csr_organisation: args.csr_organisation.clone().or(file.csr_organisation),
                charger_cert_days: args
                    .charger_cert_days
                    .or(file.charger_cert_days)
                    .unwrap_or(365)
                    .max(1),
                cert_renew_days: args.cert_renew_days.or(file.cert_renew_days).unwrap_or(30),
                cert_check_interval: Duration::from_secs(
                    args.cert_check_interval
                        .or(file.cert_check_interval)
                        .unwrap_or(3600)
                        .max(1),
                ),
                http_addr: args
                    .http_addr
                    .or(file.http_addr)
                    .unwrap_or(([0, 0, 0, 0], 8080).into()),
                public_url: args
                    .public_url
                    .clone()
                    .or(file.public_url)
                    .map(|url| url.trim_end_matches('/').to_owned()),
                max_firmware_bytes: args
                    .max_firmware_bytes
                    .or(file.max_firmware_bytes)
                    .unwrap_or(ampere_api::files::DEFAULT_MAX_FIRMWARE_BYTES),
                max_upload_bytes: args
                    .max_upload_bytes
                    .or(file.max_upload_bytes)
                    .unwrap_or(ampere_api::files::DEFAULT_MAX_UPLOAD_BYTES),
                unknown_chargers: args
                    .unknown_chargers
                    .or(file.unknown_chargers)
                    .unwrap_or(UnknownChargers::Pending),
                nats_url: args.nats_url.clone().or(file.nats_url),
                heartbeat_interval: Duration::from_secs(
                    args.heartbeat_interval
                        .or(file.heartbeat_interval)
                        .unwrap_or(300),
                ),
                call_timeout: Duration::from_secs(
                    args.call_timeout.or(file.call_timeout).unwrap_or(30),
                ),
                max_message_bytes: args
                    .max_message_bytes
                    .or(file.max_message_bytes)
                    .unwrap_or(64 * 1024),
                max_connections: args
                    .max_connections
                    .or(file.max_connections)
                    .unwrap_or(20_000),
                handshake_timeout: Duration::from_millis(
                    args.handshake_timeout_ms
                        .or(file.handshake_timeout_ms)
                        .unwrap_or(10_000)
                        .max(1),
                ),
                max_handshakes_per_address: args
                    .max_handshakes_per_address
                    .or(file.max_handshakes_per_address)
                    .unwrap_or(2048)
                    .max(1),
                idle_timeout: match args.idle_timeout.or(file.idle_timeout) {
                    Some(secs) => Duration::from_secs(secs),
                    None => {
                        Duration::from_secs(
                            args.heartbeat_interval
                                .or(file.heartbeat_interval)
                                .unwrap_or(300),
                        ) * 3
                    }
                },
                max_message_rate: args
                    .max_message_rate
                    .or(file.max_message_rate)
                    .unwrap_or(50.0)
                    .max(0.0),
                message_burst: args
                    .message_burst
                    .or(file.message_burst)
                    .unwrap_or(500)
                    .max(1),
                auth_failures_per_identity: args
                    .auth_failures_per_identity
                    .or(file.auth_failures_per_identity)
                    .unwrap_or(5),
                auth_failures_per_address: args
                    .auth_failures_per_address
                    .or(file.auth_failures_per_address)
                    .unwrap_or(100),
                lockout: Duration::from_secs(
                    args.lockout_seconds
                        .or(file.lockout_seconds)
                        .unwrap_or(60)
                        .max(1),
                ),
                duplicate_probe: Duration::from_millis(
                    args.duplicate_probe_ms
                        .or(file.duplicate_probe_ms)
                        .unwrap_or(3000)
                        .max(1),
                ),
                accept_any_path: args
                    .accept_any_path
                    .or(file.accept_any_path)
                    .unwrap_or(true),
                log_format: args
                    .log_format
                    .or(file.log_format)
                    .unwrap_or(LogFormat::Text),
                message_log: args.message_log.or(file.message_log).unwrap_or(true),
                message_log_retention_days: args
                    .message_log_retention_days
                    .or(file.message_log_retention_days)
                    .unwrap_or(7),
                webhook_retry_base: Duration::from_millis(
                    args.webhook_retry_base_ms
                        .or(file.webhook_retry_base_ms)
                        .unwrap_or(10_000),
                ),
                webhook_max_attempts: args
                    .webhook_max_attempts
                    .or(file.webhook_max_attempts)
                    .unwrap_or(10)
                    .max(1),
                webhook_timeout: Duration::from_millis(
                    args.webhook_timeout_ms
                        .or(file.webhook_timeout_ms)
                        .unwrap_or(10_000)
                        .max(1),
                ),
                data_dir,
            };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bail!("--tls-cert and --tls-key go together: give both or neither");
        }
        if self.ca_cert.is_some() != self.ca_key.is_some() {
            bail!("--ca-cert and --ca-key go together: give both or neither");
        }
        if self.heartbeat_interval.is_zero() {
            bail!("--heartbeat-interval must be at least 1 second");
        }
        if self.max_message_bytes < 1024 {
            bail!("--max-message-bytes below 1024 would refuse ordinary OCPP messages");
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("--public-url must be an http:// or https:// URL, not {url:?}");
        }
        Ok(())
    }

    /// The database URL with any password replaced, for logs and the start-up banner.
    pub fn database_url_for_display(&self) -> String {
        redact_url_password(&self.database_url)
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("ampere.db").display())
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let config = Config::load(&ConfigArgs {
            config: Some(PathBuf::from("/dev/null")),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(config.ocpp_addr, "0.0.0.0:8180".parse().unwrap());
        assert_eq!(config.ocpp_tls_addr, "0.0.0.0:8443".parse().unwrap());
        assert_eq!(config.http_addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(config.unknown_chargers, UnknownChargers::Pending);
        assert_eq!(
            config.database_url,
            "sqlite://ampere-data/ampere.db?mode=rwc"
        );
        assert_eq!(config.max_message_bytes, 65536);
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ampere.toml");
        std::fs::write(
            &path,
            "data_dir = \"/srv/ampere\"\nunknown_chargers = \"reject\"\nhttp_addr = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let config = Config::load(&ConfigArgs {
            config: Some(path),
            unknown_chargers: Some(UnknownChargers::Accept),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(config.unknown_chargers, UnknownChargers::Accept);
        assert_eq!(config.http_addr, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(
            config.database_url,
            "sqlite:///srv/ampere/ampere.db?mode=rwc"
        );
    }

    #[test]
    fn unknown_file_keys_and_half_tls_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ampere.toml");
        std::fs::write(&path, "ocpp_adr = \"0.0.0.0:1\"\n").unwrap();
        let err = Config::load(&ConfigArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("ocpp_adr"), "{err:#}");

        let err = Config::load(&ConfigArgs {
            config: Some(PathBuf::from("/dev/null")),
            tls_cert: Some(PathBuf::from("cert.pem")),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("--tls-key"));
    }

    #[test]
    fn database_password_is_redacted() {
        assert_eq!(
            redact_url_password("postgres://ampere:s3cret@db:5432/ampere"),
            "postgres://ampere:***@db:5432/ampere"
        );
        assert_eq!(
            redact_url_password("sqlite://ampere-data/ampere.db"),
            "sqlite://ampere-data/ampere.db"
        );
    }
}
