//! BootNotification (1.6): keeps what the charger says about itself and answers its
//! registration status, the time, and the heartbeat (or retry) interval.

use ampere_domain::{BootInfo, RegistrationStatus};
use ampere_ocpp::CallError;
use ampere_ocpp::v16::{BootNotificationRequest, BootNotificationResponse, BootNotificationStatus};

use crate::context::Ctx;
use crate::error::domain_error;
use crate::wire::seconds;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: BootNotificationRequest,
) -> Result<BootNotificationResponse, CallError> {
    let info = BootInfo {
        vendor: request.charge_point_vendor,
        model: request.charge_point_model,
        // `chargeBoxSerialNumber` is deprecated in 1.6 in favour of
        // `chargePointSerialNumber`; older firmware sends only the former.
        serial_number: request
            .charge_point_serial_number
            .or(request.charge_box_serial_number),
        firmware_version: request.firmware_version,
        iccid: request.iccid,
        imsi: request.imsi,
        meter_type: request.meter_type,
        meter_serial_number: request.meter_serial_number,
        reason: None,
        protocol: Some(ctx.charger.version.subprotocol().to_owned()),
    };
    let outcome = ctx
        .services
        .chargers
        .boot(ctx.charger_id(), info)
        .await
        .map_err(domain_error)?;
    if !outcome.closed_transactions.is_empty() {
        tracing::info!(
            closed = outcome.closed_transactions.len(),
            "boot closed transactions the charger never ended"
        );
    }
    Ok(BootNotificationResponse {
        status: match outcome.status {
            RegistrationStatus::Accepted => BootNotificationStatus::Accepted,
            RegistrationStatus::Pending => BootNotificationStatus::Pending,
            RegistrationStatus::Rejected => BootNotificationStatus::Rejected,
        },
        current_time: outcome.current_time,
        interval: seconds(outcome.interval),
    })
}

#[cfg(test)]
mod tests {
    use ampere_domain::{ChargerConfig, UnknownChargerPolicy};
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::{Harness, NOW, charger_id};

    #[tokio::test]
    async fn keeps_the_hardware_and_answers_accepted() {
        let h = Harness::new().await;
        let answer = h
            .ok(
                OcppVersion::V16,
                "BootNotification",
                json!({
                    "chargePointVendor": "Acme", "chargePointModel": "Wallbox 22",
                    "chargePointSerialNumber": "SN-1", "chargeBoxSerialNumber": "BOX-1",
                    "firmwareVersion": "1.2.3", "iccid": "8931", "imsi": "2620",
                    "meterType": "EMH", "meterSerialNumber": "M-9"
                }),
            )
            .await;
        assert_eq!(
            answer,
            json!({"status": "Accepted", "currentTime": NOW, "interval": 300})
        );
        let c = h
            .services
            .chargers
            .get(&charger_id())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.vendor.as_deref(), Some("Acme"));
        assert_eq!(c.model.as_deref(), Some("Wallbox 22"));
        assert_eq!(c.serial_number.as_deref(), Some("SN-1"));
        assert_eq!(c.firmware_version.as_deref(), Some("1.2.3"));
        assert_eq!(c.iccid.as_deref(), Some("8931"));
        assert_eq!(c.imsi.as_deref(), Some("2620"));
        assert_eq!(c.meter_type.as_deref(), Some("EMH"));
        assert_eq!(c.meter_serial_number.as_deref(), Some("M-9"));
        assert_eq!(c.protocol.as_deref(), Some("ocpp1.6"));
    }

    #[tokio::test]
    async fn an_unknown_charger_is_pending_under_the_default_policy() {
        let h = Harness::with_config(ChargerConfig {
            unknown_chargers: UnknownChargerPolicy::Pending,
            ..ChargerConfig::default()
        })
        .await;
        let mut ctx = h.context(OcppVersion::V16);
        ctx.charger_id = ampere_domain::ChargerId::new("NEW-1").unwrap();
        ctx.known = false;
        let answer = h
            .router
            .handle_call(
                &ctx,
                "BootNotification",
                json!({"chargePointVendor": "Acme", "chargePointModel": "X"}),
            )
            .await
            .expect("answered");
        assert_eq!(
            answer,
            json!({"status": "Pending", "currentTime": NOW, "interval": 60})
        );
    }
}
