//! `/api/v1/reservations`: reserve an EVSE of a charger for a token (ReserveNow), cancel it
//! (CancelReservation), and read what became of it.
//!
//! Answers an integrator can act on:
//! - `POST` → 201 with the reservation when the charger accepted (`status: active`). When the
//!   charger refused (Faulted, Occupied, Rejected, Unavailable) the reservation is kept as
//!   `refused` with the charger's word in `charger_status`, and the answer is 409 naming it:
//!   the seat was not reserved, so a client that only checks for 2xx does the right thing.
//!   Offline → 409 and nothing is stored; no answer → 504, CALLERROR → 502, and the
//!   reservation is kept as `failed` (the charger may still hold it: DELETE cancels it there).
//! - `DELETE` → 200 with the reservation, now `cancelled`, when the charger answered
//!   CancelReservation (also when it answered `Rejected`, i.e. it holds no such reservation:
//!   either way nothing is held any more; `charger_status` says which). A reservation that is
//!   no longer open → 409 and nothing is sent.
//! - Expiry is computed on read: an active reservation past `expires_at` reads as `expired`,
//!   in `GET` and in the `status` filter alike.
//!
//! Version mapping: 1.6 reserves a connector (`evse_id` → `connectorId`, absent → 0: any);
//! 2.x reserves an EVSE (`evseId`, absent: any) and may name a `connectorType`. The group
//! goes as 1.6 `parentIdTag` / 2.x `groupIdToken` (type `Central`).

use ampere_domain::{ChargerId, NewReservation, Reservation, ReservationFilter, ReservationStatus};
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

/// A reservation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReservationView {
    /// Also the OCPP `reservationId`.
    pub id: i64,
    pub charger_id: String,
    /// Absent: any EVSE of the charger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<u32>,
    /// 2.x `connectorType`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_type: Option<String>,
    pub id_token: String,
    pub id_token_type: String,
    /// The group whose tokens may also use it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id_token: Option<String>,
    pub expires_at: DateTime<Utc>,
    /// `pending`, `active`, `refused`, `failed`, `cancelled`, `expired`, `removed`, `used`.
    pub status: String,
    /// The charger's last word on it (e.g. `Accepted`, `Occupied`, `Removed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charger_status: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

page_type!(
    /// A page of reservations, newest first.
    ReservationPage,
    ReservationView
);

