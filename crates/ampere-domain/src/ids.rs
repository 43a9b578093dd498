//! Identifiers that are validated once, where they enter the system.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The identity a charger connects with: the last path segment of its WebSocket URL,
/// URL-decoded, 1 to 48 characters, without `:` (it would break HTTP Basic auth).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChargerId(String);

/// Why a string is not a valid charger identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidChargerId {
    #[error("charger identity is empty")]
    Empty,
    #[error("charger identity is longer than {max} characters")]
    TooLong { max: usize },
    #[error("charger identity contains a forbidden character {0:?}")]
    ForbiddenChar(char),
}

impl ChargerId {
    pub const MAX_LEN: usize = 48;

    pub fn new(value: impl Into<String>) -> Result<Self, InvalidChargerId> {
        let value = value.into();
        if value.is_empty() {
            return Err(InvalidChargerId::Empty);
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(InvalidChargerId::TooLong { max: Self::MAX_LEN });
        }
        if let Some(c) = value.chars().find(|c| *c == ':' || c.is_control()) {
            return Err(InvalidChargerId::ForbiddenChar(c));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ChargerId {
    type Error = InvalidChargerId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ChargerId> for String {
    fn from(id: ChargerId) -> Self {
        id.0
    }
}

impl fmt::Display for ChargerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChargerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChargerId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_identities() {
        assert_eq!(ChargerId::new("CP-001").unwrap().as_str(), "CP-001");
        assert!(ChargerId::new("x".repeat(48)).is_ok());
    }

    #[test]
    fn refuses_empty_long_and_colon() {
        assert_eq!(ChargerId::new(""), Err(InvalidChargerId::Empty));
        assert_eq!(
            ChargerId::new("x".repeat(49)),
            Err(InvalidChargerId::TooLong { max: 48 })
        );
        assert_eq!(
            ChargerId::new("a:b"),
            Err(InvalidChargerId::ForbiddenChar(':'))
        );
    }
}
