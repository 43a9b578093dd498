//! Gateway settings. Every limit has a safe default; tests shorten the timeouts.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The domain's policy for chargers the directory does not know: `Reject` refuses the
/// upgrade with HTTP 404; `Pending` and `Accept` let the charger in (`SessionInfo::known ==
/// false`) and leave the boot answer to the domain. One type for both crates, so the binary
/// configures it once.
pub use ampere_domain::UnknownChargerPolicy;

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
        }
    }
}
