//! `ampere sim`: simulated chargers against any OCPP CSMS (see the `ampere-sim` crate).

use std::time::Duration;

use ampere_sim::{ChargerProfile, SimConfig, Simulation, VersionMix};
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
        args.url.starts_with("ws://"),
        "--url must be a ws:// URL (wss:// is not simulated yet)"
    );
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
            ..ChargerProfile::default()
        },
    };
    println!(
        "ampere sim: {} charger(s) against {} (seed {seed}); Ctrl-C stops",
        args.chargers, args.url
    );
    let sim = Simulation::start(config);
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
