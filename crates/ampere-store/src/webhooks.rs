//! [`WebhookStore`] on the store's pools: subscriptions, the delivery outbox and the attempts.
//! Writes go through the writer pool like every other write; a call that writes several rows
//! does so in one database transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use ampere_domain::StoreError;
use ampere_domain::ports::StoreResult;
use ampere_domain::webhook::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryState, NewDelivery, NewWebhook, Webhook,
    WebhookChange, WebhookStore,
};

use crate::Store;
use crate::codec::{flag, parse, parse_ts, parse_ts_opt, ts, ts_opt};
use crate::error::map_sqlx;

const WEBHOOK_COLS: &str =
    "id, url, event_types, charger_ids, secret, active, created_at, updated_at";
const DELIVERY_COLS: &str =
    "id, webhook_id, event_id, event_type, charger_id, body, state, next_attempt_at, created_at";

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn list_text(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn parse_list(text: &str, col: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("bad list in {col}: {e}")))
}

fn number<T: TryFrom<i64>>(n: i64, what: &str) -> StoreResult<T> {
    T::try_from(n).map_err(|_| StoreError::Corrupt(format!("{what} out of range: {n}")))
}

fn webhook_row(row: &AnyRow) -> StoreResult<Webhook> {
    Ok(Webhook {
        id: get(row, "id")?,
        url: get(row, "url")?,
        event_types: parse_list(&get::<String>(row, "event_types")?, "event_types")?,
        charger_ids: parse_list(&get::<String>(row, "charger_ids")?, "charger_ids")?,
        secret: get(row, "secret")?,
        active: get::<i64>(row, "active")? != 0,
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
        updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
    })
}

fn delivery_row(row: &AnyRow) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: get(row, "id")?,
        webhook_id: get(row, "webhook_id")?,
        event_id: get(row, "event_id")?,
        event_type: get(row, "event_type")?,
        charger_id: get(row, "charger_id")?,
        body: get(row, "body")?,
        state: parse::<DeliveryState>(&get::<String>(row, "state")?)?,
        next_attempt_at: parse_ts_opt(get(row, "next_attempt_at")?)?,
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
        attempts: Vec::new(),
    })
}

fn attempt_row(row: &AnyRow) -> StoreResult<(i64, DeliveryAttempt)> {
    Ok((
        get(row, "delivery_id")?,
        DeliveryAttempt {
            number: number(get(row, "number")?, "attempt number")?,
            at: parse_ts(&get::<String>(row, "at")?)?,
            http_status: get::<Option<i64>>(row, "http_status")?
                .map(|s| number(s, "http_status"))
                .transpose()?,
            error: get(row, "error")?,
            duration_ms: number(get(row, "duration_ms")?, "duration_ms")?,
        },
    ))
}

impl Store {
    /// Fills in the attempts of the given deliveries (one query).
    async fn with_attempts(&self, mut deliveries: Vec<Delivery>) -> StoreResult<Vec<Delivery>> {
        if deliveries.is_empty() {
            return Ok(deliveries);
        }
        let placeholders: Vec<String> = (1..=deliveries.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT delivery_id, number, at, http_status, error, duration_ms \
             FROM webhook_attempts WHERE delivery_id IN ({}) ORDER BY delivery_id, number",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for delivery in &deliveries {
            query = query.bind(delivery.id);
        }
        let rows = query.fetch_all(&self.reader).await.map_err(map_sqlx)?;
        let mut by_delivery: HashMap<i64, Vec<DeliveryAttempt>> = HashMap::new();
        for row in &rows {
            let (id, attempt) = attempt_row(row)?;
            by_delivery.entry(id).or_default().push(attempt);
        }
        for delivery in &mut deliveries {
            delivery.attempts = by_delivery.remove(&delivery.id).unwrap_or_default();
        }
        Ok(deliveries)
    }
}

