//! Faults on demand: what can go wrong between a charger and its CSMS, switched on by
//! flags or scenario files so a CSMS can be tested against it.

use std::time::Duration;

/// The faults every charger of a run shows. All off by default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Drop the connection (no close frame) about this often (each charger at its own
    /// moment, 0.5–1.5 × the value); it reconnects with backoff.
    pub drop_every: Option<Duration>,
    /// Chance, per call sent, that the connection drops right after the answer.
    pub drop_chance: f64,
    /// Go offline about this often for `offline_for`: the connection is closed, sessions
    /// go on, transaction messages are queued and replayed in order on reconnect.
    pub offline_every: Option<Duration>,
    pub offline_for: Duration,
    /// Chance, per call sent, that the same frame (same message id) is sent twice.
    pub duplicate_chance: f64,
    /// Delay before answering each CSMS call.
    pub answer_delay: Duration,
    /// Offset of every timestamp the charger sends (its clock is wrong by this much).
    pub clock_skew: chrono::Duration,
    /// Every charger of the run drops at the same moment this often, and all reconnect
    /// (with their backoff and jitter): a reconnect storm.
    pub storm_every: Option<Duration>,
}
