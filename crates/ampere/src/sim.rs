//! `ampere sim`: simulated chargers against any OCPP CSMS (see the `ampere-sim` crate).

use std::time::Duration;

use ampere_sim::{
    ChargerProfile, Faults, Scenario, SimConfig, Simulation, UploadMethod, VersionMix,
};
use anyhow::Context as _;
use clap::Args;

/// Flags of `ampere sim`. Durations are in seconds (fractions allowed).
#[derive(Debug, Args)]
pub struct SimArgs {
    /// CSMS endpoint without the identity; each charger connects to URL/IDENTITY.
    #[arg(long)]
    url: String,
    /// How many chargers to simulate.
    #[arg(long, default_value_t = 1)]
    chargers: u32,
    /// OCPP version: 1.6, 2.0.1, 2.1, or mix (ratios from --mix, equal thirds by default).
    #[arg(long, default_value = "1.6")]
    version: String,
    /// Ratios for --version mix, e.g. 1.6=50,2.0.1=30,2.1=20.
    #[arg(long)]
    mix: Option<String>,
    /// Stop after this many seconds (default: run until Ctrl-C / SIGTERM).
    #[arg(long, value_parser = seconds)]
    duration: Option<Duration>,
    /// HTTP Basic auth password of every charger (user name = identity).
    #[arg(long, env = "AMPERE_SIM_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Identities are PREFIX-00001, PREFIX-00002, …
    #[arg(long, default_value = "SIM")]
    id_prefix: String,
    /// EVSEs per charger (in 1.6 each connector is reported as its own connector id).
    #[arg(long, default_value_t = 1)]
    evses: u32,
    /// Connectors per EVSE.
    #[arg(long, default_value_t = 1)]
    connectors: u32,
    #[arg(long, default_value = "Ampere")]
    vendor: String,
    #[arg(long, default_value = "SimCharger")]
    model: String,
    /// Id tokens the drivers present, comma-separated; the CSMS must accept them.
    #[arg(long, value_delimiter = ',', default_value = "SIMTOKEN")]
    id_tokens: Vec<String>,
    /// Most power per EVSE, W.
    #[arg(long, default_value_t = 22_000.0)]
    max_power: f64,
    /// Mean idle time of a connector between sessions.
    #[arg(long, value_parser = seconds, default_value = "60")]
    session_interval: Duration,
    /// Mean session length.
    #[arg(long, value_parser = seconds, default_value = "600")]
    session_duration: Duration,
    /// Meter values interval (until the CSMS configures one).
    #[arg(long, value_parser = seconds, default_value = "60")]
    meter_interval: Duration,
    /// Heartbeat interval until the CSMS gives one at boot. (Not `--heartbeat-interval`:
    /// that global flag is the server's.)
    #[arg(long, value_parser = seconds, default_value = "300")]
    heartbeat: Duration,
    /// How long the CSMS may take to answer before the connection is given up. (Not
    /// `--call-timeout`: that global flag is the server's.)
    #[arg(long, value_parser = seconds, default_value = "30")]
    answer_timeout: Duration,
    /// Longest reconnect backoff.
    #[arg(long, value_parser = seconds, default_value = "60")]
    backoff_max: Duration,
    /// How long a reboot after Reset takes.
    #[arg(long, value_parser = seconds, default_value = "2")]
    reboot_delay: Duration,
    /// New connections per second at start.
    #[arg(long, default_value_t = 200)]
    connect_rate: u32,
    /// Seed for every random choice (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Print the counters every this many seconds (0: only at the end).
    #[arg(long, value_parser = seconds, default_value = "10")]
    report_interval: Duration,
    /// Run the chargers and steps of a scenario file (TOML or JSON) instead of
    /// --chargers/--version.
    #[arg(long)]
    scenario: Option<std::path::PathBuf>,
    /// CA bundle (PEM) that signs the CSMS's certificate for wss:// and https://
    /// (default: the system's).
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
    /// Client certificate chain (PEM) for TLS client authentication (security profile 3).
    #[arg(long, requires = "client_key")]
    client_cert: Option<std::path::PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, requires = "client_cert")]
    client_key: Option<std::path::PathBuf>,
    /// How logs are uploaded: post (multipart/form-data) or put (to LOCATION/FILENAME).
    #[arg(long, default_value = "post")]
    upload_method: UploadMethod,
    /// Fault: drop each connection about every this many seconds (no close frame).
    #[arg(long, value_parser = seconds)]
    drop_every: Option<Duration>,
    /// Fault: chance (0–1) per call sent that the connection drops after its answer.
    #[arg(long, default_value_t = 0.0)]
    drop_chance: f64,
    /// Fault: go offline about every this many seconds (see --offline-for); transaction
    /// messages are queued and replayed in order.
    #[arg(long, value_parser = seconds, requires = "offline_for")]
    offline_every: Option<Duration>,
    /// Length of each offline period.
    #[arg(long, value_parser = seconds)]
    offline_for: Option<Duration>,
    /// Fault: chance (0–1) per call sent that it is sent twice with the same message id.
    #[arg(long, default_value_t = 0.0)]
    duplicate_chance: f64,
    /// Fault: wait this long before answering each CSMS call.
    #[arg(long, value_parser = seconds, default_value = "0")]
    answer_delay: Duration,
    /// Fault: the chargers' clocks are off by this many seconds (negative: behind).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    clock_skew: i64,
    /// Fault: every this many seconds all chargers drop at once and reconnect (storm).
    #[arg(long, value_parser = seconds)]
    storm_every: Option<Duration>,
}

fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(value).map_err(|_| format!("`{text}` is not a valid duration"))
}

pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let versions = match &args.mix {
        Some(mix) => VersionMix::parse(mix),
        None => VersionMix::parse(&args.version),
    }
    .context("--version/--mix")?;
    anyhow::ensure!(
        args.url.starts_with("ws://") || args.url.starts_with("wss://"),
        "--url must be a ws:// or wss:// URL"
    );
    for (name, chance) in [
        ("--drop-chance", args.drop_chance),
        ("--duplicate-chance", args.duplicate_chance),
    ] {
        anyhow::ensure!((0.0..=1.0).contains(&chance), "{name} must be from 0 to 1");
    }
    let tls = if args.url.starts_with("wss://") || args.ca.is_some() || args.client_cert.is_some() {
        let client = args.client_cert.as_deref().zip(args.client_key.as_deref());
        Some(
            ampere_sim::tls::client_config(args.ca.as_deref(), client)
                .map_err(anyhow::Error::msg)?,
        )
    } else {
        None
    };
    let scenario = match &args.scenario {
        Some(path) => Some(Scenario::load(path)?),
        None => None,
    };
    anyhow::ensure!(
        args.evses >= 1 && args.connectors >= 1,
        "--evses and --connectors must be at least 1"
    );
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    let config = SimConfig {
        url: args.url.clone(),
        chargers: args.chargers,
        versions,
        id_prefix: args.id_prefix,
        password: args.password,
        connect_rate: args.connect_rate,
        seed,
        profile: ChargerProfile {
            vendor: args.vendor,
            model: args.model,
            evses: args.evses,
            connectors_per_evse: args.connectors,
            max_power_w: args.max_power,
            id_tokens: args.id_tokens,
            session_interval: args.session_interval,
            session_duration: args.session_duration,
            meter_interval: args.meter_interval,
            heartbeat_interval: args.heartbeat,
            call_timeout: args.answer_timeout,
            reboot_delay: args.reboot_delay,
            backoff_max: args.backoff_max,
            faults: Faults {
                drop_every: args.drop_every,
                drop_chance: args.drop_chance,
                offline_every: args.offline_every,
                offline_for: args.offline_for.unwrap_or_default(),
                duplicate_chance: args.duplicate_chance,
                answer_delay: args.answer_delay,
                clock_skew: chrono::Duration::seconds(args.clock_skew),
                storm_every: args.storm_every,
            },
            tls,
            upload_method: args.upload_method,
            ..ChargerProfile::default()
        },
    };
    let sim = match &scenario {
        Some(scenario) => {
            println!(
                "ampere sim: scenario {} with {} charger(s) against {} (seed {seed}); Ctrl-C stops",
                scenario.name.as_deref().unwrap_or("(unnamed)"),
                scenario.chargers(),
                args.url
            );
            Simulation::start_scenario(config, scenario)
        }
        None => {
            println!(
                "ampere sim: {} charger(s) against {} (seed {seed}); Ctrl-C stops",
                args.chargers, args.url
            );
            Simulation::start(config)
        }
    };
    let until = async {
        match args.duration {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(until);
    let signal = wait_for_signal();
    tokio::pin!(signal);
    let report = !args.report_interval.is_zero();
    let mut ticker = tokio::time::interval(if report {
        args.report_interval
    } else {
        Duration::from_secs(3600)
    });
    ticker.tick().await;
    loop {
        tokio::select! {
            () = &mut until => break,
            () = &mut signal => break,
            _ = ticker.tick() => if report {
                println!("{}", sim.summary());
            },
        }
    }
    println!("stopping: ending sessions and closing connections");
    let summary = sim.stop(Duration::from_secs(30)).await;
    println!("{summary}");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `ampere serve --demo N`.
#[derive(Debug, Default, Args)]
pub struct DemoArgs {
    /// Run N simulated chargers (DEMO-00001 …, mixed OCPP versions) inside the server
    /// against its own charger port, so a new installation shows a living network at once.
    /// They are registered as accepted, and their drivers use id token DEMO-TOKEN.
    #[arg(long, value_name = "N")]
    pub demo: Option<u32>,
}

/// The demo chargers' identity prefix and driver token: plainly not real ones.
pub const DEMO_PREFIX: &str = "DEMO";
pub const DEMO_TOKEN: &str = "DEMO-TOKEN";

/// Registers the demo chargers and their token (accepted), then starts them against the
/// server's own listener at `ocpp` (`None` without `--demo`).
pub async fn start_demo(
    args: &DemoArgs,
    services: &ampere_domain::Services,
    ocpp: std::net::SocketAddr,
) -> anyhow::Result<Option<Simulation>> {
    use ampere_domain::{
        AuthorizationStatus, ChargerId, DomainError, IdToken, IdTokenKind, IdTokenRecord,
        NewCharger, RegistrationStatus, SecurityProfile,
    };
    let Some(chargers) = args.demo.filter(|n| *n > 0) else {
        return Ok(None);
    };
    services
        .authorization
        .upsert(&IdTokenRecord {
            token: IdToken::new(DEMO_TOKEN.to_owned(), IdTokenKind::parse("ISO14443")?)?,
            status: AuthorizationStatus::Accepted,
            expiry_date: None,
            group_id: None,
        })
        .await?;
    for index in 0..chargers {
        let id = ChargerId::new(ampere_sim::charger_identity(DEMO_PREFIX, index))?;
        let registered = services
            .chargers
            .register(NewCharger {
                id,
                password: None,
                security_profile: SecurityProfile::BASIC,
                registration_status: RegistrationStatus::Accepted,
            })
            .await;
        match registered {
            // Registered by an earlier demo run: kept as the operator left it.
            Ok(_) | Err(DomainError::ChargerExists(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    // The listener may be bound to every address; the demo stays on loopback.
    let host = if ocpp.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        ocpp.ip()
    };
    let url = format!("ws://{}/ocpp", std::net::SocketAddr::new(host, ocpp.port()));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    Ok(Some(Simulation::start(SimConfig {
        url,
        chargers,
        versions: VersionMix::parse("mix")?,
        id_prefix: DEMO_PREFIX.into(),
        password: None,
        connect_rate: 50,
        seed,
        profile: ChargerProfile {
            vendor: "Ampere demo".into(),
            model: "DemoCharger".into(),
            id_tokens: vec![DEMO_TOKEN.into()],
            session_interval: Duration::from_secs(10),
            session_duration: Duration::from_secs(60),
            meter_interval: Duration::from_secs(10),
            ..ChargerProfile::default()
        },
    })))
}
