//! The port through which the gateway hands what chargers send to the rest of the system.

use std::fmt;
use std::net::SocketAddr;

use ampere_domain::ChargerId;
use ampere_ocpp::{CallError, OcppVersion};
use async_trait::async_trait;
use serde_json::Value;

/// Who is on the other end of a connection. One per connection; a reconnect gets a new
/// `connection_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub charger_id: ChargerId,
    /// The negotiated subprotocol.
    pub version: OcppVersion,
    pub remote_addr: SocketAddr,
    /// Unique per gateway process, increasing.
    pub connection_id: u64,
    /// False when the directory did not know the charger and the unknown-charger policy let
    /// it in anyway.
    pub known: bool,
}

/// What happened to a connection. Each connection reports `Connected` once, then exactly one
/// of `Disconnected` or `TakenOver`; for one charger, the old connection's last event is
/// reported before the next connection's `Connected`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    Connected,
    Disconnected {
        reason: DisconnectReason,
    },
    /// A new connection with the same identity replaced this one.
    TakenOver,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The charger sent a WebSocket close (code and reason as it sent them), or closed
    /// the TCP connection.
    ClosedByCharger { code: Option<u16>, reason: String },
    /// No traffic (not even a pong) within `pong_timeout` after a ping.
    PingTimeout,
    /// A text message over `max_message_bytes` (closed with 1009).
    MessageTooBig,
    /// A binary message (closed with 1003).
    UnsupportedData,
    /// The WebSocket protocol was broken, or the socket failed.
    Error(String),
    /// A write to the charger did not finish within `write_timeout`.
    WriteTimeout,
    /// The gateway is shutting down (closed with 1001).
    ServerShutdown,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClosedByCharger {
                code: Some(code),
                reason,
            } if !reason.is_empty() => {
                write!(f, "closed by charger ({code}: {reason})")
            }
            Self::ClosedByCharger {
                code: Some(code), ..
            } => {
                write!(f, "closed by charger ({code})")
            }
            Self::ClosedByCharger { code: None, .. } => f.write_str("closed by charger"),
            Self::PingTimeout => f.write_str("no answer to ping"),
            Self::MessageTooBig => f.write_str("message too big"),
            Self::UnsupportedData => f.write_str("binary message"),
            Self::Error(error) => write!(f, "connection error: {error}"),
            Self::WriteTimeout => f.write_str("write timed out"),
            Self::ServerShutdown => f.write_str("server shutdown"),
        }
    }
}

/// Handles what chargers send: implemented by the OCPP router over the domain services.
///
/// Calls for one connection never overlap: the next CALL is handed over only after the
/// previous one has been answered. A handler must make a message's effects durable before it
/// returns the answer; the gateway may still be unable to deliver it (the socket is gone), in
/// which case the charger sends the CALL again after reconnecting.
#[async_trait]
pub trait CallHandler: Send + Sync + 'static {
    /// A charger-initiated CALL; `Ok` becomes a CALLRESULT, `Err` a CALLERROR. A panic is
    /// caught and answered with `InternalError`.
    async fn handle_call(
        &self,
        session: &SessionInfo,
        action: &str,
        payload: Value,
    ) -> Result<Value, CallError>;

    /// An OCPP 2.1 SEND: never answered.
    async fn handle_send(&self, session: &SessionInfo, action: &str, payload: Value);

    /// Connection life cycle, see [`ConnectionEvent`].
    async fn on_connection_event(&self, session: &SessionInfo, event: ConnectionEvent);

    /// Every text frame as it crosses the socket, both ways, in the order it did (for a
    /// message log). Called on the connection's own task, so it must return at once: hand the
    /// text to a queue, never wait on IO. Nothing is observed by default.
    fn on_frame(&self, _session: &SessionInfo, _direction: FrameDirection, _text: &str) {}
}

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameDirection {
    /// From the charger to Ampere.
    Incoming,
    /// From Ampere to the charger.
    Outgoing,
}
