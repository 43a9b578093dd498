//! NotifySettlement (2.1): kept as a report for the payment feature; Ampere issues no
//! receipt (the answer carries no receipt URL or id).

use ampere_ocpp::CallError;
use ampere_ocpp::v21::{NotifySettlementRequest, NotifySettlementResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: NotifySettlementRequest,
) -> Result<NotifySettlementResponse, CallError> {
    ctx.record_report().await?;
    Ok(NotifySettlementResponse {
        receipt_url: None,
        receipt_id: None,
        custom_data: None,
    })
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
            "NotifySettlement",
            minimal_request(OcppVersion::V21, "NotifySettlement"),
            json!({}),
        )
        .await;
    }
}
