//! GetCertificateStatus (2.0.1): Ampere does not query OCSP responders yet, so it cannot
//! tell a certificate's revocation status: `Failed`, never a made-up `Accepted`. The
//! request is kept as a report.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{
    GetCertificateStatus, GetCertificateStatusRequest, GetCertificateStatusResponse,
};

use crate::context::Ctx;
use crate::two_x::v201 as map;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: GetCertificateStatusRequest,
) -> Result<GetCertificateStatusResponse, CallError> {
    ctx.record_report().await?;
    Ok(GetCertificateStatusResponse {
        custom_data: None,
        status: GetCertificateStatus::Failed,
        status_info: Some(map::unsupported("OCSP lookups are not available")),
        ocsp_result: None,
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
            "GetCertificateStatus",
            json!({
                "ocspRequestData": {
                    "hashAlgorithm": "SHA256",
                    "issuerNameHash": "a1",
                    "issuerKeyHash": "b2",
                    "serialNumber": "03",
                    "responderURL": "http://ocsp.example.com"
                }
            }),
            json!({
                "status": "Failed",
                "statusInfo": {
                    "reasonCode": "UnsupportedRequest",
                    "additionalInfo": "OCSP lookups are not available"
                }
            }),
        )
        .await;
    }
}
