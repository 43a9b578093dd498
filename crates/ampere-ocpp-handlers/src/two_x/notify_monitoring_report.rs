//! NotifyMonitoringReport (2.0.1): kept as a report (the answer to a GetMonitoringReport
//! request).

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{NotifyMonitoringReportRequest, NotifyMonitoringReportResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: NotifyMonitoringReportRequest,
) -> Result<NotifyMonitoringReportResponse, CallError> {
    ctx.record_report().await?;
    Ok(NotifyMonitoringReportResponse { custom_data: None })
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
            "NotifyMonitoringReport",
            minimal_request(OcppVersion::V201, "NotifyMonitoringReport"),
            json!({}),
        )
        .await;
    }
}
