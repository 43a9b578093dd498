//! `ampere serve`: opens the store, starts the charger gateway and the HTTP listener, prints
//! where everything is, and shuts down in order on SIGINT/SIGTERM: stop accepting, close
//! chargers with 1001 after their in-flight messages are answered (and so committed), then
//! close the database.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use ampere_api::ApiState;
use ampere_api::events::{self, EventBus};
use ampere_domain::{ApiTokenService, Bootstrap, Services};
use ampere_gateway::{Commands, Gateway, GatewayConfig, TlsReloader};
use ampere_ocpp_handlers::Router;

use crate::charger_certificates;
use crate::config::Config;
use crate::wiring::{self, Directory, OcppHandler};

pub async fn run(config: Config, demo: crate::sim::DemoArgs) -> anyhow::Result<()> {
    refuse_unavailable_features(&config)?;
    let tls = wiring::tls_config(&config)?;
    let store = wiring::open_store(&config).await?;
    let mut services = wiring::services(&config, store.clone());
    // Chargers' certificate requests: signed by the operator CA or an external CA hook,
    // refused without either.
    let signer = charger_certificates::Signer::from_config(&config)?;
    let signer_description = signer.as_ref().map(charger_certificates::Signer::describe);
    let signing_worker =
        charger_certificates::signing(&mut services, signer, config.csr_organisation.clone());
    let tokens = wiring::api_tokens(store.clone());
    let bootstrap = bootstrap_api_token(&tokens).await?;
    let shutdown = CancellationToken::new();
    let events = EventBus::new(events::DEFAULT_CAPACITY);
    // Webhooks take events from the bus into their outbox; deliveries left pending by an
    // earlier run start again now.
    let webhooks = wiring::webhooks(&config, store.clone())?;
    webhooks
        .start(&events)
        .await
        .context("cannot start webhook deliveries")?;
    // The message log outlives the gateway (its last frames go in at shutdown).
    let message_log_shutdown = CancellationToken::new();
    let (message_log, message_log_tasks) =
        wiring::message_log(&config, store.clone(), message_log_shutdown.clone());

    let listening = match &tls {
        Some(tls) => format!("{} and {}", config.ocpp_addr, tls.addr),
        None => config.ocpp_addr.to_string(),
    };
    // The gateway's security events reach the security log through a queue and a batch
    // writer, so a slow database never holds up a handshake.
    let (security_sink, security_writer) =
        crate::security_log::start(services.security_log.clone(), events.clone());
    let gateway = Gateway::bind(
        GatewayConfig {
            tls,
            security_events: Arc::new(security_sink),
            ..wiring::gateway_config(&config)
        },
        Arc::new(Directory {
            services: services.clone(),
        }),
        Arc::new(OcppHandler {
            router: Router::new(services.clone()),
            services: services.clone(),
            unknown_chargers: wiring::unknown_charger_policy(&config),
            events: events.clone(),
            message_log,
        }),
        shutdown.clone(),
    )
    .await
    .with_context(|| format!("cannot listen for chargers on {listening}"))?;

    if let Some(worker) = signing_worker {
        worker.start(services.clone(), gateway.commands(), shutdown.clone());
    }
    charger_certificates::start_renewals(
        services.clone(),
        gateway.commands(),
        chrono::Duration::days(i64::from(config.cert_renew_days)),
        config.cert_check_interval,
        shutdown.clone(),
    );
    match &signer_description {
        Some(signer) => tracing::info!(%signer, "charger certificate requests are signed"),
        None => tracing::info!(
            "no operator CA (ampere cert init-ca, or --ca-cert/--ca-key) and no --csr-hook: charger certificate requests are refused"
        ),
    }

    if let (Some(reloader), Some(cert), Some(key)) =
        (gateway.tls_reloader(), &config.tls_cert, &config.tls_key)
    {
        reload_certificate_on_hangup(reloader, cert.clone(), key.clone(), shutdown.clone());
    }

    let http_listener = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http_addr))?;
    let http_addr = http_listener.local_addr()?;
    let files = wiring::file_settings(&config, http_addr)?;
    let files_url = files.public_url.clone();
    let api = ampere_api::router(ApiState {
        files,
        services: services.clone(),
        tokens,
        commands: gateway.commands(),
        events: events.clone(),
        webhooks: webhooks.clone(),
        message_log: store.clone(),
    });
    let app = axum::Router::new()
        .route("/health", get(health))
        .with_state(HttpState {
            services: services.clone(),
            commands: gateway.commands(),
        })
        .merge(api);
    let http_shutdown = shutdown.clone();
    let http = tokio::spawn(async move {
        axum::serve(http_listener, app)
            .with_graceful_shutdown(http_shutdown.cancelled_owned())
            .await
    });

    print_banner(
        &config,
        gateway.local_addr(),
        gateway.tls_local_addr(),
        http_addr,
        &bootstrap,
    );
    println!("  charger files (firmware, logs):   {files_url}/files/ (--public-url)");

    // `--demo N`: simulated chargers against our own listener (see crate::sim).
    let demo_chargers = demo.demo.unwrap_or(0);
    let demo = crate::sim::start_demo(&demo, &services, gateway.local_addr()).await?;
    if demo.is_some() {
        println!(
            "  demo chargers:                    {demo_chargers} simulated ({}-00001 …, token {})",
            crate::sim::DEMO_PREFIX,
            crate::sim::DEMO_TOKEN
        );
    }

    wait_for_signal().await;
    if let Some(demo) = demo {
        // Their sessions end properly while the server still listens.
        demo.stop(std::time::Duration::from_secs(10)).await;
    }
    tracing::info!("shutting down: closing charger connections");
    shutdown.cancel();
    // Open event streams end, or the HTTP server's graceful shutdown would wait on them.
    events.close();
    gateway.join().await;
    // Events and frames of the last moments are stored before the database closes.
    webhooks.stop().await;
    message_log_shutdown.cancel();
    for task in message_log_tasks {
        let _ = task.await;
    }
    match http.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, "HTTP server failed"),
        Err(error) => tracing::error!(%error, "HTTP server task failed"),
    }
    // The gateway is gone, and with it the last sender: the writer stores what is queued.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), security_writer).await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// On SIGHUP, reads `--tls-cert` and `--tls-key` again and switches the TLS listener to them
