//! How a charger authenticates, changed while it runs: `POST /api/v1/chargers/{id}/password`
//! (rotation through the charger's own configuration) and
//! `POST /api/v1/chargers/{id}/security-profile` (the upgrade procedure). The rules of both
//! (pending beside current, promoted at the first login that uses it) are the domain's
//! (`ampere_domain::credentials`); this module talks to the charger.

use ampere_domain::credentials::{
    GENERATED_PASSWORD_LEN, MAX_PASSWORD_LEN_2X, MAX_PASSWORD_LEN_16, authorization_key,
    check_password, generate_password,
};
use ampere_domain::{ChargerUpdate, SecurityProfile};
use ampere_ocpp::OcppVersion;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::{Caller, Operator};
use crate::certificates::{registered, security_call};
use crate::error::{ApiError, Problem};
use crate::extract::Body;

/// A new password for a charger: given, or generated (`generate: true`, or no password).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// 16 to 40 characters (20 at most for OCPP 1.6), letters, digits and `*-_=+|@.`.
    pub password: Option<String>,
    /// Generate a strong password (20 characters, 120 random bits); it is shown once, in
    /// the answer.
    #[serde(default)]
    pub generate: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasswordAnswer {
    pub charger_id: String,
    /// `pending`: the online charger accepted it; the old password stays valid until the
    /// charger connects with the new one. `set`: the charger is offline, the new password
    /// replaced the old one at once (set it on the charger by hand).
    pub status: String,
    /// The generated password, shown this once; absent when the caller gave one.
    pub password: Option<String>,
    /// The charger's answer to the change, when it was online.
    pub response: Option<Value>,
}

/// Whether the charger took a configuration change: 1.6 ChangeConfiguration `status`, 2.x
/// the first SetVariables result's `attributeStatus` (`RebootRequired`: it will apply it).
fn accepted(version: OcppVersion, response: &Value) -> bool {
    let status = match version {
        OcppVersion::V16 => &response["status"],
        OcppVersion::V201 | OcppVersion::V21 => {
            &response["setVariableResult"][0]["attributeStatus"]
        }
    };
    matches!(status.as_str(), Some("Accepted" | "RebootRequired"))
}

fn set_variable(component: &str, variable: &str, value: &str) -> Value {
    json!({"setVariableData": [{
        "attributeValue": value,
        "component": {"name": component},
        "variable": {"name": variable},
    }]})
}

