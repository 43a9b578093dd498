//! SecurityEventNotification (2.0.1 and 2.1): kept as a report, and written to the security
//! log (beside Ampere's own security events), before the answer.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{
                SecurityEventNotificationRequest, SecurityEventNotificationResponse,
            };

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
                Ok(SecurityEventNotificationResponse { custom_data: None })
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

    use crate::testing::{Harness, assert_kept, at, two_x_tests};

    async fn is_kept_and_acknowledged(version: OcppVersion) {
        assert_kept(
            version,
            "SecurityEventNotification",
            json!({"type": "SettingSystemTime", "timestamp": "2026-01-01T11:00:00Z", "techInfo": "NTP"}),
            json!({}),
        )
        .await;
    }

    async fn goes_into_the_security_log(version: OcppVersion) {
        let h = Harness::new().await;
        h.ok(
            version,
            "SecurityEventNotification",
            json!({"type": "InvalidFirmwareSignature", "timestamp": "2026-01-01T11:30:00Z"}),
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
        assert_eq!(event.event_type, "InvalidFirmwareSignature");
        assert_eq!(event.occurred_at, Some(at("2026-01-01T11:30:00Z")));
        assert_eq!(event.tech_info, None);
    }

    two_x_tests!(is_kept_and_acknowledged, goes_into_the_security_log);
}
