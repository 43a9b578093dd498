//! SecurityEventNotification (1.6 security whitepaper): kept as a report, and written to the
//! security log (beside Ampere's own security events), before the answer.

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{SecurityEventNotificationRequest, SecurityEventNotificationResponse};

use crate::context::Ctx;
use crate::error::domain_error;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: SecurityEventNotificationRequest,
) -> Result<SecurityEventNotificationResponse, CallError> {
    ctx.record_report().await?;
    ctx.services
        .security_log
        .record_from_charger(
            ctx.charger_id(),
            &request.r#type,
            Some(request.timestamp),
            request.tech_info.as_deref(),
        )
        .await
        .map_err(domain_error)?;
    Ok(SecurityEventNotificationResponse {})
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{Harness, assert_kept, at};

    #[tokio::test]
    async fn is_kept_and_acknowledged() {
        assert_kept(
            OcppVersion::V16,
            "SecurityEventNotification",
            json!({"type": "FirmwareUpdated", "timestamp": "2026-01-01T11:59:00Z", "techInfo": "from 1.2 to 1.3"}),
            json!({}),
        )
        .await;
    }

    #[tokio::test]
    async fn goes_into_the_security_log() {
        let h = Harness::new().await;
        h.ok(
            OcppVersion::V16,
            "SecurityEventNotification",
            json!({"type": "TamperDetectionActivated", "timestamp": "2026-01-01T11:58:00Z", "techInfo": "lid open"}),
        )
        .await;
        let logged = h
            .services
            .security_log
            .list(&Default::default(), 10)
            .await
            .unwrap();
        assert_eq!(logged.len(), 1);
        let event = &logged[0].event;
        assert_eq!(event.source, ampere_domain::SecurityEventSource::Charger);
        assert_eq!(
            event.charger_id.as_deref(),
            Some(crate::testing::charger_id().as_str())
        );
        assert_eq!(event.event_type, "TamperDetectionActivated");
        assert_eq!(event.occurred_at, Some(at("2026-01-01T11:58:00Z")));
        assert_eq!(event.tech_info.as_deref(), Some("lid open"));
    }
}
