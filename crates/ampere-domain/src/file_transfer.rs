//! Files that travel between Ampere and chargers: firmware images operators upload and
//! chargers download (UpdateFirmware), and the diagnostics and log files chargers upload on
//! request (GetDiagnostics, GetLog). This module holds the records and their rules: the
//! unguessable ids and single-purpose upload tokens that stand in for credentials (chargers
//! cannot send a bearer token), and how the status notifications chargers send are matched
//! to the request they report on. The bytes themselves live on disk, written and served by
//! the HTTP side; the store keeps only what is known about them.
//!
//! # Matching status notifications
//! 1.6 FirmwareStatusNotification and DiagnosticsStatusNotification carry no request id;
//! they report on the charger's latest request. The security whitepaper's messages and 2.x
//! carry the `requestId` Ampere sent (which is the record's id). `Idle` means "nothing is
//! going on" and belongs to no request. Every notification is kept, matched or not, so
//! nothing a charger says is lost.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::ChargerId;
use crate::ports::StoreResult;

/// Length of a file id: 128 random bits in base64url without padding.
pub const FILE_ID_LEN: usize = 22;

/// Our own status of a request before the charger reports anything: sent, not answered yet.
pub const STATUS_REQUESTED: &str = "Requested";
/// Our own status when the call to the charger failed (timeout, lost connection,
/// CALLERROR): the charger may or may not have acted on it.
pub const STATUS_CALL_FAILED: &str = "CallFailed";

/// A fresh random id for a stored file. Firmware ids are also the download capability in
/// the URL handed to chargers, so they must not be guessable: 128 bits from the OS.
pub fn new_file_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// True for text shaped like [`new_file_id`]'s output (so it is safe as a file name too).
pub fn is_file_id(text: &str) -> bool {
    text.len() == FILE_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a file name given by an operator or a charger: 1 to 255 characters, no path
/// separators, no control characters, not `.` or `..`.
pub fn check_file_name(name: &str) -> Result<(), DomainError> {
    let bad = name.is_empty()
        || name.chars().count() > 255
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if bad {
        Err(DomainError::Invalid(format!(
            "{name:?} is not a usable file name (1 to 255 characters, no / or \\ or control characters)"
        )))
    } else {
        Ok(())
    }
}

/// Lower-case hex SHA-256 of some bytes.
pub fn sha256_hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A firmware image operators uploaded.
#[derive(Debug, Clone, PartialEq)]
pub struct FirmwareFile {
    /// Random ([`new_file_id`]); also the file's name on disk and part of its download URL.
    pub id: String,
    /// The name it was uploaded with; the name chargers see in the download URL.
    pub filename: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
    /// Who uploaded it (the API token's name), when known.
    pub uploaded_by: Option<String>,
    /// Insertion order; the list cursor.
    pub serial: i64,
}

/// A firmware image to record after its bytes are on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFirmwareFile {
    pub id: String,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    pub uploaded_by: Option<String>,
}

/// One status a request went through, with when Ampere learned it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusEntry {
    pub status: String,
    pub at: DateTime<Utc>,
}

/// An UpdateFirmware (or 1.6 SignedUpdateFirmware) to send.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFirmwareUpdate {
    pub charger: ChargerId,
    /// The uploaded firmware it installs, when it is one of ours.
    pub firmware_id: Option<String>,
    /// Where the charger downloads it.
    pub location: String,
    /// Sent as a signed update (1.6 SignedUpdateFirmware, or 2.x with a signature).
    pub signed: bool,
    pub retrieve_date: DateTime<Utc>,
    pub install_date: Option<DateTime<Utc>>,
    pub retries: Option<i64>,
    pub retry_interval: Option<i64>,
    pub signing_certificate: Option<String>,
    pub signature: Option<String>,
    pub requested_by: Option<String>,
}

