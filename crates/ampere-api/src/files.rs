//! The charger file endpoints on the HTTP listener, outside `/api/v1` and without bearer
//! auth (chargers cannot send one): the URL itself is the credential.
//!
//! - `GET /files/firmware/{id}/{filename}`: a firmware image, by its random 128-bit id
//!   (see `ampere_domain::file_transfer`), with `Content-Length`, `Range` (chargers resume
//!   interrupted downloads), `If-Modified-Since` and `HEAD`, all done by tower-http's
//!   `ServeFile`.
//! - `PUT`/`POST /files/uploads/{token}[/{filename}]`: a diagnostics or log file a charger
//!   uploads after GetDiagnostics/GetLog, as a raw body or `multipart/form-data`. The token
//!   opens one request's upload once, until it expires. Bodies are streamed to disk while
//!   they are counted and hashed, never held in memory; over the size limit is 413.
//!
//! Also the pieces the operator side shares: where files live ([`FileSettings`]), streaming
//! a body to disk ([`receive`]), and serving a stored file ([`serve_file`]).

use std::fmt::Display;
use std::path::{Path, PathBuf};

use ampere_domain::UploadTarget;
use ampere_domain::file_transfer::{check_file_name, new_file_id, sha256_hex};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use futures_util::{Stream, StreamExt};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tower_http::services::ServeFile;

use crate::ApiState;
use crate::error::ApiError;

/// Where charger files live and how chargers reach them.
#[derive(Debug, Clone)]
pub struct FileSettings {
    /// Root directory; `firmware/` and `uploads/` are below it.
    pub dir: PathBuf,
    /// The base URL chargers reach this HTTP listener at (no trailing slash), e.g.
    /// `http://csms.example.com:8080`: it goes into the URLs sent in UpdateFirmware and
    /// GetDiagnostics/GetLog.
    pub public_url: String,
    /// Largest firmware image operators may upload.
    pub max_firmware_bytes: u64,
    /// Largest file a charger may upload.
    pub max_upload_bytes: u64,
}

/// Default of [`FileSettings::max_firmware_bytes`]: firmware images are tens to hundreds
/// of MB.
pub const DEFAULT_MAX_FIRMWARE_BYTES: u64 = 1024 * 1024 * 1024;
/// Default of [`FileSettings::max_upload_bytes`].
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;

/// What a path segment may not contain unescaped (RFC 3986 `pchar` keeps the rest).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

impl FileSettings {
    pub fn firmware_dir(&self) -> PathBuf {
        self.dir.join("firmware")
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.dir.join("uploads")
    }

    /// Creates the directories (at start, so a permission problem shows at once).
    pub fn create_dirs(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.firmware_dir())?;
        std::fs::create_dir_all(self.uploads_dir())
    }

    /// The URL a charger downloads a firmware image from.
    pub fn firmware_url(&self, id: &str, filename: &str) -> String {
        format!(
            "{}/files/firmware/{id}/{}",
            self.public_url,
            utf8_percent_encode(filename, SEGMENT)
        )
    }

    /// The URL a charger uploads a requested file to. It ends with `/`: chargers that treat
    /// the location as a directory append their file name, the others send to it as is.
    pub fn upload_url(&self, token: &str) -> String {
        format!("{}/files/uploads/{token}/", self.public_url)
    }
}

