//! `/api/v1/chargers`: register, list, show, change and delete chargers.

use ampere_domain::{
    Charger, ChargerId, ChargerUpdate, NewCharger, RegistrationStatus, SecurityProfile,
    StatusReport,
};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::{Operator, Viewer};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Query, nullable};
use crate::page::{self, PageParams, page_type};

/// A charger as operators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChargerView {
    pub id: String,
    /// Connected right now.
    pub online: bool,
    /// Subprotocol of the current connection, or of the latest one when offline
    /// (`ocpp1.6`, `ocpp2.0.1`, `ocpp2.1`).
    pub protocol: Option<String>,
    /// `Accepted`, `Pending` (waiting for approval) or `Rejected`.
    pub registration_status: String,
    pub security_profile: u8,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
    pub last_seen: Option<DateTime<Utc>>,
    pub last_boot_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// EVSEs with their connectors' latest status; a 1.6 charger's connectors appear as
    /// EVSEs with one connector each.
    pub evses: Vec<EvseView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvseView {
    pub id: u32,
    pub connectors: Vec<ConnectorView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectorView {
    pub id: u32,
    /// Latest status the charger reported, e.g. `Available`, `Charging`, `Faulted`.
    pub status: String,
    pub error_code: Option<String>,
    pub status_at: DateTime<Utc>,
}

page_type!(
    /// A page of chargers, ordered by id.
    ChargerPage,
    ChargerView
);

/// Registers a charger.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChargerBody {
    /// The charger's identity (the last segment of its OCPP URL), at most 48 characters, no `:`.
    pub id: String,
    /// Its HTTP Basic auth password (security profiles 1 and 2); stored Argon2id-hashed.
    pub password: Option<String>,
    /// 1, 2 or 3 (default 1).
    pub security_profile: Option<u8>,
    /// Default `Accepted`: a charger an operator registers is approved.
    pub registration_status: Option<String>,
}

/// Changes a charger; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargerPatch {
    /// `Accepted` approves a pending charger; `Rejected` refuses it.
    pub registration_status: Option<String>,
    /// A new password (or `null` for none). A connected charger gets it through its own
    /// configuration (ChangeConfiguration `AuthorizationKey` / SetVariables
    /// `BasicAuthPassword`) and the old one stays valid until the charger logs in with it
    /// (`POST …/password` does the same, and can generate one); an offline charger's is
    /// replaced at once.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub password: Option<Option<String>>,
    /// Sets the stored profile directly (e.g. before the charger first connects). To move
    /// a connected charger up, use `POST …/security-profile`, which reconfigures the charger
    /// and keeps the old profile valid until it reconnects with the new one.
    pub security_profile: Option<u8>,
    /// Heartbeat interval told to the charger at its next boot (`null`: the server default).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    pub heartbeat_interval_s: Option<Option<u32>>,
}

