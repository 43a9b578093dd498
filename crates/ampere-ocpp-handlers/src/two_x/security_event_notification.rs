//! SecurityEventNotification (2.0.1): kept as a report; security events are an audit trail
//! operators read.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{SecurityEventNotificationRequest, SecurityEventNotificationResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: SecurityEventNotificationRequest,
) -> Result<SecurityEventNotificationResponse, CallError> {
    ctx.record_report().await?;
    Ok(SecurityEventNotificationResponse { custom_data: None })
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
            "SecurityEventNotification",
            json!({"type": "SettingSystemTime", "timestamp": "2026-01-01T11:00:00Z", "techInfo": "NTP"}),
            json!({}),
        )
        .await;
    }
}
