//! Diagnostics and logs: `POST /api/v1/chargers/{id}/diagnostics` asks a charger for a
//! file (1.6 GetDiagnostics, or GetLog — 1.6 security whitepaper and 2.x — when a
//! `log_type` is given or the charger speaks 2.x) to be uploaded to this server
//! ([`crate::files`]); operators list the requests with their status history and download
//! what arrived.
//!
//! Each request has its own upload URL whose token opens that request's upload once; the
//! request is recorded before it is sent (its id is the GetLog `requestId`), so the status
//! notifications and the upload that follow the charger's answer find it.

use ampere_domain::file_transfer::STATUS_CALL_FAILED;
use ampere_domain::{LogKind, LogRequest, NewLogRequest};
use ampere_ocpp::OcppVersion;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::{Operator, Viewer};
use crate::commands::{connected, json_body, validate};
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::firmware::{
    StatusView, call, cursor, history_view, put, record_command, registered, wire_time,
};
use crate::page::{self, PageParams, page_type};

/// The file a charger uploaded for a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadedFileView {
    pub filename: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the content as received.
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
    /// Where to download it (bearer auth).
    pub download_path: String,
}

/// A diagnostics or log request and what came of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiagnosticsView {
    pub id: i64,
    pub charger_id: String,
    /// The `requestId` sent in GetLog and echoed in LogStatusNotification.
    pub request_id: i64,
    /// `Diagnostics` (1.6 GetDiagnostics), `DiagnosticsLog` or `SecurityLog` (GetLog).
    pub log_type: String,
    pub start_time: Option<DateTime<Utc>>,
    pub stop_time: Option<DateTime<Utc>>,
    pub retries: Option<i64>,
    pub retry_interval: Option<i64>,
    /// `Requested`, the charger's answer (`Accepted`, `Rejected`, …), `CallFailed`, then
    /// the status notifications (`Uploading`, `Uploaded`, `UploadFailed`/`UploadFailure`, …).
    pub status: String,
    /// The file name the charger announced in its answer.
    pub charger_filename: Option<String>,
    /// The file, once the charger uploaded it.
    pub file: Option<UploadedFileView>,
    /// Until when the charger's upload URL works.
    pub upload_expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every status, oldest first.
    pub history: Vec<StatusView>,
}

page_type!(
    /// A page of diagnostics requests, newest first.
    DiagnosticsPage,
    DiagnosticsView
);

/// The answer to a diagnostics request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiagnosticsAnswer {
    pub diagnostics: DiagnosticsView,
    /// The subprotocol the charger is connected with.
    pub protocol: String,
    /// `GetDiagnostics` or `GetLog`.
    pub action: String,
    /// The payload sent, as it went on the wire.
    pub request: Value,
    /// The charger's response payload.
    pub response: Value,
}

fn view(r: LogRequest) -> DiagnosticsView {
    let req = r.request;
    DiagnosticsView {
        id: r.id,
        charger_id: req.charger.as_str().to_owned(),
        request_id: r.id,
        log_type: req.kind.as_str().to_owned(),
        start_time: req.start_time,
        stop_time: req.stop_time,
        retries: req.retries,
        retry_interval: req.retry_interval,
        status: r.status,
        charger_filename: r.charger_filename,
        file: r.file.map(|f| UploadedFileView {
            filename: f.filename,
            size: f.size,
            sha256: f.sha256,
            uploaded_at: f.uploaded_at,
            download_path: format!("/api/v1/diagnostics/{}/file", r.id),
        }),
        upload_expires_at: r.upload_expires_at,
        created_at: r.created_at,
        updated_at: r.updated_at,
        history: history_view(r.history),
    }
}

/// `POST /api/v1/chargers/{id}/diagnostics`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiagnosticsBody {
    /// Oldest entries wanted (GetDiagnostics `startTime`, GetLog `oldestTimestamp`).
    pub start_time: Option<DateTime<Utc>>,
    /// Newest entries wanted (GetDiagnostics `stopTime`, GetLog `latestTimestamp`).
    pub stop_time: Option<DateTime<Utc>>,
    pub retries: Option<i64>,
    /// Seconds between retries.
    pub retry_interval: Option<i64>,
    /// `DiagnosticsLog` or `SecurityLog`: sends GetLog (1.6 security whitepaper, 2.x).
    /// Absent: 1.6 GetDiagnostics, 2.x GetLog `DiagnosticsLog`.
    pub log_type: Option<String>,
}

