//! Chargers, EVSEs, transactions, id tokens and the rules around them; the ports the store
//! implements. Knows nothing of WebSockets, HTTP, SQL or wire formats.

pub mod ids;

pub use ids::ChargerId;