/// (after a renewal, e.g. `ampere cert server`) without dropping a charger. A bad pair is
/// logged and the certificate in use stays.
fn reload_certificate_on_hangup(
    reloader: TlsReloader,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    shutdown: CancellationToken,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // Installed before this returns (so before the banner): a SIGHUP that arrives
        // early must not meet the default action, which ends the process.
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGHUP: the TLS certificate reloads only on restart");
                return;
            }
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    received = hangups.recv() => if received.is_none() { return },
                }
                match reloader.reload_pem_files(&cert, &key) {
                    Ok(()) => {
                        tracing::info!(cert = %cert.display(), "TLS server certificate reloaded")
                    }
                    Err(error) => tracing::error!(
                        %error,
                        "TLS server certificate not reloaded; the previous one stays in use"
                    ),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (reloader, cert, key, shutdown);
}

/// Settings for features this build does not have yet are refused, not ignored: an operator
/// who asks for a cluster must not get a lone node believing it is one.
fn refuse_unavailable_features(config: &Config) -> anyhow::Result<()> {
    if config.nats_url.is_some() {
        anyhow::bail!("cluster mode (--nats-url) is not available in this build");
    }
    Ok(())
}

/// The environment variable that carries a bootstrap admin token.
const API_TOKEN_ENV: &str = "AMPERE_API_TOKEN";

/// Makes sure someone can use the API: adopts `AMPERE_API_TOKEN` as an admin token, or, when
/// no token exists yet, makes one for the banner to show once.
async fn bootstrap_api_token(tokens: &ApiTokenService) -> anyhow::Result<Bootstrap> {
    let supplied = std::env::var(API_TOKEN_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty());
    let bootstrap = tokens
        .bootstrap(supplied.as_deref())
        .await
        .with_context(|| format!("cannot set up the bootstrap API token ({API_TOKEN_ENV})"))?;
    if let Bootstrap::EnvironmentTokenRevoked { id } = bootstrap {
        tracing::warn!(
            id,
            "{API_TOKEN_ENV} names a revoked API token; it stays refused"
        );
    }
    Ok(bootstrap)
}

fn print_banner(
    config: &Config,
    ocpp: SocketAddr,
    ocpp_tls: Option<SocketAddr>,
    http: SocketAddr,
    bootstrap: &Bootstrap,
) {
    println!("Ampere {} is running", env!("CARGO_PKG_VERSION"));
    println!("  chargers (OCPP 1.6, 2.0.1, 2.1):  ws://{ocpp}/ocpp/{{identity}}");
    match ocpp_tls {
        Some(addr) => {
            let client_certificates = if config.tls_client_ca.is_some() {
                "profile 3 client certificates checked against --tls-client-ca"
            } else {
                "no --tls-client-ca: profile 3 chargers cannot connect"
            };
            println!(
                "  chargers over TLS (profiles 2, 3): wss://{addr}/ocpp/{{identity}} ({client_certificates}; SIGHUP reloads the server certificate)"
            );
        }
        None => println!(
            "  chargers over TLS (profiles 2, 3): off (give --tls-cert and --tls-key; see `ampere cert`)"
        ),
    }
    println!(
        "  unknown chargers:                 {:?}",
        config.unknown_chargers
    );
    println!("  HTTP (health):                    http://{http}/health");
    println!(
        "  database:                         {}",
        config.database_url_for_display()
    );
    println!(
        "  register chargers and id tokens:  ampere charger add ID --password …, ampere id-token add TOKEN"
    );
    println!(
        "  REST API:                         http://{http}/api/v1 (docs: http://{http}/api/docs)"
    );
    match bootstrap {
        Bootstrap::Generated { secret, .. } => {
            println!("  admin API token (shown once):     {}", secret.expose());
        }
        Bootstrap::FromEnvironment { .. } => {
            println!("  API token:                        {API_TOKEN_ENV} (admin)");
        }
        Bootstrap::EnvironmentTokenRevoked { .. } | Bootstrap::Existing { .. } => {}
    }
    println!(
        "  more API tokens:                  ampere token create --name NAME --role admin|operator|viewer"
    );
}

#[derive(Clone)]
struct HttpState {
    services: Services,
    commands: Commands,
}

/// Liveness and readiness in one: 200 when the database answers, 503 when it does not.
async fn health(State(state): State<HttpState>) -> (StatusCode, Json<serde_json::Value>) {
    let chargers_online = state.commands.online_count();
    // A real read through the same path chargers' messages take.
    match state.services.chargers.list(None, 1).await {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "chargers_online": chargers_online})),
        ),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "database unavailable", "detail": error.to_string()})),
        ),
    }
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
