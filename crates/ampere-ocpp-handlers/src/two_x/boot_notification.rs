//! BootNotification (2.0.1 and 2.1): keeps the station's vendor, model, serial, firmware and modem
//! (ICCID, IMSI) and the boot reason; answers the registration status, the time and the
//! heartbeat (or retry) interval.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{BootNotificationRequest, BootNotificationResponse};

            use crate::context::Ctx;
            use crate::error::domain_error;
            use crate::two_x::map::$v as map;
            use crate::wire::seconds;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                request: BootNotificationRequest,
            ) -> Result<BootNotificationResponse, CallError> {
                let info = map::boot_info(
                    request.charging_station,
                    &request.reason,
                    ctx.charger.version,
                );
                let outcome = ctx
                    .services
                    .chargers
                    .boot(ctx.charger_id(), info)
                    .await
                    .map_err(domain_error)?;
                if !outcome.closed_transactions.is_empty() {
                    tracing::info!(
                        closed = outcome.closed_transactions.len(),
                        "boot closed transactions the station never ended"
                    );
                }
                Ok(BootNotificationResponse {
                    custom_data: None,
                    current_time: outcome.current_time,
                    interval: seconds(outcome.interval),
                    status: map::registration_status(outcome.status),
                    status_info: None,
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

    use crate::testing::{Harness, NOW, charger_id, two_x_tests};

    async fn keeps_the_station_and_answers_accepted(version: OcppVersion) {
        let h = Harness::new().await;
        let answer = h
            .ok(
                version,
                "BootNotification",
                json!({
                    "reason": "PowerUp",
                    "chargingStation": {
                        "serialNumber": "SN-2", "model": "DC 50", "vendorName": "Acme",
                        "firmwareVersion": "4.0.1", "modem": {"iccid": "8931", "imsi": "2620"}
                    }
                }),
            )
            .await;
        assert_eq!(
            answer,
            json!({"currentTime": NOW, "interval": 300, "status": "Accepted"})
        );
        let c = h
            .services
            .chargers
            .get(&charger_id())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.vendor.as_deref(), Some("Acme"));
        assert_eq!(c.model.as_deref(), Some("DC 50"));
        assert_eq!(c.serial_number.as_deref(), Some("SN-2"));
        assert_eq!(c.firmware_version.as_deref(), Some("4.0.1"));
        assert_eq!(c.iccid.as_deref(), Some("8931"));
        assert_eq!(c.imsi.as_deref(), Some("2620"));
        assert_eq!(c.protocol.as_deref(), Some(version.subprotocol()));
        let boots = h.reports("BootNotification").await;
        assert_eq!(boots.len(), 1);
        assert_eq!(boots[0].payload["reason"], "PowerUp");
    }

    two_x_tests!(keeps_the_station_and_answers_accepted);
}
