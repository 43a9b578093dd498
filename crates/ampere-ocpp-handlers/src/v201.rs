//! OCPP 2.0.1: one file per charger-initiated action. Mapping shared with 2.1 is in
//! `crate::two_x`.

mod authorize;
mod boot_notification;
mod cleared_charging_limit;
mod data_transfer;
mod firmware_status_notification;
mod get_15118_ev_certificate;
mod get_certificate_status;
mod heartbeat;
mod log_status_notification;
mod meter_values;
mod notify_charging_limit;
mod notify_customer_information;
mod notify_display_messages;
mod notify_ev_charging_needs;
mod notify_ev_charging_schedule;
mod notify_event;
mod notify_monitoring_report;
mod notify_report;
mod publish_firmware_status_notification;
mod report_charging_profiles;
mod reservation_status_update;
mod security_event_notification;
mod sign_certificate;
mod status_notification;
mod transaction_event;

use ampere_ocpp::CallError;
use serde_json::Value;

use crate::context::Ctx;
use crate::router::run;

/// Runs the handler of `ctx.action`; `None` when there is none.
pub(crate) async fn dispatch(ctx: &Ctx<'_>) -> Option<Result<Value, CallError>> {
    Some(match ctx.action {
        "Authorize" => run(ctx, authorize::handle).await,
        "BootNotification" => run(ctx, boot_notification::handle).await,
        "ClearedChargingLimit" => run(ctx, cleared_charging_limit::handle).await,
        "DataTransfer" => run(ctx, data_transfer::handle).await,
        "FirmwareStatusNotification" => run(ctx, firmware_status_notification::handle).await,
        "Get15118EVCertificate" => run(ctx, get_15118_ev_certificate::handle).await,
        "GetCertificateStatus" => run(ctx, get_certificate_status::handle).await,
        "Heartbeat" => run(ctx, heartbeat::handle).await,
        "LogStatusNotification" => run(ctx, log_status_notification::handle).await,
        "MeterValues" => run(ctx, meter_values::handle).await,
        "NotifyChargingLimit" => run(ctx, notify_charging_limit::handle).await,
        "NotifyCustomerInformation" => run(ctx, notify_customer_information::handle).await,
        "NotifyDisplayMessages" => run(ctx, notify_display_messages::handle).await,
        "NotifyEVChargingNeeds" => run(ctx, notify_ev_charging_needs::handle).await,
        "NotifyEVChargingSchedule" => run(ctx, notify_ev_charging_schedule::handle).await,
        "NotifyEvent" => run(ctx, notify_event::handle).await,
        "NotifyMonitoringReport" => run(ctx, notify_monitoring_report::handle).await,
        "NotifyReport" => run(ctx, notify_report::handle).await,
        "PublishFirmwareStatusNotification" => {
            run(ctx, publish_firmware_status_notification::handle).await
        }
        "ReportChargingProfiles" => run(ctx, report_charging_profiles::handle).await,
        "ReservationStatusUpdate" => run(ctx, reservation_status_update::handle).await,
        "SecurityEventNotification" => run(ctx, security_event_notification::handle).await,
        "SignCertificate" => run(ctx, sign_certificate::handle).await,
        "StatusNotification" => run(ctx, status_notification::handle).await,
        "TransactionEvent" => run(ctx, transaction_event::handle).await,
        _ => return None,
    })
}
