//! PullDynamicScheduleUpdate (2.1): Ampere installs no dynamic charging profiles yet, so
//! it has no update for the profile asked about: `Rejected`. The request is kept as a
//! report.

use ampere_ocpp::CallError;
use ampere_ocpp::v21::{
    ChargingProfileStatus, PullDynamicScheduleUpdateRequest, PullDynamicScheduleUpdateResponse,
};

use crate::context::Ctx;
use crate::two_x::map::v21 as map;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: PullDynamicScheduleUpdateRequest,
) -> Result<PullDynamicScheduleUpdateResponse, CallError> {
    ctx.record_report().await?;
    Ok(PullDynamicScheduleUpdateResponse {
        schedule_update: None,
        status: ChargingProfileStatus::Rejected,
        status_info: Some(map::unsupported("no dynamic charging profiles yet")),
        custom_data: None,
    })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn is_rejected_and_kept() {
        assert_kept(
            OcppVersion::V21,
            "PullDynamicScheduleUpdate",
            json!({"chargingProfileId": 12}),
            json!({
                "status": "Rejected",
                "statusInfo": {
                    "reasonCode": "UnsupportedRequest",
                    "additionalInfo": "no dynamic charging profiles yet"
                }
            }),
        )
        .await;
    }
}
