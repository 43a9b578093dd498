//! NotifyEVChargingSchedule (2.0.1 and 2.1): the schedule the EV plans. Ampere sets no charging
//! limits yet, so the schedule cannot break one: `Accepted`. Kept as a report for the
//! smart-charging feature.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{
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
        }
    };
}

handler!(v201);
handler!(v21);

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{assert_kept, minimal_request, two_x_tests};

    async fn is_kept_and_accepted(version: OcppVersion) {
        assert_kept(
            version,
            "NotifyEVChargingSchedule",
            minimal_request(version, "NotifyEVChargingSchedule"),
            json!({"status": "Accepted"}),
        )
        .await;
    }

    two_x_tests!(is_kept_and_accepted);
}
