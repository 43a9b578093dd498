//! ReservationStatusUpdate (2.0.1): kept as a report for the reservation feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{ReservationStatusUpdateRequest, ReservationStatusUpdateResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: ReservationStatusUpdateRequest,
) -> Result<ReservationStatusUpdateResponse, CallError> {
    ctx.record_report().await?;
    Ok(ReservationStatusUpdateResponse { custom_data: None })
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
            "ReservationStatusUpdate",
            json!({"reservationId": 17, "reservationUpdateStatus": "Expired"}),
            json!({}),
        )
        .await;
    }
}
