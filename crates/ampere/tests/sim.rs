//! The simulator against a real `ampere serve`: a mixed-version network boots, charges and
//! stops, and the store holds what it did.

// Shared with the other end-to-end tests; this file uses only the server helpers.
#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use ampere_domain::{Storage, TransactionFilter, TransactionStatus};
use ampere_sim::{ChargerProfile, SimConfig, Simulation, VersionMix};
use serde_json::json;

use common::{Server, cli};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_network_boots_charges_and_is_stored() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let data_path = data_dir.path().to_path_buf();
    cli(&data_path, &["id-token", "add", "SIMTOKEN"]);
    let mut server = Server::start_in(data_dir, &["--unknown-chargers", "accept"]);

    let chargers = 20;
    let sim = Simulation::start(SimConfig {
        url: format!("{}/ocpp", server.ocpp_base),
        chargers,
        versions: VersionMix::parse("mix").expect("mix"),
        id_prefix: "SIM".into(),
        password: None,
        connect_rate: 1000,
        seed: 7,
        profile: ChargerProfile {
            session_interval: Duration::from_millis(300),
            session_duration: Duration::from_secs(3),
            meter_interval: Duration::from_millis(500),
            ..ChargerProfile::default()
        },
    });
    tokio::time::sleep(Duration::from_secs(7)).await;
    let summary = sim.stop(Duration::from_secs(20)).await;
    println!("{summary}");
    assert_eq!(summary.boots_accepted, u64::from(chargers), "{summary}");
    assert_eq!(summary.call_errors, 0, "{summary}");
    assert_eq!(summary.invalid_answers, 0, "{summary}");
    assert_eq!(summary.disconnects, 0, "{summary}");
    assert!(
        summary.sessions_completed >= u64::from(chargers),
        "{summary}"
    );
    assert_eq!(summary.sessions_started, summary.sessions_completed);

    // Everything answered was durable; read it with the server stopped.
    assert!(server.terminate().success());
    let store = ampere_store::Store::connect(&format!(
        "sqlite://{}",
        data_path.join("ampere.db").display()
    ))
    .await
    .expect("open the store");
    let mut tx = store.read().await.expect("read");

    let stored = tx.list_chargers(None, 100).await.expect("chargers");
    assert_eq!(stored.len(), chargers as usize);
    let mut protocols = BTreeMap::new();
    for charger in &stored {
        assert!(charger.id.as_str().starts_with("SIM-000"), "{}", charger.id);
        assert!(charger.last_boot_at.is_some(), "{} booted", charger.id);
        assert_eq!(charger.vendor.as_deref(), Some("Ampere"));
        assert_eq!(charger.model.as_deref(), Some("SimCharger"));
        *protocols
            .entry(charger.protocol.clone().unwrap_or_default())
            .or_insert(0) += 1;
    }
    assert_eq!(
        protocols,
        BTreeMap::from([
            ("ocpp1.6".to_owned(), 7),
            ("ocpp2.0.1".to_owned(), 6),
            ("ocpp2.1".to_owned(), 7),
        ])
    );

    let transactions = tx
        .list_transactions(&TransactionFilter {
            limit: 10_000,
            ..TransactionFilter::default()
        })
        .await
        .expect("transactions");
    assert_eq!(transactions.len() as u64, summary.sessions_completed);
    let mut energy_by_protocol: BTreeMap<String, u64> = BTreeMap::new();
    for t in &transactions {
        assert_eq!(t.status, TransactionStatus::Completed, "{t:?}");
        // The simulator's registers count whole Wh.
        let energy: u64 = t
            .energy_wh
            .unwrap_or_else(|| panic!("energy of {t:?}"))
            .to_string()
            .parse()
            .unwrap_or_else(|_| panic!("whole, non-negative energy in {t:?}"));
        let protocol = stored
            .iter()
            .find(|c| c.id == t.charger)
            .and_then(|c| c.protocol.clone())
            .unwrap_or_default();
        *energy_by_protocol.entry(protocol).or_default() += energy;
    }
    // Every charger charged, and energy flowed in every version.
    for charger in &stored {
        assert!(
            transactions.iter().any(|t| t.charger == charger.id),
            "{} has a completed transaction",
            charger.id
        );
    }
    assert_eq!(energy_by_protocol.len(), 3, "{energy_by_protocol:?}");
    for (protocol, energy) in &energy_by_protocol {
        assert!(*energy > 0, "{protocol}: {energy} Wh");
    }
    let total: u64 = energy_by_protocol.values().sum();
    assert_eq!(total, summary.energy_wh);
}

/// The `ampere sim` command line: flags reach the simulator, the run ends after
/// `--duration`, and the final counters are printed.
#[test]
fn the_sim_command_runs_for_its_duration_and_reports() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let data_path = data_dir.path().to_path_buf();
    cli(&data_path, &["id-token", "add", "LABTAG"]);
    let mut server = Server::start_in(data_dir, &["--unknown-chargers", "accept"]);
    let url = format!("{}/ocpp", server.ocpp_base);
    let started = std::time::Instant::now();
    let out = std::process::Command::new(common::BIN)
        .args(["sim", "--url", &url, "--chargers", "3", "--version", "mix"])
        .args([
            "--mix",
            "2.0.1=1,2.1=2",
            "--id-prefix",
            "LAB",
            "--id-tokens",
            "LABTAG",
        ])
        .args(["--duration", "3", "--session-interval", "0.2"])
        .args(["--session-duration", "1", "--meter-interval", "0.3"])
        .args(["--report-interval", "0", "--seed", "1"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ampere sim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() >= Duration::from_secs(3));
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains("boots accepted 3 ") && summary.contains("CALLERROR 0"),
        "{stdout}"
    );
    assert!(!summary.contains("completed 0 "), "{stdout}");

    let listed = cli(&data_path, &["charger", "list"]);
    for id in ["LAB-00001", "LAB-00002", "LAB-00003"] {
        assert!(listed.contains(id), "{listed}");
    }
    assert!(server.terminate().success());
}

