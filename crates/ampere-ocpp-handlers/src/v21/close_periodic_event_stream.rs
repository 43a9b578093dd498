//! ClosePeriodicEventStream (2.1): kept as a report; the stream it closes was kept as
//! reports too.

use ampere_ocpp::CallError;
use ampere_ocpp::v21::{ClosePeriodicEventStreamRequest, ClosePeriodicEventStreamResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: ClosePeriodicEventStreamRequest,
) -> Result<ClosePeriodicEventStreamResponse, CallError> {
    ctx.record_report().await?;
    Ok(ClosePeriodicEventStreamResponse { custom_data: None })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::assert_kept;

    #[tokio::test]
    async fn is_kept_and_acknowledged() {
        assert_kept(
            OcppVersion::V21,
            "ClosePeriodicEventStream",
            json!({"id": 4}),
            json!({}),
        )
        .await;
    }
}
