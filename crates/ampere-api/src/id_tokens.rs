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

/// What an import did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportResult {
    /// Tokens created or replaced.
    pub imported: usize,
}

/// The columns an import file may have; `id_token` is required.
const IMPORT_COLUMNS: [&str; 5] = ["id_token", "type", "status", "expiry_date", "group_id"];
/// How many row errors an answer lists at most.
const MAX_REPORTED_ERRORS: usize = 20;

/// Splits CSV text (RFC 4180: `,` separators, `"` quoting with `""` for a quote, CRLF or LF)
/// into records; blank lines are skipped.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].trim().is_empty()) {
                    records.push(std::mem::take(&mut record));
                }
                record.clear();
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    record.push(field);
    if !(record.len() == 1 && record[0].trim().is_empty()) {
        records.push(record);
    }
    Ok(records)
}

/// The records of an import file, checked; every problem is reported, with its record number
/// (the header is record 1).
fn import_records(text: &str) -> Result<Vec<IdTokenRecord>, ApiError> {
    let rows = parse_csv(text).map_err(ApiError::BadRequest)?;
    let Some((header, rows)) = rows.split_first() else {
        return Err(ApiError::BadRequest("the file is empty".into()));
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for name in &header {
        if !IMPORT_COLUMNS.contains(&name.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown column {name:?} (expected {})",
                IMPORT_COLUMNS.join(", ")
            )));
        }
    }
    if !header.iter().any(|h| h == "id_token") {
        return Err(ApiError::BadRequest(
            "the header has no id_token column".into(),
        ));
    }
    let mut errors = Vec::new();
    let mut records: Vec<IdTokenRecord> = Vec::with_capacity(rows.len());
    let mut seen = std::collections::HashSet::new();
    for (index, row) in rows.iter().enumerate() {
        let number = index + 2;
        if row.len() != header.len() {
            errors.push(format!(
                "record {number}: {} fields, the header has {}",
                row.len(),
                header.len()
            ));
            continue;
        }
        let cell = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .map(|i| row[i].trim())
                .filter(|v| !v.is_empty())
        };
        let record = (|| {
            let value =
                cell("id_token").ok_or_else(|| ApiError::BadRequest("no id_token".into()))?;
            let kind = cell("type").map(kind).transpose()?;
            let token = IdToken::new(value, kind.unwrap_or(IdTokenKind::Iso14443))
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            let expiry_date = cell("expiry_date")
                .map(|d| {
                    DateTime::parse_from_rfc3339(d)
                        .map(|d| d.to_utc())
                        .map_err(|e| ApiError::BadRequest(format!("expiry_date {d:?}: {e}")))
                })
                .transpose()?;
            Ok::<_, ApiError>(IdTokenRecord {
                token,
                status: cell("status")
                    .map(status)
                    .transpose()?
                    .unwrap_or(AuthorizationStatus::Accepted),
                expiry_date,
                group_id: group(cell("group_id").map(str::to_owned))?,
            })
        })();
        match record {
            Ok(record) if !seen.insert(record.token.key()) => errors.push(format!(
                "record {number}: {:?} appears twice in the file",
                record.token.value()
            )),
            Ok(record) => records.push(record),
            Err(error) => errors.push(format!("record {number}: {error}")),
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        let total = errors.len();
        errors.truncate(MAX_REPORTED_ERRORS);
        Err(ApiError::BadRequest(format!(
            "{total} invalid record(s), nothing imported: {}",
            errors.join("; ")
        )))
    }
}

/// Import id tokens from CSV: a header row naming the columns (`id_token` required; `type`,
/// `status`, `expiry_date`, `group_id` optional, in any order), then one token per row. Empty
/// cells take the defaults of `POST /api/v1/id-tokens`. Tokens that exist are replaced. The
/// whole file is checked first: one invalid row and nothing is imported.
#[utoipa::path(post, path = "/api/v1/id-tokens/import", tag = "id-tokens",
    request_body(content = String, content_type = "text/csv",
        description = "id_token,type,status,expiry_date,group_id"),
    responses(
        (status = 200, body = ImportResult),
        (status = 400, description = "invalid file; nothing imported", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn import(
    State(state): State<ApiState>,
    _: Operator,
    body: axum::body::Bytes,
) -> Result<Json<ImportResult>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the file is not UTF-8 text".into()))?;
    let records = import_records(text)?;
    // One unit of work per token (the storage port has no batch upsert yet): a database
    // failure half-way leaves the rows before it imported, and the answer says it failed.
    for record in &records {
        state.services.authorization.upsert(record).await?;
    }
    Ok(Json(ImportResult {
        imported: records.len(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_line_ends_and_blank_lines() {
        let rows = parse_csv("a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\n\nlast,\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["a".to_owned(), "b".to_owned()],
                vec!["x,1".to_owned(), "say \"hi\"".to_owned()],
                vec!["last".to_owned(), String::new()],
            ]
        );
        assert!(parse_csv("a,\"open").is_err());
    }

    #[test]
    fn import_checks_every_row_first() {
        let ok = import_records("status,id_token,group_id\nBlocked,TAG1,\n,TAG2,\"FLEET, A\"\n")
            .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].status, AuthorizationStatus::Blocked);
        assert_eq!(ok[1].status, AuthorizationStatus::Accepted);
        assert_eq!(ok[1].group_id.as_deref(), Some("FLEET, A"));

        let err =
            import_records("id_token,status\nTAG1,Lost\nTAG2\ntag2,Accepted\nTAG2,Accepted\n")
                .unwrap_err()
                .to_string();
        assert!(err.starts_with("3 invalid record(s)"), "{err}");
        assert!(err.contains("record 2"), "{err}");
        assert!(err.contains("record 3"), "{err}");
        assert!(err.contains("record 5"), "{err}");
        assert!(import_records("token\nA\n").is_err(), "unknown column");
        assert!(
            import_records("type\nISO14443\n").is_err(),
            "no id_token column"
        );
        assert!(import_records("").is_err());
    }
}
