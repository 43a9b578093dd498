//! Firmware: images operators upload (`/api/v1/firmware`), updates sent to chargers
//! (`POST /api/v1/chargers/{id}/firmware-update`), and the progress chargers report
//! (`/api/v1/chargers/{id}/firmware-updates`).
//!
//! An update is recorded before it is sent (its id is the `requestId`), so the
//! FirmwareStatusNotification a charger sends right after answering finds it. It goes out
//! as 1.6 UpdateFirmware, 1.6 SignedUpdateFirmware (security whitepaper) when a signature is
//! given, or 2.x UpdateFirmware. The location of an uploaded image is its download URL on
//! this server ([`crate::files`]).
//!
//! Also the helpers the file-transfer calls share with [`crate::diagnostics`]: sending a
//! call in the charger's version (validated as every command is) and recording it in the
//! audit log and the live events.

use ampere_domain::file_transfer::{STATUS_CALL_FAILED, new_file_id};
use ampere_domain::{ChargerId, FirmwareFile, FirmwareUpdate, NewFirmwareFile, NewFirmwareUpdate};
use ampere_ocpp::{OcppVersion, v16, v21, v201};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::auth::{Caller, Operator, Viewer};
use crate::commands::{connected, json_body, send, validate};
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::page::{self, PageParams, page_type};

// ------------------------------------------------------------------ views

/// A firmware image on this server.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FirmwareView {
    /// Random and unguessable: it is also the credential in `download_url`.
    pub id: String,
    pub filename: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
    pub uploaded_by: Option<String>,
    /// Where chargers download it (no bearer token needed; `Range` supported).
    pub download_url: String,
}

page_type!(
    /// A page of firmware images, newest first.
    FirmwarePage,
    FirmwareView
);

/// One status a transfer went through.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusView {
    pub status: String,
    pub at: DateTime<Utc>,
}

/// A firmware update sent to a charger and its progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FirmwareUpdateView {
    pub id: i64,
    pub charger_id: String,
    /// The `requestId` sent (2.x, 1.6 signed) and echoed in status notifications.
    pub request_id: i64,
    /// The uploaded image it installs, when it is one of ours.
    pub firmware_id: Option<String>,
    pub location: String,
    /// Sent with a signature (1.6 SignedUpdateFirmware, 2.x with signature fields).
    pub signed: bool,
    pub retrieve_date: DateTime<Utc>,
    pub install_date: Option<DateTime<Utc>>,
    pub retries: Option<i64>,
    pub retry_interval: Option<i64>,
    /// `Requested` (sent, no answer yet), the charger's answer (`Accepted`, `Rejected`, …),
    /// `CallFailed`, then the FirmwareStatusNotification statuses (`Downloading`,
    /// `Downloaded`, `Installing`, `Installed`, …).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every status, oldest first.
    pub history: Vec<StatusView>,
}

page_type!(
    /// A page of firmware updates, newest first.
    FirmwareUpdatePage,
    FirmwareUpdateView
);

/// The answer to a firmware-update command.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FirmwareUpdateAnswer {
    pub update: FirmwareUpdateView,
    /// The subprotocol the charger is connected with.
    pub protocol: String,
    /// `UpdateFirmware` or `SignedUpdateFirmware`.
    pub action: String,
    /// The payload sent, as it went on the wire.
    pub request: Value,
    /// The charger's response payload.
    pub response: Value,
}

pub(crate) fn firmware_view(state: &ApiState, f: FirmwareFile) -> FirmwareView {
    FirmwareView {
        download_url: state.files.firmware_url(&f.id, &f.filename),
        id: f.id,
        filename: f.filename,
        size: f.size,
        sha256: f.sha256,
        uploaded_at: f.uploaded_at,
        uploaded_by: f.uploaded_by,
    }
}

pub(crate) fn history_view(history: Vec<ampere_domain::StatusEntry>) -> Vec<StatusView> {
    history
        .into_iter()
        .map(|e| StatusView {
            status: e.status,
            at: e.at,
        })
        .collect()
}

fn update_view(u: FirmwareUpdate) -> FirmwareUpdateView {
    let r = u.request;
    FirmwareUpdateView {
        id: u.id,
        charger_id: r.charger.as_str().to_owned(),
        request_id: u.id,
        firmware_id: r.firmware_id,
        location: r.location,
        signed: r.signed,
        retrieve_date: r.retrieve_date,
        install_date: r.install_date,
        retries: r.retries,
        retry_interval: r.retry_interval,
        status: u.status,
        created_at: u.created_at,
        updated_at: u.updated_at,
        history: history_view(u.history),
    }
}

