//! ReportChargingProfiles (2.0.1): kept as a report for the smart-charging feature (the
//! answer to GetChargingProfiles).

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{ReportChargingProfilesRequest, ReportChargingProfilesResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: ReportChargingProfilesRequest,
) -> Result<ReportChargingProfilesResponse, CallError> {
    ctx.record_report().await?;
    Ok(ReportChargingProfilesResponse { custom_data: None })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{assert_kept, minimal_request};

    #[tokio::test]
    async fn is_kept_and_acknowledged() {
        assert_kept(
            OcppVersion::V201,
            "ReportChargingProfiles",
            minimal_request(OcppVersion::V201, "ReportChargingProfiles"),
            json!({}),
        )
        .await;
    }
}
