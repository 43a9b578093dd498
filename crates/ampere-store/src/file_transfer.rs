//! [`FileTransferStore`] on the store's pools: firmware files, firmware updates, log
//! requests and the status history of both. A status notification is one database
//! transaction on the writer: find the request it reports on, keep the notification, move
//! the request's status.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use ampere_domain::file_transfer::{
    FileTransferStore, FirmwareFile, FirmwareUpdate, LogKind, LogRequest, NewFirmwareFile,
    NewFirmwareUpdate, NewLogRequest, STATUS_REQUESTED, StatusEntry, TransferMatch, UploadedFile,
};
use ampere_domain::ports::StoreResult;
use ampere_domain::{ChargerId, StoreError};

use crate::Store;
use crate::codec::{flag, parse, parse_ts, parse_ts_opt, ts, ts_opt};
use crate::error::map_sqlx;

/// The `kind` of a row of `file_transfer_status`.
#[derive(Clone, Copy)]
enum Kind {
    Firmware,
    Log,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Firmware => "firmware",
            Self::Log => "log",
        }
    }

    fn table(self) -> &'static str {
        match self {
            Self::Firmware => "firmware_updates",
            Self::Log => "log_requests",
        }
    }
}

const FIRMWARE_COLS: &str = "serial, id, filename, size_bytes, sha256, uploaded_at, uploaded_by";
const UPDATE_COLS: &str = "id, charger_id, firmware_id, location, signed, retrieve_date, \
     install_date, retries, retry_interval, signing_certificate, signature, requested_by, \
     status, created_at, updated_at";
const LOG_COLS: &str = "id, charger_id, kind, start_time, stop_time, retries, retry_interval, \
     requested_by, upload_expires_at, status, charger_filename, file_name, file_size, \
     file_sha256, file_stored_as, uploaded_at, created_at, updated_at";

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn size(n: i64) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative file size {n}")))
}

fn charger(row: &AnyRow) -> StoreResult<ChargerId> {
    ChargerId::new(get::<String>(row, "charger_id")?)
        .map_err(|e| StoreError::Corrupt(format!("bad charger id: {e}")))
}

fn firmware_row(row: &AnyRow) -> StoreResult<FirmwareFile> {
    Ok(FirmwareFile {
        serial: get(row, "serial")?,
        id: get(row, "id")?,
        filename: get(row, "filename")?,
        size: size(get(row, "size_bytes")?)?,
        sha256: get(row, "sha256")?,
        uploaded_at: parse_ts(&get::<String>(row, "uploaded_at")?)?,
        uploaded_by: get(row, "uploaded_by")?,
    })
}

fn update_row(row: &AnyRow) -> StoreResult<FirmwareUpdate> {
    Ok(FirmwareUpdate {
        id: get(row, "id")?,
        request: NewFirmwareUpdate {
            charger: charger(row)?,
            firmware_id: get(row, "firmware_id")?,
            location: get(row, "location")?,
            signed: get::<i64>(row, "signed")? != 0,
            retrieve_date: parse_ts(&get::<String>(row, "retrieve_date")?)?,
            install_date: parse_ts_opt(get(row, "install_date")?)?,
            retries: get(row, "retries")?,
            retry_interval: get(row, "retry_interval")?,
            signing_certificate: get(row, "signing_certificate")?,
            signature: get(row, "signature")?,
            requested_by: get(row, "requested_by")?,
        },
        status: get(row, "status")?,
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
        updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
        history: Vec::new(),
    })
}

fn log_row(row: &AnyRow) -> StoreResult<LogRequest> {
    let file = match get::<Option<String>>(row, "file_name")? {
        None => None,
        Some(filename) => Some(UploadedFile {
            filename,
            size: size(get::<Option<i64>>(row, "file_size")?.unwrap_or_default())?,
            sha256: get::<Option<String>>(row, "file_sha256")?.unwrap_or_default(),
            stored_as: get::<Option<String>>(row, "file_stored_as")?.unwrap_or_default(),
            uploaded_at: parse_ts(
                &get::<Option<String>>(row, "uploaded_at")?
                    .ok_or_else(|| StoreError::Corrupt("upload without a time".into()))?,
            )?,
        }),
    };
    Ok(LogRequest {
        id: get(row, "id")?,
        request: NewLogRequest {
            charger: charger(row)?,
            kind: parse::<LogKind>(&get::<String>(row, "kind")?)?,
            start_time: parse_ts_opt(get(row, "start_time")?)?,
            stop_time: parse_ts_opt(get(row, "stop_time")?)?,
            retries: get(row, "retries")?,
            retry_interval: get(row, "retry_interval")?,
            requested_by: get(row, "requested_by")?,
        },
        status: get(row, "status")?,
        charger_filename: get(row, "charger_filename")?,
        file,
        upload_expires_at: parse_ts(&get::<String>(row, "upload_expires_at")?)?,
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
        updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
        history: Vec::new(),
    })
}

