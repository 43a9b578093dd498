//! OCPP-J framing, typed messages of OCPP 1.6, 2.0.1 and 2.1, and schema-exact validation.
//!
//! Architecture invariant: this crate does no IO. It turns text into values and values into
//! text; sockets, tasks and storage live elsewhere.
//!
//! - [`frame`]: the OCPP-J RPC arrays (CALL, CALLRESULT, CALLERROR, 2.1 CALLRESULTERROR and
//!   SEND), parsed without panics into values that say how to answer a broken frame.
//! - [`v16`], [`v201`], [`v21`]: one request and one response type per action, generated
//!   from the official OCA JSON schemas (see the crate README for how to regenerate).
//! - [`validate()`]: judges a payload exactly as the official schema does and says which
//!   CALLERROR code the breakage earns.
//! - [`actions()`]: every action of a version and which side initiates it.

mod actions;
mod error;
pub mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod generated;
pub mod integer;
pub mod number;
mod schema;
mod validate;
mod version;

pub use actions::{ActionInfo, Initiator, action, actions};
pub use error::{CallError, ErrorCode};
pub use generated::{v16, v21, v201};
pub use validate::{Violation, ViolationKind, validate};
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
