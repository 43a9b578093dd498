//! [`MessageLogStore`] on the store's pools: frames are written in multi-row inserts (a batch
//! costs one transaction on the single writer, not one per frame), listed newest first per
//! charger, and purged by time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use ampere_domain::message_log::{
    FrameDirection, FrameQuery, LoggedFrame, MessageLogStore, StoredFrame,
};
use ampere_domain::ports::StoreResult;

use crate::Store;
use crate::codec::{parse, parse_ts, ts};
use crate::error::map_sqlx;

/// Rows per INSERT statement: 7 parameters each stays far below both databases' limits.
const ROWS_PER_INSERT: usize = 100;
/// Rows deleted per statement when purging.
const PURGE_SLICE: i64 = 5_000;

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn frame_row(row: &AnyRow) -> StoreResult<StoredFrame> {
    Ok(StoredFrame {
        id: get(row, "id")?,
        frame: LoggedFrame {
            charger_id: get(row, "charger_id")?,
            at: parse_ts(&get::<String>(row, "at")?)?,
            direction: parse::<FrameDirection>(&get::<String>(row, "direction")?)?,
            message_type: get(row, "message_type")?,
            action: get(row, "action")?,
            message_id: get(row, "message_id")?,
            text: get(row, "frame")?,
        },
    })
}

#[async_trait]
impl MessageLogStore for Store {
    async fn insert_frames(&self, frames: &[LoggedFrame]) -> StoreResult<()> {
        if frames.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        for chunk in frames.chunks(ROWS_PER_INSERT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let n = i * 7;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        n + 1,
                        n + 2,
                        n + 3,
                        n + 4,
                        n + 5,
                        n + 6,
                        n + 7
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO message_log (charger_id, at, direction, message_type, action, \
                 message_id, frame) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for frame in chunk {
                query = query
                    .bind(frame.charger_id.as_str())
                    .bind(ts(frame.at))
                    .bind(frame.direction.as_str())
                    .bind(frame.message_type.as_str())
                    .bind(frame.action.as_deref())
                    .bind(frame.message_id.as_deref())
                    .bind(frame.text.as_str());
            }
            query.execute(&mut *tx).await.map_err(map_sqlx)?;
        }
        tx.commit().await.map_err(map_sqlx)
    }

    async fn frames(&self, query: &FrameQuery) -> StoreResult<Vec<StoredFrame>> {
        // Optional filters as `$n IS NULL OR …`, so the statement text is one and the same.
        sqlx::query(
            "SELECT id, charger_id, at, direction, message_type, action, message_id, frame \
             FROM message_log WHERE charger_id = $1 AND id < $2 \
             AND ($3 IS NULL OR direction = $3) AND ($4 IS NULL OR action = $4) \
             AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) \
             ORDER BY id DESC LIMIT $7",
        )
        .bind(query.charger_id.as_str())
        .bind(query.before.unwrap_or(i64::MAX))
        .bind(query.direction.map(FrameDirection::as_str))
        .bind(query.action.as_deref())
        .bind(query.since.map(ts))
        .bind(query.until.map(ts))
        .bind(i64::from(query.limit))
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(frame_row)
        .collect()
    }

    async fn purge_frames_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        // In slices, so a big purge never holds the one writer long: chargers' writes go in
        // between.
        let mut purged = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM message_log WHERE id IN \
                 (SELECT id FROM message_log WHERE at < $1 LIMIT $2)",
            )
            .bind(ts(cutoff))
            .bind(PURGE_SLICE)
            .execute(&self.writer)
            .await
            .map_err(map_sqlx)?;
            purged += done.rows_affected();
            if done.rows_affected() < PURGE_SLICE as u64 {
                return Ok(purged);
            }
        }
    }
}
