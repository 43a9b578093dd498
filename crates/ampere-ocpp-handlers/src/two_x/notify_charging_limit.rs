//! NotifyChargingLimit (2.0.1): kept as a report for the smart-charging feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{NotifyChargingLimitRequest, NotifyChargingLimitResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: NotifyChargingLimitRequest,
) -> Result<NotifyChargingLimitResponse, CallError> {
    ctx.record_report().await?;
    Ok(NotifyChargingLimitResponse { custom_data: None })
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
            "NotifyChargingLimit",
            json!({"chargingLimit": {"chargingLimitSource": "SO", "isGridCritical": true}, "evseId": 1}),
            json!({}),
        )
        .await;
    }
}
