//! What the gateway tells the outside world about attacks and refusals: one small sink
//! trait, so the gateway stays free of the domain's security log (the binary implements it).
//!
//! Reports are made on the handshake and connection paths, so [`SecurityEvents::report`]
//! must return at once: queue, never wait for IO.

use std::fmt;
use std::net::SocketAddr;

use ampere_domain::ChargerId;

/// A security event the gateway observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySecurityEvent {
    pub kind: SecurityEventKind,
    /// The identity the client claimed, when it got that far.
    pub charger_id: Option<ChargerId>,
    pub remote_addr: SocketAddr,
    /// Short machine-readable details (`reason`, `resolution`, limits). Never a secret.
    pub detail: Vec<(&'static str, String)>,
}

impl GatewaySecurityEvent {
    pub(crate) fn new(kind: SecurityEventKind, remote_addr: SocketAddr) -> Self {
        Self {
            kind,
            charger_id: None,
            remote_addr,
            detail: Vec::new(),
        }
    }

    pub(crate) fn charger(mut self, id: &ChargerId) -> Self {
        self.charger_id = Some(id.clone());
        self
    }

    pub(crate) fn with(mut self, key: &'static str, value: impl fmt::Display) -> Self {
        self.detail.push((key, value.to_string()));
        self
    }
}

/// The kinds of events the gateway reports; [`as_str`](Self::as_str) is the stored type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecurityEventKind {
    /// A charger with a password did not present the right one (detail `reason`).
    AuthenticationFailed,
    /// Too many failures: an identity or a source address is locked for a while.
    LockedOut,
    /// An attempt refused because its identity or address is locked (no password checked).
    LockedOutAttempt,
    /// A second connection for a connected identity (detail `resolution`).
    DuplicateConnection,
    /// A charger tried a lower security profile than its own (e.g. plain ws for profile 2).
    ProfileViolation,
    /// A client certificate was refused (wrong name, missing for profile 3, untrusted).
    CertificateRefused,
    /// A charger sent messages faster than its rate limit; reading it is being slowed down.
    RateLimited,
    /// A charger kept exceeding its rate limit and was disconnected.
    RateLimitAbuse,
    /// A message over the size limit; the connection was closed with 1009.
    MessageTooBig,
    /// A compressed message that inflates past the size limit; closed with 1009.
    CompressionBomb,
    /// An upgrade request that is not valid HTTP or not a valid WebSocket upgrade.
    MalformedHandshake,
    /// A client that did not finish its handshake in time (slow or stalled client).
    HandshakeTimeout,
    /// Too many handshakes at once from one address, or over the connection limit.
    TooManyHandshakes,
}

impl SecurityEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthenticationFailed => "AuthenticationFailed",
            Self::LockedOut => "LockedOut",
            Self::LockedOutAttempt => "LockedOutAttempt",
            Self::DuplicateConnection => "DuplicateConnection",
            Self::ProfileViolation => "ProfileViolation",
            Self::CertificateRefused => "CertificateRefused",
            Self::RateLimited => "RateLimited",
            Self::RateLimitAbuse => "RateLimitAbuse",
            Self::MessageTooBig => "MessageTooBig",
            Self::CompressionBomb => "CompressionBomb",
            Self::MalformedHandshake => "MalformedHandshake",
            Self::HandshakeTimeout => "HandshakeTimeout",
            Self::TooManyHandshakes => "TooManyHandshakes",
        }
    }
}

impl fmt::Display for SecurityEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the gateway's security events go. Must not block.
pub trait SecurityEvents: fmt::Debug + Send + Sync + 'static {
    fn report(&self, event: GatewaySecurityEvent);
}

/// The default sink: the event goes to the trace log only.
#[derive(Debug, Default)]
pub struct LogSecurityEvents;

impl SecurityEvents for LogSecurityEvents {
    fn report(&self, event: GatewaySecurityEvent) {
        tracing::info!(
            kind = event.kind.as_str(),
            charger_id = event.charger_id.as_ref().map(ChargerId::as_str),
            remote = %event.remote_addr,
            detail = ?event.detail,
            "security event"
        );
    }
}

/// Reports events to the configured sink; floods of one kind from one address are thinned
/// to one report per [`THROTTLE_INTERVAL`], which carries how many were left out.
pub(crate) struct Reporter {
    sink: std::sync::Arc<dyn SecurityEvents>,
    recent:
        std::sync::Mutex<std::collections::HashMap<(SecurityEventKind, std::net::IpAddr), Recent>>,
}

/// One report per kind and address per this interval, for the throttled kinds.
pub(crate) const THROTTLE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// Throttle entries kept before old ones are swept.
const THROTTLE_SWEEP_ABOVE: usize = 4096;

struct Recent {
    last: tokio::time::Instant,
    suppressed: u64,
}

impl Reporter {
    pub(crate) fn new(sink: std::sync::Arc<dyn SecurityEvents>) -> Self {
        Self {
            sink,
            recent: std::sync::Mutex::default(),
        }
    }

    /// Reports the event.
    pub(crate) fn report(&self, event: GatewaySecurityEvent) {
        self.sink.report(event);
    }

    /// Reports the event unless one of its kind from its address was reported within the
    /// last [`THROTTLE_INTERVAL`]; the next report says how many were left out
    /// (`suppressed`). For what floods produce: timeouts, malformed requests, refusals.
    pub(crate) fn report_throttled(&self, event: GatewaySecurityEvent) {
        let now = tokio::time::Instant::now();
        let key = (event.kind, event.remote_addr.ip());
        let suppressed = {
            let mut recent = self
                .recent
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if recent.len() >= THROTTLE_SWEEP_ABOVE {
                recent.retain(|_, r| now.duration_since(r.last) < THROTTLE_INTERVAL);
            }
            match recent.get_mut(&key) {
                Some(r) if now.duration_since(r.last) < THROTTLE_INTERVAL => {
                    r.suppressed += 1;
                    return;
                }
                Some(r) => {
                    r.last = now;
                    std::mem::take(&mut r.suppressed)
                }
                None => {
                    recent.insert(
                        key,
                        Recent {
                            last: now,
                            suppressed: 0,
                        },
                    );
                    0
                }
            }
        };
        let event = if suppressed > 0 {
            event.with("suppressed", suppressed)
        } else {
            event
        };
        self.sink.report(event);
    }
}
