//! The charger-facing WebSocket server: subprotocols, security profile 1, sessions, call
//! correlation.
//!
//! [`Gateway::bind`] starts a listener; each admitted charger gets one task that hands its
//! CALLs, in order, to a [`CallHandler`] and sends the answers back. [`Commands`] sends
//! CSMS-initiated calls to connected chargers. Who may connect is asked of a
//! [`ChargerDirectory`].
//!
//! Architecture invariant: the gateway knows OCPP framing but not OCPP messages. It never
//! looks inside a payload; decoding, validation and the domain live behind [`CallHandler`].

mod commands;
mod config;
mod connection;
mod directory;
mod handler;
mod handshake;
mod registry;
mod server;

pub use commands::{CommandError, Commands};
pub use config::{GatewayConfig, UnknownChargerPolicy};
pub use directory::{ChargerAuth, ChargerDirectory, DirectoryError};
pub use handler::{CallHandler, ConnectionEvent, DisconnectReason, SessionInfo};
pub use server::{Gateway, RunningGateway};
