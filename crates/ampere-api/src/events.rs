//! Live events: what chargers did (connected, booted, reported a status, ran a transaction,
//! sent meter values) and the commands sent to them through the API, and
//! `GET /api/v1/events`, which streams them as server-sent events.
//!
//! The [`EventBus`] is a bounded in-memory broadcast owned by the binary: its wiring adapter
//! publishes an event after the OCPP router answered a charger's call (derived from the
//! action, the request and the answer, see [`EventBus::charger_call`]) and on connection
//! changes; the command handlers publish the outcome of every command. Nothing is stored:
//! a subscriber sees the events published while it is connected. A subscriber that falls
//! more than the bus's capacity behind is told how many events it missed (`lagged`) and
//! carries on with the newest.
//!
//! Event ids grow strictly in publication order. The sequence starts at the server's start
//! time in microseconds, so ids also keep growing across restarts and a receiver can drop
//! duplicates by id.
//!
//! Besides the live subscribers, the bus may have one [`EventSink`]: the webhook outbox. It
//! is handed every event under the same lock that orders the ids, so it sees them all, in
//! order, whether or not anyone streams (a broadcast receiver could fall behind and miss
//! some; a sink cannot).

use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ampere_domain::{ChargerId, Services, TransactionId};
use ampere_ocpp::OcppVersion;
use axum::extract::State;
use axum::response::sse::{self, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, watch};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::auth::Viewer;
use crate::error::{ApiError, Problem};
use crate::extract::Query;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// A charger connected, disconnected, or was taken over by a new connection.
    Connection,
    /// A charger's BootNotification and Ampere's answer.
    Boot,
    /// A StatusNotification: the status of a connector (or of the charger, EVSE 0).
    Status,
    /// A transaction started, was updated, or ended.
    Transaction,
    /// Meter values, on their own or inside a transaction message.
    Meter,
    /// A command sent through the API and its outcome.
    Command,
    /// A security event: reported by a charger (`SecurityEventNotification`) or seen by
    /// Ampere (failed logins, lockouts, duplicate identities, floods...), as in the security
    /// log.
    Security,
}

impl EventType {
    pub const ALL: [Self; 7] = [
        Self::Connection,
        Self::Boot,
        Self::Status,
        Self::Transaction,
        Self::Meter,
        Self::Command,
        Self::Security,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Boot => "boot",
            Self::Status => "status",
            Self::Transaction => "transaction",
            Self::Meter => "meter",
            Self::Command => "command",
            Self::Security => "security",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// One event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    /// Unique, and growing in the order events happened.
    pub id: u64,
    pub time: DateTime<Utc>,
    pub charger_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Depends on the type; see the SSE endpoint's description.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// How many events a subscriber may fall behind before it is told it missed some.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Takes every event as it is published (the webhook outbox).
pub trait EventSink: Send + Sync + 'static {
    /// Whether it wants events now; when it does not and nobody streams, events are not
    /// even built.
    fn wants_events(&self) -> bool;
    /// Called in id order under the bus's lock: must return at once (queue, never wait).
    fn accept(&self, event: &Arc<Event>);
}

/// The in-memory event broadcast (cheap to clone; all clones are the same bus).
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    /// The last id given out, under the same lock as the send, so ids reach every
    /// subscriber in increasing order.
    last_id: Mutex<u64>,
    sender: broadcast::Sender<Arc<Event>>,
    /// The webhook outbox, once the binary attached it.
    sink: OnceLock<Arc<dyn EventSink>>,
    /// Set to `true` when the server shuts down: open streams end, so the HTTP server's
    /// graceful shutdown does not wait on them forever.
    closed: watch::Sender<bool>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.inner.sender.receiver_count())
            .finish_non_exhaustive()
    }
}

