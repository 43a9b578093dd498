//! One charger connection: a single task that reads frames, runs the handler for the
//! charger's CALLs one at a time and in order, sends CSMS-initiated calls one at a time, keeps
//! the connection alive with pings, and closes it cleanly.
//!
//! Everything happens in one `select!` loop, so a connection owns no channels or extra tasks;
//! its idle cost is the socket, the WebSocket buffers and the small shared [`Session`].

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ampere_ocpp::frame::{self, Frame};
use ampere_ocpp::{CallError, ErrorCode, OcppVersion};
use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::commands::CommandError;
use crate::config::GatewayConfig;
use crate::deflate::{self, InflateError};
use crate::handler::{CallHandler, ConnectionEvent, DisconnectReason};
use crate::rate::{TokenBucket, Verdict};
use crate::registry::{Registry, Session};
use crate::security::{GatewaySecurityEvent, Reporter, SecurityEventKind};
use crate::socket::{ChargerSocket, Transport};

type Ws = WebSocketStream<ChargerSocket>;

/// After our close frame, how long to wait for the charger to close its side.
const CLOSE_LINGER: Duration = Duration::from_secs(2);
/// How many bytes to read and discard while lingering.
const LINGER_MAX_BYTES: usize = 1 << 20;

/// What a connection task needs from the gateway.
pub(crate) struct ConnectionContext {
    pub(crate) config: Arc<GatewayConfig>,
    pub(crate) handler: Arc<dyn CallHandler>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) ws_config: WebSocketConfig,
    pub(crate) security: Arc<Reporter>,
}

/// Work received from the charger, done strictly in arrival order.
enum Job {
    Call {
        id: String,
        action: String,
        payload: Value,
    },
    Send {
        id: String,
        action: String,
        payload: Value,
    },
    /// A ready answer (a CALLERROR for a broken frame); it waits its turn so that answers
    /// keep the order of the requests.
    Reply(String),
}

/// The handler working on one job; yields the frame to send back, if any.
type Running = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// The CSMS-initiated call waiting for the charger's answer.
struct Outstanding {
    message_id: String,
    action: String,
    reply: oneshot::Sender<Result<Value, CommandError>>,
    deadline: Instant,
}

/// How the connection ends.
enum End {
    Disconnected(DisconnectReason),
    TakenOver,
}

struct Closing {
    end: End,
    /// The close frame to send once in-flight work is done (none when the charger closed).
    close: Option<CloseFrame>,
    /// In-flight handler work is abandoned after this.
    drain_deadline: Instant,
}

pub(crate) struct Connection {
    /// Always present, except for a moment inside [`Connection::renew_buffers`].
    ws: Option<Ws>,
    session: Arc<Session>,
    ctx: Arc<ConnectionContext>,
    /// A message bigger than the read buffer went through: the WebSocket buffers are to be
    /// renewed at the next message boundary.
    buffers_grown: bool,
    jobs: VecDeque<Job>,
    running: Option<Running>,
    outstanding: Option<Outstanding>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    closing: Option<Closing>,
    /// False once the socket failed or the charger closed: nothing more can be sent.
    writable: bool,
    /// Our close frame went out; the charger's side is still to be awaited.
    close_sent: bool,
    /// The newest liveness probe pinged for (see `Session::probe`), and whether the charger
    /// has shown traffic since.
    probe_sent: u64,
    probe_pending: bool,
    /// When the charger last sent anything (for `idle_timeout`).
    last_traffic: Instant,
    /// The message rate limit.
    rate: TokenBucket,
    /// Reading waits for the rate limit until then.
    rate_wait: Option<Instant>,
}

