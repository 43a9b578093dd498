//! NotifyPriorityCharging (2.1): kept as a report for the smart-charging feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v21::{NotifyPriorityChargingRequest, NotifyPriorityChargingResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: NotifyPriorityChargingRequest,
) -> Result<NotifyPriorityChargingResponse, CallError> {
    ctx.record_report().await?;
    Ok(NotifyPriorityChargingResponse { custom_data: None })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn is_kept_and_acknowledged() {
        assert_kept(
            OcppVersion::V21,
            "NotifyPriorityCharging",
            json!({"transactionId": "tx-1", "activated": true}),
            json!({}),
        )
        .await;
    }
}
