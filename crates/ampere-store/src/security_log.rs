//! [`SecurityLogStore`] on the store's pools: the security log. A batch is one database
//! transaction on the writer, so Ampere's queued events cost one commit per batch, not one
//! per event.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use ampere_domain::StoreError;
use ampere_domain::ports::StoreResult;
use ampere_domain::security_log::{
    SecurityEvent, SecurityEventFilter, SecurityEventRecord, SecurityEventSource, SecurityLogStore,
};

use crate::Store;
use crate::codec::{parse, parse_ts, parse_ts_opt, ts, ts_opt};
use crate::error::map_sqlx;

const COLS: &str =
    "id, at, source, charger_id, event_type, remote_addr, occurred_at, tech_info, detail";

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn event_row(row: &AnyRow) -> StoreResult<SecurityEventRecord> {
    let detail: String = get(row, "detail")?;
    Ok(SecurityEventRecord {
        id: get(row, "id")?,
        event: SecurityEvent {
            at: parse_ts(&get::<String>(row, "at")?)?,
            source: parse::<SecurityEventSource>(&get::<String>(row, "source")?)?,
            charger_id: get(row, "charger_id")?,
            event_type: get(row, "event_type")?,
            remote_addr: get(row, "remote_addr")?,
            occurred_at: parse_ts_opt(get(row, "occurred_at")?)?,
            tech_info: get(row, "tech_info")?,
            detail: serde_json::from_str(&detail)
                .map_err(|e| StoreError::Corrupt(format!("bad JSON in detail: {e}")))?,
        },
    })
}

#[async_trait]
impl SecurityLogStore for Store {
    async fn insert_security_events(&self, events: &[SecurityEvent]) -> StoreResult<Vec<i64>> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        let mut ids = Vec::with_capacity(events.len());
        for event in events {
            let row = sqlx::query(
                "INSERT INTO security_events \
                 (at, source, charger_id, event_type, remote_addr, occurred_at, tech_info, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(ts(event.at))
            .bind(event.source.as_str())
            .bind(event.charger_id.as_deref())
            .bind(event.event_type.as_str())
            .bind(event.remote_addr.as_deref())
            .bind(ts_opt(event.occurred_at))
            .bind(event.tech_info.as_deref())
            .bind(event.detail.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
            ids.push(get(&row, "id")?);
        }
        tx.commit().await.map_err(map_sqlx)?;
        Ok(ids)
    }

    async fn security_events(
        &self,
        filter: &SecurityEventFilter,
        limit: u32,
    ) -> StoreResult<Vec<SecurityEventRecord>> {
        // Each condition is always present and switched off by a NULL parameter, so the
        // statement text is the same for every filter.
        let sql = format!(
            "SELECT {COLS} FROM security_events \
             WHERE id < $1 \
               AND ($2 IS NULL OR charger_id = $2) \
               AND ($3 IS NULL OR event_type = $3) \
               AND ($4 IS NULL OR source = $4) \
               AND ($5 IS NULL OR at >= $5) \
               AND ($6 IS NULL OR at < $6) \
             ORDER BY id DESC LIMIT $7"
        );
        sqlx::query(&sql)
            .bind(filter.before_id.unwrap_or(i64::MAX))
            .bind(filter.charger_id.as_deref())
            .bind(filter.event_type.as_deref())
            .bind(filter.source.map(SecurityEventSource::as_str))
            .bind(ts_opt(filter.since))
            .bind(ts_opt(filter.until))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(map_sqlx)?
            .iter()
            .map(event_row)
            .collect()
    }
}
