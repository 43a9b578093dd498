//! One CSMS-initiated call for the reservation, charging-profile and local-list resources:
//! the wire payload is validated against the action's schema in the charger's version
//! (`ampere_ocpp::validate`, the judge the charger side uses), decoded into the generated
//! request type (which fixes the field order the frame is written in), sent through the
//! gateway's `Commands`, audited with its outcome and published as a command event. Errors
//! are the commands' own: offline 409, no answer 504, CALLERROR 502.

use ampere_domain::ChargerId;
use ampere_gateway::Commands;
use ampere_ocpp::{Action, MessageKind, OcppVersion, v16, v21, v201};
use serde_json::{Value, json};

use crate::ApiState;
use crate::api_tokens::audit;
use crate::auth::Caller;
use crate::error::ApiError;

/// The charger's id and the version it is connected with: 400 for a malformed id, 404 when
/// it is not registered, 409 when it is offline.
pub(crate) async fn connected(
    state: &ApiState,
    id: &str,
) -> Result<(ChargerId, OcppVersion), ApiError> {
    let charger = ChargerId::new(id).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if state.services.chargers.get(&charger).await?.is_none() {
        return Err(ApiError::NotFound(format!("no charger {charger}")));
    }
    let version = state
        .commands
        .is_online(&charger)
        .ok_or_else(|| ApiError::ChargerOffline(charger.as_str().to_owned()))?;
    Ok((charger, version))
}

/// Checks a payload against the action's request schema in `version`.
pub(crate) fn validate(
    version: OcppVersion,
    action: &str,
    payload: &Value,
) -> Result<(), ApiError> {
    ampere_ocpp::validate(version, action, MessageKind::Request, payload).map_err(|violation| {
        ApiError::InvalidOcpp(format!("{action} (OCPP {version}): {violation}"))
    })
}

/// What the charger answered.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub response: Value,
}

impl Exchange {
    /// The `status` field every answer of these actions carries.
    pub fn status(&self) -> &str {
        self.response["status"].as_str().unwrap_or("")
    }
}

/// Validates and sends `payload` as `action`, then audits the outcome under `label` (e.g.
/// `reservation create`) and publishes it as a command event.
pub(crate) async fn call(
    state: &ApiState,
    caller: &Caller,
    label: &str,
    charger: &ChargerId,
    version: OcppVersion,
    action: &str,
    payload: Value,
) -> Result<Exchange, ApiError> {
    let result = async {
        validate(version, action, &payload)?;
        send_typed(&state.commands, charger, version, action, payload.clone()).await
    }
    .await;
    let outcome = match &result {
        Ok(exchange) => json!({"status": 200, "response": exchange.response}),
        Err(error) => json!({"status": error.status().as_u16(), "problem": error.problem()}),
    };
    if state.events.has_subscribers() {
        let data = crate::events::command_data(action, payload.clone(), &outcome);
        state
            .events
            .publish(charger.as_str(), crate::events::EventType::Command, data);
    }
    audit(
        state,
        caller,
        label.to_owned(),
        Some(charger.as_str().to_owned()),
        payload,
        outcome,
    )
    .await;
    result
}

async fn send<A: Action>(
    commands: &Commands,
    charger: &ChargerId,
    payload: Value,
) -> Result<Exchange, ApiError> {
    let request: A = serde_json::from_value(payload)
        .map_err(|e| ApiError::InvalidOcpp(format!("{}: {e}", A::NAME)))?;
    let response = commands
        .call(charger, request)
        .await
        .map_err(|e| ApiError::from_command(charger.as_str(), A::VERSION, e))?;
    let response = serde_json::to_value(response).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Exchange { response })
}

/// The request types of these resources' actions, per version.
async fn send_typed(
    commands: &Commands,
    charger: &ChargerId,
    version: OcppVersion,
    action: &str,
    payload: Value,
) -> Result<Exchange, ApiError> {
    macro_rules! dispatch {
        ($m:ident) => {
            match action {
                "ReserveNow" => send::<$m::ReserveNowRequest>(commands, charger, payload).await,
                "CancelReservation" => {
                    send::<$m::CancelReservationRequest>(commands, charger, payload).await
                }
                "SetChargingProfile" => {
                    send::<$m::SetChargingProfileRequest>(commands, charger, payload).await
                }
                "ClearChargingProfile" => {
                    send::<$m::ClearChargingProfileRequest>(commands, charger, payload).await
                }
                "SendLocalList" => {
                    send::<$m::SendLocalListRequest>(commands, charger, payload).await
                }
                "GetLocalListVersion" => {
                    send::<$m::GetLocalListVersionRequest>(commands, charger, payload).await
                }
                other => Err(ApiError::Internal(format!(
                    "no {version} request type for {other}"
                ))),
            }
        };
    }
    match version {
        OcppVersion::V16 => dispatch!(v16),
        OcppVersion::V201 => dispatch!(v201),
        OcppVersion::V21 => dispatch!(v21),
    }
}

/// A timestamp as OCPP writes it (RFC 3339, UTC, `Z`).
pub(crate) fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
