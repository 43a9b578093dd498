//! Webhooks from a real `ampere serve` process to receivers that are small HTTP servers in
//! the test: retries until the receiver answers 2xx, the signature, the order and ids of
//! events, the type and charger filters, the delivery log, and delivery after a restart in
//! the middle of the retries (the outbox).

// The shared helpers serve several test files; this one uses only some of them.
#[allow(dead_code)]
mod api_server;
#[allow(dead_code)]
mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_server::ApiServer;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::RawCharger;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("header {name}"))
            .to_str()
            .unwrap()
    }

    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON event")
    }
}

/// In a receiver's script: answer 200, but too late.
const HANG: u16 = 0;

#[derive(Clone)]
struct ReceiverState {
    /// Statuses to answer, in order; 200 once they are used up. [`HANG`] answers only after
    /// 3 s.
    script: Arc<Mutex<VecDeque<u16>>>,
    seen: mpsc::UnboundedSender<Received>,
}

/// A webhook receiver on a free port: answers with its script and reports every request.
struct Receiver {
    url: String,
    seen: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        async fn hook(
            State(state): State<ReceiverState>,
            headers: HeaderMap,
            body: Bytes,
        ) -> StatusCode {
            let status = state.script.lock().unwrap().pop_front().unwrap_or(200);
            let _ = state.seen.send(Received { headers, body });
            if status == HANG {
                tokio::time::sleep(Duration::from_secs(3)).await;
                return StatusCode::OK;
            }
            StatusCode::from_u16(status).unwrap()
        }
        let (sender, seen) = mpsc::unbounded_channel();
        let state = ReceiverState {
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            seen: sender,
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, seen }
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(20), self.seen.recv())
            .await
            .expect("a webhook request within 20 s")
            .expect("receiver running")
    }
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// A 1.6 charger that connected and booted.
async fn boot_16(server: &ApiServer, id: &str) -> RawCharger {
    let mut charger = RawCharger::connect(&server.charger_url(id), "ocpp1.6").await;
    let answer = charger
        .exchange(
            r#"[2,"b1","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"W1"}]"#,
        )
        .await;
    assert_eq!(answer[0], 3, "{answer}");
    charger
}

async fn status_16(charger: &mut RawCharger, n: u32, status: &str) {
    let frame = json!([2, format!("s{n}"), "StatusNotification",
        {"connectorId": n, "errorCode": "NoError", "status": status}]);
    let answer = charger.exchange(&frame.to_string()).await;
    assert_eq!(answer[0], 3, "{answer}");
}

