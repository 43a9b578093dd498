//! Hardening against hostile clients: lockout after failed logins, duplicate identities,
//! slow and flooding handshakes, the message rate limit, the idle timeout, and
//! permessage-deflate with bounded inflation — each with the security event it reports.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ampere_gateway::{
    GatewayConfig, GatewaySecurityEvent, LockoutConfig, SecurityEventKind, SecurityEvents,
};
use flate2::{Compress, Compression, FlushCompress};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::common::*;

/// Keeps every security event the gateway reports.
#[derive(Debug, Default)]
pub(crate) struct Recorder(Mutex<Vec<GatewaySecurityEvent>>);

impl SecurityEvents for Recorder {
    fn report(&self, event: GatewaySecurityEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    pub(crate) fn of(&self, kind: SecurityEventKind) -> Vec<GatewaySecurityEvent> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.kind == kind)
            .cloned()
            .collect()
    }

    pub(crate) fn detail(event: &GatewaySecurityEvent, key: &str) -> Option<String> {
        event
            .detail
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }
}

async fn gateway_with(config: GatewayConfig) -> (TestGateway, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let gw = TestGateway::start(GatewayConfig {
        security_events: recorder.clone(),
        ..config
    })
    .await;
    (gw, recorder)
}

#[tokio::test]
async fn brute_force_locks_the_identity_even_against_the_right_password() {
    let (gw, events) = gateway_with(GatewayConfig {
        lockout: LockoutConfig {
            max_failures_per_identity: 3,
            lock: Duration::from_secs(2),
            ..LockoutConfig::default()
        },
        ..test_config()
    })
    .await;
    gw.directory.register("CP-BF", Some("right"), 1);
    gw.directory.register("CP-OTHER", Some("other"), 1);
    for guess in ["a", "b"] {
        let (status, _) = gw
            .refused_status("/ocpp/CP-BF", "ocpp1.6", Some(("CP-BF", guess)))
            .await;
        assert_eq!(status, 401);
    }
    // The third failure is still a 401; it starts the lock.
    let (status, _) = gw.refused_status("/ocpp/CP-BF", "ocpp1.6", None).await;
    assert_eq!(status, 401);
    // Locked: even the right password is refused, and no password is checked.
    match gw
        .try_connect("/ocpp/CP-BF", "ocpp1.6", Some(("CP-BF", "right")))
        .await
    {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 429);
            let retry: u64 = response.headers()["Retry-After"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=2).contains(&retry), "Retry-After {retry}");
        }
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    // Another identity from the same address is unaffected.
    gw.try_connect("/ocpp/CP-OTHER", "ocpp1.6", Some(("CP-OTHER", "other")))
        .await
        .expect("another charger connects");

    let failed = events.of(SecurityEventKind::AuthenticationFailed);
    let reasons: Vec<_> = failed
        .iter()
        .map(|e| Recorder::detail(e, "reason").unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "wrong password",
            "wrong password",
            "missing or unreadable Basic credentials"
        ]
    );
    let locked = events.of(SecurityEventKind::LockedOut);
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].charger_id.as_ref().unwrap().as_str(), "CP-BF");
    assert_eq!(
        Recorder::detail(&locked[0], "scope").as_deref(),
        Some("identity")
    );
    assert_eq!(events.of(SecurityEventKind::LockedOutAttempt).len(), 1);

    // When the lock ends, the right password works again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    gw.try_connect("/ocpp/CP-BF", "ocpp1.6", Some(("CP-BF", "right")))
        .await
        .expect("connects after the lock");
    // No event ever carries a password.
    let all = format!("{:?}", events.0.lock().unwrap());
    for secret in ["right", "\"a\"", "\"b\""] {
        assert!(!all.contains(secret), "{secret} in {all}");
    }
}

type Writer = futures_util::stream::SplitSink<Client, Message>;

