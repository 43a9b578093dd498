//! NotifyEVChargingNeeds (2.0.1): Ampere has no smart charging yet, so it will not send a
//! charging profile for these needs: `Rejected` ("service not available") rather than
//! `Accepted`, which would promise a schedule. The needs are kept as a report for the
//! smart-charging feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{
    NotifyEVChargingNeedsRequest, NotifyEVChargingNeedsResponse, NotifyEVChargingNeedsStatus,
};

use crate::context::Ctx;
use crate::two_x::v201 as map;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: NotifyEVChargingNeedsRequest,
) -> Result<NotifyEVChargingNeedsResponse, CallError> {
    ctx.record_report().await?;
    Ok(NotifyEVChargingNeedsResponse {
        custom_data: None,
        status: NotifyEVChargingNeedsStatus::Rejected,
        status_info: Some(map::unsupported("no smart charging yet")),
    })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn is_kept_and_declined() {
        assert_kept(
            OcppVersion::V201,
            "NotifyEVChargingNeeds",
            json!({
                "evseId": 1,
                "chargingNeeds": {
                    "requestedEnergyTransfer": "AC_three_phase",
                    "acChargingParameters": {
                        "energyAmount": 20000,
                        "evMinCurrent": 6,
                        "evMaxCurrent": 32,
                        "evMaxVoltage": 400
                    }
                }
            }),
            json!({
                "status": "Rejected",
                "statusInfo": {"reasonCode": "UnsupportedRequest", "additionalInfo": "no smart charging yet"}
            }),
        )
        .await;
    }
}
