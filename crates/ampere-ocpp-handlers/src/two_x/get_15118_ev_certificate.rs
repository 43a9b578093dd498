//! Get15118EVCertificate (2.0.1): installing or updating an ISO 15118 contract certificate
//! needs a contract-certificate pool Ampere does not have, so the answer is `Failed` (with
//! an empty `exiResponse`, the field being required) rather than a fake success. The
//! request is kept as a report.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{
    Get15118EVCertificateRequest, Get15118EVCertificateResponse, Iso15118EVCertificateStatus,
};

use crate::context::Ctx;
use crate::two_x::v201 as map;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: Get15118EVCertificateRequest,
) -> Result<Get15118EVCertificateResponse, CallError> {
    ctx.record_report().await?;
    Ok(Get15118EVCertificateResponse {
        custom_data: None,
        status: Iso15118EVCertificateStatus::Failed,
        status_info: Some(map::unsupported(
            "no ISO 15118 certificate service configured",
        )),
        exi_response: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn fails_honestly_and_keeps_the_request() {
        assert_kept(
            OcppVersion::V201,
            "Get15118EVCertificate",
            json!({"iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef", "action": "Install", "exiRequest": "gAEC"}),
            json!({
                "status": "Failed",
                "statusInfo": {
                    "reasonCode": "UnsupportedRequest",
                    "additionalInfo": "no ISO 15118 certificate service configured"
                },
                "exiResponse": ""
            }),
        )
        .await;
    }
}
