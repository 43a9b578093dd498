//! Reservations, charging profiles and local authorization lists through the REST API of a
//! real `ampere serve`, with raw WebSocket chargers in OCPP 1.6 and 2.0.1 that read the exact
//! frame they receive and answer it: the request on the wire, the API's answer, offline
//! (409), no answer (504, `--call-timeout 1`), CALLERROR (502), and what Ampere records.

// The shared helpers serve several test files; this one uses only some of them.
#[allow(dead_code)]
mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{BIN, RawCharger};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A bootstrap admin token (long enough for `AMPERE_API_TOKEN`).
const ADMIN: &str = "h2-admin-token-0123456789abcdefghijklmnopqrstuvwxyz";

struct Server {
    child: Child,
    http: String,
    ocpp: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ampere serve` on free ports, answering a call the charger leaves unanswered after 1 s.
fn start() -> Server {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--ocpp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .args(["--call-timeout", "1"])
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
    let (lines, banner) = std::sync::mpsc::channel();
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
        let word = |scheme: &str| {
            line.find(scheme)
                .map(|start| line[start..].split_whitespace().next().unwrap().to_owned())
        };
        if ocpp.is_none()
            && let Some(url) = word("ws://")
        {
            ocpp = Some(url.split("/ocpp/").next().unwrap().to_owned());
        }
        if http.is_none()
            && let Some(url) = word("http://")
        {
            let base = url.split("/api").next().unwrap();
            http = Some(base.trim_end_matches("/health").to_owned());
        }
    }
    Server {
        child,
        http: http.unwrap(),
        ocpp: ocpp.unwrap(),
        _dir: dir,
    }
}

/// One HTTP/1.1 request (connection closed after it); the status and the JSON body (or
/// `null` for an empty one).
async fn http(
    base: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.expect("connect to the API");
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("an HTTP answer within 30 s")
        .unwrap();
    let text = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP head");
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    let json = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    (status, json)
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").expect("chunk size");
        let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if size == 0 {
            return body;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

impl Server {
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        http(&self.http, method, path, ADMIN, body.as_ref()).await
    }

    /// Registers a charger through the API.
    async fn register(&self, id: &str) {
        let (status, body) = self
            .admin("POST", "/api/v1/chargers", Some(json!({"id": id})))
            .await;
        assert_eq!(status, 201, "{body}");
    }

    /// Registers a charger and connects it raw, booted.
    async fn connect(&self, id: &str, subprotocol: &str) -> RawCharger {
        self.register(id).await;
        let mut charger =
            RawCharger::connect(&format!("{}/ocpp/{id}", self.ocpp), subprotocol).await;
        let boot = if subprotocol == "ocpp1.6" {
            r#"[2,"boot","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"X1"}]"#
        } else {
            r#"[2,"boot","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"X2","vendorName":"Acme"}}]"#
        };
        let answer = charger.exchange(boot).await;
        assert_eq!(answer[2]["status"], "Accepted", "{answer}");
        charger
    }

    async fn viewer(&self) -> String {
        let (_, body) = self
            .admin(
                "POST",
                "/api/v1/api-tokens",
                Some(json!({"name": "viewer", "role": "viewer"})),
            )
            .await;
        body["token"].as_str().unwrap().to_owned()
    }
}

/// How the raw charger treats the CALL it receives.
enum Answer {
    Result(Value),
    Error(&'static str),
    Silence,
}

/// Sends an API request while the charger receives the CALL it causes and answers it.
/// Returns the action, the payload exactly as written on the wire, and the API's answer.
async fn exchange(
    server: &Server,
    charger: &mut RawCharger,
    method: &str,
    path: &str,
    body: Option<Value>,
    answer: Answer,
) -> (String, String, u16, Value) {
    let (base, method, path) = (server.http.clone(), method.to_owned(), path.to_owned());
    let request =
        tokio::spawn(async move { http(&base, &method, &path, ADMIN, body.as_ref()).await });
    let frame = charger.recv().await;
    assert_eq!(frame[0], 2, "a CALL: {frame}");
    let id = frame[1].as_str().unwrap();
    match answer {
        Answer::Result(payload) => {
            charger
                .send_text(&json!([3, id, payload]).to_string())
                .await
        }
        Answer::Error(code) => {
            charger
                .send_text(&json!([4, id, code, "not today", {}]).to_string())
                .await
        }
        Answer::Silence => {}
    }
    let (status, reply) = request.await.unwrap();
    (
        frame[2].as_str().unwrap().to_owned(),
        frame[3].to_string(),
        status,
        reply,
    )
}

fn problem(status: u16, reply: &Value, expected: u16, kind: &str) {
    assert_eq!(status, expected, "{reply}");
    assert_eq!(reply["status"], expected);
    assert_eq!(
        reply["type"],
        format!("urn:ampere:problem:{kind}"),
        "{reply}"
    );
}

const EXPIRES: &str = "2030-01-01T10:00:00Z";

/// A reservation body for EVSE 1.
fn reserve(charger: &str, token: &str) -> Value {
    json!({"charger_id": charger, "evse_id": 1, "id_token": token, "expires_at": EXPIRES})
}

async fn reservation(server: &Server, id: i64) -> Value {
    let (status, body) = server
        .admin("GET", &format!("/api/v1/reservations/{id}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_in_ocpp_1_6() {
    let server = start();
    let mut cp = server.connect("CP-16", "ocpp1.6").await;

    // Accepted: the exact ReserveNow, 201, active.
    let body = json!({"charger_id": "CP-16", "evse_id": 2, "id_token": "TAG-1",
        "group_id_token": "FLEET", "expires_at": EXPIRES});
    let (action, payload, status, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(body),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let id = reply["id"].as_i64().unwrap();
    assert_eq!(action, "ReserveNow");
    assert_eq!(
        payload,
        format!(
            r#"{{"connectorId":2,"expiryDate":"2030-01-01T10:00:00Z","idTag":"TAG-1","parentIdTag":"FLEET","reservationId":{id}}}"#
        )
    );
    assert_eq!(reply["status"], "active");
    assert_eq!(reply["charger_status"], "Accepted");
    assert_eq!(reply["evse_id"], 2);
    assert_eq!(reply["expires_at"], EXPIRES);

    // The charger starts a transaction with it: used.
    let answer = cp
        .exchange(&format!(
            r#"[2,"st","StartTransaction",{{"connectorId":2,"idTag":"TAG-1","meterStart":0,"reservationId":{id},"timestamp":"2026-11-21T10:00:00Z"}}]"#
        ))
        .await;
    assert_eq!(answer[0], 3, "{answer}");
    assert_eq!(reservation(&server, id).await["status"], "used");

    // Any connector (0), refused by the charger: 409 naming it, kept as refused.
    let (_, payload, status, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(json!({"charger_id": "CP-16", "id_token": "TAG-2", "expires_at": EXPIRES})),
        Answer::Result(json!({"status": "Occupied"})),
    )
    .await;
    problem(status, &reply, 409, "conflict");
    assert!(
        reply["detail"].as_str().unwrap().contains("Occupied"),
        "{reply}"
    );
    assert!(payload.starts_with(r#"{"connectorId":0,"#), "{payload}");
    let (_, refused) = server
        .admin(
            "GET",
            "/api/v1/reservations?charger_id=CP-16&status=refused",
            None,
        )
        .await;
    assert_eq!(refused["items"].as_array().unwrap().len(), 1, "{refused}");
    assert_eq!(refused["items"][0]["charger_status"], "Occupied");

    // Cancel: the exact CancelReservation, cancelled; a second cancel is refused unsent.
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(reserve("CP-16", "TAG-3")),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let id = reply["id"].as_i64().unwrap();
    let (action, payload, status, reply) = exchange(
        &server,
        &mut cp,
        "DELETE",
        &format!("/api/v1/reservations/{id}"),
        None,
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(
        (action.as_str(), status),
        ("CancelReservation", 200),
        "{reply}"
    );
    assert_eq!(payload, format!(r#"{{"reservationId":{id}}}"#));
    assert_eq!(reply["status"], "cancelled");
    let (status, reply) = server
        .admin("DELETE", &format!("/api/v1/reservations/{id}"), None)
        .await;
    problem(status, &reply, 409, "conflict");

    // No answer in time → 504, CALLERROR → 502; both kept as failed.
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(reserve("CP-16", "TAG-4")),
        Answer::Silence,
    )
    .await;
    problem(status, &reply, 504, "charger-timeout");
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(reserve("CP-16", "TAG-5")),
        Answer::Error("NotSupported"),
    )
    .await;
    problem(status, &reply, 502, "charger-call-error");
    assert_eq!(reply["ocpp_error_code"], "NotSupported");
    let (_, failed) = server
        .admin("GET", "/api/v1/reservations?status=failed", None)
        .await;
    let tokens: Vec<&str> = failed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id_token"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, vec!["TAG-5", "TAG-4"], "newest first");

    // Offline → 409, nothing stored.
    server.register("CP-OFF").await;
    let (status, reply) = server
        .admin(
            "POST",
            "/api/v1/reservations",
            Some(reserve("CP-OFF", "TAG-6")),
        )
        .await;
    problem(status, &reply, 409, "charger-offline");
    let (_, none) = server
        .admin("GET", "/api/v1/reservations?charger_id=CP-OFF", None)
        .await;
    assert_eq!(none["items"], json!([]));

    // A 2.x-only field is refused before anything is sent.
    let (status, reply) = server
        .admin(
            "POST",
            "/api/v1/reservations",
            Some(json!({"charger_id": "CP-16", "connector_type": "cType2", "id_token": "T", "expires_at": EXPIRES})),
        )
        .await;
    problem(status, &reply, 400, "bad-request");

    // Expiry: past its time an active reservation reads as expired, in GET and the filter.
    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    let soon = soon.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(json!({"charger_id": "CP-16", "evse_id": 1, "id_token": "TAG-7", "expires_at": soon})),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(
        (status, &reply["status"]),
        (201, &json!("active")),
        "{reply}"
    );
    let id = reply["id"].as_i64().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    // Waiting for the clock itself: there is no event to await.
    while reservation(&server, id).await["status"] == "active" {
        assert!(std::time::Instant::now() < deadline, "never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(reservation(&server, id).await["status"], "expired");
    let (_, expired) = server
        .admin("GET", "/api/v1/reservations?status=expired", None)
        .await;
    assert_eq!(expired["items"][0]["id"], id, "{expired}");
    let (_, active) = server
        .admin("GET", "/api/v1/reservations?status=active", None)
        .await;
    assert_eq!(active["items"], json!([]), "{active}");
    let (status, reply) = server
        .admin("DELETE", &format!("/api/v1/reservations/{id}"), None)
        .await;
    problem(status, &reply, 409, "conflict");

    // Viewers read, only operators change; pages.
    let viewer = server.viewer().await;
    let (status, page) = http(
        &server.http,
        "GET",
        "/api/v1/reservations?limit=2",
        &viewer,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, next) = http(
        &server.http,
        "GET",
        &format!("/api/v1/reservations?limit=2&cursor={cursor}"),
        &viewer,
        None,
    )
    .await;
    assert!(next["items"][0]["id"].as_i64().unwrap() < page["items"][1]["id"].as_i64().unwrap());
    let (status, reply) = http(
        &server.http,
        "POST",
        "/api/v1/reservations",
        &viewer,
        Some(&reserve("CP-16", "T")),
    )
    .await;
    problem(status, &reply, 403, "forbidden");
    let (status, reply) = server
        .admin("GET", "/api/v1/reservations/999999", None)
        .await;
    problem(status, &reply, 404, "not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_in_ocpp_2_0_1() {
    let server = start();
    let mut cp = server.connect("CP-201", "ocpp2.0.1").await;

    let body = json!({"charger_id": "CP-201", "evse_id": 1, "connector_type": "cType2",
        "id_token": "TAG-1", "id_token_type": "eMAID", "group_id_token": "FLEET",
        "expires_at": EXPIRES});
    let (action, payload, status, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(body),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!((action.as_str(), status), ("ReserveNow", 201), "{reply}");
    let first = reply["id"].as_i64().unwrap();
    assert_eq!(
        payload,
        format!(
            r#"{{"id":{first},"expiryDateTime":"2030-01-01T10:00:00Z","connectorType":"cType2","idToken":{{"idToken":"TAG-1","type":"eMAID"}},"evseId":1,"groupIdToken":{{"idToken":"FLEET","type":"Central"}}}}"#
        )
    );
    assert_eq!(reply["status"], "active");

    // The charger says it removed it: removed.
    let answer = cp
        .exchange(&format!(
            r#"[2,"r1","ReservationStatusUpdate",{{"reservationId":{first},"reservationUpdateStatus":"Removed"}}]"#
        ))
        .await;
    assert_eq!(answer, json!([3, "r1", {}]));
    let now = reservation(&server, first).await;
    assert_eq!(
        (&now["status"], &now["charger_status"]),
        (&json!("removed"), &json!("Removed"))
    );

    // …and that another expired: expired.
    let (_, _, _, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(reserve("CP-201", "TAG-2")),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    let second = reply["id"].as_i64().unwrap();
    let answer = cp
        .exchange(&format!(
            r#"[2,"r2","ReservationStatusUpdate",{{"reservationId":{second},"reservationUpdateStatus":"Expired"}}]"#
        ))
        .await;
    assert_eq!(answer[0], 3);
    assert_eq!(reservation(&server, second).await["status"], "expired");

    // A transaction started with a reservation uses it up.
    let (_, _, _, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(reserve("CP-201", "TAG-3")),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    let third = reply["id"].as_i64().unwrap();
    let answer = cp
        .exchange(&format!(
            r#"[2,"t1","TransactionEvent",{{"eventType":"Started","timestamp":"2026-11-21T10:00:00Z","triggerReason":"Authorized","seqNo":0,"transactionInfo":{{"transactionId":"TX-1"}},"reservationId":{third},"idToken":{{"idToken":"TAG-3","type":"ISO14443"}},"evse":{{"id":1,"connectorId":1}}}}]"#
        ))
        .await;
    assert_eq!(answer[0], 3, "{answer}");
    assert_eq!(reservation(&server, third).await["status"], "used");

    // Cancel, with the charger saying it had none: cancelled, and its word kept.
    let (_, _, _, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(reserve("CP-201", "TAG-4")),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    let fourth = reply["id"].as_i64().unwrap();
    let (action, payload, status, reply) = exchange(
        &server,
        &mut cp,
        "DELETE",
        &format!("/api/v1/reservations/{fourth}"),
        None,
        Answer::Result(json!({"status": "Rejected"})),
    )
    .await;
    assert_eq!(
        (action.as_str(), status),
        ("CancelReservation", 200),
        "{reply}"
    );
    assert_eq!(payload, format!(r#"{{"reservationId":{fourth}}}"#));
    assert_eq!(
        (&reply["status"], &reply["charger_status"]),
        (&json!("cancelled"), &json!("Rejected"))
    );

    // Refused, timeout, CALLERROR.
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(reserve("CP-201", "TAG-5")),
        Answer::Result(json!({"status": "Faulted"})),
    )
    .await;
    problem(status, &reply, 409, "conflict");
    // A cancel that gets no answer changes nothing.
    let (_, _, _, reply) = exchange(
        &server,
        &mut cp,
        "POST",
        "/api/v1/reservations",
        Some(reserve("CP-201", "TAG-6")),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    let sixth = reply["id"].as_i64().unwrap();
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "DELETE",
        &format!("/api/v1/reservations/{sixth}"),
        None,
        Answer::Silence,
    )
    .await;
    problem(status, &reply, 504, "charger-timeout");
    assert_eq!(reservation(&server, sixth).await["status"], "active");
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "DELETE",
        &format!("/api/v1/reservations/{sixth}"),
        None,
        Answer::Error("InternalError"),
    )
    .await;
    problem(status, &reply, 502, "charger-call-error");
    assert_eq!(reservation(&server, sixth).await["status"], "active");

    // A 1.6-only field is refused; offline after the charger leaves.
    let (status, reply) = server
        .admin(
            "POST",
            "/api/v1/reservations",
            Some(json!({"charger_id": "CP-201", "evse_id": 1, "connector_id": 1, "id_token": "T", "expires_at": EXPIRES})),
        )
        .await;
    problem(status, &reply, 400, "bad-request");
    drop(cp);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, reply) = server
            .admin("DELETE", &format!("/api/v1/reservations/{sixth}"), None)
            .await;
        if status == 409 {
            problem(status, &reply, 409, "charger-offline");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status} {reply}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn profile_body() -> Value {
    json!({
        "description": "evening cap",
        "stack_level": 1,
        "purpose": "ChargePointMaxProfile",
        "kind": "Recurring",
        "recurrency": "Daily",
        "schedules": [{
            "start_schedule": "2026-01-01T18:00:00Z",
            "duration": 3600,
            "charging_rate_unit": "A",
            "periods": [
                {"start_period": 0, "limit": 16, "number_phases": 3},
                {"start_period": 1800, "limit": 10.5}
            ]
        }]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charging_profiles_installed_per_charger_in_1_6_and_2_0_1() {
    let server = start();
    let mut cp16 = server.connect("CP-16", "ocpp1.6").await;
    let mut cp201 = server.connect("CP-201", "ocpp2.0.1").await;

    let (status, profile) = server
        .admin("POST", "/api/v1/charging-profiles", Some(profile_body()))
        .await;
    assert_eq!(status, 201, "{profile}");
    let id = profile["id"].as_i64().unwrap();
    assert_eq!(profile["purpose"], "ChargingStationMaxProfile");
    assert_eq!(profile["description"], "evening cap");
    assert_eq!(profile["installations"], json!([]));
    let path = format!("/api/v1/charging-profiles/{id}/installations");

    // 1.6: the exact SetChargingProfile; accepted → installed.
    let (action, payload, status, reply) = exchange(
        &server,
        &mut cp16,
        "POST",
        &path,
        Some(json!({"charger_id": "CP-16", "evse_id": 1})),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(
        (action.as_str(), status),
        ("SetChargingProfile", 200),
        "{reply}"
    );
    assert_eq!(
        payload,
        format!(
            r#"{{"connectorId":1,"csChargingProfiles":{{"chargingProfileId":{id},"stackLevel":1,"chargingProfilePurpose":"ChargePointMaxProfile","chargingProfileKind":"Recurring","recurrencyKind":"Daily","chargingSchedule":{{"duration":3600,"startSchedule":"2026-01-01T18:00:00Z","chargingRateUnit":"A","chargingSchedulePeriod":[{{"startPeriod":0,"limit":16.0,"numberPhases":3}},{{"startPeriod":1800,"limit":10.5}}]}}}}}}"#
        )
    );
    assert_eq!(reply["installations"][0]["charger_id"], "CP-16");
    assert_eq!(reply["installations"][0]["status"], "installed");

    // 2.0.1: the exact SetChargingProfile; rejected → 409, recorded as refused.
    let (_, payload, status, reply) = exchange(
        &server,
        &mut cp201,
        "POST",
        &path,
        Some(json!({"charger_id": "CP-201", "evse_id": 0})),
        Answer::Result(json!({"status": "Rejected"})),
    )
    .await;
    problem(status, &reply, 409, "conflict");
    assert_eq!(
        payload,
        format!(
            r#"{{"evseId":0,"chargingProfile":{{"id":{id},"stackLevel":1,"chargingProfilePurpose":"ChargingStationMaxProfile","chargingProfileKind":"Recurring","recurrencyKind":"Daily","chargingSchedule":[{{"id":1,"startSchedule":"2026-01-01T18:00:00Z","duration":3600,"chargingRateUnit":"A","chargingSchedulePeriod":[{{"startPeriod":0,"limit":16.0,"numberPhases":3}},{{"startPeriod":1800,"limit":10.5}}]}}]}}}}"#
        )
    );
    let (_, now) = server
        .admin("GET", &format!("/api/v1/charging-profiles/{id}"), None)
        .await;
    let installations = now["installations"].as_array().unwrap();
    assert_eq!(installations.len(), 2, "{now}");
    assert_eq!(
        (
            &installations[1]["charger_id"],
            &installations[1]["status"],
            &installations[1]["charger_status"]
        ),
        (&json!("CP-201"), &json!("refused"), &json!("Rejected"))
    );
    let (_, on_201) = server
        .admin("GET", "/api/v1/charging-profiles?charger_id=CP-201", None)
        .await;
    assert_eq!(on_201["items"][0]["id"], id);

    // Timeout → 504 and CALLERROR → 502, recorded as failed.
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp201,
        "POST",
        &path,
        Some(json!({"charger_id": "CP-201", "evse_id": 1})),
        Answer::Silence,
    )
    .await;
    problem(status, &reply, 504, "charger-timeout");
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp201,
        "POST",
        &path,
        Some(json!({"charger_id": "CP-201", "evse_id": 1})),
        Answer::Error("NotSupported"),
    )
    .await;
    problem(status, &reply, 502, "charger-call-error");
    let (_, now) = server
        .admin("GET", &format!("/api/v1/charging-profiles/{id}"), None)
        .await;
    assert_eq!(now["installations"][1]["status"], "failed", "{now}");
    assert_eq!(now["installations"][1]["evse_id"], 1);

    // Offline → 409.
    server.register("CP-OFF").await;
    let (status, reply) = server
        .admin("POST", &path, Some(json!({"charger_id": "CP-OFF"})))
        .await;
    problem(status, &reply, 409, "charger-offline");

    // Installed somewhere: cannot be deleted; cleared on the charger, then it can.
    let (status, reply) = server
        .admin("DELETE", &format!("/api/v1/charging-profiles/{id}"), None)
        .await;
    problem(status, &reply, 409, "conflict");
    let (action, payload, status, reply) = exchange(
        &server,
        &mut cp16,
        "DELETE",
        &format!("{path}/CP-16"),
        None,
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(
        (action.as_str(), status),
        ("ClearChargingProfile", 200),
        "{reply}"
    );
    assert_eq!(payload, format!(r#"{{"id":{id}}}"#));
    assert_eq!(reply["installations"][0]["status"], "cleared");
    let (action, payload, _, _) = exchange(
        &server,
        &mut cp201,
        "DELETE",
        &format!("{path}/CP-201"),
        None,
        Answer::Result(json!({"status": "Unknown"})),
    )
    .await;
    assert_eq!(action, "ClearChargingProfile");
    assert_eq!(payload, format!(r#"{{"chargingProfileId":{id}}}"#));
    let (status, _) = server
        .admin("DELETE", &format!("/api/v1/charging-profiles/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .admin("GET", &format!("/api/v1/charging-profiles/{id}"), None)
        .await;
    assert_eq!(status, 404);

    // Malformed profiles are refused with a clear 400 and nothing stored.
    let mut bad = profile_body();
    bad["schedules"][0]["periods"][0]["start_period"] = json!(60);
    let (status, reply) = server
        .admin("POST", "/api/v1/charging-profiles", Some(bad))
        .await;
    problem(status, &reply, 400, "bad-request");
    let mut bad = profile_body();
    bad["kind"] = json!("Sometimes");
    let (status, reply) = server
        .admin("POST", "/api/v1/charging-profiles", Some(bad))
        .await;
    problem(status, &reply, 400, "invalid-ocpp-payload");
    let (_, all) = server.admin("GET", "/api/v1/charging-profiles", None).await;
    assert_eq!(all["items"], json!([]));

    let viewer = server.viewer().await;
    let (status, reply) = http(
        &server.http,
        "POST",
        "/api/v1/charging-profiles",
        &viewer,
        Some(&profile_body()),
    )
    .await;
    problem(status, &reply, 403, "forbidden");
}

fn entries() -> Value {
    json!([
        {"id_token": "TAG-A", "expiry_date": "2027-01-01T00:00:00Z", "group_id": "FLEET"},
        {"id_token": "TAG-B", "status": "Blocked"}
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_list_versions_over_full_and_differential_updates_in_1_6() {
    let server = start();
    let mut cp = server.connect("CP-16", "ocpp1.6").await;
    let path = "/api/v1/chargers/CP-16/local-list";

    let (status, list) = server.admin("GET", path, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&list["version"], &list["entries"]),
        (&json!(0), &json!([]))
    );

    let (action, payload, status, list) = exchange(
        &server,
        &mut cp,
        "PUT",
        path,
        Some(json!({"entries": entries()})),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!((action.as_str(), status), ("SendLocalList", 200), "{list}");
    assert_eq!(
        payload,
        r#"{"listVersion":1,"localAuthorizationList":[{"idTag":"TAG-A","idTagInfo":{"expiryDate":"2027-01-01T00:00:00Z","parentIdTag":"FLEET","status":"Accepted"}},{"idTag":"TAG-B","idTagInfo":{"status":"Blocked"}}],"updateType":"Full"}"#
    );
    assert_eq!(list["version"], 1);
    assert_eq!(list["entries"].as_array().unwrap().len(), 2);
    assert_eq!(list["last_sync"]["result"], "Accepted");

    // Differential: one added, one removed (a removal is an entry without idTagInfo).
    let (_, payload, status, list) = exchange(
        &server,
        &mut cp,
        "PATCH",
        path,
        Some(json!({"upsert": [{"id_token": "TAG-C"}], "remove": ["TAG-B"]})),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        payload,
        r#"{"listVersion":2,"localAuthorizationList":[{"idTag":"TAG-C","idTagInfo":{"status":"Accepted"}},{"idTag":"TAG-B"}],"updateType":"Differential"}"#
    );
    assert_eq!(list["version"], 2);
    let tokens: Vec<&str> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id_token"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, vec!["TAG-A", "TAG-C"]);

    // Failed: 409, the version stays, the sync says it.
    let (_, payload, status, reply) = exchange(
        &server,
        &mut cp,
        "PATCH",
        path,
        Some(json!({"remove": ["TAG-A"]})),
        Answer::Result(json!({"status": "Failed"})),
    )
    .await;
    problem(status, &reply, 409, "conflict");
    assert!(payload.starts_with(r#"{"listVersion":3,"#), "{payload}");
    let (_, list) = server.admin("GET", path, None).await;
    assert_eq!(list["version"], 2);
    assert_eq!(list["entries"].as_array().unwrap().len(), 2);
    assert_eq!(
        (
            &list["last_sync"]["result"],
            &list["last_sync"]["version"],
            &list["last_sync"]["update_type"]
        ),
        (&json!("Failed"), &json!(3), &json!("Differential"))
    );

    // No answer, CALLERROR: recorded, version unchanged.
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "PUT",
        path,
        Some(json!({"entries": []})),
        Answer::Silence,
    )
    .await;
    problem(status, &reply, 504, "charger-timeout");
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "PUT",
        path,
        Some(json!({"entries": []})),
        Answer::Error("NotImplemented"),
    )
    .await;
    problem(status, &reply, 502, "charger-call-error");
    let (_, list) = server.admin("GET", path, None).await;
    assert_eq!(list["version"], 2);
    assert!(
        list["last_sync"]["result"]
            .as_str()
            .unwrap()
            .starts_with("error"),
        "{list}"
    );

    // The charger's own version.
    let (action, payload, status, list) = exchange(
        &server,
        &mut cp,
        "POST",
        &format!("{path}/version"),
        None,
        Answer::Result(json!({"listVersion": 2})),
    )
    .await;
    assert_eq!(
        (action.as_str(), payload.as_str(), status),
        ("GetLocalListVersion", "{}", 200),
        "{list}"
    );
    assert_eq!(list["charger_version"]["version"], 2);

    // Duplicates are refused before anything is sent; offline → 409; viewers only read.
    let (status, reply) = server
        .admin(
            "PUT",
            path,
            Some(json!({"entries": [{"id_token": "X"}, {"id_token": "X"}]})),
        )
        .await;
    problem(status, &reply, 400, "bad-request");
    server.register("CP-OFF").await;
    let (status, reply) = server
        .admin(
            "PUT",
            "/api/v1/chargers/CP-OFF/local-list",
            Some(json!({"entries": []})),
        )
        .await;
    problem(status, &reply, 409, "charger-offline");
    let viewer = server.viewer().await;
    let (status, _) = http(&server.http, "GET", path, &viewer, None).await;
    assert_eq!(status, 200);
    let (status, reply) = http(
        &server.http,
        "PATCH",
        path,
        &viewer,
        Some(&json!({"remove": ["TAG-A"]})),
    )
    .await;
    problem(status, &reply, 403, "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_list_version_mismatch_is_cured_by_a_full_update_in_2_0_1() {
    let server = start();
    let mut cp = server.connect("CP-201", "ocpp2.0.1").await;
    let path = "/api/v1/chargers/CP-201/local-list";

    let (_, payload, status, list) = exchange(
        &server,
        &mut cp,
        "PUT",
        path,
        Some(json!({"entries": entries()})),
        Answer::Result(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        payload,
        r#"{"localAuthorizationList":[{"idToken":{"idToken":"TAG-A","type":"ISO14443"},"idTokenInfo":{"status":"Accepted","cacheExpiryDateTime":"2027-01-01T00:00:00Z","groupIdToken":{"idToken":"FLEET","type":"Central"}}},{"idToken":{"idToken":"TAG-B","type":"ISO14443"},"idTokenInfo":{"status":"Blocked"}}],"versionNumber":1,"updateType":"Full"}"#
    );
    assert_eq!(list["version"], 1);

    // The charger's list is not what Ampere thinks: the differential update is followed by
    // a full update of the intended list.
    let base = server.http.clone();
    let request = tokio::spawn(async move {
        http(
            &base,
            "PATCH",
            "/api/v1/chargers/CP-201/local-list",
            ADMIN,
            Some(&json!({"remove": ["TAG-B"]})),
        )
        .await
    });
    let differential = cp.recv().await;
    assert_eq!(
        differential[3].to_string(),
        r#"{"localAuthorizationList":[{"idToken":{"idToken":"TAG-B","type":"ISO14443"}}],"versionNumber":2,"updateType":"Differential"}"#
    );
    cp.send_text(&json!([3, differential[1], {"status": "VersionMismatch"}]).to_string())
        .await;
    let full = cp.recv().await;
    assert_eq!(
        full[3].to_string(),
        r#"{"localAuthorizationList":[{"idToken":{"idToken":"TAG-A","type":"ISO14443"},"idTokenInfo":{"status":"Accepted","cacheExpiryDateTime":"2027-01-01T00:00:00Z","groupIdToken":{"idToken":"FLEET","type":"Central"}}}],"versionNumber":2,"updateType":"Full"}"#
    );
    cp.send_text(&json!([3, full[1], {"status": "Accepted"}]).to_string())
        .await;
    let (status, list) = request.await.unwrap();
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["version"], 2);
    assert_eq!(list["entries"].as_array().unwrap().len(), 1);
    let results: Vec<(&str, &str)> = list["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["update_type"].as_str().unwrap(),
                u["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        vec![("Differential", "VersionMismatch"), ("Full", "Accepted")]
    );

    // NotSupported: 409, version unchanged.
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "PUT",
        path,
        Some(json!({"entries": []})),
        Answer::Result(json!({"status": "Failed"})),
    )
    .await;
    problem(status, &reply, 409, "conflict");
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "PATCH",
        path,
        Some(json!({"upsert": [{"id_token": "TAG-D", "id_token_type": "eMAID"}]})),
        Answer::Error("NotSupported"),
    )
    .await;
    problem(status, &reply, 502, "charger-call-error");
    let (_, _, status, reply) = exchange(
        &server,
        &mut cp,
        "PATCH",
        path,
        Some(json!({"upsert": [{"id_token": "TAG-D"}]})),
        Answer::Silence,
    )
    .await;
    problem(status, &reply, 504, "charger-timeout");
    let (_, list) = server.admin("GET", path, None).await;
    assert_eq!(list["version"], 2);

    let (_, payload, _, list) = exchange(
        &server,
        &mut cp,
        "POST",
        &format!("{path}/version"),
        None,
        Answer::Result(json!({"versionNumber": 2})),
    )
    .await;
    assert_eq!(payload, "{}");
    assert_eq!(list["charger_version"]["version"], 2);
}
