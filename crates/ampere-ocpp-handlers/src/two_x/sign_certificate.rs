//! SignCertificate (2.0.1 and 2.1): the station asks for a certificate. The CSR is kept as a
//! report, checked by the domain (subject = identity, key type and size) and, when accepted,
//! queued for signing; CertificateSigned follows once this answer has gone out. A refusal
//! says why in `statusInfo`: `UnsupportedRequest` when Ampere cannot sign this kind (no CA,
//! or a V2G certificate), `InvalidCSR` when the request itself fails the checks.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_domain::certificates::{CertificateUse, SignDecision};
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{
                CertificateSigningUse, GenericStatus, SignCertificateRequest,
                SignCertificateResponse, StatusInfo,
            };

            use crate::context::Ctx;
            use crate::two_x::map::$v as map;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                request: SignCertificateRequest,
            ) -> Result<SignCertificateResponse, CallError> {
                ctx.record_report().await?;
                let certificate_use = match request.certificate_type {
                    // Absent means the station's own certificate (2.0.1 A02).
                    Some(CertificateSigningUse::ChargingStationCertificate) | None => {
                        CertificateUse::ChargingStation
                    }
                    // V2GCertificate, and 2.1's V2G20Certificate.
                    Some(_) => CertificateUse::V2g,
                };
                let certificates = &ctx.services.certificates;
                // No await after the decision: the queued job must not overtake this answer.
                let decision =
                    certificates.request_signature(ctx.charger_id(), &request.csr, certificate_use);
                let (status, status_info) = match decision {
                    SignDecision::Accepted => (GenericStatus::Accepted, None),
                    SignDecision::Rejected(reason) => {
                        tracing::info!(%reason, "certificate signing request rejected");
                        // additionalInfo holds at most 512 characters.
                        let reason: String = reason.chars().take(512).collect();
                        let info = if certificates.can_sign()
                            && certificate_use == CertificateUse::ChargingStation
                        {
                            StatusInfo {
                                reason_code: "InvalidCSR".to_owned(),
                                additional_info: Some(reason),
                                custom_data: None,
                            }
                        } else {
                            map::unsupported(&reason)
                        };
                        (GenericStatus::Rejected, Some(info))
                    }
                };
                Ok(SignCertificateResponse {
                    custom_data: None,
                    status,
                    status_info,
                })
            }
        }
    };
}

handler!(v201);
handler!(v21);

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{assert_kept, two_x_tests};

    async fn without_a_ca_is_rejected_and_the_csr_kept(version: OcppVersion) {
        assert_kept(
            version,
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

    two_x_tests!(without_a_ca_is_rejected_and_the_csr_kept);
}