/// Reads the client in the background (as a live charger does), so it answers pings.
fn keep_reading(client: Client) -> (Writer, tokio::sync::mpsc::UnboundedReceiver<Message>) {
    let (writer, mut reader) = client.split();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) = reader.next().await {
            if sender.send(message).is_err() {
                break;
            }
        }
    });
    (writer, receiver)
}

/// The next text message from a background reader, as JSON.
async fn next_text(
    receiver: &mut tokio::sync::mpsc::UnboundedReceiver<Message>,
) -> serde_json::Value {
    loop {
        match within(receiver.recv()).await {
            Some(Message::Text(text)) => return serde_json::from_str(&text).unwrap(),
            Some(Message::Ping(_) | Message::Pong(_)) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unauthenticated_duplicate_never_evicts_a_live_charger() {
    let (gw, events) = gateway_with(test_config()).await;
    let live = gw.connect("CP-DUP", "ocpp1.6").await;
    let (mut writer, mut live) = keep_reading(live);

    let (status, _) = gw.refused_status("/ocpp/CP-DUP", "ocpp1.6", None).await;
    assert_eq!(status, 409, "the live charger answered the probe");
    let duplicate = events.of(SecurityEventKind::DuplicateConnection);
    assert_eq!(duplicate.len(), 1);
    assert_eq!(
        Recorder::detail(&duplicate[0], "resolution").as_deref(),
        Some("refused (the live connection answered a ping)")
    );
    // The live charger was not disturbed.
    writer
        .send(Message::text(r#"[2,"still","Echo",{}]"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut live).await, json!([3, "still", {}]));
    assert_eq!(gw.handler.sessions().len(), 1);
    let events_seen = gw.handler.events();
    assert_eq!(events_seen.len(), 1, "no TakenOver: {events_seen:?}");
}

#[tokio::test]
async fn a_silent_live_connection_is_replaced() {
    let (gw, events) = gateway_with(test_config()).await;
    // Never read: it cannot answer a ping, as a connection whose charger rebooted.
    let _dead = gw.connect("CP-GONE", "ocpp1.6").await;
    let started = Instant::now();
    let (mut new, _) = gw
        .try_connect("/ocpp/CP-GONE", "ocpp1.6", None)
        .await
        .expect("replaces the silent one");
    assert!(started.elapsed() >= test_config().duplicate_probe_timeout);
    send(&mut new, r#"[2,"1","Echo",{}]"#).await;
    assert_eq!(recv(&mut new).await, json!([3, "1", {}]));
    let duplicate = events.of(SecurityEventKind::DuplicateConnection);
    assert_eq!(
        Recorder::detail(&duplicate[0], "resolution").as_deref(),
        Some("replaced the live connection (it did not answer a ping)")
    );
}

#[tokio::test]
async fn an_authenticated_reconnect_replaces_a_live_connection() {
    let (gw, events) = gateway_with(test_config()).await;
    gw.directory.register("CP-PW", Some("secret"), 1);
    let (old, _) = gw
        .try_connect("/ocpp/CP-PW", "ocpp1.6", Some(("CP-PW", "secret")))
        .await
        .unwrap();
    let (_writer, mut old) = keep_reading(old);
    let (mut new, _) = gw
        .try_connect("/ocpp/CP-PW", "ocpp1.6", Some(("CP-PW", "secret")))
        .await
        .expect("same credentials replace the live connection");
    loop {
        match within(old.recv()).await {
            Some(Message::Close(frame)) => {
                assert_eq!(frame.unwrap().code, CloseCode::Normal);
                break;
            }
            Some(_) => continue,
            None => panic!("closed without a close frame"),
        }
    }
    send(&mut new, r#"[2,"1","Echo",{}]"#).await;
    assert_eq!(recv(&mut new).await, json!([3, "1", {}]));
    let duplicate = events.of(SecurityEventKind::DuplicateConnection);
    assert_eq!(
        Recorder::detail(&duplicate[0], "live_answered_probe").as_deref(),
        Some("true")
    );
}

#[tokio::test]
async fn slow_handshakes_time_out_and_floods_are_capped_per_address() {
    let (gw, events) = gateway_with(GatewayConfig {
        handshake_timeout: Duration::from_millis(500),
        max_handshakes_per_address: 3,
        ..test_config()
    })
    .await;
    // Slowloris: a request trickled one byte at a time never finishes in time.
    let mut slow = TcpStream::connect(gw.addr).await.unwrap();
    let started = Instant::now();
    let request = b"GET /ocpp/CP-SLOW HTTP/1.1\r\nHost: x\r\n";
    let mut closed = false;
    for byte in request.iter().cycle().take(200) {
        if slow.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 64];
        if let Ok(read) = tokio::time::timeout(Duration::from_millis(20), slow.read(&mut buf)).await
        {
            assert!(
                matches!(read, Ok(0) | Err(_)),
                "no answer to a partial request"
            );
            closed = true;
            break;
        }
    }
    assert!(closed, "the slow client was cut off");
    assert!(started.elapsed() < Duration::from_secs(4));
    eventually(|| !events.of(SecurityEventKind::HandshakeTimeout).is_empty()).await;

    // A flood of idle sockets from one address: the first three hold handshake slots, the
    // next is answered 503 at once.
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(gw.addr).await.unwrap());
    }
    let mut extra = TcpStream::connect(gw.addr).await.unwrap();
    let mut answer = String::new();
    within(extra.read_to_string(&mut answer)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let too_many = events.of(SecurityEventKind::TooManyHandshakes);
    assert_eq!(
        Recorder::detail(&too_many[0], "reason").as_deref(),
        Some("too many handshakes at once from this address")
    );
    // Once they time out, the address may connect again.
    drop(idle);
    tokio::time::sleep(Duration::from_millis(600)).await;
    gw.try_connect("/ocpp/CP-AFTER", "ocpp1.6", None)
        .await
        .expect("connects after the flood");
}

#[tokio::test]
async fn a_fast_charger_is_slowed_down_and_loses_nothing() {
    let (gw, events) = gateway_with(GatewayConfig {
        max_message_rate: 50.0,
        message_burst: 5,
        ..test_config()
    })
    .await;
    let mut client = gw.connect("CP-FAST", "ocpp2.0.1").await;
    let started = Instant::now();
    for n in 0..30 {
        send(&mut client, format!(r#"[2,"m{n}","Echo",{{"n":{n}}}]"#)).await;
    }
    for n in 0..30 {
        assert_eq!(
            recv(&mut client).await,
            json!([3, format!("m{n}"), {"n": n}])
        );
    }
    // 5 at once, then 25 at 50/s.
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    let limited = events.of(SecurityEventKind::RateLimited);
    assert_eq!(limited.len(), 1, "one report per held-back stretch");
    assert_eq!(limited[0].charger_id.as_ref().unwrap().as_str(), "CP-FAST");
}

#[tokio::test]
async fn an_idle_charger_is_closed() {
    let (gw, _) = gateway_with(GatewayConfig {
        idle_timeout: Duration::from_millis(300),
        ..test_config()
    })
    .await;
    let mut client = gw.connect("CP-IDLE", "ocpp1.6").await;
    let close = recv_close(&mut client).await.expect("a close frame");
    assert_eq!(close.code, CloseCode::Away);
}

/// A masked client frame.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
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
    let mask = [0x12, 0x34, 0x56, 0x78];
    bytes.extend_from_slice(&mask);
    bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    bytes
}

/// Raw deflate as a permessage-deflate client sends it (sync flush, tail removed).
fn compress(data: &[u8]) -> Vec<u8> {
    let mut compressor = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    loop {
        let consumed = compressor.total_in() as usize;
        compressor
            .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
            .unwrap();
        if compressor.total_in() as usize == data.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    out.truncate(out.len() - 4);
    out
}

/// Upgrades a raw socket offering permessage-deflate; returns it and the response head.
async fn deflate_client(gw: &TestGateway, id: &str) -> (TcpStream, String) {
    let mut socket = TcpStream::connect(gw.addr).await.unwrap();
    let request = format!(
        "GET /ocpp/{id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: ocpp2.0.1\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        within(socket.read_exact(&mut byte)).await.unwrap();
        head.push(byte[0]);
    }
    (socket, String::from_utf8(head).unwrap())
}

/// Reads one unmasked server frame: (first byte, payload).
async fn read_frame(socket: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut header = [0u8; 2];
    within(socket.read_exact(&mut header)).await.unwrap();
    let len = match header[1] & 0x7f {
        126 => {
            let mut ext = [0u8; 2];
            socket.read_exact(&mut ext).await.unwrap();
            u16::from_be_bytes(ext) as usize
        }
        127 => {
            let mut ext = [0u8; 8];
            socket.read_exact(&mut ext).await.unwrap();
            u64::from_be_bytes(ext) as usize
        }
        len => len as usize,
    };
    let mut payload = vec![0u8; len];
    socket.read_exact(&mut payload).await.unwrap();
    (header[0], payload)
}

#[tokio::test]
async fn compressed_messages_are_inflated_and_answered() {
    let (gw, _) = gateway_with(test_config()).await;
    let (mut socket, head) = deflate_client(&gw, "CP-ZIP").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains(
            "sec-websocket-extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ),
        "{head}"
    );
    let call = br#"[2,"z1","Echo",{"text":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]"#;
    // RSV1 + FIN + text.
    socket
        .write_all(&frame(0xC1, &compress(call)))
        .await
        .unwrap();
    // An uncompressed message on the same connection is fine too.
    socket
        .write_all(&frame(0x81, br#"[2,"z2","Echo",{}]"#))
        .await
        .unwrap();
    let (first, payload) = read_frame(&mut socket).await;
    assert_eq!(first, 0x81, "answers go out uncompressed");
    let answer: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        answer,
        json!([3, "z1", {"text": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}])
    );
    let (_, payload) = read_frame(&mut socket).await;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&payload).unwrap(),
        json!([3, "z2", {}])
    );
}

#[tokio::test]
async fn a_compression_bomb_is_closed_with_1009_and_reported() {
    let (gw, events) = gateway_with(test_config()).await;
    let mut bystander = gw.connect("CP-BYSTANDER", "ocpp2.0.1").await;
    let (mut socket, head) = deflate_client(&gw, "CP-BOMB").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // 64 MiB of spaces inside a JSON string, about 64 KiB compressed: under the size
    // limit on the wire, a thousand times over it inflated.
    let mut bomb = b"[2,\"b\",\"Echo\",{\"x\":\"".to_vec();
    bomb.resize(64 << 20, b' ');
    let compressed = compress(&bomb);
    assert!(compressed.len() < test_config().max_message_bytes);
    socket.write_all(&frame(0xC1, &compressed)).await.unwrap();
    let (first, payload) = read_frame(&mut socket).await;
    assert_eq!(first, 0x88, "a close frame");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1009);
    let bombs = events.of(SecurityEventKind::CompressionBomb);
    assert_eq!(bombs.len(), 1);
    assert_eq!(bombs[0].charger_id.as_ref().unwrap().as_str(), "CP-BOMB");
    // Others are unaffected.
    send(&mut bystander, r#"[2,"ok","Echo",{}]"#).await;
    assert_eq!(recv(&mut bystander).await, json!([3, "ok", {}]));
}

#[tokio::test]
async fn without_an_offer_nothing_is_negotiated() {
    let (gw, _) = gateway_with(test_config()).await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            gw.url("/ocpp/CP-PLAIN"),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
    let (_client, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert!(response.headers().get("Sec-WebSocket-Extensions").is_none());
}
