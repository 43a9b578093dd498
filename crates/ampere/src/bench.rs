//! `ampere bench`: load workloads against a CSMS (see `ampere_sim::bench`), the echo
//! reference server, and the hidden worker mode the bench starts its load processes in.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ampere_sim::bench::echo::{self, EchoProcess};
use ampere_sim::bench::{
    BenchOutput, Launcher, Protocol, ServerProbe, Settings, Workload, run_worker_stdio,
};
use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use tokio_util::sync::CancellationToken;

/// Flags of `ampere bench`. Durations are in seconds (fractions allowed).
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// w1 boot storm, w2 steady network, w3 saturation, w4 idle scale.
    #[arg(long)]
    workload: Option<Workload>,
    /// CSMS endpoint without the identity (each charger connects to URL/IDENTITY), e.g.
    /// ws://127.0.0.1:8180/ocpp. Chargers must be admitted: run Ampere with
    /// `--unknown-chargers accept`.
    #[arg(long)]
    target: Option<String>,
    /// Also run the workload against the raw echo reference, started for this run, and
    /// report the target's figures as a ratio to it.
    #[arg(long)]
    reference: bool,
    /// Also run the workload against another CSMS (`NAME=URL` or `URL`), as a reference.
    #[arg(long = "reference-target", value_name = "NAME=URL")]
    reference_targets: Vec<String>,
    /// The target server's process, for its CPU and memory (default: the process
    /// listening on the target's port, when this user can see it).
    #[arg(long)]
    server_pid: Option<u32>,
    /// OCPP version of the bench chargers: 1.6 or 2.0.1.
    #[arg(long, default_value = "1.6")]
    version: Protocol,
    /// Chargers (W1, W2, W4) or connections (W3).
    #[arg(long, visible_alias = "connections", default_value_t = 1000)]
    chargers: u32,
    /// Connectors per charger (each reported at boot).
    #[arg(long, default_value_t = 2)]
    connectors: u32,
    /// Measured window of W2 and W3.
    #[arg(long, value_parser = seconds, default_value = "10")]
    duration: Duration,
    /// W2: MeterValues interval per charger.
    #[arg(long, value_parser = seconds, default_value = "10")]
    meter_every: Duration,
    /// W2: heartbeat interval per charger.
    #[arg(long, value_parser = seconds, default_value = "60")]
    heartbeat_every: Duration,
    /// A call not answered in this time is an error (and ends that charger's connection).
    #[arg(long, value_parser = seconds, default_value = "30")]
    answer_timeout: Duration,
    /// Handshakes in flight per worker while preparing (W2, W3) and in W4.
    #[arg(long, default_value_t = 200)]
    open_concurrency: u32,
    /// Worker processes (default: one per 10,000 chargers; a process may hold at most
    /// 20,000 open files here).
    #[arg(long)]
    workers: Option<u32>,
    /// Loopback source addresses per worker (127.0.{10+w}.{1..N}).
    #[arg(long, default_value_t = 16)]
    source_addresses: u32,
    /// Identities are PREFIX-000001, PREFIX-000002, …
    #[arg(long, default_value = "BENCH")]
    id_prefix: String,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run only the echo reference server on ADDR (e.g. 127.0.0.1:9180) until stopped.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["workload", "target"])]
    echo_server: Option<SocketAddr>,
    /// Internal: run as a worker process of a bench (plan on stdin, results on stdout).
    #[arg(long, hide = true)]
    worker: bool,
}

fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.parse().map_err(|e| format!("{text:?}: {e}"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{text:?}: {e}"))
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.worker {
        return run_worker_stdio().await.map_err(|e| anyhow!(e));
    }
    if let Some(addr) = args.echo_server {
        return echo_server(addr).await;
    }
    let workload = args
        .workload
        .context("--workload w1|w2|w3|w4 is needed (or --echo-server ADDR)")?;
    if args.target.is_none() && !args.reference {
        bail!("--target URL is needed (or --reference to run against the echo reference only)");
    }
    let program = std::env::current_exe().context("cannot find this program's path")?;
    let launcher = Launcher {
        program: program.clone(),
        args: vec!["bench".into(), "--worker".into()],
    };
    let settings = |target: &str| Settings {
        workload,
        target: target.to_owned(),
        protocol: args.version,
        chargers: args.chargers,
        connectors: args.connectors,
        id_prefix: args.id_prefix.clone(),
        duration: args.duration,
        meter_every: args.meter_every,
        heartbeat_every: args.heartbeat_every,
        answer_timeout: args.answer_timeout,
        open_concurrency: args.open_concurrency,
        workers: args
            .workers
            .unwrap_or(args.chargers.div_ceil(10_000))
            .max(1),
        source_addresses: args.source_addresses,
    };

    let mut runs = Vec::new();
    if let Some(target) = &args.target {
        let probe = ServerProbe {
            pid: args.server_pid,
        };
        let report = ampere_sim::bench::run(&settings(target), "target", &launcher, probe)
            .await
            .map_err(|e| anyhow!("{target}: {e}"))?;
        println!("{report}");
        runs.push(report);
    }
    for reference in &args.reference_targets {
        let (name, url) = match reference.split_once('=') {
            Some((name, url)) => (name.to_owned(), url.to_owned()),
            None => (reference.clone(), reference.clone()),
        };
        let report =
            ampere_sim::bench::run(&settings(&url), &name, &launcher, ServerProbe::default())
                .await
                .map_err(|e| anyhow!("{url}: {e}"))?;
        println!("{report}");
        runs.push(report);
    }
    if args.reference {
        let echo = EchoProcess::spawn(
            &program,
            &["bench".into(), "--echo-server".into(), "127.0.0.1:0".into()],
        )
        .await
        .map_err(|e| anyhow!(e))?;
        let probe = ServerProbe {
            pid: Some(echo.pid),
        };
        let result = ampere_sim::bench::run(&settings(&echo.url), "echo", &launcher, probe).await;
        echo.stop().await;
        let report = result.map_err(|e| anyhow!("echo reference: {e}"))?;
        println!("{report}");
        runs.push(report);
    }

    let output = BenchOutput::with_ratios(runs);
    for ratio in &output.ratios {
        println!(
            "ratio {} {} / {}: {:.3} ({:.2} / {:.2})",
            ratio.metric,
            ratio.target,
            ratio.reference,
            ratio.ratio,
            ratio.target_value,
            ratio.reference_value
        );
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&output)?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `ampere bench --echo-server ADDR`: prints its URL first (the bench reads it when it
/// starts the reference itself), then serves until Ctrl-C or SIGTERM.
async fn echo_server(addr: SocketAddr) -> anyhow::Result<()> {
    let (listener, url) = echo::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    println!(
        "echo reference: {url} (chargers connect to {url}/IDENTITY; every CALL answered, nothing stored)"
    );
    let stop = CancellationToken::new();
    let server = tokio::spawn(echo::serve(listener, stop.clone()));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    stop.cancel();
    let _ = server.await;
    Ok(())
}
