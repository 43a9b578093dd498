//! LogStatusNotification (2.0.1): kept as a report for the log-upload feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{LogStatusNotificationRequest, LogStatusNotificationResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: LogStatusNotificationRequest,
) -> Result<LogStatusNotificationResponse, CallError> {
    ctx.record_report().await?;
    Ok(LogStatusNotificationResponse { custom_data: None })
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
            "LogStatusNotification",
            json!({"status": "Uploaded", "requestId": 3}),
            json!({}),
        )
        .await;
    }
}
