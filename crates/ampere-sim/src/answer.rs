//! Answering CSMS-initiated calls: the checks every version shares, then the version's own
//! handlers ([`crate::v16`], [`crate::two_x`]).
//!
//! Order of the checks: an action the version does not have is `NotImplemented`; one only a
//! charger may send is `NotSupported`; a payload that breaks the schema gets the code the
//! schema breakage earns; then the typed handler answers. Every answer is validated against
//! the response schema before it leaves, so the simulator never sends an invalid frame.

use ampere_ocpp::{Action, CallError, ErrorCode, MessageKind, OcppVersion};
use serde_json::Value;

use crate::model::Station;

/// The answer to the CSMS's call of `action` with `payload`.
pub fn answer(station: &mut Station, action: &str, payload: Value) -> Result<Value, CallError> {
    let version = station.version;
    let Some(info) = ampere_ocpp::action(version, action) else {
        return Err(CallError::new(
            ErrorCode::NotImplemented,
            format!("OCPP {version} has no action {action}"),
        ));
    };
    if !info.initiator.from_csms() {
        return Err(CallError::new(
            ErrorCode::NotSupported,
            format!("{action} is sent by chargers, not to them"),
        ));
    }
    ampere_ocpp::validate(version, action, MessageKind::Request, &payload)
        .map_err(CallError::from)?;
    let answer = match shared_handler(action) {
        Some(handler) => handler(station, action, &payload),
        None => match version {
            OcppVersion::V16 => crate::v16::answer(station, action, payload),
            OcppVersion::V201 => crate::two_x::v201::answer(station, action, payload),
            OcppVersion::V21 => crate::two_x::v21::answer(station, action, payload),
        },
    }?;
    if let Err(violation) = ampere_ocpp::validate(version, action, MessageKind::Response, &answer) {
        // A bug of ours; the CSMS gets an honest error instead of an invalid answer.
        tracing::error!(charger = %station.id, action, %violation, "invalid answer withheld");
        return Err(CallError::new(
            ErrorCode::InternalError,
            "the simulator could not form a valid answer",
        ));
    }
    Ok(answer)
}

type SharedHandler = fn(&mut Station, &str, &Value) -> Result<Value, CallError>;

/// The handler written once for every version (from the validated JSON), if `action` has
/// one; the rest are typed per version.
fn shared_handler(action: &str) -> Option<SharedHandler> {
    Some(match action {
        "ReserveNow" | "CancelReservation" => crate::reservations::answer,
        "SendLocalList" | "GetLocalListVersion" => crate::local_list::answer,
        "SetChargingProfile"
        | "ClearChargingProfile"
        | "GetCompositeSchedule"
        | "GetChargingProfiles" => crate::charging_profiles::answer,
        "UpdateFirmware" | "SignedUpdateFirmware" | "GetDiagnostics" | "GetLog" => {
            crate::files::answer
        }
        "InstallCertificate"
        | "DeleteCertificate"
        | "GetInstalledCertificateIds"
        | "CertificateSigned" => crate::certificates::answer,
        "DataTransfer"
        | "ExtendedTriggerMessage"
        | "SetDisplayMessage"
        | "GetDisplayMessages"
        | "ClearDisplayMessage"
        | "CustomerInformation"
        | "GetTransactionStatus"
        | "GetReport"
        | "GetMonitoringReport"
        | "SetMonitoringBase"
        | "SetMonitoringLevel"
        | "SetVariableMonitoring"
        | "ClearVariableMonitoring"
        | "SetNetworkProfile"
        | "CostUpdated" => crate::extras::answer,
        _ => return None,
    })
}

/// Decodes an (already validated) request, runs the typed handler and encodes its answer.
pub(crate) fn typed<A: Action>(
    payload: Value,
    handler: impl FnOnce(A) -> A::Response,
) -> Result<Value, CallError> {
    let request: A = serde_json::from_value(payload).map_err(|e| {
        // Valid by the schema but not representable (e.g. a number beyond a decimal).
        CallError::new(ErrorCode::TypeConstraintViolation, e.to_string())
    })?;
    serde_json::to_value(handler(request))
        .map_err(|e| CallError::new(ErrorCode::InternalError, e.to_string()))
}

/// The answer for a CSMS action the simulated charger does not implement.
pub(crate) fn not_implemented(action: &str) -> CallError {
    CallError::new(
        ErrorCode::NotImplemented,
        format!("the simulated charger does not implement {action}"),
    )
}
