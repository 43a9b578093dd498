//! What a bench run does: the user's settings, and each worker's share of them.

use std::net::Ipv4Addr;
use std::time::Duration;

use ampere_ocpp::OcppVersion;
use serde::{Deserialize, Serialize};

/// The defined workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Boot storm.
    W1,
    /// Steady network.
    W2,
    /// Saturation.
    W3,
    /// Idle scale.
    W4,
}

impl Workload {
    pub fn title(self) -> &'static str {
        match self {
            Self::W1 => "W1 boot storm",
            Self::W2 => "W2 steady network",
            Self::W3 => "W3 saturation",
            Self::W4 => "W4 idle scale",
        }
    }

    /// Whether the chargers connect, boot (and start a transaction) before the measured
    /// window opens. W1 and W4 measure the connecting itself.
    pub(crate) fn prepares_before_go(self) -> bool {
        matches!(self, Self::W2 | Self::W3)
    }
}

impl std::str::FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "w1" => Ok(Self::W1),
            "w2" => Ok(Self::W2),
            "w3" => Ok(Self::W3),
            "w4" => Ok(Self::W4),
            _ => Err(format!("unknown workload {s:?} (w1, w2, w3 or w4)")),
        }
    }
}

/// The OCPP version the bench chargers speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    #[serde(rename = "1.6")]
    V16,
    #[serde(rename = "2.0.1")]
    V201,
}

impl Protocol {
    pub fn ocpp(self) -> OcppVersion {
        match self {
            Self::V16 => OcppVersion::V16,
            Self::V201 => OcppVersion::V201,
        }
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1.6" => Ok(Self::V16),
            "2.0.1" => Ok(Self::V201),
            _ => Err(format!(
                "unsupported OCPP version {s:?} for the bench (1.6 or 2.0.1)"
            )),
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.ocpp().fmt(f)
    }
}

/// One run's settings, the same for every target it is run against.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub workload: Workload,
    /// CSMS endpoint without the identity (`ws://HOST:PORT/ocpp`); each charger connects to
    /// `URL/IDENTITY`.
    pub target: String,
    pub protocol: Protocol,
    /// Chargers (W1, W2, W4) or connections (W3).
    pub chargers: u32,
    /// Connectors per charger, each reported with a StatusNotification at boot.
    pub connectors: u32,
    /// Identities are `PREFIX-000001`, …
    pub id_prefix: String,
    /// Length of the measured window (W2, W3).
    #[serde(with = "seconds")]
    pub duration: Duration,
    /// W2: MeterValues interval per charger.
    #[serde(with = "seconds")]
    pub meter_every: Duration,
    /// W2: heartbeat interval per charger.
    #[serde(with = "seconds")]
    pub heartbeat_every: Duration,
    /// A call not answered in this time counts as an error and the connection is dropped.
    #[serde(with = "seconds")]
    pub answer_timeout: Duration,
    /// Connections being opened at once per worker while preparing (W2, W3) or in W4;
    /// W1 opens every connection at once by definition.
    pub open_concurrency: u32,
    /// Worker processes the chargers are spread over.
    pub workers: u32,
    /// Loopback source addresses per worker (only used when the target is on loopback).
    pub source_addresses: u32,
}

/// One worker process's share of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerPlan {
    pub settings: Settings,
    pub worker: u32,
    /// Index of this worker's first charger (identities are numbered across workers).
    pub first: u32,
    pub count: u32,
    /// Addresses the worker binds its connections to, in turn (empty: the system picks).
    pub sources: Vec<Ipv4Addr>,
    /// Unique per run (2.0.1 transaction ids include it, so a second run against the same
    /// server starts new transactions instead of repeating sequence numbers).
    pub run_id: u64,
}

impl Settings {
    /// The worker plans: chargers split as evenly as possible, each worker with its own
    /// block of loopback source addresses `127.0.{10+w}.{1..}` when the target is local.
    pub fn split(&self, target_is_loopback: bool, run_id: u64) -> Vec<WorkerPlan> {
        let workers = self.workers.clamp(1, 200).min(self.chargers.max(1));
        let base = self.chargers / workers;
        let extra = self.chargers % workers;
        let mut first = 0;
        (0..workers)
            .map(|w| {
                let count = base + u32::from(w < extra);
                let sources = if target_is_loopback {
                    (0..self.source_addresses.clamp(1, 250))
                        .map(|j| Ipv4Addr::new(127, 0, 10 + w as u8, 1 + j as u8))
                        .collect()
                } else {
                    Vec::new()
                };
                let plan = WorkerPlan {
                    settings: self.clone(),
                    worker: w,
                    first,
                    count,
                    sources,
                    run_id,
                };
                first += count;
                plan
            })
            .collect()
    }
}

/// The identity of charger `index` (0-based): `PREFIX-000001` for index 0.
pub fn identity(prefix: &str, index: u32) -> String {
    format!("{prefix}-{:06}", index + 1)
}

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn settings(chargers: u32, workers: u32) -> Settings {
        Settings {
            workload: Workload::W1,
            target: "ws://127.0.0.1:8180/ocpp".into(),
            protocol: Protocol::V16,
            chargers,
            connectors: 2,
            id_prefix: "BENCH".into(),
            duration: Duration::from_secs(10),
            meter_every: Duration::from_secs(10),
            heartbeat_every: Duration::from_secs(60),
            answer_timeout: Duration::from_secs(30),
            open_concurrency: 500,
            workers,
            source_addresses: 4,
        }
    }

    #[test]
    fn split_covers_every_charger_once_with_distinct_sources() {
        let plans = settings(10, 3).split(true, 1);
        assert_eq!(
            plans.iter().map(|p| (p.first, p.count)).collect::<Vec<_>>(),
            vec![(0, 4), (4, 3), (7, 3)]
        );
        assert_eq!(plans[0].sources[0], Ipv4Addr::new(127, 0, 10, 1));
        assert_eq!(plans[2].sources[3], Ipv4Addr::new(127, 0, 12, 4));
        assert!(settings(10, 3).split(false, 1)[0].sources.is_empty());
    }

    #[test]
    fn never_more_workers_than_chargers() {
        assert_eq!(settings(2, 8).split(true, 1).len(), 2);
    }

    #[test]
    fn plan_round_trips_through_json() {
        let plan = &settings(5, 1).split(true, 1)[0];
        let text = serde_json::to_string(plan).unwrap();
        let back: WorkerPlan = serde_json::from_str(&text).unwrap();
        assert_eq!(back.settings.duration, Duration::from_secs(10));
        assert_eq!(back.sources, plan.sources);
        assert_eq!(identity("BENCH", 0), "BENCH-000001");
    }
}
