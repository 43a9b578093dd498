//! [`ApiTokenStore`] on the store's pools: API tokens and the audit log. Each call is one
//! statement, so it is its own unit of work (committed when it returns); writes go through
//! the writer pool like every other write.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use ampere_domain::StoreError;
use ampere_domain::api_token::{
    ApiRole, ApiToken, ApiTokenStore, AuditEntry, AuditRecord, NewApiToken,
};
use ampere_domain::ports::StoreResult;

use crate::Store;
use crate::codec::{parse, parse_ts, parse_ts_opt, ts};
use crate::error::map_sqlx;

const TOKEN_COLS: &str = "id, name, role, created_at, revoked_at";

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn token_row(row: &AnyRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: get(row, "id")?,
        name: get(row, "name")?,
        role: parse::<ApiRole>(&get::<String>(row, "role")?)?,
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
        revoked_at: parse_ts_opt(get(row, "revoked_at")?)?,
    })
}

fn json(text: &str, col: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("bad JSON in {col}: {e}")))
}

fn audit_row(row: &AnyRow) -> StoreResult<AuditRecord> {
    Ok(AuditRecord {
        id: get(row, "id")?,
        entry: AuditEntry {
            at: parse_ts(&get::<String>(row, "at")?)?,
            token_id: get(row, "token_id")?,
            actor: get(row, "actor")?,
            action: get(row, "action")?,
            charger_id: get(row, "charger_id")?,
            request: json(&get::<String>(row, "request")?, "request")?,
            outcome: json(&get::<String>(row, "outcome")?, "outcome")?,
        },
    })
}

#[async_trait]
impl ApiTokenStore for Store {
    async fn insert_api_token(&self, token: &NewApiToken) -> StoreResult<ApiToken> {
        let row = sqlx::query(&format!(
            "INSERT INTO api_tokens (name, role, token_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {TOKEN_COLS}"
        ))
        .bind(token.name.as_str())
        .bind(token.role.as_str())
        .bind(token.token_hash.as_str())
        .bind(ts(token.created_at))
        .fetch_one(&self.writer)
        .await
        .map_err(map_sqlx)?;
        token_row(&row)
    }

    async fn api_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await
        .map_err(map_sqlx)?
        .as_ref()
        .map(token_row)
        .transpose()
    }

    async fn api_token(&self, id: i64) -> StoreResult<Option<ApiToken>> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(map_sqlx)?
        .as_ref()
        .map(token_row)
        .transpose()
    }

    async fn list_api_tokens(&self, after: Option<i64>, limit: u32) -> StoreResult<Vec<ApiToken>> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(token_row)
        .collect()
    }

    async fn revoke_api_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(ts(at))
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn count_active_api_tokens(&self) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM api_tokens WHERE revoked_at IS NULL")
            .fetch_one(&self.reader)
            .await
            .map_err(map_sqlx)?;
        let n: i64 = get(&row, "n")?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {n}")))
    }

    async fn insert_audit(&self, entry: &AuditEntry) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO audit_log (at, token_id, actor, action, charger_id, request, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(ts(entry.at))
        .bind(entry.token_id)
        .bind(entry.actor.as_str())
        .bind(entry.action.as_str())
        .bind(entry.charger_id.as_deref())
        .bind(entry.request.to_string())
        .bind(entry.outcome.to_string())
        .fetch_one(&self.writer)
        .await
        .map_err(map_sqlx)?;
        get(&row, "id")
    }

    async fn audit_log(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        sqlx::query(
            "SELECT id, at, token_id, actor, action, charger_id, request, outcome \
             FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(audit_row)
        .collect()
    }
}
