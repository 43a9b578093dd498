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
    let (queue, receiver) = mpsc::channel(QUEUE_LEN);
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
