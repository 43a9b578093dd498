//! Gateway settings. Every limit has a safe default; tests shorten the timeouts.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The domain's policy for chargers the directory does not know: `Reject` refuses the
/// upgrade with HTTP 404; `Pending` and `Accept` let the charger in (`SessionInfo::known ==
/// false`) and leave the boot answer to the domain. One type for both crates, so the binary
/// configures it once.
pub use ampere_domain::UnknownChargerPolicy;

use std::sync::Arc;

use crate::security::{LogSecurityEvents, SecurityEvents};
use crate::tls::TlsConfig;

/// Settings of the OCPP listeners: the plain-WebSocket (`ws://`) one, always, and the TLS
/// (`wss://`) one when [`tls`](Self::tls) is set. Both share every limit below.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Where chargers connect. Default `0.0.0.0:8180`.
    pub ocpp_addr: SocketAddr,
    /// Largest WebSocket message (and frame) accepted, in bytes. A bigger text message
    /// closes that connection with close code 1009. Default 65536.
    pub max_message_bytes: usize,
    /// Chargers connected or in their handshake at once; one more is answered HTTP 503.
    /// Default 20 000. Each connection also needs a file descriptor (`ulimit -n`).
    pub max_connections: usize,
    /// Time a client has from TCP accept to a finished upgrade (request read, charger looked
    /// up, password checked, answer written). Default 10 s.
    pub handshake_timeout: Duration,
    /// How long a CSMS-initiated call may take, from being queued to the charger's answer.
    /// Default 30 s.
    pub call_timeout: Duration,
    /// Interval of the server's WebSocket pings; `Duration::ZERO` sends none. Default 60 s.
    pub ping_interval: Duration,
    /// After a ping, how long the charger has to show any traffic (a pong or anything
    /// else) before the connection is considered dead and closed. Default 30 s.
    pub pong_timeout: Duration,
    /// CSMS-initiated calls that may wait for a charger behind the outstanding one; one
    /// more fails with `CommandError::QueueFull`. At least 1. Default 16.
    pub command_queue_len: usize,
    /// Charger CALLs received but not yet handled (a charger may pipeline); when the queue
    /// is full the gateway stops reading that socket until the handler catches up. At least 1.
    /// Default 8.
    pub incoming_queue_len: usize,
    /// Password (argon2) verifications running at once; they are CPU- and memory-heavy
    /// (19 MiB each with argon2's default parameters). Default: the number of CPUs.
    pub max_concurrent_password_checks: usize,
    /// How long one write to a charger's socket may block before the connection is
    /// dropped as dead. Default 30 s.
    pub write_timeout: Duration,
    /// On shutdown (or takeover), how long in-flight charger CALLs may take to finish
    /// before they are abandoned. Default 10 s.
    pub shutdown_grace: Duration,
    /// Accept any path whose last segment is the identity (e.g. SteVe's
    /// `/steve/websocket/CentralSystemService/{identity}`), not only `/ocpp/{identity}`.
    /// Default false.
    pub accept_any_path_prefix: bool,
    /// What to do with chargers the directory does not know. Default `Pending`.
    pub unknown_chargers: UnknownChargerPolicy,
    /// The TLS listener for security profiles 2 and 3 (and profile-1 chargers that choose
    /// TLS). Default none: plain `ws://` only, and profile-2/3 chargers cannot connect.
    pub tls: Option<TlsConfig>,
    /// Failed password logins and the lockouts they lead to.
    pub lockout: LockoutConfig,
    /// Handshakes (TCP accepted, upgrade not finished) at once from one source address; one
    /// more is answered 503 (plain) or dropped (TLS) and reported. Default 256: a flood from
    /// one address cannot take the connection limit, while a site of chargers behind one NAT
    /// address can still reconnect all at once.
    pub max_handshakes_per_address: usize,
    /// Closes a connection that sent nothing at all (no frame, no pong) for this long;
    /// `Duration::ZERO` never does. Default off: pings (`ping_interval`) find dead peers; the
    /// binary sets a few heartbeat intervals.
    pub idle_timeout: Duration,
    /// Sustained messages per second a charger may send; the reader waits when a charger
    /// is faster (nothing is refused or lost; the charger's own socket buffers the rest).
    /// `0.0` switches the limit off. Default 50.
    pub max_message_rate: f64,
    /// Messages a charger may send in a burst above `max_message_rate` (e.g. an offline
    /// queue replayed). Default 500.
    pub message_burst: u32,
    /// A charger held back by the rate limit without a pause for this long is disconnected
    /// (1008) as abusive. Default 10 minutes (a legitimate replay of a long offline queue is
    /// slowed down, not cut).
    pub rate_limit_abuse_after: Duration,
    /// When a second connection arrives for a connected charger, how long the live one has
    /// to answer a WebSocket ping before it is considered dead. Default 3 s.
    pub duplicate_probe_timeout: Duration,
    /// Negotiate permessage-deflate (RFC 7692) when a charger offers it; inflated messages
    /// are held to `max_message_bytes`. Default true (OCPP 2.x requires CSMS support).
    pub permessage_deflate: bool,
    /// Where security events (failed logins, lockouts, duplicates, floods, ...) go.
    /// Default: the trace log only.
    pub security_events: Arc<dyn SecurityEvents>,
}

/// Lockout after failed password logins, per charger identity and per source address.
/// While locked, the password is not even checked (no argon2 work for an attacker) and the
/// client gets 429 with `Retry-After`; a correct password is refused too until the lock ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LockoutConfig {
    /// Failures of one identity within `window` that lock it. Default 5; 0 disables.
    pub max_failures_per_identity: u32,
    /// Failures from one source address within `window` (any identities) that lock the
    /// address. Far higher than the per-identity limit: many chargers may share one NAT address
    /// (cellular chargers often share a carrier's few public addresses), and one misconfigured
    /// fleet must not lock out its neighbours. Default 100; 0 disables.
    pub max_failures_per_address: u32,
    /// The window failures are counted in. Default 5 minutes.
    pub window: Duration,
    /// The first lock's length; each further lock (without a success in between) doubles
    /// it, up to `max_lock`. Default 1 minute.
    pub lock: Duration,
    /// The longest lock. Default 1 hour.
    pub max_lock: Duration,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            max_failures_per_identity: 5,
            max_failures_per_address: 100,
            window: Duration::from_secs(300),
            lock: Duration::from_secs(60),
            max_lock: Duration::from_secs(3600),
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            ocpp_addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8180)),
            max_message_bytes: 65_536,
            max_connections: 20_000,
            handshake_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(60),
            pong_timeout: Duration::from_secs(30),
            command_queue_len: 16,
            incoming_queue_len: 8,
            max_concurrent_password_checks: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            write_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            accept_any_path_prefix: false,
            unknown_chargers: UnknownChargerPolicy::default(),
            tls: None,
            lockout: LockoutConfig::default(),
            max_handshakes_per_address: 2048,
            idle_timeout: Duration::ZERO,
            max_message_rate: 50.0,
            message_burst: 500,
            rate_limit_abuse_after: Duration::from_secs(600),
            duplicate_probe_timeout: Duration::from_secs(3),
            permessage_deflate: true,
            security_events: Arc::new(LogSecurityEvents),
        }
    }
}
