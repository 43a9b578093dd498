//! Builds the parts from the configuration and joins them: the store under the domain
//! services, the services under the OCPP router, and the router and the charger directory
//! under the gateway. The adapters here are the only place that knows both the gateway's
//! and the domain's words for the same thing.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use serde_json::Value;

use ampere_api::events::EventBus;
use ampere_domain::{
    ApiTokenService, ChargerConfig, ChargerId, ConnectionEventKind, Services, SystemClock,
    UnknownChargerPolicy,
};
use ampere_gateway::{
    CallHandler, ChargerAuth, ChargerDirectory, ConnectionEvent, DirectoryError, GatewayConfig,
    LockoutConfig, SessionInfo, TlsConfig,
};
use ampere_ocpp::CallError;
use ampere_ocpp_handlers::{ChargerContext, Router};
use ampere_store::{Backend, Store};

use crate::config::{Config, UnknownChargers};

/// Opens (and migrates) the configured database; for SQLite the data directory is created.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<Store>> {
    if Backend::from_url(&config.database_url) == Some(Backend::Sqlite) {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
    }
    let store = Store::open(&config.database_url)
        .await
        .with_context(|| format!("cannot open database {}", config.database_url_for_display()))?;
    Ok(Arc::new(store))
}

pub fn unknown_charger_policy(config: &Config) -> UnknownChargerPolicy {
    match config.unknown_chargers {
        UnknownChargers::Reject => UnknownChargerPolicy::Reject,
        UnknownChargers::Pending => UnknownChargerPolicy::Pending,
        UnknownChargers::Accept => UnknownChargerPolicy::Accept,
    }
}

pub fn services(config: &Config, store: Arc<Store>) -> Services {
    Services::new(
        store,
        Arc::new(SystemClock),
        ChargerConfig {
            heartbeat_interval: config.heartbeat_interval,
            unknown_chargers: unknown_charger_policy(config),
            ..ChargerConfig::default()
        },
    )
}

/// Where charger files live (`<data-dir>/files`, created now) and the URL chargers reach
/// them at: `--public-url`, or the bound HTTP address. Chargers cannot download from
/// 0.0.0.0, so an unspecified address gets a warning to set `--public-url`.
pub fn file_settings(
    config: &Config,
    http: std::net::SocketAddr,
) -> anyhow::Result<ampere_api::files::FileSettings> {
    let public_url = match &config.public_url {
        Some(url) => url.clone(),
        None => {
            if http.ip().is_unspecified() {
                tracing::warn!(
                    %http,
                    "firmware and upload URLs sent to chargers name {http}, which they cannot \
                     reach: set --public-url (e.g. http://csms.example.com:{})",
                    http.port()
                );
            }
            format!("http://{http}")
        }
    };
    let files = ampere_api::files::FileSettings {
        dir: config.data_dir.join("files"),
        public_url,
        max_firmware_bytes: config.max_firmware_bytes,
        max_upload_bytes: config.max_upload_bytes,
    };
    files
        .create_dirs()
        .with_context(|| format!("cannot create {}", files.dir.display()))?;
    Ok(files)
}

/// The API tokens on the same store, for `serve` and `ampere token`.
pub fn api_tokens(store: Arc<Store>) -> ApiTokenService {
    ApiTokenService::new(store, Arc::new(SystemClock))
}

pub fn gateway_config(config: &Config) -> GatewayConfig {
    GatewayConfig {
        ocpp_addr: config.ocpp_addr,
        max_message_bytes: config.max_message_bytes,
        max_connections: config.max_connections,
        call_timeout: config.call_timeout,
        handshake_timeout: config.handshake_timeout,
        max_handshakes_per_address: config.max_handshakes_per_address,
        idle_timeout: config.idle_timeout,
        max_message_rate: config.max_message_rate,
        message_burst: config.message_burst,
        duplicate_probe_timeout: config.duplicate_probe,
        lockout: LockoutConfig {
            max_failures_per_identity: config.auth_failures_per_identity,
            max_failures_per_address: config.auth_failures_per_address,
            lock: config.lockout,
            ..LockoutConfig::default()
        },
        accept_any_path_prefix: config.accept_any_path,
        unknown_chargers: unknown_charger_policy(config),
        ..GatewayConfig::default()
    }
}

