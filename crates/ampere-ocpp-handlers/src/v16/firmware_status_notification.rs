//! FirmwareStatusNotification (1.6): the progress of a firmware update. 1.6 carries no
//! request id, so the file-transfer service applies it to the charger's latest update.

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{FirmwareStatusNotificationRequest, FirmwareStatusNotificationResponse};

use crate::context::Ctx;
use crate::error::domain_error;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: FirmwareStatusNotificationRequest,
) -> Result<FirmwareStatusNotificationResponse, CallError> {
    ctx.services
        .file_transfers
        .firmware_status(ctx.charger_id(), None, request.status.as_str())
        .await
        .map_err(domain_error)?;
    Ok(FirmwareStatusNotificationResponse {})
}

#[cfg(test)]
pub(crate) mod tests {
    use ampere_domain::{FirmwareUpdate, NewFirmwareUpdate};
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{Harness, NOW, at, charger_id};

    /// A firmware update of the test charger, as the API records it before sending.
    pub(crate) async fn start_update(h: &Harness) -> FirmwareUpdate {
        h.services
            .file_transfers
            .start_firmware_update(NewFirmwareUpdate {
                charger: charger_id(),
                firmware_id: None,
                location: "http://files.example/fw.bin".into(),
                signed: false,
                retrieve_date: at(NOW),
                install_date: None,
                retries: None,
                retry_interval: None,
                signing_certificate: None,
                signature: None,
                requested_by: None,
            })
            .await
            .expect("start update")
    }

    /// The status of an update as stored now.
    pub(crate) async fn status_of(h: &Harness, id: i64) -> String {
        h.services
            .file_transfers
            .firmware_update(&charger_id(), id)
            .await
            .expect("read update")
            .expect("update exists")
            .status
    }

    #[tokio::test]
    async fn moves_the_latest_update_along() {
        let h = Harness::new().await;
        let update = start_update(&h).await;
        for status in ["Downloading", "Downloaded", "Installing", "Installed"] {
            let answer = h
                .ok(
                    OcppVersion::V16,
                    "FirmwareStatusNotification",
                    json!({"status": status}),
                )
                .await;
            assert_eq!(answer, json!({}));
            assert_eq!(status_of(&h, update.id).await, status);
        }
    }

    #[tokio::test]
    async fn idle_without_an_update_is_acknowledged() {
        let h = Harness::new().await;
        let answer = h
            .ok(
                OcppVersion::V16,
                "FirmwareStatusNotification",
                json!({"status": "Idle"}),
            )
            .await;
        assert_eq!(answer, json!({}));
    }
}