impl EventBus {
    /// A bus on which a subscriber may fall `capacity` events behind.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        let start = u64::try_from(Utc::now().timestamp_micros()).unwrap_or(0);
        Self {
            inner: Arc::new(Inner {
                last_id: Mutex::new(start),
                sender,
                sink: OnceLock::new(),
                closed: watch::Sender::new(false),
            }),
        }
    }

    /// Whether anyone listens (a stream or the sink); publishers skip the work of building
    /// events when not.
    pub fn has_subscribers(&self) -> bool {
        self.inner.sender.receiver_count() > 0
            || self
                .inner
                .sink
                .get()
                .is_some_and(|sink| sink.wants_events())
    }

    /// Attaches the sink that gets every event from now on; `false` when one was attached
    /// already (there is one bus and one outbox per process).
    pub fn attach_sink(&self, sink: Arc<dyn EventSink>) -> bool {
        self.inner.sink.set(sink).is_ok()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.sender.subscribe()
    }

    /// Ends every open event stream (at shutdown).
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }

    /// Publishes an event now and returns it.
    pub fn publish(&self, charger: &str, kind: EventType, data: Value) -> Arc<Event> {
        let mut last_id = self
            .inner
            .last_id
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let time = Utc::now();
        // Never below the clock, so ids grow across restarts; never repeated.
        let now = u64::try_from(time.timestamp_micros()).unwrap_or(0);
        *last_id = (*last_id + 1).max(now);
        let event = Arc::new(Event {
            id: *last_id,
            time,
            charger_id: charger.to_owned(),
            kind,
            data,
        });
        // No subscriber is not an error: nobody was listening.
        let _ = self.inner.sender.send(event.clone());
        if let Some(sink) = self.inner.sink.get() {
            sink.accept(&event);
        }
        event
    }

    /// A connection change: `state` is `connected`, `disconnected` or `taken_over`.
    pub fn connection(&self, charger: &ChargerId, state: &str, details: Value) {
        if !self.has_subscribers() {
            return;
        }
        let mut data = json!({"state": state});
        merge(&mut data, details);
        self.publish(charger.as_str(), EventType::Connection, data);
    }

    /// The events of a charger's call that the router answered with `response`. Transaction
    /// events carry the transaction as the API shows it (with its energy), read after the
    /// call was committed.
    pub async fn charger_call(
        &self,
        services: &Services,
        charger: &ChargerId,
        version: OcppVersion,
        action: &str,
        request: &Value,
        response: &Value,
    ) {
        for (kind, data) in derive(version, action, request, response) {
            let data = if kind == EventType::Transaction {
                with_transaction(services, charger, data).await
            } else {
                data
            };
            self.publish(charger.as_str(), kind, data);
        }
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

/// Adds the stored transaction (`transaction`) to a transaction event's data.
async fn with_transaction(services: &Services, charger: &ChargerId, mut data: Value) -> Value {
    let Some(id) = data
        .get("transaction_id")
        .and_then(Value::as_str)
        .and_then(|id| TransactionId::new(id).ok())
    else {
        return data;
    };
    match services.transactions.get(charger, &id).await {
        Ok(Some(transaction)) => {
            let view = crate::transactions::to_view(transaction);
            if let (Value::Object(map), Ok(view)) = (&mut data, serde_json::to_value(view)) {
                map.insert("transaction".into(), view);
            }
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "transaction event without its transaction"),
    }
    data
}

// ------------------------------------------------------------------ deriving events

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A 1.6 connector number as EVSE and connector (connector `n` is EVSE `n` connector 1;
/// 0 is the charger itself).
fn place_16(connector: Option<&Value>) -> (Value, Value) {
    match connector.and_then(Value::as_u64) {
        Some(0) => (json!(0), Value::Null),
        Some(n) => (json!(n), json!(1)),
        None => (Value::Null, Value::Null),
    }
}

/// Meter values in one shape for every version: `[{timestamp, sampled_values: [{value,
/// measurand, phase, unit, unit_multiplier, context, location}]}]`, values as text.
fn meter_values(values: Option<&Value>) -> Vec<Value> {
    let Some(Value::Array(values)) = values else {
        return Vec::new();
    };
    values
        .iter()
        .map(|mv| {
            let sampled: Vec<Value> = mv
                .get("sampledValue")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| {
                    let value = match s.get("value") {
                        Some(Value::String(text)) => Value::String(text.clone()),
                        Some(other) => Value::String(other.to_string()),
                        None => Value::Null,
                    };
                    let unit = s
                        .get("unit")
                        .or_else(|| s.pointer("/unitOfMeasure/unit"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    json!({
                        "value": value,
                        "measurand": s.get("measurand").cloned().unwrap_or(Value::Null),
                        "phase": s.get("phase").cloned().unwrap_or(Value::Null),
                        "unit": unit,
                        "unit_multiplier": s.pointer("/unitOfMeasure/multiplier").cloned().unwrap_or(Value::Null),
                        "context": s.get("context").cloned().unwrap_or(Value::Null),
                        "location": s.get("location").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect();
            json!({
                "timestamp": mv.get("timestamp").cloned().unwrap_or(Value::Null),
                "sampled_values": sampled,
            })
        })
        .collect()
}

/// The events a charger's answered call stands for, in order. Only the actions events are
/// about give any; the payloads were validated by the router, but nothing here relies on
/// that (a missing field is `null`).
pub fn derive(
    version: OcppVersion,
    action: &str,
    request: &Value,
    response: &Value,
) -> Vec<(EventType, Value)> {
    let mut events = Vec::new();
    let v16 = version == OcppVersion::V16;
    let field = |v: &Value, key: &str| v.get(key).cloned().unwrap_or(Value::Null);
    match action {
        "SecurityEventNotification" => events.push((
            EventType::Security,
            json!({
                "source": "charger",
                "type": field(request, "type"),
                "occurred_at": field(request, "timestamp"),
                "tech_info": field(request, "techInfo"),
            }),
        )),
        "BootNotification" => {
            let station = if v16 {
                request.clone()
            } else {
                field(request, "chargingStation")
            };
            let pick = |a: &str, b: &str| {
                station
                    .get(if v16 { a } else { b })
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            events.push((
                EventType::Boot,
                json!({
                    "status": field(response, "status"),
                    "vendor": pick("chargePointVendor", "vendorName"),
                    "model": pick("chargePointModel", "model"),
                    "firmware_version": pick("firmwareVersion", "firmwareVersion"),
                    "serial_number": pick("chargePointSerialNumber", "serialNumber"),
                }),
            ));
        }
        "StatusNotification" => {
            let data = if v16 {
                let (evse, connector) = place_16(request.get("connectorId"));
                json!({
                    "evse_id": evse,
                    "connector_id": connector,
                    "status": field(request, "status"),
                    "error_code": field(request, "errorCode"),
                    "timestamp": field(request, "timestamp"),
                })
            } else {
                json!({
                    "evse_id": field(request, "evseId"),
                    "connector_id": field(request, "connectorId"),
                    "status": field(request, "connectorStatus"),
                    "error_code": Value::Null,
                    "timestamp": field(request, "timestamp"),
                })
            };
            events.push((EventType::Status, data));
        }
        "StartTransaction" if v16 => {
            let (evse, connector) = place_16(request.get("connectorId"));
            let id = response.get("transactionId").map(|id| match id {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            events.push((
                EventType::Transaction,
                json!({
                    "event": "started",
                    "transaction_id": id,
                    "evse_id": evse,
                    "connector_id": connector,
                    "id_token": field(request, "idTag"),
                    "meter_wh": field(request, "meterStart"),
                    "authorization": response.pointer("/idTagInfo/status").cloned().unwrap_or(Value::Null),
                }),
            ));
        }
        "StopTransaction" if v16 => {
            let id = request.get("transactionId").map(|id| id.to_string());
            let values = meter_values(request.get("transactionData"));
            events.push((
                EventType::Transaction,
                json!({
                    "event": "ended",
                    "transaction_id": id,
                    "reason": field(request, "reason"),
                    "meter_wh": field(request, "meterStop"),
                }),
            ));
            if !values.is_empty() {
                events.push((
                    EventType::Meter,
                    json!({"transaction_id": id, "evse_id": null, "connector_id": null, "meter_values": values}),
                ));
            }
        }
        "TransactionEvent" if !v16 => {
            let id = request
                .pointer("/transactionInfo/transactionId")
                .cloned()
                .unwrap_or(Value::Null);
            let event = match str_of(request, "eventType") {
                Some("Started") => "started",
                Some("Ended") => "ended",
                _ => "updated",
            };
            let evse = request.pointer("/evse/id").cloned().unwrap_or(Value::Null);
            let connector = request
                .pointer("/evse/connectorId")
                .cloned()
                .unwrap_or(Value::Null);
            events.push((
                EventType::Transaction,
                json!({
                    "event": event,
                    "transaction_id": id,
                    "evse_id": evse,
                    "connector_id": connector,
                    "id_token": request.pointer("/idToken/idToken").cloned().unwrap_or(Value::Null),
                    "trigger_reason": field(request, "triggerReason"),
                    "seq_no": field(request, "seqNo"),
                    "charging_state": request.pointer("/transactionInfo/chargingState").cloned().unwrap_or(Value::Null),
                    "reason": request.pointer("/transactionInfo/stoppedReason").cloned().unwrap_or(Value::Null),
                }),
            ));
            let values = meter_values(request.get("meterValue"));
            if !values.is_empty() {
                events.push((
                    EventType::Meter,
                    json!({"transaction_id": id, "evse_id": evse, "connector_id": connector, "meter_values": values}),
                ));
            }
        }
        "MeterValues" => {
            let (evse, connector, transaction) = if v16 {
                let (evse, connector) = place_16(request.get("connectorId"));
                let id = request.get("transactionId").map(|id| id.to_string());
                (evse, connector, json!(id))
            } else {
                (field(request, "evseId"), Value::Null, Value::Null)
            };
            events.push((
                EventType::Meter,
                json!({
                    "transaction_id": transaction,
                    "evse_id": evse,
                    "connector_id": connector,
                    "meter_values": meter_values(request.get("meterValue")),
                }),
            ));
        }
        _ => {}
    }
    events
}

// ------------------------------------------------------------------ the SSE endpoint

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only this charger's events.
    pub charger_id: Option<String>,
    /// Only these types, comma-separated: connection, boot, status, transaction, meter,
    /// command, security.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub types: Option<String>,
}

/// Which events a subscriber wants.
#[derive(Debug, Clone, Default)]
struct Filter {
    charger: Option<String>,
    /// Empty: all.
    types: Vec<EventType>,
}

impl Filter {
    fn parse(query: EventQuery) -> Result<Self, ApiError> {
        let types = match query.types.as_deref() {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    EventType::parse(t).ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "unknown event type {t:?}; known: {}",
                            EventType::ALL.map(EventType::as_str).join(", ")
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            charger: query.charger_id.filter(|c| !c.is_empty()),
            types,
        })
    }

    fn wants(&self, event: &Event) -> bool {
        self.charger
            .as_deref()
            .is_none_or(|c| c.eq_ignore_ascii_case(&event.charger_id))
            && (self.types.is_empty() || self.types.contains(&event.kind))
    }
}

fn sse_event(event: &Event) -> sse::Event {
    sse::Event::default()
        .id(event.id.to_string())
        .event(event.kind.as_str())
        .data(serde_json::to_string(event).unwrap_or_else(|_| "{}".into()))
}

/// What a subscriber reads next: an event it wants, a `lagged` notice, or the end.
async fn next_event(
    receiver: &mut broadcast::Receiver<Arc<Event>>,
    closed: &mut watch::Receiver<bool>,
    filter: &Filter,
) -> Option<sse::Event> {
    loop {
        // Closing wins over buffered events, deterministically: at shutdown a stream ends at
        // once instead of racing the events still queued for it.
        let received = tokio::select! {
            biased;
            _ = closed.wait_for(|closed| *closed) => return None,
            received = receiver.recv() => received,
        };
        match received {
            Ok(event) if filter.wants(&event) => return Some(sse_event(&event)),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let data = json!({"missed": missed}).to_string();
                return Some(sse::Event::default().event("lagged").data(data));
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// The filtered stream of one subscriber.
/// It owns its receivers, so it borrows nothing (`use<>`).
fn stream(
    bus: &EventBus,
    filter: Filter,
) -> impl Stream<Item = Result<sse::Event, Infallible>> + use<> {
    let state = (bus.subscribe(), bus.inner.closed.subscribe(), filter);
    futures_util::stream::unfold(state, |(mut receiver, mut closed, filter)| async move {
        let event = next_event(&mut receiver, &mut closed, &filter).await?;
        Some((Ok(event), (receiver, closed, filter)))
    })
}

/// Interval of the keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Live events as server-sent events (`text/event-stream`).
///
/// Each event has `id:` (growing; a receiver can drop duplicates by it), `event:` (its type)
/// and `data:` (the `Event` as JSON). Types and their `data`:
/// `connection` `{state: connected|disconnected|taken_over, protocol, remote_addr,
/// connection_id, reason?}`; `boot` `{status, vendor, model, firmware_version,
/// serial_number}`; `status` `{evse_id, connector_id, status, error_code, timestamp}`;
/// `transaction` `{event: started|updated|ended, transaction_id, evse_id, connector_id, …,
/// transaction: {…, meter_start_wh, meter_stop_wh, energy_wh}}`; `meter` `{transaction_id,
/// evse_id, connector_id, meter_values}`; `command` `{command, request, status, response |
/// problem}`; `security` `{source: charger|ampere, type, …}` (as in the security log). A
/// client that fell too far behind gets `event: lagged` with `{missed: N}`.
/// A comment line is sent every 15 s to keep the connection open. Only events published
/// while connected are sent.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventQuery),
    responses(
        (status = 200, body = Event, content_type = "text/event-stream", description = "a stream of events"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<ApiState>,
    _: Viewer,
    Query(query): Query<EventQuery>,
) -> Result<Sse<impl Stream<Item = Result<sse::Event, Infallible>>>, ApiError> {
    let filter = Filter::parse(query)?;
    Ok(Sse::new(stream(&state.events, filter)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// A command event's data: the command, its (redacted) request and the outcome's fields
/// (`status`, and `response` or `problem`).
pub(crate) fn command_data(command: &str, request: Value, outcome: &Value) -> Value {
    let mut data = Map::new();
    data.insert("command".into(), Value::String(command.to_owned()));
    data.insert("request".into(), request);
    if let Value::Object(outcome) = outcome {
        data.extend(outcome.clone());
    }
    Value::Object(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[test]
    fn ids_grow_and_subscribers_see_events_in_order() {
        let bus = EventBus::new(8);
        let mut rx = bus.subscribe();
        let a = bus.publish("CP1", EventType::Status, json!({}));
        let b = bus.publish("CP1", EventType::Meter, json!({}));
        assert!(b.id > a.id);
        assert_eq!(rx.try_recv().unwrap().id, a.id);
        assert_eq!(rx.try_recv().unwrap().id, b.id);
        // Ids start at the clock, so a later run starts above this one's.
        assert!(a.id >= u64::try_from(Utc::now().timestamp_micros()).unwrap() - 60_000_000);
    }

    #[test]
    fn the_sink_sees_every_event_in_order_without_any_stream() {
        struct Collect(Mutex<Vec<u64>>);
        impl EventSink for Collect {
            fn wants_events(&self) -> bool {
                true
            }
            fn accept(&self, event: &Arc<Event>) {
                self.0.lock().unwrap().push(event.id);
            }
        }
        let bus = EventBus::new(1);
        assert!(!bus.has_subscribers());
        let sink = Arc::new(Collect(Mutex::new(Vec::new())));
        assert!(bus.attach_sink(sink.clone()));
        assert!(bus.has_subscribers(), "the sink counts as a listener");
        let ids: Vec<u64> = (0..5)
            .map(|_| bus.publish("CP1", EventType::Status, json!({})).id)
            .collect();
        // More than the broadcast capacity, with no stream at all: none missed.
        assert_eq!(*sink.0.lock().unwrap(), ids);
        assert!(!bus.attach_sink(sink), "one sink per bus");
    }

    #[test]
    fn filters_by_charger_and_type() {
        let query = EventQuery {
            charger_id: Some("cp1".into()),
            types: Some("status, transaction".into()),
        };
        let filter = Filter::parse(query).unwrap();
        let event = |charger: &str, kind| Event {
            id: 1,
            time: Utc::now(),
            charger_id: charger.into(),
            kind,
            data: json!({}),
        };
        assert!(filter.wants(&event("CP1", EventType::Status)));
        assert!(filter.wants(&event("CP1", EventType::Transaction)));
        assert!(!filter.wants(&event("CP1", EventType::Meter)));
        assert!(!filter.wants(&event("CP2", EventType::Status)));
        let bad = EventQuery {
            charger_id: None,
            types: Some("status,nope".into()),
        };
        assert!(matches!(Filter::parse(bad), Err(ApiError::BadRequest(_))));
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_how_many_it_missed() {
        let bus = EventBus::new(2);
        let mut events = Box::pin(stream(&bus, Filter::default()));
        for _ in 0..5 {
            bus.publish("CP1", EventType::Status, json!({}));
        }
        let first = events.next().await.unwrap().unwrap();
        let text = format!("{first:?}");
        assert!(text.contains("lagged") && text.contains("missed"), "{text}");
        // Then the newest two.
        let next = format!("{:?}", events.next().await.unwrap().unwrap());
        assert!(next.contains("status"), "{next}");
        // The fifth event is still queued, but closing the bus ends the stream first.
        bus.close();
        assert!(
            events.next().await.is_none(),
            "closing the bus ends streams"
        );
    }

    #[test]
    fn a_16_transaction_gives_start_and_end_events() {
        let start = derive(
            OcppVersion::V16,
            "StartTransaction",
            &json!({"connectorId": 2, "idTag": "TAG", "meterStart": 100, "timestamp": "2026-01-01T00:00:00Z"}),
            &json!({"transactionId": 7, "idTagInfo": {"status": "Accepted"}}),
        );
        assert_eq!(start.len(), 1);
        assert_eq!(start[0].0, EventType::Transaction);
        assert_eq!(start[0].1["event"], "started");
        assert_eq!(start[0].1["transaction_id"], "7");
        assert_eq!(start[0].1["evse_id"], 2);
        assert_eq!(start[0].1["meter_wh"], 100);
        let stop = derive(
            OcppVersion::V16,
            "StopTransaction",
            &json!({"transactionId": 7, "meterStop": 1500, "timestamp": "2026-01-01T01:00:00Z",
                "transactionData": [{"timestamp": "2026-01-01T01:00:00Z", "sampledValue": [{"value": "1500"}]}]}),
            &json!({}),
        );
        assert_eq!(stop[0].1["event"], "ended");
        assert_eq!(stop[0].1["transaction_id"], "7");
        assert_eq!(stop[1].0, EventType::Meter);
        assert_eq!(
            stop[1].1["meter_values"][0]["sampled_values"][0]["value"],
            "1500"
        );
    }

    #[test]
    fn a_2x_transaction_event_and_status_are_version_neutral() {
        let events = derive(
            OcppVersion::V201,
            "TransactionEvent",
            &json!({"eventType": "Updated", "seqNo": 1, "triggerReason": "MeterValuePeriodic",
                "timestamp": "2026-01-01T00:00:00Z", "transactionInfo": {"transactionId": "T-1"},
                "evse": {"id": 1, "connectorId": 1},
                "meterValue": [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [
                    {"value": 2.5, "measurand": "Energy.Active.Import.Register",
                     "unitOfMeasure": {"unit": "kWh", "multiplier": 0}}]}]}),
            &json!({}),
        );
        assert_eq!(events[0].1["event"], "updated");
        assert_eq!(events[0].1["transaction_id"], "T-1");
        let sampled = &events[1].1["meter_values"][0]["sampled_values"][0];
        assert_eq!(sampled["value"], "2.5");
        assert_eq!(sampled["unit"], "kWh");
        let status = derive(
            OcppVersion::V201,
            "StatusNotification",
            &json!({"timestamp": "2026-01-01T00:00:00Z", "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}),
            &json!({}),
        );
        assert_eq!(status[0].1["status"], "Occupied");
        assert_eq!(status[0].1["evse_id"], 1);
        assert!(derive(OcppVersion::V201, "Heartbeat", &json!({}), &json!({})).is_empty());
    }
}
