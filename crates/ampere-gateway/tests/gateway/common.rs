//! A real gateway on 127.0.0.1:0 with a fake directory and a fake handler, and a
//! tokio-tungstenite client to talk to it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ampere_domain::ChargerId;
use ampere_gateway::{
    CallHandler, ChargerAuth, ChargerDirectory, Commands, ConnectionEvent, DirectoryError, Gateway,
    GatewayConfig, SessionInfo,
};
use ampere_ocpp::{CallError, ErrorCode};
use argon2::password_hash::{PasswordHasher, SaltString};
use async_trait::async_trait;
use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for something that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(5);

/// Config with short timeouts so that tests stay fast.
pub fn test_config() -> GatewayConfig {
    GatewayConfig {
        ocpp_addr: "127.0.0.1:0".parse().unwrap(),
        handshake_timeout: Duration::from_secs(2),
        call_timeout: Duration::from_secs(2),
        ping_interval: Duration::ZERO,
        shutdown_grace: Duration::from_secs(2),
        duplicate_probe_timeout: Duration::from_millis(300),
        ..GatewayConfig::default()
    }
}

/// A cheap argon2id hash (tests need not spend 19 MiB per check).
pub fn hash_password(password: &str) -> String {
    let params = argon2::Params::new(1024, 1, 1, None).unwrap();
    let argon2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"ampere-test-salt").unwrap();
    argon2
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

#[derive(Default)]
pub struct FakeDirectory {
    chargers: Mutex<HashMap<String, ChargerAuth>>,
}

impl FakeDirectory {
    pub fn register(&self, id: &str, password: Option<&str>, security_profile: u8) {
        self.chargers.lock().unwrap().insert(
            id.to_owned(),
            ChargerAuth {
                password_hash: password.map(hash_password),
                security_profile,
                pending_password_hash: None,
                pending_security_profile: None,
            },
        );
    }
}

#[async_trait]
impl ChargerDirectory for FakeDirectory {
    async fn lookup(&self, id: &ChargerId) -> Result<Option<ChargerAuth>, DirectoryError> {
        if id.as_str() == "DB-DOWN" {
            return Err(DirectoryError::new("database unreachable"));
        }
        Ok(self.chargers.lock().unwrap().get(id.as_str()).cloned())
    }
}

/// Handles test actions:
/// - `Echo`: answers the payload;
/// - `Slow {ms, seq}`: sleeps, answers `{seq}`;
/// - `Fail`: answers a CALLERROR `NotSupported`;
/// - `Panic`: panics;
/// - anything else: `NotImplemented`.
#[derive(Default)]
pub struct FakeHandler {
    pub events: Mutex<Vec<(SessionInfo, ConnectionEvent)>>,
    pub calls: Mutex<Vec<(String, String)>>,
    pub sends: Mutex<Vec<(String, Value)>>,
    busy: Mutex<bool>,
    pub overlapped: Mutex<bool>,
}

impl FakeHandler {
    pub fn events(&self) -> Vec<(u64, ConnectionEvent)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(s, e)| (s.connection_id, e.clone()))
            .collect()
    }

    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| *e == ConnectionEvent::Connected)
            .map(|(s, _)| s.clone())
            .collect()
    }
}

#[async_trait]
impl CallHandler for FakeHandler {
    async fn handle_call(
        &self,
        session: &SessionInfo,
        action: &str,
        payload: Value,
    ) -> Result<Value, CallError> {
        {
            let mut busy = self.busy.lock().unwrap();
            if *busy {
                *self.overlapped.lock().unwrap() = true;
            }
            *busy = true;
        }
        self.calls
            .lock()
            .unwrap()
            .push((session.charger_id.to_string(), action.to_owned()));
        let result = match action {
            "Echo" => Ok(payload),
            "Slow" => {
                let ms = payload["ms"].as_u64().unwrap_or(100);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(json!({ "seq": payload["seq"] }))
            }
            "Fail" => Err(CallError::new(ErrorCode::NotSupported, "not here")),
            "Panic" => {
                *self.busy.lock().unwrap() = false;
                panic!("handler bug")
            }
            _ => Err(CallError::new(ErrorCode::NotImplemented, "unknown action")),
        };
        *self.busy.lock().unwrap() = false;
        result
    }

    async fn handle_send(&self, _session: &SessionInfo, action: &str, payload: Value) {
        self.sends
            .lock()
            .unwrap()
            .push((action.to_owned(), payload));
    }

