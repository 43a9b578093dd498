//! NotifyEvent (2.0.1 and 2.1): kept as a report for the monitoring feature (device-model events).

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{NotifyEventRequest, NotifyEventResponse};

            use crate::context::Ctx;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                _request: NotifyEventRequest,
            ) -> Result<NotifyEventResponse, CallError> {
                ctx.record_report().await?;
                Ok(NotifyEventResponse { custom_data: None })
            }
        }
    };
}

handler!(v201);
handler!(v21);

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{assert_kept, two_x_tests};

    async fn is_kept_and_acknowledged(version: OcppVersion) {
        assert_kept(
            version,
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

    two_x_tests!(is_kept_and_acknowledged);
}
