//! The gateway's security events into the security log, without ever making the handshake
//! or a connection wait for the database: the gateway's sink puts each event on a bounded
//! queue (or counts it as dropped when the queue is full) and one writer task stores what
//! has queued up in batches, one database transaction per batch. A count of dropped events
//! is itself stored, as an event of type `SecurityEventsDropped`, once the writer catches up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ampere_api::events::{EventBus, EventType};
use ampere_domain::security_log::EVENTS_DROPPED;
use ampere_domain::{SecurityEvent, SecurityEventSource, SecurityLogService};
use ampere_gateway::{GatewaySecurityEvent, SecurityEvents};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Events that may wait for the writer; more are dropped (and counted).
pub const QUEUE_LEN: usize = 4096;
/// Events stored in one database transaction at most.
pub const MAX_BATCH: usize = 256;

/// The gateway's sink: queues, never waits.
#[derive(Debug, Clone)]
pub struct SecurityLogSink {
    queue: mpsc::Sender<SecurityEvent>,
    dropped: Arc<AtomicU64>,
}

impl SecurityEvents for SecurityLogSink {
    fn report(&self, event: GatewaySecurityEvent) {
        tracing::info!(
            kind = event.kind.as_str(),
            charger_id = event.charger_id.as_ref().map(|id| id.as_str()),
            remote = %event.remote_addr,
            detail = ?event.detail,
            "security event"
        );
        if self.queue.try_send(to_domain(event)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn to_domain(event: GatewaySecurityEvent) -> SecurityEvent {
    let detail: Map<String, Value> = event
        .detail
        .into_iter()
        .map(|(key, value)| (key.to_owned(), Value::String(value)))
        .collect();
    SecurityEvent {
        at: chrono::Utc::now(),
        source: SecurityEventSource::Ampere,
        charger_id: event.charger_id.map(|id| id.as_str().to_owned()),
        event_type: event.kind.as_str().to_owned(),
        remote_addr: Some(event.remote_addr.to_string()),
        occurred_at: None,
        tech_info: None,
        detail: Value::Object(detail),
    }
}

/// Starts the writer; returns the gateway's sink and the writer task, which ends (after
/// storing what is queued) when every clone of the sink is dropped. Stored events are also
/// published on the live event bus (type `security`).
pub fn start(log: SecurityLogService, events: EventBus) -> (SecurityLogSink, JoinHandle<()>) {
    start_with(log, events, QUEUE_LEN)
}

fn start_with(
    log: SecurityLogService,
    events: EventBus,
    queue_len: usize,
) -> (SecurityLogSink, JoinHandle<()>) {
    let (queue, receiver) = mpsc::channel(queue_len);
    let dropped = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn(write_batches(log, events, receiver, dropped.clone()));
    (SecurityLogSink { queue, dropped }, writer)
}

async fn write_batches(
    log: SecurityLogService,
    events: EventBus,
    mut receiver: mpsc::Receiver<SecurityEvent>,
    dropped: Arc<AtomicU64>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            tracing::warn!(lost, "security events dropped: the log's queue was full");
            batch.push(SecurityEvent {
                at: log.now(),
                source: SecurityEventSource::Ampere,
                charger_id: None,
                event_type: EVENTS_DROPPED.to_owned(),
                remote_addr: None,
                occurred_at: None,
                tech_info: None,
                detail: json!({ "dropped": lost }),
            });
        }
        match log.record_batch(&batch).await {
            Ok(ids) => publish(&events, &batch, &ids),
            Err(error) => {
                tracing::error!(%error, events = batch.len(), "cannot store security events");
                dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        }
        batch.clear();
    }
}

/// Publishes stored events on the live bus (only built when someone listens).
fn publish(events: &EventBus, batch: &[SecurityEvent], ids: &[i64]) {
    if !events.has_subscribers() {
        return;
    }
    for (event, id) in batch.iter().zip(ids) {
        events.publish(
            event.charger_id.as_deref().unwrap_or(""),
            EventType::Security,
            json!({
                "source": event.source.as_str(),
                "type": event.event_type,
                "security_event_id": id,
                "remote_addr": event.remote_addr,
                "detail": event.detail,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use ampere_domain::ports::StoreResult;
    use ampere_domain::{SecurityEventFilter, SecurityEventRecord, SecurityLogStore, SystemClock};
    use ampere_gateway::SecurityEventKind;
    use async_trait::async_trait;
    use tokio::sync::Semaphore;

    use super::*;

    /// A store whose writes wait until the test lets them through (a stalled database).
    struct StalledStore {
        gate: Semaphore,
        stored: Mutex<Vec<SecurityEvent>>,
    }

    #[async_trait]
    impl SecurityLogStore for StalledStore {
        async fn insert_security_events(&self, events: &[SecurityEvent]) -> StoreResult<Vec<i64>> {
            self.gate.acquire().await.expect("gate open").forget();
            let mut stored = self.stored.lock().unwrap();
            let first = stored.len() as i64 + 1;
            stored.extend_from_slice(events);
            Ok((first..first + events.len() as i64).collect())
        }

        async fn security_events(
            &self,
            _: &SecurityEventFilter,
            _: u32,
        ) -> StoreResult<Vec<SecurityEventRecord>> {
            Ok(Vec::new())
        }
    }

    fn event(n: u16) -> GatewaySecurityEvent {
        GatewaySecurityEvent {
            kind: SecurityEventKind::AuthenticationFailed,
            charger_id: None,
            remote_addr: ([127, 0, 0, 1], n).into(),
            detail: vec![("reason", "wrong password".into())],
        }
    }

    #[tokio::test]
    async fn a_stalled_database_never_blocks_a_report_and_losses_are_recorded() {
        let store = Arc::new(StalledStore {
            gate: Semaphore::new(0),
            stored: Mutex::default(),
        });
        let log = SecurityLogService::new(store.clone(), Arc::new(SystemClock));
        let (sink, writer) = start_with(log, EventBus::new(16), 4);

        let started = Instant::now();
        for n in 0..100 {
            sink.report(event(n));
        }
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "reports never wait"
        );

        // The database comes back: what was queued is stored, with a record of the loss.
        store.gate.add_permits(1000);
        drop(sink);
        tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .expect("the writer ends with its last sink")
            .unwrap();
        let stored = store.stored.lock().unwrap();
        let dropped: u64 = stored
            .iter()
            .filter(|e| e.event_type == EVENTS_DROPPED)
            .map(|e| e.detail["dropped"].as_u64().unwrap())
            .sum();
        let kept = stored
            .iter()
            .filter(|e| e.event_type == "AuthenticationFailed")
            .count() as u64;
        assert!(kept >= 4, "at least the queue's worth stored: {kept}");
        assert_eq!(
            kept + dropped,
            100,
            "every event stored or counted as dropped"
        );
        assert!(dropped > 0);
        let first = stored
            .iter()
            .find(|e| e.event_type == "AuthenticationFailed")
            .unwrap();
        assert_eq!(first.source, SecurityEventSource::Ampere);
        assert_eq!(first.detail["reason"], "wrong password");
        assert_eq!(first.remote_addr.as_deref(), Some("127.0.0.1:0"));
    }
}
