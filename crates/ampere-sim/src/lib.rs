//! Ampere's charger simulator: from one to tens of thousands of OCPP 1.6, 2.0.1 and 2.1
//! chargers against any CSMS.
//!
//! Each simulated charger connects with its version's subprotocol (and HTTP Basic auth when
//! a password is set), boots and follows the Pending/Rejected retry rules, reports its
//! connectors, sends heartbeats at the interval the CSMS gives, and runs charging sessions
//! (plug in, Authorize, start, meter values along a power curve, stop). It answers the
//! CSMS's calls the way a charger does (see `README.md` for the list) and reconnects with
//! exponential backoff and jitter when its connection drops.
//!
//! Every message sent is one of `ampere_ocpp`'s generated types, so it is schema-valid by
//! construction; every answer and call received is validated against the official schema.
//!
//! Architecture invariant: this crate depends on the protocol crate only, never on the
//! server's crates, so it drives any CSMS exactly as it drives Ampere. One tokio task per
//! charger, no threads of its own.

mod answer;
pub mod bench;
mod charger;
pub mod config;
pub mod curve;
mod link;
pub mod model;
mod two_x;
mod v16;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use answer::answer;
pub use charger::backoff;
pub use config::{ChargerProfile, MixError, SimConfig, VersionMix, charger_identity};
pub use link::SimError;

/// Counters of a run, shared by all chargers.
#[derive(Debug, Default)]
pub struct Stats {
    pub connects: AtomicU64,
    pub connect_failures: AtomicU64,
    pub disconnects: AtomicU64,
    pub boots_accepted: AtomicU64,
    pub boots_pending: AtomicU64,
    pub boots_rejected: AtomicU64,
    pub reboots: AtomicU64,
    pub calls_sent: AtomicU64,
    /// CALLERRORs the CSMS answered our calls with.
    pub call_errors: AtomicU64,
    /// CSMS answers that broke the schema.
    pub invalid_answers: AtomicU64,
    pub csms_calls_answered: AtomicU64,
    pub authorizations_refused: AtomicU64,
    pub sessions_started: AtomicU64,
    pub sessions_completed: AtomicU64,
    /// Energy of the completed sessions, Wh.
    pub energy_wh: AtomicU64,
}

impl Stats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn summary(&self) -> Summary {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Summary {
            connects: get(&self.connects),
            connect_failures: get(&self.connect_failures),
            disconnects: get(&self.disconnects),
            boots_accepted: get(&self.boots_accepted),
            boots_pending: get(&self.boots_pending),
            boots_rejected: get(&self.boots_rejected),
            reboots: get(&self.reboots),
            calls_sent: get(&self.calls_sent),
            call_errors: get(&self.call_errors),
            invalid_answers: get(&self.invalid_answers),
            csms_calls_answered: get(&self.csms_calls_answered),
            authorizations_refused: get(&self.authorizations_refused),
            sessions_started: get(&self.sessions_started),
            sessions_completed: get(&self.sessions_completed),
            energy_wh: get(&self.energy_wh),
        }
    }
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub connects: u64,
    pub connect_failures: u64,
    pub disconnects: u64,
    pub boots_accepted: u64,
    pub boots_pending: u64,
    pub boots_rejected: u64,
    pub reboots: u64,
    pub calls_sent: u64,
    pub call_errors: u64,
    pub invalid_answers: u64,
    pub csms_calls_answered: u64,
    pub authorizations_refused: u64,
    pub sessions_started: u64,
    pub sessions_completed: u64,
    pub energy_wh: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "connects {} (failed {}, dropped {}), boots accepted {} / pending {} / rejected {}, \
             reboots {}, calls {} (CALLERROR {}, invalid answers {}), CSMS calls answered {}, \
             sessions started {} / completed {} ({:.1} kWh), tokens refused {}",
            self.connects,
            self.connect_failures,
            self.disconnects,
            self.boots_accepted,
            self.boots_pending,
            self.boots_rejected,
            self.reboots,
            self.calls_sent,
            self.call_errors,
            self.invalid_answers,
            self.csms_calls_answered,
            self.sessions_started,
            self.sessions_completed,
            self.energy_wh as f64 / 1000.0,
            self.authorizations_refused,
        )
    }
}

/// A simulation in progress.
pub struct Simulation {
    shared: Arc<charger::Shared>,
    tasks: JoinSet<()>,
    stop: CancellationToken,
}

impl Simulation {
    /// Starts `config.chargers` chargers, opening at most `config.connect_rate`
    /// connections per second; they run until [`Simulation::stop`].
    pub fn start(config: SimConfig) -> Self {
        let shared = Arc::new(charger::Shared {
            url: config.url.clone(),
            password: config.password.clone(),
            stats: Stats::default(),
        });
        let profile = Arc::new(config.profile.clone());
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let pace = Duration::from_secs(1) / config.connect_rate.max(1);
        for index in 0..config.chargers {
            let version = config.versions.version_for(index, config.chargers);
            let id = charger_identity(&config.id_prefix, index);
            // Each charger draws from its own stream, so one charger's behaviour does not
            // depend on how many others run.
            let seed = config.seed ^ u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let station = model::Station::new(id, version, profile.clone(), seed);
            let delay = pace * index;
            let shared = shared.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                charger::run(station, shared, stop).await;
            });
        }
        Self {
            shared,
            tasks,
            stop,
        }
    }

    /// The counters so far.
    pub fn summary(&self) -> Summary {
        self.shared.stats.summary()
    }

    /// Ends the run: sessions are stopped, connections closed (waiting at most `grace`).
    pub async fn stop(mut self, grace: Duration) -> Summary {
        self.stop.cancel();
        let all_done = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all_done).await.is_err() {
            tracing::warn!("some chargers did not finish in {grace:?}; they are dropped");
            self.tasks.abort_all();
        }
        self.shared.stats.summary()
    }
}
