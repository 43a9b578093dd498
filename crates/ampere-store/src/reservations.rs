//! [`ReservationStore`] on the store's pools. Expiry is applied in the queries the same way
//! the domain applies it on read ([`ampere_domain::Reservation::effective_status`]): an
//! `active` row whose `expires_at` is not after `now` counts as `expired`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use ampere_domain::ports::StoreResult;
use ampere_domain::{
    ChargerId, NewReservation, Reservation, ReservationFilter, ReservationStatus, ReservationStore,
    StoreError,
};

use crate::Store;
use crate::codec::{parse, parse_ts, ts};
use crate::error::map_sqlx;

const COLS: &str = "id, charger_id, evse_id, connector_id, connector_type, id_token, \
     id_token_type, group_id_token, expires_at, status, charger_status, created_at, updated_at";

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn number(value: Option<i64>, col: &str) -> StoreResult<Option<u32>> {
    value
        .map(|n| u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{col} = {n}"))))
        .transpose()
}

fn row_to_reservation(row: &AnyRow) -> StoreResult<Reservation> {
    Ok(Reservation {
        id: get(row, "id")?,
        charger: ChargerId::new(get::<String>(row, "charger_id")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        evse_id: number(get(row, "evse_id")?, "evse_id")?,
        connector_id: number(get(row, "connector_id")?, "connector_id")?,
        connector_type: get(row, "connector_type")?,
        id_token: get(row, "id_token")?,
        id_token_type: get(row, "id_token_type")?,
        group_id_token: get(row, "group_id_token")?,
        expires_at: parse_ts(&get::<String>(row, "expires_at")?)?,
        status: parse::<ReservationStatus>(&get::<String>(row, "status")?)?,
        charger_status: get(row, "charger_status")?,
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
        updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
    })
}

#[async_trait]
impl ReservationStore for Store {
    async fn insert_reservation(
        &self,
        new: &NewReservation,
        at: DateTime<Utc>,
    ) -> StoreResult<Reservation> {
        let row = sqlx::query(&format!(
            "INSERT INTO reservations (charger_id, evse_id, connector_id, connector_type, \
             id_token, id_token_type, group_id_token, expires_at, status, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             RETURNING {COLS}"
        ))
        .bind(new.charger.as_str())
        .bind(new.evse_id.map(i64::from))
        .bind(new.connector_id.map(i64::from))
        .bind(new.connector_type.as_deref())
        .bind(new.id_token.as_str())
        .bind(new.id_token_type.as_str())
        .bind(new.group_id_token.as_deref())
        .bind(ts(new.expires_at))
        .bind(ReservationStatus::Pending.as_str())
        .bind(ts(at))
        .fetch_one(&self.writer)
        .await
        .map_err(map_sqlx)?;
        row_to_reservation(&row)
    }

    async fn reservation(&self, id: i64) -> StoreResult<Option<Reservation>> {
        sqlx::query(&format!("SELECT {COLS} FROM reservations WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(map_sqlx)?
            .as_ref()
            .map(row_to_reservation)
            .transpose()
    }

    async fn list_reservations(
        &self,
        filter: &ReservationFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Reservation>> {
        // $4 is the status asked for, compared with the status as of `now` ($5).
        let sql = format!(
            "SELECT {COLS} FROM reservations \
             WHERE id < $1 AND ($2 IS NULL OR charger_id = $2) \
             AND ($4 IS NULL OR (CASE WHEN status = 'active' AND expires_at <= $5 \
                  THEN 'expired' ELSE status END) = $4) \
             ORDER BY id DESC LIMIT $3"
        );
        sqlx::query(&sql)
            .bind(filter.before_id.unwrap_or(i64::MAX))
            .bind(filter.charger.as_ref().map(|c| c.as_str().to_owned()))
            .bind(i64::from(filter.limit))
            .bind(filter.status.map(|s| s.as_str()))
            .bind(ts(now))
            .fetch_all(&self.reader)
            .await
            .map_err(map_sqlx)?
            .iter()
            .map(row_to_reservation)
            .collect()
    }

    async fn set_reservation_status(
        &self,
        id: i64,
        status: ReservationStatus,
        charger_status: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE reservations SET status = $1, \
             charger_status = COALESCE($2, charger_status), updated_at = $3 WHERE id = $4",
        )
        .bind(status.as_str())
        .bind(charger_status)
        .bind(ts(at))
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(done.rows_affected() == 1)
    }
}
