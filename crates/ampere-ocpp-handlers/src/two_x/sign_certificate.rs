//! SignCertificate (2.0.1): Ampere has no certificate authority yet, so it cannot sign the
//! station's CSR and says so (`Rejected`) instead of accepting a request it would never
//! complete. The CSR is kept as a report; the security issue adds signing.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{GenericStatus, SignCertificateRequest, SignCertificateResponse};

use crate::context::Ctx;
use crate::two_x::v201 as map;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: SignCertificateRequest,
) -> Result<SignCertificateResponse, CallError> {
    ctx.record_report().await?;
    Ok(SignCertificateResponse {
        custom_data: None,
        status: GenericStatus::Rejected,
        status_info: Some(map::unsupported("no certificate authority configured")),
    })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn is_rejected_and_the_csr_kept() {
        assert_kept(
            OcppVersion::V201,
            "SignCertificate",
            json!({
                "csr": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----",
                "certificateType": "ChargingStationCertificate"
            }),
            json!({
                "status": "Rejected",
                "statusInfo": {
                    "reasonCode": "UnsupportedRequest",
                    "additionalInfo": "no certificate authority configured"
                }
            }),
        )
        .await;
    }
}
