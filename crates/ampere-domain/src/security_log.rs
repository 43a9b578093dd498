//! The security log: one queryable record of security events, from two sources —
//! what chargers report (`SecurityEventNotification`, 1.6 security whitepaper and 2.x) and
//! what Ampere itself saw at its charger endpoint (failed logins, lockouts, duplicate
//! identities, profile violations, refused certificates, rate limits, oversize messages and
//! compression bombs, malformed or slow handshakes).
//!
//! A charger's event is one of its messages: it is stored before the charger is answered,
//! like every other message. Ampere's own events are observations made on the handshake and
//! connection paths, which must never wait for a database: the binary queues them and
//! writes them in batches ([`SecurityLogService::record_batch`]); when the queue overflows,
//! the loss is counted and recorded itself as an event of type [`EVENTS_DROPPED`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::ChargerId;
use crate::ports::StoreResult;

/// The event type Ampere records when its queue of security events overflowed; `detail`
/// says how many were lost.
pub const EVENTS_DROPPED: &str = "SecurityEventsDropped";

/// Longest event type kept (OCPP's `type` is a string of at most 50 characters).
pub const MAX_TYPE_LEN: usize = 50;
/// Longest `techInfo` kept (OCPP allows 255; more is cut, never refused).
pub const MAX_TECH_INFO_LEN: usize = 255;

/// Who saw the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityEventSource {
    /// Reported by the charger (`SecurityEventNotification`).
    Charger,
    /// Observed by Ampere.
    Ampere,
}

impl SecurityEventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Charger => "charger",
            Self::Ampere => "ampere",
        }
    }
}

impl FromStr for SecurityEventSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "charger" => Ok(Self::Charger),
            "ampere" => Ok(Self::Ampere),
            other => Err(format!(
                "unknown security event source {other:?} (expected charger or ampere)"
            )),
        }
    }
}

impl fmt::Display for SecurityEventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A security event to store.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEvent {
    /// When Ampere recorded (or, for its own events, observed) it.
    pub at: DateTime<Utc>,
    pub source: SecurityEventSource,
    /// The charger concerned: the sender of a notification, or the identity a client
    /// claimed at the endpoint (kept as text: a claimed identity need not be registered).
    pub charger_id: Option<String>,
    /// The charger's `type` (e.g. `FirmwareUpdated`), or Ampere's own (e.g.
    /// `AuthenticationFailed`, `LockedOut`, `DuplicateConnection`).
    pub event_type: String,
    /// The client's address, for Ampere's events.
    pub remote_addr: Option<String>,
    /// When the charger says the event happened (its `timestamp`).
    pub occurred_at: Option<DateTime<Utc>>,
    /// The charger's `techInfo`.
    pub tech_info: Option<String>,
    /// Ampere's details: the reason of a refusal, how a duplicate was resolved, limits...
    /// Never a secret.
    pub detail: Value,
}

/// A stored security event.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEventRecord {
    pub id: i64,
    pub event: SecurityEvent,
}

/// Which events to list, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityEventFilter {
    pub charger_id: Option<String>,
    pub event_type: Option<String>,
    pub source: Option<SecurityEventSource>,
    /// `at >= since`.
    pub since: Option<DateTime<Utc>>,
    /// `at < until`.
    pub until: Option<DateTime<Utc>>,
    /// Only events with a smaller id (the page cursor).
    pub before_id: Option<i64>,
}

/// Storage of the security log.
#[async_trait]
pub trait SecurityLogStore: Send + Sync + 'static {
    /// Stores the events in one unit of work, in order; returns their ids.
    async fn insert_security_events(&self, events: &[SecurityEvent]) -> StoreResult<Vec<i64>>;
    /// Events matching `filter`, newest (highest id) first, at most `limit`.
    async fn security_events(
        &self,
        filter: &SecurityEventFilter,
        limit: u32,
    ) -> StoreResult<Vec<SecurityEventRecord>>;
}

/// Records and lists security events.
#[derive(Clone)]
pub struct SecurityLogService {
    store: Arc<dyn SecurityLogStore>,
    clock: Arc<dyn Clock>,
}

impl SecurityLogService {
    pub fn new(store: Arc<dyn SecurityLogStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Stores what a charger reported; durable when this returns (the charger is answered
    /// after). An over-long `techInfo` is cut, not refused: the event matters more.
    pub async fn record_from_charger(
        &self,
        charger: &ChargerId,
        event_type: &str,
        occurred_at: Option<DateTime<Utc>>,
        tech_info: Option<&str>,
    ) -> Result<SecurityEventRecord, DomainError> {
        let event = SecurityEvent {
            at: self.clock.now(),
            source: SecurityEventSource::Charger,
            charger_id: Some(charger.as_str().to_owned()),
            event_type: cut(event_type, MAX_TYPE_LEN),
            remote_addr: None,
            occurred_at,
            tech_info: tech_info.map(|t| cut(t, MAX_TECH_INFO_LEN)),
            detail: Value::Null,
        };
        let ids = self
            .store
            .insert_security_events(std::slice::from_ref(&event))
            .await?;
        let id = ids.first().copied().ok_or_else(|| {
            DomainError::Store(crate::error::StoreError::Other(
                "security event stored without an id".into(),
            ))
        })?;
        Ok(SecurityEventRecord { id, event })
    }

    /// Stores a batch of events (Ampere's own, queued by the binary) in one unit of work.
    pub async fn record_batch(&self, events: &[SecurityEvent]) -> Result<Vec<i64>, DomainError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.insert_security_events(events).await?)
    }

    /// Events matching `filter`, newest first.
    pub async fn list(
        &self,
        filter: &SecurityEventFilter,
        limit: u32,
    ) -> Result<Vec<SecurityEventRecord>, DomainError> {
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && since > until
        {
            return Err(DomainError::Invalid("since must not be after until".into()));
        }
        Ok(self.store.security_events(filter, limit).await?)
    }
}

/// `text` cut to at most `max` characters.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip() {
        for source in [SecurityEventSource::Charger, SecurityEventSource::Ampere] {
            assert_eq!(source.as_str().parse::<SecurityEventSource>(), Ok(source));
        }
        assert!("both".parse::<SecurityEventSource>().is_err());
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("ääää", 2), "ää");
        assert_eq!(cut(&"x".repeat(300), MAX_TECH_INFO_LEN).len(), 255);
    }
}
