//! LogStatusNotification (1.6 security whitepaper): the upload progress of a GetLog, with
//! the request id Ampere sent (absent only for `Idle`).

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{LogStatusNotificationRequest, LogStatusNotificationResponse};

use crate::context::Ctx;
use crate::error::domain_error;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: LogStatusNotificationRequest,
) -> Result<LogStatusNotificationResponse, CallError> {
    ctx.services
        .file_transfers
        .log_status(
            ctx.charger_id(),
            request.request_id,
            request.status.as_str(),
        )
        .await
        .map_err(domain_error)?;
    Ok(LogStatusNotificationResponse {})
}

#[cfg(test)]
mod tests {
    use ampere_domain::LogKind;
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::Harness;
    use crate::v16::diagnostics_status_notification::tests::{start_log_request, status_of};

    #[tokio::test]
    async fn moves_the_request_it_names() {
        let h = Harness::new().await;
        let named = start_log_request(&h, LogKind::SecurityLog).await;
        let latest = start_log_request(&h, LogKind::DiagnosticsLog).await;
        let answer = h
            .ok(
                OcppVersion::V16,
                "LogStatusNotification",
                json!({"status": "UploadFailure", "requestId": named.id}),
            )
            .await;
        assert_eq!(answer, json!({}));
        assert_eq!(status_of(&h, named.id).await, "UploadFailure");
        assert_eq!(status_of(&h, latest.id).await, "Requested");
    }
}
