//! One simulated charger's life: connect, boot until accepted, report its connectors, then
//! heartbeats, sessions and answers to the CSMS until the run ends; reconnect with backoff
//! when the connection drops, reboot when reset.
//!
//! One tokio task per charger and no other: timers are deadlines in the station's state
//! (see [`Station::next_wake`]), CSMS calls are answered from the same loop.

use std::sync::Arc;
use std::time::Duration;

use ampere_ocpp::OcppVersion;
use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Stats;
use crate::link::{Link, SimError};
use crate::model::{ConnectorState, Effect, Registration, Station, StopReason};
use crate::scenario::{Step, duration};
use crate::{two_x, v16};

/// What every charger task of a run shares.
pub(crate) struct Shared {
    pub url: String,
    pub password: Option<String>,
    pub stats: Stats,
    /// Bumped to make every charger drop its connection at once (a reconnect storm).
    pub storm: watch::Sender<u64>,
}

/// How a connection ended.
enum End {
    Shutdown,
    Reboot,
    Lost(SimError),
    /// Closed on purpose for an offline period of this length.
    Offline(Duration),
    /// Dropped on purpose, without a close frame (a fault, or a storm).
    Dropped,
}

/// What a charger's task keeps across its connections.
struct Task<'a> {
    shared: &'a Shared,
    shutdown: &'a CancellationToken,
    /// Transfers (firmware, logs) report their progress here. Made at the first transfer:
    /// a channel costs a few KiB, and most chargers of a large run never transfer a file.
    progress_tx: Option<mpsc::UnboundedSender<Effect>>,
    progress: Option<mpsc::UnboundedReceiver<Effect>>,
    storms: watch::Receiver<u64>,
}

/// Boot retry interval when a CSMS answers Pending or Rejected with interval 0.
const DEFAULT_BOOT_RETRY: Duration = Duration::from_secs(10);

/// The delay before reconnect attempt `attempt` (1-based): exponential from `initial`, capped
/// at `max`, with "equal jitter" (half fixed, half random) so that a network that lost its
/// CSMS at once does not come back at once, yet no charger retries in a tight loop.
pub fn backoff(attempt: u32, initial: Duration, max: Duration, rng: &mut impl Rng) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let cap = initial.saturating_mul(1 << exponent).min(max);
    let half = cap / 2;
    half + half.mul_f64(rng.r#gen::<f64>())
}

/// Runs one charger until `shutdown`.
pub(crate) async fn run(mut st: Station, shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut task = Task {
        shared: &shared,
        shutdown: &shutdown,
        progress_tx: None,
        progress: None,
        storms: shared.storm.subscribe(),
    };
    let stats = &shared.stats;
    // A script's leading waits pass before the charger powers up.
    let mut delay = Duration::ZERO;
    while let Some(Step::Wait { seconds }) = st.script.front() {
        delay += duration(*seconds);
        st.script.pop_front();
    }
    if !delay.is_zero() {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
    let mut attempt = 0;
    loop {
        let connected = tokio::select! {
            _ = shutdown.cancelled() => return,
            link = Link::connect(&shared.url, &st, shared.password.as_deref()) => link,
        };
        let mut offline_for = None;
        match connected {
            Ok(mut link) => {
                Stats::add(&stats.connects, 1);
                attempt = 0;
                st.online = true;
                task.storms.borrow_and_update();
                let end = match online(&mut link, &mut st, &mut task).await {
                    Ok(end) => end,
                    Err(error) => End::Lost(error),
                };
                st.online = false;
                match end {
                    End::Shutdown => {
                        link.close(true).await;
                        return;
                    }
                    End::Reboot => {
                        link.close(true).await;
                        Stats::add(&stats.reboots, 1);
                        st.reboot();
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(st.profile.reboot_delay) => {}
                        }
                        continue;
                    }
                    End::Offline(period) => {
                        link.close(false).await;
                        Stats::add(&stats.offline_periods, 1);
                        offline_for = Some(period);
                    }
                    End::Dropped => {
                        // Gone without a close frame, as when a modem loses its carrier.
                        drop(link);
                        Stats::add(&stats.drops, 1);
                    }
                    End::Lost(error) => {
                        Stats::add(&stats.disconnects, 1);
                        tracing::debug!(charger = %st.id, %error, "connection lost");
                    }
                }
            }
            Err(error) => {
                Stats::add(&stats.connect_failures, 1);
                tracing::debug!(charger = %st.id, %error, "cannot connect");
            }
        }
        let until = match offline_for {
            // Back at once after a planned offline period.
            Some(period) => Instant::now() + period,
            None => {
                attempt += 1;
                let delay = backoff(
                    attempt,
                    st.profile.backoff_initial,
                    st.profile.backoff_max,
                    &mut st.rng,
                );
                Instant::now() + delay
            }
        };
        match offline(&mut st, &mut task, until).await {
            Some(End::Shutdown) => return,
            Some(End::Reboot) => {
                Stats::add(&stats.reboots, 1);
                st.reboot();
            }
            _ => {}
        }
    }
}

