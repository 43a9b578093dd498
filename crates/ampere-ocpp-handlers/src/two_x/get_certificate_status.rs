//! GetCertificateStatus (2.0.1 and 2.1): Ampere does not query OCSP responders yet, so it cannot
//! tell a certificate's revocation status: `Failed`, never a made-up `Accepted`. The
//! request is kept as a report.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{
                GetCertificateStatus, GetCertificateStatusRequest, GetCertificateStatusResponse,
            };

            use crate::context::Ctx;
            use crate::two_x::map::$v as map;

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

    async fn fails_honestly_and_keeps_the_request(version: OcppVersion) {
        assert_kept(
            version,
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

    two_x_tests!(fails_honestly_and_keeps_the_request);
}
