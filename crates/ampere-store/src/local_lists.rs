//! [`LocalListStore`] on the store's pools: one row per charger (accepted version, last sync,
//! the version the charger reported) and the accepted entries. An accepted update replaces
//! the entries and the version in one database transaction, so a reader never sees a version
//! with another version's entries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use ampere_domain::ports::StoreResult;
use ampere_domain::{
    ChargerId, LocalList, LocalListEntry, LocalListStore, LocalListSync, StoreError, UpdateType,
};

use crate::Store;
use crate::codec::{parse_ts, parse_ts_opt, ts, ts_opt};
use crate::error::map_sqlx;

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn entry_row(row: &AnyRow) -> StoreResult<LocalListEntry> {
    Ok(LocalListEntry {
        id_token: get(row, "id_token")?,
        id_token_type: get(row, "id_token_type")?,
        status: get(row, "status")?,
        expiry_date: parse_ts_opt(get(row, "expiry_date")?)?,
        group_id: get(row, "group_id")?,
    })
}

fn sync_row(row: &AnyRow) -> StoreResult<Option<LocalListSync>> {
    let Some(at) = get::<Option<String>>(row, "sync_at")? else {
        return Ok(None);
    };
    let update_type = match get::<Option<String>>(row, "sync_type")?.as_deref() {
        Some("Full") => UpdateType::Full,
        Some("Differential") => UpdateType::Differential,
        other => {
            return Err(StoreError::Corrupt(format!(
                "local list sync_type {other:?}"
            )));
        }
    };
    Ok(Some(LocalListSync {
        at: parse_ts(&at)?,
        update_type,
        version: get::<Option<i64>>(row, "sync_version")?.unwrap_or(0),
        result: get::<Option<String>>(row, "sync_result")?.unwrap_or_default(),
    }))
}

/// Inserts the charger's row when missing (version 0), so updates can be plain UPDATEs.
const ENSURE_ROW: &str = "INSERT INTO local_lists (charger_id, version) VALUES ($1, 0) ON CONFLICT (charger_id) DO NOTHING";

const SET_SYNC: &str = "UPDATE local_lists SET sync_at = $2, sync_type = $3, sync_version = $4, \
     sync_result = $5 WHERE charger_id = $1";

#[async_trait]
impl LocalListStore for Store {
    async fn local_list(&self, charger: &ChargerId) -> StoreResult<LocalList> {
        let row = sqlx::query(
            "SELECT version, sync_at, sync_type, sync_version, sync_result, charger_version, \
             charger_version_at FROM local_lists WHERE charger_id = $1",
        )
        .bind(charger.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(map_sqlx)?;
        let Some(row) = row else {
            return Ok(LocalList::empty(charger.clone()));
        };
        let entries = sqlx::query(
            "SELECT id_token, id_token_type, status, expiry_date, group_id \
             FROM local_list_entries WHERE charger_id = $1 ORDER BY id_token",
        )
        .bind(charger.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(entry_row)
        .collect::<StoreResult<Vec<_>>>()?;
        let charger_version = match (
            get::<Option<i64>>(&row, "charger_version")?,
            parse_ts_opt(get(&row, "charger_version_at")?)?,
        ) {
            (Some(version), Some(at)) => Some((version, at)),
            _ => None,
        };
        Ok(LocalList {
            charger: charger.clone(),
            version: get(&row, "version")?,
            entries,
            last_sync: sync_row(&row)?,
            charger_version,
        })
    }

    async fn local_list_accepted(
        &self,
        charger: &ChargerId,
        version: i64,
        entries: &[LocalListEntry],
        sync: &LocalListSync,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        sqlx::query(ENSURE_ROW)
            .bind(charger.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        sqlx::query(SET_SYNC)
            .bind(charger.as_str())
            .bind(ts(sync.at))
            .bind(sync.update_type.as_str())
            .bind(sync.version)
            .bind(sync.result.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        sqlx::query("UPDATE local_lists SET version = $2 WHERE charger_id = $1")
            .bind(charger.as_str())
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        sqlx::query("DELETE FROM local_list_entries WHERE charger_id = $1")
            .bind(charger.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        for entry in entries {
            sqlx::query(
                "INSERT INTO local_list_entries \
                 (charger_id, id_token, id_token_type, status, expiry_date, group_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(charger.as_str())
            .bind(entry.id_token.as_str())
            .bind(entry.id_token_type.as_str())
            .bind(entry.status.as_str())
            .bind(ts_opt(entry.expiry_date))
            .bind(entry.group_id.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        }
        tx.commit().await.map_err(map_sqlx)
    }

    async fn local_list_not_accepted(
        &self,
        charger: &ChargerId,
        sync: &LocalListSync,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        sqlx::query(ENSURE_ROW)
            .bind(charger.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        sqlx::query(SET_SYNC)
            .bind(charger.as_str())
            .bind(ts(sync.at))
            .bind(sync.update_type.as_str())
            .bind(sync.version)
            .bind(sync.result.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)
    }

    async fn local_list_charger_version(
        &self,
        charger: &ChargerId,
        version: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        sqlx::query(ENSURE_ROW)
            .bind(charger.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        sqlx::query(
            "UPDATE local_lists SET charger_version = $2, charger_version_at = $3 \
             WHERE charger_id = $1",
        )
        .bind(charger.as_str())
        .bind(version)
        .bind(ts(at))
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)
    }
}
