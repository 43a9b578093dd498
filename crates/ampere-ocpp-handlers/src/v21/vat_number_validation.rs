//! VatNumberValidation (2.1): Ampere cannot validate VAT numbers yet, so the number is not
//! confirmed (`Rejected`, with the reason) rather than accepted unchecked. The answer
//! echoes the number and EVSE as the schema requires; the request is kept as a report.

use ampere_ocpp::CallError;
use ampere_ocpp::v21::{GenericStatus, VatNumberValidationRequest, VatNumberValidationResponse};

use crate::context::Ctx;
use crate::two_x::map::v21 as map;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: VatNumberValidationRequest,
) -> Result<VatNumberValidationResponse, CallError> {
    ctx.record_report().await?;
    Ok(VatNumberValidationResponse {
        company: None,
        status_info: Some(map::unsupported("VAT number validation is not available")),
        vat_number: request.vat_number,
        evse_id: request.evse_id,
        status: GenericStatus::Rejected,
        custom_data: None,
    })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn is_not_confirmed_and_kept() {
        assert_kept(
            OcppVersion::V21,
            "VatNumberValidation",
            json!({"vatNumber": "NL123456789B01", "evseId": 1}),
            json!({
                "statusInfo": {
                    "reasonCode": "UnsupportedRequest",
                    "additionalInfo": "VAT number validation is not available"
                },
                "vatNumber": "NL123456789B01",
                "evseId": 1,
                "status": "Rejected"
            }),
        )
        .await;
    }
}
