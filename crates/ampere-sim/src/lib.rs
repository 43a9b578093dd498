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
mod certificates;
mod charger;
pub mod charging_profiles;
pub mod config;
pub mod curve;
mod extras;
pub mod faults;
mod files;
pub mod http;
mod link;
pub mod local_list;
pub mod model;
pub mod outbox;
pub mod reservations;
pub mod scenario;
pub mod tls;
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
pub use faults::Faults;
pub use http::UploadMethod;
pub use link::SimError;
pub use scenario::{Scenario, ScenarioError};

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
    /// Transaction messages queued while offline, and sent from the queue later.
    pub queued: AtomicU64,
    pub replayed: AtomicU64,
    /// Calls sent twice on purpose (same message id).
    pub duplicates_sent: AtomicU64,
    /// Connections dropped on purpose (faults and storms).
    pub drops: AtomicU64,
    pub offline_periods: AtomicU64,
    /// Reconnect storms started.
    pub storms: AtomicU64,
    /// Firmware downloads and log uploads started.
    pub transfers: AtomicU64,
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
            queued: get(&self.queued),
            replayed: get(&self.replayed),
            duplicates_sent: get(&self.duplicates_sent),
            drops: get(&self.drops),
            offline_periods: get(&self.offline_periods),
            storms: get(&self.storms),
            transfers: get(&self.transfers),
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
    pub queued: u64,
    pub replayed: u64,
    pub duplicates_sent: u64,
    pub drops: u64,
    pub offline_periods: u64,
    pub storms: u64,
    pub transfers: u64,
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
        )?;
        // Fault counters only when faults were asked for.
        if self.queued + self.duplicates_sent + self.drops + self.offline_periods + self.storms > 0
        {
            write!(
                f,
                ", faults: dropped {} / offline {} / storms {} / duplicates {}, queued {} \
                 (replayed {})",
                self.drops,
                self.offline_periods,
                self.storms,
                self.duplicates_sent,
                self.queued,
                self.replayed,
            )?;
        }
        if self.transfers > 0 {
            write!(f, ", file transfers {}", self.transfers)?;
        }
        Ok(())
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
        let profile = Arc::new(config.profile.clone());
        let chargers = (0..config.chargers)
            .map(|index| {
                let version = config.versions.version_for(index, config.chargers);
                let id = charger_identity(&config.id_prefix, index);
                (id, version, profile.clone(), Vec::new())
            })
            .collect();
        Self::launch(&config, chargers)
    }

    /// Runs `scenario`: each group's chargers with their script, the run's URL, password,
    /// profile and faults.
    pub fn start_scenario(config: SimConfig, scenario: &Scenario) -> Self {
        let mut chargers = Vec::new();
        for group in &scenario.groups {
            let mut profile = config.profile.clone();
            if !group.auto_sessions {
                // Drivers come from the script only, and stay until it stops them.
                profile.session_interval = Duration::from_secs(86_400 * 365);
                profile.session_duration = Duration::from_secs(86_400 * 365);
            }
            let profile = Arc::new(profile);
            let version = VersionMix::parse(&group.version)
                .map(|mix| mix.version_for(0, 1))
                .unwrap_or(ampere_ocpp::OcppVersion::V16);
            let prefix = group.id_prefix.as_deref().unwrap_or(&config.id_prefix);
            for n in 0..group.count {
                let id = charger_identity(prefix, group.first.saturating_sub(1) + n);
                chargers.push((id, version, profile.clone(), group.steps.clone()));
            }
        }
        Self::launch(&config, chargers)
    }

    fn launch(
        config: &SimConfig,
        chargers: Vec<(
            String,
            ampere_ocpp::OcppVersion,
            Arc<ChargerProfile>,
            Vec<scenario::Step>,
        )>,
    ) -> Self {
        let shared = Arc::new(charger::Shared {
            url: config.url.clone(),
            password: config.password.clone(),
            stats: Stats::default(),
            storm: tokio::sync::watch::channel(0).0,
        });
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let pace = Duration::from_secs(1) / config.connect_rate.max(1);
        for (index, (id, version, profile, script)) in chargers.into_iter().enumerate() {
            let index = index as u32;
            // Each charger draws from its own stream, so one charger's behaviour does not
            // depend on how many others run.
            let seed = config.seed ^ u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut station = model::Station::new(id, version, profile, seed);
            station.script = script.into();
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
        if let Some(every) = config.profile.faults.storm_every {
            let shared = shared.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                let mut ticker = tokio::time::interval(every);
                ticker.tick().await;
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = ticker.tick() => {
                            Stats::add(&shared.stats.storms, 1);
                            shared.storm.send_modify(|n| *n += 1);
                        }
                    }
                }
            });
        }
        Self {
            shared,
            tasks,
            stop,
        }
    }

    /// Every charger drops its connection now and reconnects (a reconnect storm).
    pub fn storm(&self) {
        Stats::add(&self.shared.stats.storms, 1);
        self.shared.storm.send_modify(|n| *n += 1);
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
