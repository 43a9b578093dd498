//! BatterySwap (2.1): kept as a report for a battery-swap feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v21::{BatterySwapRequest, BatterySwapResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: BatterySwapRequest,
) -> Result<BatterySwapResponse, CallError> {
    ctx.record_report().await?;
    Ok(BatterySwapResponse { custom_data: None })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{assert_kept, minimal_request};

    #[tokio::test]
    async fn is_kept_and_acknowledged() {
        assert_kept(
            OcppVersion::V21,
            "BatterySwap",
            minimal_request(OcppVersion::V21, "BatterySwap"),
            json!({}),
        )
        .await;
    }
}
