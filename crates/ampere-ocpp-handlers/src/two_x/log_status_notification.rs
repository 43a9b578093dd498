//! LogStatusNotification (2.0.1 and 2.1): the upload progress of a GetLog, with the request
//! id Ampere sent (absent only for `Idle`).

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{LogStatusNotificationRequest, LogStatusNotificationResponse};

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
                Ok(LogStatusNotificationResponse { custom_data: None })
            }
        }
    };
}

handler!(v201);
handler!(v21);

#[cfg(test)]
mod tests {
    use ampere_domain::LogKind;
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{Harness, two_x_tests};
    use crate::v16::diagnostics_status_notification::tests::{start_log_request, status_of};

    async fn moves_the_request_it_names(version: OcppVersion) {
        let h = Harness::new().await;
        let named = start_log_request(&h, LogKind::DiagnosticsLog).await;
        let latest = start_log_request(&h, LogKind::SecurityLog).await;
        for status in ["Uploading", "Uploaded"] {
            let answer = h
                .ok(
                    version,
                    "LogStatusNotification",
                    json!({"status": status, "requestId": named.id}),
                )
                .await;
            assert_eq!(answer, json!({}));
            assert_eq!(status_of(&h, named.id).await, status);
        }
        assert_eq!(status_of(&h, latest.id).await, "Requested");
    }

    two_x_tests!(moves_the_request_it_names);
}
