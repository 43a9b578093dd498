//! DataTransfer (1.6): Ampere knows no vendor extensions, so every vendor is unknown
//! (`UnknownVendorId`, as the spec says for a vendor the CSMS does not know). The request
//! is kept as a report, so what chargers send this way is visible and can be supported
//! later.

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{DataTransferRequest, DataTransferResponse, DataTransferStatus};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: DataTransferRequest,
) -> Result<DataTransferResponse, CallError> {
    ctx.record_report().await?;
    tracing::info!(vendor_id = %request.vendor_id, message_id = ?request.message_id, "DataTransfer of an unknown vendor");
    Ok(DataTransferResponse {
        status: DataTransferStatus::UnknownVendorId,
        data: None,
    })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn answers_unknown_vendor_and_keeps_the_request() {
        assert_kept(
            OcppVersion::V16,
            "DataTransfer",
            json!({"vendorId": "com.acme", "messageId": "Temp", "data": "{\"t\":41}"}),
            json!({"status": "UnknownVendorId"}),
        )
        .await;
    }
}