/// The kind of request the body asks of a charger of this version.
fn kind(version: OcppVersion, b: &DiagnosticsBody) -> Result<LogKind, ApiError> {
    match (version, b.log_type.as_deref()) {
        (OcppVersion::V16, None) => Ok(LogKind::Diagnostics),
        (_, None) => Ok(LogKind::DiagnosticsLog),
        (_, Some(name @ ("DiagnosticsLog" | "SecurityLog"))) => {
            name.parse().map_err(ApiError::BadRequest)
        }
        (_, Some(other)) => Err(ApiError::BadRequest(format!(
            "log_type must be DiagnosticsLog or SecurityLog, not {other:?}"
        ))),
    }
}

/// The action and payload that ask for `kind` to be uploaded to `location`.
fn payload(
    kind: LogKind,
    b: &DiagnosticsBody,
    location: &str,
    request_id: i64,
) -> (&'static str, Value) {
    let mut map = Map::new();
    if kind == LogKind::Diagnostics {
        map.insert("location".into(), location.into());
        put(&mut map, "retries", b.retries);
        put(&mut map, "retryInterval", b.retry_interval);
        put(&mut map, "startTime", b.start_time.map(wire_time));
        put(&mut map, "stopTime", b.stop_time.map(wire_time));
        return ("GetDiagnostics", Value::Object(map));
    }
    let mut log = Map::new();
    log.insert("remoteLocation".into(), location.into());
    put(&mut log, "oldestTimestamp", b.start_time.map(wire_time));
    put(&mut log, "latestTimestamp", b.stop_time.map(wire_time));
    map.insert("log".into(), Value::Object(log));
    map.insert("logType".into(), kind.as_str().into());
    map.insert("requestId".into(), request_id.into());
    put(&mut map, "retries", b.retries);
    put(&mut map, "retryInterval", b.retry_interval);
    ("GetLog", Value::Object(map))
}