/// Appends one status to the history.
async fn insert_status(
    conn: &mut AnyConnection,
    kind: Kind,
    charger: &ChargerId,
    transfer_id: Option<i64>,
    request_id: Option<i64>,
    status: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO file_transfer_status (charger_id, kind, transfer_id, request_id, status, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(charger.as_str())
    .bind(kind.as_str())
    .bind(transfer_id)
    .bind(request_id)
    .bind(status)
    .bind(ts(at))
    .execute(&mut *conn)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

/// The status histories of a charger's transfers with ids from `low` to `high`, each
/// oldest first, by transfer id.
async fn histories(
    conn: &mut AnyConnection,
    kind: Kind,
    charger: &ChargerId,
    low: i64,
    high: i64,
) -> StoreResult<std::collections::HashMap<i64, Vec<StatusEntry>>> {
    let rows = sqlx::query(
        "SELECT transfer_id, status, at FROM file_transfer_status \
         WHERE kind = $1 AND charger_id = $2 AND transfer_id BETWEEN $3 AND $4 ORDER BY id",
    )
    .bind(kind.as_str())
    .bind(charger.as_str())
    .bind(low)
    .bind(high)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_sqlx)?;
    let mut by_id: std::collections::HashMap<i64, Vec<StatusEntry>> = Default::default();
    for row in &rows {
        by_id
            .entry(get(row, "transfer_id")?)
            .or_default()
            .push(StatusEntry {
                status: get(row, "status")?,
                at: parse_ts(&get::<String>(row, "at")?)?,
            });
    }
    Ok(by_id)
}

async fn load_update(
    conn: &mut AnyConnection,
    charger: Option<&ChargerId>,
    id: i64,
) -> StoreResult<Option<FirmwareUpdate>> {
    let row = sqlx::query(&format!(
        "SELECT {UPDATE_COLS} FROM firmware_updates WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_sqlx)?;
    let Some(row) = row else { return Ok(None) };
    let mut update = update_row(&row)?;
    if charger.is_some_and(|c| *c != update.request.charger) {
        return Ok(None);
    }
    update.history = histories(conn, Kind::Firmware, &update.request.charger, id, id)
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(Some(update))
}

async fn load_log(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<LogRequest>> {
    let row = sqlx::query(&format!(
        "SELECT {LOG_COLS} FROM log_requests WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_sqlx)?;
    let Some(row) = row else { return Ok(None) };
    let mut request = log_row(&row)?;
    request.history = histories(conn, Kind::Log, &request.request.charger, id, id)
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(Some(request))
}

/// Sets a transfer's status and appends it to its history; `false` when there is no such
/// transfer.
async fn set_status(
    conn: &mut AnyConnection,
    kind: Kind,
    id: i64,
    request_id: Option<i64>,
    status: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let row = sqlx::query(&format!(
        "UPDATE {} SET status = $1, updated_at = $2 WHERE id = $3 RETURNING charger_id",
        kind.table()
    ))
    .bind(status)
    .bind(ts(at))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_sqlx)?;
    let Some(row) = row else { return Ok(false) };
    insert_status(
        conn,
        kind,
        &charger(&row)?,
        Some(id),
        request_id,
        status,
        at,
    )
    .await?;
    Ok(true)
}

/// The transfer a notification reports on, when there is one.
async fn find_match(
    conn: &mut AnyConnection,
    kind: Kind,
    charger: &ChargerId,
    matching: TransferMatch,
) -> StoreResult<Option<i64>> {
    let table = kind.table();
    let row = match matching {
        TransferMatch::Unlinked => return Ok(None),
        TransferMatch::Request(id) => sqlx::query(&format!(
            "SELECT id FROM {table} WHERE charger_id = $1 AND id = $2"
        ))
        .bind(charger.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_sqlx)?,
        TransferMatch::Latest => sqlx::query(&format!(
            "SELECT id FROM {table} WHERE charger_id = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(charger.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_sqlx)?,
    };
    row.as_ref().map(|r| get(r, "id")).transpose()
}

/// Keeps a notification and moves the matched transfer's status, in one transaction;
/// returns the matched transfer's id.
async fn record_status(
    store: &Store,
    kind: Kind,
    charger: &ChargerId,
    matching: TransferMatch,
    request_id: Option<i64>,
    status: &str,
    at: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    let mut tx = store.writer.begin().await.map_err(map_sqlx)?;
    let matched = find_match(&mut tx, kind, charger, matching).await?;
    match matched {
        Some(id) => {
            set_status(&mut tx, kind, id, request_id, status, at).await?;
        }
        None => insert_status(&mut tx, kind, charger, None, request_id, status, at).await?,
    }
    tx.commit().await.map_err(map_sqlx)?;
    Ok(matched)
}

#[async_trait]
impl FileTransferStore for Store {
    async fn insert_firmware(
        &self,
        file: &NewFirmwareFile,
        at: DateTime<Utc>,
    ) -> StoreResult<FirmwareFile> {
        let size = i64::try_from(file.size)
            .map_err(|_| StoreError::Other(format!("file too large: {}", file.size)))?;
        let row = sqlx::query(&format!(
            "INSERT INTO firmware_files (id, filename, size_bytes, sha256, uploaded_at, uploaded_by) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {FIRMWARE_COLS}"
        ))
        .bind(file.id.as_str())
        .bind(file.filename.as_str())
        .bind(size)
        .bind(file.sha256.as_str())
        .bind(ts(at))
        .bind(file.uploaded_by.as_deref())
        .fetch_one(&self.writer)
        .await
        .map_err(map_sqlx)?;
        firmware_row(&row)
    }

    async fn firmware(&self, id: &str) -> StoreResult<Option<FirmwareFile>> {
        sqlx::query(&format!(
            "SELECT {FIRMWARE_COLS} FROM firmware_files WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(map_sqlx)?
        .as_ref()
        .map(firmware_row)
        .transpose()
    }

    async fn list_firmware(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<FirmwareFile>> {
        sqlx::query(&format!(
            "SELECT {FIRMWARE_COLS} FROM firmware_files WHERE serial < $1 \
             ORDER BY serial DESC LIMIT $2"
        ))
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(firmware_row)
        .collect()
    }

    async fn delete_firmware(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM firmware_files WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(map_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_firmware_update(
        &self,
        update: &NewFirmwareUpdate,
        at: DateTime<Utc>,
    ) -> StoreResult<FirmwareUpdate> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        let row = sqlx::query(
            "INSERT INTO firmware_updates (charger_id, firmware_id, location, signed, \
             retrieve_date, install_date, retries, retry_interval, signing_certificate, \
             signature, requested_by, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(update.charger.as_str())
        .bind(update.firmware_id.as_deref())
        .bind(update.location.as_str())
        .bind(flag(update.signed))
        .bind(ts(update.retrieve_date))
        .bind(ts_opt(update.install_date))
        .bind(update.retries)
        .bind(update.retry_interval)
        .bind(update.signing_certificate.as_deref())
        .bind(update.signature.as_deref())
        .bind(update.requested_by.as_deref())
        .bind(STATUS_REQUESTED)
        .bind(ts(at))
        .bind(ts(at))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let id: i64 = get(&row, "id")?;
        insert_status(
            &mut tx,
            Kind::Firmware,
            &update.charger,
            Some(id),
            Some(id),
            STATUS_REQUESTED,
            at,
        )
        .await?;
        let stored = load_update(&mut tx, None, id).await?;
        tx.commit().await.map_err(map_sqlx)?;
        stored.ok_or_else(|| StoreError::Other("inserted firmware update vanished".into()))
    }

    async fn set_firmware_update_status(
        &self,
        id: i64,
        status: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<FirmwareUpdate>> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        if !set_status(&mut tx, Kind::Firmware, id, Some(id), status, at).await? {
            return Ok(None);
        }
        let update = load_update(&mut tx, None, id).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(update)
    }

    async fn record_firmware_status(
        &self,
        charger: &ChargerId,
        matching: TransferMatch,
        request_id: Option<i64>,
        status: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<FirmwareUpdate>> {
        let matched = record_status(
            self,
            Kind::Firmware,
            charger,
            matching,
            request_id,
            status,
            at,
        )
        .await?;
        match matched {
            Some(id) => self.firmware_update(charger, id).await,
            None => Ok(None),
        }
    }

    async fn firmware_update(
        &self,
        charger: &ChargerId,
        id: i64,
    ) -> StoreResult<Option<FirmwareUpdate>> {
        let mut conn = self.reader.acquire().await.map_err(map_sqlx)?;
        load_update(&mut conn, Some(charger), id).await
    }

    async fn list_firmware_updates(
        &self,
        charger: &ChargerId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<FirmwareUpdate>> {
        let mut conn = self.reader.acquire().await.map_err(map_sqlx)?;
        let mut updates = sqlx::query(&format!(
            "SELECT {UPDATE_COLS} FROM firmware_updates WHERE charger_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(charger.as_str())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(update_row)
        .collect::<StoreResult<Vec<_>>>()?;
        // The page is a contiguous run of this charger's updates, so one range query over
        // its ids finds every history of the page and nothing else.
        if let (Some(high), Some(low)) = (updates.first(), updates.last()) {
            let mut by_id = histories(&mut conn, Kind::Firmware, charger, low.id, high.id).await?;
            for update in &mut updates {
                update.history = by_id.remove(&update.id).unwrap_or_default();
            }
        }
        Ok(updates)
    }

    async fn insert_log_request(
        &self,
        request: &NewLogRequest,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<LogRequest> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        let row = sqlx::query(
            "INSERT INTO log_requests (charger_id, kind, start_time, stop_time, retries, \
             retry_interval, requested_by, token_hash, upload_expires_at, status, created_at, \
             updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(request.charger.as_str())
        .bind(request.kind.as_str())
        .bind(ts_opt(request.start_time))
        .bind(ts_opt(request.stop_time))
        .bind(request.retries)
        .bind(request.retry_interval)
        .bind(request.requested_by.as_deref())
        .bind(token_hash)
        .bind(ts(expires_at))
        .bind(STATUS_REQUESTED)
        .bind(ts(at))
        .bind(ts(at))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let id: i64 = get(&row, "id")?;
        insert_status(
            &mut tx,
            Kind::Log,
            &request.charger,
            Some(id),
            Some(id),
            STATUS_REQUESTED,
            at,
        )
        .await?;
        let stored = load_log(&mut tx, id).await?;
        tx.commit().await.map_err(map_sqlx)?;
        stored.ok_or_else(|| StoreError::Other("inserted log request vanished".into()))
    }

    async fn set_log_request_status(
        &self,
        id: i64,
        status: &str,
        charger_filename: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<LogRequest>> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        if !set_status(&mut tx, Kind::Log, id, Some(id), status, at).await? {
            return Ok(None);
        }
        if let Some(name) = charger_filename {
            sqlx::query("UPDATE log_requests SET charger_filename = $1 WHERE id = $2")
                .bind(name)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?;
        }
        let request = load_log(&mut tx, id).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(request)
    }

    async fn record_log_status(
        &self,
        charger: &ChargerId,
        matching: TransferMatch,
        request_id: Option<i64>,
        status: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<LogRequest>> {
        let matched =
            record_status(self, Kind::Log, charger, matching, request_id, status, at).await?;
        match matched {
            Some(id) => self.log_request(id).await,
            None => Ok(None),
        }
    }

    async fn log_request(&self, id: i64) -> StoreResult<Option<LogRequest>> {
        let mut conn = self.reader.acquire().await.map_err(map_sqlx)?;
        load_log(&mut conn, id).await
    }

    async fn log_request_by_token(&self, token_hash: &str) -> StoreResult<Option<LogRequest>> {
        let mut conn = self.reader.acquire().await.map_err(map_sqlx)?;
        let row = sqlx::query("SELECT id FROM log_requests WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(row) => load_log(&mut conn, get(&row, "id")?).await,
            None => Ok(None),
        }
    }

    async fn list_log_requests(
        &self,
        charger: &ChargerId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<LogRequest>> {
        let mut conn = self.reader.acquire().await.map_err(map_sqlx)?;
        let mut requests = sqlx::query(&format!(
            "SELECT {LOG_COLS} FROM log_requests WHERE charger_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(charger.as_str())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(log_row)
        .collect::<StoreResult<Vec<_>>>()?;
        if let (Some(high), Some(low)) = (requests.first(), requests.last()) {
            let mut by_id = histories(&mut conn, Kind::Log, charger, low.id, high.id).await?;
            for request in &mut requests {
                request.history = by_id.remove(&request.id).unwrap_or_default();
            }
        }
        Ok(requests)
    }

    async fn attach_upload(&self, id: i64, file: &UploadedFile) -> StoreResult<bool> {
        let size = i64::try_from(file.size)
            .map_err(|_| StoreError::Other(format!("file too large: {}", file.size)))?;
        let done = sqlx::query(
            "UPDATE log_requests SET file_name = $1, file_size = $2, file_sha256 = $3, \
             file_stored_as = $4, uploaded_at = $5, updated_at = $6 \
             WHERE id = $7 AND file_name IS NULL",
        )
        .bind(file.filename.as_str())
        .bind(size)
        .bind(file.sha256.as_str())
        .bind(file.stored_as.as_str())
        .bind(ts(file.uploaded_at))
        .bind(ts(file.uploaded_at))
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(done.rows_affected() == 1)
    }
}
