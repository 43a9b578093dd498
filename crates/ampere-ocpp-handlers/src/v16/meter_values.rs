//! MeterValues (1.6): every sampled value stored with its measurand, phase, unit, context,
//! location and format, the value as its exact text; linked to the transaction it names.

use ampere_domain::{MeterValuesReport, TransactionId};
use ampere_ocpp::CallError;
use ampere_ocpp::v16::{MeterValuesRequest, MeterValuesResponse};

use super::map;
use crate::context::Ctx;
use crate::error::domain_error;
use crate::wire::place_16;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: MeterValuesRequest,
) -> Result<MeterValuesResponse, CallError> {
    let report = MeterValuesReport {
        charger: ctx.charger_id().clone(),
        place: Some(place_16(request.connector_id)?),
        // A 1.6 transaction id is the number the CSMS gave at StartTransaction.
        transaction_id: request.transaction_id.map(TransactionId::from_number),
        values: map::meter_values(&request.meter_value),
    };
    ctx.services
        .meter
        .record(&report)
        .await
        .map_err(domain_error)?;
    Ok(MeterValuesResponse {})
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::{Harness, at, charger_id};

    #[tokio::test]
    async fn stores_every_sampled_value_on_its_transaction() {
        let h = Harness::new().await;
        let started = h
            .ok(
                OcppVersion::V16,
                "StartTransaction",
                json!({"connectorId": 1, "idTag": "T1", "meterStart": 1000, "timestamp": "2026-01-01T10:00:00Z"}),
            )
            .await;
        let transaction_id = started["transactionId"].as_i64().expect("id");
        let answer = h
            .ok(
                OcppVersion::V16,
                "MeterValues",
                json!({
                    "connectorId": 1, "transactionId": transaction_id,
                    "meterValue": [{"timestamp": "2026-01-01T10:30:00Z", "sampledValue": [
                        {"value": "2.500", "measurand": "Energy.Active.Import.Register", "unit": "kWh", "context": "Sample.Periodic", "location": "Outlet"},
                        {"value": "16.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                        {"value": "0102AB", "format": "SignedData", "context": "Sample.Clock"}
                    ]}]
                }),
            )
            .await;
        assert_eq!(answer, json!({}));

        let stored = h
            .services
            .meter
            .of_charger(&charger_id(), 10)
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        let mv = &stored[0];
        assert_eq!(mv.transaction_serial, Some(transaction_id));
        assert_eq!(mv.value.timestamp, at("2026-01-01T10:30:00Z"));
        let values: Vec<_> = mv.value.sampled.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(values, ["2.500", "16.0", "0102AB"], "exact text");
        assert_eq!(mv.value.sampled[1].phase.as_deref(), Some("L1"));
        assert_eq!(mv.value.sampled[2].format.as_deref(), Some("SignedData"));

        let t = h
            .services
            .transactions
            .by_serial(transaction_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            t.last_meter_wh,
            Some(2500.into()),
            "the register reading reached the transaction"
        );
    }

    #[tokio::test]
    async fn values_of_an_unknown_transaction_are_still_stored() {
        let h = Harness::new().await;
        h.ok(
            OcppVersion::V16,
            "MeterValues",
            json!({"connectorId": 0, "transactionId": 999, "meterValue": [
                {"timestamp": "2026-01-01T10:30:00Z", "sampledValue": [{"value": "1"}]}
            ]}),
        )
        .await;
        let stored = h
            .services
            .meter
            .of_charger(&charger_id(), 10)
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].transaction_serial, None);
        assert_eq!(
            stored[0].transaction_id.as_ref().map(|t| t.as_str()),
            Some("999")
        );
    }
}
