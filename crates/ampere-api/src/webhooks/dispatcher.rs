//! The delivery worker: the outbox writer, which stores each event a subscription wants as a
//! pending delivery, and one lane per subscription, which posts that subscription's
//! deliveries one at a time, oldest first, retrying with backoff until delivered or given up.
//!
//! Nothing is posted before it is stored, and a delivery is settled only by a recorded
//! attempt, so a restart picks up where it stopped: the lanes start again from the oldest
//! pending delivery of each subscription. Delivery is at least once (a post whose attempt was
//! not recorded, e.g. cut by a shutdown, is sent again); receivers drop duplicates by
//! `X-Ampere-Event-Id`.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ampere_domain::webhook::{
    Delivery, DeliveryAttempt, NewDelivery, RetryPolicy, Webhook, WebhookStore,
};
use chrono::Utc;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::signature::sign;
use crate::events::{Event, EventSink};

/// Events taken from the queue and stored in one unit of work.
const OUTBOX_BATCH: usize = 256;
/// Wait before trying again after the database failed.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub retry: RetryPolicy,
    /// Limit on one post, from connecting to the receiver's status line.
    pub timeout: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(10),
        }
    }
}

pub(crate) struct Dispatcher {
    pub(crate) store: Arc<dyn WebhookStore>,
    settings: DeliverySettings,
    client: reqwest::Client,
    /// Every subscription, for matching events without a database read.
    subscriptions: RwLock<Arc<Vec<Webhook>>>,
    /// Active subscriptions: while zero the sink asks for no events.
    active: AtomicUsize,
    /// Events waiting for the outbox writer. Unbounded on purpose: the bus hands events over
    /// under its lock and cannot wait, and an event dropped here would be lost for good; the
    /// writer stores them in batches, far faster than chargers produce them.
    queue: mpsc::UnboundedSender<Arc<Event>>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Arc<Event>>>>,
    /// The wake-up of each running lane.
    lanes: Mutex<HashMap<i64, Arc<Notify>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    shutdown: CancellationToken,
}

impl Dispatcher {
    pub(crate) fn new(
        store: Arc<dyn WebhookStore>,
        settings: DeliverySettings,
    ) -> Result<Self, reqwest::Error> {
        // No redirects: a signed event goes to the URL the operator gave, nowhere else; a 3xx
        // counts as a failed attempt.
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Ampere-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let (queue, receiver) = mpsc::unbounded_channel();
        Ok(Self {
            store,
            settings,
            client,
            subscriptions: RwLock::new(Arc::new(Vec::new())),
            active: AtomicUsize::new(0),
            queue,
            receiver: Mutex::new(Some(receiver)),
            lanes: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
            shutdown: CancellationToken::new(),
        })
    }

    /// Loads the subscriptions, starts the outbox writer and a lane for every subscription
    /// (pending deliveries from before a restart go out now).
    pub(crate) async fn start(self: &Arc<Self>) -> Result<(), ampere_domain::StoreError> {
        self.reload().await?;
        let Some(receiver) = lock(&self.receiver).take() else {
            return Ok(()); // started already
        };
        let writer = tokio::spawn(self.clone().write_outbox(receiver));
        lock(&self.tasks).push(writer);
        let ids: Vec<i64> = self.snapshot().iter().map(|w| w.id).collect();
        for id in ids {
            self.wake(id);
        }
        Ok(())
    }

    /// Stores the events still queued, then stops the writer and the lanes (a post in
    /// flight is cut; it goes out again after the next start).
    pub(crate) async fn stop(&self) {
        self.shutdown.cancel();
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        for task in tasks {
            let _ = task.await;
        }
    }