/// A bootstrap admin token for the API test (long enough for `AMPERE_API_TOKEN`).
const ADMIN: &str = "sim-test-admin-token-0123456789abcdefghijklmnopqrstuvwxyz";

/// `ampere serve` with the API token set; returns the process and its ws:// and http://
/// bases.
fn serve_with_api(data_dir: &std::path::Path) -> (std::process::Child, String, String) {
    serve_with_api_and(data_dir, &["--unknown-chargers", "accept"])
}

fn serve_with_api_and(
    data_dir: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, String, String) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(common::BIN)
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--ocpp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .env("AMPERE_API_TOKEN", ADMIN)
        .stdout(std::process::Stdio::piped())
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
    let (mut ws, mut http) = (None, None);
    while ws.is_none() || http.is_none() {
        let line = banner
            .recv_timeout(Duration::from_secs(60))
            .expect("the server prints where it listens");
        if let Some(at) = line.find("ws://") {
            ws = line[at..].split("/ocpp/").next().map(str::to_owned);
        }
        if line.contains("REST API")
            && let Some(at) = line.find("http://")
        {
            http = line[at..].split("/api/v1").next().map(str::to_owned);
        }
    }
    (child, ws.unwrap_or_default(), http.unwrap_or_default())
}

/// One HTTP/1.1 request with the admin token; the status and the JSON body.
async fn api(
    base: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (status, text) = api_raw(base, method, path, "application/json", body.into_bytes()).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// One HTTP/1.1 request with the admin token and a body of any type; the status and the
/// body as text.
async fn api_raw(
    base: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("connect to the API");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Authorization: Bearer {ADMIN}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    stream.write_all(&body).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("an HTTP answer within 30 s")
        .expect("read");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        // Chunks: hex size line, data, CRLF; a 0 size ends.
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.push_str(&tail[..size]);
            rest = tail[size..].trim_start_matches("\r\n");
        }
        out
    } else {
        rest.to_owned()
    };
    (status, body)
}

/// POSTs a command and returns the charger's response payload (the command must succeed).
async fn command(
    base: &str,
    charger: &str,
    name: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let path = format!("/api/v1/chargers/{charger}/commands/{name}");
    let (status, answer) = api(base, "POST", &path, Some(body)).await;
    assert_eq!(status, 200, "{charger} {name}: {answer}");
    answer["response"].clone()
}

/// Polls `check` every 100 ms for up to 15 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every command of the API, sent by Ampere to simulated chargers of each version, is
/// answered as a charger answers it, and the ones that act (remote start/stop, reset) act.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_commands_are_answered_by_simulated_chargers_of_each_version() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    cli(data_dir.path(), &["id-token", "add", "SIMTOKEN"]);
    let (mut server, ws, http) = serve_with_api(data_dir.path());

    // SIM-00001 speaks 1.6, SIM-00002 2.0.1, SIM-00003 2.1; no driver comes by itself.
    let sim = Simulation::start(SimConfig {
        url: format!("{ws}/ocpp"),
        chargers: 3,
        versions: VersionMix::parse("mix").expect("mix"),
        id_prefix: "SIM".into(),
        password: None,
        connect_rate: 100,
        seed: 11,
        profile: ChargerProfile {
            session_interval: Duration::from_secs(1_000_000),
            meter_interval: Duration::from_millis(500),
            reboot_delay: Duration::from_millis(200),
            ..ChargerProfile::default()
        },
    });
    let online = |id: &'static str| {
        let http = http.clone();
        async move {
            let (status, charger) =
                api(&http, "GET", &format!("/api/v1/chargers/{id}"), None).await;
            // Connectors reported: the charger has taken in its boot answer (whose
            // heartbeat interval would otherwise overwrite a setting made just before).
            status == 200
                && charger["online"] == true
                && charger["registration_status"] == "Accepted"
                && charger["evses"].as_array().is_some_and(|e| !e.is_empty())
        }
    };

    for (id, v16) in [
        ("SIM-00001", true),
        ("SIM-00002", false),
        ("SIM-00003", false),
    ] {
        eventually(&format!("{id} online"), || online(id)).await;

        // Configuration: a 1.6 key, or a 2.x variable.
        let (set, get) = if v16 {
            (
                json!({"key": "HeartbeatInterval", "value": "42"}),
                json!({"keys": ["HeartbeatInterval"]}),
            )
        } else {
            let variable = json!({"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"});
            let mut with_value = variable.clone();
            with_value["value"] = json!("42");
            (
                json!({"variables": [with_value]}),
                json!({"variables": [variable]}),
            )
        };
        let answer = command(&http, id, "set-configuration", set).await;
        let got = command(&http, id, "get-configuration", get).await;
        if v16 {
            assert_eq!(answer, json!({"status": "Accepted"}));
            assert_eq!(got["configurationKey"][0]["value"], "42", "{got}");
        } else {
            assert_eq!(
                answer["setVariableResult"][0]["attributeStatus"], "Accepted",
                "{answer}"
            );
            assert_eq!(got["getVariableResult"][0]["attributeValue"], "42", "{got}");
        }

        // Remote start: the transaction appears; remote stop: it completes.
        let answer = command(
            &http,
            id,
            "remote-start",
            json!({"id_token": "SIMTOKEN", "evse_id": 1}),
        )
        .await;
        assert_eq!(answer["status"], "Accepted", "{answer}");
        let list = format!("/api/v1/transactions?charger_id={id}");
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let transaction_id = loop {
            let (_, page) = api(&http, "GET", &format!("{list}&status=active"), None).await;
            if let Some(t) = page["items"].get(0) {
                break t["transaction_id"].clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{id}'s transaction: {page}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let stop_id = if v16 {
            json!(transaction_id.as_str().and_then(|t| t.parse::<i64>().ok()))
        } else {
            transaction_id.clone()
        };
        // Let it charge a moment.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let answer = command(&http, id, "remote-stop", json!({"transaction_id": stop_id})).await;
        assert_eq!(answer["status"], "Accepted", "{answer}");
        eventually(&format!("{id}'s transaction completed"), || {
            let (http, list) = (http.clone(), list.clone());
            async move {
                let (_, page) = api(&http, "GET", &format!("{list}&status=completed"), None).await;
                page["items"]
                    .get(0)
                    .is_some_and(|t| t["energy_wh"].as_f64().is_some_and(|e| e > 0.0))
            }
        })
        .await;

        // Commands that answer without acting much.
        let answer = command(&http, id, "unlock", json!({"evse_id": 1})).await;
        assert_eq!(answer["status"], "Unlocked", "{answer}");
        let answer = command(
            &http,
            id,
            "trigger-message",
            json!({"requested_message": "Heartbeat"}),
        )
        .await;
        assert_eq!(answer["status"], "Accepted", "{answer}");
        for status in ["Inoperative", "Operative"] {
            let answer = command(
                &http,
                id,
                "change-availability",
                json!({"operational_status": status}),
            )
            .await;
            assert_eq!(answer["status"], "Accepted", "{status}: {answer}");
        }
        let answer = command(&http, id, "clear-cache", json!({})).await;
        assert_eq!(answer["status"], "Accepted", "{answer}");
        let answer = command(
            &http,
            id,
            "data-transfer",
            json!({"vendor_id": "Elsewhere"}),
        )
        .await;
        assert_eq!(answer["status"], "UnknownVendorId", "{answer}");

        // Reset: accepted, the charger reboots and comes back accepted.
        let answer = command(&http, id, "reset", json!({"type": "Hard"})).await;
        assert_eq!(answer["status"], "Accepted", "{answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        eventually(&format!("{id} back after its reboot"), || online(id)).await;
    }

    let summary = sim.stop(Duration::from_secs(20)).await;
    assert_eq!(summary.reboots, 3, "{summary}");
    assert_eq!(summary.sessions_completed, 3, "{summary}");
    assert_eq!(summary.call_errors, 0, "{summary}");
    assert_eq!(summary.invalid_answers, 0, "{summary}");
    let _ = server.kill();
    let _ = server.wait();
}

/// What the file server of the tests below received.
#[derive(Debug, Clone)]
struct FileRequest {
    method: String,
    path: String,
    headers: String,
    body: Vec<u8>,
}

/// The firmware image the file server hands out.
const FIRMWARE: &[u8] = b"AMPERE-FIRMWARE-IMAGE v2.0\n0123456789abcdef";

/// A small HTTP/1.1 file server on a free port, as a charger's firmware and log locations
/// point to: GET answers the firmware image, POST and PUT take the upload. Every request
/// is reported on the channel.
async fn file_server() -> (String, tokio::sync::mpsc::UnboundedReceiver<FileRequest>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the file server");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (seen, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut chunk = [0u8; 4096];
                // The head, then as much body as Content-Length says.
                let (head_end, length) = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&chunk[..n]);
                    if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while raw.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    raw.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
                let mut words = head.split_whitespace();
                let method = words.next().unwrap_or_default().to_owned();
                let path = words.next().unwrap_or_default().to_owned();
                let body = if method == "GET" {
                    FIRMWARE
                } else {
                    b"" as &[u8]
                };
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.write_all(body).await;
                let _ = seen.send(FileRequest {
                    method,
                    path,
                    headers: head,
                    body: raw[head_end..].to_vec(),
                });
            });
        }
    });
    (base, received)
}

