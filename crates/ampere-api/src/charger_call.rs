//! One CSMS-initiated call for the reservation, charging-profile and local-list resources,
//! on the commands' own path (`crate::commands`): validated against the action's schema in
//! the charger's version, sent as the generated request type, audited with its outcome and
//! published as a command event. Errors are the commands' own: offline 409, no answer 504,
//! CALLERROR 502.

use ampere_domain::ChargerId;
use ampere_ocpp::OcppVersion;
use serde_json::Value;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::ApiError;

pub(crate) use crate::commands::{connected, validate};

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
        let (_, response) =
            crate::commands::send_typed(&state.commands, charger, version, action, payload.clone())
                .await?;
        Ok(Exchange { response })
    }
    .await;
    let response = result.as_ref().map(|exchange| &exchange.response);
    crate::commands::record_outcome(state, caller, label, charger.as_str(), payload, response)
        .await;
    result
}

/// A timestamp as OCPP writes it (RFC 3339, UTC, `Z`).
pub(crate) fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
