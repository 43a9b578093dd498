//! OCPP 1.6 wire types ↔ domain types, shared by the 1.6 handlers.

use ampere_domain::{
    AuthorizationInfo, AuthorizationStatus, IdToken, IdTokenKind, MeterValue, SampledValue,
};
use ampere_ocpp::CallError;
use ampere_ocpp::v16::{IdTagInfo, IdTagInfoStatus, MeterValue as WireMeterValue, TransactionData};

use crate::error::invalid_id;
use crate::wire::{fitting, wire_opt};

/// Longest `parentIdTag` 1.6 allows.
const ID_TAG_MAX: usize = 20;

/// A 1.6 `idTag`. It has no type; the domain's convention is ISO 14443 (an RFID UID), which
/// does not matter for identity (tokens are identified by their value).
pub(crate) fn id_token(id_tag: &str) -> Result<IdToken, CallError> {
    IdToken::new(id_tag, IdTokenKind::Iso14443).map_err(invalid_id)
}

/// The domain's authorization as a 1.6 `idTagInfo`; the group becomes `parentIdTag`.
pub(crate) fn id_tag_info(info: AuthorizationInfo) -> IdTagInfo {
    IdTagInfo {
        expiry_date: info.expiry_date,
        parent_id_tag: fitting(info.group_id, ID_TAG_MAX, "parentIdTag"),
        status: match info.status {
            AuthorizationStatus::Accepted => IdTagInfoStatus::Accepted,
            AuthorizationStatus::Blocked => IdTagInfoStatus::Blocked,
            AuthorizationStatus::Expired => IdTagInfoStatus::Expired,
            AuthorizationStatus::Invalid => IdTagInfoStatus::Invalid,
        },
    }
}

/// Builds a domain sampled value from either generated 1.6 sampled-value type (MeterValues'
/// and StopTransaction's `transactionData` are the same schema fragment under two names).
/// Every field is kept as sent; the value is text in 1.6 and stays the exact text.
macro_rules! sampled_value {
    ($s:expr) => {
        SampledValue {
            value: $s.value.clone(),
            measurand: wire_opt($s.measurand.as_ref()),
            phase: wire_opt($s.phase.as_ref()),
            unit: wire_opt($s.unit.as_ref()),
            unit_multiplier: None,
            context: wire_opt($s.context.as_ref()),
            location: wire_opt($s.location.as_ref()),
            format: wire_opt($s.format.as_ref()),
            signed: None,
        }
    };
}

/// MeterValues' `meterValue`.
pub(crate) fn meter_values(values: &[WireMeterValue]) -> Vec<MeterValue> {
    values
        .iter()
        .map(|mv| MeterValue {
            timestamp: mv.timestamp,
            sampled: mv.sampled_value.iter().map(|s| sampled_value!(s)).collect(),
        })
        .collect()
}

/// StopTransaction's `transactionData`.
pub(crate) fn transaction_data(values: &[TransactionData]) -> Vec<MeterValue> {
    values
        .iter()
        .map(|mv| MeterValue {
            timestamp: mv.timestamp,
            sampled: mv.sampled_value.iter().map(|s| sampled_value!(s)).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sampled_values_keep_every_field_as_sent() {
        let wire: Vec<WireMeterValue> = serde_json::from_value(json!([{
            "timestamp": "2026-01-01T10:00:00Z",
            "sampledValue": [
                {"value": "0012.50", "context": "Sample.Periodic", "format": "Raw",
                 "measurand": "Current.Import", "phase": "L1-N", "location": "Outlet", "unit": "A"},
                {"value": "AB01CD", "format": "SignedData"}
            ]
        }]))
        .expect("1.6 meter values");
        let values = meter_values(&wire);
        let s = &values[0].sampled[0];
        assert_eq!(s.value, "0012.50", "1.6 values are text, kept exactly");
        assert_eq!(s.context.as_deref(), Some("Sample.Periodic"));
        assert_eq!(s.format.as_deref(), Some("Raw"));
        assert_eq!(s.measurand.as_deref(), Some("Current.Import"));
        assert_eq!(s.phase.as_deref(), Some("L1-N"));
        assert_eq!(s.location.as_deref(), Some("Outlet"));
        assert_eq!(s.unit.as_deref(), Some("A"));
        let signed = &values[0].sampled[1];
        assert_eq!(signed.value, "AB01CD");
        assert_eq!(signed.format.as_deref(), Some("SignedData"));
        assert_eq!(signed.measurand, None, "absent stays absent");
    }

    #[test]
    fn long_groups_are_left_out_of_id_tag_info() {
        let info = AuthorizationInfo {
            status: AuthorizationStatus::Accepted,
            expiry_date: None,
            group_id: Some("A-GROUP-NAME-LONGER-THAN-20".into()),
        };
        assert_eq!(id_tag_info(info).parent_id_tag, None);
    }
}
