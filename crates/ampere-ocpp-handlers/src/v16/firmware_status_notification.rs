//! FirmwareStatusNotification (1.6): kept as a report for the firmware-management feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{FirmwareStatusNotificationRequest, FirmwareStatusNotificationResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: FirmwareStatusNotificationRequest,
) -> Result<FirmwareStatusNotificationResponse, CallError> {
    ctx.record_report().await?;
    Ok(FirmwareStatusNotificationResponse {})
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn is_kept_and_acknowledged() {
        assert_kept(
            OcppVersion::V16,
            "FirmwareStatusNotification",
            json!({"status": "Installed"}),
            json!({}),
        )
        .await;
    }
}
