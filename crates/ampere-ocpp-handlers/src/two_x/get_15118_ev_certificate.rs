//! Get15118EVCertificate (2.0.1 and 2.1): installing or updating an ISO 15118 contract certificate
//! needs a contract-certificate pool Ampere does not have, so the answer is `Failed` (with
//! an empty `exiResponse`, the field being required) rather than a fake success. The
//! request is kept as a report.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types. The `field: value` pairs fill the answer's fields only that version has.
macro_rules! handler {
    ($v:ident $(, $field:ident: $value:expr)* $(,)?) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{
                Get15118EVCertificateRequest, Get15118EVCertificateResponse,
                Iso15118EVCertificateStatus,
            };

            use crate::context::Ctx;
            use crate::two_x::map::$v as map;

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
                    $($field: $value,)*
                })
            }
        }
    };
}

handler!(v201);
// 2.1 can say how many more contracts the EV may fetch; a `Failed` answer gives none.
handler!(v21, remaining_contracts: None);

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{assert_kept, two_x_tests};

    async fn fails_honestly_and_keeps_the_request(version: OcppVersion) {
        assert_kept(
            version,
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

    two_x_tests!(fails_honestly_and_keeps_the_request);
}
