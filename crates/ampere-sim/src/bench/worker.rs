//! One worker process: its share of the chargers, one tokio task each.
//!
//! Line protocol with the coordinator, one JSON value per line:
//! 1. coordinator → worker: the [`WorkerPlan`];
//! 2. worker → coordinator: `{"ready": …}` once its chargers are prepared (W2, W3: connected,
//!    booted, in a transaction; W1, W4: at once);
//! 3. coordinator → worker: `{"go_at_us": T}`, the start of the measured phase as Unix time
//!    in µs, the same instant for every worker;
//! 4. worker → coordinator: `{"result": …}` when its measured phase is over;
//! 5. coordinator → worker: `"stop"` (or end of input): connections closed, the process ends.
//!
//! Connections stay open from the moment they are made until step 5, so the server holds
//! every charger of every worker while any of them is measured.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::{BenchError, Conn, Endpoint};
use super::latency::{Buckets, Recorder};
use super::messages::{self, TransactionRef};
use super::plan::{Protocol, WorkerPlan, Workload, identity};
use super::procfs;

/// What a worker sends the coordinator.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerMessage {
    Ready { prepared: u64 },
    Result(WorkerResult),
}

/// What the coordinator sends a worker after the plan.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    GoAtUs(u64),
    Stop,
}

/// One worker's measurements.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WorkerResult {
    pub worker: u32,
    pub pid: u32,
    pub connected: u64,
    pub admitted: u64,
    /// W1: µs from go to the last admission of this worker.
    pub last_admitted_us: Option<u64>,
    pub answered: u64,
    pub behind_schedule: u64,
    /// W2: calls due in the window but not sent when it closed (still waiting for earlier
    /// answers).
    pub unsent_at_end: u64,
    /// µs from go to the end of this worker's last call of the measured phase.
    pub window_us: u64,
    /// By kind: how many, and the first one's message.
    pub errors: BTreeMap<String, (u64, String)>,
    pub latency: BTreeMap<String, Buckets>,
    /// CPU time this process used from go to its result, µs.
    pub cpu_us: u64,
}

struct Shared {
    plan: WorkerPlan,
    endpoint: Endpoint,
    recorder: Recorder,
    connected: AtomicU64,
    admitted: AtomicU64,
    answered: AtomicU64,
    behind_schedule: AtomicU64,
    unsent_at_end: AtomicU64,
    /// µs after go, +1 so that 0 means "none".
    last_admitted_us: AtomicU64,
    last_call_end_us: AtomicU64,
    /// By kind: how many, and the first one's message.
    errors: Mutex<BTreeMap<String, (u64, String)>>,
}

impl Shared {
    fn error(&self, error: &BenchError) {
        tracing::debug!(%error, "bench charger error");
        let mut errors = self.errors.lock().expect("errors lock");
        let (count, _) = errors
            .entry(error.kind())
            .or_insert_with(|| (0, error.to_string()));
        *count += 1;
    }

    fn since_go_us(&self, go: Instant) -> u64 {
        Instant::now().saturating_duration_since(go).as_micros() as u64
    }