    fn snapshot(&self) -> Arc<Vec<Webhook>> {
        self.subscriptions
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Reads the subscriptions again (after a change through the API).
    pub(crate) async fn reload(&self) -> Result<(), ampere_domain::StoreError> {
        let all = self.store.all_webhooks().await?;
        self.active
            .store(all.iter().filter(|w| w.active).count(), Ordering::Relaxed);
        *self
            .subscriptions
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(all);
        Ok(())
    }

    /// Tells the subscription's lane to look again, starting it when it is not running.
    pub(crate) fn wake(self: &Arc<Self>, id: i64) {
        if self.shutdown.is_cancelled() {
            return;
        }
        let mut lanes = lock(&self.lanes);
        if let Some(wake) = lanes.get(&id) {
            // Stores a permit when the lane is busy, so the wake-up is never lost.
            wake.notify_one();
            return;
        }
        let wake = Arc::new(Notify::new());
        lanes.insert(id, wake.clone());
        let lane = tokio::spawn(self.clone().run_lane(id, wake));
        lock(&self.tasks).push(lane);
    }

    // ------------------------------------------------------------------ the outbox writer

    async fn write_outbox(self: Arc<Self>, mut receiver: mpsc::UnboundedReceiver<Arc<Event>>) {
        loop {
            let first = tokio::select! {
                biased;
                event = receiver.recv() => event,
                () = self.shutdown.cancelled() => receiver.try_recv().ok(),
            };
            let Some(first) = first else { return };
            let mut batch = vec![first];
            while batch.len() < OUTBOX_BATCH {
                match receiver.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            let (rows, touched) = self.deliveries_for(&batch);
            if rows.is_empty() {
                continue;
            }
            while let Err(error) = self.store.insert_deliveries(&rows).await {
                tracing::error!(%error, events = batch.len(), "cannot store webhook deliveries; retrying");
                if self.shutdown.is_cancelled() {
                    tracing::error!(events = batch.len(), "webhook deliveries lost at shutdown");
                    break;
                }
                tokio::time::sleep(STORE_RETRY).await;
            }
            for id in touched {
                self.wake(id);
            }
        }
    }

    /// The deliveries a batch of events gives, in event order, and the subscriptions they
    /// are for.
    fn deliveries_for(&self, events: &[Arc<Event>]) -> (Vec<NewDelivery>, BTreeSet<i64>) {
        let subscriptions = self.snapshot();
        let mut rows = Vec::new();
        let mut touched = BTreeSet::new();
        for event in events {
            let kind = event.kind.as_str();
            let mut body = None;
            for hook in subscriptions
                .iter()
                .filter(|h| h.wants(kind, &event.charger_id))
            {
                // The exact bytes every attempt posts and signs.
                let body = body
                    .get_or_insert_with(|| serde_json::to_string(&**event).unwrap_or_default())
                    .clone();
                rows.push(NewDelivery {
                    webhook_id: hook.id,
                    event_id: i64::try_from(event.id).unwrap_or(i64::MAX),
                    event_type: kind.to_owned(),
                    charger_id: event.charger_id.clone(),
                    body,
                    created_at: Utc::now(),
                });
                touched.insert(hook.id);
            }
        }
        (rows, touched)
    }

    // ------------------------------------------------------------------ lanes

    /// Waits for a wake-up, the deadline (if any) or the shutdown; `false` on shutdown.
    async fn wait(&self, wake: &Notify, until: Option<chrono::DateTime<Utc>>) -> bool {
        let sleep = async {
            match until {
                Some(at) => {
                    let left = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                    tokio::time::sleep(left).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = self.shutdown.cancelled() => false,
            () = wake.notified() => true,
            () = sleep => true,
        }
    }

    async fn run_lane(self: Arc<Self>, id: i64, wake: Arc<Notify>) {
        while !self.shutdown.is_cancelled() {
            let hook = match self.store.webhook(id).await {
                Ok(Some(hook)) => hook,
                Ok(None) => break, // deleted, with its deliveries
                Err(error) => {
                    tracing::warn!(%error, webhook = id, "cannot read webhook; retrying");
                    self.wait(&wake, Some(Utc::now() + STORE_RETRY)).await;
                    continue;
                }
            };
            if !hook.active {
                // Its pending deliveries wait until it is active again.
                self.wait(&wake, None).await;
                continue;
            }
            let delivery = match self.store.next_delivery(id).await {
                Ok(Some(delivery)) => delivery,
                Ok(None) => {
                    self.wait(&wake, None).await;
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, webhook = id, "cannot read webhook deliveries; retrying");
                    self.wait(&wake, Some(Utc::now() + STORE_RETRY)).await;
                    continue;
                }
            };
            if let Some(due) = delivery.next_attempt_at
                && due > Utc::now()
            {
                self.wait(&wake, Some(due)).await;
                continue;
            }
            tokio::select! {
                () = self.shutdown.cancelled() => break,
                () = self.attempt(&hook, &delivery) => {}
            }
        }
        lock(&self.lanes).remove(&id);
    }

    /// Posts the delivery once and records the attempt and its outcome.
    async fn attempt(&self, hook: &Webhook, delivery: &Delivery) {
        let number = u32::try_from(delivery.attempts.len()).unwrap_or(u32::MAX - 1) + 1;
        let at = Utc::now();
        let started = Instant::now();
        let result = self.post(hook, delivery, at).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (http_status, error) = match result {
            Ok(status) => (Some(status), None),
            Err(error) => (None, Some(error)),
        };
        let succeeded = http_status.is_some_and(|s| (200..300).contains(&s));
        let outcome = self.settings.retry.outcome(number, succeeded, Utc::now());
        let attempt = DeliveryAttempt {
            number,
            at,
            http_status,
            error,
            duration_ms,
        };
        tracing::debug!(
            webhook = hook.id,
            event_id = delivery.event_id,
            number,
            ?http_status,
            state = outcome.state.as_str(),
            "webhook attempt"
        );
        if let Err(error) = self
            .store
            .record_attempt(delivery.id, &attempt, &outcome)
            .await
        {
            // The delivery stays pending with its old count: it is posted again (at least once).
            tracing::error!(%error, webhook = hook.id, "cannot record webhook attempt");
            tokio::time::sleep(STORE_RETRY).await;
        }
    }

    /// One POST; the receiver's status, or why there is none.
    async fn post(
        &self,
        hook: &Webhook,
        delivery: &Delivery,
        at: chrono::DateTime<Utc>,
    ) -> Result<u16, String> {
        let header = |text: String| HeaderValue::from_str(&text).map_err(|e| e.to_string());
        let response = self
            .client
            .post(&hook.url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(
                "X-Ampere-Signature",
                header(sign(&hook.secret, delivery.body.as_bytes()))?,
            )
            .header("X-Ampere-Event-Id", header(delivery.event_id.to_string())?)
            .header("X-Ampere-Event-Type", header(delivery.event_type.clone())?)
            .header("X-Ampere-Timestamp", header(at.timestamp().to_string())?)
            .body(delivery.body.clone())
            .send()
            .await
            .map_err(describe)?;
        Ok(response.status().as_u16())
    }
}

/// What went wrong with a post, without the URL (it is in the subscription already).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl EventSink for Dispatcher {
    fn wants_events(&self) -> bool {
        self.active.load(Ordering::Relaxed) > 0
    }

    fn accept(&self, event: &Arc<Event>) {
        if self.wants_events() && !self.shutdown.is_cancelled() {
            // Fails only when the writer is gone (after shutdown).
            let _ = self.queue.send(event.clone());
        }
    }
}