/// The TLS listener's settings when `--tls-cert` and `--tls-key` are given: its address, the
/// server certificate chain and key, and the client CA bundle, read and checked now so that a
/// bad file stops the start instead of the first charger.
pub fn tls_config(config: &Config) -> anyhow::Result<Option<TlsConfig>> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let tls = TlsConfig::from_pem_files(
                config.ocpp_tls_addr,
                cert,
                key,
                config.tls_client_ca.as_deref(),
            )
            .context("cannot set up the TLS listener")?;
            Ok(Some(tls))
        }
        // (`Config::load` already refuses one of the pair without the other.)
        _ if config.tls_client_ca.is_some() => {
            anyhow::bail!("--tls-client-ca needs the TLS listener: give --tls-cert and --tls-key")
        }
        _ => Ok(None),
    }
}

/// The gateway asks who may connect; the domain knows.
pub struct Directory {
    pub services: Services,
}

#[async_trait]
impl ChargerDirectory for Directory {
    async fn lookup(&self, id: &ChargerId) -> Result<Option<ChargerAuth>, DirectoryError> {
        let auth = self
            .services
            .chargers
            .auth(id)
            .await
            .map_err(DirectoryError::new)?;
        let Some(auth) = auth else { return Ok(None) };
        // A rotation or profile upgrade in progress: its new credential is valid too.
        let also = self
            .services
            .credentials
            .also_accepted(id)
            .await
            .map_err(DirectoryError::new)?;
        Ok(Some(ChargerAuth {
            password_hash: auth.password_hash,
            security_profile: auth.security_profile.get(),
            pending_password_hash: also.password_hash,
            pending_security_profile: also.security_profile.map(|p| p.get()),
        }))
    }

    async fn admitted(&self, id: &ChargerId, admission: ampere_gateway::Admission) {
        let admission = ampere_domain::credentials::Admission {
            tls: admission.tls,
            client_certificate: admission.client_certificate,
            pending_password: admission.pending_password,
        };
        match self.services.credentials.admitted(id, admission).await {
            Ok(promoted) => {
                if promoted.password {
                    tracing::info!(charger = %id, "charger logged in with its new password; the old one is no longer valid");
                }
                if let Some(profile) = promoted.security_profile {
                    tracing::info!(charger = %id, profile = profile.get(), "charger connected on its new security profile; lower profiles are refused from now on");
                }
            }
            Err(error) => {
                tracing::error!(charger = %id, %error, "cannot promote pending credentials")
            }
        }
    }
}

/// The gateway hands over what chargers say; the router answers it and the domain records
/// the connection life cycle. Answered calls and connection changes are published as live
/// events.
pub struct OcppHandler {
    pub router: Router,
    pub services: Services,
    pub unknown_chargers: UnknownChargerPolicy,
    pub events: EventBus,
    /// Every frame both ways, when `--message-log` is on.
    pub message_log: Option<ampere_api::message_log::MessageLog>,
}

fn context(session: &SessionInfo) -> ChargerContext {
    ChargerContext {
        charger_id: session.charger_id.clone(),
        version: session.version,
        known: session.known,
    }
}

#[async_trait]
impl CallHandler for OcppHandler {
    async fn handle_call(
        &self,
        session: &SessionInfo,
        action: &str,
        payload: Value,
    ) -> Result<Value, CallError> {
        // The request is kept only when someone listens for events.
        let request = self.events.has_subscribers().then(|| payload.clone());
        let answer = self
            .router
            .handle_call(&context(session), action, payload)
            .await;
        // Published after the router answered (and so committed), before the answer goes
        // out, in the charger's call order.
        if let (Some(request), Ok(response)) = (&request, &answer) {
            self.events
                .charger_call(
                    &self.services,
                    &session.charger_id,
                    session.version,
                    action,
                    request,
                    response,
                )
                .await;
        }
        answer
    }

