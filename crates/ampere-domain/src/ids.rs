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

/// Why a value could not become one of the identifiers below.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidId {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is longer than {max} characters")]
    TooLong { what: &'static str, max: usize },
    #[error("{what} is out of range")]
    OutOfRange { what: &'static str },
}

/// The kind of an id token. The eight values of OCPP 2.0.1, the common values OCPP 2.1
/// added (its `type` is an open string of at most 20 characters), and `Other` for the rest
/// of 2.1's open set.
///
/// Decision: an OCPP 1.6 `idTag` has no kind; the 1.6 adapters present it as
/// [`IdTokenKind::Iso14443`] (an RFID UID, by far the common case). Nothing depends on that
/// choice, because a token is identified by its value alone (see [`IdToken`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum IdTokenKind {
    Central,
    EMaid,
    Iso14443,
    Iso15693,
    KeyCode,
    Local,
    MacAddress,
    NoAuthorization,
    DirectPayment,
    Evccid,
    Vin,
    /// Any other 2.1 type string, at most 20 characters.
    Other(String),
}

impl IdTokenKind {
    pub const MAX_LEN: usize = 20;

    /// The OCPP spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Central => "Central",
            Self::EMaid => "eMAID",
            Self::Iso14443 => "ISO14443",
            Self::Iso15693 => "ISO15693",
            Self::KeyCode => "KeyCode",
            Self::Local => "Local",
            Self::MacAddress => "MacAddress",
            Self::NoAuthorization => "NoAuthorization",
            Self::DirectPayment => "DirectPayment",
            Self::Evccid => "EVCCID",
            Self::Vin => "VIN",
            Self::Other(s) => s,
        }
    }

    /// Parses the OCPP spelling; unknown spellings become `Other` when they are short enough.
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        Ok(match value {
            "Central" => Self::Central,
            "eMAID" => Self::EMaid,
            "ISO14443" => Self::Iso14443,
            "ISO15693" => Self::Iso15693,
            "KeyCode" => Self::KeyCode,
            "Local" => Self::Local,
            "MacAddress" => Self::MacAddress,
            "NoAuthorization" => Self::NoAuthorization,
            "DirectPayment" => Self::DirectPayment,
            "EVCCID" => Self::Evccid,
            "VIN" => Self::Vin,
            "" => {
                return Err(InvalidId::Empty {
                    what: "id token type",
                });
            }
            other if other.chars().count() > Self::MAX_LEN => {
                return Err(InvalidId::TooLong {
                    what: "id token type",
                    max: Self::MAX_LEN,
                });
            }
            other => Self::Other(other.to_owned()),
        })
    }
}

impl TryFrom<String> for IdTokenKind {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IdTokenKind> for String {
    fn from(kind: IdTokenKind) -> Self {
        kind.as_str().to_owned()
    }
}

impl fmt::Display for IdTokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An id token as a charger presents it: a value of at most 255 characters (2.1's limit;
/// 2.0.1 allows 36 and 1.6 20, which their schemas enforce before we get here) and its kind.
///
/// OCPP says id tokens are case insensitive, so a token is *identified* by
/// [`IdToken::key`], its value in ASCII lower case; the kind is kept for display and for
/// answers but is not part of the identity (a 1.6 charger cannot state it, and the same RFID
/// card read by a 1.6 and a 2.x charger must be the same token). The value may be empty:
/// 2.x uses an empty value with kind `NoAuthorization`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdToken {
    value: String,
    kind: IdTokenKind,
}

impl IdToken {
    pub const MAX_LEN: usize = 255;

