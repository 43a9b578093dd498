//! OCPP-J framing, typed messages of OCPP 1.6, 2.0.1 and 2.1, and schema-exact validation.
//!
//! Architecture invariant: this crate does no IO. It turns text into values and values into
//! text; sockets, tasks and storage live elsewhere.

mod error;
pub mod frame;
mod version;

pub use error::{CallError, ErrorCode};
pub use version::OcppVersion;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Which half of an exchange a payload is: the CALL's request or the CALLRESULT's response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Request,
    Response,
}

/// A typed OCPP request of one version, tied to its action name and its response type.
///
/// Implemented by every generated `XxxRequest` type, so callers can write
/// `commands.call::<v201::ResetRequest>(..)` and get a `v201::ResetResponse` back.
pub trait Action: Serialize + DeserializeOwned {
    /// The action name as it appears in the CALL frame, e.g. `"BootNotification"`.
    const NAME: &'static str;
    /// The protocol version this type belongs to.
    const VERSION: OcppVersion;
    /// The payload of the matching CALLRESULT.
    type Response: Serialize + DeserializeOwned;
}
