//! Server-sent events at `/api/v1/events` from a real `ampere serve` process: a subscriber
//! sees, in order, what a raw WebSocket charger does (connect, boot, status, a transaction
//! with its energy, meter values) and the commands sent through the API; the filters by
//! charger and type hold; auth is required; open streams end when the server shuts down.

// The shared helpers serve several test files; this one uses only some of them.
#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{BIN, RawCharger};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A bootstrap admin token (long enough for `AMPERE_API_TOKEN`).
const ADMIN: &str = "events-admin-token-0123456789abcdefghijklmnopqrstuvwxyz";

/// `ampere serve` on free ports; `http` is `127.0.0.1:PORT`, `ocpp` is `ws://…` (no path).
struct Server {
    child: Child,
    http: String,
    ocpp: String,
}

impl Server {
    fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--ocpp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env("AMPERE_API_TOKEN", ADMIN)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ampere serve");
        let stdout = child.stdout.take().expect("stdout");
        let (lines, banner) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep reading after the banner so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let (mut http, mut ocpp) = (None, None);
        while http.is_none() || ocpp.is_none() {
            let line = banner
                .recv_timeout(Duration::from_secs(60))
                .expect("the server prints its banner");
            if let Some(start) = line.find("ws://") {
                let url = line[start..].split_whitespace().next().unwrap();
                ocpp = Some(url.split("/ocpp/").next().unwrap().to_owned());
            }
            if let Some(start) = line.find("http://") {
                let url = &line[start + "http://".len()..];
                http = Some(url.split('/').next().unwrap().to_owned());
            }
        }
        Self {
            child,
            http: http.unwrap(),
            ocpp: ocpp.unwrap(),
        }
    }

    /// One JSON request with a token; returns the status and the body.
    async fn request(&self, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.http).await.expect("connect");
        let body = body.to_string();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.http,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
            .await
            .expect("an answer within 30 s")
            .unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP head");
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            let mut dechunker = Dechunker::default();
            dechunker.raw.extend_from_slice(rest.as_bytes());
            dechunker.drain()
        } else {
            rest.to_owned()
        };
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    async fn admin(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, body) = self.request(method, path, ADMIN, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {body}"
        );
        body
    }

    async fn subscribe(&self, path: &str, token: Option<&str>) -> (u16, Subscriber) {
        let mut stream = TcpStream::connect(&self.http).await.expect("connect");
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n{auth}\r\n",
            self.http
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut subscriber = Subscriber {
            stream,
            head: None,
            body: Dechunker::default(),
            text: String::new(),
        };
        let status = subscriber.read_head().await;
        (status, subscriber)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Undoes HTTP/1.1 chunked transfer encoding as bytes arrive.
#[derive(Default)]
struct Dechunker {
    raw: Vec<u8>,
    ended: bool,
}

impl Dechunker {
    /// The complete chunks received so far, as text.
    fn drain(&mut self) -> String {
        let mut out = Vec::new();
        while let Some(line_end) = self.raw.windows(2).position(|w| w == b"\r\n") {
            let size_text = std::str::from_utf8(&self.raw[..line_end]).unwrap();
            let size = usize::from_str_radix(size_text.trim(), 16).expect("hex chunk size");
            if size == 0 {
                self.ended = true;
                self.raw.clear();
                break;
            }
            let start = line_end + 2;
            if self.raw.len() < start + size + 2 {
                break;
            }
            out.extend_from_slice(&self.raw[start..start + size]);
            self.raw.drain(..start + size + 2);
        }
        String::from_utf8(out).expect("UTF-8")
    }
}

/// One event as it came over the wire.
#[derive(Debug)]
struct Received {
    id: Option<String>,
    event: String,
    data: Value,
}

struct Subscriber {
    stream: TcpStream,
    head: Option<String>,
    body: Dechunker,
    /// Dechunked text not yet parsed into events.
    text: String,
}

impl Subscriber {
    async fn read_more(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(20), self.stream.read(&mut buf))
            .await
            .expect("more of the stream within 20 s")
            .expect("read");
        self.body.raw.extend_from_slice(&buf[..n]);
        n > 0
    }

    async fn read_head(&mut self) -> u16 {
        loop {
            if let Some(end) = self.body.raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8(self.body.raw[..end].to_vec()).unwrap();
                self.body.raw.drain(..end + 4);
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                self.head = Some(head);
                return status;
            }
            assert!(self.read_more().await, "connection closed before the head");
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.as_ref()?.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    /// The next event, skipping comments (keep-alives); `None` when the stream ended.
    async fn next(&mut self) -> Option<Received> {
        loop {
            self.text.push_str(&self.body.drain());
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if let Some(event) = event {
                    let data = serde_json::from_str(&data).expect("JSON data");
                    return Some(Received { id, event, data });
                }
            }
            if self.body.ended || !self.read_more().await {
                return None;
            }
        }
    }

    async fn expect(&mut self) -> Received {
        self.next().await.expect("an event")
    }
}

const BOOT_16: &str = r#"[2,"b1","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"X1","firmwareVersion":"1.2.3"}]"#;