impl Connection {
    pub(crate) fn new(ws: Ws, session: Arc<Session>, ctx: Arc<ConnectionContext>) -> Self {
        let ping = ctx.config.ping_interval;
        Self {
            ws: Some(ws),
            buffers_grown: false,
            session,
            jobs: VecDeque::new(),
            running: None,
            outstanding: None,
            next_ping: (!ping.is_zero()).then(|| Instant::now() + ping),
            pong_deadline: None,
            closing: None,
            writable: true,
            close_sent: false,
            probe_sent: 0,
            probe_pending: false,
            last_traffic: Instant::now(),
            rate: TokenBucket::new(
                ctx.config.max_message_rate,
                ctx.config.message_burst,
                Instant::now(),
            ),
            rate_wait: None,
            ctx,
        }
    }

    fn ws(&mut self) -> &mut Ws {
        self.ws
            .as_mut()
            .expect("the WebSocket is only absent inside renew_buffers")
    }

    /// Replaces the WebSocket state with a fresh one, releasing the buffers a big message
    /// grew. Only called right after a complete data message was read: tungstenite then holds
    /// no unread input (see [`ChargerSocket`]) and no partial message, and its output buffer
    /// was flushed by the last send; a pong it failed to flush would be lost, which is
    /// harmless.
    async fn renew_buffers(&mut self) {
        if !self.ws().get_ref().at_frame_boundary() {
            return;
        }
        let Some(ws) = self.ws.take() else {
            return;
        };
        let socket = ws.into_inner();
        self.ws = Some(
            WebSocketStream::from_raw_socket(socket, Role::Server, Some(self.ctx.ws_config)).await,
        );
        self.buffers_grown = false;
    }

    fn version(&self) -> OcppVersion {
        self.session.info.version
    }

    /// Registers the session, reports the connection, serves it until it ends, and reports
    /// how it ended.
    pub(crate) async fn run(mut self) {
        let ctx = self.ctx.clone();
        let session = self.session.clone();
        if let Some(old) = ctx.registry.register(session.clone()) {
            if old.take_over() {
                tracing::info!(
                    old_connection_id = old.info.connection_id,
                    "connection takes over from the previous one"
                );
                old.wait_connected_reported(ctx.config.shutdown_grace).await;
                report(&ctx.handler, &old, ConnectionEvent::TakenOver).await;
                old.last_event_reported();
            } else {
                // The old connection ended on its own and is reporting that right now; its
                // event must come first.
                old.wait_last_event_reported(ctx.config.shutdown_grace)
                    .await;
            }
        }
        tracing::info!(known = session.info.known, "charger connected");
        report(&ctx.handler, &session, ConnectionEvent::Connected).await;
        session.connected_reported();

        let end = self.serve().await;

        if let End::Disconnected(reason) = end
            && session.claim_last_event()
        {
            tracing::info!(%reason, "charger disconnected");
            report(
                &ctx.handler,
                &session,
                ConnectionEvent::Disconnected { reason },
            )
            .await;
            session.last_event_reported();
        } else {
            tracing::info!("connection closed after takeover");
        }
        ctx.registry.remove(&session);
        self.linger().await;
    }

