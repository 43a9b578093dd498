//! ReportDERControl (2.1): kept as a report for a DER-control feature.

use ampere_ocpp::CallError;
use ampere_ocpp::v21::{ReportDERControlRequest, ReportDERControlResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: ReportDERControlRequest,
) -> Result<ReportDERControlResponse, CallError> {
    ctx.record_report().await?;
    Ok(ReportDERControlResponse { custom_data: None })
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
            "ReportDERControl",
            minimal_request(OcppVersion::V21, "ReportDERControl"),
            json!({}),
        )
        .await;
    }
}
