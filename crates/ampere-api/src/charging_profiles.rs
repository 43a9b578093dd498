//! `/api/v1/charging-profiles`: stored charging profiles (a description and the OCPP profile
//! fields in one version-neutral shape) and their installations on chargers. Plain
//! transport: a profile is sent as written (SetChargingProfile) and cleared again
//! (ClearChargingProfile); no schedule is computed here.
//!
//! - `POST /charging-profiles/{id}/installations {charger_id, evse_id}` sends the profile:
//!   1.6 `{connectorId, csChargingProfiles}` (one schedule; purpose `ChargePointMaxProfile`
//!   for `ChargingStationMaxProfile`), 2.x `{evseId, chargingProfile}` (schedules numbered
//!   from 1). The charger's answer is recorded on the installation: `Accepted` → 200 with the
//!   profile, `installed`; anything else → kept as `refused` and answered 409 naming it. No
//!   answer (504) or a CALLERROR (502) is kept as `failed`; offline → 409, nothing kept.
//! - `DELETE /charging-profiles/{id}/installations/{charger_id}` sends ClearChargingProfile
//!   for the profile's id; `Accepted` or `Unknown` (the charger no longer has it) → `cleared`.
//! - A profile installed somewhere cannot be deleted (409): clear it first, so no charger is
//!   left with a profile Ampere has forgotten.
//!
//! The profile's id is its `chargingProfileId` on every charger.

use ampere_domain::{ChargerId, ChargingProfile, ProfileSpec, Schedule, SchedulePeriod};
use ampere_ocpp::OcppVersion;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::auth::{Operator, Viewer};
use crate::charger_call::{self, connected, timestamp};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Query};
use crate::page::{self, page_type};

/// The profile fields, version-neutral (snake_case names of the OCPP fields).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargingProfileBody {
    #[serde(default)]
    pub description: String,
    pub stack_level: u32,
    /// `ChargingStationMaxProfile` (1.6 `ChargePointMaxProfile`; either name works),
    /// `TxDefaultProfile`, `TxProfile`.
    pub purpose: String,
    /// `Absolute`, `Recurring`, `Relative`.
    pub kind: String,
    /// `Daily` or `Weekly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<DateTime<Utc>>,
    /// For `TxProfile`: the charger's transaction id (a number for 1.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// 1 schedule (1.6 takes one), up to 3 for 2.x.
    pub schedules: Vec<ScheduleBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_schedule: Option<DateTime<Utc>>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// `W` or `A`.
    pub charging_rate_unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_charging_rate: Option<f64>,
    pub periods: Vec<PeriodBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodBody {
    /// Seconds from the start of the schedule.
    pub start_period: i64,
    pub limit: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_phases: Option<u32>,
    /// 2.x only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_to_use: Option<u32>,
}

/// Where a profile is installed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstallationView {
    pub charger_id: String,
    /// 0: the whole charger.
    pub evse_id: u32,
    /// `installed`, `refused`, `failed` or `cleared`.
    pub status: String,
    /// The charger's answer (`Accepted`, `Rejected`, …) or the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charger_status: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChargingProfileView {
    /// Also the OCPP `chargingProfileId`.
    pub id: i64,
    #[serde(flatten)]
    pub profile: ChargingProfileBody,
    pub created_at: DateTime<Utc>,
    pub installations: Vec<InstallationView>,
}

