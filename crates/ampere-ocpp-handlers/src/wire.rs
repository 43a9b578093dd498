//! Small conversions every version needs.

use ampere_domain::{ConnectorId, ConnectorRef, EvseId, InvalidId};
use ampere_ocpp::CallError;
use serde::Serialize;

use crate::error::{internal, invalid_id};

/// The wire spelling of a generated enum value (or of any value that serialises to a JSON
/// string), e.g. `Measurand::EnergyActiveImportRegister` → `"Energy.Active.Import.Register"`.
///
/// The domain keeps open OCPP vocabularies (measurands, trigger and stop reasons...) as the
/// text the charger sent, so this is how a typed value goes back to that text. Serde writes
/// exactly the schema's spelling, so nothing is lost or renamed.
pub(crate) fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        // Only called on enums and strings; anything else is a bug, kept visible.
        other => {
            tracing::error!(?other, "wire() called on a value that is not a string");
            String::new()
        }
    }
}

/// [`wire`] of an optional value.
pub(crate) fn wire_opt<T: Serialize>(value: Option<&T>) -> Option<String> {
    value.map(wire)
}

/// A wire spelling parsed into a domain enum, e.g. a connector status. The schemas and the
/// domain list the same values; a mismatch is a bug (answered `InternalError`).
pub(crate) fn to_domain<T: Serialize, D: std::str::FromStr>(value: &T) -> Result<D, CallError> {
    let text = wire(value);
    text.parse()
        .map_err(|_| internal(&format!("no domain value for {text:?}")))
}

/// An OCPP integer as an EVSE or connector number (at least 0).
fn number(value: i64, what: &'static str) -> Result<u32, CallError> {
    u32::try_from(value).map_err(|_| invalid_id(InvalidId::OutOfRange { what }))
}

/// A 2.x place: EVSE and connector as given; a connector left out is `0` ("this EVSE").
pub(crate) fn place(evse: i64, connector: Option<i64>) -> Result<ConnectorRef, CallError> {
    let evse = EvseId::new(number(evse, "EVSE id")?).map_err(invalid_id)?;
    let connector =
        ConnectorId::new(number(connector.unwrap_or(0), "connector id")?).map_err(invalid_id)?;
    Ok(ConnectorRef::new(evse, connector))
}

/// A 1.6 `connectorId`: connector `n > 0` is EVSE `n` with connector 1, `0` the charger
/// itself (see [`ConnectorRef::single_connector_evse`]).
pub(crate) fn place_16(connector_id: i64) -> Result<ConnectorRef, CallError> {
    ConnectorRef::single_connector_evse(number(connector_id, "connector id")?).map_err(invalid_id)
}

/// A heartbeat or retry interval in whole seconds, as every version's `interval` wants it.
pub(crate) fn seconds(interval: std::time::Duration) -> i64 {
    i64::try_from(interval.as_secs()).unwrap_or(i64::MAX)
}

/// An optional text the answer can carry only up to `max` characters (e.g. a group id in a
/// 1.6 `parentIdTag`, at most 20). Left out, with a warning, when longer: a cut-off id would
/// name a different group.
pub(crate) fn fitting(text: Option<String>, max: usize, what: &str) -> Option<String> {
    match text {
        Some(t) if t.chars().count() > max => {
            tracing::warn!(what, value = %t, max, "too long for this OCPP version; left out of the answer");
            None
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use ampere_domain::ConnectorStatus;
    use ampere_ocpp::{ErrorCode, v16, v201};

    use super::*;

    #[test]
    fn wire_gives_the_schema_spelling() {
        assert_eq!(
            wire(&v201::Measurand::EnergyActiveImportRegister),
            "Energy.Active.Import.Register"
        );
        assert_eq!(wire(&v16::Phase::L1N), "L1-N");
        assert_eq!(wire(&"free text".to_owned()), "free text");
        let status: ConnectorStatus =
            to_domain(&v16::StatusNotificationStatus::SuspendedEVSE).expect("status");
        assert_eq!(status, ConnectorStatus::SuspendedEVSE);
    }

    #[test]
    fn places_follow_the_version_rules() {
        assert_eq!(place_16(0).expect("station"), ConnectorRef::STATION);
        let p = place_16(3).expect("connector 3");
        assert_eq!((p.evse.get(), p.connector.get()), (3, 1));
        let p = place(2, None).expect("evse 2");
        assert_eq!((p.evse.get(), p.connector.get()), (2, 0));
        assert_eq!(
            place_16(-1).expect_err("negative").code,
            ErrorCode::PropertyConstraintViolation
        );
        assert!(place(i64::from(u32::MAX), Some(1)).is_err());
    }

    #[test]
    fn over_long_texts_are_left_out() {
        assert_eq!(fitting(Some("G".repeat(20)), 20, "g"), Some("G".repeat(20)));
        assert_eq!(fitting(Some("G".repeat(21)), 20, "g"), None);
        assert_eq!(fitting(None, 20, "g"), None);
    }
}