/// The charger-facing routes (no bearer auth), to merge into the HTTP listener's router.
pub fn routes(state: ApiState) -> axum::Router {
    let upload = put(upload).post(upload);
    axum::Router::new()
        .route("/files/firmware/{id}/{filename}", get(download_firmware))
        .route("/files/uploads/{token}", upload.clone())
        .route("/files/uploads/{token}/", upload.clone())
        .route("/files/uploads/{token}/{filename}", upload)
        // The handlers count bytes themselves as they stream them to disk.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

// ------------------------------------------------------------------ firmware downloads

async fn download_firmware(
    State(state): State<ApiState>,
    UrlPath((id, _filename)): UrlPath<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    // The name in the URL is for the charger's benefit (some keep it as the file name);
    // the id alone decides which file it is.
    let firmware = state
        .services
        .file_transfers
        .firmware(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such firmware".into()))?;
    serve_file(
        &state.files.firmware_dir().join(&firmware.id),
        &firmware.filename,
        request,
    )
    .await
}

/// Serves a stored file with `Range`, `If-Modified-Since` and `HEAD` support, named
/// `download_name` for the client.
pub(crate) async fn serve_file(
    path: &Path,
    download_name: &str,
    request: Request,
) -> Result<Response, ApiError> {
    if !tokio::fs::try_exists(path).await.unwrap_or(false) {
        return Err(ApiError::Internal(format!(
            "{} is recorded but missing on disk",
            path.display()
        )));
    }
    // Stored names carry no extension, so the type is application/octet-stream.
    let response = ServeFile::new(path)
        .try_call(request)
        .await
        .map_err(|e| ApiError::Internal(format!("reading {}: {e}", path.display())))?;
    let mut response = response.map(Body::new);
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename*=UTF-8''{}",
        utf8_percent_encode(download_name, SEGMENT)
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

// ------------------------------------------------------------------ receiving files

/// A body written to a temporary file in the target directory.
#[derive(Debug)]
pub(crate) struct Received {
    pub temp: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// The file name a multipart part carried.
    pub part_filename: Option<String>,
}

impl Received {
    /// Moves the file to its final name in the same directory.
    pub async fn keep_as(self, path: &Path) -> Result<(), ApiError> {
        tokio::fs::rename(&self.temp, path).await.map_err(|e| {
            ApiError::Internal(format!("cannot move upload to {}: {e}", path.display()))
        })
    }

    pub async fn discard(self) {
        let _ = tokio::fs::remove_file(&self.temp).await;
    }
}

/// True when the request carries `multipart/form-data`.
fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// Slack for a multipart body's boundaries and part headers over the file's own size.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// Streams the request's file to a temporary file in `dir`, counting and hashing it:
/// the raw body, or for `multipart/form-data` the first part that is a file (it has a file
/// name, or is named `file`). More than `max` bytes is 413 and leaves nothing behind.
pub(crate) async fn receive(
    state: &ApiState,
    request: Request,
    dir: &Path,
    max: u64,
) -> Result<Received, ApiError> {
    let multipart = is_multipart(&request);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let allowance = if multipart {
        max.saturating_add(MULTIPART_OVERHEAD)
    } else {
        max
    };
    if declared.is_some_and(|n| n > allowance) {
        return Err(too_large(max));
    }
    if !multipart {
        let stream = request.into_body().into_data_stream();
        return write_stream(stream, dir, max, None).await;
    }
    let mut form = axum::extract::Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
    loop {
        let field = form
            .next_field()
            .await
            .map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {e}")))?
            .ok_or_else(|| ApiError::BadRequest("the multipart body has no file part".into()))?;
        let filename = field.file_name().map(str::to_owned);
        if filename.is_some() || field.name() == Some("file") {
            return write_stream(field, dir, max, filename).await;
        }
    }
}

fn too_large(max: u64) -> ApiError {
    ApiError::TooLarge(format!("the file is larger than the limit of {max} bytes"))
}

async fn write_stream<S, E>(
    stream: S,
    dir: &Path,
    max: u64,
    part_filename: Option<String>,
) -> Result<Received, ApiError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Display,
{
    let temp = dir.join(format!(".{}.part", new_file_id()));
    let result = write_to(stream, &temp, max).await;
    match result {
        Ok((size, sha256)) => Ok(Received {
            temp,
            size,
            sha256,
            part_filename,
        }),
        Err(e) => {
            let _ = tokio::fs::remove_file(&temp).await;
            Err(e)
        }
    }
}

async fn write_to<S, E>(stream: S, temp: &Path, max: u64) -> Result<(u64, String), ApiError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Display,
{
    let io = |e: std::io::Error| ApiError::Internal(format!("writing {}: {e}", temp.display()));
    let mut file = tokio::fs::File::create(temp).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    futures_util::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("the upload broke off: {e}")))?;
        size += chunk.len() as u64;
        if size > max {
            return Err(too_large(max));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
    }
    // On disk before the upload is acknowledged (and recorded as received).
    file.sync_all().await.map_err(io)?;
    Ok((size, sha256_hex(hasher.finalize())))
}

// ------------------------------------------------------------------ charger uploads

async fn upload(
    State(state): State<ApiState>,
    UrlPath(params): UrlPath<Vec<(String, String)>>,
    request: Request,
) -> Result<Response, ApiError> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let token = param("token").unwrap_or_default();
    let files = &state.services.file_transfers;
    let target = match files.upload_target(&token).await? {
        UploadTarget::Open(target) => target,
        UploadTarget::Unknown => return Err(ApiError::NotFound("no such upload link".into())),
        UploadTarget::Expired => {
            return Err(ApiError::Refused("this upload link has expired".into()));
        }
        UploadTarget::Used => {
            return Err(ApiError::Refused(
                "a file was already received through this upload link".into(),
            ));
        }
    };
    let dir = state.files.uploads_dir();
    let received = receive(&state, request, &dir, state.files.max_upload_bytes).await?;
    let filename = [
        param("filename"),
        received.part_filename.clone(),
        target.charger_filename.clone(),
    ]
    .into_iter()
    .flatten()
    .map(|name| last_segment(&name).to_owned())
    .find(|name| check_file_name(name).is_ok())
    .unwrap_or_else(|| format!("{}-{}.log", target.request.charger, target.id));
    let stored_as = format!("{}-{}", target.id, new_file_id());
    let (size, sha256) = (received.size, received.sha256.clone());
    received.keep_as(&dir.join(&stored_as)).await?;
    let attached = files
        .attach_upload(target.id, &filename, size, &sha256, &stored_as)
        .await;
    if !matches!(attached, Ok(true)) {
        let _ = tokio::fs::remove_file(dir.join(&stored_as)).await;
    }
    if !attached? {
        return Err(ApiError::Refused(
            "a file was already received through this upload link".into(),
        ));
    }
    tracing::info!(
        charger = %target.request.charger,
        request = target.id,
        size,
        "log file received"
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({"filename": filename, "size": size, "sha256": sha256})),
    )
        .into_response())
}

