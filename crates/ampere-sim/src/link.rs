//! A charger's WebSocket to the CSMS: the handshake, calls that wait for their answer, and
//! CSMS calls answered while waiting.
//!
//! A charger has one call in flight at a time (OCPP-J's rule for both sides). While it waits,
//! the CSMS may send its own calls; they are answered at once from the station's state (see
//! [`crate::answer`]), so a CSMS that calls while its answer to us is pending never deadlocks.

use std::time::Duration;

use ampere_ocpp::frame::{self, Frame};
use ampere_ocpp::{Action, CallError, MessageKind, OcppVersion};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use rand::Rng as _;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::Stats;
use crate::model::Station;

type Socket = WebSocketStream<crate::tls::Stream>;

/// Why a call (or the connection) failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The connection could not be opened or is gone.
    #[error("connection lost: {0}")]
    Disconnected(String),
    /// The CSMS did not answer in time; the connection is given up.
    #[error("no answer to {0} in time")]
    Timeout(&'static str),
    /// The CSMS answered with a CALLERROR.
    #[error("{action} was answered with a CALLERROR: {error}")]
    Rejected {
        action: &'static str,
        error: CallError,
    },
    /// The CSMS's answer breaks the schema.
    #[error("invalid answer to {action}: {reason}")]
    InvalidResponse {
        action: &'static str,
        reason: String,
    },
}

impl SimError {
    /// Whether the connection must be opened again.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Disconnected(_) | Self::Timeout(_))
    }
}

/// Small buffers: tungstenite's defaults (128 KiB to read, 128 KiB to write, each
/// connection) would make a charger cost far more memory than its state. OCPP messages are
/// small; a bigger one grows the read buffer as needed. Writes go out at once (no batching:
/// a charger sends one message at a time).
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

/// Largest message accepted from a CSMS.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

fn lost(error: tungstenite::Error) -> SimError {
    SimError::Disconnected(error.to_string())
}

/// An open connection.
pub struct Link {
    socket: Socket,
    version: OcppVersion,
    call_timeout: Duration,
    /// A fault asked for this connection to drop (checked by the charger's loop).
    pub drop_requested: bool,
    /// A CSMS call held back by the slow-answer fault: answered when due. Kept here, not in
    /// a future, so that a receive cancelled while it waits loses nothing.
    delayed: Option<(Instant, String, String, serde_json::Value)>,
}

/// What a received message turned out to be, after CSMS calls were answered.
enum Received {
    /// A CALLRESULT or CALLERROR (for whoever waits for one).
    Answer(Frame),
    /// A CSMS call (answered) or anything else that needs no more attention.
    Handled,
}

