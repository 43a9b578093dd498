//! DataTransfer (2.0.1 and 2.1): Ampere knows no vendor extensions, so every vendor is unknown
//! (`UnknownVendorId`). The request is kept as a report, so what stations send this way is
//! visible and can be supported later.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{DataTransferRequest, DataTransferResponse, DataTransferStatus};

            use crate::context::Ctx;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                request: DataTransferRequest,
            ) -> Result<DataTransferResponse, CallError> {
                ctx.record_report().await?;
                tracing::info!(vendor_id = %request.vendor_id, message_id = ?request.message_id, "DataTransfer of an unknown vendor");
                Ok(DataTransferResponse {
                    custom_data: None,
                    status: DataTransferStatus::UnknownVendorId,
                    status_info: None,
                    data: None,
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

    async fn answers_unknown_vendor_and_keeps_the_request(version: OcppVersion) {
        assert_kept(
            version,
            "DataTransfer",
            json!({"vendorId": "com.acme", "messageId": "Temp", "data": {"t": 41, "unit": "C"}}),
            json!({"status": "UnknownVendorId"}),
        )
        .await;
    }

    two_x_tests!(answers_unknown_vendor_and_keeps_the_request);
}