    fn on_frame(
        &self,
        session: &SessionInfo,
        direction: ampere_gateway::FrameDirection,
        text: &str,
    ) {
        use ampere_domain::message_log::FrameDirection as Logged;
        if let Some(log) = &self.message_log {
            let direction = match direction {
                ampere_gateway::FrameDirection::Incoming => Logged::Incoming,
                ampere_gateway::FrameDirection::Outgoing => Logged::Outgoing,
            };
            log.record(&session.charger_id, direction, text);
        }
    }

    async fn handle_send(&self, session: &SessionInfo, action: &str, payload: Value) {
        self.router
            .handle_send(&context(session), action, payload)
            .await
    }

    async fn on_connection_event(&self, session: &SessionInfo, event: ConnectionEvent) {
        let chargers = &self.services.chargers;
        let (kind, reason) = match event {
            ConnectionEvent::Connected => (ConnectionEventKind::Connected, None),
            ConnectionEvent::TakenOver => (ConnectionEventKind::TakenOver, None),
            ConnectionEvent::Disconnected { reason } => {
                (ConnectionEventKind::Disconnected, Some(reason.to_string()))
            }
            other => {
                tracing::warn!(?other, "connection event not recorded");
                return;
            }
        };
        if kind == ConnectionEventKind::Connected && !session.known {
            // The gateway let an unknown charger in, so the policy is pending or accept:
            // register it now, so the operator sees it and its messages have a home.
            if let Err(error) = chargers
                .ensure_registered(&session.charger_id, self.unknown_chargers)
                .await
            {
                tracing::error!(%error, "cannot register unknown charger");
            }
        }
        let record = ampere_domain::ConnectionEvent {
            charger: session.charger_id.clone(),
            kind,
            at: chrono::Utc::now(),
            remote_addr: Some(session.remote_addr.to_string()),
            protocol: Some(session.version.subprotocol().to_owned()),
            connection_id: Some(session.connection_id),
            reason,
        };
        if let Err(error) = chargers.record_connection_event(&record).await {
            tracing::error!(%error, "cannot record connection event");
        }
        let state = match record.kind {
            ConnectionEventKind::Connected => "connected",
            ConnectionEventKind::Disconnected => "disconnected",
            ConnectionEventKind::TakenOver => "taken_over",
        };
        self.events.connection(
            &record.charger,
            state,
            serde_json::json!({
                "protocol": record.protocol,
                "remote_addr": record.remote_addr,
                "connection_id": record.connection_id,
                "reason": record.reason,
            }),
        );
    }
}

/// The webhook worker with the delivery settings of the configuration.
pub fn webhooks(
    config: &Config,
    store: Arc<Store>,
) -> anyhow::Result<ampere_api::webhooks::Webhooks> {
    let settings = ampere_api::webhooks::DeliverySettings {
        retry: ampere_domain::webhook::RetryPolicy {
            base: config.webhook_retry_base,
            max_attempts: config.webhook_max_attempts,
            ..ampere_domain::webhook::RetryPolicy::default()
        },
        timeout: config.webhook_timeout,
    };
    ampere_api::webhooks::Webhooks::new(store, settings)
        .context("cannot set up the webhook HTTP client")
}

/// The OCPP message log's writer and purge, when `--message-log` is on.
pub fn message_log(
    config: &Config,
    store: Arc<Store>,
    shutdown: tokio_util::sync::CancellationToken,
) -> (
    Option<ampere_api::message_log::MessageLog>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    if !config.message_log {
        return (None, Vec::new());
    }
    let settings = ampere_api::message_log::MessageLogSettings {
        retention: (config.message_log_retention_days > 0).then(|| {
            std::time::Duration::from_secs(u64::from(config.message_log_retention_days) * 86_400)
        }),
        ..ampere_api::message_log::MessageLogSettings::default()
    };
    let (log, tasks) = ampere_api::message_log::MessageLog::start(store, settings, shutdown);
    (Some(log), tasks)
}
