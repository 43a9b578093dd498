//! NotifyEvent (2.0.1): kept as a report for the monitoring feature (device-model events).

use ampere_ocpp::CallError;
use ampere_ocpp::v201::{NotifyEventRequest, NotifyEventResponse};

use crate::context::Ctx;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    _request: NotifyEventRequest,
) -> Result<NotifyEventResponse, CallError> {
    ctx.record_report().await?;
    Ok(NotifyEventResponse { custom_data: None })
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
            "NotifyEvent",
            json!({
                "generatedAt": "2026-01-01T11:00:00Z",
                "seqNo": 0,
                "eventData": [
                    {
                        "eventId": 1,
                        "timestamp": "2026-01-01T10:59:00Z",
                        "trigger": "Delta",
                        "actualValue": "Occupied",
                        "eventNotificationType": "HardWiredNotification",
                        "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
                        "variable": {"name": "AvailabilityState"}
                    }
                ]
            }),
            json!({}),
        )
        .await;
    }
}