/// A firmware update sent to a charger and what the charger reported since.
#[derive(Debug, Clone, PartialEq)]
pub struct FirmwareUpdate {
    /// Also the `requestId` sent to the charger.
    pub id: i64,
    pub request: NewFirmwareUpdate,
    /// The latest status: [`STATUS_REQUESTED`], the charger's answer (`Accepted`,
    /// `Rejected`, …), then what its FirmwareStatusNotifications say.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Oldest first.
    pub history: Vec<StatusEntry>,
}

/// Which kind of file a log request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// 1.6 GetDiagnostics.
    Diagnostics,
    /// GetLog `DiagnosticsLog` (1.6 security whitepaper, 2.x).
    DiagnosticsLog,
    /// GetLog `SecurityLog`.
    SecurityLog,
}

impl LogKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Diagnostics => "Diagnostics",
            Self::DiagnosticsLog => "DiagnosticsLog",
            Self::SecurityLog => "SecurityLog",
        }
    }
}

impl std::str::FromStr for LogKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Diagnostics" => Ok(Self::Diagnostics),
            "DiagnosticsLog" => Ok(Self::DiagnosticsLog),
            "SecurityLog" => Ok(Self::SecurityLog),
            other => Err(format!(
                "unknown log type {other:?} (expected DiagnosticsLog or SecurityLog)"
            )),
        }
    }
}

/// The secret in an upload URL. It opens exactly one log request's upload, until it
/// expires or a file was received; only its SHA-256 is stored (as for API tokens: 256
/// random bits need no slow hash). `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct UploadToken(String);

impl UploadToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_upload_token(&self.0)
    }
}

impl fmt::Debug for UploadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UploadToken(***)")
    }
}

/// Lower-case hex SHA-256 of a presented upload token.
pub fn hash_upload_token(token: &str) -> String {
    sha256_hex(Sha256::digest(token.as_bytes()))
}

/// A GetDiagnostics or GetLog to send.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLogRequest {
    pub charger: ChargerId,
    pub kind: LogKind,
    pub start_time: Option<DateTime<Utc>>,
    pub stop_time: Option<DateTime<Utc>>,
    pub retries: Option<i64>,
    pub retry_interval: Option<i64>,
    pub requested_by: Option<String>,
}

/// A file a charger uploaded.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadedFile {
    /// The name the charger gave it (URL, multipart field or its answer).
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    /// Where the bytes are, relative to the uploads directory.
    pub stored_as: String,
    pub uploaded_at: DateTime<Utc>,
}

/// A GetDiagnostics/GetLog sent to a charger, and the file it uploaded.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRequest {
    /// Also the `requestId` sent in GetLog.
    pub id: i64,
    pub request: NewLogRequest,
    pub status: String,
    /// The file name the charger announced in its answer.
    pub charger_filename: Option<String>,
    pub file: Option<UploadedFile>,
    /// Until when the upload URL works.
    pub upload_expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<StatusEntry>,
}

/// What an upload URL's token opens.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadTarget {
    /// The upload may go ahead for this request.
    Open(LogRequest),
    /// No request has this token.
    Unknown,
    /// The token expired.
    Expired,
    /// A file was already received with it.
    Used,
}

/// Which request a status notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferMatch {
    /// The one with this id (the `requestId` the charger echoes).
    Request(i64),
    /// The charger's latest (1.6 messages that carry no id).
    Latest,
    /// None (e.g. `Idle`): kept, linked to nothing.
    Unlinked,
}

