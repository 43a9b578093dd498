//! One simulated charger's state, the same for every protocol version: its EVSEs and
//! sessions, its settings, its timers, and the work that answered CSMS calls left for it.
//!
//! Nothing here does IO. CSMS calls are answered synchronously by changing this state and
//! queueing [`Effect`]s (start a session, reboot, send a triggered message); the charger's
//! task performs them after the answer has gone out, the way firmware acknowledges a
//! command first and acts on it next.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use ampere_ocpp::OcppVersion;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use crate::config::ChargerProfile;
use crate::curve::{Ev, SessionMeter};

/// What the CSMS answered at the last boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Not booted on this power cycle yet.
    Unknown,
    Pending,
    Accepted,
    Rejected,
}

/// A connector's state, in 1.6 terms (2.x folds the in-use states into `Occupied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorState {
    Available,
    Preparing,
    Charging,
    SuspendedEv,
    Finishing,
    Unavailable,
    /// Held for a reservation's token.
    Reserved,
    /// A hardware fault (see [`Station::fault`]).
    Faulted,
}

impl ConnectorState {
    /// Whether a cable is in (2.x `Occupied`).
    pub fn in_use(self) -> bool {
        matches!(
            self,
            Self::Preparing | Self::Charging | Self::SuspendedEv | Self::Finishing
        )
    }
}

/// Why the charger powers up: the 2.x boot reason (1.6 does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootCause {
    PowerUp,
    /// After a Reset from the CSMS.
    RemoteReset,
}

/// Why a session ended (mapped to each version's stop reason and trigger).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The driver ended it (presented the token again / left as planned).
    Local,
    /// The CSMS asked (RemoteStop / RequestStopTransaction).
    Remote,
    /// The car stopped taking energy, then left.
    EvFull,
    /// The CSMS did not accept the token at start.
    DeAuthorized,
    /// A Reset: `hard` for 1.6 Hard and 2.x Immediate.
    Reset { hard: bool },
    /// UnlockConnector while charging (1.6).
    Unlocked,
    /// The simulation ends.
    Shutdown,
    /// The charging profile allows no power.
    PowerLoss,
}

/// The transaction id a session got: 1.6 from the CSMS (an integer), 2.x from the charger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxRef {
    /// 1.6, before StartTransaction was answered.
    Unassigned,
    /// 1.6, started offline: StartTransaction waits in the outbox under this key; its
    /// answer's transaction id replaces it when the queue is replayed.
    Queued(u64),
    V16(i64),
    TwoX(String),
}

/// A plugged-in car being charged on an EVSE.
#[derive(Debug, Clone)]
pub struct Session {
    pub connector: u32,
    pub id_token: String,
    /// 2.x token type as written on the wire (`None`: ISO14443).
    pub id_token_type: Option<String>,
    pub tx: TxRef,
    /// 2.x RequestStartTransaction's `remoteStartId`, echoed in the Started event.
    pub remote_start_id: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub started: Instant,
    /// The register when the session started, Wh.
    pub meter_start_wh: f64,
    pub meter: SessionMeter,
    /// When the driver comes back to end it.
    pub stop_at: Instant,
    /// 2.x TransactionEvent sequence number, next to use.
    pub seq_no: i64,
    /// The reservation this session used.
    pub reservation_id: Option<i64>,
}

impl Session {
    /// Integrates the power curve up to `now` and returns the energy added, Wh.
    pub fn advance(&mut self, now: Instant) -> f64 {
        self.meter
            .advance_to(now.saturating_duration_since(self.started).as_secs_f64())
    }

    /// The next 2.x sequence number.
    pub fn next_seq(&mut self) -> i64 {
        let seq = self.seq_no;
        self.seq_no += 1;
        seq
    }
}

/// One EVSE (in 1.6: one connector).
#[derive(Debug, Clone)]
pub struct Evse {
    pub id: u32,
    /// Connectors on this EVSE, numbered `1..=connectors` (always 1 in 1.6).
    pub connectors: u32,
    /// The connector a cable is in (or was last in).
    pub active_connector: u32,
    pub state: ConnectorState,
    pub operative: bool,
    /// ChangeAvailability Inoperative arrived during a session: applied when it ends.
    pub inoperative_after_session: bool,
    /// The energy register, Wh: it only grows, across sessions, reconnects and reboots.
    pub register_wh: f64,
    pub session: Option<Session>,
    /// When the next driver arrives (while idle and operative).
    pub next_plug_at: Option<Instant>,
}

impl Evse {
    /// The state of `connector` as reported: the other connectors of an EVSE in use are
    /// unavailable (one car at a time per EVSE).
    pub fn connector_state(&self, connector: u32) -> ConnectorState {
        if connector == self.active_connector || !self.state.in_use() {
            self.state
        } else {
            ConnectorState::Unavailable
        }
    }

