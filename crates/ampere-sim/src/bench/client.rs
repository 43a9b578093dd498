//! A bench charger's connection: lean on purpose (the load generator shares the machine
//! with the server it measures). It binds the given loopback source address before it
//! connects, so tens of thousands of connections do not run out of ephemeral ports of one
//! address, and it does one call at a time, as OCPP-J allows.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ampere_ocpp::frame::{self, Frame};
use ampere_ocpp::{ErrorCode, OcppVersion};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

/// Why a connection or a call failed; `kind()` is the name errors are counted under.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("TCP connect failed: {0}")]
    Connect(String),
    #[error("WebSocket handshake failed: {0}")]
    Handshake(String),
    #[error("no answer in time")]
    Timeout,
    #[error("connection closed: {0}")]
    Closed(String),
    #[error("CALLERROR {0}")]
    CallError(String),
    #[error("BootNotification answered {0}")]
    NotAccepted(String),
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl BenchError {
    pub fn kind(&self) -> String {
        match self {
            Self::Connect(_) => "connect".into(),
            Self::Handshake(_) => "handshake".into(),
            Self::Timeout => "timeout".into(),
            Self::Closed(_) => "closed".into(),
            Self::CallError(code) => format!("callerror:{code}"),
            Self::NotAccepted(status) => format!("boot:{status}"),
            Self::Unexpected(_) => "unexpected".into(),
        }
    }
}

/// Where to connect: the resolved address and the URL prefix identities are appended to.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub addr: SocketAddr,
}

impl Endpoint {
    pub async fn resolve(url: &str) -> Result<Self, BenchError> {
        let request = url
            .into_client_request()
            .map_err(|e| BenchError::Connect(format!("bad URL {url}: {e}")))?;
        let uri = request.uri();
        if uri.scheme_str() != Some("ws") {
            return Err(BenchError::Connect(format!(
                "the bench speaks plain ws:// only, not {url}"
            )));
        }
        let host = uri
            .host()
            .ok_or_else(|| BenchError::Connect(format!("no host in {url}")))?
            .trim_matches(['[', ']']);
        let port = uri.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| BenchError::Connect(format!("cannot resolve {host}: {e}")))?
            .next()
            .ok_or_else(|| BenchError::Connect(format!("{host} has no address")))?;
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            addr,
        })
    }

    pub fn is_loopback(&self) -> bool {
        self.addr.ip().is_loopback()
    }
}

/// Small buffers as a charger would have (tungstenite's defaults are 128 KiB each way).
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(1024 * 1024))
        .max_frame_size(Some(1024 * 1024))
}

pub struct Conn {
    socket: WebSocketStream<TcpStream>,
    version: OcppVersion,
    next_id: u64,
    timeout: Duration,
}

