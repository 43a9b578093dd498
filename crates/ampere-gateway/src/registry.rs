//! The session registry: which connection currently speaks for which charger, and the
//! per-session state that CSMS-initiated calls and takeovers share with the connection task.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ampere_domain::ChargerId;
use serde_json::Value;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use crate::commands::CommandError;
use crate::handler::SessionInfo;

/// All live sessions, by charger identity. Holds at most one session per identity: a new
/// connection displaces the old one (see [`Session::take_over`]).
#[derive(Default)]
pub(crate) struct Registry {
    sessions: Mutex<HashMap<ChargerId, Arc<Session>>>,
}

impl Registry {
    /// Makes `session` the one for its charger; returns the session it displaced.
    pub(crate) fn register(&self, session: Arc<Session>) -> Option<Arc<Session>> {
        lock(&self.sessions).insert(session.info.charger_id.clone(), session)
    }

    pub(crate) fn get(&self, id: &ChargerId) -> Option<Arc<Session>> {
        lock(&self.sessions).get(id).cloned()
    }

    /// Removes `session` unless a newer one has replaced it already.
    pub(crate) fn remove(&self, session: &Arc<Session>) {
        let mut sessions = lock(&self.sessions);
        if sessions
            .get(&session.info.charger_id)
            .is_some_and(|current| Arc::ptr_eq(current, session))
        {
            sessions.remove(&session.info.charger_id);
        }
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.sessions).len()
    }
}

/// A CSMS-initiated call waiting for its turn on a connection.
pub(crate) struct QueuedCall {
    pub(crate) action: String,
    pub(crate) payload: Value,
    pub(crate) reply: oneshot::Sender<Result<Value, CommandError>>,
    /// When the caller stops waiting; the connection task frees the slot then too.
    pub(crate) deadline: Instant,
}

/// How strongly a connection proved its identity; a duplicate connection never evicts a
/// live one that proved more (see `handshake::resolve_duplicate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AuthLevel {
    /// No credentials (a charger without a password, or an unknown one let in by policy).
    None,
    /// Basic-auth password over plain ws (profile 1).
    Password,
    /// Basic-auth password over TLS (profile 2).
    PasswordOverTls,
    /// A client certificate naming the charger (profile 3).
    Certificate,
}

impl AuthLevel {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Password => "password",
            Self::PasswordOverTls => "password over TLS",
            Self::Certificate => "client certificate",
        }
    }
}

/// One connection's shared state. Kept small: there is one per connected charger.
pub(crate) struct Session {
    pub(crate) info: SessionInfo,
    pub(crate) auth: AuthLevel,
    state: Mutex<SessionState>,
    /// Wakes the connection task: a call was queued or a takeover was requested.
    pub(crate) wake: Notify,
    /// Signalled when one of this session's connection events has been reported.
    event_reported: Notify,
}

#[derive(Default)]
struct SessionState {
    /// False once the connection is closing: new calls are refused (`Offline`).
    closing: bool,
    takeover_requested: bool,
    commands: VecDeque<QueuedCall>,
    connected_reported: bool,
    last_event: LastEvent,
    /// Liveness probes asked for (by duplicate connections) and answered: a probe is
    /// answered when the charger shows any traffic after the probe's ping was sent.
    probes_wanted: u64,
    probes_answered: u64,
}

/// Who reports the session's final event (`Disconnected` or `TakenOver`), so that exactly
/// one is reported and it comes before the next connection's `Connected`.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum LastEvent {
    #[default]
    Unclaimed,
    Claimed,
    Reported,
}