    /// The register as an integer reading, Wh (what 1.6 meterStart/meterStop carry).
    pub fn register_reading(&self) -> i64 {
        // Registers count whole Wh; the fraction stays inside the meter.
        self.register_wh.floor() as i64
    }
}

/// Work left by an answered CSMS call or a timer, performed by the charger's task.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Boot,
    Heartbeat,
    /// StatusNotification for every connector of one EVSE, or of all.
    Status {
        evse: Option<u32>,
    },
    /// Meter values for one EVSE or all; `triggered` when the CSMS asked for them.
    MeterValues {
        evse: Option<u32>,
        triggered: bool,
    },
    StartSession {
        evse: u32,
        connector: u32,
        id_token: String,
        /// 2.x token type as written on the wire (`None`: ISO14443, an RFID card).
        id_token_type: Option<String>,
        remote_start_id: Option<i64>,
        /// Ask the CSMS first (local starts; remote ones when so configured).
        authorize: bool,
    },
    StopSession {
        evse: u32,
        reason: StopReason,
    },
    /// Close the connection, wait, and boot again.
    Reboot {
        hard: bool,
    },
    /// 1.6 DiagnosticsStatusNotification / 2.x LogStatusNotification `Idle`.
    LogStatusIdle,
    /// FirmwareStatusNotification `Idle`.
    FirmwareStatusIdle,
    /// 2.x: the device model as NotifyReport parts, for GetBaseReport `request_id`.
    BaseReport {
        request_id: i64,
    },
    /// A call built as JSON by a feature module (validated before it leaves).
    Send {
        action: &'static str,
        payload: serde_json::Value,
    },
    /// Start a firmware download or a log upload (a task of its own; its progress comes
    /// back as `Send` effects).
    Transfer(crate::files::Transfer),
    /// The firmware was installed: note it for after the reboot, and reboot.
    FirmwareInstalled {
        notice: Option<(&'static str, serde_json::Value)>,
        version: String,
    },
    /// Plug a cable in (scenario): the connector shows Preparing.
    Plug {
        evse: u32,
        connector: u32,
    },
    /// Ask the CSMS about a token (scenario); remembered for the next start on `evse`.
    Authorize {
        evse: u32,
        id_token: String,
    },
    /// Close the connection and stay offline for this long (queueing transaction
    /// messages), then reconnect.
    GoOffline(Duration),
    /// Drop the connection without a close frame (reconnect with backoff).
    Drop,
    /// Every charger of the run drops at once.
    Storm,
}

/// One simulated charger.
#[derive(Debug)]
pub struct Station {
    pub id: String,
    pub version: OcppVersion,
    pub profile: Arc<ChargerProfile>,
    pub registration: Registration,
    pub boot_cause: BootCause,
    pub heartbeat_interval: Duration,
    pub meter_interval: Duration,
    /// 1.6 AuthorizeRemoteTxRequests / 2.x AuthCtrlr.AuthorizeRemoteStart.
    pub authorize_remote_start: bool,
    /// 1.6 ConnectionTimeOut / 2.x TxCtrlr.EVConnectionTimeOut, seconds (kept, not acted on).
    pub connection_timeout_s: u64,
    pub evses: Vec<Evse>,
    pub effects: VecDeque<Effect>,
    pub next_heartbeat: Option<Instant>,
    pub next_meter: Option<Instant>,
    /// A Reset OnIdle arrived during a session: reboot when all sessions have ended.
    pub reset_when_idle: bool,
    /// The CSMS answered the last boot Pending or Rejected: boot again after this.
    pub boot_retry_after: Option<Duration>,
    pub rng: StdRng,
    next_message_id: u64,
    tx_counter: u64,
    /// The firmware running now (an update changes it).
    pub firmware_version: String,
    pub reservations: Vec<crate::reservations::Reservation>,
    pub local_list: crate::local_list::LocalList,
    /// Authorize offline from the local list (1.6 LocalAuthorizeOffline).
    pub local_authorize_offline: bool,
    /// Start offline even for a token the local list does not know.
    pub offline_unknown_allowed: bool,
    pub profiles: Vec<crate::charging_profiles::StoredProfile>,
    pub certificates: Vec<crate::certificates::Installed>,
    /// 2.x display messages by id (as the CSMS set them).
    pub display_messages: std::collections::BTreeMap<i64, serde_json::Value>,
    /// A status to send after the next accepted boot (firmware Installed).
    pub after_boot: Option<(&'static str, serde_json::Value)>,
    /// A connector fault (a 1.6 error code such as `GroundFailure`) from a scenario.
    pub fault: Option<String>,
    /// Tokens authorized by a scenario's `authorize` step, per EVSE.
    pub authorized: std::collections::BTreeMap<u32, String>,
    /// Transaction messages waiting for the connection, in order.
    pub outbox: crate::outbox::Outbox,
    /// Whether the station has a connection to the CSMS now.
    pub online: bool,
    /// The scenario steps still to run, and when the next one may start.
    pub script: VecDeque<crate::scenario::Step>,
    pub script_wait_until: Option<Instant>,
    /// A scenario's `online` step ends the offline period early.
    pub come_back: bool,
    /// A scenario `meter` step ended: one reading of this EVSE is due.
    pub pending_meter: Option<u32>,
}

impl Station {
    pub fn new(id: String, version: OcppVersion, profile: Arc<ChargerProfile>, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let profile_firmware = profile.firmware_version.clone();
        // In 1.6 every connector is an EVSE of one connector.
        let (evses, connectors) = match version {
            OcppVersion::V16 => (profile.evses * profile.connectors_per_evse, 1),
            _ => (profile.evses, profile.connectors_per_evse),
        };
        let evses = (1..=evses.max(1))
            .map(|id| Evse {
                id,
                connectors: connectors.max(1),
                active_connector: 1,
                state: ConnectorState::Available,
                operative: true,
                inoperative_after_session: false,
                // A charger that has been in service a while.
                register_wh: f64::from(rng.gen_range(0..5_000_000u32)),
                session: None,
                next_plug_at: None,
            })
            .collect();
        Self {
            id,
            version,
            registration: Registration::Unknown,
            boot_cause: BootCause::PowerUp,
            heartbeat_interval: profile.heartbeat_interval,
            meter_interval: profile.meter_interval,
            authorize_remote_start: false,
            connection_timeout_s: 60,
            profile,
            evses,
            effects: VecDeque::new(),
            next_heartbeat: None,
            next_meter: None,
            reset_when_idle: false,
            boot_retry_after: None,
            rng,
            next_message_id: 1,
            tx_counter: 0,
            firmware_version: profile_firmware,
            reservations: Vec::new(),
            local_list: crate::local_list::LocalList::default(),
            local_authorize_offline: true,
            offline_unknown_allowed: false,
            profiles: Vec::new(),
            certificates: Vec::new(),
            display_messages: std::collections::BTreeMap::new(),
            after_boot: None,
            fault: None,
            authorized: std::collections::BTreeMap::new(),
            outbox: crate::outbox::Outbox::default(),
            online: false,
            script: VecDeque::new(),
            script_wait_until: None,
            come_back: false,
            pending_meter: None,
        }
    }