impl Conn {
    /// Opens `{endpoint}/{identity}` from `source` (when given) offering one subprotocol.
    pub async fn open(
        endpoint: &Endpoint,
        identity: &str,
        version: OcppVersion,
        source: Option<IpAddr>,
        timeout: Duration,
    ) -> Result<Self, BenchError> {
        let open = async {
            let socket = match endpoint.addr {
                SocketAddr::V4(_) => TcpSocket::new_v4(),
                SocketAddr::V6(_) => TcpSocket::new_v6(),
            }
            .map_err(|e| BenchError::Connect(e.to_string()))?;
            if let Some(source) = source {
                // Lets a port whose earlier connection is still in TIME_WAIT be bound again,
                // so back-to-back runs do not run out of ports.
                socket
                    .set_reuseaddr(true)
                    .map_err(|e| BenchError::Connect(e.to_string()))?;
                socket
                    .bind(SocketAddr::new(source, 0))
                    .map_err(|e| BenchError::Connect(format!("bind {source}: {e}")))?;
            }
            let stream = socket
                .connect(endpoint.addr)
                .await
                .map_err(|e| BenchError::Connect(e.to_string()))?;
            // One small frame at a time, each awaited: Nagle would only add delay.
            stream
                .set_nodelay(true)
                .map_err(|e| BenchError::Connect(e.to_string()))?;
            let mut request = format!("{}/{identity}", endpoint.url)
                .into_client_request()
                .map_err(|e| BenchError::Handshake(e.to_string()))?;
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static(version.subprotocol()),
            );
            let (socket, response) =
                tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config()))
                    .await
                    .map_err(|e| BenchError::Handshake(e.to_string()))?;
            let agreed = response
                .headers()
                .get("Sec-WebSocket-Protocol")
                .and_then(|v| v.to_str().ok());
            if agreed != Some(version.subprotocol()) {
                return Err(BenchError::Handshake(format!(
                    "subprotocol {agreed:?} agreed, not {}",
                    version.subprotocol()
                )));
            }
            Ok(socket)
        };
        let socket = tokio::time::timeout(timeout, open)
            .await
            .map_err(|_| BenchError::Timeout)??;
        Ok(Self {
            socket,
            version,
            next_id: 0,
            timeout,
        })
    }

    /// Sends one CALL and waits for its CALLRESULT payload (a CALLERROR is an error).
    pub async fn call(&mut self, action: &str, payload: Value) -> Result<Value, BenchError> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let text = Frame::Call {
            id: id.clone(),
            action: action.to_owned(),
            payload,
        }
        .to_text(self.version);
        let timeout = self.timeout;
        let exchange = async {
            self.socket
                .send(Message::text(text))
                .await
                .map_err(closed)?;
            loop {
                match self.next_frame().await? {
                    Frame::CallResult { id: got, payload } if got == id => return Ok(payload),
                    Frame::CallError { id: got, error } if got == id => {
                        return Err(BenchError::CallError(
                            error.code.as_str(self.version).to_owned(),
                        ));
                    }
                    Frame::Call { id: call_id, .. } => {
                        // The bench chargers implement no CSMS-initiated action.
                        let refusal = Frame::CallError {
                            id: call_id,
                            error: ampere_ocpp::CallError::new(
                                ErrorCode::NotImplemented,
                                "bench charger",
                            ),
                        };
                        self.socket
                            .send(Message::text(refusal.to_text(self.version)))
                            .await
                            .map_err(closed)?;
                    }
                    _ => continue,
                }
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| BenchError::Timeout)?
    }

    async fn next_frame(&mut self) -> Result<Frame, BenchError> {
        loop {
            let message = match self.socket.next().await {
                Some(Ok(message)) => message,
                Some(Err(e)) => return Err(closed(e)),
                None => return Err(BenchError::Closed("by the server".into())),
            };
            let parsed = match &message {
                Message::Text(text) => frame::parse(text.as_str(), self.version),
                Message::Close(frame) => {
                    return Err(BenchError::Closed(format!("{frame:?}")));
                }
                // tungstenite answers pings itself while we read.
                _ => continue,
            };
            return parsed.map_err(|e| BenchError::Unexpected(e.to_string()));
        }
    }

    /// Keeps the connection alive (answering pings) until `stop` resolves, then closes it.
    pub async fn hold_until(mut self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                next = self.socket.next() => match next {
                    Some(Ok(Message::Text(text))) => {
                        if let Ok(Frame::Call { id, .. }) = frame::parse(text.as_str(), self.version) {
                            let refusal = Frame::CallError {
                                id,
                                error: ampere_ocpp::CallError::new(ErrorCode::NotImplemented, "bench charger"),
                            };
                            let _ = self.socket.send(Message::text(refusal.to_text(self.version))).await;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return,
                },
            }
        }
        self.close().await;
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = self
                .socket
                .close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                }))
                .await;
            while let Some(Ok(_)) = self.socket.next().await {}
        })
        .await;
    }
}

fn closed(e: tungstenite::Error) -> BenchError {
    BenchError::Closed(e.to_string())
}
