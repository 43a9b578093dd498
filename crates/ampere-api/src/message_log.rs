//! The OCPP message log: every frame a charger sent or was sent, stored off the charger path,
//! and `GET /api/v1/chargers/{id}/messages` to read it.
//!
//! The gateway hands each frame's text to [`MessageLog::record`] on the connection's own
//! task, which only puts it on a bounded queue: when the queue is full the frame is dropped
//! and counted (a warning says how many so far), so a slow database never slows a charger.
//! One writer task takes frames off the queue in batches, reads what it can from each
//! (message type, message id, action — for an answer, the action of the CALL it answers,
//! while that CALL is remembered), masks credentials (1.6 `AuthorizationKey`, 2.x
//! `BasicAuthPassword`, as the audit log does), and stores the batch in one unit of work.
//! A purge task deletes frames older than the retention period at start and then hourly.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ampere_domain::ChargerId;
use ampere_domain::message_log::{
    FrameDirection, FrameQuery, LoggedFrame, MessageLogStore, StoredFrame,
};
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::auth::Operator;
use crate::commands::redact_secrets;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::page::{self, page_type};
use crate::webhooks::store_error;

/// How the log is kept.
#[derive(Debug, Clone)]
pub struct MessageLogSettings {
    /// Frames waiting for the writer; one more is dropped (and counted).
    pub queue_len: usize,
    /// Frames stored in one unit of work at most.
    pub batch_len: usize,
    /// Frames older than this are purged; `None` keeps them.
    pub retention: Option<Duration>,
    /// How often the purge runs (it also runs at start).
    pub purge_interval: Duration,
}

impl Default for MessageLogSettings {
    fn default() -> Self {
        Self {
            queue_len: 16_384,
            batch_len: 500,
            retention: Some(Duration::from_secs(7 * 86_400)),
            purge_interval: Duration::from_secs(3600),
        }
    }
}

/// A frame as the gateway saw it, before the writer reads it.
struct RawFrame {
    charger_id: String,
    at: DateTime<Utc>,
    direction: FrameDirection,
    text: String,
}

