//! DiagnosticsStatusNotification (1.6): kept as a report for the diagnostics feature
//! (upload status: Idle, Uploaded, UploadFailed, Uploading).

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{
    DiagnosticsStatusNotificationRequest, DiagnosticsStatusNotificationResponse,
};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: DiagnosticsStatusNotificationRequest,
) -> Result<DiagnosticsStatusNotificationResponse, CallError> {
    ctx.record_report().await?;
    Ok(DiagnosticsStatusNotificationResponse {})
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
            "DiagnosticsStatusNotification",
            json!({"status": "Uploaded"}),
            json!({}),
        )
        .await;
    }
}
