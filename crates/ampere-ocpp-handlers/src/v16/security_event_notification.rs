//! SecurityEventNotification (1.6): (security whitepaper) kept as a report; security events
//! are an audit trail operators read.

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{SecurityEventNotificationRequest, SecurityEventNotificationResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: SecurityEventNotificationRequest,
) -> Result<SecurityEventNotificationResponse, CallError> {
    ctx.record_report().await?;
    Ok(SecurityEventNotificationResponse {})
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
            "SecurityEventNotification",
            json!({"type": "FirmwareUpdated", "timestamp": "2026-01-01T11:59:00Z", "techInfo": "from 1.2 to 1.3"}),
            json!({}),
        )
        .await;
    }
}
