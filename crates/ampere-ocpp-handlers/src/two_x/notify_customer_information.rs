//! NotifyCustomerInformation (2.0.1): kept as a report (the answer to a CustomerInformation
//! request).

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{NotifyCustomerInformationRequest, NotifyCustomerInformationResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: NotifyCustomerInformationRequest,
) -> Result<NotifyCustomerInformationResponse, CallError> {
    ctx.record_report().await?;
    Ok(NotifyCustomerInformationResponse { custom_data: None })
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
            "NotifyCustomerInformation",
            json!({
                "data": "card 04A2 used 3 times",
                "seqNo": 0,
                "generatedAt": "2026-01-01T11:00:00Z",
                "requestId": 5
            }),
            json!({}),
        )
        .await;
    }
}
