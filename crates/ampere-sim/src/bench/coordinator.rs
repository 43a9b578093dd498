//! The coordinator: starts the worker processes, starts them together, watches the
//! server, and merges what the workers measured into one [`Report`].

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::try_join_all;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::time::Instant;

use super::client::Endpoint;
use super::latency;
use super::plan::{Settings, WorkerPlan, Workload};
use super::procfs;
use super::report::{Errors, Figures, Report, ServerUsage};
use super::worker::{Command, WorkerMessage, WorkerResult};

/// How to start a worker process: `program args…` must run
/// [`run_worker_stdio`](super::run_worker_stdio) (for the binary: `ampere bench --worker`).
#[derive(Debug, Clone)]
pub struct Launcher {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// The server process to watch (CPU, RSS), when known.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerProbe {
    /// Its pid; `None`: look for the process listening on the target's port.
    pub pid: Option<u32>,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    index: u32,
}

impl Worker {
    async fn start(launcher: &Launcher, plan: &WorkerPlan) -> Result<Self, String> {
        let mut child = tokio::process::Command::new(&launcher.program)
            .args(&launcher.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start a worker ({:?}): {e}", launcher.program))?;
        let stdin = child.stdin.take().ok_or("worker stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("worker stdout")?).lines();
        let mut worker = Self {
            child,
            stdin,
            stdout,
            index: plan.worker,
        };
        worker.write_line(plan).await?;
        Ok(worker)
    }

    async fn write_line(&mut self, value: &impl serde::Serialize) -> Result<(), String> {
        let mut line = serde_json::to_string(value).map_err(|e| e.to_string())?;
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("worker {} is gone: {e}", self.index))
    }

    async fn next_message(&mut self) -> Result<WorkerMessage, String> {
        let line = self
            .stdout
            .next_line()
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("worker {} ended early (see its errors above)", self.index))?;
        serde_json::from_str(&line).map_err(|e| format!("worker {} sent {line:?}: {e}", self.index))
    }

    async fn ready(&mut self) -> Result<u64, String> {
        match self.next_message().await? {
            WorkerMessage::Ready { prepared } => Ok(prepared),
            other => Err(format!(
                "worker {}: expected ready, got {other:?}",
                self.index
            )),
        }
    }

    async fn result(&mut self) -> Result<WorkerResult, String> {
        match self.next_message().await? {
            WorkerMessage::Result(result) => Ok(result),
            other => Err(format!(
                "worker {}: expected a result, got {other:?}",
                self.index
            )),
        }
    }

    async fn stop(mut self) {
        let _ = self.write_line(&Command::Stop).await;
        drop(self.stdin);
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Runs `settings` against its target once and reports; `label` names the target in the
/// report (`target`, `echo`, …).
pub async fn run(
    settings: &Settings,
    label: &str,
    launcher: &Launcher,
    server: ServerProbe,
) -> Result<Report, String> {
    let endpoint = Endpoint::resolve(&settings.target)
        .await
        .map_err(|e| e.to_string())?;
    let server_pid = server.pid.or_else(|| procfs::listener_pid(endpoint.addr));
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let plans = settings.split(endpoint.is_loopback(), now_us());
    let mut workers = try_join_all(plans.iter().map(|plan| Worker::start(launcher, plan))).await?;
    try_join_all(workers.iter_mut().map(Worker::ready)).await?;

    let rss_before = server_pid.and_then(procfs::rss_kib).unwrap_or(0);
    let cpu_before = server_pid.and_then(procfs::cpu_time);
    let rss_max = Arc::new(AtomicU64::new(rss_before));
    let sampler = server_pid.map(|pid| {
        let rss_max = rss_max.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if let Some(kib) = procfs::rss_kib(pid) {
                    rss_max.fetch_max(kib, Ordering::Relaxed);
                }
            }
        })
    });
    // A moment for every worker to read the command before the common start.
    let lead = Duration::from_millis(200);
    let go_at = now_us() + lead.as_micros() as u64;
    let go = Instant::now() + lead;
    for worker in &mut workers {
        worker.write_line(&Command::GoAtUs(go_at)).await?;
    }
    let results = try_join_all(workers.iter_mut().map(Worker::result)).await?;
    let window = go.elapsed();
    let cpu_after = server_pid.and_then(procfs::cpu_time);
    if settings.workload == Workload::W4 {
        // Let the server finish what the last handshakes started before its memory is read.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let rss_after = server_pid.and_then(procfs::rss_kib).unwrap_or(0);
    rss_max.fetch_max(rss_after, Ordering::Relaxed);
    if let Some(sampler) = sampler {
        sampler.abort();
    }
    for worker in workers {
        worker.stop().await;
    }

    let server = match (server_pid, cpu_before, cpu_after) {
        (Some(pid), Some(before), Some(after)) => {
            let cpu_s = after.saturating_sub(before).as_secs_f64();
            Some(ServerUsage {
                pid,
                cpu_s,
                cpu_percent: 100.0 * cpu_s / window.as_secs_f64(),
                rss_before_kib: rss_before,
                rss_after_kib: rss_after,
                rss_max_kib: rss_max.load(Ordering::Relaxed),
            })
        }
        _ => None,
    };
    Ok(merge(settings, label, started_at, &results, window, server))
}