/// Ask a charger to upload diagnostics or a log to this server: 1.6 GetDiagnostics (or
/// GetLog with `log_type`), 2.x GetLog. The file arrives at the request's own upload URL
/// and is then at `/api/v1/diagnostics/{id}/file`.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/diagnostics", tag = "diagnostics",
    params(("id" = String, Path, description = "charger identity")),
    request_body = DiagnosticsBody,
    responses(
        (status = 200, body = DiagnosticsAnswer, description = "the charger's response"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn request(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<DiagnosticsAnswer>, ApiError> {
    let request = json_body(&body)?;
    let result = async {
        let b: DiagnosticsBody = serde_json::from_value(request.clone())
            .map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))?;
        let (charger, version) = connected(&state, &id).await?;
        let kind = kind(version, &b)?;
        // Checked with stand-ins, so an invalid request is never recorded.
        let stand_in = state.files.upload_url(&"x".repeat(43));
        let (action, stand_in) = payload(kind, &b, &stand_in, 1);
        validate(version, action, &stand_in)?;
        let files = &state.services.file_transfers;
        let (started, token) = files
            .start_log_request(NewLogRequest {
                charger: charger.clone(),
                kind,
                start_time: b.start_time,
                stop_time: b.stop_time,
                retries: b.retries,
                retry_interval: b.retry_interval,
                requested_by: Some(caller.token.name.clone()),
            })
            .await?;
        let location = state.files.upload_url(token.expose());
        let (_, wire) = payload(kind, &b, &location, started.id);
        match call(&state, &charger, version, action, wire).await {
            Ok((sent, response)) => {
                // GetDiagnostics answers only a file name (none: nothing to upload).
                let status = response
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("Accepted");
                let filename = response
                    .get("fileName")
                    .or_else(|| response.get("filename"))
                    .and_then(Value::as_str);
                let updated = files
                    .log_request_answered(started.id, status, filename)
                    .await?
                    .unwrap_or(started);
                let answer = DiagnosticsAnswer {
                    diagnostics: view(updated),
                    protocol: version.subprotocol().to_owned(),
                    action: action.to_owned(),
                    request: sent,
                    response: response.clone(),
                };
                Ok((answer, response))
            }
            Err(error) => {
                if let Err(e) = files
                    .log_request_answered(started.id, STATUS_CALL_FAILED, None)
                    .await
                {
                    tracing::warn!(error = %e, "log request's failure not recorded");
                }
                Err(error)
            }
        }
    }
    .await;
    record_command(&state, &caller, "diagnostics", &id, request, result)
        .await
        .map(Json)
}

/// A charger's diagnostics and log requests, newest first.
#[utoipa::path(get, path = "/api/v1/chargers/{id}/diagnostics", tag = "diagnostics",
    params(("id" = String, Path, description = "charger identity"), PageParams),
    responses(
        (status = 200, body = DiagnosticsPage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<Json<DiagnosticsPage>, ApiError> {
    let charger = registered(&state, &id).await?;
    let limit = page::limit(params.limit)?;
    let before = cursor(params.cursor.as_deref())?;
    let requests = state
        .services
        .file_transfers
        .list_log_requests(&charger, before, limit + 1)
        .await?;
    let (requests, next_cursor) = page::split(requests, limit, |r| r.id.to_string());
    Ok(Json(DiagnosticsPage {
        items: requests.into_iter().map(view).collect(),
        next_cursor,
    }))
}

/// A request by the id in its path (parsed here, so a bad one is a problem document too).
async fn find(state: &ApiState, id: &str) -> Result<LogRequest, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no diagnostics request {id:?}")))?;
    state
        .services
        .file_transfers
        .log_request(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no diagnostics request {id}")))
}

/// One diagnostics or log request.
#[utoipa::path(get, path = "/api/v1/diagnostics/{id}", tag = "diagnostics",
    params(("id" = i64, Path, description = "request id")),
    responses(
        (status = 200, body = DiagnosticsView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<DiagnosticsView>, ApiError> {
    Ok(Json(view(find(&state, &id).await?)))
}

/// The file the charger uploaded, byte for byte (`Range` supported).
#[utoipa::path(get, path = "/api/v1/diagnostics/{id}/file", tag = "diagnostics",
    params(("id" = i64, Path, description = "request id")),
    responses(
        (status = 200, description = "the file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "no such request, or nothing uploaded yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn file(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let found = find(&state, &id).await?;
    let file = found
        .file
        .ok_or_else(|| ApiError::NotFound(format!("request {id} has no uploaded file yet")))?;
    let path = state.files.uploads_dir().join(&file.stored_as);
    crate::files::serve_file(&path, &file.filename, request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> DiagnosticsBody {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn each_version_gets_its_own_valid_message() {
        let b = body(json!({
            "start_time": "2026-11-01T00:00:00Z", "stop_time": "2026-11-02T00:00:00Z",
            "retries": 1, "retry_interval": 10,
        }));
        let location = "http://h/files/uploads/tok/";
        let k = kind(OcppVersion::V16, &b).unwrap();
        assert_eq!(k, LogKind::Diagnostics);
        let (action, p) = payload(k, &b, location, 5);
        assert_eq!(action, "GetDiagnostics");
        assert_eq!(
            p,
            json!({"location": location, "retries": 1, "retryInterval": 10,
                   "startTime": "2026-11-01T00:00:00Z", "stopTime": "2026-11-02T00:00:00Z"})
        );
        validate(OcppVersion::V16, action, &p).unwrap();

        let security = body(json!({"log_type": "SecurityLog"}));
        for version in OcppVersion::NEWEST_FIRST {
            let k = kind(version, &security).unwrap();
            let (action, p) = payload(k, &security, location, 5);
            assert_eq!(action, "GetLog");
            assert_eq!(p["logType"], "SecurityLog");
            assert_eq!(p["requestId"], 5);
            validate(version, action, &p).unwrap();
        }
        assert_eq!(
            kind(OcppVersion::V201, &b).unwrap(),
            LogKind::DiagnosticsLog
        );
        assert!(kind(OcppVersion::V201, &body(json!({"log_type": "Everything"}))).is_err());
    }
}
