//! The OCPP adapters: what Ampere answers to everything a charger sends, in every version.
//!
//! One generic [`Router`] does the work every message needs (look the action up, check who
//! may send it, check the charger's registration, validate the payload against the official
//! schema, decode it into the generated type, call the handler, encode and validate the
//! answer, map errors to CALLERROR codes, trace it all). The handlers are plain functions,
//! one file per action: `v16/` for 1.6, `two_x/` for what 2.0.1 and 2.1 answer alike
//! (written once, instantiated for each version's types), `v21/` for what only 2.1 has. Each
//! is of the shape
//! `async fn handle(ctx: &Ctx<'_>, request: XxxRequest) -> Result<XxxResponse, CallError>`:
//! they translate the wire types into version-neutral domain calls
//! ([`ampere_domain::Services`]) and the domain's answer back, and return it; they never
//! send anything themselves.
//!
//! Version differences stay here: the domain has one transaction service that 1.6
//! Start/StopTransaction and 2.x TransactionEvent both feed, one meter-value model, one
//! status model. Mapping that 2.0.1 and 2.1 share lives once, in `two_x/map.rs`; the 1.6
//! mapping in `v16/map.rs`.
//!
//! Architecture invariant: this crate depends on the protocol (`ampere-ocpp`) and the
//! domain (`ampere-domain`) only. It knows nothing of sockets (the gateway calls the
//! router) or of SQL (the domain's ports do).
//!
//! The recipe for adding an action is in this crate's README.md.

mod context;
mod error;
mod router;
#[cfg(test)]
mod testing;
mod two_x;
mod v16;
mod v201;
mod v21;
mod wire;

pub use context::ChargerContext;
pub use router::Router;