async fn next_file_request(
    received: &mut tokio::sync::mpsc::UnboundedReceiver<FileRequest>,
) -> FileRequest {
    tokio::time::timeout(Duration::from_secs(15), received.recv())
        .await
        .expect("the charger reached the file server within 15 s")
        .expect("file server running")
}

/// A raw OCPP call through the API: the HTTP status and the charger's answer (or the
/// problem document).
async fn ocpp(
    base: &str,
    charger: &str,
    action: &str,
    payload: serde_json::Value,
) -> (u16, serde_json::Value) {
    let path = format!("/api/v1/chargers/{charger}/ocpp/{action}");
    let (status, answer) = api(base, "POST", &path, Some(payload)).await;
    if status == 200 {
        (status, answer["response"].clone())
    } else {
        (status, answer)
    }
}

/// A self-signed certificate in PEM, as InstallCertificate carries one (the simulator
/// keeps it and derives its ids from its DER bytes).
const CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQW1wZXJlU2ltVGVzdENlcnQwCgYIKoZIzj0EAwIwGDEW\nMBQGA1UEAwwNYW1wZXJlLXNpbS1jYTAeFw0yNjAxMDEwMDAwMDBaFw0zNjAxMDEw\n-----END CERTIFICATE-----\n";

/// Every CSMS-initiated action the simulator implements, sent through Ampere's API to a
/// simulated charger of each version, is answered as a charger answers it: reservations,
/// local lists, charging profiles with the composite schedule they make, certificates,
/// data transfer, triggers, display messages, customer information, monitoring, and the
/// firmware download and log upload done for real against an HTTP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_csms_call_is_answered_by_simulated_chargers_of_each_version() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    cli(data_dir.path(), &["id-token", "add", "SIMTOKEN"]);
    let (mut server, ws, http) = serve_with_api(data_dir.path());
    let (files, mut received) = file_server().await;

    let sim = Simulation::start(SimConfig {
        url: format!("{ws}/ocpp"),
        chargers: 3,
        versions: VersionMix::parse("mix").expect("mix"),
        id_prefix: "SIM".into(),
        password: None,
        connect_rate: 100,
        seed: 5,
        profile: ChargerProfile {
            session_interval: Duration::from_secs(1_000_000),
            reboot_delay: Duration::from_millis(200),
            install_step: Duration::from_millis(100),
            ..ChargerProfile::default()
        },
    });
    let online = |id: &'static str| {
        let http = http.clone();
        async move {
            let (status, charger) =
                api(&http, "GET", &format!("/api/v1/chargers/{id}"), None).await;
            // Connectors reported: the charger has taken in its boot answer (whose
            // heartbeat interval would otherwise overwrite a setting made just before).
            status == 200
                && charger["online"] == true
                && charger["registration_status"] == "Accepted"
                && charger["evses"].as_array().is_some_and(|e| !e.is_empty())
        }
    };
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let now = chrono::Utc::now().to_rfc3339();

    // ------------------------------------------------------------------ 1.6
    let id = "SIM-00001";
    eventually("SIM-00001 online", || online(id)).await;
    let call = |action: &'static str, payload: serde_json::Value| {
        let http = http.clone();
        async move { ocpp(&http, id, action, payload).await }
    };
    let ok = |(status, answer): (u16, serde_json::Value)| {
        assert_eq!(status, 200, "{answer}");
        answer
    };
    // Reservations: held, refused twice, cancelled.
    let answer = ok(call(
        "ReserveNow",
        json!({"connectorId": 1, "expiryDate": soon, "idTag": "SIMTOKEN", "reservationId": 7}),
    )
    .await);
    assert_eq!(answer, json!({"status": "Accepted"}));
    let answer = ok(call(
        "ReserveNow",
        json!({"connectorId": 1, "expiryDate": soon, "idTag": "OTHER", "reservationId": 8}),
    )
    .await);
    assert_eq!(answer, json!({"status": "Occupied"}));
    // A remote start of another token cannot take the reserved connector.
    let answer = ok(call(
        "RemoteStartTransaction",
        json!({"idTag": "OTHER", "connectorId": 1}),
    )
    .await);
    assert_eq!(answer, json!({"status": "Rejected"}));
    for (reservation, expected) in [(7, "Accepted"), (7, "Rejected")] {
        let answer = ok(call("CancelReservation", json!({"reservationId": reservation})).await);
        assert_eq!(answer, json!({"status": expected}));
    }
    // Local list: full, version, stale differential.
    let answer = ok(call(
        "SendLocalList",
        json!({"listVersion": 3, "updateType": "Full",
               "localAuthorizationList": [{"idTag": "LOCAL1", "idTagInfo": {"status": "Accepted"}}]}),
    )
    .await);
    assert_eq!(answer, json!({"status": "Accepted"}));
    assert_eq!(
        ok(call("GetLocalListVersion", json!({})).await),
        json!({"listVersion": 3})
    );
    let answer = ok(call(
        "SendLocalList",
        json!({"listVersion": 2, "updateType": "Differential",
               "localAuthorizationList": [{"idTag": "LOCAL1"}]}),
    )
    .await);
    assert_eq!(answer, json!({"status": "VersionMismatch"}));
    // Charging profiles: a 5 kW station maximum shows in the composite schedule.
    let answer = ok(call(
        "SetChargingProfile",
        json!({"connectorId": 0, "csChargingProfiles": {
            "chargingProfileId": 1, "stackLevel": 0,
            "chargingProfilePurpose": "ChargePointMaxProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": {"startSchedule": past, "chargingRateUnit": "W",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 5000}]}}}),
    )
    .await);
    assert_eq!(answer, json!({"status": "Accepted"}));
    // A transaction profile without a transaction is refused.
    let answer = ok(call(
        "SetChargingProfile",
        json!({"connectorId": 1, "csChargingProfiles": {
            "chargingProfileId": 2, "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}]}}}),
    )
    .await);
    assert_eq!(answer, json!({"status": "Rejected"}));
    let schedule = ok(call(
        "GetCompositeSchedule",
        json!({"connectorId": 1, "duration": 600, "chargingRateUnit": "W"}),
    )
    .await);
    assert_eq!(schedule["status"], "Accepted", "{schedule}");
    assert_eq!(
        schedule["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"].as_f64(),
        Some(5000.0),
        "{schedule}"
    );
    for expected in ["Accepted", "Unknown"] {
        let answer = ok(call("ClearChargingProfile", json!({"id": 1})).await);
        assert_eq!(answer, json!({"status": expected}));
    }
    // Certificates: installed, listed, deleted.
    let answer = ok(call(
        "InstallCertificate",
        json!({"certificateType": "CentralSystemRootCertificate", "certificate": CERTIFICATE}),
    )
    .await);
    assert_eq!(answer, json!({"status": "Accepted"}));
    let listed = ok(call(
        "GetInstalledCertificateIds",
        json!({"certificateType": "CentralSystemRootCertificate"}),
    )
    .await);
    assert_eq!(listed["status"], "Accepted", "{listed}");
    let hash = listed["certificateHashData"][0].clone();
    let answer = ok(call("DeleteCertificate", json!({"certificateHashData": hash})).await);
    assert_eq!(answer, json!({"status": "Accepted"}));
    let answer = ok(call("DeleteCertificate", json!({"certificateHashData": hash})).await);
    assert_eq!(answer, json!({"status": "NotFound"}));
    // Data transfer and triggers.
    let answer = ok(call(
        "DataTransfer",
        json!({"vendorId": "ampere-sim", "messageId": "Echo", "data": "ping"}),
    )
    .await);
    assert_eq!(answer, json!({"status": "Accepted", "data": "ping"}));
    for message in [
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    ] {
        let answer = ok(call("TriggerMessage", json!({"requestedMessage": message})).await);
        assert_eq!(answer, json!({"status": "Accepted"}), "{message}");
    }
    let answer = ok(call(
        "ExtendedTriggerMessage",
        json!({"requestedMessage": "LogStatusNotification"}),
    )
    .await);
    assert_eq!(answer, json!({"status": "Accepted"}));
    // Diagnostics: the file name answered is the file uploaded.
    let answer = ok(call(
        "GetDiagnostics",
        json!({"location": format!("{files}/upload/1.6")}),
    )
    .await);
    let file_name = answer["fileName"].as_str().expect("a file name").to_owned();
    let upload = next_file_request(&mut received).await;
    assert_eq!(
        (upload.method.as_str(), upload.path.as_str()),
        ("POST", "/upload/1.6")
    );
    assert!(
        upload.headers.contains("multipart/form-data"),
        "{}",
        upload.headers
    );
    let body = String::from_utf8_lossy(&upload.body);
    assert!(
        body.contains(&format!("filename=\"{file_name}\"")),
        "{body}"
    );
    assert!(body.contains("charger SIM-00001"), "{body}");
    // Firmware: downloaded for real, then the charger reboots into it.
    let answer = ok(call(
        "UpdateFirmware",
        json!({"location": format!("{files}/firmware/v2.bin"), "retrieveDate": now}),
    )
    .await);
    assert_eq!(answer, json!({}));
    let download = next_file_request(&mut received).await;
    assert_eq!(
        (download.method.as_str(), download.path.as_str()),
        ("GET", "/firmware/v2.bin")
    );
    eventually("SIM-00001 rebooted into its new firmware", || {
        let http = http.clone();
        async move {
            let (_, charger) = api(&http, "GET", "/api/v1/chargers/SIM-00001", None).await;
            charger["online"] == true
                && charger["firmware_version"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("fw-"))
        }
    })
    .await;

    // ------------------------------------------------------------------ 2.0.1 and 2.1
    for id in ["SIM-00002", "SIM-00003"] {
        eventually(&format!("{id} online"), || {
            online(if id == "SIM-00002" {
                "SIM-00002"
            } else {
                "SIM-00003"
            })
        })
        .await;
        let call = |action: &'static str, payload: serde_json::Value| {
            let http = http.clone();
            async move { ocpp(&http, id, action, payload).await }
        };
        let token = json!({"idToken": "SIMTOKEN", "type": "ISO14443"});
        let answer = ok(call(
            "ReserveNow",
            json!({"id": 7, "expiryDateTime": soon, "idToken": token, "evseId": 1}),
        )
        .await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let answer = ok(call("CancelReservation", json!({"reservationId": 7})).await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        // A reservation that expires is reported by ReservationStatusUpdate (Ampere
        // answers it); the EVSE is free again.
        let expires = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
        let answer = ok(call(
            "ReserveNow",
            json!({"id": 9, "expiryDateTime": expires, "idToken": token, "evseId": 1}),
        )
        .await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");

        let answer = ok(call(
            "SendLocalList",
            json!({"versionNumber": 4, "updateType": "Full",
                   "localAuthorizationList": [{"idToken": {"idToken": "LOCAL1", "type": "ISO14443"},
                                               "idTokenInfo": {"status": "Accepted"}}]}),
        )
        .await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let answer = ok(call("GetLocalListVersion", json!({})).await);
        assert_eq!(answer["versionNumber"], 4, "{id}: {answer}");

        let answer = ok(call(
            "SetChargingProfile",
            json!({"evseId": 0, "chargingProfile": {
                "id": 1, "stackLevel": 0, "chargingProfilePurpose": "ChargingStationMaxProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": [{"id": 1, "startSchedule": past, "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16, "numberPhases": 3}]}]}}),
        )
        .await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let schedule = ok(call(
            "GetCompositeSchedule",
            json!({"duration": 300, "chargingRateUnit": "W", "evseId": 1}),
        )
        .await);
        // 16 A × 230 V × 3 phases.
        assert_eq!(
            schedule["schedule"]["chargingSchedulePeriod"][0]["limit"].as_f64(),
            Some(11040.0),
            "{id}: {schedule}"
        );
        let answer = ok(call(
            "GetChargingProfiles",
            json!({"requestId": 3, "chargingProfile": {}}),
        )
        .await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let answer = ok(call("ClearChargingProfile", json!({"chargingProfileId": 1})).await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");

        let answer = ok(call(
            "InstallCertificate",
            json!({"certificateType": "CSMSRootCertificate", "certificate": CERTIFICATE}),
        )
        .await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let listed = ok(call("GetInstalledCertificateIds", json!({})).await);
        let hash = listed["certificateHashDataChain"][0]["certificateHashData"].clone();
        assert!(hash.is_object(), "{id}: {listed}");
        let answer = ok(call("DeleteCertificate", json!({"certificateHashData": hash})).await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");

        let answer = ok(call(
            "SetDisplayMessage",
            json!({"message": {"id": 1, "priority": "NormalCycle",
                               "message": {"format": "UTF8", "content": "Welcome"}}}),
        )
        .await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let answer = ok(call("GetDisplayMessages", json!({"requestId": 2})).await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let answer = ok(call("ClearDisplayMessage", json!({"id": 1})).await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let answer = ok(call(
            "CustomerInformation",
            json!({"requestId": 4, "report": true, "clear": false, "idToken": token}),
        )
        .await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let answer = ok(call("GetTransactionStatus", json!({})).await);
        assert_eq!(answer["messagesInQueue"], false, "{id}: {answer}");
        let answer = ok(call("GetReport", json!({"requestId": 5})).await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let answer = ok(call("GetMonitoringReport", json!({"requestId": 6})).await);
        assert_eq!(answer["status"], "EmptyResultSet", "{id}: {answer}");
        let answer = ok(call("SetMonitoringLevel", json!({"severity": 5})).await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let answer = ok(call("ClearVariableMonitoring", json!({"id": [1]})).await);
        assert_eq!(
            answer["clearMonitoringResult"][0]["status"], "NotFound",
            "{id}: {answer}"
        );
        let answer = ok(call(
            "DataTransfer",
            json!({"vendorId": "ampere-sim", "messageId": "Echo", "data": {"n": 1}}),
        )
        .await);
        assert_eq!(answer["data"], json!({"n": 1}), "{id}: {answer}");
        for message in [
            "Heartbeat",
            "StatusNotification",
            "MeterValues",
            "LogStatusNotification",
            "FirmwareStatusNotification",
        ] {
            let answer = ok(call("TriggerMessage", json!({"requestedMessage": message})).await);
            assert_eq!(answer["status"], "Accepted", "{id} {message}: {answer}");
        }
        // Without a signing key, signing is not implemented: a status, not an error.
        let answer = ok(call(
            "TriggerMessage",
            json!({"requestedMessage": "SignChargingStationCertificate"}),
        )
        .await);
        assert_eq!(answer["status"], "NotImplemented", "{id}: {answer}");
        // A local-controller action this station is not: CALLERROR NotImplemented.
        let (status, problem) = call(
            "UnpublishFirmware",
            json!({"checksum": "0123456789abcdef0123456789abcdef"}),
        )
        .await;
        assert_eq!(status, 502, "{id}: {problem}");

        let answer = ok(call(
            "GetLog",
            json!({"logType": "DiagnosticsLog", "requestId": 9,
                   "log": {"remoteLocation": format!("{files}/logs/{id}")}}),
        )
        .await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let upload = next_file_request(&mut received).await;
        assert_eq!(upload.path, format!("/logs/{id}"));
        assert!(String::from_utf8_lossy(&upload.body).contains(id));
        let answer = ok(call(
            "UpdateFirmware",
            json!({"requestId": 12, "firmware": {"location": format!("{files}/firmware/{id}.bin"),
                                                 "retrieveDateTime": now}}),
        )
        .await);
        assert_eq!(answer["status"], "Accepted", "{id}: {answer}");
        let download = next_file_request(&mut received).await;
        assert_eq!(download.path, format!("/firmware/{id}.bin"));
    }

    // The expired reservations freed their EVSEs, and both 2.x stations came back from
    // their firmware reboot.
    for id in ["SIM-00002", "SIM-00003"] {
        eventually(&format!("{id} rebooted"), || {
            let http = http.clone();
            async move {
                let (_, charger) = api(&http, "GET", &format!("/api/v1/chargers/{id}"), None).await;
                charger["online"] == true
                    && charger["firmware_version"]
                        .as_str()
                        .is_some_and(|v| v.starts_with("fw-"))
            }
        })
        .await;
    }
    let summary = sim.stop(Duration::from_secs(20)).await;
    assert_eq!(summary.reboots, 3, "{summary}");
    assert_eq!(summary.transfers, 6, "{summary}");
    assert_eq!(summary.invalid_answers, 0, "{summary}");
    assert_eq!(summary.call_errors, 0, "{summary}");
    let _ = server.kill();
    let _ = server.wait();
}

/// A fault scenario against a real server: each charger authorizes a driver, loses its
/// connection, starts, charges and stops the session offline (StartTransaction /
/// TransactionEvent, meter values and the stop are queued), comes back, replays the queue
/// in order, then runs a second session online. Ampere ends up with both transactions of
/// each charger, completed, their meter values and energy consistent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_session_is_replayed_in_order_and_stored() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    cli(data_dir.path(), &["id-token", "add", "SIMTOKEN"]);
    let (mut server, ws, http) = serve_with_api(data_dir.path());
    let steps = r#"
        { do = "connect" },
        { do = "plug" },
        { do = "authorize", id_token = "SIMTOKEN" },
        { do = "offline", seconds = 6 },
        { do = "start" },
        { do = "meter", seconds = 1.6, kw = 11 },
        { do = "stop" },
        { do = "online" },
        { do = "plug" },
        { do = "authorize", id_token = "SIMTOKEN" },
        { do = "start" },
        { do = "meter", seconds = 1, kw = 7.4 },
        { do = "stop" },
    "#;
    let scenario = ampere_sim::Scenario::parse(
        &format!(
            "name = \"offline\"\n\
             [[group]]\nid_prefix = \"OFF16\"\nversion = \"1.6\"\nstep = [{steps}]\n\
             [[group]]\nid_prefix = \"OFF201\"\nversion = \"2.0.1\"\nstep = [{steps}]\n"
        ),
        false,
    )
    .expect("scenario");
    let sim = Simulation::start_scenario(
        SimConfig {
            url: format!("{ws}/ocpp"),
            chargers: 0,
            versions: VersionMix::parse("1.6").expect("version"),
            id_prefix: "SIM".into(),
            password: None,
            connect_rate: 100,
            seed: 3,
            profile: ChargerProfile {
                meter_interval: Duration::from_millis(400),
                ..ChargerProfile::default()
            },
        },
        &scenario,
    );

    for id in ["OFF16-00001", "OFF201-00001"] {
        let list = format!("/api/v1/transactions?charger_id={id}&status=completed");
        eventually(&format!("{id}'s two sessions stored"), || {
            let (http, list) = (http.clone(), list.clone());
            async move {
                let (_, page) = api(&http, "GET", &list, None).await;
                page["items"]
                    .as_array()
                    .is_some_and(|items| items.len() == 2)
            }
        })
        .await;
        let (_, page) = api(&http, "GET", &list, None).await;
        let mut items = page["items"].as_array().expect("items").clone();
        items.sort_by_key(|t| t["started_at"].as_str().unwrap_or_default().to_owned());
        let (offline, online) = (&items[0], &items[1]);
        for t in [offline, online] {
            let start = t["meter_start_wh"].as_f64().expect("meter start");
            let stop = t["meter_stop_wh"].as_f64().expect("meter stop");
            let energy = t["energy_wh"].as_f64().expect("energy");
            assert!(energy > 0.0, "{id}: energy flowed: {t}");
            assert_eq!(stop - start, energy, "{id}: {t}");
        }
        // The register only grows: the session charged offline comes first.
        assert!(
            offline["meter_stop_wh"].as_f64() <= online["meter_start_wh"].as_f64(),
            "{id}: {offline} then {online}"
        );
        // 1.6 sessions get the ids the CSMS gave when the queued start arrived; the readings
        // taken offline are in the transaction, in time order, and never go down.
        let detail = format!("/api/v1/transactions/{}", offline["id"]);
        let (_, detail) = api(&http, "GET", &detail, None).await;
        let readings: Vec<(String, f64)> = detail["meter_values"]
            .as_array()
            .expect("meter values")
            .iter()
            .filter_map(|mv| {
                let energy = mv["sampled_values"].as_array()?.iter().find(|s| {
                    s["measurand"]
                        .as_str()
                        .is_none_or(|m| m == "Energy.Active.Import.Register")
                })?;
                Some((
                    mv["timestamp"].as_str()?.to_owned(),
                    energy["value"].as_str()?.parse().ok()?,
                ))
            })
            .collect();
        assert!(readings.len() >= 3, "{id}: offline readings kept: {detail}");
        for pair in readings.windows(2) {
            assert!(
                pair[0].0 <= pair[1].0 && pair[0].1 <= pair[1].1,
                "{id}: {readings:?}"
            );
        }
    }
    let summary = sim.stop(Duration::from_secs(20)).await;
    assert_eq!(summary.offline_periods, 2, "{summary}");
    assert!(summary.queued >= 2 * 4, "{summary}");
    assert_eq!(summary.replayed, summary.queued, "{summary}");
    assert_eq!(summary.sessions_completed, 4, "{summary}");
    assert_eq!(summary.call_errors, 0, "{summary}");
    let _ = server.kill();
    let _ = server.wait();
}

/// `ampere serve --demo 3`: a new installation (unknown chargers refused, no token added)
/// shows three simulated chargers of mixed versions, registered and accepted, and their
/// drivers charge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_runs_a_living_network_inside_the_server() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let (mut server, _, http) = serve_with_api_and(
        data_dir.path(),
        &["--unknown-chargers", "reject", "--demo", "3"],
    );
    for id in ["DEMO-00001", "DEMO-00002", "DEMO-00003"] {
        eventually(&format!("{id} online and accepted"), || {
            let http = http.clone();
            async move {
                let (_, charger) = api(&http, "GET", &format!("/api/v1/chargers/{id}"), None).await;
                charger["online"] == true && charger["registration_status"] == "Accepted"
            }
        })
        .await;
    }
    let (_, page) = api(&http, "GET", "/api/v1/chargers?limit=10", None).await;
    let protocols: std::collections::BTreeSet<String> = page["items"]
        .as_array()
        .expect("chargers")
        .iter()
        .filter_map(|c| c["protocol"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(protocols.len(), 3, "mixed versions: {page}");
    eventually("a demo driver charging", || {
        let http = http.clone();
        async move {
            let (_, page) = api(&http, "GET", "/api/v1/transactions?limit=10", None).await;
            page["items"].as_array().is_some_and(|items| {
                items.iter().any(|t| {
                    t["charger_id"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("DEMO-"))
                })
            })
        }
    })
    .await;
    let _ = server.kill();
    let _ = server.wait();
}

/// Faults on demand against a real server: duplicate frames, slow answers, a skewed clock,
/// connections dropped without a close frame, and a reconnect storm of the whole run. The
/// network comes back every time and Ampere still stores every session, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_on_demand_leave_every_session_stored_once() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    cli(data_dir.path(), &["id-token", "add", "SIMTOKEN"]);
    let (mut server, ws, http) = serve_with_api(data_dir.path());
    let chargers = 6;
    let sim = Simulation::start(SimConfig {
        url: format!("{ws}/ocpp"),
        chargers,
        versions: VersionMix::parse("mix").expect("mix"),
        id_prefix: "FLT".into(),
        password: None,
        connect_rate: 1000,
        seed: 9,
        profile: ChargerProfile {
            session_interval: Duration::from_millis(300),
            session_duration: Duration::from_secs(2),
            meter_interval: Duration::from_millis(400),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_millis(800),
            faults: ampere_sim::Faults {
                duplicate_chance: 0.2,
                answer_delay: Duration::from_millis(20),
                clock_skew: chrono::Duration::seconds(-120),
                drop_every: Some(Duration::from_secs(3)),
                ..ampere_sim::Faults::default()
            },
            ..ChargerProfile::default()
        },
    });
    let connected = |at_least: u64| {
        let http = http.clone();
        async move {
            let (_, page) = api(&http, "GET", "/api/v1/chargers?limit=50", None).await;
            let online = page["items"].as_array().map_or(0, |items| {
                items.iter().filter(|c| c["online"] == true).count()
            });
            online as u64 >= at_least
        }
    };
    eventually("all chargers online", || connected(u64::from(chargers))).await;
    let before = sim.summary();
    sim.storm();
    // Every charger drops at once and comes back.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while sim.summary().connects < before.connects + u64::from(chargers) {
        assert!(std::time::Instant::now() < deadline, "{}", sim.summary());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eventually("all chargers online after the storm", || {
        connected(u64::from(chargers))
    })
    .await;
    // Sessions go on after the storm.
    let stormed = sim.summary().sessions_completed;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while sim.summary().sessions_completed < stormed + u64::from(chargers) {
        assert!(std::time::Instant::now() < deadline, "{}", sim.summary());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let summary = sim.stop(Duration::from_secs(20)).await;
    assert!(summary.duplicates_sent > 0, "{summary}");
    assert!(summary.drops >= u64::from(chargers), "{summary}");
    assert_eq!(summary.storms, 1, "{summary}");
    assert_eq!(summary.invalid_answers, 0, "{summary}");
    assert!(summary.sessions_completed > 0, "{summary}");

    // Every completed session is stored once, with its energy; none twice for a duplicate.
    eventually("the last sessions stored", || {
        let http = http.clone();
        async move {
            let (_, page) = api(
                &http,
                "GET",
                "/api/v1/transactions?status=completed&limit=500",
                None,
            )
            .await;
            page["items"].as_array().map_or(0, Vec::len) as u64 >= summary.sessions_completed
        }
    })
    .await;
    let (_, page) = api(&http, "GET", "/api/v1/transactions?limit=500", None).await;
    let items = page["items"].as_array().expect("transactions");
    let completed: Vec<&serde_json::Value> = items
        .iter()
        .filter(|t| t["status"] == "completed")
        .collect();
    assert_eq!(completed.len() as u64, summary.sessions_completed, "{page}");
    let energy: f64 = completed
        .iter()
        .filter_map(|t| t["energy_wh"].as_f64())
        .sum();
    assert_eq!(energy as u64, summary.energy_wh);
    // The skewed clock shows in what was stored: starts two minutes in the past.
    let first = completed[0]["started_at"].as_str().expect("started_at");
    let started = chrono::DateTime::parse_from_rfc3339(first).expect("time");
    assert!(
        chrono::Utc::now().signed_duration_since(started) > chrono::Duration::seconds(90),
        "{first}"
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// The simulator against Ampere's own file endpoints: an image uploaded to Ampere is
/// downloaded by simulated 1.6 and 2.0.1 chargers (FirmwareUpdate tracked to Installed),
/// and their diagnostics/log files arrive at Ampere's upload URL, downloadable by the
/// operator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firmware_and_logs_travel_through_amperes_file_endpoints() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let (mut server, ws, http) = serve_with_api(data_dir.path());
    let sim = Simulation::start(SimConfig {
        url: format!("{ws}/ocpp"),
        chargers: 2,
        versions: VersionMix::parse("1.6=1,2.0.1=1").expect("mix"),
        id_prefix: "FILE".into(),
        password: None,
        connect_rate: 100,
        seed: 2,
        profile: ChargerProfile {
            session_interval: Duration::from_secs(1_000_000),
            reboot_delay: Duration::from_millis(200),
            install_step: Duration::from_millis(100),
            ..ChargerProfile::default()
        },
    });
    let (status, uploaded) = api_raw(
        &http,
        "POST",
        "/api/v1/firmware?name=charger-v2.bin",
        "application/octet-stream",
        FIRMWARE.to_vec(),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {uploaded}");
    let uploaded: serde_json::Value = serde_json::from_str(&uploaded).expect("JSON");
    let firmware_id = uploaded["id"].as_str().expect("firmware id").to_owned();

    for id in ["FILE-00001", "FILE-00002"] {
        eventually(&format!("{id} online"), || {
            let http = http.clone();
            async move {
                let (_, charger) = api(&http, "GET", &format!("/api/v1/chargers/{id}"), None).await;
                charger["online"] == true && charger["registration_status"] == "Accepted"
            }
        })
        .await;
        let (status, answer) = api(
            &http,
            "POST",
            &format!("/api/v1/chargers/{id}/firmware-update"),
            Some(json!({ "firmware_id": firmware_id })),
        )
        .await;
        assert_eq!(status, 200, "{id}: {answer}");
        eventually(&format!("{id}'s update installed"), || {
            let http = http.clone();
            async move {
                let path = format!("/api/v1/chargers/{id}/firmware-updates");
                let (_, page) = api(&http, "GET", &path, None).await;
                page["items"][0]["status"] == "Installed"
            }
        })
        .await;

        let (status, answer) = api(
            &http,
            "POST",
            &format!("/api/v1/chargers/{id}/diagnostics"),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, 200, "{id}: {answer}");
        let path = format!("/api/v1/chargers/{id}/diagnostics");
        eventually(&format!("{id}'s log uploaded"), || {
            let (http, path) = (http.clone(), path.clone());
            async move {
                let (_, page) = api(&http, "GET", &path, None).await;
                page["items"][0]["file"].is_object()
            }
        })
        .await;
        let (_, page) = api(&http, "GET", &path, None).await;
        let request = page["items"][0]["id"].clone();
        let (status, file) = api_raw(
            &http,
            "GET",
            &format!("/api/v1/diagnostics/{request}/file"),
            "application/json",
            Vec::new(),
        )
        .await;
        assert_eq!(status, 200, "{file}");
        assert!(file.contains(&format!("charger {id}")), "{file}");
    }
    let summary = sim.stop(Duration::from_secs(20)).await;
    assert_eq!(summary.reboots, 2, "{summary}");
    assert_eq!(summary.transfers, 4, "{summary}");
    let _ = server.kill();
    let _ = server.wait();
}

/// `ampere sim --scenario FILE` (JSON here): the file's chargers run their steps against a
/// real server — a fault, its repair, a session — and the run reports them.
#[test]
fn the_sim_command_runs_a_scenario_file() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let data_path = data_dir.path().to_path_buf();
    cli(&data_path, &["id-token", "add", "SCNTAG"]);
    let mut server = Server::start_in(data_dir, &["--unknown-chargers", "accept"]);
    let scenario_dir = tempfile::tempdir().expect("temp dir");
    let file = scenario_dir.path().join("lab.json");
    std::fs::write(
        &file,
        r#"{"name": "lab", "group": [{"id_prefix": "SCN", "count": 2, "version": "2.1", "step": [
            {"do": "fault", "kind": "GroundFailure"}, {"do": "clear_fault"},
            {"do": "plug"}, {"do": "authorize", "id_token": "SCNTAG"}, {"do": "start"},
            {"do": "meter", "seconds": 1, "kw": 11}, {"do": "stop"}]}]}"#,
    )
    .expect("write the scenario");
    let url = format!("{}/ocpp", server.ocpp_base);
    let out = std::process::Command::new(common::BIN)
        .args(["sim", "--url", &url, "--scenario"])
        .arg(&file)
        .args(["--duration", "3", "--report-interval", "0"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ampere sim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("scenario lab with 2 charger(s)"),
        "{stdout}"
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains("boots accepted 2 ")
            && summary.contains("sessions started 2 / completed 2")
            && summary.contains("CALLERROR 0"),
        "{stdout}"
    );
    let listed = cli(&data_path, &["charger", "list"]);
    assert!(
        listed.contains("SCN-00001") && listed.contains("SCN-00002"),
        "{listed}"
    );

    // A broken file is refused with the place named, before anything connects.
    std::fs::write(&file, r#"{"group": [{"step": [{"do": "fly"}]}]}"#).expect("write");
    let out = std::process::Command::new(common::BIN)
        .args(["sim", "--url", &url, "--scenario"])
        .arg(&file)
        .output()
        .expect("run ampere sim");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lab.json") && stderr.contains("fly"),
        "{stderr}"
    );
    assert!(server.terminate().success());
}