    /// Now on the station's clock (which may be skewed on purpose, see
    /// [`crate::faults::Faults::clock_skew`]).
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.profile.faults.clock_skew
    }

    /// A fresh OCPP message id (unique per charger and connection lifetime).
    pub fn message_id(&mut self) -> String {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id.to_string()
    }

    /// A 2.x transaction id, unique for this charger (the identity makes it unique across a
    /// simulated network; at most 36 characters as the schema requires).
    pub fn new_transaction_id(&mut self) -> String {
        self.tx_counter += 1;
        let id = format!("{}-{}", self.id, self.tx_counter);
        if id.len() <= 36 {
            id
        } else {
            format!("{:x}-{}", self.rng.r#gen::<u64>(), self.tx_counter)
        }
    }

    pub fn evse(&self, id: u32) -> Option<&Evse> {
        self.evses.iter().find(|e| e.id == id)
    }

    pub fn evse_mut(&mut self, id: u32) -> Option<&mut Evse> {
        self.evses.iter_mut().find(|e| e.id == id)
    }

    /// The EVSE whose session has transaction `tx`.
    pub fn evse_with_tx(&self, tx: &TxRef) -> Option<u32> {
        self.evses
            .iter()
            .find(|e| e.session.as_ref().is_some_and(|s| &s.tx == tx))
            .map(|e| e.id)
    }

    /// The EVSE a remote start of `token` goes to: `wanted`, or the first one, that is
    /// operative, has no cable in, no start queued, and no reservation for another token.
    pub fn free_evse(&self, wanted: Option<u32>, token: &str) -> Option<u32> {
        let queued = |id: u32| {
            self.effects
                .iter()
                .any(|e| matches!(e, Effect::StartSession { evse, .. } if *evse == id))
        };
        self.evses
            .iter()
            .filter(|e| wanted.is_none_or(|w| w == e.id))
            .find(|e| {
                e.operative
                    && e.session.is_none()
                    && matches!(
                        e.state,
                        ConnectorState::Available | ConnectorState::Reserved
                    )
                    && crate::reservations::admits(self, e.id, token)
                    && !queued(e.id)
            })
            .map(|e| e.id)
    }

    pub fn has_sessions(&self) -> bool {
        self.evses.iter().any(|e| e.session.is_some())
    }

    /// A random duration around `mean` (uniform in half to one and a half times it).
    pub fn around(&mut self, mean: Duration) -> Duration {
        mean.mul_f64(self.rng.gen_range(0.5..1.5))
    }

    /// A random driver token.
    pub fn random_token(&mut self) -> String {
        let tokens = &self.profile.id_tokens;
        if tokens.is_empty() {
            return "SIMTOKEN".into();
        }
        tokens[self.rng.gen_range(0..tokens.len())].clone()
    }

    /// Called when the CSMS accepted the boot: timers start, drivers start arriving (spread
    /// over a first interval so a network does not plug in all at once).
    pub fn on_accepted(&mut self, now: Instant) {
        self.registration = Registration::Accepted;
        self.next_heartbeat = Some(now + self.heartbeat_interval);
        self.next_meter = Some(now + self.meter_interval);
        let interval = self.profile.session_interval;
        for i in 0..self.evses.len() {
            let first = interval.mul_f64(self.rng.gen_range(0.0..1.0));
            let evse = &mut self.evses[i];
            if evse.session.is_none() && evse.next_plug_at.is_none() {
                evse.next_plug_at = Some(now + first);
            }
        }
    }

    /// The power cycle after a Reset: sessions are gone (they were stopped first), the
    /// registration must be earned again, the registers keep their counts.
    pub fn reboot(&mut self) {
        self.registration = Registration::Unknown;
        self.boot_cause = BootCause::RemoteReset;
        self.effects.clear();
        self.next_heartbeat = None;
        self.next_meter = None;
        self.reset_when_idle = false;
        self.boot_retry_after = None;
        for evse in &mut self.evses {
            evse.session = None;
            evse.next_plug_at = None;
            evse.inoperative_after_session = false;
            evse.state = if evse.operative {
                ConnectorState::Available
            } else {
                ConnectorState::Unavailable
            };
        }
    }

    /// Turns due timers into effects.
    pub fn tick(&mut self, now: Instant) {
        if self.registration != Registration::Accepted {
            return;
        }
        if !self.reservations.is_empty() {
            crate::reservations::expire(self, self.now());
        }
        self.run_script(now);
        if self.next_heartbeat.is_some_and(|at| at <= now) {
            self.next_heartbeat = Some(now + self.heartbeat_interval);
            self.effects.push_back(Effect::Heartbeat);
        }
        let charging = self.evses.iter().any(|e| {
            e.session
                .as_ref()
                .is_some_and(|s| !matches!(s.tx, TxRef::Unassigned))
        });
        if self.next_meter.is_some_and(|at| at <= now) {
            self.next_meter = Some(now + self.meter_interval);
            if charging {
                self.effects.push_back(Effect::MeterValues {
                    evse: None,
                    triggered: false,
                });
            }
        }
        for i in 0..self.evses.len() {
            let evse = &self.evses[i];
            let id = evse.id;
            if let Some(session) = &evse.session {
                let stop = if session.meter.ev.is_full() {
                    Some(StopReason::EvFull)
                } else if session.stop_at <= now {
                    Some(StopReason::Local)
                } else {
                    None
                };
                if let Some(reason) = stop
                    && !matches!(session.tx, TxRef::Unassigned)
                    && !self.stop_queued(id)
                {
                    self.effects
                        .push_back(Effect::StopSession { evse: id, reason });
                }
            } else if evse.operative
                && evse.state == ConnectorState::Available
                && evse.next_plug_at.is_some_and(|at| at <= now)
            {
                let connectors = evse.connectors;
                let connector = self.rng.gen_range(1..=connectors);
                let id_token = self.random_token();
                self.evses[i].next_plug_at = None;
                if !crate::reservations::admits(self, id, &id_token) {
                    // The last free EVSE is held for someone else: this driver goes away.
                    let later = self.around(self.profile.session_interval);
                    self.evses[i].next_plug_at = Some(now + later);
                    continue;
                }
                self.effects.push_back(Effect::StartSession {
                    evse: id,
                    connector,
                    id_token,
                    id_token_type: None,
                    remote_start_id: None,
                    authorize: true,
                });
            }
        }
    }

    fn stop_queued(&self, evse: u32) -> bool {
        self.effects
            .iter()
            .any(|e| matches!(e, Effect::StopSession { evse: id, .. } if *id == evse))
    }

    /// When [`Station::tick`] next has something to do.
    pub fn next_wake(&self, now: Instant) -> Instant {
        let mut wake = now + Duration::from_secs(3600);
        if self.registration != Registration::Accepted {
            return wake;
        }
        let mut consider = |at: Option<Instant>| {
            if let Some(at) = at {
                wake = wake.min(at);
            }
        };
        consider(self.next_heartbeat);
        if !self.script.is_empty() || self.pending_meter.is_some() {
            consider(Some(self.script_wait_until.unwrap_or(now)));
        }
        if let Some(expiry) = crate::reservations::next_expiry(self) {
            let wait = (expiry - self.now()).to_std().unwrap_or_default();
            consider(Some(now + wait));
        }
        if self.has_sessions() {
            consider(self.next_meter);
        }
        for evse in &self.evses {
            match &evse.session {
                Some(s) => consider(Some(s.stop_at)),
                None if evse.operative => consider(evse.next_plug_at),
                None => {}
            }
        }
        wake
    }

    /// A session ended on `evse`: the connector becomes free (or unavailable, when that
    /// was asked for meanwhile), the next driver is scheduled, and a pending reset runs.
    pub fn session_ended(&mut self, evse: u32, now: Instant) {
        let interval = self.profile.session_interval;
        let next = self.around(interval);
        if let Some(e) = self.evse_mut(evse) {
            e.session = None;
            if e.inoperative_after_session {
                e.inoperative_after_session = false;
                e.operative = false;
            }
            e.state = if e.operative {
                ConnectorState::Available
            } else {
                ConnectorState::Unavailable
            };
            e.next_plug_at = Some(now + next);
        }
        if self.reset_when_idle && !self.has_sessions() {
            self.reset_when_idle = false;
            self.effects.push_back(Effect::Reboot { hard: false });
        }
    }

    /// Starts a session's bookkeeping on `evse` (after authorization; the transaction id
    /// follows from the CSMS in 1.6 or is made here in 2.x).
    pub fn begin_session(
        &mut self,
        evse: u32,
        connector: u32,
        id_token: String,
        id_token_type: Option<String>,
        remote_start_id: Option<i64>,
        now: Instant,
    ) {
        let duration = self.around(self.profile.session_duration);
        let ev = Ev::random(&mut self.rng);
        let tx = match self.version {
            OcppVersion::V16 => TxRef::Unassigned,
            _ => TxRef::TwoX(self.new_transaction_id()),
        };
        let reservation_id = crate::reservations::consume(self, evse, &id_token);
        let limit = self.profile.max_power_w;
        let started_at = self.now();
        if let Some(e) = self.evse_mut(evse) {
            e.active_connector = connector;
            e.state = ConnectorState::Charging;
            e.next_plug_at = None;
            e.session = Some(Session {
                connector,
                id_token,
                id_token_type,
                tx,
                remote_start_id,
                started_at,
                started: now,
                meter_start_wh: e.register_wh,
                meter: SessionMeter::new(ev, limit),
                stop_at: now + duration,
                seq_no: 0,
                reservation_id,
            });
        }
        self.apply_limit(evse);
    }

    /// Holds the session on `evse` to the limit its charging profiles set now.
    pub fn apply_limit(&mut self, evse: u32) {
        let limit = crate::charging_profiles::limit_w(self, evse, self.now());
        if let Some(session) = self.evse_mut(evse).and_then(|e| e.session.as_mut()) {
            session.meter.limit_w = limit;
        }
    }

    /// Runs the scenario steps that are due, one at a time: each waits for the messages
    /// of the one before to go out.
    fn run_script(&mut self, now: Instant) {
        while self.effects.is_empty() && self.script_wait_until.is_none_or(|at| at <= now) {
            if let Some(evse) = self.pending_meter.take() {
                self.effects.push_back(Effect::MeterValues {
                    evse: Some(evse),
                    triggered: false,
                });
                break;
            }
            let Some(step) = self.script.pop_front() else {
                break;
            };
            self.script_wait_until = None;
            self.apply_step(step, now);
        }
    }

    fn apply_step(&mut self, step: crate::scenario::Step, now: Instant) {
        use crate::scenario::{Step, duration};
        match step {
            Step::Wait { seconds } => self.script_wait_until = Some(now + duration(seconds)),
            Step::Connect | Step::Boot => {}
            Step::Plug { evse, connector } => {
                self.effects.push_back(Effect::Plug { evse, connector })
            }
            Step::Authorize { id_token, evse } => {
                self.effects.push_back(Effect::Authorize { evse, id_token })
            }
            Step::Start { evse, id_token } => {
                let authorized = self.authorized.remove(&evse);
                let authorize = authorized.is_none();
                let id_token = id_token
                    .or(authorized)
                    .unwrap_or_else(|| self.random_token());
                let connector = self.evse(evse).map_or(1, |e| e.active_connector);
                self.effects.push_back(Effect::StartSession {
                    evse,
                    connector,
                    id_token,
                    id_token_type: None,
                    remote_start_id: None,
                    authorize,
                });
            }
            Step::Meter { evse, seconds, kw } => {
                self.sample(evse, now);
                if let Some(session) = self.evse_mut(evse).and_then(|e| e.session.as_mut()) {
                    session.meter.ev.max_power_w = kw * 1000.0;
                    // The car stays until the script stops it.
                    session.stop_at = now + Duration::from_secs(86_400 * 365);
                }
                self.script_wait_until = Some(now + duration(seconds));
                // One reading at the end of the step.
                self.pending_meter = Some(evse);
            }
            Step::Stop { evse, reason } => {
                let reason = match reason.as_deref() {
                    Some("Remote") => StopReason::Remote,
                    Some("EVDisconnected" | "EvDisconnected" | "EvFull") => StopReason::EvFull,
                    Some("DeAuthorized") => StopReason::DeAuthorized,
                    Some("PowerLoss") => StopReason::PowerLoss,
                    _ => StopReason::Local,
                };
                self.effects.push_back(Effect::StopSession { evse, reason });
            }
            Step::Offline { seconds } => {
                self.effects.push_back(Effect::GoOffline(duration(seconds)))
            }
            Step::Online => self.come_back = true,
            Step::Fault { kind, evse } => match kind.as_str() {
                "drop" => self.effects.push_back(Effect::Drop),
                "storm" => self.effects.push_back(Effect::Storm),
                "reboot" => {
                    for id in self
                        .evses
                        .iter()
                        .filter(|e| e.session.is_some())
                        .map(|e| e.id)
                        .collect::<Vec<_>>()
                    {
                        self.effects.push_back(Effect::StopSession {
                            evse: id,
                            reason: StopReason::PowerLoss,
                        });
                    }
                    self.effects.push_back(Effect::Reboot { hard: true });
                }
                code => {
                    self.fault = Some(code.to_owned());
                    self.set_faulted(evse, true);
                }
            },
            Step::ClearFault => {
                self.fault = None;
                self.set_faulted(None, false);
            }
        }
    }

    /// Marks `evse` (or all) Faulted, or back to what it was doing.
    fn set_faulted(&mut self, evse: Option<u32>, faulted: bool) {
        let ids: Vec<u32> = self
            .evses
            .iter()
            .filter(|e| evse.is_none_or(|id| id == e.id))
            .map(|e| e.id)
            .collect();
        for id in ids {
            if let Some(e) = self.evse_mut(id) {
                e.state = if faulted {
                    ConnectorState::Faulted
                } else if e.session.is_some() {
                    ConnectorState::Charging
                } else if e.operative {
                    ConnectorState::Available
                } else {
                    ConnectorState::Unavailable
                };
            }
            self.effects.push_back(Effect::Status { evse: Some(id) });
        }
    }

    /// Brings the session on `evse` up to `now`: its energy goes into the register.
    pub fn sample(&mut self, evse: u32, now: Instant) {
        self.apply_limit(evse);
        if let Some(e) = self.evse_mut(evse)
            && let Some(session) = e.session.as_mut()
        {
            let wh = session.advance(now);
            e.register_wh += wh;
            if e.state != ConnectorState::Faulted {
                e.state = if session.meter.ev.is_full() || session.meter.limit_w <= 0.0 {
                    ConnectorState::SuspendedEv
                } else {
                    ConnectorState::Charging
                };
            }
        }
    }
}

/// A charger setting, seen as a 1.6 configuration key and/or a 2.x device-model variable.
pub struct Setting {
    /// 1.6 key; empty when 1.6 has no such key.
    pub key: &'static str,
    /// 2.x component and variable; empty component when 2.x has no such variable.
    pub component: &'static str,
    pub variable: &'static str,
    pub readonly: bool,
    pub get: fn(&Station) -> String,
    /// Sets from text; `false` when the text is not a valid value.
    pub set: fn(&mut Station, &str) -> bool,
}

fn read_only(_: &mut Station, _: &str) -> bool {
    false
}

fn seconds(text: &str) -> Option<Duration> {
    let secs: u64 = text.trim().parse().ok()?;
    (1..=86_400 * 7)
        .contains(&secs)
        .then(|| Duration::from_secs(secs))
}

fn flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Every setting the simulated chargers have.
pub static SETTINGS: &[Setting] = &[
    Setting {
        key: "HeartbeatInterval",
        component: "OCPPCommCtrlr",
        variable: "HeartbeatInterval",
        readonly: false,
        get: |s| s.heartbeat_interval.as_secs().to_string(),
        set: |s, v| match seconds(v) {
            Some(d) => {
                s.heartbeat_interval = d;
                s.next_heartbeat = s.next_heartbeat.map(|_| Instant::now() + d);
                true
            }
            None => false,
        },
    },
    Setting {
        key: "MeterValueSampleInterval",
        component: "SampledDataCtrlr",
        variable: "TxUpdatedInterval",
        readonly: false,
        get: |s| s.meter_interval.as_secs().to_string(),
        set: |s, v| match seconds(v) {
            Some(d) => {
                s.meter_interval = d;
                s.next_meter = s.next_meter.map(|_| Instant::now() + d);
                true
            }
            None => false,
        },
    },
    Setting {
        key: "AuthorizeRemoteTxRequests",
        component: "AuthCtrlr",
        variable: "AuthorizeRemoteStart",
        readonly: false,
        get: |s| s.authorize_remote_start.to_string(),
        set: |s, v| match flag(v) {
            Some(b) => {
                s.authorize_remote_start = b;
                true
            }
            None => false,
        },
    },
    Setting {
        key: "ConnectionTimeOut",
        component: "TxCtrlr",
        variable: "EVConnectionTimeOut",
        readonly: false,
        get: |s| s.connection_timeout_s.to_string(),
        set: |s, v| match v.trim().parse::<u64>() {
            Ok(n) if n <= 3600 => {
                s.connection_timeout_s = n;
                true
            }
            _ => false,
        },
    },
    Setting {
        key: "NumberOfConnectors",
        component: "",
        variable: "",
        readonly: true,
        get: |s| s.evses.len().to_string(),
        set: read_only,
    },
    Setting {
        key: "SupportedFeatureProfiles",
        component: "",
        variable: "",
        readonly: true,
        get: |_| {
            "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"
                .into()
        },
        set: read_only,
    },
    Setting {
        key: "LocalAuthListEnabled",
        component: "LocalAuthListCtrlr",
        variable: "Enabled",
        readonly: true,
        get: |_| "true".into(),
        set: read_only,
    },
    Setting {
        key: "LocalAuthListMaxLength",
        component: "LocalAuthListCtrlr",
        variable: "Entries",
        readonly: true,
        get: |_| crate::local_list::MAX_ENTRIES.to_string(),
        set: read_only,
    },
    Setting {
        key: "LocalAuthorizeOffline",
        component: "AuthCtrlr",
        variable: "LocalAuthorizeOffline",
        readonly: false,
        get: |s| s.local_authorize_offline.to_string(),
        set: |s, v| match flag(v) {
            Some(b) => {
                s.local_authorize_offline = b;
                true
            }
            None => false,
        },
    },
    Setting {
        key: "AllowOfflineTxForUnknownId",
        component: "AuthCtrlr",
        variable: "OfflineTxForUnknownIdEnabled",
        readonly: false,
        get: |s| s.offline_unknown_allowed.to_string(),
        set: |s, v| match flag(v) {
            Some(b) => {
                s.offline_unknown_allowed = b;
                true
            }
            None => false,
        },
    },
    Setting {
        key: "ChargeProfileMaxStackLevel",
        component: "SmartChargingCtrlr",
        variable: "ProfileStackLevel",
        readonly: true,
        get: |_| "10".into(),
        set: read_only,
    },
    Setting {
        key: "ChargingScheduleAllowedChargingRateUnit",
        component: "SmartChargingCtrlr",
        variable: "RateUnit",
        readonly: true,
        get: |_| "Current,Power".into(),
        set: read_only,
    },
    Setting {
        key: "ReserveConnectorZeroSupported",
        component: "ReservationCtrlr",
        variable: "NonEvseSpecific",
        readonly: true,
        get: |_| "true".into(),
        set: read_only,
    },
    Setting {
        key: "",
        component: "ChargingStation",
        variable: "Model",
        readonly: true,
        get: |s| s.profile.model.clone(),
        set: read_only,
    },
    Setting {
        key: "",
        component: "ChargingStation",
        variable: "VendorName",
        readonly: true,
        get: |s| s.profile.vendor.clone(),
        set: read_only,
    },
    Setting {
        key: "",
        component: "SecurityCtrlr",
        variable: "Identity",
        readonly: true,
        get: |s| s.id.clone(),
        set: read_only,
    },
];

/// The 1.6 configuration key called `key` (case-sensitive, as 1.6 keys are).
pub fn setting_by_key(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| !s.key.is_empty() && s.key == key)
}