fn charger_id(text: &str) -> Result<ChargerId, ApiError> {
    ChargerId::new(text).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn registration(text: &str) -> Result<RegistrationStatus, ApiError> {
    text.parse().map_err(ApiError::BadRequest)
}

fn profile(n: u8) -> Result<SecurityProfile, ApiError> {
    SecurityProfile::new(n).map_err(ApiError::BadRequest)
}

/// Groups the current statuses by EVSE; the charger-wide status (EVSE 0) is left out.
fn evses(statuses: Vec<StatusReport>) -> Vec<EvseView> {
    let mut evses: Vec<EvseView> = Vec::new();
    for report in statuses {
        if report.place.is_station() {
            continue;
        }
        let connector = ConnectorView {
            id: report.place.connector.get(),
            status: report.status.as_str().to_owned(),
            error_code: report.error_code,
            status_at: report.timestamp,
        };
        let evse_id = report.place.evse.get();
        match evses.last_mut() {
            Some(evse) if evse.id == evse_id => evse.connectors.push(connector),
            _ => evses.push(EvseView {
                id: evse_id,
                connectors: vec![connector],
            }),
        }
    }
    evses
}

async fn view(state: &ApiState, charger: Charger) -> Result<ChargerView, ApiError> {
    let statuses = state.services.chargers.statuses(&charger.id).await?;
    let online = state.commands.is_online(&charger.id);
    Ok(ChargerView {
        id: charger.id.as_str().to_owned(),
        online: online.is_some(),
        protocol: online
            .map(|v| v.subprotocol().to_owned())
            .or(charger.protocol),
        registration_status: charger.registration_status.as_str().to_owned(),
        security_profile: charger.security_profile.get(),
        vendor: charger.vendor,
        model: charger.model,
        serial_number: charger.serial_number,
        firmware_version: charger.firmware_version,
        last_seen: charger.last_seen,
        last_boot_at: charger.last_boot_at,
        created_at: charger.created_at,
        evses: evses(statuses),
    })
}

/// Register a charger.
#[utoipa::path(post, path = "/api/v1/chargers", tag = "chargers",
    request_body = NewChargerBody,
    responses(
        (status = 201, body = ChargerView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the id is taken", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    _: Operator,
    Body(body): Body<NewChargerBody>,
) -> Result<impl IntoResponse, ApiError> {
    let new = NewCharger {
        id: charger_id(&body.id)?,
        password: body.password,
        security_profile: body
            .security_profile
            .map(profile)
            .transpose()?
            .unwrap_or_default(),
        registration_status: body
            .registration_status
            .as_deref()
            .map(registration)
            .transpose()?
            .unwrap_or(RegistrationStatus::Accepted),
    };
    let charger = state.services.chargers.register(new).await?;
    Ok((StatusCode::CREATED, Json(view(&state, charger).await?)))
}

/// List chargers, ordered by id.
#[utoipa::path(get, path = "/api/v1/chargers", tag = "chargers", params(PageParams),
    responses((status = 200, body = ChargerPage)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Query(params): Query<PageParams>,
) -> Result<Json<ChargerPage>, ApiError> {
    let limit = page::limit(params.limit)?;
    let after = params.cursor.as_deref().map(charger_id).transpose()?;
    let chargers = state
        .services
        .chargers
        .list(after.as_ref(), limit + 1)
        .await?;
    let (chargers, next_cursor) = page::split(chargers, limit, |c| c.id.as_str().to_owned());
    let mut items = Vec::with_capacity(chargers.len());
    for charger in chargers {
        items.push(view(&state, charger).await?);
    }
    Ok(Json(ChargerPage { items, next_cursor }))
}

async fn find(state: &ApiState, id: &str) -> Result<Charger, ApiError> {
    let id = charger_id(id)?;
    state
        .services
        .chargers
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no charger {id}")))
}

/// Show one charger.
#[utoipa::path(get, path = "/api/v1/chargers/{id}", tag = "chargers",
    params(("id" = String, Path, description = "charger identity")),
    responses((status = 200, body = ChargerView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<ChargerView>, ApiError> {
    let charger = find(&state, &id).await?;
    Ok(Json(view(&state, charger).await?))
}

/// Change a charger: approve or reject it, set its password, security profile or heartbeat
/// interval.
#[utoipa::path(patch, path = "/api/v1/chargers/{id}", tag = "chargers",
    params(("id" = String, Path, description = "charger identity")),
    request_body = ChargerPatch,
    responses((status = 200, body = ChargerView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    Body(mut patch): Body<ChargerPatch>,
) -> Result<Json<ChargerView>, ApiError> {
    let id = charger_id(&id)?;
    // A new password for a connected charger is rotated through its own configuration (the
    // old one stays valid until the charger uses the new one); see `credentials`.
    if let Some(Some(password)) = &patch.password
        && state.commands.is_online(&id).is_some()
    {
        let body = crate::credentials::PasswordBody {
            password: Some(password.clone()),
            generate: false,
        };
        crate::credentials::rotate_password(&state, &caller, id.as_str(), body).await?;
        patch.password = None;
    }
    let update = ChargerUpdate {
        registration_status: patch
            .registration_status
            .as_deref()
            .map(registration)
            .transpose()?,
        password: patch.password,
        security_profile: patch.security_profile.map(profile).transpose()?,
        heartbeat_interval_s: patch.heartbeat_interval_s,
    };
    let charger = state.services.chargers.update(&id, update).await?;
    Ok(Json(view(&state, charger).await?))
}

/// Delete a charger and everything stored about it.
#[utoipa::path(delete, path = "/api/v1/chargers/{id}", tag = "chargers",
    params(("id" = String, Path, description = "charger identity")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<ApiState>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = charger_id(&id)?;
    if state.services.chargers.delete(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no charger {id}")))
    }
}

/// One status report a charger sent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusReportView {
    /// 0 is the charger as a whole.
    pub evse_id: u32,
    pub connector_id: u32,
    pub status: String,
    pub error_code: Option<String>,
    pub info: Option<String>,
    pub vendor_id: Option<String>,
    pub vendor_error_code: Option<String>,
    /// When the charger says the status began.
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusHistory {
    /// Newest first.
    pub items: Vec<StatusReportView>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// How many reports, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// The status reports of a charger's connectors, newest first (the latest `limit`; no cursor
/// yet).
#[utoipa::path(get, path = "/api/v1/chargers/{id}/status-history", tag = "chargers",
    params(("id" = String, Path, description = "charger identity"), HistoryParams),
    responses((status = 200, body = StatusHistory), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn status_history(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<StatusHistory>, ApiError> {
    let limit = page::limit(params.limit)?;
    let charger = find(&state, &id).await?;
    let reports = state
        .services
        .chargers
        .status_history(&charger.id, limit)
        .await?;
    Ok(Json(StatusHistory {
        items: reports
            .into_iter()
            .map(|r| StatusReportView {
                evse_id: r.place.evse.get(),
                connector_id: r.place.connector.get(),
                status: r.status.as_str().to_owned(),
                error_code: r.error_code,
                info: r.info,
                vendor_id: r.vendor_id,
                vendor_error_code: r.vendor_error_code,
                timestamp: r.timestamp,
            })
            .collect(),
    }))
}
