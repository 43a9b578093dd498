//! StatusNotification (2.0.1 and 2.1): the status of one connector of one EVSE.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{StatusNotificationRequest, StatusNotificationResponse};

            use crate::context::Ctx;
            use crate::error::domain_error;
            use crate::two_x::map::$v as map;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                request: StatusNotificationRequest,
            ) -> Result<StatusNotificationResponse, CallError> {
                let report = map::status_report(&request)?;
                ctx.services
                    .chargers
                    .status_notification(ctx.charger_id(), &report)
                    .await
                    .map_err(domain_error)?;
                Ok(StatusNotificationResponse { custom_data: None })
            }
        }
    };
}

handler!(v201);
handler!(v21);

#[cfg(test)]
mod tests {
    use ampere_domain::ConnectorStatus;
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::{Harness, at, charger_id, two_x_tests};

    async fn keeps_the_status_of_the_evse_connector(version: OcppVersion) {
        let h = Harness::new().await;
        let answer = h
            .ok(
                version,
                "StatusNotification",
                json!({
                    "timestamp": "2026-01-01T11:00:00Z",
                    "connectorStatus": "Occupied",
                    "evseId": 2,
                    "connectorId": 3
                }),
            )
            .await;
        assert_eq!(answer, json!({}));
        let statuses = h.services.chargers.statuses(&charger_id()).await.unwrap();
        assert_eq!(statuses.len(), 1);
        let s = &statuses[0];
        assert_eq!((s.place.evse.get(), s.place.connector.get()), (2, 3));
        assert_eq!(s.status, ConnectorStatus::Occupied);
        assert_eq!(s.timestamp, at("2026-01-01T11:00:00Z"));
        assert_eq!(s.error_code, None);
    }

    two_x_tests!(keeps_the_status_of_the_evse_connector);
}