page_type!(
    /// A page of charging profiles, oldest first.
    ChargingProfilePage,
    ChargingProfileView
);

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallationBody {
    pub charger_id: String,
    /// 0 (default): the whole charger.
    #[serde(default)]
    pub evse_id: u32,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChargingProfileQuery {
    /// Only profiles with an installation record on this charger.
    pub charger_id: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// 2.x names for the purposes (1.6 says `ChargePoint` where 2.x says `ChargingStation`).
fn neutral_purpose(purpose: String) -> String {
    if purpose == "ChargePointMaxProfile" {
        "ChargingStationMaxProfile".into()
    } else {
        purpose
    }
}

fn spec(body: &ChargingProfileBody) -> ProfileSpec {
    ProfileSpec {
        stack_level: body.stack_level,
        purpose: neutral_purpose(body.purpose.clone()),
        kind: body.kind.clone(),
        recurrency: body.recurrency.clone(),
        valid_from: body.valid_from,
        valid_to: body.valid_to,
        transaction_id: body.transaction_id.clone(),
        schedules: body
            .schedules
            .iter()
            .map(|s| Schedule {
                start_schedule: s.start_schedule,
                duration: s.duration,
                charging_rate_unit: s.charging_rate_unit.clone(),
                min_charging_rate: s.min_charging_rate,
                periods: s
                    .periods
                    .iter()
                    .map(|p| SchedulePeriod {
                        start_period: p.start_period,
                        limit: p.limit,
                        number_phases: p.number_phases,
                        phase_to_use: p.phase_to_use,
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn view(p: ChargingProfile) -> ChargingProfileView {
    let spec = p.spec;
    ChargingProfileView {
        id: p.id,
        profile: ChargingProfileBody {
            description: p.description,
            stack_level: spec.stack_level,
            purpose: spec.purpose,
            kind: spec.kind,
            recurrency: spec.recurrency,
            valid_from: spec.valid_from,
            valid_to: spec.valid_to,
            transaction_id: spec.transaction_id,
            schedules: spec
                .schedules
                .into_iter()
                .map(|s| ScheduleBody {
                    start_schedule: s.start_schedule,
                    duration: s.duration,
                    charging_rate_unit: s.charging_rate_unit,
                    min_charging_rate: s.min_charging_rate,
                    periods: s
                        .periods
                        .into_iter()
                        .map(|p| PeriodBody {
                            start_period: p.start_period,
                            limit: p.limit,
                            number_phases: p.number_phases,
                            phase_to_use: p.phase_to_use,
                        })
                        .collect(),
                })
                .collect(),
        },
        created_at: p.created_at,
        installations: p
            .installations
            .into_iter()
            .map(|i| InstallationView {
                charger_id: i.charger.as_str().to_owned(),
                evse_id: i.evse_id,
                status: i.status,
                charger_status: i.charger_status,
                updated_at: i.updated_at,
            })
            .collect(),
    }
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

fn number(n: f64) -> Value {
    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
}

/// The SetChargingProfile payload of `version` for profile `id` on `evse_id`.
fn set_charging_profile(
    version: OcppVersion,
    id: i64,
    evse_id: u32,
    spec: &ProfileSpec,
) -> Result<Value, ApiError> {
    let v16 = version == OcppVersion::V16;
    let mut profile = Map::new();
    if v16 {
        profile.insert("chargingProfileId".into(), id.into());
        if let Some(tx) = &spec.transaction_id {
            let tx: i64 = tx.parse().map_err(|_| {
                ApiError::BadRequest("an OCPP 1.6 transaction_id is an integer".into())
            })?;
            profile.insert("transactionId".into(), tx.into());
        }
    } else {
        profile.insert("id".into(), id.into());
    }
    profile.insert("stackLevel".into(), spec.stack_level.into());
    let purpose = match (v16, spec.purpose.as_str()) {
        (true, "ChargingStationMaxProfile") => "ChargePointMaxProfile".to_owned(),
        (_, other) => other.to_owned(),
    };
    profile.insert("chargingProfilePurpose".into(), purpose.into());
    profile.insert("chargingProfileKind".into(), spec.kind.clone().into());
    put(&mut profile, "recurrencyKind", spec.recurrency.clone());
    put(&mut profile, "validFrom", spec.valid_from.map(timestamp));
    put(&mut profile, "validTo", spec.valid_to.map(timestamp));
    if !v16 {
        put(&mut profile, "transactionId", spec.transaction_id.clone());
    }
    let schedule = |index: usize, s: &Schedule| {
        let mut map = Map::new();
        if !v16 {
            map.insert("id".into(), (index + 1).into());
        }
        put(&mut map, "startSchedule", s.start_schedule.map(timestamp));
        put(&mut map, "duration", s.duration);
        map.insert(
            "chargingRateUnit".into(),
            s.charging_rate_unit.clone().into(),
        );
        let periods: Vec<Value> = s
            .periods
            .iter()
            .map(|p| {
                let mut period = Map::new();
                period.insert("startPeriod".into(), p.start_period.into());
                period.insert("limit".into(), number(p.limit));
                put(&mut period, "numberPhases", p.number_phases);
                if !v16 {
                    put(&mut period, "phaseToUse", p.phase_to_use);
                }
                Value::Object(period)
            })
            .collect();
        map.insert("chargingSchedulePeriod".into(), periods.into());
        put(&mut map, "minChargingRate", s.min_charging_rate.map(number));
        Value::Object(map)
    };
    if v16 {
        let [only] = spec.schedules.as_slice() else {
            return Err(ApiError::BadRequest(
                "an OCPP 1.6 charging profile has exactly one schedule".into(),
            ));
        };
        if only.periods.iter().any(|p| p.phase_to_use.is_some()) {
            return Err(ApiError::BadRequest(
                "phase_to_use is not available in OCPP 1.6".into(),
            ));
        }
        profile.insert("chargingSchedule".into(), schedule(0, only));
        Ok(json!({"connectorId": evse_id, "csChargingProfiles": profile}))
    } else {
        let schedules: Vec<Value> = spec
            .schedules
            .iter()
            .enumerate()
            .map(|(i, s)| schedule(i, s))
            .collect();
        profile.insert("chargingSchedule".into(), schedules.into());
        Ok(json!({"evseId": evse_id, "chargingProfile": profile}))
    }
}

/// Store a charging profile.
#[utoipa::path(post, path = "/api/v1/charging-profiles", tag = "charging-profiles",
    request_body = ChargingProfileBody,
    responses(
        (status = 201, body = ChargingProfileView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    _: Operator,
    Body(body): Body<ChargingProfileBody>,
) -> Result<(StatusCode, Json<ChargingProfileView>), ApiError> {
    let spec = spec(&body);
    spec.check()?;
    // A profile must be sendable: it is judged by the 2.0.1 schema now (and by the charger's
    // own version's schema when it is installed).
    let payload = set_charging_profile(OcppVersion::V201, 1, 0, &spec)?;
    charger_call::validate(OcppVersion::V201, "SetChargingProfile", &payload)?;
    let profile = state
        .services
        .charging_profiles
        .create(&body.description, &spec)
        .await?;
    Ok((StatusCode::CREATED, Json(view(profile))))
}

/// List charging profiles, oldest first.
#[utoipa::path(get, path = "/api/v1/charging-profiles", tag = "charging-profiles",
    params(ChargingProfileQuery),
    responses((status = 200, body = ChargingProfilePage), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Query(query): Query<ChargingProfileQuery>,
) -> Result<Json<ChargingProfilePage>, ApiError> {
    let limit = page::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid cursor {c:?}")))
        })
        .transpose()?;
    let charger = query
        .charger_id
        .as_deref()
        .map(ChargerId::new)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let profiles = state
        .services
        .charging_profiles
        .list(charger.as_ref(), after, limit + 1)
        .await?;
    let (profiles, next_cursor) = page::split(profiles, limit, |p| p.id.to_string());
    Ok(Json(ChargingProfilePage {
        items: profiles.into_iter().map(view).collect(),
        next_cursor,
    }))
}

async fn find(state: &ApiState, id: &str) -> Result<ChargingProfile, ApiError> {
    let not_found = || ApiError::NotFound(format!("no charging profile {id}"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    state
        .services
        .charging_profiles
        .get(id)
        .await?
        .ok_or_else(not_found)
}

/// Show one charging profile with its installations.
#[utoipa::path(get, path = "/api/v1/charging-profiles/{id}", tag = "charging-profiles",
    params(("id" = i64, Path, description = "the profile id")),
    responses((status = 200, body = ChargingProfileView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<ChargingProfileView>, ApiError> {
    Ok(Json(view(find(&state, &id).await?)))
}

/// Delete a stored profile that is installed nowhere.
#[utoipa::path(delete, path = "/api/v1/charging-profiles/{id}", tag = "charging-profiles",
    params(("id" = i64, Path, description = "the profile id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "still installed on a charger", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<ApiState>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let profile = find(&state, &id).await?;
    if let Some(on) = profile
        .installations
        .iter()
        .find(|i| i.status == "installed")
    {
        return Err(ApiError::Conflict(format!(
            "charging profile {} is installed on charger {}: clear it there first",
            profile.id, on.charger
        )));
    }
    state.services.charging_profiles.delete(profile.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Install a profile on a charger (SetChargingProfile).
#[utoipa::path(post, path = "/api/v1/charging-profiles/{id}/installations", tag = "charging-profiles",
    params(("id" = i64, Path, description = "the profile id")),
    request_body = InstallationBody,
    responses(
        (status = 200, body = ChargingProfileView, description = "the charger accepted the profile"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline, or it refused (recorded as refused)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn install(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    Body(body): Body<InstallationBody>,
) -> Result<Json<ChargingProfileView>, ApiError> {
    let profile = find(&state, &id).await?;
    let (charger, version) = connected(&state, &body.charger_id).await?;
    let payload = set_charging_profile(version, profile.id, body.evse_id, &profile.spec)?;
    let sent = charger_call::call(
        &state,
        &caller,
        "charging-profile install",
        &charger,
        version,
        "SetChargingProfile",
        payload,
    )
    .await;
    let (status, word) = match &sent {
        Err(ApiError::InvalidOcpp(_)) => ("", String::new()),
        Ok(exchange) if exchange.status() == "Accepted" => ("installed", "Accepted".to_owned()),
        Ok(exchange) => ("refused", exchange.status().to_owned()),
        Err(error) => ("failed", error.problem().title),
    };
    if status.is_empty() {
        // Not valid for this charger's version: nothing was sent, nothing to record.
        return Err(sent
            .err()
            .unwrap_or(ApiError::Internal("unreachable".into())));
    }
    let now = state
        .services
        .charging_profiles
        .record_installation(profile.id, &charger, body.evse_id, status, Some(&word))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no charging profile {id}")))?;
    sent?;
    if status == "refused" {
        return Err(ApiError::Conflict(format!(
            "charger {charger} refused charging profile {} ({word}); recorded as refused",
            profile.id
        )));
    }
    Ok(Json(view(now)))
}

/// Clear a profile from a charger (ClearChargingProfile).
#[utoipa::path(delete, path = "/api/v1/charging-profiles/{id}/installations/{charger_id}", tag = "charging-profiles",
    params(
        ("id" = i64, Path, description = "the profile id"),
        ("charger_id" = String, Path, description = "the charger it is installed on"),
    ),
    responses(
        (status = 200, body = ChargingProfileView, description = "cleared (the charger answered Accepted or Unknown)"),
        (status = 404, description = "no such profile, or no installation on that charger", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn clear(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path((id, charger_id)): Path<(String, String)>,
) -> Result<Json<ChargingProfileView>, ApiError> {
    let profile = find(&state, &id).await?;
    let installation = profile
        .installations
        .iter()
        .find(|i| i.charger.as_str() == charger_id)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "charging profile {} has no installation on charger {charger_id}",
                profile.id
            ))
        })?;
    let evse_id = installation.evse_id;
    let (charger, version) = connected(&state, &charger_id).await?;
    let payload = if version == OcppVersion::V16 {
        json!({"id": profile.id})
    } else {
        json!({"chargingProfileId": profile.id})
    };
    let exchange = charger_call::call(
        &state,
        &caller,
        "charging-profile clear",
        &charger,
        version,
        "ClearChargingProfile",
        payload,
    )
    .await?;
    let status = exchange.status();
    let now = state
        .services
        .charging_profiles
        .record_installation(profile.id, &charger, evse_id, "cleared", Some(status))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no charging profile {id}")))?;
    Ok(Json(view(now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> ChargingProfileBody {
        serde_json::from_value(json!({
            "description": "evening cap",
            "stack_level": 1,
            "purpose": "ChargePointMaxProfile",
            "kind": "Absolute",
            "schedules": [{"charging_rate_unit": "A", "periods": [
                {"start_period": 0, "limit": 16.0, "number_phases": 3},
                {"start_period": 1800, "limit": 10.5}
            ]}]
        }))
        .unwrap()
    }

    #[test]
    fn one_profile_is_valid_in_every_version() {
        let spec = spec(&body());
        assert_eq!(spec.purpose, "ChargingStationMaxProfile");
        for version in OcppVersion::NEWEST_FIRST {
            let payload = set_charging_profile(version, 4, 1, &spec).unwrap();
            charger_call::validate(version, "SetChargingProfile", &payload)
                .unwrap_or_else(|e| panic!("{version}: {e}"));
        }
        let v16 = set_charging_profile(OcppVersion::V16, 4, 1, &spec).unwrap();
        assert_eq!(
            v16["csChargingProfiles"]["chargingProfilePurpose"],
            "ChargePointMaxProfile"
        );
    }

    #[test]
    fn two_schedules_do_not_fit_1_6() {
        let mut spec = spec(&body());
        spec.schedules.push(spec.schedules[0].clone());
        assert!(set_charging_profile(OcppVersion::V16, 1, 0, &spec).is_err());
        assert!(set_charging_profile(OcppVersion::V201, 1, 0, &spec).is_ok());
    }
}
