//! GetCertificateChainStatus (2.1): Ampere does not query OCSP responders or CRLs yet, so
//! for every certificate asked about the status is `Failed` ("could not be retrieved"),
//! never a made-up `Good`. The request is kept as a report.

use ampere_ocpp::CallError;
use ampere_ocpp::v21::{
    CertificateStatus, CertificateStatusEnum, GetCertificateChainStatusRequest,
    GetCertificateChainStatusResponse,
};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: GetCertificateChainStatusRequest,
) -> Result<GetCertificateChainStatusResponse, CallError> {
    ctx.record_report().await?;
    let now = ctx.now();
    Ok(GetCertificateChainStatusResponse {
        certificate_status: request
            .certificate_status_requests
            .into_iter()
            .map(|asked| CertificateStatus {
                certificate_hash_data: asked.certificate_hash_data,
                source: asked.source,
                status: CertificateStatusEnum::Failed,
                // Nothing will be known later either; "now" tells the station not to cache
                // the answer.
                next_update: now,
                custom_data: None,
            })
            .collect(),
        custom_data: None,
    })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{NOW, assert_kept};

    #[tokio::test]
    async fn every_certificate_fails_honestly() {
        let hash = json!({"hashAlgorithm": "SHA256", "issuerNameHash": "a1", "issuerKeyHash": "b2", "serialNumber": "03"});
        assert_kept(
            OcppVersion::V21,
            "GetCertificateChainStatus",
            json!({"certificateStatusRequests": [
                {"certificateHashData": hash, "source": "OCSP", "urls": ["http://ocsp.example.com"]}
            ]}),
            json!({"certificateStatus": [
                {"certificateHashData": hash, "source": "OCSP", "status": "Failed", "nextUpdate": NOW}
            ]}),
        )
        .await;
    }
}
