//! `/api/v1/webhooks`: subscriptions of URLs to events, and their delivery log.
//!
//! Every event a subscription wants (by type and charger) is stored as a pending delivery
//! before it is posted ([`dispatcher`]), then posted as JSON (the same `Event` the SSE stream
//! sends) with `X-Ampere-Signature: sha256=<hex HMAC-SHA256 of the body>` ([`signature`]),
//! `X-Ampere-Event-Id`, `X-Ampere-Event-Type` and `X-Ampere-Timestamp` (Unix seconds of the
//! attempt). A 2xx answer delivers it; anything else (another status, a redirect, no answer
//! within the timeout) is retried with exponential backoff and jitter, up to the configured
//! number of attempts. One subscription's deliveries go strictly in event order.
//!
//! Roles: operators and admins manage subscriptions, viewers read them (never the secret,
//! which only the answer to POST shows).

mod dispatcher;
pub mod signature;

use std::sync::Arc;

use ampere_domain::webhook::{
    Delivery, NewWebhook, Webhook, WebhookChange, WebhookStore, generate_secret,
};
use ampere_domain::{ChargerId, DomainError, StoreError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use dispatcher::DeliverySettings;

use crate::ApiState;
use crate::auth::{Operator, Viewer};
use crate::error::{ApiError, Problem};
use crate::events::{EventBus, EventType};
use crate::extract::{Body, Query};
use crate::page::{self, PageParams, page_type};

/// Webhook subscriptions and their delivery worker (cheap to clone).
#[derive(Clone)]
pub struct Webhooks {
    dispatcher: Arc<dispatcher::Dispatcher>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").finish_non_exhaustive()
    }
}

impl Webhooks {
    /// The subscriptions in `store`, delivered as `settings` say. Nothing runs until
    /// [`start`](Self::start).
    pub fn new(
        store: Arc<dyn WebhookStore>,
        settings: DeliverySettings,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            dispatcher: Arc::new(dispatcher::Dispatcher::new(store, settings)?),
        })
    }

    /// Takes every event of `bus` from now on, and starts delivering (deliveries left
    /// pending by an earlier run first).
    pub async fn start(&self, bus: &EventBus) -> Result<(), ampere_domain::StoreError> {
        bus.attach_sink(self.dispatcher.clone());
        self.dispatcher.start().await
    }

    /// Stores the events still queued and stops delivering.
    pub async fn stop(&self) {
        self.dispatcher.stop().await;
    }

    fn store(&self) -> &dyn WebhookStore {
        &*self.dispatcher.store
    }

    /// After a change: matching uses the new subscriptions, and the lane looks again.
    async fn changed(&self, id: i64) -> Result<(), ApiError> {
        self.dispatcher.reload().await.map_err(store_error)?;
        self.dispatcher.wake(id);
        Ok(())
    }
}

// ------------------------------------------------------------------ DTOs

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    /// Where events are posted (`http` or `https`).
    pub url: String,
    /// Event types delivered; empty: all.
    pub event_types: Vec<String>,
    /// Chargers whose events are delivered; empty: all.
    pub charger_ids: Vec<String>,
    /// Inactive subscriptions get no new events; their pending deliveries wait.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret: only in the answer to the POST that created the subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

page_type!(
    /// A page of webhook subscriptions, oldest first.
    WebhookPage,
    WebhookView
);

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    pub url: String,
    /// Default: all types (connection, boot, status, transaction, meter, command).
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Default: all chargers.
    #[serde(default)]
    pub charger_ids: Vec<String>,
    /// 16 to 256 characters; generated (256 random bits) when absent.
    pub secret: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

/// Changes a subscription; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub charger_ids: Option<Vec<String>>,
    /// A new signing secret (rotation); it is not shown back.
    pub secret: Option<String>,
    pub active: Option<bool>,
}

/// One try to deliver.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    /// 1 for the first try.
    pub number: u32,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// Why there was no answer (timeout, connection refused, …).
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// An event owed to a subscription, with every attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The event's id (`X-Ampere-Event-Id`).
    pub event_id: i64,
    pub event_type: String,
    pub charger_id: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub state: String,
    pub attempt_count: usize,
    pub attempts: Vec<AttemptView>,
    /// When the next try is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

