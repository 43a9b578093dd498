//! NotifyReport (2.0.1): kept as a report for the device-model feature (the answer to
//! GetBaseReport/GetReport).

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{NotifyReportRequest, NotifyReportResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: NotifyReportRequest,
) -> Result<NotifyReportResponse, CallError> {
    ctx.record_report().await?;
    Ok(NotifyReportResponse { custom_data: None })
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
            "NotifyReport",
            json!({
                "requestId": 1,
                "generatedAt": "2026-01-01T11:00:00Z",
                "seqNo": 0,
                "tbc": false,
                "reportData": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                        "variableAttribute": [{"type": "Actual", "value": "300", "mutability": "ReadWrite"}]
                    }
                ]
            }),
            json!({}),
        )
        .await;
    }
}