fn merge(
    settings: &Settings,
    label: &str,
    started_at: String,
    results: &[WorkerResult],
    window: Duration,
    server: Option<ServerUsage>,
) -> Report {
    let sum = |f: fn(&WorkerResult) -> u64| results.iter().map(f).sum::<u64>();
    let mut errors = Errors::default();
    for result in results {
        for (kind, (n, first)) in &result.errors {
            errors.add(kind.clone(), *n);
            errors
                .first
                .entry(kind.clone())
                .or_insert_with(|| first.clone());
        }
    }
    let admitted = sum(|r| r.admitted);
    let answered = sum(|r| r.answered);
    let mut figures = Figures {
        chargers: settings.chargers,
        connected: sum(|r| r.connected),
        admitted,
        answered,
        window_s: window.as_secs_f64(),
        behind_schedule: sum(|r| r.behind_schedule),
        unsent_at_end: sum(|r| r.unsent_at_end),
        ..Figures::default()
    };
    match settings.workload {
        Workload::W1 => {
            let last = results.iter().filter_map(|r| r.last_admitted_us).max();
            if let Some(last) = last {
                let last_s = (last as f64 / 1e6).max(1e-6);
                figures.last_admitted_s = Some(last_s);
                figures.admitted_per_s = Some(admitted as f64 / last_s);
                figures.all_admitted_s =
                    (admitted == u64::from(settings.chargers)).then_some(last_s);
                figures.window_s = last_s;
            }
        }
        Workload::W2 => {
            figures.window_s = settings.duration.as_secs_f64();
            figures.msgs_per_s = Some(answered as f64 / figures.window_s);
        }
        Workload::W3 => {
            let last_us = results.iter().map(|r| r.window_us).max().unwrap_or(0);
            figures.window_s = if last_us > 0 {
                last_us as f64 / 1e6
            } else {
                settings.duration.as_secs_f64()
            };
            figures.msgs_per_s = Some(answered as f64 / figures.window_s);
        }
        Workload::W4 => {
            if let Some(s) = &server
                && admitted > 0
            {
                let grown = s.rss_after_kib.saturating_sub(s.rss_before_kib) as f64 * 1024.0;
                figures.memory_per_connection_bytes = Some(grown / admitted as f64);
            }
        }
    }
    let load_cpu_s = sum(|r| r.cpu_us) as f64 / 1e6;
    Report {
        workload: settings.workload,
        label: label.to_owned(),
        url: settings.target.clone(),
        protocol: settings.protocol,
        connectors: settings.connectors,
        workers: results.len() as u32,
        duration_s: settings.duration.as_secs_f64(),
        meter_every_s: settings.meter_every.as_secs_f64(),
        heartbeat_every_s: settings.heartbeat_every.as_secs_f64(),
        started_at,
        latency: latency::summarise(results.iter().map(|r| &r.latency)),
        figures,
        errors,
        server,
        load_generator_cpu_s: load_cpu_s,
        load_generator_cpu_percent: 100.0 * load_cpu_s / window.as_secs_f64().max(1e-6),
    }
}