async fn registered(server: &Server, id: &str) {
    server
        .admin("POST", "/api/v1/chargers", json!({"id": id}))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_sees_what_a_charger_does_in_order_and_filters_hold() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    registered(&server, "CP-EV").await;
    registered(&server, "CP-OTHER").await;
    server
        .admin("POST", "/api/v1/id-tokens", json!({"id_token": "TAG-EV"}))
        .await;
    let viewer = server
        .admin(
            "POST",
            "/api/v1/api-tokens",
            json!({"name": "events", "role": "viewer"}),
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, mut all) = server.subscribe("/api/v1/events", Some(&viewer)).await;
    assert_eq!(status, 200);
    assert!(
        all.header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    let (status, mut filtered) = server
        .subscribe(
            "/api/v1/events?charger_id=CP-EV&type=status,transaction",
            Some(&viewer),
        )
        .await;
    assert_eq!(status, 200);

    let mut charger = RawCharger::connect(&format!("{}/ocpp/CP-EV", server.ocpp), "ocpp1.6").await;
    assert_eq!(charger.exchange(BOOT_16).await[2]["status"], "Accepted");
    let status = charger
        .exchange(r#"[2,"s1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Charging","timestamp":"2026-03-01T10:00:00Z"}]"#)
        .await;
    assert_eq!(status[0], 3);
    // Another charger's status, between this charger's messages.
    let mut other = RawCharger::connect(&format!("{}/ocpp/CP-OTHER", server.ocpp), "ocpp1.6").await;
    assert_eq!(other.exchange(BOOT_16).await[0], 3);
    other
        .exchange(r#"[2,"s2","StatusNotification",{"connectorId":2,"errorCode":"NoError","status":"Faulted"}]"#)
        .await;
    let start = charger
        .exchange(r#"[2,"t1","StartTransaction",{"connectorId":1,"idTag":"TAG-EV","meterStart":1000,"timestamp":"2026-03-01T10:00:01Z"}]"#)
        .await;
    let tx = start[2]["transactionId"]
        .as_i64()
        .expect("a transaction id");
    let meter = format!(
        r#"[2,"m1","MeterValues",{{"connectorId":1,"transactionId":{tx},"meterValue":[{{"timestamp":"2026-03-01T10:10:00Z","sampledValue":[{{"value":"2000","measurand":"Energy.Active.Import.Register","unit":"Wh"}}]}}]}}]"#
    );
    assert_eq!(charger.exchange(&meter).await[0], 3);
    let stop = format!(
        r#"[2,"t2","StopTransaction",{{"idTag":"TAG-EV","meterStop":3500,"timestamp":"2026-03-01T10:20:00Z","transactionId":{tx},"reason":"Local"}}]"#
    );
    assert_eq!(charger.exchange(&stop).await[0], 3);
    // A command through the API (CP-OFF is registered but offline: 409) is an event too.
    registered(&server, "CP-OFF").await;
    let (status, _) = server
        .request(
            "POST",
            "/api/v1/chargers/CP-OFF/commands/reset",
            ADMIN,
            json!({"type": "soft"}),
        )
        .await;
    assert_eq!(status, 409);

    // Everything, in order, with growing ids.
    let tx_id = tx.to_string();
    let mut seen = Vec::new();
    let mut last_id = 0u64;
    for _ in 0..10 {
        let event = all.expect().await;
        let id: u64 = event.id.as_deref().unwrap().parse().unwrap();
        assert!(id > last_id, "ids grow: {id} after {last_id}");
        last_id = id;
        assert_eq!(event.data["id"], id, "the data repeats the id");
        assert_eq!(event.data["type"], event.event.as_str());
        seen.push(event);
    }
    let summary: Vec<(String, String)> = seen
        .iter()
        .map(|e| {
            (
                e.data["charger_id"].as_str().unwrap().to_owned(),
                e.event.clone(),
            )
        })
        .collect();
    let expected = [
        ("CP-EV", "connection"),
        ("CP-EV", "boot"),
        ("CP-EV", "status"),
        ("CP-OTHER", "connection"),
        ("CP-OTHER", "boot"),
        ("CP-OTHER", "status"),
        ("CP-EV", "transaction"),
        ("CP-EV", "meter"),
        ("CP-EV", "transaction"),
        ("CP-OFF", "command"),
    ];
    assert_eq!(
        summary
            .iter()
            .map(|(c, t)| (c.as_str(), t.as_str()))
            .collect::<Vec<_>>(),
        expected
    );
    let data = |i: usize| &seen[i].data["data"];
    assert_eq!(data(0)["state"], "connected");
    assert_eq!(data(0)["protocol"], "ocpp1.6");
    assert_eq!(data(1)["status"], "Accepted");
    assert_eq!(data(1)["vendor"], "Acme");
    assert_eq!(data(2)["status"], "Charging");
    assert_eq!(data(2)["evse_id"], 1);
    assert_eq!(data(6)["event"], "started");
    assert_eq!(data(6)["transaction_id"], tx_id.as_str());
    assert_eq!(data(6)["transaction"]["meter_start_wh"], 1000.0);
    assert_eq!(data(6)["transaction"]["status"], "active");
    assert_eq!(
        data(7)["meter_values"][0]["sampled_values"][0]["value"],
        "2000"
    );
    assert_eq!(data(7)["transaction_id"], tx_id.as_str());
    assert_eq!(data(8)["event"], "ended");
    assert_eq!(data(8)["transaction"]["energy_wh"], 2500.0);
    assert_eq!(data(8)["transaction"]["status"], "completed");
    assert_eq!(data(9)["command"], "command reset");
    assert_eq!(data(9)["status"], 409);
    assert_eq!(data(9)["request"], json!({"type": "soft"}));
    // Then the other charger going away when its socket closes.
    drop(other);
    let gone = all.expect().await;
    assert_eq!(gone.event, "connection", "{gone:?}");
    assert_eq!(gone.data["charger_id"], "CP-OTHER");
    assert_eq!(gone.data["data"]["state"], "disconnected");

    // Only CP-EV's status and transaction events, in the same order and with the same ids.
    let mut filtered_seen = Vec::new();
    for _ in 0..3 {
        filtered_seen.push(filtered.expect().await);
    }
    let ids: Vec<&str> = filtered_seen
        .iter()
        .map(|e| e.id.as_deref().unwrap())
        .collect();
    let want: Vec<&str> = [2, 6, 8]
        .iter()
        .map(|&i| seen[i].id.as_deref().unwrap())
        .collect();
    assert_eq!(ids, want, "{filtered_seen:#?}");
    assert_eq!(filtered_seen[2].data["data"]["event"], "ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_need_a_token_and_known_types_and_end_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let (status, unauthenticated) = server.subscribe("/api/v1/events", None).await;
    assert_eq!(status, 401);
    assert!(
        unauthenticated
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer"))
    );
    let (status, _) = server
        .subscribe("/api/v1/events", Some("not-a-real-token"))
        .await;
    assert_eq!(status, 401);
    let (status, _) = server
        .subscribe("/api/v1/events?type=status,gossip", Some(ADMIN))
        .await;
    assert_eq!(status, 400);

    // An open stream does not hold the server up when it stops; the stream ends.
    let (status, mut open) = server.subscribe("/api/v1/events", Some(ADMIN)).await;
    assert_eq!(status, 200);
    let kill = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server did not stop with an open event stream"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    assert!(open.next().await.is_none(), "the stream ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2_0_1_transaction_gives_the_same_events_with_its_energy() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    registered(&server, "CP-201").await;
    server
        .admin("POST", "/api/v1/id-tokens", json!({"id_token": "TAG-201"}))
        .await;
    let (_, mut events) = server
        .subscribe(
            "/api/v1/events?charger_id=CP-201&type=transaction",
            Some(ADMIN),
        )
        .await;
    let mut charger =
        RawCharger::connect(&format!("{}/ocpp/CP-201", server.ocpp), "ocpp2.0.1").await;
    let boot = charger
        .exchange(r#"[2,"b1","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"X2","vendorName":"Acme"}}]"#)
        .await;
    assert_eq!(boot[2]["status"], "Accepted");
    let energy = |wh: u32| {
        format!(
            r#"[{{"timestamp":"2026-03-01T10:00:00Z","sampledValue":[{{"value":{wh},"measurand":"Energy.Active.Import.Register","unitOfMeasure":{{"unit":"Wh"}}}}]}}]"#
        )
    };
    let started = format!(
        r#"[2,"e1","TransactionEvent",{{"eventType":"Started","timestamp":"2026-03-01T10:00:00Z","triggerReason":"Authorized","seqNo":0,"transactionInfo":{{"transactionId":"TX-201"}},"idToken":{{"idToken":"TAG-201","type":"ISO14443"}},"evse":{{"id":1,"connectorId":1}},"meterValue":{}}}]"#,
        energy(10_000)
    );
    assert_eq!(charger.exchange(&started).await[0], 3);
    let ended = format!(
        r#"[2,"e2","TransactionEvent",{{"eventType":"Ended","timestamp":"2026-03-01T11:00:00Z","triggerReason":"EVDeparted","seqNo":1,"transactionInfo":{{"transactionId":"TX-201","stoppedReason":"EVDisconnected"}},"meterValue":{}}}]"#,
        energy(17_500)
    );
    assert_eq!(charger.exchange(&ended).await[0], 3);

    // Only transaction events (no connection, boot or meter), in order.
    let first = events.expect().await;
    assert_eq!(first.event, "transaction");
    assert_eq!(first.data["data"]["event"], "started");
    assert_eq!(first.data["data"]["transaction_id"], "TX-201");
    assert_eq!(first.data["data"]["evse_id"], 1);
    assert_eq!(first.data["data"]["id_token"], "TAG-201");
    let last = events.expect().await;
    assert_eq!(last.data["data"]["event"], "ended");
    assert_eq!(last.data["data"]["reason"], "EVDisconnected");
    assert_eq!(last.data["data"]["transaction"]["energy_wh"], 7500.0);
    assert_eq!(last.data["data"]["transaction"]["status"], "completed");
}