/// `POST /api/v1/reservations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReservationBody {
    pub charger_id: String,
    /// 1.6: the connector; 2.x: the EVSE. Absent: any.
    pub evse_id: Option<u32>,
    /// 1.6 only, and only 1 (a 1.6 connector is an EVSE with one connector).
    pub connector_id: Option<u32>,
    /// 2.x only, e.g. `cType2`, `cCCS2`.
    pub connector_type: Option<String>,
    pub id_token: String,
    /// 2.x token type (default `ISO14443`).
    pub id_token_type: Option<String>,
    /// A group whose tokens may also use the reservation.
    pub group_id_token: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReservationQuery {
    pub charger_id: Option<String>,
    /// `pending`, `active`, `refused`, `failed`, `cancelled`, `expired`, `removed`, `used`.
    pub status: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn view(r: Reservation) -> ReservationView {
    ReservationView {
        id: r.id,
        charger_id: r.charger.as_str().to_owned(),
        evse_id: r.evse_id,
        connector_id: r.connector_id,
        connector_type: r.connector_type,
        id_token: r.id_token,
        id_token_type: r.id_token_type,
        group_id_token: r.group_id_token,
        expires_at: r.expires_at,
        status: r.status.as_str().to_owned(),
        charger_status: r.charger_status,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

/// The ReserveNow payload of `version` for reservation `id`.
fn reserve_now(version: OcppVersion, id: i64, new: &NewReservation) -> Result<Value, ApiError> {
    let mut map = Map::new();
    if version == OcppVersion::V16 {
        if new.connector_type.is_some() {
            return Err(ApiError::BadRequest(
                "connector_type is not available in OCPP 1.6".into(),
            ));
        }
        if new.connector_id.is_some_and(|c| c != 1) {
            return Err(ApiError::BadRequest(
                "an OCPP 1.6 charger has one connector per EVSE: connector_id must be 1".into(),
            ));
        }
        map.insert("connectorId".into(), new.evse_id.unwrap_or(0).into());
        map.insert("expiryDate".into(), timestamp(new.expires_at).into());
        map.insert("idTag".into(), new.id_token.clone().into());
        put(&mut map, "parentIdTag", new.group_id_token.clone());
        map.insert("reservationId".into(), id.into());
    } else {
        if new.connector_id.is_some() {
            return Err(ApiError::BadRequest(
                "OCPP 2.x reserves an EVSE, not a connector: give evse_id (and connector_type)"
                    .into(),
            ));
        }
        map.insert("id".into(), id.into());
        map.insert("expiryDateTime".into(), timestamp(new.expires_at).into());
        put(&mut map, "connectorType", new.connector_type.clone());
        map.insert(
            "idToken".into(),
            json!({"idToken": new.id_token, "type": new.id_token_type}),
        );
        put(&mut map, "evseId", new.evse_id);
        if let Some(group) = &new.group_id_token {
            map.insert(
                "groupIdToken".into(),
                json!({"idToken": group, "type": "Central"}),
            );
        }
    }
    Ok(Value::Object(map))
}

/// The reservation as a problem for a refusal: what the charger said, and where it is kept.
fn refused(r: &Reservation) -> ApiError {
    ApiError::Conflict(format!(
        "charger {} refused the reservation ({}); it is kept as reservation {} with status refused",
        r.charger,
        r.charger_status.as_deref().unwrap_or("no status"),
        r.id
    ))
}

/// Reserve an EVSE on a charger (ReserveNow).
#[utoipa::path(post, path = "/api/v1/reservations", tag = "reservations",
    request_body = NewReservationBody,
    responses(
        (status = 201, body = ReservationView, description = "the charger accepted: the reservation is active"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown charger", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline (nothing stored), or the charger refused (kept as refused)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR (kept as failed)", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time (kept as failed)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Body(body): Body<NewReservationBody>,
) -> Result<(StatusCode, Json<ReservationView>), ApiError> {
    let (charger, version) = connected(&state, &body.charger_id).await?;
    let new = NewReservation {
        charger: charger.clone(),
        evse_id: body.evse_id,
        connector_id: body.connector_id,
        connector_type: body.connector_type,
        id_token: body.id_token,
        id_token_type: body.id_token_type.unwrap_or_else(|| "ISO14443".into()),
        group_id_token: body.group_id_token,
        expires_at: body.expires_at,
    };
    // Judged before anything is stored, so a malformed request leaves no trace.
    charger_call::validate(version, "ReserveNow", &reserve_now(version, 1, &new)?)?;
    let reservations = &state.services.reservations;
    let stored = reservations.create(&new).await?;
    let payload = reserve_now(version, stored.id, &new)?;
    let sent = charger_call::call(
        &state,
        &caller,
        "reservation create",
        &charger,
        version,
        "ReserveNow",
        payload,
    )
    .await;
    let (status, word) = match &sent {
        Ok(exchange) if exchange.status() == "Accepted" => {
            (ReservationStatus::Active, exchange.status().to_owned())
        }
        Ok(exchange) => (ReservationStatus::Refused, exchange.status().to_owned()),
        Err(error) => (ReservationStatus::Failed, error.problem().title),
    };
    let now = reservations
        .record(stored.id, status, Some(&word))
        .await?
        .ok_or_else(|| ApiError::Internal(format!("reservation {} vanished", stored.id)))?;
    sent?;
    if now.status == ReservationStatus::Refused {
        return Err(refused(&now));
    }
    Ok((StatusCode::CREATED, Json(view(now))))
}

/// List reservations, newest first.
#[utoipa::path(get, path = "/api/v1/reservations", tag = "reservations", params(ReservationQuery),
    responses((status = 200, body = ReservationPage), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Query(query): Query<ReservationQuery>,
) -> Result<Json<ReservationPage>, ApiError> {
    let limit = page::limit(query.limit)?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<ReservationStatus>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let before_id = query
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
    let filter = ReservationFilter {
        charger,
        status,
        before_id,
        limit: limit + 1,
    };
    let reservations = state.services.reservations.list(&filter).await?;
    let (reservations, next_cursor) = page::split(reservations, limit, |r| r.id.to_string());
    Ok(Json(ReservationPage {
        items: reservations.into_iter().map(view).collect(),
        next_cursor,
    }))
}

async fn find(state: &ApiState, id: &str) -> Result<Reservation, ApiError> {
    let not_found = || ApiError::NotFound(format!("no reservation {id}"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    state
        .services
        .reservations
        .get(id)
        .await?
        .ok_or_else(not_found)
}

/// Show one reservation.
#[utoipa::path(get, path = "/api/v1/reservations/{id}", tag = "reservations",
    params(("id" = i64, Path, description = "the reservation id")),
    responses((status = 200, body = ReservationView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<ReservationView>, ApiError> {
    Ok(Json(view(find(&state, &id).await?)))
}

/// Cancel a reservation on its charger (CancelReservation).
#[utoipa::path(delete, path = "/api/v1/reservations/{id}", tag = "reservations",
    params(("id" = i64, Path, description = "the reservation id")),
    responses(
        (status = 200, body = ReservationView, description = "cancelled; `charger_status` is the charger's answer"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "not open any more, or the charger is offline", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
) -> Result<Json<ReservationView>, ApiError> {
    let reservation = find(&state, &id).await?;
    if !reservation.status.is_open() {
        return Err(ApiError::Conflict(format!(
            "reservation {} is {}, not open",
            reservation.id, reservation.status
        )));
    }
    let (charger, version) = connected(&state, reservation.charger.as_str()).await?;
    let exchange = charger_call::call(
        &state,
        &caller,
        "reservation cancel",
        &charger,
        version,
        "CancelReservation",
        json!({"reservationId": reservation.id}),
    )
    .await?;
    let now = state
        .services
        .reservations
        .record(
            reservation.id,
            ReservationStatus::Cancelled,
            Some(exchange.status()),
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no reservation {id}")))?;
    Ok(Json(view(now)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ampere_domain::DomainError;

    fn new(evse: Option<u32>, group: Option<&str>) -> NewReservation {
        NewReservation {
            charger: ChargerId::new("CP").unwrap(),
            evse_id: evse,
            connector_id: None,
            connector_type: None,
            id_token: "TAG".into(),
            id_token_type: "ISO14443".into(),
            group_id_token: group.map(str::to_owned),
            expires_at: DateTime::parse_from_rfc3339("2030-01-01T10:00:00Z")
                .unwrap()
                .to_utc(),
        }
    }

    #[test]
    fn reserve_now_is_valid_in_every_version() {
        for version in OcppVersion::NEWEST_FIRST {
            for r in [new(None, None), new(Some(2), Some("FLEET"))] {
                let payload = reserve_now(version, 7, &r).unwrap();
                charger_call::validate(version, "ReserveNow", &payload)
                    .unwrap_or_else(|e| panic!("{version}: {e}"));
            }
        }
        assert_eq!(
            reserve_now(OcppVersion::V16, 7, &new(None, None)).unwrap(),
            json!({"connectorId": 0, "expiryDate": "2030-01-01T10:00:00Z", "idTag": "TAG", "reservationId": 7})
        );
    }

    #[test]
    fn fields_of_the_other_version_are_refused() {
        let mut typed = new(Some(1), None);
        typed.connector_type = Some("cType2".into());
        assert!(reserve_now(OcppVersion::V16, 1, &typed).is_err());
        let mut connector = new(Some(1), None);
        connector.connector_id = Some(1);
        assert!(reserve_now(OcppVersion::V201, 1, &connector).is_err());
        assert!(reserve_now(OcppVersion::V16, 1, &connector).is_ok());
    }

    #[test]
    fn domain_errors_are_bad_requests() {
        let e: ApiError = DomainError::Invalid("x".into()).into();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }
}
