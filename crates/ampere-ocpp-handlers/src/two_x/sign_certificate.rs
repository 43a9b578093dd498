//! SignCertificate (2.0.1 and 2.1): Ampere has no certificate authority yet, so it cannot sign the
//! station's CSR and says so (`Rejected`) instead of accepting a request it would never
//! complete. The CSR is kept as a report; the security issue adds signing.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{GenericStatus, SignCertificateRequest, SignCertificateResponse};

            use crate::context::Ctx;
            use crate::two_x::map::$v as map;

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

    async fn is_rejected_and_the_csr_kept(version: OcppVersion) {
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

    two_x_tests!(is_rejected_and_the_csr_kept);
}
