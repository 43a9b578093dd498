//! OCPP 2.1: one file per action that only 2.1 has, and the dispatch table. The actions 2.0.1
//! has too are handled in `crate::two_x` (one file per action, for both versions).

mod battery_swap;
mod close_periodic_event_stream;
mod get_certificate_chain_status;
mod notify_der_alarm;
mod notify_der_start_stop;
mod notify_periodic_event_stream;
mod notify_priority_charging;
mod notify_settlement;
mod open_periodic_event_stream;
mod pull_dynamic_schedule_update;
mod report_der_control;
mod vat_number_validation;

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

/// Runs the handler of `ctx.action`; `None` when there is none. (NotifyPeriodicEventStream
/// is a SEND, taken by `Router::handle_send`.)
pub(crate) async fn dispatch(ctx: &Ctx<'_>) -> Option<Result<Value, CallError>> {
    Some(match ctx.action {
        "Authorize" => run(ctx, authorize::v21::handle).await,
        "BatterySwap" => run(ctx, battery_swap::handle).await,
        "BootNotification" => run(ctx, boot_notification::v21::handle).await,
        "ClearedChargingLimit" => run(ctx, cleared_charging_limit::v21::handle).await,
        "ClosePeriodicEventStream" => run(ctx, close_periodic_event_stream::handle).await,
        "DataTransfer" => run(ctx, data_transfer::v21::handle).await,
        "FirmwareStatusNotification" => run(ctx, firmware_status_notification::v21::handle).await,
        "Get15118EVCertificate" => run(ctx, get_15118_ev_certificate::v21::handle).await,
        "GetCertificateChainStatus" => run(ctx, get_certificate_chain_status::handle).await,
        "GetCertificateStatus" => run(ctx, get_certificate_status::v21::handle).await,
        "Heartbeat" => run(ctx, heartbeat::v21::handle).await,
        "LogStatusNotification" => run(ctx, log_status_notification::v21::handle).await,
        "MeterValues" => run(ctx, meter_values::v21::handle).await,
        "NotifyChargingLimit" => run(ctx, notify_charging_limit::v21::handle).await,
        "NotifyCustomerInformation" => run(ctx, notify_customer_information::v21::handle).await,
        "NotifyDERAlarm" => run(ctx, notify_der_alarm::handle).await,
        "NotifyDERStartStop" => run(ctx, notify_der_start_stop::handle).await,
        "NotifyDisplayMessages" => run(ctx, notify_display_messages::v21::handle).await,
        "NotifyEVChargingNeeds" => run(ctx, notify_ev_charging_needs::v21::handle).await,
        "NotifyEVChargingSchedule" => run(ctx, notify_ev_charging_schedule::v21::handle).await,
        "NotifyEvent" => run(ctx, notify_event::v21::handle).await,
        "NotifyMonitoringReport" => run(ctx, notify_monitoring_report::v21::handle).await,
        "NotifyPriorityCharging" => run(ctx, notify_priority_charging::handle).await,
        "NotifyReport" => run(ctx, notify_report::v21::handle).await,
        "NotifySettlement" => run(ctx, notify_settlement::handle).await,
        "OpenPeriodicEventStream" => run(ctx, open_periodic_event_stream::handle).await,
        "PublishFirmwareStatusNotification" => {
            run(ctx, publish_firmware_status_notification::v21::handle).await
        }
        "PullDynamicScheduleUpdate" => run(ctx, pull_dynamic_schedule_update::handle).await,
        "ReportChargingProfiles" => run(ctx, report_charging_profiles::v21::handle).await,
        "ReportDERControl" => run(ctx, report_der_control::handle).await,
        "ReservationStatusUpdate" => run(ctx, reservation_status_update::v21::handle).await,
        "SecurityEventNotification" => run(ctx, security_event_notification::v21::handle).await,
        "SignCertificate" => run(ctx, sign_certificate::v21::handle).await,
        "StatusNotification" => run(ctx, status_notification::v21::handle).await,
        "TransactionEvent" => run(ctx, transaction_event::v21::handle).await,
        "VatNumberValidation" => run(ctx, vat_number_validation::handle).await,
        _ => return None,
    })
}
