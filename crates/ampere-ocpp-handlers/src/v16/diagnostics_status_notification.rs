//! DiagnosticsStatusNotification (1.6): the upload progress of a GetDiagnostics (Idle,
//! Uploaded, UploadFailed, Uploading). 1.6 carries no request id, so the file-transfer
//! service applies it to the charger's latest log request.

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{
    DiagnosticsStatusNotificationRequest, DiagnosticsStatusNotificationResponse,
};

use crate::context::Ctx;
use crate::error::domain_error;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: DiagnosticsStatusNotificationRequest,
) -> Result<DiagnosticsStatusNotificationResponse, CallError> {
    ctx.services
        .file_transfers
        .log_status(ctx.charger_id(), None, request.status.as_str())
        .await
        .map_err(domain_error)?;
    Ok(DiagnosticsStatusNotificationResponse {})
}

#[cfg(test)]
pub(crate) mod tests {
    use ampere_domain::{LogKind, LogRequest, NewLogRequest};
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{Harness, charger_id};

    /// A log request of the test charger, as the API records it before sending.
    pub(crate) async fn start_log_request(h: &Harness, kind: LogKind) -> LogRequest {
        h.services
            .file_transfers
            .start_log_request(NewLogRequest {
                charger: charger_id(),
                kind,
                start_time: None,
                stop_time: None,
                retries: None,
                retry_interval: None,
                requested_by: None,
            })
            .await
            .expect("start log request")
            .0
    }

    pub(crate) async fn status_of(h: &Harness, id: i64) -> String {
        h.services
            .file_transfers
            .log_request(id)
            .await
            .expect("read log request")
            .expect("log request exists")
            .status
    }

    #[tokio::test]
    async fn moves_the_latest_request_along() {
        let h = Harness::new().await;
        let request = start_log_request(&h, LogKind::Diagnostics).await;
        for status in ["Uploading", "Uploaded"] {
            let answer = h
                .ok(
                    OcppVersion::V16,
                    "DiagnosticsStatusNotification",
                    json!({"status": status}),
                )
                .await;
            assert_eq!(answer, json!({}));
            assert_eq!(status_of(&h, request.id).await, status);
        }
    }
}
