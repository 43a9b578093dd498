//! SignedFirmwareStatusNotification (1.6): (security whitepaper) kept as a report for the
//! firmware-management feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{
    SignedFirmwareStatusNotificationRequest, SignedFirmwareStatusNotificationResponse,
};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: SignedFirmwareStatusNotificationRequest,
) -> Result<SignedFirmwareStatusNotificationResponse, CallError> {
    ctx.record_report().await?;
    Ok(SignedFirmwareStatusNotificationResponse {})
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
            "SignedFirmwareStatusNotification",
            json!({"status": "InvalidSignature", "requestId": 3}),
            json!({}),
        )
        .await;
    }
}
