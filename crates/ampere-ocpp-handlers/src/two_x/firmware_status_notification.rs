//! FirmwareStatusNotification (2.0.1 and 2.1): the progress of a firmware update, with the
//! request id Ampere sent in UpdateFirmware (absent only for `Idle`).

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{
                FirmwareStatusNotificationRequest, FirmwareStatusNotificationResponse,
            };

            use crate::context::Ctx;
            use crate::error::domain_error;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                request: FirmwareStatusNotificationRequest,
            ) -> Result<FirmwareStatusNotificationResponse, CallError> {
                ctx.services
                    .file_transfers
                    .firmware_status(
                        ctx.charger_id(),
                        request.request_id,
                        request.status.as_str(),
                    )
                    .await
                    .map_err(domain_error)?;
                Ok(FirmwareStatusNotificationResponse { custom_data: None })
            }
        }
    };
}

handler!(v201);
handler!(v21);

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{Harness, two_x_tests};
    use crate::v16::firmware_status_notification::tests::{start_update, status_of};

    async fn moves_the_update_it_names(version: OcppVersion) {
        let h = Harness::new().await;
        let named = start_update(&h).await;
        let latest = start_update(&h).await;
        for status in ["Downloading", "Downloaded", "Installing", "Installed"] {
            let answer = h
                .ok(
                    version,
                    "FirmwareStatusNotification",
                    json!({"status": status, "requestId": named.id}),
                )
                .await;
            assert_eq!(answer, json!({}));
            assert_eq!(status_of(&h, named.id).await, status);
        }
        assert_eq!(status_of(&h, latest.id).await, "Requested");
        // Idle names no request and is acknowledged all the same.
        let answer = h
            .ok(
                version,
                "FirmwareStatusNotification",
                json!({"status": "Idle"}),
            )
            .await;
        assert_eq!(answer, json!({}));
        assert_eq!(status_of(&h, named.id).await, "Installed");
    }

    two_x_tests!(moves_the_update_it_names);
}
