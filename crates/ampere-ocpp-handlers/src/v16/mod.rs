//! OCPP 1.6 with the security whitepaper: one file per charger-initiated action.

mod authorize;
mod boot_notification;
mod data_transfer;
// Their tests share helpers with the other file-transfer notifications.
pub(crate) mod diagnostics_status_notification;
pub(crate) mod firmware_status_notification;
mod heartbeat;
mod log_status_notification;
pub(crate) mod map;
mod meter_values;
mod security_event_notification;
mod sign_certificate;
mod signed_firmware_status_notification;
mod start_transaction;
mod status_notification;
mod stop_transaction;

use ampere_ocpp::CallError;
use serde_json::Value;

use crate::context::Ctx;
use crate::router::run;

/// Runs the handler of `ctx.action`; `None` when there is none.
pub(crate) async fn dispatch(ctx: &Ctx<'_>) -> Option<Result<Value, CallError>> {
    Some(match ctx.action {
        "Authorize" => run(ctx, authorize::handle).await,
        "BootNotification" => run(ctx, boot_notification::handle).await,
        "DataTransfer" => run(ctx, data_transfer::handle).await,
        "DiagnosticsStatusNotification" => run(ctx, diagnostics_status_notification::handle).await,
        "FirmwareStatusNotification" => run(ctx, firmware_status_notification::handle).await,
        "Heartbeat" => run(ctx, heartbeat::handle).await,
        "LogStatusNotification" => run(ctx, log_status_notification::handle).await,
        "MeterValues" => run(ctx, meter_values::handle).await,
        "SecurityEventNotification" => run(ctx, security_event_notification::handle).await,
        "SignCertificate" => run(ctx, sign_certificate::handle).await,
        "SignedFirmwareStatusNotification" => {
            run(ctx, signed_firmware_status_notification::handle).await
        }
        "StartTransaction" => run(ctx, start_transaction::handle).await,
        "StatusNotification" => run(ctx, status_notification::handle).await,
        "StopTransaction" => run(ctx, stop_transaction::handle).await,
        _ => return None,
    })
}
