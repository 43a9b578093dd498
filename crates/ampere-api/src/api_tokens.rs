//! `/api/v1/api-tokens` (admin only): create, list and revoke API tokens; and
//! `/api/v1/audit-log`, what was done through the API.

use ampere_domain::{ApiRole, ApiToken, AuditEntry, AuditRecord};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Query};
use crate::page::{self, PageParams, page_type};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiTokenView {
    pub id: i64,
    pub name: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    pub created_at: DateTime<Utc>,
    /// Set once the token is revoked; it is refused from then on.
    pub revoked_at: Option<DateTime<Utc>>,
}

page_type!(
    /// A page of API tokens (revoked ones included), ordered by id.
    ApiTokenPage,
    ApiTokenView
);

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiTokenBody {
    /// What the token is for, e.g. `billing export`.
    pub name: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
}

/// A new token. `token` is shown this once; only its hash is stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedApiToken {
    pub id: i64,
    pub token: String,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The API token that did it.
    pub token_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub charger_id: Option<String>,
    pub request: Value,
    /// The charger's answer or the error, with the HTTP status answered.
    pub outcome: Value,
}

page_type!(
    /// A page of the audit log, newest first.
    AuditPage,
    AuditView
);

fn to_view(token: ApiToken) -> ApiTokenView {
    ApiTokenView {
        id: token.id,
        name: token.name,
        role: token.role.as_str().to_owned(),
        created_at: token.created_at,
        revoked_at: token.revoked_at,
    }
}

/// Appends to the audit log. A failure to write it is logged, not answered: the thing it
/// records has already happened.
pub async fn audit(
    state: &ApiState,
    caller: &Caller,
    action: String,
    charger_id: Option<String>,
    request: Value,
    outcome: Value,
) {
    let entry = AuditEntry {
        at: state.tokens.now(),
        token_id: Some(caller.token.id),
        actor: caller.actor(),
        action,
        charger_id,
        request,
        outcome,
    };
    if let Err(error) = state.tokens.audit(&entry).await {
        tracing::error!(%error, action = %entry.action, "cannot write the audit log");
    }
}

/// Create an API token (admin only).
#[utoipa::path(post, path = "/api/v1/api-tokens", tag = "api-tokens",
    request_body = NewApiTokenBody,
    responses(
        (status = 201, body = CreatedApiToken),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    Admin(caller): Admin,
    Body(body): Body<NewApiTokenBody>,
) -> Result<impl IntoResponse, ApiError> {
    let role: ApiRole = body.role.parse().map_err(ApiError::BadRequest)?;
    let (token, secret) = state.tokens.create(&body.name, role).await?;
    audit(
        &state,
        &caller,
        "api-token create".into(),
        None,
        json!({"name": token.name, "role": role.as_str()}),
        json!({"status": 201, "id": token.id}),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiToken {
            id: token.id,
            token: secret.expose().to_owned(),
            name: token.name,
            role: token.role.as_str().to_owned(),
            created_at: token.created_at,
        }),
    ))
}

/// List API tokens (admin only); secrets are never shown.
#[utoipa::path(get, path = "/api/v1/api-tokens", tag = "api-tokens", params(PageParams),
    responses((status = 200, body = ApiTokenPage), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Admin,
    Query(params): Query<PageParams>,
) -> Result<Json<ApiTokenPage>, ApiError> {
    let limit = page::limit(params.limit)?;
    let after = cursor(params.cursor.as_deref())?;
    let tokens = state.tokens.list(after, limit + 1).await?;
    let (tokens, next_cursor) = page::split(tokens, limit, |t| t.id.to_string());
    Ok(Json(ApiTokenPage {
        items: tokens.into_iter().map(to_view).collect(),
        next_cursor,
    }))
}

fn cursor(text: Option<&str>) -> Result<Option<i64>, ApiError> {
    text.map(|c| {
        c.parse()
            .map_err(|_| ApiError::BadRequest(format!("invalid cursor {c:?}")))
    })
    .transpose()
}

/// Revoke an API token (admin only); it is refused from then on.
#[utoipa::path(delete, path = "/api/v1/api-tokens/{id}", tag = "api-tokens",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, description = "no such token, or already revoked", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<ApiState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound(format!("no active API token {id}"));
    let number: i64 = id.parse().map_err(|_| not_found())?;
    if !state.tokens.revoke(number).await? {
        return Err(not_found());
    }
    audit(
        &state,
        &caller,
        "api-token revoke".into(),
        None,
        json!({"id": number}),
        json!({"status": 204}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

fn audit_view(record: AuditRecord) -> AuditView {
    AuditView {
        id: record.id,
        at: record.entry.at,
        token_id: record.entry.token_id,
        actor: record.entry.actor,
        action: record.entry.action,
        charger_id: record.entry.charger_id,
        request: record.entry.request,
        outcome: record.entry.outcome,
    }
}

/// The audit log (admin only): commands sent to chargers and API token changes, newest first.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "api-tokens", params(PageParams),
    responses((status = 200, body = AuditPage), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn audit_log(
    State(state): State<ApiState>,
    _: Admin,
    Query(params): Query<PageParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = page::limit(params.limit)?;
    let before = cursor(params.cursor.as_deref())?;
    let records = state.tokens.audit_log(before, limit + 1).await?;
    let (records, next_cursor) = page::split(records, limit, |r| r.id.to_string());
    Ok(Json(AuditPage {
        items: records.into_iter().map(audit_view).collect(),
        next_cursor,
    }))
}