// ------------------------------------------------------------------ shared helpers

/// A numeric list cursor.
pub(crate) fn cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid cursor {c:?}")))
        })
        .transpose()
}

/// The registered charger of a path, or 404.
pub(crate) async fn registered(state: &ApiState, id: &str) -> Result<ChargerId, ApiError> {
    let charger = ChargerId::new(id).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if state.services.chargers.get(&charger).await?.is_none() {
        return Err(ApiError::NotFound(format!("no charger {charger}")));
    }
    Ok(charger)
}

/// Sends a file-transfer call (already validated) in the charger's version; returns what
/// was sent and the charger's response.
pub(crate) async fn call(
    state: &ApiState,
    charger: &ChargerId,
    version: OcppVersion,
    action: &str,
    payload: Value,
) -> Result<(Value, Value), ApiError> {
    let commands = &state.commands;
    match (version, action) {
        (OcppVersion::V16, "UpdateFirmware") => {
            send::<v16::UpdateFirmwareRequest>(commands, charger, payload).await
        }
        (OcppVersion::V16, "SignedUpdateFirmware") => {
            send::<v16::SignedUpdateFirmwareRequest>(commands, charger, payload).await
        }
        (OcppVersion::V16, "GetDiagnostics") => {
            send::<v16::GetDiagnosticsRequest>(commands, charger, payload).await
        }
        (OcppVersion::V16, "GetLog") => {
            send::<v16::GetLogRequest>(commands, charger, payload).await
        }
        (OcppVersion::V201, "UpdateFirmware") => {
            send::<v201::UpdateFirmwareRequest>(commands, charger, payload).await
        }
        (OcppVersion::V201, "GetLog") => {
            send::<v201::GetLogRequest>(commands, charger, payload).await
        }
        (OcppVersion::V21, "UpdateFirmware") => {
            send::<v21::UpdateFirmwareRequest>(commands, charger, payload).await
        }
        (OcppVersion::V21, "GetLog") => {
            send::<v21::GetLogRequest>(commands, charger, payload).await
        }
        (version, action) => Err(ApiError::Internal(format!(
            "no {version} request type for {action}"
        ))),
    }
}

/// Writes a command's outcome to the audit log and the live events, and passes it on.
pub(crate) async fn record_command<T>(
    state: &ApiState,
    caller: &Caller,
    action: &str,
    charger: &str,
    request: Value,
    result: Result<(T, Value), ApiError>,
) -> Result<T, ApiError> {
    let response = result.as_ref().map(|(_, response)| response);
    crate::commands::record_outcome(state, caller, action, charger, request, response).await;
    result.map(|(answer, _)| answer)
}

/// RFC 3339 in UTC, as OCPP writes times.
pub(crate) fn wire_time(at: DateTime<Utc>) -> Value {
    Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// Inserts `key: value` when the value is present.
pub(crate) fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

// ------------------------------------------------------------------ firmware files

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file name, for a raw body (a multipart part carries its own).
    pub name: Option<String>,
}

