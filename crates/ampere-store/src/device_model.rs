//! [`DeviceModelStore`] on the store's pools: the device model of each charger (one row per
//! component variable, its attributes and characteristics as JSON), report parts waiting for
//! the rest of their report, and the reports asked for. Applying a report is one
//! transaction on the writer, so a reader sees the old model or the new one, never half.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use ampere_domain::ports::StoreResult;
use ampere_domain::{
    ChargerId, DeviceModel, DeviceModelStore, ReportPart, ReportScope, ReportedVariable, StoreError,
};

use crate::Store;
use crate::codec::{parse_ts, ts};
use crate::error::map_sqlx;

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn unwritable(e: serde_json::Error) -> StoreError {
    StoreError::Other(format!("cannot write JSON: {e}"))
}

fn unreadable(what: &str) -> impl Fn(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("bad {what}: {e}"))
}

/// One text for a variable's identity: component name, instance, EVSE and connector, then
/// variable name and instance, as a JSON array (unambiguous whatever the names contain).
fn variable_key(variable: &ReportedVariable) -> StoreResult<String> {
    let (component, var) = variable.key();
    serde_json::to_string(&(
        &component.name,
        &component.instance,
        component.evse_id,
        component.connector_id,
        &var.name,
        &var.instance,
    ))
    .map_err(unwritable)
}

#[async_trait]
impl DeviceModelStore for Store {
    async fn insert_report_request(
        &self,
        charger: &ChargerId,
        request_id: i64,
        scope: ReportScope,
        at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        for (table, column) in [
            ("device_model_report_parts", "received_at"),
            ("device_model_report_requests", "requested_at"),
        ] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE charger_id = $1 AND {column} < $2"
            ))
            .bind(charger.as_str())
            .bind(ts(stale_before))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        }
        sqlx::query(
            "INSERT INTO device_model_report_requests (charger_id, request_id, scope, requested_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (charger_id, request_id) DO UPDATE \
             SET scope = excluded.scope, requested_at = excluded.requested_at",
        )
        .bind(charger.as_str())
        .bind(request_id)
        .bind(scope.as_str())
        .bind(ts(at))
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)
    }

    async fn stage_report_part(
        &self,
        charger: &ChargerId,
        part: &ReportPart,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<ReportPart>> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        sqlx::query(
            "INSERT INTO device_model_report_parts (charger_id, request_id, seq_no, received_at, part) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (charger_id, request_id, seq_no) DO UPDATE \
             SET received_at = excluded.received_at, part = excluded.part",
        )
        .bind(charger.as_str())
        .bind(part.request_id)
        .bind(part.seq_no)
        .bind(ts(at))
        .bind(serde_json::to_string(part).map_err(unwritable)?)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let rows = sqlx::query(
            "SELECT part FROM device_model_report_parts \
             WHERE charger_id = $1 AND request_id = $2 ORDER BY seq_no",
        )
        .bind(charger.as_str())
        .bind(part.request_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)?;
        rows.iter()
            .map(|row| {
                serde_json::from_str::<ReportPart>(&get::<String>(row, "part")?)
                    .map_err(unreadable("report part"))
            })
            .collect()
    }

    async fn apply_report(
        &self,
        charger: &ChargerId,
        request_id: i64,
        generated_at: DateTime<Utc>,
        scope: ReportScope,
        variables: &[ReportedVariable],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let id = charger.as_str();
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        if scope == ReportScope::Full {
            sqlx::query("DELETE FROM device_model_variables WHERE charger_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?;
        }
        // A merged report's new variables come after those already known.
        let row = sqlx::query(
            "SELECT COALESCE(MAX(position), -1) AS last FROM device_model_variables \
             WHERE charger_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let first: i64 = get::<i64>(&row, "last")? + 1;
        for (position, variable) in (first..).zip(variables) {
            sqlx::query(
                "INSERT INTO device_model_variables (charger_id, variable_key, position, data) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (charger_id, variable_key) DO UPDATE SET data = excluded.data",
            )
            .bind(id)
            .bind(variable_key(variable)?)
            .bind(position)
            .bind(serde_json::to_string(variable).map_err(unwritable)?)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        }
        sqlx::query(
            "INSERT INTO device_models (charger_id, last_request_id, generated_at, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (charger_id) DO UPDATE SET last_request_id = excluded.last_request_id, \
             generated_at = excluded.generated_at, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(request_id)
        .bind(ts(generated_at))
        .bind(ts(at))
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        for table in ["device_model_report_parts", "device_model_report_requests"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE charger_id = $1 AND request_id = $2"
            ))
            .bind(id)
            .bind(request_id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        }
        tx.commit().await.map_err(map_sqlx)
    }

    async fn report_request(
        &self,
        charger: &ChargerId,
        request_id: i64,
    ) -> StoreResult<Option<ReportScope>> {
        let row = sqlx::query(
            "SELECT scope FROM device_model_report_requests \
             WHERE charger_id = $1 AND request_id = $2",
        )
        .bind(charger.as_str())
        .bind(request_id)
        .fetch_optional(&self.writer)
        .await
        .map_err(map_sqlx)?;
        row.map(|row| {
            ReportScope::parse(&get::<String>(&row, "scope")?).map_err(StoreError::Corrupt)
        })
        .transpose()
    }

    async fn device_model(&self, charger: &ChargerId) -> StoreResult<Option<DeviceModel>> {
        // One read transaction, so the header and the variables are of the same report.
        let mut tx = self.reader.begin().await.map_err(map_sqlx)?;
        let Some(head) = sqlx::query(
            "SELECT last_request_id, generated_at, updated_at FROM device_models \
             WHERE charger_id = $1",
        )
        .bind(charger.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_sqlx)?
        else {
            return Ok(None);
        };
        let variables = sqlx::query(
            "SELECT data FROM device_model_variables WHERE charger_id = $1 ORDER BY position",
        )
        .bind(charger.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(|row| {
            serde_json::from_str::<ReportedVariable>(&get::<String>(row, "data")?)
                .map_err(unreadable("device model variable"))
        })
        .collect::<StoreResult<Vec<ReportedVariable>>>()?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(Some(DeviceModel {
            charger: charger.clone(),
            last_request_id: get(&head, "last_request_id")?,
            generated_at: parse_ts(&get::<String>(&head, "generated_at")?)?,
            updated_at: parse_ts(&get::<String>(&head, "updated_at")?)?,
            variables,
        }))
    }
}