page_type!(
    /// A page of deliveries, newest first.
    DeliveryPage,
    DeliveryView
);

fn to_view(webhook: Webhook, show_secret: bool) -> WebhookView {
    WebhookView {
        id: webhook.id,
        url: webhook.url,
        event_types: webhook.event_types,
        charger_ids: webhook.charger_ids,
        active: webhook.active,
        created_at: webhook.created_at,
        updated_at: webhook.updated_at,
        secret: show_secret.then_some(webhook.secret),
    }
}

fn to_delivery_view(delivery: Delivery) -> DeliveryView {
    DeliveryView {
        id: delivery.id,
        event_id: delivery.event_id,
        event_type: delivery.event_type,
        charger_id: delivery.charger_id,
        state: delivery.state.as_str().to_owned(),
        attempt_count: delivery.attempts.len(),
        attempts: delivery
            .attempts
            .into_iter()
            .map(|a| AttemptView {
                number: a.number,
                at: a.at,
                http_status: a.http_status,
                error: a.error,
                duration_ms: a.duration_ms,
            })
            .collect(),
        next_attempt_at: delivery.next_attempt_at,
        created_at: delivery.created_at,
    }
}

// ------------------------------------------------------------------ checks

/// The longest URL accepted.
const MAX_URL_LEN: usize = 2048;

fn check_url(url: String) -> Result<String, ApiError> {
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| ApiError::BadRequest(format!("url is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ApiError::BadRequest(
            "url must be an http:// or https:// URL with a host".into(),
        ));
    }
    if url.len() > MAX_URL_LEN {
        return Err(ApiError::BadRequest(format!(
            "url is longer than {MAX_URL_LEN} characters"
        )));
    }
    Ok(url)
}

fn check_types(types: Vec<String>) -> Result<Vec<String>, ApiError> {
    let mut checked: Vec<String> = Vec::with_capacity(types.len());
    for t in types {
        let kind = EventType::parse(t.trim()).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown event type {t:?}; known: {}",
                EventType::ALL.map(EventType::as_str).join(", ")
            ))
        })?;
        if !checked.iter().any(|c| c == kind.as_str()) {
            checked.push(kind.as_str().to_owned());
        }
    }
    Ok(checked)
}

fn check_chargers(ids: Vec<String>) -> Result<Vec<String>, ApiError> {
    ids.into_iter()
        .map(|id| {
            ChargerId::new(id)
                .map(|id| id.as_str().to_owned())
                .map_err(|e| ApiError::BadRequest(format!("charger_ids: {e}")))
        })
        .collect()
}

fn check_secret(secret: String) -> Result<String, ApiError> {
    match secret.chars().count() {
        16..=256 => Ok(secret),
        _ => Err(ApiError::BadRequest(
            "secret must have 16 to 256 characters".into(),
        )),
    }
}

/// A store error as the API reports it (503 when the database is unavailable).
pub(crate) fn store_error(error: StoreError) -> ApiError {
    ApiError::from(DomainError::Store(error))
}

fn id_of(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::NotFound(format!("no webhook {text:?}")))
}

async fn find(state: &ApiState, id: &str) -> Result<Webhook, ApiError> {
    let id = id_of(id)?;
    state
        .webhooks
        .store()
        .webhook(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::NotFound(format!("no webhook {id}")))
}

fn cursor(text: Option<&str>) -> Result<Option<i64>, ApiError> {
    text.map(|c| {
        c.parse()
            .map_err(|_| ApiError::BadRequest(format!("invalid cursor {c:?}")))
    })
    .transpose()
}

// ------------------------------------------------------------------ handlers