    async fn serve(&mut self) -> End {
        loop {
            if self.closing.is_none() && self.session.takeover_requested() {
                self.start_closing(
                    End::TakenOver,
                    Some(close_frame(
                        CloseCode::Normal,
                        "replaced by a new connection",
                    )),
                );
            }
            self.start_next_job().await;
            self.answer_probe_request().await;
            if self.closing.is_none()
                && self.outstanding.is_none()
                && let Some(call) = self.session.next_command()
            {
                self.send_call(call).await;
            }
            if let Some(closing) = &self.closing {
                let drained = self.running.is_none() && self.jobs.is_empty();
                if drained || Instant::now() >= closing.drain_deadline {
                    break;
                }
            }

            // Reading pauses while the queue is full: the charger waits instead of the
            // gateway buffering without bound.
            let reading = self.closing.is_none()
                && self.jobs.len() < self.ctx.config.incoming_queue_len.max(1);
            // The rate limit delays the next read; it never drops a message.
            let reading = reading && self.rate_allows_reading();
            let far = Instant::now() + Duration::from_secs(86_400);
            let idle_deadline = (!self.ctx.config.idle_timeout.is_zero() && self.closing.is_none())
                .then(|| self.last_traffic + self.ctx.config.idle_timeout);
            let call_deadline = self.outstanding.as_ref().map(|o| o.deadline);
            let timer = match (self.next_ping, self.pong_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let drain_deadline = self.closing.as_ref().map(|c| c.drain_deadline);

            tokio::select! {
                biased;
                () = self.ctx.shutdown.cancelled(), if self.closing.is_none() => {
                    self.start_closing(
                        End::Disconnected(DisconnectReason::ServerShutdown),
                        Some(close_frame(CloseCode::Away, "server shutting down")),
                    );
                }
                () = self.session.wake.notified() => {}
                answer = poll_running(&mut self.running), if self.running.is_some() => {
                    self.running = None;
                    if let Some(text) = answer {
                        self.send_text(text).await;
                    }
                }
                () = sleep_until(call_deadline.unwrap_or(far)), if call_deadline.is_some() => {
                    if let Some(call) = self.outstanding.take() {
                        tracing::warn!(message_id = %call.message_id, action = %call.action, "charger did not answer in time");
                        let _ = call.reply.send(Err(CommandError::Timeout));
                    }
                }
                () = sleep_until(timer.unwrap_or(far)), if timer.is_some() && self.closing.is_none() => {
                    self.on_timer(reading).await;
                }
                () = sleep_until(drain_deadline.unwrap_or(far)), if drain_deadline.is_some() => {}
                () = sleep_until(self.rate_wait.unwrap_or(far)), if self.rate_wait.is_some() && self.closing.is_none() => {
                    self.rate_wait = None;
                }
                () = sleep_until(idle_deadline.unwrap_or(far)), if idle_deadline.is_some() => {
                    self.on_idle(reading);
                }
                // Last, so that a charger flooding the socket cannot starve the timers.
                message = next_message(&mut self.ws), if reading => self.on_message(message).await,
            }
        }
        self.finish().await
    }

    /// Starts the next job unless the handler is busy; ready answers go out at once.
    async fn start_next_job(&mut self) {
        while self.running.is_none() {
            let Some(job) = self.jobs.pop_front() else {
                return;
            };
            match job {
                Job::Reply(text) => self.send_text(text).await,
                Job::Call {
                    id,
                    action,
                    payload,
                } => self.running = Some(self.run_call(id, action, payload)),
                Job::Send {
                    id,
                    action,
                    payload,
                } => self.running = Some(self.run_send(id, action, payload)),
            }
        }
    }

    fn run_call(&self, id: String, action: String, payload: Value) -> Running {
        let handler = self.ctx.handler.clone();
        let session = self.session.clone();
        let span = tracing::info_span!("call", action = %action, message_id = %id);
        Box::pin(
            async move {
                let started = Instant::now();
                let result = AssertUnwindSafe(handler.handle_call(&session.info, &action, payload))
                    .catch_unwind()
                    .await;
                let frame = match result {
                    Ok(Ok(payload)) => {
                        tracing::debug!(elapsed = ?started.elapsed(), "answered");
                        Frame::CallResult { id, payload }
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(elapsed = ?started.elapsed(), code = %error.code, description = %error.description, "answered with CALLERROR");
                        Frame::CallError { id, error }
                    }
                    Err(panic) => {
                        tracing::error!(panic = panic_message(&*panic), "handler panicked");
                        Frame::CallError {
                            id,
                            error: CallError::new(ErrorCode::InternalError, "internal error"),
                        }
                    }
                };
                Some(frame.to_text(session.info.version))
            }
            .instrument(span),
        )
    }

    fn run_send(&self, id: String, action: String, payload: Value) -> Running {
        let handler = self.ctx.handler.clone();
        let session = self.session.clone();
        let span = tracing::info_span!("send", action = %action, message_id = %id);
        Box::pin(
            async move {
                let result = AssertUnwindSafe(handler.handle_send(&session.info, &action, payload))
                    .catch_unwind()
                    .await;
                if let Err(panic) = result {
                    tracing::error!(panic = panic_message(&*panic), "handler panicked");
                }
                None
            }
            .instrument(span),
        )
    }

    async fn send_call(&mut self, call: crate::registry::QueuedCall) {
        let message_id = uuid::Uuid::new_v4().to_string();
        let text = Frame::Call {
            id: message_id.clone(),
            action: call.action.clone(),
            payload: call.payload,
        }
        .to_text(self.version());
        tracing::info!(message_id = %message_id, action = %call.action, "sending CSMS call");
        self.outstanding = Some(Outstanding {
            message_id,
            action: call.action,
            reply: call.reply,
            deadline: call.deadline,
        });
        self.send_text(text).await;
    }

    async fn on_message(&mut self, message: Option<Result<Message, tungstenite::Error>>) {
        // Any traffic shows the charger is alive.
        self.pong_deadline = None;
        self.last_traffic = Instant::now();
        if self.probe_pending && matches!(message, Some(Ok(_))) {
            self.probe_pending = false;
            self.session.probes_answered(self.probe_sent);
        }
        let message = match message {
            Some(Ok(message)) => message,
            None => {
                self.writable = false;
                self.start_closing(
                    End::Disconnected(DisconnectReason::ClosedByCharger {
                        code: None,
                        reason: String::new(),
                    }),
                    None,
                );
                return;
            }
            Some(Err(error)) => return self.on_read_error(error),
        };
        let data = matches!(message, Message::Text(_) | Message::Binary(_));
        if data {
            self.rate.take(Instant::now());
        }
        let compressed = data && self.ws().get_mut().take_compressed();
        if compressed && let Message::Binary(bytes) = &message {
            return self.on_compressed(bytes).await;
        }
        match message {
            Message::Text(text) => {
                let incoming = crate::handler::FrameDirection::Incoming;
                (self.ctx.handler).on_frame(&self.session.info, incoming, text.as_str());
                self.on_text(text.as_str());
                if text.len() > self.ctx.ws_config.read_buffer_size {
                    self.buffers_grown = true;
                }
                drop(text);
                if self.buffers_grown && self.closing.is_none() {
                    self.renew_buffers().await;
                }
            }
            Message::Binary(_) => self.start_closing(
                End::Disconnected(DisconnectReason::UnsupportedData),
                Some(close_frame(
                    CloseCode::Unsupported,
                    "binary messages are not supported",
                )),
            ),
            Message::Close(frame) => {
                // tungstenite has queued the answering close frame; push it out.
                let _ = timeout(self.ctx.config.write_timeout, self.ws().flush()).await;
                self.writable = false;
                let (code, reason) = match frame {
                    Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
                    None => (None, String::new()),
                };
                self.start_closing(
                    End::Disconnected(DisconnectReason::ClosedByCharger { code, reason }),
                    None,
                );
            }
            // tungstenite answers pings by itself on the next read or write.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }

    fn on_read_error(&mut self, error: tungstenite::Error) {
        use tungstenite::Error as E;
        match error {
            E::Capacity(error) => {
                tracing::warn!(%error, limit = self.ctx.config.max_message_bytes, "message too big");
                self.report(
                    self.security_event(SecurityEventKind::MessageTooBig)
                        .with("limit", self.ctx.config.max_message_bytes),
                );
                self.start_closing(
                    End::Disconnected(DisconnectReason::MessageTooBig),
                    Some(close_frame(CloseCode::Size, "message too big")),
                );
            }
            E::Utf8(_) => {
                // Broken text is a broken frame, not a broken connection.
                let error =
                    CallError::new(ErrorCode::RpcFrameworkError, "message is not UTF-8 text");
                self.queue_reply(Frame::CallError {
                    id: frame::UNKNOWN_MESSAGE_ID.to_owned(),
                    error,
                });
            }
            E::Protocol(error) => {
                tracing::warn!(%error, "WebSocket protocol error");
                self.start_closing(
                    End::Disconnected(DisconnectReason::Error(error.to_string())),
                    Some(close_frame(CloseCode::Protocol, "protocol error")),
                );
            }
            E::ConnectionClosed | E::AlreadyClosed => {
                self.writable = false;
                self.start_closing(
                    End::Disconnected(DisconnectReason::ClosedByCharger {
                        code: None,
                        reason: String::new(),
                    }),
                    None,
                );
            }
            error => {
                self.writable = false;
                self.start_closing(
                    End::Disconnected(DisconnectReason::Error(error.to_string())),
                    None,
                );
            }
        }
    }

    fn on_text(&mut self, text: &str) {
        match frame::parse(text, self.version()) {
            Ok(Frame::Call {
                id,
                action,
                payload,
            }) => self.jobs.push_back(Job::Call {
                id,
                action,
                payload,
            }),
            Ok(Frame::Send {
                id,
                action,
                payload,
            }) => self.jobs.push_back(Job::Send {
                id,
                action,
                payload,
            }),
            Ok(Frame::CallResult { id, payload }) => self.on_response(&id, Ok(payload)),
            Ok(Frame::CallError { id, error }) => {
                self.on_response(&id, Err(CommandError::Rejected(error)));
            }
            Ok(Frame::CallResultError { id, error }) => {
                tracing::warn!(message_id = %id, code = %error.code, description = %error.description, "charger refused one of our CALLRESULTs");
            }
            Err(error) => {
                tracing::warn!(message_id = error.message_id().unwrap_or("-"), %error, "invalid frame");
                // A broken answer to our outstanding call settles that call.
                if let Some(id) = error.message_id()
                    && self
                        .outstanding
                        .as_ref()
                        .is_some_and(|o| o.message_id == id)
                {
                    self.on_response(id, Err(CommandError::InvalidResponse(error.to_string())));
                }
                if let Some(reply) = error.reply() {
                    self.queue_reply(reply);
                }
            }
        }
    }

    fn queue_reply(&mut self, frame: Frame) {
        self.jobs
            .push_back(Job::Reply(frame.to_text(self.version())));
    }

    fn on_response(&mut self, id: &str, result: Result<Value, CommandError>) {
        match self.outstanding.take() {
            Some(call) if call.message_id == id => {
                tracing::info!(message_id = %id, action = %call.action, ok = result.is_ok(), "charger answered CSMS call");
                let _ = call.reply.send(result);
            }
            other => {
                self.outstanding = other;
                tracing::warn!(message_id = %id, "answer to no outstanding call (late or unknown), dropped");
            }
        }
    }

    /// A compressed message (permessage-deflate): inflated within `max_message_bytes`, then
    /// treated as the text message it was.
    async fn on_compressed(&mut self, compressed: &[u8]) {
        let limit = self.ctx.config.max_message_bytes;
        let text = match deflate::inflate(compressed, limit) {
            Ok(bytes) => bytes,
            Err(InflateError::TooBig) => {
                tracing::warn!(
                    compressed = compressed.len(),
                    limit,
                    "compressed message inflates past the limit"
                );
                self.report(
                    self.security_event(SecurityEventKind::CompressionBomb)
                        .with("compressed_bytes", compressed.len())
                        .with("limit", limit),
                );
                return self.start_closing(
                    End::Disconnected(DisconnectReason::MessageTooBig),
                    Some(close_frame(CloseCode::Size, "message too big")),
                );
            }
            Err(InflateError::Corrupt(error)) => {
                tracing::warn!(%error, "compressed message is not valid deflate data");
                return self.start_closing(
                    End::Disconnected(DisconnectReason::Error(format!(
                        "invalid compressed data: {error}"
                    ))),
                    Some(close_frame(CloseCode::Invalid, "invalid compressed data")),
                );
            }
        };
        match String::from_utf8(text) {
            Ok(text) => {
                let incoming = crate::handler::FrameDirection::Incoming;
                (self.ctx.handler).on_frame(&self.session.info, incoming, &text);
                self.on_text(&text);
                if text.len() > self.ctx.ws_config.read_buffer_size {
                    self.buffers_grown = true;
                }
                drop(text);
                if self.buffers_grown && self.closing.is_none() {
                    self.renew_buffers().await;
                }
            }
            Err(_) => self.on_read_error(tungstenite::Error::Utf8(String::new())),
        }
    }

    /// Pings for a liveness probe that a duplicate connection asked for. A charger whose
    /// messages wait for the handler (reading paused) cannot show a pong: it counts as
    /// alive, since it sent those messages just now.
    async fn answer_probe_request(&mut self) {
        let wanted = self.session.probes_wanted();
        if wanted <= self.probe_sent || self.closing.is_some() {
            return;
        }
        self.probe_sent = wanted;
        if self.jobs.len() >= self.ctx.config.incoming_queue_len.max(1) {
            self.session.probes_answered(wanted);
            return;
        }
        self.probe_pending = true;
        self.send(Message::Ping(b"probe".to_vec().into())).await;
    }

    /// Whether the rate limit lets the next message be read now; otherwise sets when to
    /// look again, reports the start of a held-back stretch, and disconnects a charger held
    /// back for too long.
    fn rate_allows_reading(&mut self) -> bool {
        let now = Instant::now();
        match self.rate.check(now) {
            Verdict::Go => {
                self.rate_wait = None;
                true
            }
            Verdict::WaitUntil { at, first } => {
                self.rate_wait = Some(at);
                if first {
                    tracing::info!(
                        rate = self.ctx.config.max_message_rate,
                        "message rate limit reached; reading slowed down"
                    );
                    self.report(
                        self.security_event(SecurityEventKind::RateLimited)
                            .with("max_message_rate", self.ctx.config.max_message_rate)
                            .with("burst", self.ctx.config.message_burst),
                    );
                }
                if self.rate.held_for(now) >= self.ctx.config.rate_limit_abuse_after {
                    tracing::warn!("charger kept over its message rate limit; disconnecting");
                    self.report(
                        self.security_event(SecurityEventKind::RateLimitAbuse)
                            .with("held_back_s", self.rate.held_for(now).as_secs()),
                    );
                    self.start_closing(
                        End::Disconnected(DisconnectReason::Error(
                            "message rate limit exceeded for too long".into(),
                        )),
                        Some(close_frame(
                            CloseCode::Policy,
                            "message rate limit exceeded",
                        )),
                    );
                }
                false
            }
        }
    }

    /// Nothing at all from the charger for `idle_timeout`.
    fn on_idle(&mut self, reading: bool) {
        if !reading {
            // Not reading (the handler or the rate limit holds the charger back): its
            // traffic could not have been seen.
            self.last_traffic = Instant::now();
            return;
        }
        tracing::info!(timeout = ?self.ctx.config.idle_timeout, "charger idle; closing");
        self.start_closing(
            End::Disconnected(DisconnectReason::Error("idle timeout".into())),
            Some(close_frame(CloseCode::Away, "idle timeout")),
        );
    }

    fn security_event(&self, kind: SecurityEventKind) -> GatewaySecurityEvent {
        GatewaySecurityEvent::new(kind, self.session.info.remote_addr)
            .charger(&self.session.info.charger_id)
    }

    fn report(&self, event: GatewaySecurityEvent) {
        self.ctx.security.report(event);
    }

    async fn on_timer(&mut self, reading: bool) {
        let now = Instant::now();
        if let Some(deadline) = self.pong_deadline
            && deadline <= now
        {
            if reading {
                self.start_closing(
                    End::Disconnected(DisconnectReason::PingTimeout),
                    Some(close_frame(CloseCode::Away, "no answer to ping")),
                );
                return;
            }
            // Not reading (the handler is behind): a pong could not have been seen.
            self.pong_deadline = Some(now + self.ctx.config.pong_timeout);
        }
        if let Some(at) = self.next_ping
            && at <= now
        {
            self.next_ping = Some(now + self.ctx.config.ping_interval);
            if self.pong_deadline.is_none() {
                self.pong_deadline = Some(now + self.ctx.config.pong_timeout);
            }
            self.send(Message::Ping(Default::default())).await;
        }
    }

    async fn send_text(&mut self, text: String) {
        let outgoing = crate::handler::FrameDirection::Outgoing;
        (self.ctx.handler).on_frame(&self.session.info, outgoing, &text);
        self.send(Message::text(text)).await;
    }

    async fn send(&mut self, message: Message) {
        if !self.writable {
            return;
        }
        if let Message::Text(text) = &message
            && text.len() > self.ctx.ws_config.read_buffer_size
        {
            self.buffers_grown = true;
        }
        let write_timeout = self.ctx.config.write_timeout;
        match timeout(write_timeout, self.ws().send(message)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                self.writable = false;
                self.start_closing(
                    End::Disconnected(DisconnectReason::Error(error.to_string())),
                    None,
                );
            }
            Err(_) => {
                self.writable = false;
                self.start_closing(End::Disconnected(DisconnectReason::WriteTimeout), None);
            }
        }
    }

    /// Stops reading and taking CSMS calls; fails every pending call at once. In-flight and
    /// queued charger CALLs are still handled (their effects committed) until the drain
    /// deadline. The first reason wins.
    fn start_closing(&mut self, end: End, close: Option<CloseFrame>) {
        if self.closing.is_some() {
            return;
        }
        self.session.close_commands();
        if let Some(call) = self.outstanding.take() {
            let _ = call.reply.send(Err(CommandError::ConnectionLost));
        }
        self.closing = Some(Closing {
            end,
            close,
            drain_deadline: Instant::now() + self.ctx.config.shutdown_grace,
        });
    }

    /// Sends the close frame and waits briefly for the charger to close its side.
    async fn finish(&mut self) -> End {
        let closing = self
            .closing
            .take()
            .expect("finish is reached through closing");
        if self.running.take().is_some() || !self.jobs.is_empty() {
            tracing::warn!(
                queued = self.jobs.len(),
                "in-flight CALLs abandoned after the grace period"
            );
            self.jobs.clear();
        }
        if let Some(frame) = closing.close
            && self.writable
        {
            let sent = timeout(CLOSE_LINGER, self.ws().send(Message::Close(Some(frame)))).await;
            self.close_sent = matches!(sent, Ok(Ok(())));
        }
        closing.end
    }

    /// After our close frame: half-closes the socket and discards what the charger still
    /// sends until it closes too (at most [`CLOSE_LINGER`]), so that it reads our close frame
    /// instead of a connection reset.
    async fn linger(mut self) {
        if !self.close_sent {
            return;
        }
        // The socket is read directly: after a capacity error tungstenite's reader is in the
        // middle of the refused frame.
        let _ = timeout(
            CLOSE_LINGER,
            discard_until_eof(self.ws().get_mut().transport()),
        )
        .await;
    }
}

async fn discard_until_eof(socket: &mut Transport) {
    let _ = socket.shutdown().await;
    let mut buf = vec![0u8; 4096];
    let mut total = 0;
    while total < LINGER_MAX_BYTES {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}

async fn next_message(ws: &mut Option<Ws>) -> Option<Result<Message, tungstenite::Error>> {
    match ws {
        Some(ws) => ws.next().await,
        None => None,
    }
}

async fn poll_running(running: &mut Option<Running>) -> Option<String> {
    match running {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

async fn report(handler: &Arc<dyn CallHandler>, session: &Session, event: ConnectionEvent) {
    let result = AssertUnwindSafe(handler.on_connection_event(&session.info, event))
        .catch_unwind()
        .await;
    if let Err(panic) = result {
        tracing::error!(
            panic = panic_message(&*panic),
            "connection event handler panicked"
        );
    }
}

fn close_frame(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