/// The next progress report of a transfer; never, before the first transfer.
async fn next_progress(progress: &mut Option<mpsc::UnboundedReceiver<Effect>>) -> Option<Effect> {
    match progress {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The charger without a connection until `until` (or a scenario's `online` step): its
/// sessions go on, drivers still come (authorized from the local list), and transaction
/// messages wait in the outbox.
async fn offline(st: &mut Station, task: &mut Task<'_>, until: Instant) -> Option<End> {
    st.come_back = false;
    loop {
        while let Some(effect) = st.effects.pop_front() {
            match perform(None, st, task, effect).await {
                Ok(Some(end @ (End::Shutdown | End::Reboot))) => return Some(end),
                Ok(_) => {}
                Err(error) => tracing::debug!(charger = %st.id, %error, "offline"),
            }
        }
        let now = Instant::now();
        if now >= until || std::mem::take(&mut st.come_back) {
            return None;
        }
        let wake = st.next_wake(now).min(until);
        tokio::select! {
            biased;
            _ = task.shutdown.cancelled() => return Some(End::Shutdown),
            Some(effect) = next_progress(&mut task.progress) => st.effects.push_back(effect),
            _ = tokio::time::sleep_until(wake) => st.tick(Instant::now()),
        }
    }
}

/// Logs a call that failed without costing the connection; passes fatal errors on.
fn tolerate(result: Result<(), SimError>, st: &Station) -> Result<(), SimError> {
    match result {
        Err(error) if error.is_fatal() => Err(error),
        Err(error) => {
            tracing::warn!(charger = %st.id, %error, "call failed");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

enum Wake {
    Shutdown,
    Storm,
    Progress(Effect),
    Message(Result<(), SimError>),
    Timer,
}

/// One connection's life.
async fn online(link: &mut Link, st: &mut Station, task: &mut Task<'_>) -> Result<End, SimError> {
    let stats = &task.shared.stats;
    let faults = st.profile.faults.clone();
    let connected = Instant::now();
    let drop_at = faults.drop_every.map(|every| connected + st.around(every));
    let offline_at = faults
        .offline_every
        .map(|every| connected + st.around(every));
    // A new connection (or a new boot): queued messages go first, then the connectors.
    let mut fresh = true;
    loop {
        if st.registration != Registration::Accepted {
            if let Some(end) = boot_until_accepted(link, st, stats, task.shutdown).await? {
                return Ok(end);
            }
            fresh = true;
        }
        if fresh {
            fresh = false;
            crate::outbox::replay(link, st, stats).await?;
            if let Some((action, payload)) = st.after_boot.take() {
                tolerate(
                    link.call_json(st, stats, action, payload).await.map(|_| ()),
                    st,
                )?;
            }
            for evse in evse_ids(st) {
                tolerate(status(link, st, stats, evse).await, st)?;
            }
        }
        while let Some(effect) = st.effects.pop_front() {
            if let Some(end) = perform(Some(&mut *link), st, task, effect).await? {
                return Ok(end);
            }
            if link.drop_requested {
                return Ok(End::Dropped);
            }
            if st.registration != Registration::Accepted {
                break;
            }
        }
        if st.registration != Registration::Accepted {
            continue;
        }
        let now = Instant::now();
        let mut wake = st.next_wake(now);
        for at in [drop_at, offline_at].into_iter().flatten() {
            wake = wake.min(at);
        }
        let event = tokio::select! {
            biased;
            _ = task.shutdown.cancelled() => Wake::Shutdown,
            _ = task.storms.changed() => Wake::Storm,
            Some(effect) = next_progress(&mut task.progress) => Wake::Progress(effect),
            result = link.handle_next(st, stats) => Wake::Message(result),
            _ = tokio::time::sleep_until(wake) => Wake::Timer,
        };
        match event {
            Wake::Shutdown => {
                for evse in evse_ids(st) {
                    stop_session(Some(&mut *link), st, stats, evse, StopReason::Shutdown).await?;
                }
                return Ok(End::Shutdown);
            }
            Wake::Storm => return Ok(End::Dropped),
            Wake::Progress(effect) => st.effects.push_back(effect),
            Wake::Message(result) => result?,
            Wake::Timer => {
                let now = Instant::now();
                if drop_at.is_some_and(|at| at <= now) {
                    return Ok(End::Dropped);
                }
                if offline_at.is_some_and(|at| at <= now) {
                    return Ok(End::Offline(faults.offline_for));
                }
                st.tick(now);
            }
        }
    }
}

fn evse_ids(st: &Station) -> Vec<u32> {
    st.evses.iter().map(|e| e.id).collect()
}

/// BootNotification until the CSMS accepts, waiting the interval it gives between tries and
/// answering its calls meanwhile (a TriggerMessage BootNotification retries at once).
async fn boot_until_accepted(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
    shutdown: &CancellationToken,
) -> Result<Option<End>, SimError> {
    let mut triggered = false;
    loop {
        if let Some(retry) = st.boot_retry_after.take() {
            match wait_for_boot_retry(link, st, stats, shutdown, retry).await? {
                BootRetry::End(end) => return Ok(Some(end)),
                BootRetry::Now { triggered: t } => triggered = t,
            }
        }
        let answer = tokio::select! {
            _ = shutdown.cancelled() => return Ok(Some(End::Shutdown)),
            answer = boot(link, st, stats, triggered) => answer,
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) if error.is_fatal() => return Err(error),
            // A CALLERROR or an invalid answer: try again later, as after a rejection.
            Err(error) => {
                tracing::warn!(charger = %st.id, %error, "boot failed");
                (Registration::Rejected, 0)
            }
        };
        if registered(st, stats, answer) {
            return Ok(None);
        }
    }
}

/// Takes in a boot answer; `true` when accepted. Otherwise the retry is scheduled after the
/// interval the CSMS gave (or a default when it gave 0).
fn registered(
    st: &mut Station,
    stats: &Stats,
    (registration, interval): (Registration, u64),
) -> bool {
    st.registration = registration;
    let interval = Duration::from_secs(interval);
    match registration {
        Registration::Accepted => {
            Stats::add(&stats.boots_accepted, 1);
            if !interval.is_zero() {
                st.heartbeat_interval = interval;
            }
            st.on_accepted(Instant::now());
            return true;
        }
        Registration::Pending => Stats::add(&stats.boots_pending, 1),
        _ => Stats::add(&stats.boots_rejected, 1),
    }
    st.boot_retry_after = Some(if interval.is_zero() {
        DEFAULT_BOOT_RETRY
    } else {
        interval
    });
    false
}

enum BootRetry {
    End(End),
    Now { triggered: bool },
}

/// Waits `retry` before the next boot, answering CSMS calls; a triggered boot cuts it short.
async fn wait_for_boot_retry(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
    shutdown: &CancellationToken,
    retry: Duration,
) -> Result<BootRetry, SimError> {
    let deadline = Instant::now() + retry;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(BootRetry::End(End::Shutdown)),
            result = link.serve_until(st, stats, deadline) => result?,
        }
        // Until accepted a charger sends nothing but BootNotification: only a triggered
        // boot (or a reset) is acted on; other work is dropped.
        let mut triggered = false;
        while let Some(effect) = st.effects.pop_front() {
            match effect {
                Effect::Boot => triggered = true,
                Effect::Reboot { .. } => return Ok(BootRetry::End(End::Reboot)),
                _ => {}
            }
        }
        if triggered || Instant::now() >= deadline {
            return Ok(BootRetry::Now { triggered });
        }
    }
}

/// Performs one effect, with the connection or (`None`) without; `Some` when the
/// connection must end.
async fn perform(
    mut link: Option<&mut Link>,
    st: &mut Station,
    task: &mut Task<'_>,
    effect: Effect,
) -> Result<Option<End>, SimError> {
    let stats = &task.shared.stats;
    match effect {
        // A triggered boot of an accepted charger (1.6 allows it): the answer may change the
        // registration; when it is no longer Accepted the boot rules apply again.
        Effect::Boot => {
            if let Some(link) = link {
                match boot(link, st, stats, true).await {
                    Ok(answer) => {
                        registered(st, stats, answer);
                    }
                    Err(error) => tolerate(Err(error), st)?,
                }
            }
        }
        Effect::Heartbeat => {
            if let Some(link) = link {
                tolerate(heartbeat(link, st, stats).await, st)?;
            }
        }
        Effect::Status { evse } => {
            if let Some(link) = link {
                let evses = match evse {
                    Some(id) => vec![id],
                    None => evse_ids(st),
                };
                for id in evses {
                    tolerate(status(link, st, stats, id).await, st)?;
                }
            }
        }
        Effect::MeterValues { evse, triggered } => {
            // Periodic samples cover the EVSEs in a session; a trigger covers what it names.
            let evses: Vec<u32> = st
                .evses
                .iter()
                .filter(|e| match evse {
                    Some(id) => e.id == id,
                    None => triggered || e.session.is_some(),
                })
                .map(|e| e.id)
                .collect();
            for id in evses {
                tolerate(
                    meter_values(link.as_deref_mut(), st, stats, id, triggered).await,
                    st,
                )?;
                let full = st
                    .evse(id)
                    .and_then(|e| e.session.as_ref())
                    .is_some_and(|s| s.meter.ev.is_full());
                if full && !triggered {
                    st.effects.push_back(Effect::StopSession {
                        evse: id,
                        reason: StopReason::EvFull,
                    });
                }
            }
        }
        Effect::StartSession {
            evse,
            connector,
            id_token,
            id_token_type,
            remote_start_id,
            authorize: ask,
        } => {
            let start = SessionStart {
                evse,
                connector,
                id_token,
                id_token_type,
                remote_start_id,
                authorize: ask,
            };
            start_session(link, st, stats, start).await?;
        }
        Effect::StopSession { evse, reason } => {
            stop_session(link, st, stats, evse, reason).await?;
        }
        Effect::Reboot { .. } => return Ok(Some(End::Reboot)),
        Effect::LogStatusIdle => {
            if let Some(link) = link {
                tolerate(log_status_idle(link, st, stats).await, st)?;
            }
        }
        Effect::FirmwareStatusIdle => {
            if let Some(link) = link {
                tolerate(firmware_idle(link, st, stats).await, st)?;
            }
        }
        Effect::BaseReport { request_id } => {
            if let Some(link) = link {
                let result = match st.version {
                    // 1.6 has no base reports; nothing queues this effect there.
                    OcppVersion::V16 => Ok(()),
                    OcppVersion::V201 => {
                        two_x::v201::notify_report(link, st, stats, request_id).await
                    }
                    OcppVersion::V21 => {
                        two_x::v21::notify_report(link, st, stats, request_id).await
                    }
                };
                tolerate(result, st)?;
            }
        }
        // Notifications are not kept for later: offline, they are lost as on a charger.
        Effect::Send { action, payload } => {
            if let Some(link) = link {
                tolerate(
                    link.call_json(st, stats, action, payload).await.map(|_| ()),
                    st,
                )?;
            }
        }
        Effect::Transfer(transfer) => {
            let progress = match &task.progress_tx {
                Some(tx) => tx.clone(),
                None => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    task.progress = Some(rx);
                    task.progress_tx = Some(tx.clone());
                    tx
                }
            };
            let cx = crate::files::Context {
                tls: st.profile.tls.clone(),
                upload_method: st.profile.upload_method,
                progress,
                install_step: st.profile.install_step,
            };
            Stats::add(&stats.transfers, 1);
            tokio::spawn(crate::files::run(transfer, cx));
        }
        Effect::FirmwareInstalled { notice, version } => {
            // The new image runs after a restart; sessions end first.
            for evse in evse_ids(st) {
                stop_session(
                    link.as_deref_mut(),
                    st,
                    stats,
                    evse,
                    StopReason::Reset { hard: true },
                )
                .await?;
            }
            st.firmware_version = version;
            st.after_boot = notice;
            return Ok(Some(End::Reboot));
        }
        Effect::Plug { evse, connector } => {
            match st.evse_mut(evse) {
                Some(e) if e.operative && e.session.is_none() => {
                    e.active_connector = connector.clamp(1, e.connectors);
                    e.state = ConnectorState::Preparing;
                    e.next_plug_at = None;
                }
                _ => return Ok(None),
            }
            if let Some(link) = link {
                tolerate(status(link, st, stats, evse).await, st)?;
            }
        }
        Effect::Authorize { evse, id_token } => {
            let accepted = match link {
                Some(link) => match authorize(link, st, stats, &id_token, None).await {
                    Ok(accepted) => accepted,
                    Err(error) if error.is_fatal() => return Err(error),
                    Err(_) => false,
                },
                None => crate::local_list::authorize_offline(st, &id_token),
            };
            if accepted {
                st.authorized.insert(evse, id_token);
            } else {
                Stats::add(&stats.authorizations_refused, 1);
            }
        }
        Effect::GoOffline(period) => {
            if link.is_some() {
                return Ok(Some(End::Offline(period)));
            }
        }
        Effect::Drop => {
            if link.is_some() {
                return Ok(Some(End::Dropped));
            }
        }
        Effect::Storm => {
            Stats::add(&stats.storms, 1);
            task.shared.storm.send_modify(|n| *n += 1);
            // This charger's own receiver saw it too; it drops here.
            task.storms.borrow_and_update();
            if link.is_some() {
                return Ok(Some(End::Dropped));
            }
        }
    }
    Ok(None)
}

struct SessionStart {
    evse: u32,
    connector: u32,
    id_token: String,
    id_token_type: Option<String>,
    remote_start_id: Option<i64>,
    authorize: bool,
}

/// Plug in, authorize, start the transaction, charge. Without a connection the token is
/// checked against the local list and the start is queued.
async fn start_session(
    mut link: Option<&mut Link>,
    st: &mut Station,
    stats: &Stats,
    start: SessionStart,
) -> Result<(), SimError> {
    let evse = start.evse;
    match st.evse_mut(evse) {
        Some(e) if e.operative && e.session.is_none() && e.state != ConnectorState::Faulted => {
            e.active_connector = start.connector;
            e.state = ConnectorState::Preparing;
            e.next_plug_at = None;
        }
        _ => return Ok(()),
    }
    if let Some(link) = link.as_deref_mut() {
        tolerate(status(link, st, stats, evse).await, st)?;
    }
    if start.authorize {
        let accepted = match link.as_deref_mut() {
            None => crate::local_list::authorize_offline(st, &start.id_token),
            Some(link) => match authorize(
                link,
                st,
                stats,
                &start.id_token,
                start.id_token_type.as_deref(),
            )
            .await
            {
                Ok(accepted) => accepted,
                Err(error) if error.is_fatal() => return Err(error),
                Err(error) => {
                    tracing::warn!(charger = %st.id, %error, "authorize failed");
                    false
                }
            },
        };
        if !accepted {
            Stats::add(&stats.authorizations_refused, 1);
            return unplug(link, st, stats, evse).await;
        }
    }
    st.begin_session(
        evse,
        start.connector,
        start.id_token,
        start.id_token_type,
        start.remote_start_id,
        Instant::now(),
    );
    let accepted = match start_transaction(link.as_deref_mut(), st, stats, evse).await {
        Ok(accepted) => accepted,
        Err(error) if error.is_fatal() => return Err(error),
        Err(error) => {
            // 1.6 without a transaction id cannot go on; 2.x's id is ours, but the CSMS
            // refused to hear of it, so end it the same way.
            tracing::warn!(charger = %st.id, %error, "transaction start failed");
            if let Some(e) = st.evse_mut(evse) {
                e.session = None;
            }
            return unplug(link, st, stats, evse).await;
        }
    };
    Stats::add(&stats.sessions_started, 1);
    if !accepted {
        return stop_session(link, st, stats, evse, StopReason::DeAuthorized).await;
    }
    match link {
        Some(link) => tolerate(status(link, st, stats, evse).await, st),
        None => Ok(()),
    }
}

/// The driver gives up before charging: the connector is free again.
async fn unplug(
    link: Option<&mut Link>,
    st: &mut Station,
    stats: &Stats,
    evse: u32,
) -> Result<(), SimError> {
    st.session_ended(evse, Instant::now());
    match link {
        Some(link) => tolerate(status(link, st, stats, evse).await, st),
        None => Ok(()),
    }
}

/// Ends the session on `evse` (if one runs): final reading, stop, connector free.
async fn stop_session(
    mut link: Option<&mut Link>,
    st: &mut Station,
    stats: &Stats,
    evse: u32,
    reason: StopReason,
) -> Result<(), SimError> {
    if st.evse(evse).and_then(|e| e.session.as_ref()).is_none() {
        return Ok(());
    }
    tolerate(
        stop_transaction(link.as_deref_mut(), st, stats, evse, reason).await,
        st,
    )?;
    // 1.6 reports Finishing (cable still in) before Available; 2.x has no such state.
    let finishing = st.version == OcppVersion::V16;
    if let Some(e) = st.evse_mut(evse)
        && let Some(session) = &e.session
    {
        let energy = (e.register_reading() - session.meter_start_wh.floor() as i64).max(0);
        Stats::add(&stats.energy_wh, energy.unsigned_abs());
        Stats::add(&stats.sessions_completed, 1);
        if finishing {
            e.state = ConnectorState::Finishing;
        }
    }
    if finishing && let Some(link) = link.as_deref_mut() {
        tolerate(status(link, st, stats, evse).await, st)?;
    }
    st.session_ended(evse, Instant::now());
    match link {
        Some(link) => tolerate(status(link, st, stats, evse).await, st),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// Each operation in the station's version.

async fn boot(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
    triggered: bool,
) -> Result<(Registration, u64), SimError> {
    match st.version {
        OcppVersion::V16 => v16::boot(link, st, stats).await,
        OcppVersion::V201 => two_x::v201::boot(link, st, stats, triggered).await,
        OcppVersion::V21 => two_x::v21::boot(link, st, stats, triggered).await,
    }
}

async fn heartbeat(link: &mut Link, st: &mut Station, stats: &Stats) -> Result<(), SimError> {
    match st.version {
        OcppVersion::V16 => v16::heartbeat(link, st, stats).await,
        OcppVersion::V201 => two_x::v201::heartbeat(link, st, stats).await,
        OcppVersion::V21 => two_x::v21::heartbeat(link, st, stats).await,
    }
}

async fn status(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
    evse: u32,
) -> Result<(), SimError> {
    match st.version {
        OcppVersion::V16 => v16::status(link, st, stats, evse).await,
        OcppVersion::V201 => two_x::v201::status(link, st, stats, evse).await,
        OcppVersion::V21 => two_x::v21::status(link, st, stats, evse).await,
    }
}

async fn authorize(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
    token: &str,
    token_type: Option<&str>,
) -> Result<bool, SimError> {
    match st.version {
        OcppVersion::V16 => v16::authorize(link, st, stats, token).await,
        OcppVersion::V201 => two_x::v201::authorize(link, st, stats, token, token_type).await,
        OcppVersion::V21 => two_x::v21::authorize(link, st, stats, token, token_type).await,
    }
}

async fn start_transaction(
    link: Option<&mut Link>,
    st: &mut Station,
    stats: &Stats,
    evse: u32,
) -> Result<bool, SimError> {
    match st.version {
        OcppVersion::V16 => v16::start_transaction(link, st, stats, evse).await,
        OcppVersion::V201 => two_x::v201::start_transaction(link, st, stats, evse).await,
        OcppVersion::V21 => two_x::v21::start_transaction(link, st, stats, evse).await,
    }
}

async fn meter_values(
    link: Option<&mut Link>,
    st: &mut Station,
    stats: &Stats,
    evse: u32,
    triggered: bool,
) -> Result<(), SimError> {
    match st.version {
        OcppVersion::V16 => v16::meter_values(link, st, stats, evse, triggered).await,
        OcppVersion::V201 => two_x::v201::meter_values(link, st, stats, evse, triggered).await,
        OcppVersion::V21 => two_x::v21::meter_values(link, st, stats, evse, triggered).await,
    }
}

async fn stop_transaction(
    link: Option<&mut Link>,
    st: &mut Station,
    stats: &Stats,
    evse: u32,
    reason: StopReason,
) -> Result<(), SimError> {
    match st.version {
        OcppVersion::V16 => v16::stop_transaction(link, st, stats, evse, reason).await,
        OcppVersion::V201 => two_x::v201::stop_transaction(link, st, stats, evse, reason).await,
        OcppVersion::V21 => two_x::v21::stop_transaction(link, st, stats, evse, reason).await,
    }
}

async fn log_status_idle(link: &mut Link, st: &mut Station, stats: &Stats) -> Result<(), SimError> {
    match st.version {
        OcppVersion::V16 => v16::diagnostics_idle(link, st, stats).await,
        OcppVersion::V201 => two_x::v201::log_status_idle(link, st, stats).await,
        OcppVersion::V21 => two_x::v21::log_status_idle(link, st, stats).await,
    }
}

async fn firmware_idle(link: &mut Link, st: &mut Station, stats: &Stats) -> Result<(), SimError> {
    match st.version {
        OcppVersion::V16 => v16::firmware_idle(link, st, stats).await,
        OcppVersion::V201 => two_x::v201::firmware_idle(link, st, stats).await,
        OcppVersion::V21 => two_x::v21::firmware_idle(link, st, stats).await,
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        let mut rng = StdRng::seed_from_u64(3);
        let initial = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        for attempt in 1..=12u32 {
            let cap = Duration::from_secs(1u64 << (attempt - 1)).min(max);
            for _ in 0..50 {
                let d = backoff(attempt, initial, max, &mut rng);
                assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d:?}");
            }
        }
        // Jitter: delays of one attempt differ between chargers.
        let delays: std::collections::HashSet<Duration> = (0..20)
            .map(|_| backoff(5, initial, max, &mut rng))
            .collect();
        assert!(delays.len() > 10);
        // Huge attempt numbers neither overflow nor pass the cap.
        assert!(backoff(u32::MAX, initial, max, &mut rng) <= max);
    }
}