    async fn on_connection_event(&self, session: &SessionInfo, event: ConnectionEvent) {
        // Chargers named SLOW-EVENTS-* have a slow `Connected` (e.g. a busy database).
        if event == ConnectionEvent::Connected
            && session.charger_id.as_str().starts_with("SLOW-EVENTS")
        {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        self.events.lock().unwrap().push((session.clone(), event));
    }
}

pub struct TestGateway {
    pub addr: std::net::SocketAddr,
    /// The TLS listener's address, when the config has one.
    pub tls_addr: Option<std::net::SocketAddr>,
    pub tls_reloader: Option<ampere_gateway::TlsReloader>,
    pub commands: Commands,
    pub shutdown: CancellationToken,
    pub directory: Arc<FakeDirectory>,
    pub handler: Arc<FakeHandler>,
    pub join: Option<tokio::task::JoinHandle<()>>,
}

impl TestGateway {
    pub async fn start(config: GatewayConfig) -> Self {
        init_tracing();
        let directory = Arc::new(FakeDirectory::default());
        let handler = Arc::new(FakeHandler::default());
        let shutdown = CancellationToken::new();
        let running = Gateway::bind(config, directory.clone(), handler.clone(), shutdown.clone())
            .await
            .expect("bind");
        let addr = running.local_addr();
        let tls_addr = running.tls_local_addr();
        let tls_reloader = running.tls_reloader();
        let commands = running.commands();
        let join = tokio::spawn(running.join());
        Self {
            addr,
            tls_addr,
            tls_reloader,
            commands,
            shutdown,
            directory,
            handler,
            join: Some(join),
        }
    }

    pub async fn default() -> Self {
        Self::start(test_config()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// Connects to `path` offering `protocols`, with Basic credentials if given.
    pub async fn try_connect(
        &self,
        path: &str,
        protocols: &str,
        credentials: Option<(&str, &str)>,
    ) -> Result<(Client, Option<String>), tungstenite::Error> {
        let mut request = self.url(path).into_client_request()?;
        if !protocols.is_empty() {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_str(protocols).unwrap(),
            );
        }
        if let Some((user, password)) = credentials {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request.headers_mut().insert(
                "Authorization",
                HeaderValue::from_str(&format!("Basic {token}")).unwrap(),
            );
        }
        let (client, response) = tokio_tungstenite::connect_async(request).await?;
        let protocol = response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.to_str().unwrap().to_owned());
        Ok((client, protocol))
    }

    /// Connects `/ocpp/{id}` with `protocol`; panics on failure.
    pub async fn connect(&self, id: &str, protocol: &str) -> Client {
        let (client, _) = self
            .try_connect(&format!("/ocpp/{id}"), protocol, None)
            .await
            .expect("connect");
        // Wait until the gateway has registered the session, so commands find it.
        let charger = ChargerId::new(id).unwrap();
        eventually(|| self.commands.is_online(&charger).is_some()).await;
        client
    }

    /// The HTTP status a refused upgrade got, with its `WWW-Authenticate` header.
    pub async fn refused_status(
        &self,
        path: &str,
        protocols: &str,
        credentials: Option<(&str, &str)>,
    ) -> (u16, Option<String>) {
        match self.try_connect(path, protocols, credentials).await {
            Err(tungstenite::Error::Http(response)) => (
                response.status().as_u16(),
                response
                    .headers()
                    .get("WWW-Authenticate")
                    .map(|v| v.to_str().unwrap().to_owned()),
            ),
            Err(other) => panic!("expected an HTTP refusal, got {other}"),
            Ok(_) => panic!("expected an HTTP refusal for {path}, got an upgrade"),
        }
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(join) = self.join.take() {
            tokio::time::timeout(WAIT, join)
                .await
                .expect("gateway stops in time")
                .unwrap();
        }
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Sends a text frame.
pub async fn send(client: &mut Client, text: impl Into<String>) {
    client.send(Message::text(text.into())).await.expect("send");
}

/// The next text message as JSON, skipping pings and pongs.
pub async fn recv(client: &mut Client) -> Value {
    let text = recv_text(client).await;
    serde_json::from_str(&text).expect("server sends JSON")
}

pub async fn recv_text(client: &mut Client) -> String {
    loop {
        let message = tokio::time::timeout(WAIT, client.next())
            .await
            .expect("a message in time")
            .expect("connection open")
            .expect("read ok");
        match message {
            Message::Text(text) => return text.to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

/// Reads until the server's close frame; returns it.
pub async fn recv_close(client: &mut Client) -> Option<CloseFrame> {
    loop {
        let message = tokio::time::timeout(WAIT, client.next())
            .await
            .expect("close in time");
        match message {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("expected a close frame, got error {error}"),
            None => panic!("expected a close frame, stream ended"),
        }
    }
}

/// Waits until `condition` holds (or panics after [`WAIT`]).
pub async fn eventually(mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs `future` and panics if it takes longer than [`WAIT`].
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future).await.expect("in time")
}

fn init_tracing() {
    // Quiet unless asked: RUST_LOG=ampere_gateway=debug cargo test -p ampere-gateway
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// The first three elements of a frame: message type, id and (for a CALLERROR) the code.
pub fn head(frame: &Value) -> Value {
    Value::Array(frame.as_array().expect("a frame is an array")[..3].to_vec())
}
