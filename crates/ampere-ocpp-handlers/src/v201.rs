//! OCPP 2.0.1: the dispatch table. Every 2.0.1 action is in 2.1 too and shares its handler
//! (up to fields and values only 2.1 has), so all the handlers, one file per action with its
//! tests, are in `crate::two_x`.

use ampere_ocpp::CallError;
use serde_json::Value;

use crate::context::Ctx;
use crate::router::run;
use crate::two_x::{
    authorize, boot_notification, cleared_charging_limit, data_transfer,
    firmware_status_notification, get_15118_ev_certificate, get_certificate_status, heartbeat,
    log_status_notification, meter_values, notify_charging_limit, notify_customer_information,
    notify_display_messages, notify_ev_charging_needs, notify_ev_charging_schedule, notify_event,
    notify_monitoring_report, notify_report, publish_firmware_status_notification,
    report_charging_profiles, reservation_status_update, security_event_notification,
    sign_certificate, status_notification, transaction_event,
};

/// Runs the handler of `ctx.action`; `None` when there is none.
pub(crate) async fn dispatch(ctx: &Ctx<'_>) -> Option<Result<Value, CallError>> {
    Some(match ctx.action {
        "Authorize" => run(ctx, authorize::v201::handle).await,
        "BootNotification" => run(ctx, boot_notification::v201::handle).await,
        "ClearedChargingLimit" => run(ctx, cleared_charging_limit::v201::handle).await,
        "DataTransfer" => run(ctx, data_transfer::v201::handle).await,
        "FirmwareStatusNotification" => run(ctx, firmware_status_notification::v201::handle).await,
        "Get15118EVCertificate" => run(ctx, get_15118_ev_certificate::v201::handle).await,
        "GetCertificateStatus" => run(ctx, get_certificate_status::v201::handle).await,
        "Heartbeat" => run(ctx, heartbeat::v201::handle).await,
        "LogStatusNotification" => run(ctx, log_status_notification::v201::handle).await,
        "MeterValues" => run(ctx, meter_values::v201::handle).await,
        "NotifyChargingLimit" => run(ctx, notify_charging_limit::v201::handle).await,
        "NotifyCustomerInformation" => run(ctx, notify_customer_information::v201::handle).await,
        "NotifyDisplayMessages" => run(ctx, notify_display_messages::v201::handle).await,
        "NotifyEVChargingNeeds" => run(ctx, notify_ev_charging_needs::v201::handle).await,
        "NotifyEVChargingSchedule" => run(ctx, notify_ev_charging_schedule::v201::handle).await,
        "NotifyEvent" => run(ctx, notify_event::v201::handle).await,
        "NotifyMonitoringReport" => run(ctx, notify_monitoring_report::v201::handle).await,
        "NotifyReport" => run(ctx, notify_report::v201::handle).await,
        "PublishFirmwareStatusNotification" => {
            run(ctx, publish_firmware_status_notification::v201::handle).await
        }
        "ReportChargingProfiles" => run(ctx, report_charging_profiles::v201::handle).await,
        "ReservationStatusUpdate" => run(ctx, reservation_status_update::v201::handle).await,
        "SecurityEventNotification" => run(ctx, security_event_notification::v201::handle).await,
        "SignCertificate" => run(ctx, sign_certificate::v201::handle).await,
        "StatusNotification" => run(ctx, status_notification::v201::handle).await,
        "TransactionEvent" => run(ctx, transaction_event::v201::handle).await,
        _ => return None,
    })
}