/// Upload a firmware image: `multipart/form-data` (the part with a file name, or named
/// `file`) or the raw bytes with `?name=`. Streamed to disk with its SHA-256; over the
/// configured limit is 413.
#[utoipa::path(post, path = "/api/v1/firmware", tag = "firmware",
    params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the image, raw (with ?name=) or as multipart/form-data"),
    responses(
        (status = 201, body = FirmwareView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "over the size limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Query(query): Query<UploadQuery>,
    request: Request,
) -> Result<(StatusCode, Json<FirmwareView>), ApiError> {
    let dir = state.files.firmware_dir();
    let received =
        crate::files::receive(&state, request, &dir, state.files.max_firmware_bytes).await?;
    if received.size == 0 {
        received.discard().await;
        return Err(ApiError::BadRequest("the firmware image is empty".into()));
    }
    let Some(filename) = query.name.clone().or(received.part_filename.clone()) else {
        received.discard().await;
        return Err(ApiError::BadRequest(
            "name the file: ?name=… for a raw body, or a multipart part with a file name".into(),
        ));
    };
    if let Err(e) = ampere_domain::file_transfer::check_file_name(&filename) {
        received.discard().await;
        return Err(e.into());
    }
    let id = new_file_id();
    let path = dir.join(&id);
    let new = NewFirmwareFile {
        id,
        filename,
        size: received.size,
        sha256: received.sha256.clone(),
        uploaded_by: Some(caller.token.name.clone()),
    };
    received.keep_as(&path).await?;
    let stored = match state.services.file_transfers.add_firmware(new).await {
        Ok(stored) => stored,
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e.into());
        }
    };
    let view = firmware_view(&state, stored);
    crate::api_tokens::audit(
        &state,
        &caller,
        "firmware upload".into(),
        None,
        json!({"filename": view.filename, "size": view.size, "sha256": view.sha256}),
        json!({"status": 201, "id": view.id}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The firmware images, newest first.
#[utoipa::path(get, path = "/api/v1/firmware", tag = "firmware",
    params(PageParams),
    responses((status = 200, body = FirmwarePage)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Query(params): Query<PageParams>,
) -> Result<Json<FirmwarePage>, ApiError> {
    let limit = page::limit(params.limit)?;
    let before = cursor(params.cursor.as_deref())?;
    let files = state
        .services
        .file_transfers
        .list_firmware(before, limit + 1)
        .await?;
    let (files, next_cursor) = page::split(files, limit, |f| f.serial.to_string());
    Ok(Json(FirmwarePage {
        items: files
            .into_iter()
            .map(|f| firmware_view(&state, f))
            .collect(),
        next_cursor,
    }))
}

/// One firmware image.
#[utoipa::path(get, path = "/api/v1/firmware/{id}", tag = "firmware",
    params(("id" = String, Path, description = "firmware id")),
    responses(
        (status = 200, body = FirmwareView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<FirmwareView>, ApiError> {
    let file = state
        .services
        .file_transfers
        .firmware(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no firmware {id}")))?;
    Ok(Json(firmware_view(&state, file)))
}

/// Delete a firmware image; its download URL stops working. Updates that used it keep
/// their history.
#[utoipa::path(delete, path = "/api/v1/firmware/{id}", tag = "firmware",
    params(("id" = String, Path, description = "firmware id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.services.file_transfers.delete_firmware(&id).await? {
        return Err(ApiError::NotFound(format!("no firmware {id}")));
    }
    // The record is gone first, so the URL is dead even if removing the bytes fails.
    let path = state.files.firmware_dir().join(&id);
    if let Err(error) = tokio::fs::remove_file(&path).await {
        tracing::warn!(%error, path = %path.display(), "firmware file not removed");
    }
    crate::api_tokens::audit(
        &state,
        &caller,
        "firmware delete".into(),
        None,
        json!({"id": id}),
        json!({"status": 204}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ updates

/// `POST /api/v1/chargers/{id}/firmware-update`: exactly one of `firmware_id` and
/// `location`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirmwareUpdateBody {
    /// An uploaded image: the charger gets its download URL on this server.
    pub firmware_id: Option<String>,
    /// Any other URL the charger can download from.
    pub location: Option<String>,
    /// When the charger may start downloading (default: now).
    pub retrieve_date: Option<DateTime<Utc>>,
    pub retries: Option<i64>,
    /// Seconds between retries.
    pub retry_interval: Option<i64>,
    /// When to install (1.6 only with a signed update).
    pub install_date: Option<DateTime<Utc>>,
    /// PEM certificate that signed the firmware; with `signature`, a 1.6 charger gets
    /// SignedUpdateFirmware.
    pub signing_certificate: Option<String>,
    /// Base64 signature of the firmware image.
    pub signature: Option<String>,
}

/// What the charger is sent: the action and its payload for `request_id`.
fn update_payload(
    version: OcppVersion,
    b: &FirmwareUpdateBody,
    location: &str,
    retrieve: DateTime<Utc>,
    request_id: i64,
) -> Result<(&'static str, Value), ApiError> {
    let signed = b.signature.is_some() || b.signing_certificate.is_some();
    let mut map = Map::new();
    if version == OcppVersion::V16 && !signed {
        if b.install_date.is_some() {
            return Err(ApiError::BadRequest(
                "OCPP 1.6 UpdateFirmware has no install date: give signature and \
                 signing_certificate for a signed update, or leave install_date out"
                    .into(),
            ));
        }
        map.insert("location".into(), location.into());
        put(&mut map, "retries", b.retries);
        map.insert("retrieveDate".into(), wire_time(retrieve));
        put(&mut map, "retryInterval", b.retry_interval);
        return Ok(("UpdateFirmware", Value::Object(map)));
    }
    if version == OcppVersion::V16 && (b.signature.is_none() || b.signing_certificate.is_none()) {
        return Err(ApiError::BadRequest(
            "an OCPP 1.6 signed update (SignedUpdateFirmware) needs both signature and \
             signing_certificate"
                .into(),
        ));
    }
    let mut firmware = Map::new();
    firmware.insert("location".into(), location.into());
    firmware.insert("retrieveDateTime".into(), wire_time(retrieve));
    put(
        &mut firmware,
        "installDateTime",
        b.install_date.map(wire_time),
    );
    put(
        &mut firmware,
        "signingCertificate",
        b.signing_certificate.clone(),
    );
    put(&mut firmware, "signature", b.signature.clone());
    put(&mut map, "retries", b.retries);
    put(&mut map, "retryInterval", b.retry_interval);
    map.insert("requestId".into(), request_id.into());
    map.insert("firmware".into(), Value::Object(firmware));
    let action = if version == OcppVersion::V16 {
        "SignedUpdateFirmware"
    } else {
        "UpdateFirmware"
    };
    Ok((action, Value::Object(map)))
}

/// Update a charger's firmware: 1.6 UpdateFirmware (SignedUpdateFirmware when a signature
/// is given) or 2.x UpdateFirmware. The update is recorded before it is sent; its progress
/// is at `/api/v1/chargers/{id}/firmware-updates/{update_id}`.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/firmware-update", tag = "firmware",
    params(("id" = String, Path, description = "charger identity")),
    request_body = FirmwareUpdateBody,
    responses(
        (status = 200, body = FirmwareUpdateAnswer, description = "the charger's response"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown charger or firmware", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<FirmwareUpdateAnswer>, ApiError> {
    let request = json_body(&body)?;
    let result = async {
        let b: FirmwareUpdateBody = serde_json::from_value(request.clone())
            .map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))?;
        let (charger, version) = connected(&state, &id).await?;
        let files = &state.services.file_transfers;
        let (firmware_id, location) = match (&b.firmware_id, &b.location) {
            (Some(firmware_id), None) => {
                let file = files
                    .firmware(firmware_id)
                    .await?
                    .ok_or_else(|| ApiError::NotFound(format!("no firmware {firmware_id}")))?;
                let url = state.files.firmware_url(&file.id, &file.filename);
                (Some(file.id), url)
            }
            (None, Some(location)) if !location.is_empty() => (None, location.clone()),
            _ => {
                return Err(ApiError::BadRequest(
                    "give exactly one of firmware_id and location".into(),
                ));
            }
        };
        let retrieve = b.retrieve_date.unwrap_or_else(|| files.now());
        // Checked with a stand-in request id, so an invalid update is never recorded.
        let (action, payload) = update_payload(version, &b, &location, retrieve, 1)?;
        validate(version, action, &payload)?;
        let started = files
            .start_firmware_update(NewFirmwareUpdate {
                charger: charger.clone(),
                firmware_id,
                location: location.clone(),
                signed: b.signature.is_some(),
                retrieve_date: retrieve,
                install_date: b.install_date,
                retries: b.retries,
                retry_interval: b.retry_interval,
                signing_certificate: b.signing_certificate.clone(),
                signature: b.signature.clone(),
                requested_by: Some(caller.token.name.clone()),
            })
            .await?;
        let (_, payload) = update_payload(version, &b, &location, retrieve, started.id)?;
        match call(&state, &charger, version, action, payload).await {
            Ok((sent, response)) => {
                // 1.6 UpdateFirmware's answer is empty: taking the request is accepting it.
                let status = response
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("Accepted");
                let updated = files
                    .firmware_update_answered(started.id, status)
                    .await?
                    .unwrap_or(started);
                let answer = FirmwareUpdateAnswer {
                    update: update_view(updated),
                    protocol: version.subprotocol().to_owned(),
                    action: action.to_owned(),
                    request: sent,
                    response: response.clone(),
                };
                Ok((answer, response))
            }
            Err(error) => {
                if let Err(e) = files
                    .firmware_update_answered(started.id, STATUS_CALL_FAILED)
                    .await
                {
                    tracing::warn!(error = %e, "firmware update's failure not recorded");
                }
                Err(error)
            }
        }
    }
    .await;
    record_command(&state, &caller, "firmware-update", &id, request, result)
        .await
        .map(Json)
}

/// A charger's firmware updates, newest first, each with its status history.
#[utoipa::path(get, path = "/api/v1/chargers/{id}/firmware-updates", tag = "firmware",
    params(("id" = String, Path, description = "charger identity"), PageParams),
    responses(
        (status = 200, body = FirmwareUpdatePage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_updates(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<Json<FirmwareUpdatePage>, ApiError> {
    let charger = registered(&state, &id).await?;
    let limit = page::limit(params.limit)?;
    let before = cursor(params.cursor.as_deref())?;
    let updates = state
        .services
        .file_transfers
        .list_firmware_updates(&charger, before, limit + 1)
        .await?;
    let (updates, next_cursor) = page::split(updates, limit, |u| u.id.to_string());
    Ok(Json(FirmwareUpdatePage {
        items: updates.into_iter().map(update_view).collect(),
        next_cursor,
    }))
}

/// One firmware update with its status history.
#[utoipa::path(get, path = "/api/v1/chargers/{id}/firmware-updates/{update_id}", tag = "firmware",
    params(
        ("id" = String, Path, description = "charger identity"),
        ("update_id" = i64, Path, description = "update id (its requestId)"),
    ),
    responses(
        (status = 200, body = FirmwareUpdateView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_update(
    State(state): State<ApiState>,
    _: Viewer,
    Path((id, update_id)): Path<(String, String)>,
) -> Result<Json<FirmwareUpdateView>, ApiError> {
    let charger = registered(&state, &id).await?;
    let not_found = || ApiError::NotFound(format!("no firmware update {update_id} of {id}"));
    let update_id: i64 = update_id.parse().map_err(|_| not_found())?;
    let update = state
        .services
        .file_transfers
        .firmware_update(&charger, update_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(update_view(update)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> FirmwareUpdateBody {
        serde_json::from_value(value).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn each_version_gets_its_own_valid_message() {
        let retrieve = at("2026-12-01T10:00:00Z");
        let plain = body(json!({"location": "x", "retries": 2, "retry_interval": 30}));
        let (action, payload) =
            update_payload(OcppVersion::V16, &plain, "http://h/f.bin", retrieve, 9).unwrap();
        assert_eq!(action, "UpdateFirmware");
        assert_eq!(
            payload,
            json!({"location": "http://h/f.bin", "retries": 2, "retrieveDate": "2026-12-01T10:00:00Z", "retryInterval": 30})
        );
        validate(OcppVersion::V16, action, &payload).unwrap();

        let signed = body(json!({
            "location": "x", "signature": "c2ln", "signing_certificate": "PEM",
            "install_date": "2026-12-02T00:00:00Z",
        }));
        let (action, payload) =
            update_payload(OcppVersion::V16, &signed, "http://h/f.bin", retrieve, 9).unwrap();
        assert_eq!(action, "SignedUpdateFirmware");
        assert_eq!(payload["requestId"], 9);
        assert_eq!(
            payload["firmware"]["installDateTime"],
            "2026-12-02T00:00:00Z"
        );
        validate(OcppVersion::V16, action, &payload).unwrap();

        for version in [OcppVersion::V201, OcppVersion::V21] {
            for b in [&plain, &signed] {
                let (action, payload) =
                    update_payload(version, b, "http://h/f.bin", retrieve, 9).unwrap();
                assert_eq!(action, "UpdateFirmware");
                validate(version, action, &payload).unwrap();
            }
        }
    }

    #[test]
    fn what_16_cannot_say_is_refused() {
        let retrieve = at("2026-12-01T10:00:00Z");
        let install = body(json!({"location": "x", "install_date": "2026-12-02T00:00:00Z"}));
        assert!(update_payload(OcppVersion::V16, &install, "x", retrieve, 1).is_err());
        let half_signed = body(json!({"location": "x", "signature": "c2ln"}));
        assert!(update_payload(OcppVersion::V16, &half_signed, "x", retrieve, 1).is_err());
        assert!(update_payload(OcppVersion::V201, &half_signed, "x", retrieve, 1).is_ok());
    }
}
