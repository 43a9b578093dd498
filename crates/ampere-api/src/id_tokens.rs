//! `/api/v1/id-tokens`: the tokens (RFID cards, app ids, …) chargers authorize with.

use ampere_domain::{AuthorizationStatus, IdToken, IdTokenKind, IdTokenRecord};
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

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdTokenView {
    /// The token's value; matched case-insensitively.
    pub id_token: String,
    /// OCPP 2.x `IdTokenEnum` (`ISO14443`, `eMAID`, `Central`, …); 1.6 tags are `ISO14443`.
    pub r#type: String,
    /// `Accepted`, `Blocked`, `Expired` or `Invalid`.
    pub status: String,
    pub expiry_date: Option<DateTime<Utc>>,
    /// Group (1.6 `parentIdTag`, 2.x `groupIdToken`).
    pub group_id: Option<String>,
}

page_type!(
    /// A page of id tokens, ordered by value (case-insensitively).
    IdTokenPage,
    IdTokenView
);

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdTokenBody {
    pub id_token: String,
    /// Default `ISO14443`.
    pub r#type: Option<String>,
    /// Default `Accepted`.
    pub status: Option<String>,
    pub expiry_date: Option<DateTime<Utc>>,
    pub group_id: Option<String>,
}

/// Changes a token; absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdTokenPatch {
    pub r#type: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expiry_date: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub group_id: Option<Option<String>>,
}

fn to_view(record: IdTokenRecord) -> IdTokenView {
    IdTokenView {
        id_token: record.token.value().to_owned(),
        r#type: record.token.kind().as_str().to_owned(),
        status: record.status.as_str().to_owned(),
        expiry_date: record.expiry_date,
        group_id: record.group_id,
    }
}

fn kind(text: &str) -> Result<IdTokenKind, ApiError> {
    IdTokenKind::parse(text).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn status(text: &str) -> Result<AuthorizationStatus, ApiError> {
    text.parse().map_err(ApiError::BadRequest)
}

fn group(group: Option<String>) -> Result<Option<String>, ApiError> {
    match group {
        // The longest group id any version carries (2.x idToken, 36 characters).
        Some(g) if g.is_empty() || g.chars().count() > 36 => Err(ApiError::BadRequest(
            "group_id must have 1 to 36 characters".into(),
        )),
        other => Ok(other),
    }
}

async fn find(state: &ApiState, value: &str) -> Result<IdTokenRecord, ApiError> {
    state
        .services
        .authorization
        .get(value)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no id token {value:?}")))
}

/// Add an id token.
#[utoipa::path(post, path = "/api/v1/id-tokens", tag = "id-tokens",
    request_body = NewIdTokenBody,
    responses(
        (status = 201, body = IdTokenView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the token exists", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    _: Operator,
    Body(body): Body<NewIdTokenBody>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = body.r#type.as_deref().map(kind).transpose()?;
    let token = IdToken::new(body.id_token, kind.unwrap_or(IdTokenKind::Iso14443))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if state
        .services
        .authorization
        .get(token.value())
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "id token {:?} exists; change it with PATCH",
            token.value()
        )));
    }
    let record = IdTokenRecord {
        token,
        status: body
            .status
            .as_deref()
            .map(status)
            .transpose()?
            .unwrap_or(AuthorizationStatus::Accepted),
        expiry_date: body.expiry_date,
        group_id: group(body.group_id)?,
    };
    state.services.authorization.upsert(&record).await?;
    Ok((StatusCode::CREATED, Json(to_view(record))))
}

/// List id tokens.
#[utoipa::path(get, path = "/api/v1/id-tokens", tag = "id-tokens", params(PageParams),
    responses((status = 200, body = IdTokenPage)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Query(params): Query<PageParams>,
) -> Result<Json<IdTokenPage>, ApiError> {
    let limit = page::limit(params.limit)?;
    let records = state
        .services
        .authorization
        .list(params.cursor.as_deref(), limit + 1)
        .await?;
    let (records, next_cursor) = page::split(records, limit, |r| r.token.value().to_owned());
    Ok(Json(IdTokenPage {
        items: records.into_iter().map(to_view).collect(),
        next_cursor,
    }))
}

/// Show one id token.
#[utoipa::path(get, path = "/api/v1/id-tokens/{id_token}", tag = "id-tokens",
    params(("id_token" = String, Path)),
    responses((status = 200, body = IdTokenView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Viewer,
    Path(value): Path<String>,
) -> Result<Json<IdTokenView>, ApiError> {
    Ok(Json(to_view(find(&state, &value).await?)))
}

/// Change an id token (block it, set its expiry or group).
#[utoipa::path(patch, path = "/api/v1/id-tokens/{id_token}", tag = "id-tokens",
    params(("id_token" = String, Path)),
    request_body = IdTokenPatch,
    responses((status = 200, body = IdTokenView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<ApiState>,
    _: Operator,
    Path(value): Path<String>,
    Body(patch): Body<IdTokenPatch>,
) -> Result<Json<IdTokenView>, ApiError> {
    let mut record = find(&state, &value).await?;
    if let Some(k) = patch.r#type.as_deref() {
        record.token = IdToken::new(record.token.value(), kind(k)?)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    if let Some(s) = patch.status.as_deref() {
        record.status = status(s)?;
    }
    if let Some(expiry) = patch.expiry_date {
        record.expiry_date = expiry;
    }
    if let Some(g) = patch.group_id {
        record.group_id = group(g)?;
    }
    state.services.authorization.upsert(&record).await?;
    Ok(Json(to_view(record)))
}

/// Delete an id token.
#[utoipa::path(delete, path = "/api/v1/id-tokens/{id_token}", tag = "id-tokens",
    params(("id_token" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<ApiState>,
    _: Operator,
    Path(value): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.services.authorization.delete(&value).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no id token {value:?}")))
    }
}
