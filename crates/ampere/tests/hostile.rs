//! Hostile clients against the real `ampere serve`: a connection flood, slow handshakes,
//! malformed upgrades and frames, an oversize frame, a compression bomb, a message flood,
//! duplicate identities from another address without credentials, and password brute
//! force. Throughout, the server stays up, two legitimate chargers connected before the
//! attacks keep their connections and get every message answered (and stored), and the
//! security log (read through the API) records each attack. The server's whole log output
//! is captured and searched for the passwords in play: none may appear.

use std::io::Read as _;
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use flate2::{Compress, Compression, FlushCompress};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

const BIN: &str = env!("CARGO_BIN_EXE_ampere");
const ADMIN: &str = "hostile-admin-token-0123456789abcdefghijklmnopqrstuvwxyz";
const LEGIT_PASSWORD: &str = "legit-Pa55word-7f3a9c";
const VICTIM_PASSWORD: &str = "victim-Pa55word-91be04";
const OTHER_PASSWORD: &str = "other-Pa55word-c0ffee";
const LOCKOUT_SECONDS: u64 = 2;

/// `ampere serve` with its stdout and stderr kept in files, so the test can search them.
struct Served {
    child: Child,
    http: String,
    ocpp: SocketAddr,
    log_files: Vec<std::path::PathBuf>,
    _dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl Served {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let stdout_path = dir.path().join("stdout.log");
        let stderr_path = dir.path().join("stderr.log");
        let child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--ocpp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .args(["--handshake-timeout-ms", "1000"])
            .args(["--max-handshakes-per-address", "40"])
            .args(["--auth-failures-per-identity", "5"])
            .args(["--lockout-seconds", &LOCKOUT_SECONDS.to_string()])
            .args(["--max-message-rate", "100", "--message-burst", "50"])
            .args(["--duplicate-probe-ms", "1000"])
            .args(["--unknown-chargers", "pending"])
            // Everything Ampere logs, so the secrets check sees it all.
            .env("RUST_LOG", "debug,sqlx=info,hyper=info,h2=info,rustls=info")
            .env("AMPERE_API_TOKEN", ADMIN)
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("start ampere serve");
        let deadline = Instant::now() + Duration::from_secs(60);
        let (http, ocpp) = loop {
            let banner = std::fs::read_to_string(&stdout_path).unwrap();
            let ws = banner.lines().find_map(|l| {
                l.split("ws://")
                    .nth(1)
                    .map(|r| r.split('/').next().unwrap().to_owned())
            });
            let http = banner.lines().find_map(|l| {
                l.split("http://")
                    .nth(1)
                    .map(|r| r.split('/').next().unwrap().to_owned())
            });
            if let (Some(ws), Some(http)) = (ws, http) {
                break (format!("http://{http}"), ws.parse().unwrap());
            }
            assert!(Instant::now() < deadline, "no banner: {banner}");
            std::thread::sleep(Duration::from_millis(50));
        };
        Self {
            child,
            http,
            ocpp,
            log_files: vec![stdout_path, stderr_path],
            _dir: dir,
            client: reqwest::Client::new(),
        }
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.http))
            .bearer_auth(ADMIN);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("API answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Security events of `type` (newest first), waiting until `done` holds for them: the
    /// gateway's events are written by a background batch writer.
    async fn security_events(&self, query: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, page) = self
                .api(
                    reqwest::Method::GET,
                    &format!("/api/v1/security-events?{query}&limit=500"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{page}");
            let items = page["items"].as_array().unwrap().clone();
            if done(&items) {
                return items;
            }
            assert!(
                Instant::now() < deadline,
                "security events {query}: {items:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn logs(&self) -> String {
        self.log_files
            .iter()
            .map(|path| {
                let mut text = String::new();
                std::fs::File::open(path)
                    .unwrap()
                    .read_to_string(&mut text)
                    .unwrap();
                text
            })
            .collect()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A TCP connection to the charger port from a chosen loopback address.
async fn tcp_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.expect("TCP connect")
}

/// A WebSocket upgrade from `source`; `Ok(socket)` or `Err(HTTP status)`.
async fn upgrade(
    server: SocketAddr,
    source: &str,
    id: &str,
    protocol: &str,
    auth: Option<(&str, &str)>,
) -> Result<Ws, u16> {
    let mut request = format!("ws://{server}/ocpp/{id}")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    if let Some((user, password)) = auth {
        request
            .headers_mut()
            .insert("Authorization", basic(user, password).parse().unwrap());
    }
    let tcp = tcp_from(source, server).await;
    match tokio_tungstenite::client_async(request, tcp).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("upgrade of {id} failed: {other}"),
    }
}

async fn exchange(ws: &mut Ws, text: String) -> Value {
    ws.send(Message::text(text)).await.expect("send");
    next_text(ws).await
}

async fn next_text(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an answer within 10 s")
            .expect("connection open")
            .expect("valid message");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("closed within 10 s")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// What a legitimate charger did while under attack.
#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    answered: AtomicU64,
}

/// A 1.6 charger in a transaction, sending MeterValues every 20 ms (below the rate limit)
/// until `stop`; each answer is checked and counted.
async fn legit_meter_loop(
    mut ws: Ws,
    transaction: i64,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> Ws {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = format!("mv-{n}");
        let frame = json!([2, id, "MeterValues", {
            "connectorId": 1,
            "transactionId": transaction,
            "meterValue": [{"timestamp": format!("2026-11-21T10:{:02}:{:02}.{:03}Z", n / 60000 % 60, n / 1000 % 60, n % 1000),
                            "sampledValue": [{"value": format!("{}", n * 10), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]
        }]);
        tally.sent.fetch_add(1, Ordering::Relaxed);
        let answer = exchange(&mut ws, frame.to_string()).await;
        assert_eq!(
            answer,
            json!([3, id, {}]),
            "legitimate MeterValues answered"
        );
        tally.answered.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ws
}

/// A 1.6 charger without a password sending heartbeats every 20 ms until `stop`.
async fn legit_heartbeat_loop(mut ws: Ws, stop: Arc<AtomicBool>, tally: Arc<Tally>) -> Ws {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        tally.sent.fetch_add(1, Ordering::Relaxed);
        let answer = exchange(&mut ws, format!(r#"[2,"hb-{n}","Heartbeat",{{}}]"#)).await;
        assert_eq!(answer[0], 3, "heartbeat answered: {answer}");
        assert_eq!(answer[1], format!("hb-{n}"));
        tally.answered.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ws
}

fn masked_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![first];
    match payload.len() {
        len @ 0..=125 => bytes.push(0x80 | len as u8),
        len @ 126..=65535 => {
            bytes.push(0x80 | 126);
            bytes.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            bytes.push(0x80 | 127);
            bytes.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    let mask = [7, 1, 9, 3];
    bytes.extend_from_slice(&mask);
    bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    bytes
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut compressor = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    loop {
        let consumed = compressor.total_in() as usize;
        compressor
            .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
            .unwrap();
        if compressor.total_in() as usize == data.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(1024));
    }
    out.truncate(out.len() - 4);
    out
}

/// Reads an HTTP answer head from a raw socket.
async fn http_head(socket: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        match tokio::time::timeout(Duration::from_secs(5), socket.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_fail_while_legitimate_chargers_carry_on() {
    let mut server = Served::start();
    let ocpp = server.ocpp;
    use reqwest::Method;

    // Registered chargers: two with passwords, one without (as many profile-1 installs).
    for (id, password) in [
        ("LEGIT-1", Some(LEGIT_PASSWORD)),
        ("VICTIM", Some(VICTIM_PASSWORD)),
        ("OTHER", Some(OTHER_PASSWORD)),
        ("LEGIT-2", None),
    ] {
        let mut body = json!({"id": id, "security_profile": 1});
        if let Some(password) = password {
            body["password"] = json!(password);
        }
        let (status, answer) = server
            .api(Method::POST, "/api/v1/chargers", Some(body))
            .await;
        assert_eq!(status, 201, "{answer}");
        let (status, answer) = server
            .api(
                Method::PATCH,
                &format!("/api/v1/chargers/{id}"),
                Some(json!({"registration_status": "Accepted"})),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) = server
        .api(
            Method::POST,
            "/api/v1/id-tokens",
            Some(json!({"id_token": "TAG-LEGIT", "type": "Central"})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");

    // The legitimate chargers connect before any attack.
    let mut legit1 = upgrade(
        ocpp,
        "127.0.0.1",
        "LEGIT-1",
        "ocpp1.6",
        Some(("LEGIT-1", LEGIT_PASSWORD)),
    )
    .await
    .expect("LEGIT-1 connects");
    let boot = exchange(
        &mut legit1,
        r#"[2,"boot","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#.into(),
    )
    .await;
    assert_eq!(boot[2]["status"], "Accepted");
    let started = exchange(
        &mut legit1,
        r#"[2,"start","StartTransaction",{"connectorId":1,"idTag":"TAG-LEGIT","meterStart":0,"timestamp":"2026-11-21T10:00:00Z"}]"#.into(),
    )
    .await;
    let transaction = started[2]["transactionId"]
        .as_i64()
        .expect("a transaction id");
    let mut legit2 = upgrade(ocpp, "127.0.0.1", "LEGIT-2", "ocpp1.6", None)
        .await
        .expect("LEGIT-2 connects");
    let stop = Arc::new(AtomicBool::new(false));
    let (tally1, tally2) = (Arc::new(Tally::default()), Arc::new(Tally::default()));
    let legit1 = tokio::spawn(legit_meter_loop(
        legit1,
        transaction,
        stop.clone(),
        tally1.clone(),
    ));
    let legit2 = {
        let boot = exchange(
            &mut legit2,
            r#"[2,"boot","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#
                .into(),
        )
        .await;
        assert_eq!(boot[2]["status"], "Accepted");
        tokio::spawn(legit_heartbeat_loop(legit2, stop.clone(), tally2.clone()))
    };

    // 1. Connection flood from 127.0.0.3: 120 sockets that never upgrade. 40 hold
    //    handshake slots until the handshake timeout, the rest are refused at once.
    let mut flood = Vec::new();
    for _ in 0..120 {
        flood.push(tcp_from("127.0.0.3", ocpp).await);
    }
    // 2. Slow handshakes from 127.0.0.4: a request trickled a byte at a time.
    let slowloris: Vec<_> = (0..10)
        .map(|n| {
            tokio::spawn(async move {
                let mut socket = tcp_from("127.0.0.4", ocpp).await;
                let request = format!("GET /ocpp/SLOW-{n} HTTP/1.1\r\nHost: x\r\nX-Pad: ");
                let started = Instant::now();
                for byte in request.bytes().chain(std::iter::repeat(b'a')) {
                    if socket.write_all(&[byte]).await.is_err() {
                        break;
                    }
                    let mut buf = [0u8; 256];
                    match tokio::time::timeout(Duration::from_millis(100), socket.read(&mut buf))
                        .await
                    {
                        Ok(Ok(0) | Err(_)) => break,
                        Ok(Ok(_)) => panic!("a partial request got an answer"),
                        Err(_) => {}
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(6),
                        "slowloris not cut off"
                    );
                }
                started.elapsed()
            })
        })
        .collect();

    // 3. Malformed upgrade requests and frames.
    let mut garbage = tcp_from("127.0.0.6", ocpp).await;
    garbage
        .write_all(b"\x16\x03\x01garbage\r\n\r\n")
        .await
        .unwrap();
    assert!(http_head(&mut garbage).await.starts_with("HTTP/1.1 400"));
    let mut malformed = upgrade(ocpp, "127.0.0.6", "ATTACKER-FRAMES", "ocpp1.6", None)
        .await
        .expect("an unknown charger may connect (pending)");
    for junk in ["not json", "[2,\"x\"]", "[9,\"x\",\"Y\",{}]", "{\"a\":1}"] {
        let answer = exchange(&mut malformed, junk.into()).await;
        assert_eq!(answer[0], 4, "CALLERROR for {junk}: {answer}");
    }
    // 4. An oversize frame (over the 64 KiB default): that connection is closed with 1009.
    let big = format!(
        r#"[2,"big","DataTransfer",{{"vendorId":"{}"}}]"#,
        "x".repeat(100_000)
    );
    malformed.send(Message::text(big)).await.unwrap();
    assert_eq!(close_code(&mut malformed).await, Some(1009));

    // 5. A compression bomb: 64 MiB that deflates to about 64 KiB.
    let mut bomb_socket = tcp_from("127.0.0.6", ocpp).await;
    bomb_socket
        .write_all(
            b"GET /ocpp/ATTACKER-BOMB HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
              Sec-WebSocket-Protocol: ocpp2.0.1\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        )
        .await
        .unwrap();
    let head = http_head(&mut bomb_socket).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("permessage-deflate"), "{head}");
    let mut bomb = br#"[2,"b","DataTransfer",{"vendorId":""#.to_vec();
    bomb.resize(64 << 20, b'A');
    bomb_socket
        .write_all(&masked_frame(0xC1, &deflate(&bomb)))
        .await
        .unwrap();
    let mut close = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), bomb_socket.read_exact(&mut close))
        .await
        .expect("closed in time")
        .unwrap();
    assert_eq!(close[0], 0x88, "a close frame");
    assert_eq!(u16::from_be_bytes([close[2], close[3]]), 1009);

    // 6. A message flood from a connected charger: slowed to the rate limit, every message
    //    answered, none lost.
    let mut fast = upgrade(ocpp, "127.0.0.6", "ATTACKER-FAST", "ocpp1.6", None)
        .await
        .expect("connects");
    let flood_started = Instant::now();
    for n in 0..300 {
        fast.send(Message::text(format!(r#"[2,"f{n}","Heartbeat",{{}}]"#)))
            .await
            .unwrap();
    }
    for n in 0..300 {
        let answer = next_text(&mut fast).await;
        assert_eq!(answer[1], format!("f{n}"), "flood answered in order");
    }
    // 50 at once, then 250 at 100/s.
    assert!(
        flood_started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        flood_started.elapsed()
    );

    // 7. The legitimate chargers' identities from another address without credentials:
    //    LEGIT-1 has a password (401), LEGIT-2 has none but is live (409). Neither is evicted.
    assert_eq!(
        upgrade(ocpp, "127.0.0.2", "LEGIT-1", "ocpp1.6", None)
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        upgrade(ocpp, "127.0.0.2", "LEGIT-2", "ocpp1.6", None)
            .await
            .err(),
        Some(409)
    );

    // 8. Password brute force on VICTIM from 127.0.0.5: five failures lock it, then even
    //    the right password is refused until the lock ends; another identity is unaffected.
    for n in 0..5 {
        let guess = format!("guess-{n}");
        assert_eq!(
            upgrade(
                ocpp,
                "127.0.0.5",
                "VICTIM",
                "ocpp1.6",
                Some(("VICTIM", &guess))
            )
            .await
            .err(),
            Some(401)
        );
    }
    let locked_at = Instant::now();
    assert_eq!(
        upgrade(
            ocpp,
            "127.0.0.5",
            "VICTIM",
            "ocpp1.6",
            Some(("VICTIM", VICTIM_PASSWORD))
        )
        .await
        .err(),
        Some(429),
        "locked: the right password is refused too"
    );
    let other = upgrade(
        ocpp,
        "127.0.0.5",
        "OTHER",
        "ocpp1.6",
        Some(("OTHER", OTHER_PASSWORD)),
    )
    .await
    .expect("another identity is unaffected");
    drop(other);
    tokio::time::sleep_until(
        (locked_at + Duration::from_secs(LOCKOUT_SECONDS) + Duration::from_millis(300)).into(),
    )
    .await;
    let victim = upgrade(
        ocpp,
        "127.0.0.5",
        "VICTIM",
        "ocpp1.6",
        Some(("VICTIM", VICTIM_PASSWORD)),
    )
    .await
    .expect("the right password works once the lock has ended");
    drop(victim);

    // The flood and the slow clients were cut off by the handshake timeout.
    for slow in slowloris {
        let took = slow.await.unwrap();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "{took:?}"
        );
    }
    drop(flood);

    // The legitimate chargers lost nothing.
    stop.store(true, Ordering::Relaxed);
    let mut legit1 = legit1.await.expect("LEGIT-1 kept going");
    let mut legit2 = legit2.await.expect("LEGIT-2 kept going");
    let sent1 = tally1.sent.load(Ordering::Relaxed);
    assert!(sent1 >= 50, "LEGIT-1 sent {sent1}");
    assert_eq!(tally1.answered.load(Ordering::Relaxed), sent1);
    assert_eq!(
        tally2.answered.load(Ordering::Relaxed),
        tally2.sent.load(Ordering::Relaxed)
    );
    let last = exchange(&mut legit1, r#"[2,"hb","Heartbeat",{}]"#.into()).await;
    assert_eq!(last[0], 3, "LEGIT-1 is still connected");
    let last = exchange(&mut legit2, r#"[2,"hb","Heartbeat",{}]"#.into()).await;
    assert_eq!(last[0], 3, "LEGIT-2 is still connected");
    let (status, stored) = server
        .api(
            Method::GET,
            &format!("/api/v1/transactions/{transaction}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(
        stored["meter_values"].as_array().unwrap().len() as u64,
        sent1,
        "every MeterValues of LEGIT-1 is stored"
    );
    let (status, health) = server.api(Method::GET, "/health", None).await;
    assert_eq!(status, 200, "{health}");
    assert!(server.alive(), "the server stayed up");

    // The security log recorded each attack.
    let has = |kind: &'static str| move |items: &[Value]| types(items).contains(&kind);
    server
        .security_events("type=TooManyHandshakes", has("TooManyHandshakes"))
        .await;
    let timeouts = server
        .security_events("type=HandshakeTimeout", |items| {
            let from = |ip: &str| {
                items
                    .iter()
                    .any(|e| e["remote_addr"].as_str().unwrap().starts_with(ip))
            };
            from("127.0.0.3:") && from("127.0.0.4:")
        })
        .await;
    assert!(timeouts.iter().all(|e| e["source"] == "ampere"));
    server
        .security_events("type=MalformedHandshake", has("MalformedHandshake"))
        .await;
    let too_big = server
        .security_events("type=MessageTooBig", has("MessageTooBig"))
        .await;
    assert_eq!(too_big[0]["charger_id"], "ATTACKER-FRAMES");
    let bombs = server
        .security_events("type=CompressionBomb", has("CompressionBomb"))
        .await;
    assert_eq!(bombs[0]["charger_id"], "ATTACKER-BOMB");
    let limited = server
        .security_events(
            "type=RateLimited&charger_id=ATTACKER-FAST",
            has("RateLimited"),
        )
        .await;
    assert_eq!(limited.len(), 1);
    let duplicate = server
        .security_events(
            "type=DuplicateConnection&charger_id=LEGIT-2",
            has("DuplicateConnection"),
        )
        .await;
    assert!(
        duplicate[0]["remote_addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.2:")
    );
    assert_eq!(
        duplicate[0]["detail"]["resolution"],
        "refused (the live connection answered a ping)"
    );
    let impostor = server
        .security_events(
            "type=AuthenticationFailed&charger_id=LEGIT-1",
            has("AuthenticationFailed"),
        )
        .await;
    assert_eq!(
        impostor[0]["detail"]["reason"],
        "missing or unreadable Basic credentials"
    );
    let failed = server
        .security_events("type=AuthenticationFailed&charger_id=VICTIM", |items| {
            items.len() >= 5
        })
        .await;
    assert_eq!(failed.len(), 5);
    assert!(
        failed
            .iter()
            .all(|e| e["detail"]["reason"] == "wrong password")
    );
    let lockouts = server
        .security_events("type=LockedOut&charger_id=VICTIM", has("LockedOut"))
        .await;
    assert_eq!(lockouts[0]["detail"]["scope"], "identity");
    server
        .security_events(
            "type=LockedOutAttempt&charger_id=VICTIM",
            has("LockedOutAttempt"),
        )
        .await;
    assert!(
        server
            .security_events("charger_id=LEGIT-1&source=ampere", |_| true)
            .await
            .iter()
            .all(|e| e["type"] == "AuthenticationFailed"),
        "nothing else happened to LEGIT-1"
    );

    // Secrets never reach the logs (everything was logged at debug level).
    let logs = server.logs();
    eprintln!(
        "LEGIT-1 {sent1} MeterValues, LEGIT-2 {} Heartbeats, all answered; {} bytes of logs searched",
        tally2.sent.load(Ordering::Relaxed),
        logs.len()
    );
    assert!(logs.contains("security event"), "the logs were captured");
    for secret in [LEGIT_PASSWORD, VICTIM_PASSWORD, OTHER_PASSWORD, ADMIN] {
        assert!(!logs.contains(secret), "a secret is in the logs");
    }
    assert!(server.alive());
}

#[tokio::test]
async fn the_security_log_api_reads_charger_and_ampere_events() {
    let server = Served::start();
    use reqwest::Method;
    let (status, created) = server
        .api(
            Method::POST,
            "/api/v1/api-tokens",
            Some(json!({"name": "grafana", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let viewer = created["token"].as_str().unwrap().to_owned();
    let get = |path: String, token: Option<String>| {
        let client = server.client.clone();
        let url = format!("{}{path}", server.http);
        async move {
            let mut request = client.get(url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value =
                serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
            (status, body)
        }
    };

    // Live: both kinds of security event also stream as server-sent events.
    let mut live = server
        .client
        .get(format!("{}/api/v1/events?type=security", server.http))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status().as_u16(), 200);

    // A 1.6 charger reports a security event; a wrong password adds one of Ampere's own.
    let (status, _) = server
        .api(
            Method::POST,
            "/api/v1/chargers",
            Some(json!({"id": "CP-SEC", "password": LEGIT_PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        upgrade(
            server.ocpp,
            "127.0.0.7",
            "CP-SEC",
            "ocpp1.6",
            Some(("CP-SEC", "wrong"))
        )
        .await
        .err(),
        Some(401)
    );
    let mut charger = upgrade(
        server.ocpp,
        "127.0.0.1",
        "CP-SEC",
        "ocpp1.6",
        Some(("CP-SEC", LEGIT_PASSWORD)),
    )
    .await
    .expect("connects");
    let answer = exchange(
        &mut charger,
        r#"[2,"s1","SecurityEventNotification",{"type":"TamperDetectionActivated","timestamp":"2026-11-21T09:59:00Z","techInfo":"door"}]"#.into(),
    )
    .await;
    assert_eq!(answer, json!([3, "s1", {}]));

    let mut streamed = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(streamed.contains("TamperDetectionActivated")
        && streamed.contains("AuthenticationFailed"))
    {
        let chunk = tokio::time::timeout_at(deadline.into(), live.chunk())
            .await
            .unwrap_or_else(|_| panic!("security events streamed in time: {streamed}"))
            .unwrap()
            .expect("stream open");
        streamed.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(streamed.contains("event: security"), "{streamed}");

    // Stored before the answer: visible at once, for a viewer.
    let (status, page) = get(
        "/api/v1/security-events?source=charger".into(),
        Some(viewer.clone()),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["type"], "TamperDetectionActivated");
    assert_eq!(items[0]["charger_id"], "CP-SEC");
    assert_eq!(items[0]["occurred_at"], "2026-11-21T09:59:00Z");
    assert_eq!(items[0]["tech_info"], "door");
    assert_eq!(items[0]["source"], "charger");

    let ampere = server
        .security_events("source=ampere&charger_id=CP-SEC", |items| !items.is_empty())
        .await;
    assert_eq!(ampere[0]["type"], "AuthenticationFailed");
    assert_eq!(ampere[0]["detail"]["reason"], "wrong password");
    assert!(
        ampere[0]["remote_addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.7:")
    );

    // Both in one log, newest first, paged by cursor.
    let (_, first) = get(
        "/api/v1/security-events?charger_id=CP-SEC&limit=1".into(),
        Some(viewer.clone()),
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, second) = get(
        format!("/api/v1/security-events?charger_id=CP-SEC&limit=1&cursor={cursor}"),
        Some(viewer.clone()),
    )
    .await;
    assert_ne!(second["items"][0]["id"], first["items"][0]["id"]);
    let (_, window) = get(
        "/api/v1/security-events?since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z".into(),
        Some(viewer.clone()),
    )
    .await;
    assert_eq!(window["items"], json!([]));

    // Refusals: no token, and malformed filters (problem+json 400s).
    assert_eq!(get("/api/v1/security-events".into(), None).await.0, 401);
    for bad in [
        "source=both",
        "cursor=abc",
        "since=yesterday",
        "limit=0",
        "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
    ] {
        let (status, problem) = get(
            format!("/api/v1/security-events?{bad}"),
            Some(viewer.clone()),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {problem}");
        assert!(problem["detail"].is_string(), "{bad}: {problem}");
    }
}
