//! Heartbeat (2.0.1 and 2.1): marks the station as seen and tells it the time.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{HeartbeatRequest, HeartbeatResponse};

            use crate::context::Ctx;
            use crate::error::domain_error;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                _request: HeartbeatRequest,
            ) -> Result<HeartbeatResponse, CallError> {
                let current_time = ctx
                    .services
                    .chargers
                    .heartbeat(ctx.charger_id())
                    .await
                    .map_err(domain_error)?;
                Ok(HeartbeatResponse {
                    custom_data: None,
                    current_time,
                })
            }
        }
    };
}

handler!(v201);
handler!(v21);

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::{Harness, NOW, at, charger_id, two_x_tests};

    async fn answers_the_time_and_marks_the_station_seen(version: OcppVersion) {
        let h = Harness::new().await;
        let answer = h.ok(version, "Heartbeat", json!({})).await;
        assert_eq!(answer, json!({"currentTime": NOW}));
        let charger = h
            .services
            .chargers
            .get(&charger_id())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(charger.last_seen, Some(at(NOW)));
    }

    two_x_tests!(answers_the_time_and_marks_the_station_seen);
}
