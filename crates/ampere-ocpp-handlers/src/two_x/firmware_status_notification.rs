//! FirmwareStatusNotification (2.0.1): kept as a report for the firmware-management
//! feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{FirmwareStatusNotificationRequest, FirmwareStatusNotificationResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: FirmwareStatusNotificationRequest,
) -> Result<FirmwareStatusNotificationResponse, CallError> {
    ctx.record_report().await?;
    Ok(FirmwareStatusNotificationResponse { custom_data: None })
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
            "FirmwareStatusNotification",
            json!({"status": "Installed", "requestId": 12}),
            json!({}),
        )
        .await;
    }
}