/// The part after the last `/` or `\` (some chargers send a path as the file name).
fn last_segment(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> FileSettings {
        FileSettings {
            dir: PathBuf::from("/data/files"),
            public_url: "http://csms.example:8080".into(),
            max_firmware_bytes: 10,
            max_upload_bytes: 10,
        }
    }

    #[test]
    fn urls_escape_the_file_name_and_keep_the_id() {
        assert_eq!(
            settings().firmware_url("abc", "fw 1.2#3?.bin"),
            "http://csms.example:8080/files/firmware/abc/fw%201.2%233%3F.bin"
        );
        assert_eq!(
            settings().upload_url("tok"),
            "http://csms.example:8080/files/uploads/tok/"
        );
    }

    #[test]
    fn paths_given_as_file_names_keep_their_last_part() {
        assert_eq!(last_segment("/var/log/diag.zip"), "diag.zip");
        assert_eq!(last_segment("C:\\logs\\diag.zip"), "diag.zip");
        assert_eq!(last_segment("diag.zip"), "diag.zip");
    }

    #[tokio::test]
    async fn a_stream_over_the_limit_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let chunks = futures_util::stream::iter(vec![
            Ok::<_, std::io::Error>(Bytes::from_static(b"0123456")),
            Ok(Bytes::from_static(b"789ab")),
        ]);
        let err = write_stream(chunks, dir.path(), 10, None)
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::TooLarge(_)), "{err:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let chunks = futures_util::stream::iter(vec![
            Ok::<_, std::io::Error>(Bytes::from_static(b"ab")),
            Ok(Bytes::from_static(b"c")),
        ]);
        let received = write_stream(chunks, dir.path(), 10, None).await.unwrap();
        assert_eq!(received.size, 3);
        assert_eq!(
            received.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(std::fs::read(&received.temp).unwrap(), b"abc");
    }
}
