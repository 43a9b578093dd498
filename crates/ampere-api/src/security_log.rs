//! `/api/v1/security-events`: the security log, newest first — what chargers reported
//! (`SecurityEventNotification`, source `charger`) and what Ampere saw at its charger
//! endpoint (failed logins, lockouts, duplicate identities, profile violations, floods,
//! oversize and compressed-bomb messages; source `ampere`).

use ampere_domain::{SecurityEventFilter, SecurityEventRecord, SecurityEventSource};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::auth::Viewer;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::page::{self, page_type};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecurityEventView {
    pub id: i64,
    /// When Ampere recorded the event (for its own events: when it saw it).
    pub time: DateTime<Utc>,
    /// `charger` (a SecurityEventNotification) or `ampere`.
    pub source: String,
    /// The charger concerned, or the identity a client claimed.
    pub charger_id: Option<String>,
    /// The charger's event type (e.g. `FirmwareUpdated`, `TamperDetectionActivated`) or
    /// Ampere's (`AuthenticationFailed`, `LockedOut`, `LockedOutAttempt`,
    /// `DuplicateConnection`, `ProfileViolation`, `CertificateRefused`, `RateLimited`,
    /// `RateLimitAbuse`, `MessageTooBig`, `CompressionBomb`, `MalformedHandshake`,
    /// `HandshakeTimeout`, `TooManyHandshakes`, `SecurityEventsDropped`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The client's address (Ampere's events).
    pub remote_addr: Option<String>,
    /// When the charger says it happened (its `timestamp`).
    pub occurred_at: Option<DateTime<Utc>>,
    /// The charger's `techInfo`.
    pub tech_info: Option<String>,
    /// Ampere's details: `reason`, `resolution`, `scope`, limits... Never a secret.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

page_type!(
    /// A page of security events, newest first.
    SecurityEventPage,
    SecurityEventView
);

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SecurityEventQuery {
    pub charger_id: Option<String>,
    /// The event type, exactly.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// `charger` or `ampere`.
    pub source: Option<String>,
    /// Events recorded at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Events recorded before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn to_view(record: SecurityEventRecord) -> SecurityEventView {
    let event = record.event;
    SecurityEventView {
        id: record.id,
        time: event.at,
        source: event.source.as_str().to_owned(),
        charger_id: event.charger_id,
        event_type: event.event_type,
        remote_addr: event.remote_addr,
        occurred_at: event.occurred_at,
        tech_info: event.tech_info,
        detail: event.detail,
    }
}

/// List security events, newest first.
#[utoipa::path(get, path = "/api/v1/security-events", tag = "security", params(SecurityEventQuery),
    responses((status = 200, body = SecurityEventPage), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Query(query): Query<SecurityEventQuery>,
) -> Result<Json<SecurityEventPage>, ApiError> {
    let limit = page::limit(query.limit)?;
    let source = query
        .source
        .as_deref()
        .map(str::parse::<SecurityEventSource>)
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
    let filter = SecurityEventFilter {
        charger_id: query.charger_id,
        event_type: query.event_type,
        source,
        since: query.since,
        until: query.until,
        before_id,
    };
    let records = state.services.security_log.list(&filter, limit + 1).await?;
    let (records, next_cursor) = page::split(records, limit, |r| r.id.to_string());
    Ok(Json(SecurityEventPage {
        items: records.into_iter().map(to_view).collect(),
        next_cursor,
    }))
}