/// Subscribe a URL to events. The answer shows the signing secret, this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = NewWebhookBody,
    responses(
        (status = 201, body = WebhookView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    _: Operator,
    Body(body): Body<NewWebhookBody>,
) -> Result<impl IntoResponse, ApiError> {
    let new = NewWebhook {
        url: check_url(body.url)?,
        event_types: check_types(body.event_types)?,
        charger_ids: check_chargers(body.charger_ids)?,
        secret: match body.secret {
            Some(secret) => check_secret(secret)?,
            None => generate_secret(),
        },
        active: body.active.unwrap_or(true),
        created_at: Utc::now(),
    };
    let webhook = state
        .webhooks
        .store()
        .insert_webhook(&new)
        .await
        .map_err(store_error)?;
    state.webhooks.changed(webhook.id).await?;
    Ok((StatusCode::CREATED, Json(to_view(webhook, true))))
}

/// List webhook subscriptions (without their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(PageParams),
    responses(
        (status = 200, body = WebhookPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Query(params): Query<PageParams>,
) -> Result<Json<WebhookPage>, ApiError> {
    let limit = page::limit(params.limit)?;
    let after = cursor(params.cursor.as_deref())?;
    let items = state
        .webhooks
        .store()
        .list_webhooks(after, limit + 1)
        .await
        .map_err(store_error)?;
    let (items, next_cursor) = page::split(items, limit, |w| w.id.to_string());
    Ok(Json(WebhookPage {
        items: items.into_iter().map(|w| to_view(w, false)).collect(),
        next_cursor,
    }))
}

/// One webhook subscription (without its secret).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "the subscription's id")),
    responses(
        (status = 200, body = WebhookView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(to_view(find(&state, &id).await?, false)))
}

/// Change a subscription: its URL, filters, secret (rotation) or whether it is active.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "the subscription's id")),
    request_body = WebhookPatch,
    responses(
        (status = 200, body = WebhookView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<ApiState>,
    _: Operator,
    Path(id): Path<String>,
    Body(patch): Body<WebhookPatch>,
) -> Result<Json<WebhookView>, ApiError> {
    let id = id_of(&id)?;
    let change = WebhookChange {
        url: patch.url.map(check_url).transpose()?,
        event_types: patch.event_types.map(check_types).transpose()?,
        charger_ids: patch.charger_ids.map(check_chargers).transpose()?,
        secret: patch.secret.map(check_secret).transpose()?,
        active: patch.active,
    };
    let webhook = state
        .webhooks
        .store()
        .update_webhook(id, &change, Utc::now())
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::NotFound(format!("no webhook {id}")))?;
    state.webhooks.changed(id).await?;
    Ok(Json(to_view(webhook, false)))
}

/// Delete a subscription and its delivery log; pending deliveries are dropped.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "the subscription's id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<ApiState>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id_of(&id)?;
    if !state
        .webhooks
        .store()
        .delete_webhook(id)
        .await
        .map_err(store_error)?
    {
        return Err(ApiError::NotFound(format!("no webhook {id}")));
    }
    state.webhooks.changed(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log of a subscription, newest first: each event owed, every attempt (time,
/// HTTP status or error), the next retry while pending, and the final state.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path, description = "the subscription's id"), PageParams),
    responses(
        (status = 200, body = DeliveryPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let webhook = find(&state, &id).await?;
    let limit = page::limit(params.limit)?;
    let before = cursor(params.cursor.as_deref())?;
    let items = state
        .webhooks
        .store()
        .deliveries(webhook.id, before, limit + 1)
        .await
        .map_err(store_error)?;
    let (items, next_cursor) = page::split(items, limit, |d| d.id.to_string());
    Ok(Json(DeliveryPage {
        items: items.into_iter().map(to_delivery_view).collect(),
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked() {
        assert!(check_url("https://hooks.example/x".into()).is_ok());
        assert!(check_url("ftp://hooks.example/x".into()).is_err());
        assert!(check_url("not a url".into()).is_err());
        assert_eq!(
            check_types(vec!["status".into(), "boot".into(), "status".into()]).unwrap(),
            vec!["status", "boot"]
        );
        assert!(check_types(vec!["nope".into()]).is_err());
        assert!(check_chargers(vec!["a:b".into()]).is_err());
        assert!(check_secret("short".into()).is_err());
        assert!(check_secret("0123456789abcdef".into()).is_ok());
    }
}
