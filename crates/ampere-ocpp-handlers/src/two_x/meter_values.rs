//! MeterValues (2.0.1 and 2.1): every sampled value stored with its measurand, phase, unit,
//! context, location and signed data. 2.x MeterValues name no transaction (those travel in
//! TransactionEvent); `evseId` 0 is the station's main meter.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_domain::MeterValuesReport;
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{MeterValuesRequest, MeterValuesResponse};

            use crate::context::Ctx;
            use crate::error::domain_error;
            use crate::two_x::map::$v as map;
            use crate::wire::place;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                request: MeterValuesRequest,
            ) -> Result<MeterValuesResponse, CallError> {
                let report = MeterValuesReport {
                    charger: ctx.charger_id().clone(),
                    place: Some(place(request.evse_id, None)?),
                    transaction_id: None,
                    values: map::meter_values(&request.meter_value)?,
                };
                ctx.services
                    .meter
                    .record(&report)
                    .await
                    .map_err(domain_error)?;
                Ok(MeterValuesResponse { custom_data: None })
            }
        }
    };
}

handler!(v201);
handler!(v21);

#[cfg(test)]
mod tests {
    use ampere_domain::ConnectorRef;
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::{Harness, charger_id, two_x_tests};

    async fn stores_every_sampled_value(version: OcppVersion) {
        let h = Harness::new().await;
        let answer = h
            .ok(
                version,
                "MeterValues",
                json!({"evseId": 0, "meterValue": [{"timestamp": "2026-01-01T11:00:00Z", "sampledValue": [
                    {"value": 123456.7, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}, "location": "Inlet"},
                    {"value": 230, "measurand": "Voltage", "phase": "L1-N", "context": "Sample.Clock",
                     "signedMeterValue": {"signedMeterData": "T0NNRg==", "signingMethod": "", "encodingMethod": "OCMF", "publicKey": ""}}
                ]}]}),
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
        assert_eq!(stored[0].place, Some(ConnectorRef::STATION));
        let s = &stored[0].value.sampled;
        assert_eq!(s[0].value, "123456.7");
        assert_eq!(s[0].unit.as_deref(), Some("kWh"));
        assert_eq!(s[0].location.as_deref(), Some("Inlet"));
        assert_eq!(s[1].value, "230");
        assert_eq!(s[1].phase.as_deref(), Some("L1-N"));
        let signed = s[1].signed.as_ref().expect("signed value kept");
        assert_eq!(signed.signed_meter_data, "T0NNRg==");
        assert_eq!(signed.encoding_method.as_deref(), Some("OCMF"));
    }

    two_x_tests!(stores_every_sampled_value);
}
