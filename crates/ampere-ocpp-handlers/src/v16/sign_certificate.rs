//! SignCertificate (1.6 security whitepaper): the charge point asks for its client
//! certificate. The CSR is kept as a report, checked by the domain (subject = identity, key
//! type and size) and, when accepted, queued for signing; the certificate follows in a
//! CertificateSigned call once this answer has gone out. Without a CA the answer is
//! `Rejected`.

use ampere_domain::certificates::{CertificateUse, SignDecision};
use ampere_ocpp::CallError;
use ampere_ocpp::v16::{GenericStatus, SignCertificateRequest, SignCertificateResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: SignCertificateRequest,
) -> Result<SignCertificateResponse, CallError> {
    ctx.record_report().await?;
    // No await after the decision: the queued job must not overtake this answer.
    let decision = ctx.services.certificates.request_signature(
        ctx.charger_id(),
        &request.csr,
        CertificateUse::ChargingStation,
    );
    let status = match decision {
        SignDecision::Accepted => GenericStatus::Accepted,
        SignDecision::Rejected(reason) => {
            tracing::info!(%reason, "certificate signing request rejected");
            GenericStatus::Rejected
        }
    };
    Ok(SignCertificateResponse { status })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn without_a_ca_is_rejected_and_the_csr_kept() {
        assert_kept(
            OcppVersion::V16,
            "SignCertificate",
            json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"}),
            json!({"status": "Rejected"}),
        )
        .await;
    }
}
