//! Webhook subscriptions and their delivery outbox: which URL wants which events, and each
//! event owed to a subscription with every attempt made to deliver it.
//!
//! The rules that do not need HTTP live here: how a signing secret is made, when the next
//! attempt is due ([`RetryPolicy`]) and when a delivery is given up. The HTTP side (signing,
//! posting, the worker) is in `ampere-api`.
//!
//! Order: deliveries of one subscription are attempted strictly in the order they were
//! stored (which is the order the events happened): the next one waits until the one before
//! it is delivered or given up.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::rngs::OsRng;

use crate::ports::StoreResult;

/// Every generated secret starts with this, so a leaked one is recognisable.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: 256 bits from the operating system's CSPRNG.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A subscription: events of the given types (all when empty) of the given chargers (all
/// when empty) are posted to `url`, signed with `secret`.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub event_types: Vec<String>,
    pub charger_ids: Vec<String>,
    /// The HMAC key. Kept as given (it must be, to sign), shown to the API only on create.
    pub secret: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("event_types", &self.event_types)
            .field("charger_ids", &self.charger_ids)
            .field("secret", &"***")
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Whether an event of `event_type` about `charger` is for this subscription (charger
    /// ids compare case-insensitively, as identities do).
    pub fn wants(&self, event_type: &str, charger: &str) -> bool {
        self.active
            && (self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type))
            && (self.charger_ids.is_empty()
                || self
                    .charger_ids
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(charger)))
    }
}

/// A subscription to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub event_types: Vec<String>,
    pub charger_ids: Vec<String>,
    pub secret: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// Changes to a subscription; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub charger_ids: Option<Vec<String>>,
    pub secret: Option<String>,
    pub active: Option<bool>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Not delivered yet; the next attempt is due at `next_attempt_at`.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Given up after the last allowed attempt.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for DeliveryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(format!("unknown delivery state {other:?}")),
        }
    }
}

/// An event owed to a subscription, as stored in the outbox before the first attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub charger_id: String,
    /// The exact body that is posted (and signed) on every attempt.
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// One try to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub number: u32,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// Why there was no answer (connection refused, timeout, …), or why it did not count.
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// A stored delivery with its attempts (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub charger_id: String,
    pub body: String,
    pub state: DeliveryState,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub attempts: Vec<DeliveryAttempt>,
}

/// What an attempt settled: the delivery's new state and, while pending, when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub state: DeliveryState,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Retries with exponential backoff and jitter: the wait after attempt `n` is
/// `base · 2^(n-1)`, at most `max_delay`, of which a random part up to `jitter` (0 to 1) is
/// taken off so that many receivers failing together do not retry together. After
/// `max_attempts` attempts the delivery fails.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 10 s, 20 s, 40 s, … up to an hour between tries; 10 attempts (about 3 hours).
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            max_delay: Duration::from_secs(3600),
            max_attempts: 10,
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failed attempt (1-based); `random` in `[0, 1)`.
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self
            .base
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let jitter = self.jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0);
        full.mul_f64(1.0 - jitter)
    }

    /// The outcome of attempt number `attempt` made at `at`.
    pub fn outcome(&self, attempt: u32, succeeded: bool, at: DateTime<Utc>) -> AttemptOutcome {
        if succeeded {
            return AttemptOutcome {
                state: DeliveryState::Delivered,
                next_attempt_at: None,
            };
        }
        if attempt >= self.max_attempts.max(1) {
            return AttemptOutcome {
                state: DeliveryState::Failed,
                next_attempt_at: None,
            };
        }
        let wait = self.delay(attempt, rand::random::<f64>());
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        AttemptOutcome {
            state: DeliveryState::Pending,
            next_attempt_at: Some(at.checked_add_signed(wait).unwrap_or(at)),
        }
    }
}

/// The storage the webhooks need (implemented by `ampere_store::Store`). Each call is its own
/// unit of work.
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn insert_webhook(&self, webhook: &NewWebhook) -> StoreResult<Webhook>;
    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>>;
    /// Ordered by id, after `after`, at most `limit`.
    async fn list_webhooks(&self, after: Option<i64>, limit: u32) -> StoreResult<Vec<Webhook>>;
    /// Every subscription, active or not (for the dispatcher's cache).
    async fn all_webhooks(&self) -> StoreResult<Vec<Webhook>>;
    /// The changed subscription, or `None` when there is none with this id.
    async fn update_webhook(
        &self,
        id: i64,
        change: &WebhookChange,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Webhook>>;
    /// Deletes the subscription and its deliveries; `false` when there was none.
    async fn delete_webhook(&self, id: i64) -> StoreResult<bool>;
    /// Stores the deliveries in one unit of work, in the given order (which is the order
    /// they are attempted in). A delivery whose subscription was deleted meanwhile is left
    /// out.
    async fn insert_deliveries(&self, deliveries: &[NewDelivery]) -> StoreResult<()>;
    /// The subscription's oldest pending delivery (with its attempts so far).
    async fn next_delivery(&self, webhook_id: i64) -> StoreResult<Option<Delivery>>;
    /// Records an attempt and its outcome in one unit of work.
    async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &DeliveryAttempt,
        outcome: &AttemptOutcome,
    ) -> StoreResult<()>;
    /// The subscription's deliveries, newest first, before id `before`, at most `limit`.
    async fn deliveries(
        &self,
        webhook_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_only_shortens() {
        let policy = RetryPolicy {
            base: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_attempts: 5,
            jitter: 0.5,
        };
        assert_eq!(policy.delay(1, 0.0), Duration::from_millis(100));
        assert_eq!(policy.delay(2, 0.0), Duration::from_millis(200));
        assert_eq!(policy.delay(3, 0.0), Duration::from_millis(400));
        assert_eq!(policy.delay(5, 0.0), Duration::from_millis(1000));
        assert_eq!(policy.delay(60, 0.0), Duration::from_millis(1000));
        assert_eq!(policy.delay(2, 0.999_999).as_millis(), 100);
    }

    #[test]
    fn attempts_end_delivered_or_failed_after_the_last() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let now = Utc::now();
        assert_eq!(policy.outcome(1, true, now).state, DeliveryState::Delivered);
        let retry = policy.outcome(2, false, now);
        assert_eq!(retry.state, DeliveryState::Pending);
        assert!(retry.next_attempt_at.unwrap() > now);
        assert_eq!(policy.outcome(3, false, now).state, DeliveryState::Failed);
    }

    #[test]
    fn filters_by_type_and_charger_and_secrets_stay_hidden() {
        let now = Utc::now();
        let hook = Webhook {
            id: 1,
            url: "http://x".into(),
            event_types: vec!["status".into()],
            charger_ids: vec!["CP1".into()],
            secret: generate_secret(),
            active: true,
            created_at: now,
            updated_at: now,
        };
        assert!(hook.wants("status", "cp1"));
        assert!(!hook.wants("boot", "CP1"));
        assert!(!hook.wants("status", "CP2"));
        assert!(
            !Webhook {
                active: false,
                ..hook.clone()
            }
            .wants("status", "CP1")
        );
        assert!(!format!("{hook:?}").contains(&hook.secret));
        assert!(hook.secret.starts_with(SECRET_PREFIX) && hook.secret.len() > 40);
    }
}