/// What a 2.x component/variable pair names.
pub enum DeviceModelLookup {
    Found(&'static Setting),
    UnknownComponent,
    UnknownVariable,
}

/// Looks a 2.x variable up (component and variable names are case-insensitive in 2.x).
pub fn setting_by_variable(component: &str, variable: &str) -> DeviceModelLookup {
    let in_component: Vec<&'static Setting> = SETTINGS
        .iter()
        .filter(|s| !s.component.is_empty() && s.component.eq_ignore_ascii_case(component))
        .collect();
    if in_component.is_empty() {
        return DeviceModelLookup::UnknownComponent;
    }
    match in_component
        .into_iter()
        .find(|s| s.variable.eq_ignore_ascii_case(variable))
    {
        Some(s) => DeviceModelLookup::Found(s),
        None => DeviceModelLookup::UnknownVariable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn station(version: OcppVersion) -> Station {
        let profile = ChargerProfile {
            evses: 2,
            connectors_per_evse: 2,
            session_interval: Duration::from_secs(10),
            session_duration: Duration::from_secs(20),
            ..ChargerProfile::default()
        };
        Station::new("SIM-00001".into(), version, Arc::new(profile), 1)
    }

    #[test]
    fn one_point_six_has_a_connector_per_evse() {
        assert_eq!(station(OcppVersion::V16).evses.len(), 4);
        let two = station(OcppVersion::V201);
        assert_eq!(two.evses.len(), 2);
        assert!(two.evses.iter().all(|e| e.connectors == 2));
    }

    #[test]
    fn a_session_runs_from_plug_in_to_stop_with_a_growing_register() {
        let mut st = station(OcppVersion::V201);
        let start = Instant::now();
        // Nothing happens before the boot is accepted.
        st.tick(start + Duration::from_secs(100));
        assert!(st.effects.is_empty());

        st.on_accepted(start);
        let plug = st.evses[0].next_plug_at.unwrap();
        assert!(plug <= start + Duration::from_secs(10));
        st.tick(plug);
        let Some(Effect::StartSession {
            evse, connector, ..
        }) = st
            .effects
            .iter()
            .find(|e| matches!(e, Effect::StartSession { evse: 1, .. }))
            .cloned()
        else {
            panic!("a driver arrives at EVSE 1: {:?}", st.effects);
        };
        st.effects.clear();
        st.begin_session(evse, connector, "TOKEN".into(), None, None, plug);
        let before = st.evses[0].register_wh;
        assert_eq!(st.evses[0].state, ConnectorState::Charging);
        assert!(
            matches!(&st.evses[0].session.as_ref().unwrap().tx, TxRef::TwoX(id) if id == "SIM-00001-1")
        );

        let mut last = before;
        for s in 1..=5 {
            st.sample(1, plug + Duration::from_secs(s * 2));
            let now = st.evses[0].register_wh;
            assert!(now > last, "the register grows while charging");
            last = now;
        }
        // The driver comes back no later than 1.5 × the mean duration.
        st.tick(plug + Duration::from_secs(31));
        assert!(st.effects.contains(&Effect::StopSession {
            evse: 1,
            reason: StopReason::Local
        }));
        // A queued stop is not queued twice.
        st.tick(plug + Duration::from_secs(32));
        assert_eq!(
            st.effects
                .iter()
                .filter(|e| matches!(e, Effect::StopSession { .. }))
                .count(),
            1
        );
        st.session_ended(1, plug + Duration::from_secs(32));
        assert_eq!(st.evses[0].state, ConnectorState::Available);
        assert!(st.evses[0].next_plug_at.is_some());
        assert!(st.evses[0].register_wh >= last);
    }

    #[test]
    fn timers_heartbeat_and_wake() {
        let mut st = station(OcppVersion::V16);
        let start = Instant::now();
        st.heartbeat_interval = Duration::from_secs(5);
        st.on_accepted(start);
        assert!(st.next_wake(start) <= start + Duration::from_secs(5));
        st.tick(start + Duration::from_secs(5));
        assert!(st.effects.contains(&Effect::Heartbeat));
        assert_eq!(st.next_heartbeat, Some(start + Duration::from_secs(10)));
    }

    #[test]
    fn reset_when_idle_reboots_after_the_last_session() {
        let mut st = station(OcppVersion::V201);
        let now = Instant::now();
        st.on_accepted(now);
        st.begin_session(1, 1, "T".into(), None, None, now);
        st.reset_when_idle = true;
        st.session_ended(1, now);
        assert_eq!(st.effects.back(), Some(&Effect::Reboot { hard: false }));
        st.reboot();
        assert_eq!(st.registration, Registration::Unknown);
        assert_eq!(st.boot_cause, BootCause::RemoteReset);
        assert!(st.effects.is_empty());
    }

    #[test]
    fn a_remote_start_never_takes_an_evse_with_a_start_queued() {
        let mut st = station(OcppVersion::V201);
        let now = Instant::now();
        st.on_accepted(now);
        // The driver of EVSE 1 arrives (queued, not yet performed).
        st.evses[0].next_plug_at = Some(now);
        st.evses[1].next_plug_at = Some(now + Duration::from_secs(3600));
        st.tick(now);
        assert!(matches!(
            st.effects.front(),
            Some(Effect::StartSession { evse: 1, .. })
        ));
        assert_eq!(st.free_evse(None, "T"), Some(2));
        assert_eq!(st.free_evse(Some(1), "T"), None);
        st.evses[1].operative = false;
        assert_eq!(st.free_evse(None, "T"), None);
    }

    #[test]
    fn settings_lookup() {
        assert!(setting_by_key("HeartbeatInterval").is_some());
        assert!(setting_by_key("heartbeatinterval").is_none());
        assert!(setting_by_key("").is_none());
        assert!(matches!(
            setting_by_variable("ocppcommctrlr", "heartbeatinterval"),
            DeviceModelLookup::Found(_)
        ));
        assert!(matches!(
            setting_by_variable("OCPPCommCtrlr", "Nope"),
            DeviceModelLookup::UnknownVariable
        ));
        assert!(matches!(
            setting_by_variable("Nope", "HeartbeatInterval"),
            DeviceModelLookup::UnknownComponent
        ));
    }
}