impl Session {
    pub(crate) fn new(info: SessionInfo, auth: AuthLevel) -> Self {
        Self {
            info,
            auth,
            state: Mutex::default(),
            wake: Notify::new(),
            event_reported: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, SessionState> {
        lock(&self.state)
    }

    /// Queues a CSMS-initiated call, or gives it back with the reason it cannot be queued.
    #[allow(clippy::result_large_err)] // the call is handed back so that it can be retried
    pub(crate) fn enqueue(
        &self,
        call: QueuedCall,
        limit: usize,
    ) -> Result<(), (CommandError, QueuedCall)> {
        let mut state = self.state();
        if state.closing {
            return Err((CommandError::Offline, call));
        }
        if state.commands.len() >= limit {
            return Err((CommandError::QueueFull, call));
        }
        state.commands.push_back(call);
        drop(state);
        self.wake.notify_one();
        Ok(())
    }

    /// The next call to send, skipping those whose caller has stopped waiting.
    pub(crate) fn next_command(&self) -> Option<QueuedCall> {
        let now = Instant::now();
        let mut state = self.state();
        while let Some(call) = state.commands.pop_front() {
            if call.reply.is_closed() {
                continue;
            }
            if call.deadline <= now {
                let _ = call.reply.send(Err(CommandError::Timeout));
                continue;
            }
            return Some(call);
        }
        None
    }

    /// Whether the connection still accepts calls.
    pub(crate) fn is_open(&self) -> bool {
        !self.state().closing
    }

    /// Refuses new calls and fails the queued ones with `ConnectionLost`.
    pub(crate) fn close_commands(&self) {
        let queued = {
            let mut state = self.state();
            state.closing = true;
            std::mem::take(&mut state.commands)
        };
        for call in queued {
            let _ = call.reply.send(Err(CommandError::ConnectionLost));
        }
    }

    /// Called on the displaced session by the connection that replaces it: fails its calls,
    /// tells its task to close, and returns true when the caller is to report `TakenOver`
    /// (false: the old connection had ended already and reports `Disconnected` itself).
    pub(crate) fn take_over(&self) -> bool {
        self.close_commands();
        let claimed = {
            let mut state = self.state();
            state.takeover_requested = true;
            claim(&mut state)
        };
        self.wake.notify_one();
        claimed
    }

    pub(crate) fn takeover_requested(&self) -> bool {
        self.state().takeover_requested
    }

    /// True when the caller is the one to report the final event.
    pub(crate) fn claim_last_event(&self) -> bool {
        claim(&mut self.state())
    }

    pub(crate) fn connected_reported(&self) {
        self.state().connected_reported = true;
        self.event_reported.notify_waiters();
    }

    pub(crate) fn last_event_reported(&self) {
        self.state().last_event = LastEvent::Reported;
        self.event_reported.notify_waiters();
    }

    /// Waits (at most `max`) until this session's `Connected` has been reported, so that its
    /// `TakenOver` cannot overtake it.
    pub(crate) async fn wait_connected_reported(&self, max: Duration) {
        self.wait_for(|state| state.connected_reported, max).await;
    }

    /// Waits (at most `max`) until the final event of this session has been reported.
    pub(crate) async fn wait_last_event_reported(&self, max: Duration) {
        self.wait_for(|state| state.last_event == LastEvent::Reported, max)
            .await;
    }

    /// Asks the connection to ping the charger and waits (at most `max`) for any traffic
    /// from it; true when it came. Joins a probe already under way.
    pub(crate) async fn probe(&self, max: Duration) -> bool {
        let target = {
            let mut state = self.state();
            if state.probes_wanted <= state.probes_answered {
                state.probes_wanted = state.probes_answered + 1;
            }
            state.probes_wanted
        };
        self.wake.notify_one();
        self.wait_for(|state| state.probes_answered >= target, max)
            .await
    }

    /// The newest probe asked for (the connection pings when it has not sent it yet).
    pub(crate) fn probes_wanted(&self) -> u64 {
        self.state().probes_wanted
    }

    /// The charger answered every probe up to `up_to`.
    pub(crate) fn probes_answered(&self, up_to: u64) {
        {
            let mut state = self.state();
            state.probes_answered = state.probes_answered.max(up_to);
        }
        self.event_reported.notify_waiters();
    }

    /// Waits (at most `max`) until `done`; true when it became true in time.
    async fn wait_for(&self, done: impl Fn(&SessionState) -> bool, max: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.event_reported.notified();
                tokio::pin!(notified);
                // Registered before the check, so a report in between is not missed.
                notified.as_mut().enable();
                if done(&self.state()) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(max, wait).await.is_ok()
    }
}

fn claim(state: &mut SessionState) -> bool {
    if state.last_event == LastEvent::Unclaimed {
        state.last_event = LastEvent::Claimed;
        true
    } else {
        false
    }
}

/// The registry's critical sections cannot panic halfway, so a poisoned lock holds
/// consistent data and is used as is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
