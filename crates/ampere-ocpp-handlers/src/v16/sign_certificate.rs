//! SignCertificate (1.6 security whitepaper): Ampere has no certificate authority yet, so
//! it cannot sign the charger's CSR and says so (`Rejected`) instead of accepting a request
//! it would never complete. The CSR is kept as a report; the security issue adds signing.

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{GenericStatus, SignCertificateRequest, SignCertificateResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: SignCertificateRequest,
) -> Result<SignCertificateResponse, CallError> {
    ctx.record_report().await?;
    Ok(SignCertificateResponse {
        status: GenericStatus::Rejected,
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
            OcppVersion::V16,
            "SignCertificate",
            json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"}),
            json!({"status": "Rejected"}),
        )
        .await;
    }
}
