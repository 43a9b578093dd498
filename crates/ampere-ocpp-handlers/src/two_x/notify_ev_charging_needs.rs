//! NotifyEVChargingNeeds (2.0.1 and 2.1): Ampere has no smart charging yet, so it will not
//! send a charging profile for these needs. 2.1 says exactly that, `NoChargingProfile`;
//! 2.0.1, lacking that value, answers `Rejected` ("service not available") rather than
//! `Accepted`, which would promise a schedule. The needs are kept as a report for the
//! smart-charging feature.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types, answering the `declined` status.
macro_rules! handler {
    ($v:ident, declined: $declined:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{
                NotifyEVChargingNeedsRequest, NotifyEVChargingNeedsResponse,
                NotifyEVChargingNeedsStatus,
            };

            use crate::context::Ctx;
            use crate::two_x::map::$v as map;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                _request: NotifyEVChargingNeedsRequest,
            ) -> Result<NotifyEVChargingNeedsResponse, CallError> {
                ctx.record_report().await?;
                Ok(NotifyEVChargingNeedsResponse {
                    custom_data: None,
                    status: NotifyEVChargingNeedsStatus::$declined,
                    status_info: Some(map::unsupported("no smart charging yet")),
                })
            }
        }
    };
}

handler!(v201, declined: Rejected);
handler!(v21, declined: NoChargingProfile);

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{assert_kept, two_x_tests};

    async fn is_kept_and_declined(version: OcppVersion) {
        let declined = match version {
            OcppVersion::V21 => "NoChargingProfile",
            _ => "Rejected",
        };
        assert_kept(
            version,
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
                "status": declined,
                "statusInfo": {"reasonCode": "UnsupportedRequest", "additionalInfo": "no smart charging yet"}
            }),
        )
        .await;
    }

    two_x_tests!(is_kept_and_declined);
}