#[async_trait]
impl WebhookStore for Store {
    async fn insert_webhook(&self, webhook: &NewWebhook) -> StoreResult<Webhook> {
        let row = sqlx::query(&format!(
            "INSERT INTO webhooks (url, event_types, charger_ids, secret, active, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {WEBHOOK_COLS}"
        ))
        .bind(webhook.url.as_str())
        .bind(list_text(&webhook.event_types))
        .bind(list_text(&webhook.charger_ids))
        .bind(webhook.secret.as_str())
        .bind(flag(webhook.active))
        .bind(ts(webhook.created_at))
        .fetch_one(&self.writer)
        .await
        .map_err(map_sqlx)?;
        webhook_row(&row)
    }

    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>> {
        sqlx::query(&format!(
            "SELECT {WEBHOOK_COLS} FROM webhooks WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(map_sqlx)?
        .as_ref()
        .map(webhook_row)
        .transpose()
    }

    async fn list_webhooks(&self, after: Option<i64>, limit: u32) -> StoreResult<Vec<Webhook>> {
        sqlx::query(&format!(
            "SELECT {WEBHOOK_COLS} FROM webhooks WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(webhook_row)
        .collect()
    }

    async fn all_webhooks(&self) -> StoreResult<Vec<Webhook>> {
        sqlx::query(&format!("SELECT {WEBHOOK_COLS} FROM webhooks ORDER BY id"))
            .fetch_all(&self.reader)
            .await
            .map_err(map_sqlx)?
            .iter()
            .map(webhook_row)
            .collect()
    }

    async fn update_webhook(
        &self,
        id: i64,
        change: &WebhookChange,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Webhook>> {
        // COALESCE keeps the fields the change leaves out, in one statement.
        sqlx::query(&format!(
            "UPDATE webhooks SET url = COALESCE($1, url), \
             event_types = COALESCE($2, event_types), charger_ids = COALESCE($3, charger_ids), \
             secret = COALESCE($4, secret), active = COALESCE($5, active), updated_at = $6 \
             WHERE id = $7 RETURNING {WEBHOOK_COLS}"
        ))
        .bind(change.url.as_deref())
        .bind(change.event_types.as_deref().map(list_text))
        .bind(change.charger_ids.as_deref().map(list_text))
        .bind(change.secret.as_deref())
        .bind(change.active.map(flag))
        .bind(ts(at))
        .bind(id)
        .fetch_optional(&self.writer)
        .await
        .map_err(map_sqlx)?
        .as_ref()
        .map(webhook_row)
        .transpose()
    }

    async fn delete_webhook(&self, id: i64) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(map_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_deliveries(&self, deliveries: &[NewDelivery]) -> StoreResult<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        for delivery in deliveries {
            // INSERT … SELECT … WHERE EXISTS: a subscription deleted since the event was
            // matched simply gets nothing (instead of a foreign-key error for the batch).
            sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, charger_id, \
                 body, state, next_attempt_at, created_at) \
                 SELECT $1, $2, $3, $4, $5, 'pending', $6, $6 \
                 WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = $1)",
            )
            .bind(delivery.webhook_id)
            .bind(delivery.event_id)
            .bind(delivery.event_type.as_str())
            .bind(delivery.charger_id.as_str())
            .bind(delivery.body.as_str())
            .bind(ts(delivery.created_at))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        }
        tx.commit().await.map_err(map_sqlx)
    }

    async fn next_delivery(&self, webhook_id: i64) -> StoreResult<Option<Delivery>> {
        let delivery = sqlx::query(&format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries \
             WHERE webhook_id = $1 AND state = 'pending' ORDER BY id LIMIT 1"
        ))
        .bind(webhook_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(map_sqlx)?
        .as_ref()
        .map(delivery_row)
        .transpose()?;
        match delivery {
            Some(delivery) => Ok(self.with_attempts(vec![delivery]).await?.pop()),
            None => Ok(None),
        }
    }

    async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &DeliveryAttempt,
        outcome: &AttemptOutcome,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, number, at, http_status, error, \
             duration_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(delivery_id)
        .bind(i64::from(attempt.number))
        .bind(ts(attempt.at))
        .bind(attempt.http_status.map(i64::from))
        .bind(attempt.error.as_deref())
        .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        sqlx::query("UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2 WHERE id = $3")
            .bind(outcome.state.as_str())
            .bind(ts_opt(outcome.next_attempt_at))
            .bind(delivery_id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)
    }

    async fn deliveries(
        &self,
        webhook_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        let deliveries = sqlx::query(&format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries \
             WHERE webhook_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(webhook_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(delivery_row)
        .collect::<StoreResult<Vec<_>>>()?;
        self.with_attempts(deliveries).await
    }
}
