//! StatusNotification (1.6): the status of a connector, or of the charger itself on
//! connector 0, with its error code, info and vendor codes. Connector `n` is EVSE `n`
//! connector 1 in the domain (see `ConnectorRef`). Without a timestamp the report takes
//! effect now (CSMS time).

use ampere_domain::StatusReport;
use ampere_ocpp::CallError;
use ampere_ocpp::v16::{StatusNotificationRequest, StatusNotificationResponse};

use crate::context::Ctx;
use crate::error::domain_error;
use crate::wire::{place_16, to_domain, wire};

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: StatusNotificationRequest,
) -> Result<StatusNotificationResponse, CallError> {
    let report = StatusReport {
        place: place_16(request.connector_id)?,
        status: to_domain(&request.status)?,
        error_code: Some(wire(&request.error_code)),
        info: request.info,
        vendor_id: request.vendor_id,
        vendor_error_code: request.vendor_error_code,
        timestamp: request.timestamp.unwrap_or_else(|| ctx.now()),
    };
    ctx.services
        .chargers
        .status_notification(ctx.charger_id(), &report)
        .await
        .map_err(domain_error)?;
    Ok(StatusNotificationResponse {})
}

#[cfg(test)]
mod tests {
    use ampere_domain::{ConnectorRef, ConnectorStatus};
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::{Harness, NOW, at, charger_id};

    #[tokio::test]
    async fn keeps_status_codes_and_maps_connectors_to_evses() {
        let h = Harness::new().await;
        let answer = h
            .ok(
                OcppVersion::V16,
                "StatusNotification",
                json!({
                    "connectorId": 2, "errorCode": "GroundFailure", "status": "Faulted",
                    "info": "RCD tripped", "vendorId": "com.acme", "vendorErrorCode": "E42",
                    "timestamp": "2026-01-01T11:00:00Z"
                }),
            )
            .await;
        assert_eq!(answer, json!({}));
        h.ok(
            OcppVersion::V16,
            "StatusNotification",
            json!({"connectorId": 0, "errorCode": "NoError", "status": "Available"}),
        )
        .await;

        let mut statuses = h.services.chargers.statuses(&charger_id()).await.unwrap();
        statuses.sort_by_key(|s| s.place);
        assert_eq!(statuses.len(), 2);
        let station = &statuses[0];
        assert_eq!(station.place, ConnectorRef::STATION);
        assert_eq!(station.status, ConnectorStatus::Available);
        assert_eq!(station.timestamp, at(NOW), "no timestamp: CSMS time");
        let faulted = &statuses[1];
        assert_eq!(
            (faulted.place.evse.get(), faulted.place.connector.get()),
            (2, 1)
        );
        assert_eq!(faulted.status, ConnectorStatus::Faulted);
        assert_eq!(faulted.error_code.as_deref(), Some("GroundFailure"));
        assert_eq!(faulted.info.as_deref(), Some("RCD tripped"));
        assert_eq!(faulted.vendor_id.as_deref(), Some("com.acme"));
        assert_eq!(faulted.vendor_error_code.as_deref(), Some("E42"));
        assert_eq!(faulted.timestamp, at("2026-01-01T11:00:00Z"));
    }
}
