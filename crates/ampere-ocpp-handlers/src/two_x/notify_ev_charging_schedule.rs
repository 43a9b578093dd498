//! NotifyEVChargingSchedule (2.0.1): the schedule the EV plans. Ampere sets no charging
//! limits yet, so the schedule cannot break one: `Accepted`. Kept as a report for the
//! smart-charging feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{
    GenericStatus, NotifyEVChargingScheduleRequest, NotifyEVChargingScheduleResponse,
};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: NotifyEVChargingScheduleRequest,
) -> Result<NotifyEVChargingScheduleResponse, CallError> {
    ctx.record_report().await?;
    Ok(NotifyEVChargingScheduleResponse {
        custom_data: None,
        status: GenericStatus::Accepted,
        status_info: None,
    })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{assert_kept, minimal_request};

    #[tokio::test]
    async fn is_kept_and_accepted() {
        assert_kept(
            OcppVersion::V201,
            "NotifyEVChargingSchedule",
            minimal_request(OcppVersion::V201, "NotifyEVChargingSchedule"),
            json!({"status": "Accepted"}),
        )
        .await;
    }
}
