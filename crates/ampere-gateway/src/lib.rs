//! The charger-facing WebSocket server: subprotocols, security profiles 1–3 (plain `ws://`
//! and TLS `wss://` listeners side by side), sessions, call correlation.
//!
//! [`Gateway::bind`] starts a listener; each admitted charger gets one task that hands its
//! CALLs, in order, to a [`CallHandler`] and sends the answers back. [`Commands`] sends
//! CSMS-initiated calls to connected chargers. Who may connect is asked of a
//! [`ChargerDirectory`].
//!
//! Architecture invariant: the gateway knows OCPP framing but not OCPP messages. It never
//! looks inside a payload; decoding, validation and the domain live behind [`CallHandler`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use ampere_gateway::*;
//! # use ampere_domain::ChargerId;
//! # use ampere_ocpp::{CallError, ErrorCode};
//! # use serde_json::Value;
//! # struct Registry;
//! # #[async_trait::async_trait]
//! # impl ChargerDirectory for Registry {
//! #     async fn lookup(&self, _: &ChargerId) -> Result<Option<ChargerAuth>, DirectoryError> { Ok(None) }
//! # }
//! # struct Router;
//! # #[async_trait::async_trait]
//! # impl CallHandler for Router {
//! #     async fn handle_call(&self, _: &SessionInfo, _: &str, _: Value) -> Result<Value, CallError> {
//! #         Err(CallError::new(ErrorCode::NotImplemented, ""))
//! #     }
//! #     async fn handle_send(&self, _: &SessionInfo, _: &str, _: Value) {}
//! #     async fn on_connection_event(&self, _: &SessionInfo, _: ConnectionEvent) {}
//! # }
//! # async fn run() -> std::io::Result<()> {
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! let config = GatewayConfig {
//!     unknown_chargers: UnknownChargerPolicy::Pending,
//!     ..GatewayConfig::default()
//! };
//! let gateway = Gateway::bind(config, Arc::new(Registry), Arc::new(Router), shutdown.clone()).await?;
//! let commands: Commands = gateway.commands(); // hand to the API and the domain
//! // ... on SIGTERM: shutdown.cancel();
//! gateway.join().await;
//! # Ok(())
//! # }
//! ```

mod commands;
mod config;
mod connection;
mod deflate;
mod directory;
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod handler;
mod handshake;
mod rate;
mod registry;
mod security;
mod server;
mod socket;
mod tls;
mod verified;

pub use commands::{CommandError, Commands};
pub use config::{GatewayConfig, LockoutConfig, UnknownChargerPolicy};
pub use directory::{Admission, ChargerAuth, ChargerDirectory, DirectoryError};
pub use handler::{CallHandler, ConnectionEvent, DisconnectReason, FrameDirection, SessionInfo};
pub use rustls::pki_types::{CertificateDer, PrivateKeyDer};
pub use security::{GatewaySecurityEvent, LogSecurityEvents, SecurityEventKind, SecurityEvents};
pub use server::{Gateway, RunningGateway};
pub use tls::{TlsConfig, TlsError, TlsReloader};