    pub fn new(value: impl Into<String>, kind: IdTokenKind) -> Result<Self, InvalidId> {
        let value = value.into();
        if value.chars().count() > Self::MAX_LEN {
            return Err(InvalidId::TooLong {
                what: "id token",
                max: Self::MAX_LEN,
            });
        }
        Ok(Self { value, kind })
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn kind(&self) -> &IdTokenKind {
        &self.kind
    }

    /// The case-insensitive identity of the token.
    pub fn key(&self) -> String {
        token_key(&self.value)
    }
}

/// The case-insensitive identity of an id token value (see [`IdToken`]).
pub fn token_key(value: &str) -> String {
    value.to_ascii_lowercase()
}

/// An EVSE number on a charger. `0` stands for the charger as a whole (OCPP 1.6 reports its
/// own status on connector 0; 2.x uses EVSE 0 for the station).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EvseId(u32);

/// A connector number within an EVSE; `0` for the station itself, or when a charger named
/// an EVSE but not a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnectorId(u32);

/// Largest EVSE or connector number we accept: it must fit the `integer` of every OCPP
/// version and the signed 64-bit columns of the store.
const MAX_NUMBER: u32 = i32::MAX as u32;

impl EvseId {
    pub const STATION: Self = Self(0);
    pub fn new(n: u32) -> Result<Self, InvalidId> {
        if n > MAX_NUMBER {
            return Err(InvalidId::OutOfRange { what: "EVSE id" });
        }
        Ok(Self(n))
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

impl ConnectorId {
    pub fn new(n: u32) -> Result<Self, InvalidId> {
        if n > MAX_NUMBER {
            return Err(InvalidId::OutOfRange {
                what: "connector id",
            });
        }
        Ok(Self(n))
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A place on a charger: an EVSE and one of its connectors.
///
/// Version mapping (done by the adapters, written here because the model depends on it):
/// a 1.6 connector `N > 0` is EVSE `N` with connector `1` ([`ConnectorRef::single_connector_evse`]);
/// 1.6 connector `0` is the charger itself ([`ConnectorRef::STATION`]). 2.x gives EVSE and
/// connector directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnectorRef {
    pub evse: EvseId,
    pub connector: ConnectorId,
}

impl ConnectorRef {
    pub const STATION: Self = Self {
        evse: EvseId(0),
        connector: ConnectorId(0),
    };

    pub fn new(evse: EvseId, connector: ConnectorId) -> Self {
        Self { evse, connector }
    }

    /// The place of a charger whose EVSEs each have one connector numbered like the EVSE
    /// (OCPP 1.6's connector `n`); `0` is the charger itself.
    pub fn single_connector_evse(n: u32) -> Result<Self, InvalidId> {
        let evse = EvseId::new(n)?;
        let connector = ConnectorId::new(if n == 0 { 0 } else { 1 })?;
        Ok(Self { evse, connector })
    }

    pub fn is_station(self) -> bool {
        self.evse.0 == 0
    }
}

/// A transaction's identity on its charger. OCPP 2.x chargers choose it (a string of at most
/// 36 characters). For 1.6 the CSMS chooses it: the store gives every transaction a serial
/// number ([`crate::Transaction::serial`], a positive `i32`), and a CSMS-assigned id is that
/// number in decimal, so a 1.6 adapter sends `serial` and looks a 1.6 id up by its decimal
/// text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TransactionId(String);

impl TransactionId {
    pub const MAX_LEN: usize = 36;

    pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
        let value = value.into();
        if value.is_empty() {
            return Err(InvalidId::Empty {
                what: "transaction id",
            });
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(InvalidId::TooLong {
                what: "transaction id",
                max: Self::MAX_LEN,
            });
        }
        Ok(Self(value))
    }

    /// The id of a CSMS-numbered transaction (1.6 `transactionId`).
    pub fn from_number(n: i64) -> Self {
        Self(n.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number, when this id is one (a CSMS-assigned 1.6 id is).
    pub fn as_number(&self) -> Option<i32> {
        self.0.parse().ok()
    }
}

impl TryFrom<String> for TransactionId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<TransactionId> for String {
    fn from(id: TransactionId) -> Self {
        id.0
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransactionId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_token_identity_ignores_case_and_kind() {
        let a = IdToken::new("04A2B3C4", IdTokenKind::Iso14443).unwrap();
        let b = IdToken::new("04a2b3c4", IdTokenKind::Local).unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.value(), "04A2B3C4", "the value is kept as presented");
        assert!(IdToken::new("x".repeat(256), IdTokenKind::Local).is_err());
        assert!(IdToken::new("", IdTokenKind::NoAuthorization).is_ok());
    }

    #[test]
    fn id_token_kind_spellings_round_trip() {
        for s in [
            "Central",
            "eMAID",
            "ISO14443",
            "ISO15693",
            "KeyCode",
            "Local",
            "MacAddress",
            "NoAuthorization",
            "DirectPayment",
            "EVCCID",
            "VIN",
            "SomethingNew",
        ] {
            assert_eq!(IdTokenKind::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(IdTokenKind::parse("eMAID").unwrap(), IdTokenKind::EMaid);
        assert!(matches!(
            IdTokenKind::parse("SomethingNew").unwrap(),
            IdTokenKind::Other(_)
        ));
        assert!(IdTokenKind::parse("").is_err());
        assert!(IdTokenKind::parse(&"x".repeat(21)).is_err());
    }

    #[test]
    fn single_connector_evse_maps_zero_to_the_station() {
        assert_eq!(
            ConnectorRef::single_connector_evse(0).unwrap(),
            ConnectorRef::STATION
        );
        let two = ConnectorRef::single_connector_evse(2).unwrap();
        assert_eq!((two.evse.get(), two.connector.get()), (2, 1));
        assert!(!two.is_station());
        assert!(EvseId::new(u32::MAX).is_err());
    }

    #[test]
    fn transaction_ids_are_bounded_and_numbers_round_trip() {
        assert!(TransactionId::new("").is_err());
        assert!(TransactionId::new("x".repeat(37)).is_err());
        assert!(TransactionId::new("x".repeat(36)).is_ok());
        assert_eq!(TransactionId::from_number(42).as_number(), Some(42));
        assert_eq!(TransactionId::new("abc").unwrap().as_number(), None);
    }

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
