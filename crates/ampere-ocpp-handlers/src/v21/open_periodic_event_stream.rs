//! OpenPeriodicEventStream (2.1): the station asks to stream monitoring data. Ampere takes
//! the stream (`Accepted`): the stream's definition is kept as a report, and every
//! NotifyPeriodicEventStream SEND on it is kept as a report too (see the router).

use ampere_ocpp::CallError;
use ampere_ocpp::v21::{
    GenericStatus, OpenPeriodicEventStreamRequest, OpenPeriodicEventStreamResponse,
};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: OpenPeriodicEventStreamRequest,
) -> Result<OpenPeriodicEventStreamResponse, CallError> {
    ctx.record_report().await?;
    Ok(OpenPeriodicEventStreamResponse {
        status: GenericStatus::Accepted,
        status_info: None,
        custom_data: None,
    })
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{assert_kept, minimal_request};

    #[tokio::test]
    async fn is_kept_and_accepted() {
        assert_kept(
            OcppVersion::V21,
            "OpenPeriodicEventStream",
            minimal_request(OcppVersion::V21, "OpenPeriodicEventStream"),
            json!({"status": "Accepted"}),
        )
        .await;
    }
}
