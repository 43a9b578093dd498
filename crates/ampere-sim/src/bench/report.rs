//! The report of a bench run: figures per workload, latency per action, errors, what the
//! server and the load generator cost; printed as text and written as JSON.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use super::plan::{Protocol, Workload};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// The workload's own figures; those that do not apply to it are `None`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Figures {
    /// Chargers (W3: connections) asked for.
    pub chargers: u32,
    /// Connections opened (WebSocket handshake done).
    pub connected: u64,
    /// W1, W4: chargers whose boot was accepted (W1: and every connector reported).
    pub admitted: u64,
    /// W1: seconds from the start until the last charger was admitted, when all were.
    pub all_admitted_s: Option<f64>,
    /// W1: seconds from the start until the last admitted charger (all or not).
    pub last_admitted_s: Option<f64>,
    /// W1: admitted chargers per second over `last_admitted_s`.
    pub admitted_per_s: Option<f64>,
    /// W2, W3: calls answered with a CALLRESULT in the measured window.
    pub answered: u64,
    /// Length of the measured window, s.
    pub window_s: f64,
    /// W2, W3: answered calls per second.
    pub msgs_per_s: Option<f64>,
    /// W2: calls sent more than a second after their scheduled time (the charger was
    /// still waiting for its previous answer).
    pub behind_schedule: u64,
    /// W2: calls due in the window that were never sent (the chargers were still waiting
    /// for earlier answers when it closed). Not 0: the server did not keep up.
    pub unsent_at_end: u64,
    /// W4: the server's RSS growth divided by the chargers admitted, bytes.
    pub memory_per_connection_bytes: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Errors {
    pub total: u64,
    /// By kind: `connect`, `handshake`, `timeout`, `closed`, `callerror:<code>`,
    /// `boot:<status>`, `unexpected`.
    pub by_kind: BTreeMap<String, u64>,
    /// By kind: the message of one of them, to tell what went wrong.
    #[serde(default)]
    pub first: BTreeMap<String, String>,
}

impl Errors {
    pub fn add(&mut self, kind: String, n: u64) {
        if n > 0 {
            self.total += n;
            *self.by_kind.entry(kind).or_default() += n;
        }
    }
}

/// The measured server process during the window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerUsage {
    pub pid: u32,
    /// CPU time (user + system) used during the window, s.
    pub cpu_s: f64,
    /// `cpu_s / window`, in % of one core (200 % = both cores of a 2-core machine).
    pub cpu_percent: f64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub rss_max_kib: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub workload: Workload,
    /// `target` for the CSMS under test; the reference's name otherwise (`echo`, …).
    pub label: String,
    pub url: String,
    pub protocol: Protocol,
    pub connectors: u32,
    pub workers: u32,
    pub duration_s: f64,
    pub meter_every_s: f64,
    pub heartbeat_every_s: f64,
    /// When the run started (UTC, RFC 3339).
    pub started_at: String,
    pub figures: Figures,
    pub latency: BTreeMap<String, LatencySummary>,
    pub errors: Errors,
    pub server: Option<ServerUsage>,
    /// CPU time of the worker processes during the window, s, and in % of one core.
    pub load_generator_cpu_s: f64,
    pub load_generator_cpu_percent: f64,
}

/// A figure of the target divided by the same figure of a reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ratio {
    pub metric: String,
    pub target: String,
    pub reference: String,
    pub target_value: f64,
    pub reference_value: f64,
    /// `target_value / reference_value`.
    pub ratio: f64,
}

/// Everything a `ampere bench` invocation measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchOutput {
    pub runs: Vec<Report>,
    pub ratios: Vec<Ratio>,
}

impl Report {
    /// The figures this workload is judged by, for ratios against a reference.
    pub fn headline(&self) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        let f = &self.figures;
        match self.workload {
            Workload::W1 => out.extend(f.admitted_per_s.map(|v| ("admitted_per_s", v))),
            Workload::W2 => {
                out.extend(f.msgs_per_s.map(|v| ("msgs_per_s", v)));
                if let Some(l) = self.latency.get(self.meter_action()) {
                    out.push(("p99_ms", l.p99_ms));
                }
                out.extend(
                    self.server
                        .as_ref()
                        .map(|s| ("server_cpu_percent", s.cpu_percent)),
                );
            }
            Workload::W3 => out.extend(f.msgs_per_s.map(|v| ("msgs_per_s", v))),
            Workload::W4 => out.extend(
                f.memory_per_connection_bytes
                    .map(|v| ("memory_per_connection_bytes", v)),
            ),
        }
        out
    }

    /// The action periodic meter readings go as in this report's protocol.
    pub fn meter_action(&self) -> &'static str {
        match self.protocol {
            Protocol::V16 => "MeterValues",
            Protocol::V201 => "TransactionEvent",
        }
    }
}

impl BenchOutput {
    /// Ratios of the first run (the target) to every other run (the references).
    pub fn with_ratios(runs: Vec<Report>) -> Self {
        let mut ratios = Vec::new();
        if let Some((target, references)) = runs.split_first() {
            for reference in references {
                let theirs: BTreeMap<_, _> = reference.headline().into_iter().collect();
                for (metric, value) in target.headline() {
                    if let Some(&reference_value) = theirs.get(metric)
                        && reference_value != 0.0
                    {
                        ratios.push(Ratio {
                            metric: metric.to_owned(),
                            target: target.label.clone(),
                            reference: reference.label.clone(),
                            target_value: value,
                            reference_value,
                            ratio: value / reference_value,
                        });
                    }
                }
            }
        }
        Self { runs, ratios }
    }
}

fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fig = &self.figures;
        let unit = if self.workload == Workload::W3 {
            "connections"
        } else {
            "chargers"
        };
        writeln!(
            f,
            "{} — {} ({}), OCPP {}, {} {unit}, {} worker process(es)",
            self.workload.title(),
            self.label,
            self.url,
            self.protocol,
            thousands(fig.chargers.into()),
            self.workers
        )?;
        match self.workload {
            Workload::W1 => {
                writeln!(
                    f,
                    "  admitted {} of {} (connected {})",
                    thousands(fig.admitted as f64),
                    thousands(fig.chargers.into()),
                    thousands(fig.connected as f64)
                )?;
                match (fig.all_admitted_s, fig.last_admitted_s) {
                    (Some(all), _) => writeln!(f, "  all admitted after {all:.2} s")?,
                    (None, Some(last)) => {
                        writeln!(f, "  NOT all admitted; the last one after {last:.2} s")?
                    }
                    (None, None) => writeln!(f, "  none admitted")?,
                }
                if let Some(rate) = fig.admitted_per_s {
                    writeln!(f, "  {} chargers admitted per second", thousands(rate))?;
                }
            }
            Workload::W2 | Workload::W3 => {
                writeln!(
                    f,
                    "  answered {} calls in {:.1} s: {} msgs/s",
                    thousands(fig.answered as f64),
                    fig.window_s,
                    thousands(fig.msgs_per_s.unwrap_or(0.0))
                )?;
                if self.workload == Workload::W2 {
                    writeln!(
                        f,
                        "  meter values every {} s, heartbeats every {} s; {} calls sent over 1 s late, {} due but not sent when the window closed",
                        self.meter_every_s,
                        self.heartbeat_every_s,
                        fig.behind_schedule,
                        fig.unsent_at_end
                    )?;
                }
            }
            Workload::W4 => {
                writeln!(
                    f,
                    "  {} chargers connected and booted, held idle",
                    thousands(fig.admitted as f64)
                )?;
                if let Some(per) = fig.memory_per_connection_bytes {
                    writeln!(
                        f,
                        "  server memory per idle charger: {} bytes ({:.1} KiB)",
                        thousands(per),
                        per / 1024.0
                    )?;
                }
            }
        }
        let mut errors = format!("  errors {}", self.errors.total);
        if !self.errors.by_kind.is_empty() {
            let kinds: Vec<String> = self
                .errors
                .by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let _ = write!(errors, " ({})", kinds.join(", "));
        }
        writeln!(f, "{errors}")?;
        for (kind, message) in &self.errors.first {
            writeln!(f, "    e.g. {kind}: {message}")?;
        }
        if !self.latency.is_empty() {
            writeln!(
                f,
                "  {:<18} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                "latency (ms)", "count", "mean", "p50", "p99", "p99.9", "max"
            )?;
            for (action, l) in &self.latency {
                writeln!(
                    f,
                    "  {:<18} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                    action, l.count, l.mean_ms, l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms
                )?;
            }
        }
        match &self.server {
            Some(s) => writeln!(
                f,
                "  server pid {}: CPU {:.0} % of a core ({:.1} s), RSS {:.1} MiB -> {:.1} MiB (max {:.1} MiB)",
                s.pid,
                s.cpu_percent,
                s.cpu_s,
                s.rss_before_kib as f64 / 1024.0,
                s.rss_after_kib as f64 / 1024.0,
                s.rss_max_kib as f64 / 1024.0
            )?,
            None => writeln!(f, "  server: not measured (no --server-pid, none found)")?,
        }
        writeln!(
            f,
            "  load generator CPU {:.0} % of a core ({:.1} s)",
            self.load_generator_cpu_percent, self.load_generator_cpu_s
        )
    }
}

impl fmt::Display for BenchOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for run in &self.runs {
            writeln!(f, "{run}")?;
        }
        for r in &self.ratios {
            writeln!(
                f,
                "ratio {} {} / {}: {:.3} ({:.2} / {:.2})",
                r.metric, r.target, r.reference, r.ratio, r.target_value, r.reference_value
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(label: &str, msgs_per_s: f64) -> Report {
        Report {
            workload: Workload::W3,
            label: label.into(),
            url: "ws://127.0.0.1:1/ocpp".into(),
            protocol: Protocol::V16,
            connectors: 1,
            workers: 1,
            duration_s: 1.0,
            meter_every_s: 10.0,
            heartbeat_every_s: 60.0,
            started_at: "2026-11-21T10:00:00Z".into(),
            figures: Figures {
                chargers: 4,
                answered: msgs_per_s as u64,
                window_s: 1.0,
                msgs_per_s: Some(msgs_per_s),
                ..Figures::default()
            },
            latency: BTreeMap::new(),
            errors: Errors::default(),
            server: None,
            load_generator_cpu_s: 0.1,
            load_generator_cpu_percent: 10.0,
        }
    }

    #[test]
    fn ratios_are_target_over_each_reference() {
        let out = BenchOutput::with_ratios(vec![
            report("target", 500.0),
            report("echo", 2000.0),
            report("python", 250.0),
        ]);
        let got: Vec<(String, f64)> = out
            .ratios
            .iter()
            .map(|r| (r.reference.clone(), r.ratio))
            .collect();
        assert_eq!(got, vec![("echo".into(), 0.25), ("python".into(), 2.0)]);
        let text = out.to_string();
        assert!(
            text.contains("answered 500 calls in 1.0 s: 500 msgs/s"),
            "{text}"
        );
        assert!(
            text.contains("ratio msgs_per_s target / echo: 0.250"),
            "{text}"
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(15_000.0), "15,000");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }
}
