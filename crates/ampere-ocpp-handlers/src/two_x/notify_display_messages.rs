//! NotifyDisplayMessages (2.0.1): kept as a report (the answer to a GetDisplayMessages
//! request).

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{NotifyDisplayMessagesRequest, NotifyDisplayMessagesResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: NotifyDisplayMessagesRequest,
) -> Result<NotifyDisplayMessagesResponse, CallError> {
    ctx.record_report().await?;
    Ok(NotifyDisplayMessagesResponse { custom_data: None })
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
            "NotifyDisplayMessages",
            minimal_request(OcppVersion::V201, "NotifyDisplayMessages"),
            json!({}),
        )
        .await;
    }
}