    /// Sends one call, recording its latency from `scheduled` under its action name.
    async fn timed_call(
        &self,
        conn: &mut Conn,
        action: &'static str,
        payload: serde_json::Value,
        scheduled: Instant,
    ) -> Result<serde_json::Value, BenchError> {
        let answer = conn.call(action, payload).await;
        if answer.is_ok() {
            self.recorder.record(action, scheduled.elapsed());
        }
        answer
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The monotonic instant of a Unix time in µs (now, if it has passed).
fn instant_of(unix_us: u64) -> Instant {
    Instant::now() + Duration::from_micros(unix_us.saturating_sub(now_us()))
}

/// Runs a worker on this process's stdin and stdout (see the module docs).
pub async fn run_worker_stdio() -> Result<(), String> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    let first = lines
        .next_line()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no plan on stdin")?;
    let plan: WorkerPlan = serde_json::from_str(&first).map_err(|e| format!("bad plan: {e}"))?;
    let endpoint = Endpoint::resolve(&plan.settings.target)
        .await
        .map_err(|e| e.to_string())?;
    let count = plan.count;
    let shared = Arc::new(Shared {
        plan,
        endpoint,
        recorder: Recorder::default(),
        connected: AtomicU64::new(0),
        admitted: AtomicU64::new(0),
        answered: AtomicU64::new(0),
        behind_schedule: AtomicU64::new(0),
        unsent_at_end: AtomicU64::new(0),
        last_admitted_us: AtomicU64::new(0),
        last_call_end_us: AtomicU64::new(0),
        errors: Mutex::new(BTreeMap::new()),
    });
    let (go_tx, go_rx) = watch::channel(None::<Instant>);
    let (prepared_tx, mut prepared_rx) = mpsc::channel::<()>(1024);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1024);
    let stop = CancellationToken::new();
    let opening = Arc::new(Semaphore::new(
        shared.plan.settings.open_concurrency.max(1) as usize
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..count {
        let charger = Charger {
            shared: shared.clone(),
            k,
            go: go_rx.clone(),
            prepared: Some(prepared_tx.clone()),
            done: Some(done_tx.clone()),
            opening: opening.clone(),
            stop: stop.clone(),
        };
        tasks.spawn(charger.run());
    }
    drop((prepared_tx, done_tx));

    let mut prepared = 0u64;
    while prepared < u64::from(count) && prepared_rx.recv().await.is_some() {
        prepared += 1;
    }
    send(&mut stdout, &WorkerMessage::Ready { prepared }).await?;

    let go_at = match read_command(&mut lines).await? {
        Command::GoAtUs(at) => at,
        Command::Stop => return Ok(()),
    };
    let go = instant_of(go_at);
    let cpu_at_go = procfs::cpu_time(std::process::id()).unwrap_or_default();
    let _ = go_tx.send(Some(go));
    let mut done = 0u64;
    while done < u64::from(count) && done_rx.recv().await.is_some() {
        done += 1;
    }
    let cpu = procfs::cpu_time(std::process::id())
        .unwrap_or_default()
        .saturating_sub(cpu_at_go);
    let last_admitted = shared.last_admitted_us.load(Ordering::Relaxed);
    let result = WorkerResult {
        worker: shared.plan.worker,
        pid: std::process::id(),
        connected: shared.connected.load(Ordering::Relaxed),
        admitted: shared.admitted.load(Ordering::Relaxed),
        last_admitted_us: (last_admitted > 0).then(|| last_admitted - 1),
        answered: shared.answered.load(Ordering::Relaxed),
        behind_schedule: shared.behind_schedule.load(Ordering::Relaxed),
        unsent_at_end: shared.unsent_at_end.load(Ordering::Relaxed),
        window_us: shared.last_call_end_us.load(Ordering::Relaxed),
        errors: shared.errors.lock().expect("errors lock").clone(),
        latency: shared.recorder.export(),
        cpu_us: cpu.as_micros() as u64,
    };
    send(&mut stdout, &WorkerMessage::Result(result)).await?;

    // Hold every connection until the coordinator has what it needs from the server.
    loop {
        match read_command(&mut lines).await {
            Ok(Command::Stop) | Err(_) => break,
            Ok(Command::GoAtUs(_)) => continue,
        }
    }
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

async fn read_command(
    lines: &mut tokio::io::Lines<BufReader<tokio::io::Stdin>>,
) -> Result<Command, String> {
    match lines.next_line().await.map_err(|e| e.to_string())? {
        Some(line) => serde_json::from_str(&line).map_err(|e| format!("bad command {line}: {e}")),
        None => Ok(Command::Stop),
    }
}

async fn send(stdout: &mut tokio::io::Stdout, message: &WorkerMessage) -> Result<(), String> {
    let mut line = serde_json::to_string(message).map_err(|e| e.to_string())?;
    line.push('\n');
    stdout
        .write_all(line.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stdout.flush().await.map_err(|e| e.to_string())
}

/// One bench charger's task.
struct Charger {
    shared: Arc<Shared>,
    /// Index within this worker.
    k: u32,
    go: watch::Receiver<Option<Instant>>,
    /// Dropped (signalled) once prepared, successfully or not.
    prepared: Option<mpsc::Sender<()>>,
    /// Signalled once the measured phase is over for this charger.
    done: Option<mpsc::Sender<()>>,
    opening: Arc<Semaphore>,
    stop: CancellationToken,
}

impl Charger {
    fn index(&self) -> u32 {
        self.shared.plan.first + self.k
    }

    fn identity(&self) -> String {
        identity(&self.shared.plan.settings.id_prefix, self.index())
    }

    fn source(&self) -> Option<IpAddr> {
        let sources: &[Ipv4Addr] = &self.shared.plan.sources;
        (!sources.is_empty()).then(|| IpAddr::V4(sources[self.k as usize % sources.len()]))
    }

    async fn signal_prepared(&mut self) {
        if let Some(tx) = self.prepared.take() {
            let _ = tx.send(()).await;
        }
    }

    async fn signal_done(&mut self) {
        // Prepared too, in case the charger failed before it got there.
        self.signal_prepared().await;
        if let Some(tx) = self.done.take() {
            let _ = tx.send(()).await;
        }
    }

    /// Waits for the common start (told a moment ahead, then slept until).
    async fn wait_go(&mut self) -> Option<Instant> {
        let go = (*self.go.wait_for(Option::is_some).await.ok()?)?;
        tokio::time::sleep_until(go).await;
        Some(go)
    }

    async fn run(mut self) {
        let workload = self.shared.plan.settings.workload;
        let conn = if workload.prepares_before_go() {
            let prepared = self.prepare().await;
            self.signal_prepared().await;
            let Some(go) = self.wait_go().await else {
                return;
            };
            match prepared {
                Some((conn, transaction)) => self.measure(conn, transaction, go).await,
                None => None,
            }
        } else {
            self.signal_prepared().await;
            let Some(go) = self.wait_go().await else {
                return;
            };
            self.connect_and_boot(go).await
        };
        self.signal_done().await;
        if let Some(conn) = conn {
            let stop = self.stop.clone();
            conn.hold_until(async move { stop.cancelled().await }).await;
        }
    }

    /// Opens the connection, boots and reports every connector. Records errors.
    async fn open_and_boot(&self, go: Option<Instant>) -> Result<Conn, BenchError> {
        let shared = &self.shared;
        let settings = &shared.plan.settings;
        let protocol = settings.protocol;
        let identity = self.identity();
        let started = Instant::now();
        let mut conn = Conn::open(
            &shared.endpoint,
            &identity,
            protocol.ocpp(),
            self.source(),
            settings.answer_timeout,
        )
        .await?;
        shared.recorder.record("(connect)", started.elapsed());
        shared.connected.fetch_add(1, Ordering::Relaxed);
        let answer = shared
            .timed_call(
                &mut conn,
                "BootNotification",
                messages::boot_notification(protocol, &identity),
                Instant::now(),
            )
            .await?;
        let status = answer
            .get("status")
            .and_then(|s| s.as_str())
            .unwrap_or("(none)");
        if status != "Accepted" {
            return Err(BenchError::NotAccepted(status.to_owned()));
        }
        if settings.workload != Workload::W4 {
            for connector in 1..=settings.connectors {
                shared
                    .timed_call(
                        &mut conn,
                        "StatusNotification",
                        messages::status_notification(protocol, connector),
                        Instant::now(),
                    )
                    .await?;
            }
        }
        shared.admitted.fetch_add(1, Ordering::Relaxed);
        if let Some(go) = go {
            // From the common start to this charger's admission: the boot storm's figure.
            shared.recorder.record("(admitted)", go.elapsed());
            shared
                .last_admitted_us
                .fetch_max(shared.since_go_us(go) + 1, Ordering::Relaxed);
        }
        Ok(conn)
    }

    /// W1 and W4: the measured phase is connecting and booting.
    async fn connect_and_boot(&self, go: Instant) -> Option<Conn> {
        // W1 opens every connection at once (that is the storm); W4 bounds the handshakes
        // in flight, since it measures the connections held, not how they were made.
        let _permit = match self.shared.plan.settings.workload {
            Workload::W4 => Some(self.opening.acquire().await.ok()?),
            _ => None,
        };
        match self.open_and_boot(Some(go)).await {
            Ok(conn) => Some(conn),
            Err(error) => {
                self.shared.error(&error);
                None
            }
        }
    }

    /// W2 and W3: connected, booted and in a running transaction before go.
    async fn prepare(&self) -> Option<(Conn, TransactionRef)> {
        let _permit = self.opening.acquire().await.ok()?;
        let result = async {
            let mut conn = self.open_and_boot(None).await?;
            let transaction = self.start_transaction(&mut conn).await?;
            Ok((conn, transaction))
        }
        .await;
        result.inspect_err(|e| self.shared.error(e)).ok()
    }

    async fn start_transaction(&self, conn: &mut Conn) -> Result<TransactionRef, BenchError> {
        let shared = &self.shared;
        match shared.plan.settings.protocol {
            Protocol::V16 => {
                let answer = shared
                    .timed_call(
                        conn,
                        "StartTransaction",
                        messages::start_transaction_16(),
                        Instant::now(),
                    )
                    .await?;
                let id = answer
                    .get("transactionId")
                    .and_then(|v| v.as_i64())
                    .ok_or_else(|| {
                        BenchError::Unexpected(format!("StartTransaction answered {answer}"))
                    })?;
                Ok(TransactionRef::Numbered(id))
            }
            Protocol::V201 => {
                let id = format!("{}-{}", self.identity(), shared.plan.run_id);
                shared
                    .timed_call(
                        conn,
                        "TransactionEvent",
                        messages::transaction_started_201(&id),
                        Instant::now(),
                    )
                    .await?;
                Ok(TransactionRef::Chosen(id))
            }
        }
    }

    /// W2 (paced) and W3 (as fast as answered) meter readings until the window closes.
    async fn measure(
        &self,
        mut conn: Conn,
        transaction: TransactionRef,
        go: Instant,
    ) -> Option<Conn> {
        let shared = &self.shared;
        let settings = &shared.plan.settings;
        let end = go + settings.duration;
        let mut seq_no = 1u64;
        let mut energy_wh = 0u64;
        let paced = settings.workload == Workload::W2;
        // W2: the chargers' readings spread evenly over the interval, heartbeats too (in
        // another order), as a real network's would be.
        let n = settings.chargers.max(1);
        let index = self.index();
        let mut next_meter = go
            + settings
                .meter_every
                .mul_f64(f64::from(index) / f64::from(n));
        let mut next_heartbeat = go
            + settings
                .heartbeat_every
                .mul_f64(f64::from((index.wrapping_mul(7919)) % n) / f64::from(n));
        loop {
            let (is_meter, scheduled) = if !paced {
                (true, Instant::now())
            } else if next_meter <= next_heartbeat {
                (true, next_meter)
            } else {
                (false, next_heartbeat)
            };
            if scheduled >= end {
                break;
            }
            if paced && Instant::now() >= end {
                // The window is over with calls still due: a server that fell behind. They
                // are counted, not sent, so the run ends on time.
                let due = |next: Instant, every: Duration| {
                    (end.saturating_duration_since(next).as_secs_f64() / every.as_secs_f64()).ceil()
                        as u64
                };
                shared.unsent_at_end.fetch_add(
                    due(next_meter, settings.meter_every)
                        + due(next_heartbeat, settings.heartbeat_every),
                    Ordering::Relaxed,
                );
                break;
            }
            if paced {
                tokio::time::sleep_until(scheduled).await;
                if scheduled.elapsed() > Duration::from_secs(1) {
                    shared.behind_schedule.fetch_add(1, Ordering::Relaxed);
                }
            }
            let (action, payload) = if is_meter {
                energy_wh += 10;
                let reading =
                    messages::meter_reading(settings.protocol, &transaction, seq_no, energy_wh);
                seq_no += 1;
                next_meter += settings.meter_every;
                reading
            } else {
                next_heartbeat += settings.heartbeat_every;
                ("Heartbeat", messages::heartbeat())
            };
            // Latency counts from the scheduled time, so an answer that made the next call
            // late is not hidden (no coordinated omission).
            match shared
                .timed_call(&mut conn, action, payload, scheduled)
                .await
            {
                // W2 counts what was answered within the window; W3 also the last call of
                // each connection, answered just after it (its window ends with that call).
                Ok(_) if paced && Instant::now() > end => {}
                Ok(_) => {
                    shared.answered.fetch_add(1, Ordering::Relaxed);
                    shared
                        .last_call_end_us
                        .fetch_max(shared.since_go_us(go), Ordering::Relaxed);
                }
                Err(error @ BenchError::CallError(_)) => shared.error(&error),
                Err(error) => {
                    shared.error(&error);
                    return None;
                }
            }
        }
        Some(conn)
    }
}
