//! PublishFirmwareStatusNotification (2.0.1): kept as a report for the firmware-management
//! feature (local firmware publishing).

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{
    PublishFirmwareStatusNotificationRequest, PublishFirmwareStatusNotificationResponse,
};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: PublishFirmwareStatusNotificationRequest,
) -> Result<PublishFirmwareStatusNotificationResponse, CallError> {
    ctx.record_report().await?;
    Ok(PublishFirmwareStatusNotificationResponse { custom_data: None })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn is_kept_and_acknowledged() {
        assert_kept(
            OcppVersion::V201,
            "PublishFirmwareStatusNotification",
            json!({"status": "Published", "location": ["https://cs.local/fw.bin"], "requestId": 2}),
            json!({}),
        )
        .await;
    }
}