/// Storage of file-transfer records. Each call is one unit of work, committed before it
/// returns.
#[async_trait]
pub trait FileTransferStore: Send + Sync + 'static {
    async fn insert_firmware(
        &self,
        file: &NewFirmwareFile,
        at: DateTime<Utc>,
    ) -> StoreResult<FirmwareFile>;
    async fn firmware(&self, id: &str) -> StoreResult<Option<FirmwareFile>>;
    /// Newest first, with a serial below `before`, at most `limit`.
    async fn list_firmware(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<FirmwareFile>>;
    /// `false` when there was no such file.
    async fn delete_firmware(&self, id: &str) -> StoreResult<bool>;

    /// Stores the update with status [`STATUS_REQUESTED`] (and that as its first history
    /// entry); its id is the request id to send.
    async fn insert_firmware_update(
        &self,
        update: &NewFirmwareUpdate,
        at: DateTime<Utc>,
    ) -> StoreResult<FirmwareUpdate>;
    /// Sets the status of one update and appends it to its history.
    async fn set_firmware_update_status(
        &self,
        id: i64,
        status: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<FirmwareUpdate>>;
    /// Keeps a charger's firmware status notification; when it matches an update, that
    /// update's status changes too. Returns the matched update.
    async fn record_firmware_status(
        &self,
        charger: &ChargerId,
        matching: TransferMatch,
        request_id: Option<i64>,
        status: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<FirmwareUpdate>>;
    async fn firmware_update(
        &self,
        charger: &ChargerId,
        id: i64,
    ) -> StoreResult<Option<FirmwareUpdate>>;
    /// Newest first, ids below `before`, at most `limit`.
    async fn list_firmware_updates(
        &self,
        charger: &ChargerId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<FirmwareUpdate>>;

    /// Stores the request with its upload token's hash and expiry, status
    /// [`STATUS_REQUESTED`].
    async fn insert_log_request(
        &self,
        request: &NewLogRequest,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<LogRequest>;
    /// Sets the status (and the file name the charger announced, when given).
    async fn set_log_request_status(
        &self,
        id: i64,
        status: &str,
        charger_filename: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<LogRequest>>;
    /// As [`record_firmware_status`](Self::record_firmware_status), for log uploads.
    async fn record_log_status(
        &self,
        charger: &ChargerId,
        matching: TransferMatch,
        request_id: Option<i64>,
        status: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<LogRequest>>;
    async fn log_request(&self, id: i64) -> StoreResult<Option<LogRequest>>;
    async fn log_request_by_token(&self, token_hash: &str) -> StoreResult<Option<LogRequest>>;
    async fn list_log_requests(
        &self,
        charger: &ChargerId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<LogRequest>>;
    /// Attaches the uploaded file unless one is attached already (then `false`): the
    /// token's one use, decided atomically.
    async fn attach_upload(&self, id: i64, file: &UploadedFile) -> StoreResult<bool>;
}

/// How long an upload URL works unless configured otherwise: long enough for a charger
/// that waits and retries, short enough that an old URL is useless.
pub const DEFAULT_UPLOAD_TTL: Duration = Duration::from_secs(24 * 3600);

/// The file-transfer rules over a [`FileTransferStore`].
#[derive(Clone)]
pub struct FileTransferService {
    store: Arc<dyn FileTransferStore>,
    clock: Arc<dyn Clock>,
    upload_ttl: Duration,
}

impl FileTransferService {
    pub fn new(store: Arc<dyn FileTransferStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            upload_ttl: DEFAULT_UPLOAD_TTL,
        }
    }

    /// How long the upload URL of a new log request works.
    pub fn with_upload_ttl(mut self, ttl: Duration) -> Self {
        self.upload_ttl = ttl;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    // -------------------------------------------------------------- firmware files

    /// Records a firmware image whose bytes are already stored under `file.id`.
    pub async fn add_firmware(&self, file: NewFirmwareFile) -> Result<FirmwareFile, DomainError> {
        if !is_file_id(&file.id) {
            return Err(DomainError::Invalid(format!("bad file id {:?}", file.id)));
        }
        check_file_name(&file.filename)?;
        Ok(self.store.insert_firmware(&file, self.clock.now()).await?)
    }

    pub async fn firmware(&self, id: &str) -> Result<Option<FirmwareFile>, DomainError> {
        if !is_file_id(id) {
            return Ok(None);
        }
        Ok(self.store.firmware(id).await?)
    }

    pub async fn list_firmware(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FirmwareFile>, DomainError> {
        Ok(self.store.list_firmware(before, limit).await?)
    }

    /// Forgets a firmware image (its bytes are the caller's to remove); updates that used
    /// it keep their history.
    pub async fn delete_firmware(&self, id: &str) -> Result<bool, DomainError> {
        if !is_file_id(id) {
            return Ok(false);
        }
        Ok(self.store.delete_firmware(id).await?)
    }

    // -------------------------------------------------------------- firmware updates

    /// Records an update before it is sent, so that a status notification the charger
    /// sends right after its answer finds it.
    pub async fn start_firmware_update(
        &self,
        update: NewFirmwareUpdate,
    ) -> Result<FirmwareUpdate, DomainError> {
        check_retries(update.retries, update.retry_interval)?;
        if update.location.is_empty() {
            return Err(DomainError::Invalid(
                "the firmware location is empty".into(),
            ));
        }
        Ok(self
            .store
            .insert_firmware_update(&update, self.clock.now())
            .await?)
    }

    /// The charger's answer to the update (`Accepted`, `Rejected`, …), or
    /// [`STATUS_CALL_FAILED`].
    pub async fn firmware_update_answered(
        &self,
        id: i64,
        status: &str,
    ) -> Result<Option<FirmwareUpdate>, DomainError> {
        Ok(self
            .store
            .set_firmware_update_status(id, status, self.clock.now())
            .await?)
    }

    /// A FirmwareStatusNotification (any version): kept, and applied to the update it
    /// reports on (see the module doc). Returns that update.
    pub async fn firmware_status(
        &self,
        charger: &ChargerId,
        request_id: Option<i64>,
        status: &str,
    ) -> Result<Option<FirmwareUpdate>, DomainError> {
        let matching = matching(request_id, status);
        Ok(self
            .store
            .record_firmware_status(charger, matching, request_id, status, self.clock.now())
            .await?)
    }

    pub async fn firmware_update(
        &self,
        charger: &ChargerId,
        id: i64,
    ) -> Result<Option<FirmwareUpdate>, DomainError> {
        Ok(self.store.firmware_update(charger, id).await?)
    }

    pub async fn list_firmware_updates(
        &self,
        charger: &ChargerId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FirmwareUpdate>, DomainError> {
        Ok(self
            .store
            .list_firmware_updates(charger, before, limit)
            .await?)
    }

    // -------------------------------------------------------------- log uploads

    /// Records a log request with a fresh upload token before it is sent; the token goes
    /// into the upload URL and is not stored.
    pub async fn start_log_request(
        &self,
        request: NewLogRequest,
    ) -> Result<(LogRequest, UploadToken), DomainError> {
        check_retries(request.retries, request.retry_interval)?;
        if let (Some(start), Some(stop)) = (request.start_time, request.stop_time)
            && start > stop
        {
            return Err(DomainError::Invalid("start_time is after stop_time".into()));
        }
        let now = self.clock.now();
        let ttl = chrono::Duration::from_std(self.upload_ttl)
            .map_err(|e| DomainError::Invalid(format!("upload TTL: {e}")))?;
        let token = UploadToken::generate();
        let stored = self
            .store
            .insert_log_request(&request, &token.hash(), now + ttl, now)
            .await?;
        Ok((stored, token))
    }

    /// The charger's answer (`Accepted`, `Rejected`, … or [`STATUS_CALL_FAILED`]) and the
    /// file name it announced.
    pub async fn log_request_answered(
        &self,
        id: i64,
        status: &str,
        filename: Option<&str>,
    ) -> Result<Option<LogRequest>, DomainError> {
        Ok(self
            .store
            .set_log_request_status(id, status, filename, self.clock.now())
            .await?)
    }

    /// A DiagnosticsStatusNotification or LogStatusNotification (any version).
    pub async fn log_status(
        &self,
        charger: &ChargerId,
        request_id: Option<i64>,
        status: &str,
    ) -> Result<Option<LogRequest>, DomainError> {
        let matching = matching(request_id, status);
        Ok(self
            .store
            .record_log_status(charger, matching, request_id, status, self.clock.now())
            .await?)
    }

    pub async fn log_request(&self, id: i64) -> Result<Option<LogRequest>, DomainError> {
        Ok(self.store.log_request(id).await?)
    }

    pub async fn list_log_requests(
        &self,
        charger: &ChargerId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LogRequest>, DomainError> {
        Ok(self.store.list_log_requests(charger, before, limit).await?)
    }

    /// What a presented upload token opens.
    pub async fn upload_target(&self, token: &str) -> Result<UploadTarget, DomainError> {
        let Some(request) = self
            .store
            .log_request_by_token(&hash_upload_token(token))
            .await?
        else {
            return Ok(UploadTarget::Unknown);
        };
        Ok(if request.file.is_some() {
            UploadTarget::Used
        } else if self.clock.now() >= request.upload_expires_at {
            UploadTarget::Expired
        } else {
            UploadTarget::Open(request)
        })
    }

    /// Attaches an uploaded file to its request; `false` when another upload won (the
    /// caller removes its bytes).
    pub async fn attach_upload(
        &self,
        id: i64,
        filename: &str,
        size: u64,
        sha256: &str,
        stored_as: &str,
    ) -> Result<bool, DomainError> {
        check_file_name(filename)?;
        let file = UploadedFile {
            filename: filename.to_owned(),
            size,
            sha256: sha256.to_owned(),
            stored_as: stored_as.to_owned(),
            uploaded_at: self.clock.now(),
        };
        Ok(self.store.attach_upload(id, &file).await?)
    }
}

/// Which request a notification with this id and status reports on.
fn matching(request_id: Option<i64>, status: &str) -> TransferMatch {
    match request_id {
        Some(id) => TransferMatch::Request(id),
        None if status == "Idle" => TransferMatch::Unlinked,
        None => TransferMatch::Latest,
    }
}

fn check_retries(retries: Option<i64>, retry_interval: Option<i64>) -> Result<(), DomainError> {
    if retries.is_some_and(|r| r < 0) || retry_interval.is_some_and(|r| r < 0) {
        return Err(DomainError::Invalid(
            "retries and retry_interval cannot be negative".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_are_random_and_recognised() {
        let a = new_file_id();
        let b = new_file_id();
        assert_ne!(a, b);
        assert!(is_file_id(&a), "{a}");
        assert!(!is_file_id("../../etc/passwd"));
        assert!(!is_file_id(&format!("{a}x")));
        assert!(!is_file_id(&a.replace(|_| true, ".")));
    }

    #[test]
    fn file_names_cannot_escape_or_hide() {
        assert!(check_file_name("fw-1.2.3.bin").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb", &"x".repeat(256)] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn upload_tokens_are_long_random_and_not_printed() {
        let token = UploadToken::generate();
        assert_eq!(token.expose().len(), 43);
        assert_ne!(token, UploadToken::generate());
        assert!(!format!("{token:?}").contains(token.expose()));
        assert_eq!(token.hash(), hash_upload_token(token.expose()));
    }

    #[test]
    fn notifications_match_by_request_id_else_the_latest_except_idle() {
        assert_eq!(matching(Some(7), "Idle"), TransferMatch::Request(7));
        assert_eq!(matching(None, "Downloading"), TransferMatch::Latest);
        assert_eq!(matching(None, "Idle"), TransferMatch::Unlinked);
    }

    #[test]
    fn sha256_is_lower_hex() {
        // SHA-256("abc"), the FIPS 180-2 test vector.
        assert_eq!(
            sha256_hex(Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