async fn subscribe(server: &ApiServer, body: Value) -> Value {
    let (status, created) = server.call("POST", "/api/v1/webhooks", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_signed_event_on_the_third_try() {
    let dir = tempfile::tempdir().unwrap();
    let server = ApiServer::start(dir.path(), &["--webhook-retry-base-ms", "50"]);
    let mut receiver = Receiver::start(&[500, 500]).await;
    let hook = subscribe(
        &server,
        json!({"url": receiver.url, "event_types": ["boot"], "charger_ids": ["WH-1"]}),
    )
    .await;
    let secret = hook["secret"].as_str().expect("the secret, shown once");
    assert!(secret.starts_with("whsec_"), "{hook}");
    let id = hook["id"].as_i64().unwrap();
    let shown = server
        .ok("GET", &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert!(shown.get("secret").is_none(), "never shown again: {shown}");
    assert_eq!(shown["event_types"], json!(["boot"]));

    let _charger = boot_16(&server, "WH-1").await;

    let tries = [
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
    ];
    let event = tries[0].event();
    assert_eq!(event["type"], "boot");
    assert_eq!(event["charger_id"], "WH-1");
    assert_eq!(event["data"]["vendor"], "Acme");
    for received in &tries {
        assert_eq!(
            received.body, tries[0].body,
            "every try posts the same bytes"
        );
        assert_eq!(
            received.header("x-ampere-signature"),
            signature(secret, &received.body),
            "the signature verifies with the secret"
        );
        assert_eq!(
            received.header("x-ampere-event-id"),
            event["id"].to_string()
        );
        assert_eq!(received.header("x-ampere-event-type"), "boot");
        assert_eq!(received.header("content-type"), "application/json");
        let timestamp: i64 = received.header("x-ampere-timestamp").parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    }
    assert_ne!(
        tries[0].header("x-ampere-signature"),
        signature("another secret", &tries[0].body)
    );

    let path = format!("/api/v1/webhooks/{id}/deliveries");
    let log = server
        .until(&path, |log| log["items"][0]["state"] == "delivered")
        .await;
    let delivery = &log["items"][0];
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(delivery["event_id"], event["id"]);
    assert_eq!(delivery["attempt_count"], 3);
    let statuses: Vec<&Value> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["http_status"])
        .collect();
    assert_eq!(statuses, [&json!(500), &json!(500), &json!(200)]);
    assert_eq!(delivery["next_attempt_at"], Value::Null);
}

#[tokio::test]
async fn events_arrive_in_order_with_growing_ids_and_the_filters_hold() {
    let dir = tempfile::tempdir().unwrap();
    let server = ApiServer::start(dir.path(), &["--webhook-retry-base-ms", "50"]);
    // A: everything about WH-A. B: status events of every charger.
    let mut a = Receiver::start(&[]).await;
    let mut b = Receiver::start(&[]).await;
    let hook_a = subscribe(&server, json!({"url": a.url, "charger_ids": ["WH-A"]})).await;
    subscribe(&server, json!({"url": b.url, "event_types": ["status"]})).await;

    let mut charger_a = boot_16(&server, "WH-A").await;
    for (n, status) in [(1, "Available"), (2, "Preparing"), (1, "Charging")] {
        status_16(&mut charger_a, n, status).await;
    }
    let mut charger_b = boot_16(&server, "WH-B").await;
    status_16(&mut charger_b, 1, "Faulted").await;

    let mut got_a = Vec::new();
    for _ in 0..5 {
        got_a.push(a.next().await.event());
    }
    let kinds: Vec<&str> = got_a.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["connection", "boot", "status", "status", "status"]);
    let statuses: Vec<&Value> = got_a[2..].iter().map(|e| &e["data"]["status"]).collect();
    assert_eq!(
        statuses,
        [&json!("Available"), &json!("Preparing"), &json!("Charging")]
    );
    assert!(got_a.iter().all(|e| e["charger_id"] == "WH-A"));
    let ids: Vec<u64> = got_a.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");

    let mut got_b = Vec::new();
    for _ in 0..4 {
        got_b.push(b.next().await.event());
    }
    assert!(got_b.iter().all(|e| e["type"] == "status"), "{got_b:?}");
    let chargers: Vec<&Value> = got_b.iter().map(|e| &e["charger_id"]).collect();
    assert_eq!(
        chargers,
        [
            &json!("WH-A"),
            &json!("WH-A"),
            &json!("WH-A"),
            &json!("WH-B")
        ]
    );
    let ids_b: Vec<u64> = got_b.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids_b.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids_b:?}");
    assert_eq!(
        ids_b[..3],
        ids[2..],
        "one event, one id, for every receiver"
    );

    // WH-B's events were stored by the time B got them; none of them is owed to A.
    let log_a = server
        .ok(
            "GET",
            &format!("/api/v1/webhooks/{}/deliveries", hook_a["id"]),
            None,
        )
        .await;
    let owed: Vec<&Value> = log_a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["charger_id"])
        .collect();
    assert_eq!(owed.len(), 5, "{log_a}");
    assert!(owed.iter().all(|c| *c == "WH-A"), "{log_a}");

    // A viewer reads subscriptions but may not change them.
    let (status, token) = server
        .call(
            "POST",
            "/api/v1/api-tokens",
            Some(json!({"name": "v", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201);
    let viewer = token["token"].as_str().unwrap();
    let client = reqwest::Client::new();
    let list = client
        .get(format!("{}/api/v1/webhooks", server.http))
        .bearer_auth(viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let create = client
        .post(format!("{}/api/v1/webhooks", server.http))
        .bearer_auth(viewer)
        .header("Content-Type", "application/json")
        .body(json!({"url": a.url}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 403);
    let (status, problem) = server
        .call(
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": a.url, "event_types": ["nope"]})),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
}

#[tokio::test]
async fn a_restart_in_the_middle_of_the_retries_still_delivers() {
    let dir = tempfile::tempdir().unwrap();
    // The retry waits long enough for the server to be killed first.
    let flags = ["--webhook-retry-base-ms", "1500"];
    let mut server = ApiServer::start(dir.path(), &flags);
    let mut receiver = Receiver::start(&[503]).await;
    let hook = subscribe(
        &server,
        json!({"url": receiver.url, "event_types": ["boot"]}),
    )
    .await;
    let id = hook["id"].as_i64().unwrap();
    let _charger = boot_16(&server, "WH-R").await;

    let first = receiver.next().await;
    let path = format!("/api/v1/webhooks/{id}/deliveries");
    let log = server
        .until(&path, |log| log["items"][0]["attempt_count"] == 1)
        .await;
    assert_eq!(log["items"][0]["state"], "pending");
    assert!(log["items"][0]["next_attempt_at"].is_string(), "{log}");

    // Killed outright: only what is in the database survives.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);
    let server = ApiServer::start(dir.path(), &flags);

    let second = receiver.next().await;
    assert_eq!(second.body, first.body, "the same event");
    assert_eq!(
        second.header("x-ampere-event-id"),
        first.header("x-ampere-event-id")
    );
    let log = server
        .until(&path, |log| log["items"][0]["state"] == "delivered")
        .await;
    assert_eq!(log["items"][0]["attempt_count"], 2, "{log}");
    assert_eq!(log["items"][0]["attempts"][0]["http_status"], 503);
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_in_time_is_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = ApiServer::start(
        dir.path(),
        &[
            "--webhook-retry-base-ms",
            "50",
            "--webhook-timeout-ms",
            "300",
        ],
    );
    let mut receiver = Receiver::start(&[HANG]).await;
    let hook = subscribe(
        &server,
        json!({"url": receiver.url, "event_types": ["boot"]}),
    )
    .await;
    let _charger = boot_16(&server, "WH-T").await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!(first.body, second.body);
    let path = format!("/api/v1/webhooks/{}/deliveries", hook["id"]);
    let log = server
        .until(&path, |log| log["items"][0]["state"] == "delivered")
        .await;
    let attempts = &log["items"][0]["attempts"];
    assert_eq!(attempts[0]["http_status"], Value::Null, "{log}");
    let error = attempts[0]["error"].as_str().unwrap();
    assert!(error.contains("timed out"), "{error}");
    assert!(
        attempts[0]["duration_ms"].as_u64().unwrap() < 2_000,
        "{log}"
    );
    assert_eq!(attempts[1]["http_status"], 200);
}
