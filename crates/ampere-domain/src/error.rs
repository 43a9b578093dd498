//! Errors of the domain and of its storage port.

use crate::ids::{ChargerId, InvalidId};

/// What went wrong in the store, in the three classes callers act on differently.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is overloaded (connection refused, pool timeout,
    /// database locked past the busy timeout). Retrying later may work; a handler answers
    /// `InternalError` and the charger retries.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness or foreign-key rule was violated: the write conflicts with data already
    /// stored.
    #[error("store conflict: {0}")]
    Conflict(String),
    /// Stored data that cannot be read back into the model (a bug or a hand-edited row).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Anything else (SQL error, migration failure...).
    #[error("store error: {0}")]
    Other(String),
}

/// Why a domain service call failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("charger {0} is not registered")]
    UnknownCharger(ChargerId),
    #[error("charger {0} is already registered")]
    ChargerExists(ChargerId),
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// The request breaks a rule of the model (e.g. security profile out of range).
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("password hashing failed: {0}")]
    Password(String),
}

impl DomainError {
    /// True when the cause is the store being unreachable, not the request.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Store(StoreError::Unavailable(_)))
    }
}