impl Link {
    /// Opens `{url}/{identity}` offering the station's subprotocol (and only it), with HTTP
    /// Basic credentials when a password is given.
    pub async fn connect(
        url: &str,
        station: &Station,
        password: Option<&str>,
    ) -> Result<Self, SimError> {
        let target = format!("{}/{}", url.trim_end_matches('/'), station.id);
        let mut request = target
            .as_str()
            .into_client_request()
            .map_err(|e| SimError::Disconnected(format!("bad URL {target}: {e}")))?;
        let secure = match request.uri().scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            other => {
                return Err(SimError::Disconnected(format!(
                    "URL {target}: scheme {other:?} is not ws or wss"
                )));
            }
        };
        let host = request.uri().host().unwrap_or_default().to_owned();
        let port = request
            .uri()
            .port_u16()
            .unwrap_or(if secure { 443 } else { 80 });
        let headers = request.headers_mut();
        headers.insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(station.version.subprotocol()),
        );
        if let Some(password) = password {
            // `{id}` makes a password per charger from one template.
            let password = password.replace("{id}", &station.id);
            let credentials = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{password}", station.id));
            let value = HeaderValue::from_str(&format!("Basic {credentials}"))
                .map_err(|e| SimError::Disconnected(format!("bad credentials: {e}")))?;
            headers.insert("Authorization", value);
        }
        let handshake = async {
            let default_tls;
            let tls = match (secure, station.profile.tls.as_ref()) {
                (false, _) => None,
                (true, Some(config)) => Some(config),
                (true, None) => {
                    default_tls =
                        crate::tls::client_config(None, None).map_err(SimError::Disconnected)?;
                    Some(&default_tls)
                }
            };
            let stream = crate::tls::connect(&host, port, tls)
                .await
                .map_err(|e| SimError::Disconnected(format!("connect to {host}:{port}: {e}")))?;
            tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config()))
                .await
                .map_err(lost)
        };
        let (socket, response) = tokio::time::timeout(station.profile.call_timeout, handshake)
            .await
            .map_err(|_| SimError::Timeout("the WebSocket handshake"))??;
        let agreed = response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok());
        if agreed != Some(station.version.subprotocol()) {
            return Err(SimError::Disconnected(format!(
                "the CSMS agreed to subprotocol {agreed:?}, not {}",
                station.version.subprotocol()
            )));
        }
        Ok(Self {
            socket,
            version: station.version,
            call_timeout: station.profile.call_timeout,
            drop_requested: false,
            delayed: None,
        })
    }

    /// Sends `request` and waits for its answer, answering CSMS calls meanwhile. The answer
    /// is validated against the schema before it is decoded.
    pub async fn call<A: Action>(
        &mut self,
        station: &mut Station,
        stats: &Stats,
        request: A,
    ) -> Result<A::Response, SimError> {
        debug_assert_eq!(A::VERSION, self.version);
        let payload = serde_json::to_value(&request).map_err(|e| SimError::InvalidResponse {
            action: A::NAME,
            reason: format!("request not encodable: {e}"),
        })?;
        let answer = self.exchange(station, stats, A::NAME, payload).await?;
        decode::<A>(self.version, answer).inspect_err(|_| {
            Stats::add(&stats.invalid_answers, 1);
        })
    }

    /// Sends a call built as JSON (checked against its request schema first, so nothing
    /// invalid leaves) and returns its answer, validated against the response schema.
    pub async fn call_json(
        &mut self,
        station: &mut Station,
        stats: &Stats,
        action: &'static str,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, SimError> {
        if let Err(violation) =
            ampere_ocpp::validate(self.version, action, MessageKind::Request, &payload)
        {
            // A bug of ours: say so rather than send it.
            tracing::error!(charger = %station.id, action, %violation, "invalid call withheld");
            return Err(SimError::InvalidResponse {
                action,
                reason: format!("our own request breaks the schema: {violation}"),
            });
        }
        let answer = self.exchange(station, stats, action, payload).await?;
        ampere_ocpp::validate(self.version, action, MessageKind::Response, &answer).map_err(
            |v| {
                Stats::add(&stats.invalid_answers, 1);
                SimError::InvalidResponse {
                    action,
                    reason: v.to_string(),
                }
            },
        )?;
        Ok(answer)
    }

    /// One call on the wire: send, then answer CSMS calls until its own answer arrives.
    async fn exchange(
        &mut self,
        station: &mut Station,
        stats: &Stats,
        action: &'static str,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, SimError> {
        let id = station.message_id();
        let frame = Frame::Call {
            id: id.clone(),
            action: action.to_owned(),
            payload,
        };
        self.send(&frame).await?;
        Stats::add(&stats.calls_sent, 1);
        let faults = &station.profile.faults;
        if faults.duplicate_chance > 0.0 && station.rng.gen_bool(faults.duplicate_chance.min(1.0)) {
            // The same frame again, same message id: a charger that did not see its write
            // go out and repeats it. The CSMS's second answer is ignored below.
            self.send(&frame).await?;
            Stats::add(&stats.duplicates_sent, 1);
        }
        let deadline = Instant::now() + self.call_timeout;
        let answer = loop {
            let received = tokio::time::timeout_at(deadline, self.receive(station, stats))
                .await
                .map_err(|_| SimError::Timeout(action))??;
            let Received::Answer(answer) = received else {
                continue;
            };
            match answer {
                Frame::CallResult { id: got, payload } if got == id => break payload,
                Frame::CallError { id: got, error } if got == id => {
                    Stats::add(&stats.call_errors, 1);
                    return Err(SimError::Rejected { action, error });
                }
                // An answer to a call given up on earlier (or the second answer to a
                // duplicate): nothing waits for it any more.
                _ => continue,
            }
        };
        let chance = station.profile.faults.drop_chance;
        if chance > 0.0 && station.rng.gen_bool(chance.min(1.0)) {
            self.drop_requested = true;
        }
        Ok(answer)
    }

    /// Answers CSMS calls until `deadline`, or until one of them leaves work to do.
    pub async fn serve_until(
        &mut self,
        station: &mut Station,
        stats: &Stats,
        deadline: Instant,
    ) -> Result<(), SimError> {
        while station.effects.is_empty() {
            match tokio::time::timeout_at(deadline, self.receive(station, stats)).await {
                Err(_) => return Ok(()),
                Ok(result) => {
                    result?;
                }
            }
        }
        Ok(())
    }

    /// Receives one message and answers it when it is a CSMS call. Cancel-safe until a
    /// message has been read (the answer is then sent before returning).
    async fn receive(
        &mut self,
        station: &mut Station,
        stats: &Stats,
    ) -> Result<Received, SimError> {
        if let Some(due) = self.delayed.as_ref().map(|d| d.0) {
            tokio::time::sleep_until(due).await;
            if let Some((_, id, action, payload)) = self.delayed.take() {
                self.answer_call(station, stats, id, &action, payload)
                    .await?;
            }
            return Ok(Received::Handled);
        }
        let message = match self.socket.next().await {
            Some(Ok(message)) => message,
            Some(Err(e)) => return Err(lost(e)),
            None => return Err(SimError::Disconnected("closed by the CSMS".into())),
        };
        let parsed = match &message {
            Message::Text(text) => frame::parse(text.as_str(), self.version),
            Message::Binary(bytes) => frame::parse_bytes(bytes, self.version),
            Message::Close(frame) => {
                return Err(SimError::Disconnected(match frame {
                    Some(f) => format!("closed by the CSMS ({} {})", f.code, f.reason),
                    None => "closed by the CSMS".into(),
                }));
            }
            // tungstenite answers pings itself.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {
                return Ok(Received::Handled);
            }
        };
        match parsed {
            Ok(Frame::Call {
                id,
                action,
                payload,
            }) => {
                let delay = station.profile.faults.answer_delay;
                if delay.is_zero() {
                    self.answer_call(station, stats, id, &action, payload)
                        .await?;
                } else {
                    self.delayed = Some((Instant::now() + delay, id, action, payload));
                }
                Ok(Received::Handled)
            }
            Ok(frame @ (Frame::CallResult { .. } | Frame::CallError { .. })) => {
                Ok(Received::Answer(frame))
            }
            Ok(other) => {
                tracing::debug!(charger = %station.id, frame = ?other, "ignored a frame");
                Ok(Received::Handled)
            }
            Err(error) => {
                tracing::warn!(charger = %station.id, %error, "the CSMS sent a broken frame");
                if let Some(reply) = error.reply() {
                    self.send(&reply).await?;
                }
                Ok(Received::Handled)
            }
        }
    }

    async fn answer_call(
        &mut self,
        station: &mut Station,
        stats: &Stats,
        id: String,
        action: &str,
        payload: serde_json::Value,
    ) -> Result<(), SimError> {
        let answer = match crate::answer::answer(station, action, payload) {
            Ok(payload) => Frame::CallResult { id, payload },
            Err(error) => Frame::CallError { id, error },
        };
        Stats::add(&stats.csms_calls_answered, 1);
        self.send(&answer).await
    }

    /// Waits for the next message and handles it (for the charger's idle loop).
    pub async fn handle_next(
        &mut self,
        station: &mut Station,
        stats: &Stats,
    ) -> Result<(), SimError> {
        self.receive(station, stats).await.map(|_| ())
    }

    async fn send(&mut self, frame: &Frame) -> Result<(), SimError> {
        self.socket
            .send(Message::text(frame.to_text(self.version)))
            .await
            .map_err(lost)
    }

    /// Closes the connection politely (1000 normal, or 1001 going away for a reboot or the
    /// end of the run).
    pub async fn close(mut self, going_away: bool) {
        let code = if going_away {
            CloseCode::Away
        } else {
            CloseCode::Normal
        };
        let _ = self
            .socket
            .close(Some(CloseFrame {
                code,
                reason: "".into(),
            }))
            .await;
        // Let the CSMS's close frame arrive, briefly.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.socket.next().await {}
        })
        .await;
    }
}

/// Validates a CALLRESULT payload against `A`'s response schema, then decodes it.
pub fn decode<A: Action>(
    version: OcppVersion,
    payload: serde_json::Value,
) -> Result<A::Response, SimError> {
    ampere_ocpp::validate(version, A::NAME, MessageKind::Response, &payload).map_err(|v| {
        SimError::InvalidResponse {
            action: A::NAME,
            reason: v.to_string(),
        }
    })?;
    serde_json::from_value(payload).map_err(|e| SimError::InvalidResponse {
        action: A::NAME,
        reason: e.to_string(),
    })
}
