//! ClearedChargingLimit (2.0.1): kept as a report for the smart-charging feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{ClearedChargingLimitRequest, ClearedChargingLimitResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: ClearedChargingLimitRequest,
) -> Result<ClearedChargingLimitResponse, CallError> {
    ctx.record_report().await?;
    Ok(ClearedChargingLimitResponse { custom_data: None })
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
            "ClearedChargingLimit",
            json!({"chargingLimitSource": "EMS", "evseId": 1}),
            json!({}),
        )
        .await;
    }
}