/// The queue into the message log (cheap to clone).
#[derive(Clone)]
pub struct MessageLog {
    queue: mpsc::Sender<RawFrame>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for MessageLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageLog")
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl MessageLog {
    /// Starts the writer and the purge; both end when `shutdown` is cancelled, the writer
    /// after storing what is queued.
    pub fn start(
        store: Arc<dyn MessageLogStore>,
        settings: MessageLogSettings,
        shutdown: CancellationToken,
    ) -> (Self, Vec<JoinHandle<()>>) {
        let (queue, receiver) = mpsc::channel(settings.queue_len.max(1));
        let writer = tokio::spawn(write(
            store.clone(),
            receiver,
            settings.batch_len.max(1),
            shutdown.clone(),
        ));
        let mut tasks = vec![writer];
        if let Some(retention) = settings.retention {
            tasks.push(tokio::spawn(purge(
                store,
                retention,
                settings.purge_interval,
                shutdown,
            )));
        }
        let log = Self {
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        (log, tasks)
    }

    /// Queues a frame; never waits. A full queue drops it.
    pub fn record(&self, charger: &ChargerId, direction: FrameDirection, text: &str) {
        let frame = RawFrame {
            charger_id: charger.as_str().to_owned(),
            at: Utc::now(),
            direction,
            text: text.to_owned(),
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = self.queue.try_send(frame) {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // 1, 2, 4, 8, …: the operator learns of it without a warning per frame.
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped_total = dropped,
                    "message log queue full: frames not logged (the chargers are not slowed)"
                );
            }
        }
    }

    /// Frames dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

// ------------------------------------------------------------------ the writer

/// What the writer can read from a frame, with credentials masked.
fn read_frame(text: &str) -> (String, Option<String>, Option<String>, String) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return ("INVALID".into(), None, None, text.to_owned());
    };
    let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
    let message_type = match items.first().and_then(Value::as_u64) {
        Some(2) => "CALL",
        Some(3) => "CALLRESULT",
        Some(4) => "CALLERROR",
        Some(5) => "CALLRESULTERROR",
        Some(6) => "SEND",
        _ => "INVALID",
    };
    let message_id = items.get(1).and_then(Value::as_str).map(str::to_owned);
    let action = match message_type {
        "CALL" | "SEND" => items.get(2).and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    // Re-serialised only when a credential was masked; otherwise the text stays as sent.
    let lower = text.to_ascii_lowercase();
    let text = if lower.contains("authorizationkey") || lower.contains("basicauthpassword") {
        let redacted = redact_secrets(value.clone());
        if redacted == value {
            text.to_owned()
        } else {
            redacted.to_string()
        }
    } else {
        text.to_owned()
    };
    (message_type.to_owned(), message_id, action, text)
}

/// The CALLs whose answers have not been logged yet, so an answer can carry the action.
#[derive(Default)]
struct OpenCalls {
    calls: HashMap<(String, FrameDirection, String), String>,
}

/// More open calls than this (answers that never came) and the memory is cleared.
const MAX_OPEN_CALLS: usize = 100_000;

impl OpenCalls {
    fn action_of(&mut self, frame: &mut LoggedFrame) {
        let Some(id) = frame.message_id.clone() else {
            return;
        };
        match frame.message_type.as_str() {
            "CALL" => {
                if self.calls.len() >= MAX_OPEN_CALLS {
                    self.calls.clear();
                }
                if let Some(action) = &frame.action {
                    self.calls.insert(
                        (frame.charger_id.clone(), frame.direction, id),
                        action.clone(),
                    );
                }
            }
            "CALLRESULT" | "CALLERROR" => {
                // The CALL went the other way.
                let call_direction = match frame.direction {
                    FrameDirection::Incoming => FrameDirection::Outgoing,
                    FrameDirection::Outgoing => FrameDirection::Incoming,
                };
                frame.action = self
                    .calls
                    .remove(&(frame.charger_id.clone(), call_direction, id));
            }
            _ => {}
        }
    }
}

async fn write(
    store: Arc<dyn MessageLogStore>,
    mut receiver: mpsc::Receiver<RawFrame>,
    batch_len: usize,
    shutdown: CancellationToken,
) {
    let mut open = OpenCalls::default();
    let mut raw = Vec::with_capacity(batch_len);
    loop {
        let received = tokio::select! {
            biased;
            n = receiver.recv_many(&mut raw, batch_len) => n,
            () = shutdown.cancelled() => {
                // What is queued still goes in.
                while raw.len() < batch_len {
                    match receiver.try_recv() {
                        Ok(frame) => raw.push(frame),
                        Err(_) => break,
                    }
                }
                if raw.is_empty() { return }
                raw.len()
            }
        };
        if received == 0 {
            return;
        }
        let frames: Vec<LoggedFrame> = raw
            .drain(..)
            .map(|frame| {
                let (message_type, message_id, action, text) = read_frame(&frame.text);
                let mut logged = LoggedFrame {
                    charger_id: frame.charger_id,
                    at: frame.at,
                    direction: frame.direction,
                    message_type,
                    action,
                    message_id,
                    text,
                };
                open.action_of(&mut logged);
                logged
            })
            .collect();
        if let Err(error) = store.insert_frames(&frames).await {
            // Not retried: the queue behind would grow without bound. The log is for people,
            // the chargers' data is stored elsewhere.
            tracing::error!(%error, frames = frames.len(), "cannot store OCPP message log frames; they are lost");
        }
    }
}

async fn purge(
    store: Arc<dyn MessageLogStore>,
    retention: Duration,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    loop {
        let cutoff = Utc::now().checked_sub_signed(retention);
        if let Some(cutoff) = cutoff {
            match store.purge_frames_before(cutoff).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, %cutoff, "OCPP message log purged"),
                Err(error) => tracing::warn!(%error, "cannot purge the OCPP message log"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

// ------------------------------------------------------------------ the endpoint

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FrameView {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `incoming` (from the charger) or `outgoing` (to the charger).
    pub direction: String,
    /// `CALL`, `CALLRESULT`, `CALLERROR`, `CALLRESULTERROR`, `SEND`, or `INVALID` for text that
    /// is no OCPP-J frame.
    pub message_type: String,
    /// The action of a CALL or SEND, and of an answer when its CALL was seen.
    pub action: Option<String>,
    pub message_id: Option<String>,
    /// The frame as it crossed the socket, except that credentials are masked (`***`).
    pub frame: String,
}

page_type!(
    /// A page of a charger's OCPP frames, newest first.
    FramePage,
    FrameView
);

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FrameParams {
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `incoming` or `outgoing`.
    pub direction: Option<String>,
    /// Only frames of this action (e.g. `BootNotification`).
    pub action: Option<String>,
    /// Only frames at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only frames before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

fn to_view(stored: StoredFrame) -> FrameView {
    let frame = stored.frame;
    FrameView {
        id: stored.id,
        at: frame.at,
        direction: frame.direction.as_str().to_owned(),
        message_type: frame.message_type,
        action: frame.action,
        message_id: frame.message_id,
        frame: frame.text,
    }
}

/// The OCPP frames a charger sent and was sent, newest first (kept for the configured
/// retention period; under overload some may be missing, see the server's warnings).
///
/// Operators and admins only: frames carry what a viewer must not use, such as the
/// single-use upload URLs of GetDiagnostics/GetLog (whoever holds one can upload in the
/// charger's place) and the id tokens of drivers.
#[utoipa::path(get, path = "/api/v1/chargers/{id}/messages", tag = "chargers",
    params(("id" = String, Path, description = "the charger's identity"), FrameParams),
    responses(
        (status = 200, body = FramePage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn messages(
    State(state): State<ApiState>,
    _: Operator,
    Path(id): Path<String>,
    Query(params): Query<FrameParams>,
) -> Result<Json<FramePage>, ApiError> {
    let charger = ChargerId::new(id).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if state.services.chargers.get(&charger).await?.is_none() {
        return Err(ApiError::NotFound(format!("no charger {charger}")));
    }
    let limit = page::limit(params.limit)?;
    let before = params
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid cursor {c:?}")))
        })
        .transpose()?;
    let direction = params
        .direction
        .as_deref()
        .map(str::parse::<FrameDirection>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let query = FrameQuery {
        charger_id: charger.as_str().to_owned(),
        before,
        limit: limit + 1,
        direction,
        action: params.action.filter(|a| !a.is_empty()),
        since: params.since,
        until: params.until,
    };
    let frames = state
        .message_log
        .frames(&query)
        .await
        .map_err(store_error)?;
    let (items, next_cursor) = page::split(frames, limit, |f| f.id.to_string());
    Ok(Json(FramePage {
        items: items.into_iter().map(to_view).collect(),
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_and_credentials_masked() {
        let (kind, id, action, text) =
            read_frame(r#"[2,"42","BootNotification",{"chargePointVendor":"V"}]"#);
        assert_eq!(
            (kind.as_str(), id.as_deref(), action.as_deref()),
            ("CALL", Some("42"), Some("BootNotification"))
        );
        assert_eq!(
            text,
            r#"[2,"42","BootNotification",{"chargePointVendor":"V"}]"#
        );

        let (_, _, _, text) = read_frame(
            r#"[2,"a","ChangeConfiguration",{"key":"AuthorizationKey","value":"s3cret"}]"#,
        );
        assert!(!text.contains("s3cret") && text.contains("***"), "{text}");
        let (_, _, _, text) = read_frame(
            r#"[2,"b","SetVariables",{"setVariableData":[{"attributeValue":"s3cret","component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}}]}]"#,
        );
        assert!(!text.contains("s3cret"), "{text}");
        // Naming the key without a value to hide keeps the text as sent.
        let asked = r#"[2,"c","GetConfiguration",{"key":["AuthorizationKey"]}]"#;
        assert_eq!(read_frame(asked).3, asked);

        assert_eq!(read_frame("not json").0, "INVALID");
        assert_eq!(read_frame(r#"[3,"42",{}]"#).0, "CALLRESULT");
    }

    #[test]
    fn answers_carry_the_action_of_their_call() {
        let mut open = OpenCalls::default();
        let frame = |direction, text: &str| {
            let (message_type, message_id, action, text) = read_frame(text);
            LoggedFrame {
                charger_id: "CP1".into(),
                at: Utc::now(),
                direction,
                message_type,
                action,
                message_id,
                text,
            }
        };
        let mut call = frame(FrameDirection::Incoming, r#"[2,"1","Heartbeat",{}]"#);
        open.action_of(&mut call);
        // Same id, same direction: not an answer.
        let mut ours = frame(FrameDirection::Incoming, r#"[3,"1",{}]"#);
        open.action_of(&mut ours);
        assert_eq!(ours.action, None);
        let mut answer = frame(FrameDirection::Outgoing, r#"[3,"1",{"currentTime":"x"}]"#);
        open.action_of(&mut answer);
        assert_eq!(answer.action.as_deref(), Some("Heartbeat"));
    }
}
