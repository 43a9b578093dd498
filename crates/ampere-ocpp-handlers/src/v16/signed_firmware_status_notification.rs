//! SignedFirmwareStatusNotification (1.6 security whitepaper): the progress of a signed
//! firmware update, with the request id Ampere sent in SignedUpdateFirmware.

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{
    SignedFirmwareStatusNotificationRequest, SignedFirmwareStatusNotificationResponse,
};

use crate::context::Ctx;
use crate::error::domain_error;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: SignedFirmwareStatusNotificationRequest,
) -> Result<SignedFirmwareStatusNotificationResponse, CallError> {
    ctx.services
        .file_transfers
        .firmware_status(
            ctx.charger_id(),
            request.request_id,
            request.status.as_str(),
        )
        .await
        .map_err(domain_error)?;
    Ok(SignedFirmwareStatusNotificationResponse {})
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::Harness;
    use crate::v16::firmware_status_notification::tests::{start_update, status_of};

    #[tokio::test]
    async fn moves_the_update_it_names() {
        let h = Harness::new().await;
        let named = start_update(&h).await;
        let latest = start_update(&h).await;
        let answer = h
            .ok(
                OcppVersion::V16,
                "SignedFirmwareStatusNotification",
                json!({"status": "InvalidSignature", "requestId": named.id}),
            )
            .await;
        assert_eq!(answer, json!({}));
        assert_eq!(status_of(&h, named.id).await, "InvalidSignature");
        assert_eq!(status_of(&h, latest.id).await, "Requested");
    }
}