/// Set or rotate a charger's password.
///
/// An online charger gets it through its own configuration (1.6 ChangeConfiguration
/// `AuthorizationKey`, hex-encoded as the security whitepaper says; 2.x SetVariables
/// `SecurityCtrlr.BasicAuthPassword`). If it accepts, the new password is valid beside the
/// old one, and replaces it at the charger's first login with it; if it refuses (409) or
/// does not answer (504), the old one stays alone. An offline charger's password is replaced
/// at once.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/password", tag = "chargers",
    params(("id" = String, Path, description = "charger identity")),
    request_body = PasswordBody,
    responses(
        (status = 200, body = PasswordAnswer),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the charger refused the new password", body = Problem, content_type = "application/problem+json"),
        (status = 504, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn password(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    Body(body): Body<PasswordBody>,
) -> Result<Json<PasswordAnswer>, ApiError> {
    let answer = rotate_password(&state, &caller, &id, body).await?;
    Ok(Json(answer))
}

/// The rotation, shared with `PATCH /chargers/{id} {password}`.
pub(crate) async fn rotate_password(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    body: PasswordBody,
) -> Result<PasswordAnswer, ApiError> {
    let (charger, online) = registered(state, id).await?;
    let (password, generated) = match body.password {
        Some(_) if body.generate => {
            return Err(ApiError::BadRequest(
                "give a password or ask for one to be generated, not both".into(),
            ));
        }
        Some(password) => (password, false),
        None => (generate_password(), true),
    };
    debug_assert!(!generated || password.len() == GENERATED_PASSWORD_LEN);
    let max_len = match online {
        Some(OcppVersion::V16) => MAX_PASSWORD_LEN_16,
        _ => MAX_PASSWORD_LEN_2X,
    };
    check_password(&password, max_len).map_err(ApiError::BadRequest)?;
    let shown = generated.then(|| password.clone());
    let Some(version) = online else {
        state
            .services
            .chargers
            .update(
                &charger.id,
                ChargerUpdate {
                    password: Some(Some(password)),
                    ..ChargerUpdate::default()
                },
            )
            .await?;
        return Ok(PasswordAnswer {
            charger_id: charger.id.to_string(),
            status: "set".into(),
            password: shown,
            response: None,
        });
    };
    let credentials = &state.services.credentials;
    let hash = credentials
        .begin_password_rotation(&charger.id, &password)
        .await?;
    let (action, payload) = match version {
        OcppVersion::V16 => (
            "ChangeConfiguration",
            json!({"key": "AuthorizationKey", "value": authorization_key(&password)}),
        ),
        OcppVersion::V201 | OcppVersion::V21 => (
            "SetVariables",
            set_variable("SecurityCtrlr", "BasicAuthPassword", &password),
        ),
    };
    let sent = security_call(
        state,
        caller,
        "charger password",
        &charger.id,
        version,
        action,
        payload,
    )
    .await;
    let answer = match sent {
        Ok(answer) if accepted(version, &answer.response) => answer,
        Ok(answer) => {
            credentials.password_refused(&charger.id, &hash).await?;
            return Err(ApiError::Conflict(format!(
                "the charger refused the new password ({}); the old one stays valid",
                answer.response
            )));
        }
        Err(error) => {
            credentials.password_refused(&charger.id, &hash).await?;
            return Err(error);
        }
    };
    credentials.password_confirmed(&charger.id, &hash).await?;
    Ok(PasswordAnswer {
        charger_id: charger.id.to_string(),
        status: "pending".into(),
        password: shown,
        response: Some(answer.response),
    })
}

/// Raise a charger's security profile.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityProfileBody {
    /// 2 (TLS + password) or 3 (TLS client certificate); higher than the current one.
    pub security_profile: u8,
    /// 2.x: the wss URL the station connects to from now on, e.g.
    /// `wss://csms.example.com:8443/ocpp/` (the station appends its identity).
    pub csms_url: Option<String>,
    /// 2.x: the network-profile slot to write (default 1).
    pub configuration_slot: Option<i64>,
    /// 2.x: the new `OCPPCommCtrlr.NetworkConfigurationPriority` (default: the new slot
    /// alone).
    pub network_configuration_priority: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecurityProfileAnswer {
    pub charger_id: String,
    /// The profile in force until the charger reconnects with the new one.
    pub security_profile: u8,
    pub pending_security_profile: u8,
    /// Each call made, with the charger's answer.
    pub calls: Vec<crate::certificates::SecurityCallAnswer>,
}

/// Start the security-profile upgrade of an online charger.
///
/// Prerequisites: profile 2 needs a password, profile 3 a certificate Ampere issued and the
/// charger accepted. Then 1.6: ChangeConfiguration `SecurityProfile`; 2.x (A05): SetNetworkProfile
/// with the new profile in a slot, SetVariables `OCPPCommCtrlr.NetworkConfigurationPriority`,
/// Reset `OnIdle`. The new profile is pending until the charger reconnects with it; from then
/// on the lower one is refused.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/security-profile", tag = "chargers",
    params(("id" = String, Path, description = "charger identity")),
    request_body = SecurityProfileBody,
    responses(
        (status = 202, body = SecurityProfileAnswer, description = "accepted by the charger; pending until it reconnects"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "offline, prerequisites missing, or refused by the charger", body = Problem, content_type = "application/problem+json"),
        (status = 504, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn security_profile(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    Body(body): Body<SecurityProfileBody>,
) -> Result<(axum::http::StatusCode, Json<SecurityProfileAnswer>), ApiError> {
    let (charger, online) = registered(&state, &id).await?;
    let profile = SecurityProfile::new(body.security_profile).map_err(ApiError::BadRequest)?;
    if profile <= charger.security_profile {
        return Err(ApiError::BadRequest(format!(
            "the charger is on profile {}: an upgrade goes higher (PATCH the charger to change it without the charger)",
            charger.security_profile.get()
        )));
    }
    let version = online.ok_or_else(|| ApiError::ChargerOffline(charger.id.to_string()))?;
    match profile.get() {
        2 if charger.password_hash.is_none() => {
            return Err(ApiError::Conflict(
                "profile 2 needs a password: set one first (POST …/password)".into(),
            ));
        }
        3 => {
            let now = state.services.certificates.now();
            let issued = state.services.certificates.issued(&charger.id).await?;
            if !issued.iter().any(|c| {
                c.delivery == "Accepted"
                    && c.not_after > now
                    && c.certificate_use
                        == ampere_domain::certificates::CertificateUse::ChargingStation
            }) {
                return Err(ApiError::Conflict(
                    "profile 3 needs a client certificate: the charger has none from Ampere yet (it sends SignCertificate; trigger it with trigger-message)".into(),
                ));
            }
        }
        _ => {}
    }
    let label = "charger security-profile";
    let call = |action: &'static str, payload: Value| {
        security_call(
            &state,
            &caller,
            label,
            &charger.id,
            version,
            action,
            payload,
        )
    };
    let refused = |answer: &crate::certificates::SecurityCallAnswer| {
        ApiError::Conflict(format!(
            "the charger refused {} ({}); its profile stays {}",
            answer.action,
            answer.response,
            charger.security_profile.get()
        ))
    };
    let mut calls = Vec::new();
    match version {
        OcppVersion::V16 => {
            let answer = call(
                "ChangeConfiguration",
                json!({"key": "SecurityProfile", "value": profile.get().to_string()}),
            )
            .await?;
            if !accepted(version, &answer.response) {
                return Err(refused(&answer));
            }
            calls.push(answer);
            state
                .services
                .credentials
                .profile_accepted(&charger.id, profile)
                .await?;
        }
        OcppVersion::V201 | OcppVersion::V21 => {
            let url = body.csms_url.clone().ok_or_else(|| {
                ApiError::BadRequest("OCPP 2.x: give csms_url, the wss URL of this server".into())
            })?;
            let slot = body.configuration_slot.unwrap_or(1);
            let ocpp_version = if version == OcppVersion::V21 {
                "OCPP21"
            } else {
                "OCPP20"
            };
            let answer = call(
                "SetNetworkProfile",
                json!({
                    "configurationSlot": slot,
                    "connectionData": {
                        "ocppVersion": ocpp_version,
                        "ocppTransport": "JSON",
                        "ocppCsmsUrl": url,
                        "messageTimeout": 30,
                        "securityProfile": profile.get(),
                        "ocppInterface": "Wired0",
                    }
                }),
            )
            .await?;
            if answer.response["status"] != "Accepted" {
                return Err(refused(&answer));
            }
            calls.push(answer);
            let priority = body
                .network_configuration_priority
                .clone()
                .unwrap_or_else(|| slot.to_string());
            let answer = call(
                "SetVariables",
                set_variable("OCPPCommCtrlr", "NetworkConfigurationPriority", &priority),
            )
            .await?;
            if !accepted(version, &answer.response) {
                return Err(refused(&answer));
            }
            calls.push(answer);
            // Pending before the reset: the station may come back at once.
            state
                .services
                .credentials
                .profile_accepted(&charger.id, profile)
                .await?;
            let answer = call("Reset", json!({"type": "OnIdle"})).await?;
            calls.push(answer);
        }
    }
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(SecurityProfileAnswer {
            charger_id: charger.id.to_string(),
            security_profile: charger.security_profile.get(),
            pending_security_profile: profile.get(),
            calls,
        }),
    ))
}

/// What is pending for a charger's credentials.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialsView {
    pub charger_id: String,
    pub security_profile: u8,
    /// A profile the charger accepted and has not connected with yet.
    pub pending_security_profile: Option<u8>,
    pub pending_security_profile_since: Option<chrono::DateTime<chrono::Utc>>,
    /// The charger has a password (never shown).
    pub has_password: bool,
    /// `offered` (sent, no answer yet) or `confirmed` (accepted, not used yet).
    pub pending_password: Option<String>,
    pub pending_password_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// A charger's security profile and password state, with what is pending.
#[utoipa::path(get, path = "/api/v1/chargers/{id}/credentials", tag = "chargers",
    params(("id" = String, Path, description = "charger identity")),
    responses((status = 200, body = CredentialsView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn credentials(
    State(state): State<ApiState>,
    _: crate::auth::Viewer,
    Path(id): Path<String>,
) -> Result<Json<CredentialsView>, ApiError> {
    let (charger, _) = registered(&state, &id).await?;
    let pending = state.services.credentials.pending(&charger.id).await?;
    Ok(Json(CredentialsView {
        charger_id: charger.id.to_string(),
        security_profile: charger.security_profile.get(),
        pending_security_profile: pending.security_profile.map(SecurityProfile::get),
        pending_security_profile_since: pending.security_profile_requested_at,
        has_password: charger.password_hash.is_some(),
        pending_password: pending.password_hash.as_ref().map(|_| {
            if pending.password_confirmed {
                "confirmed".to_owned()
            } else {
                "offered".to_owned()
            }
        }),
        pending_password_since: pending.password_requested_at,
    }))
}
