//! Charger file transfer against a real `ampere serve` process, with a raw WebSocket charger
//! and a real HTTP client doing what a charger's HTTP stack does: an operator uploads
//! firmware, the API sends UpdateFirmware (1.6, 1.6 signed, 2.0.1) whose location the
//! "charger" downloads (whole and by Range), its status notifications are tracked; the API
//! sends GetDiagnostics (1.6) / GetLog (2.0.1), the charger uploads (PUT and multipart POST)
//! and the operator downloads the same bytes; wrong, spent and oversized uploads are
//! refused; offline, timeout and CALLERROR answers.

// The shared helpers serve several test files; this one uses only some of them.
#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{BIN, RawCharger};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A bootstrap admin token (long enough for `AMPERE_API_TOKEN`).
const ADMIN: &str = "file-transfer-admin-token-0123456789abcdefghijklmnopqrstuvwxyz";

/// Limits the servers run with, small so the tests stay fast.
const MAX_FIRMWARE: usize = 300_000;
const MAX_UPLOAD: usize = 100_000;

struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    http: String,
    /// `ws://127.0.0.1:PORT`
    ocpp: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--ocpp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .args(["--call-timeout", "1"])
            .args(["--max-firmware-bytes", &MAX_FIRMWARE.to_string()])
            .args(["--max-upload-bytes", &MAX_UPLOAD.to_string()])
            .env("AMPERE_API_TOKEN", ADMIN)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
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
        let mut seen: Vec<String> = Vec::new();
        while !seen.iter().any(|l| l.contains("charger files")) {
            seen.push(
                banner
                    .recv_timeout(Duration::from_secs(60))
                    .expect("the server prints its banner"),
            );
        }
        let find = |needle: &str| {
            let line = seen.iter().find(|l| l.contains(needle)).unwrap();
            let start = line.find(needle).unwrap();
            line[start..].split_whitespace().next().unwrap().to_owned()
        };
        let http = find("http://")
            .trim_end_matches("/health")
            .trim_end_matches("/api/v1")
            .to_owned();
        let ocpp = find("ws://").split("/ocpp/").next().unwrap().to_owned();
        Self {
            child,
            http,
            ocpp,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.http)
    }

    /// A JSON API call with a token; returns the status and the body as JSON (or text).
    async fn api(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        reply(request.send().await.expect("API request")).await
    }

    async fn token(&self, role: &str) -> String {
        let (status, body) = self
            .api(
                ADMIN,
                reqwest::Method::POST,
                "/api/v1/api-tokens",
                Some(json!({"name": role, "role": role})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Registers a charger and connects it raw, booted.
    async fn charger(&self, id: &str, subprotocol: &str) -> RawCharger {
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

    async fn register(&self, id: &str) {
        let (status, body) = self
            .api(
                ADMIN,
                reqwest::Method::POST,
                "/api/v1/chargers",
                Some(json!({"id": id})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn reply(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Bytes that are not all alike, so a misplaced range would show.
fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

/// Sends an operator call while the charger answers the CALL it receives with `answer` (a
/// CALLRESULT payload, or `Err((code, description))` for a CALLERROR). Returns the frame the
/// charger received, its payload as written on the wire, and the API's reply.
async fn exchange(
    server: &Server,
    token: &str,
    charger: &mut RawCharger,
    path: &str,
    body: Value,
    answer: Result<Value, (&str, &str)>,
) -> (Value, String, (u16, Value)) {
    let request = server
        .client
        .post(server.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send();
    let api = tokio::spawn(async move { reply(request.await.expect("API request")).await });
    let frame = charger.recv().await;
    assert_eq!(frame[0], 2, "a CALL: {frame}");
    let payload = frame[3].to_string();
    let id = frame[1].as_str().unwrap();
    let reply = match answer {
        Ok(payload) => json!([3, id, payload]),
        Err((code, description)) => json!([4, id, code, description, {}]),
    };
    charger.send_text(&reply.to_string()).await;
    (frame, payload, api.await.unwrap())
}

/// Sends a charger-initiated CALL (with a message id of its own, so it is no retry) and
/// checks it is answered with an empty payload.
async fn notify(charger: &mut RawCharger, action: &str, payload: Value) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let answer = charger
        .exchange(&json!([2, format!("n-{id}"), action, payload]).to_string())
        .await;
    assert_eq!(answer[0], 3, "{action} answered: {answer}");
    assert_eq!(answer[2], json!({}), "{answer}");
}

fn statuses(view: &Value) -> Vec<String> {
    view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firmware_goes_from_the_operator_to_chargers_over_http_with_its_progress_tracked() {
    let server = Server::start();
    let operator = server.token("operator").await;
    let viewer = server.token("viewer").await;
    let image = content(200_000, 7);

    // Upload: a viewer may not, an operator may (multipart, as a browser form sends it).
    let form = || {
        Form::new().part(
            "file",
            Part::bytes(image.clone()).file_name("ampere-fw 2.0.bin"),
        )
    };
    let refused = server
        .client
        .post(server.url("/api/v1/firmware"))
        .bearer_auth(&viewer)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let (status, firmware) = reply(
        server
            .client
            .post(server.url("/api/v1/firmware"))
            .bearer_auth(&operator)
            .multipart(form())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{firmware}");
    assert_eq!(firmware["filename"], "ampere-fw 2.0.bin");
    assert_eq!(firmware["size"], image.len());
    assert_eq!(firmware["sha256"], sha256(&image));
    let firmware_id = firmware["id"].as_str().unwrap().to_owned();
    let location = firmware["download_url"].as_str().unwrap().to_owned();
    assert_eq!(
        location,
        server.url(&format!(
            "/files/firmware/{firmware_id}/ampere-fw%202.0.bin"
        ))
    );

    // A raw body with ?name=; over the limit is 413 and stores nothing.
    let small = content(1000, 9);
    let (status, raw) = reply(
        server
            .client
            .post(server.url("/api/v1/firmware?name=small.bin"))
            .bearer_auth(&operator)
            .body(small.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{raw}");
    assert_eq!(raw["sha256"], sha256(&small));
    let (status, problem) = reply(
        server
            .client
            .post(server.url("/api/v1/firmware?name=big.bin"))
            .bearer_auth(&operator)
            .body(content(MAX_FIRMWARE + 1, 1))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 413, "{problem}");
    let (status, list) = server
        .api(&viewer, reqwest::Method::GET, "/api/v1/firmware", None)
        .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["small.bin", "ampere-fw 2.0.bin"], "newest first");

    // 1.6: UpdateFirmware with the download URL, exactly as the schema orders it.
    let mut cp16 = server.charger("FW-16", "ocpp1.6").await;
    let (frame, payload, (status, answer)) = exchange(
        &server,
        &operator,
        &mut cp16,
        "/api/v1/chargers/FW-16/firmware-update",
        json!({"firmware_id": firmware_id, "retrieve_date": "2026-12-01T10:00:00Z", "retries": 3, "retry_interval": 60}),
        Ok(json!({})),
    )
    .await;
    assert_eq!(frame[2], "UpdateFirmware");
    assert_eq!(
        payload,
        format!(
            r#"{{"location":"{location}","retries":3,"retrieveDate":"2026-12-01T10:00:00Z","retryInterval":60}}"#
        )
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["action"], "UpdateFirmware");
    assert_eq!(answer["update"]["status"], "Accepted");
    let update_id = answer["update"]["id"].as_i64().unwrap();

    // The charger downloads it as a charger does: plain HTTP, no token, whole and resumed.
    let download = reqwest::get(&location).await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.headers()["content-length"].to_str().unwrap(),
        image.len().to_string()
    );
    let bytes = download.bytes().await.unwrap();
    assert_eq!(sha256(&bytes), sha256(&image));
    let resumed = server
        .client
        .get(&location)
        .header("Range", "bytes=150000-")
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 206);
    assert_eq!(
        resumed.headers()["content-range"].to_str().unwrap(),
        format!("bytes 150000-{}/{}", image.len() - 1, image.len())
    );
    assert_eq!(resumed.bytes().await.unwrap(), image[150_000..]);
    let head = server.client.head(&location).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        image.len().to_string()
    );
    assert_eq!(head.headers()["accept-ranges"].to_str().unwrap(), "bytes");
    let wrong = location.replace(&firmware_id, "AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(reqwest::get(&wrong).await.unwrap().status(), 404);

    // Its progress, from 1.6 notifications that carry no request id.
    for status in ["Downloading", "Downloaded", "Installing", "Installed"] {
        notify(
            &mut cp16,
            "FirmwareStatusNotification",
            json!({"status": status}),
        )
        .await;
    }
    let (status, update) = server
        .api(
            &viewer,
            reqwest::Method::GET,
            &format!("/api/v1/chargers/FW-16/firmware-updates/{update_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{update}");
    assert_eq!(update["status"], "Installed");
    assert_eq!(update["firmware_id"], firmware_id.as_str());
    assert_eq!(
        statuses(&update),
        [
            "Requested",
            "Accepted",
            "Downloading",
            "Downloaded",
            "Installing",
            "Installed"
        ]
    );

    // 1.6 with a signature: SignedUpdateFirmware, followed by request id.
    let (frame, payload, (status, answer)) = exchange(
        &server,
        &operator,
        &mut cp16,
        "/api/v1/chargers/FW-16/firmware-update",
        json!({"location": "https://vendor.example/fw.bin", "retrieve_date": "2026-12-01T10:00:00Z",
               "signing_certificate": "-----BEGIN CERTIFICATE-----", "signature": "c2ln"}),
        Ok(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(frame[2], "SignedUpdateFirmware");
    let signed_id = answer["update"]["id"].as_i64().unwrap();
    assert_eq!(
        payload,
        format!(
            r#"{{"requestId":{signed_id},"firmware":{{"location":"https://vendor.example/fw.bin","retrieveDateTime":"2026-12-01T10:00:00Z","signingCertificate":"-----BEGIN CERTIFICATE-----","signature":"c2ln"}}}}"#
        )
    );
    assert_eq!(status, 200, "{answer}");
    notify(
        &mut cp16,
        "SignedFirmwareStatusNotification",
        json!({"status": "InvalidSignature", "requestId": signed_id}),
    )
    .await;

    // 2.0.1: UpdateFirmware with a request id that its notifications echo.
    let mut cp201 = server.charger("FW-201", "ocpp2.0.1").await;
    let (frame, payload, (status, answer)) = exchange(
        &server,
        &operator,
        &mut cp201,
        "/api/v1/chargers/FW-201/firmware-update",
        json!({"firmware_id": firmware_id, "retrieve_date": "2026-12-01T10:00:00Z",
               "install_date": "2026-12-01T12:00:00Z", "retries": 2}),
        Ok(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(frame[2], "UpdateFirmware");
    assert_eq!(status, 200, "{answer}");
    let request_id = answer["update"]["request_id"].as_i64().unwrap();
    assert_eq!(
        payload,
        format!(
            r#"{{"retries":2,"requestId":{request_id},"firmware":{{"location":"{location}","retrieveDateTime":"2026-12-01T10:00:00Z","installDateTime":"2026-12-01T12:00:00Z"}}}}"#
        )
    );
    let bytes = reqwest::get(&location)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes, image);
    for status in ["Downloading", "Downloaded", "Installing", "Installed"] {
        notify(
            &mut cp201,
            "FirmwareStatusNotification",
            json!({"status": status, "requestId": request_id}),
        )
        .await;
    }
    let (status, list) = server
        .api(
            &viewer,
            reqwest::Method::GET,
            "/api/v1/chargers/FW-201/firmware-updates",
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        statuses(&list["items"][0]),
        [
            "Requested",
            "Accepted",
            "Downloading",
            "Downloaded",
            "Installing",
            "Installed"
        ]
    );
    let (_, signed) = server
        .api(
            &viewer,
            reqwest::Method::GET,
            &format!("/api/v1/chargers/FW-16/firmware-updates/{signed_id}"),
            None,
        )
        .await;
    assert_eq!(signed["status"], "InvalidSignature");
    assert_eq!(signed["signed"], true);

    // A CALLERROR is 502 with its code; no answer in time is 504 (--call-timeout 1); both
    // leave the update marked CallFailed.
    let (_, _, (status, problem)) = exchange(
        &server,
        &operator,
        &mut cp201,
        "/api/v1/chargers/FW-201/firmware-update",
        json!({"firmware_id": firmware_id}),
        Err(("NotSupported", "no firmware updates here")),
    )
    .await;
    assert_eq!(status, 502, "{problem}");
    assert_eq!(problem["ocpp_error_code"], "NotSupported");
    let (status, problem) = server
        .api(
            &operator,
            reqwest::Method::POST,
            "/api/v1/chargers/FW-201/firmware-update",
            Some(json!({"firmware_id": firmware_id})),
        )
        .await;
    assert_eq!(status, 504, "{problem}");
    let late = cp201.recv().await;
    assert_eq!(late[2], "UpdateFirmware", "the call did reach the charger");
    let (_, list) = server
        .api(
            &viewer,
            reqwest::Method::GET,
            "/api/v1/chargers/FW-201/firmware-updates?limit=2",
            None,
        )
        .await;
    for item in list["items"].as_array().unwrap() {
        assert_eq!(item["status"], "CallFailed", "{item}");
    }

    // Offline is 409; an unknown firmware id 404; a viewer may not send updates.
    server.register("FW-OFF").await;
    let (status, problem) = server
        .api(
            &operator,
            reqwest::Method::POST,
            "/api/v1/chargers/FW-OFF/firmware-update",
            Some(json!({"firmware_id": firmware_id})),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    let (status, _) = server
        .api(
            &operator,
            reqwest::Method::POST,
            "/api/v1/chargers/FW-201/firmware-update",
            Some(json!({"firmware_id": "AAAAAAAAAAAAAAAAAAAAAA"})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .api(
            &viewer,
            reqwest::Method::POST,
            "/api/v1/chargers/FW-201/firmware-update",
            Some(json!({"firmware_id": firmware_id})),
        )
        .await;
    assert_eq!(status, 403);

    // Deleting the image ends its URL.
    let (status, _) = server
        .api(
            &operator,
            reqwest::Method::DELETE,
            &format!("/api/v1/firmware/{firmware_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(reqwest::get(&location).await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_transfer_endpoints_are_in_the_openapi_document_with_bearer_auth() {
    let server = Server::start();
    let (status, doc) = server
        .api(ADMIN, reqwest::Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(status, 200);
    for (path, methods) in [
        ("/api/v1/firmware", &["get", "post"][..]),
        ("/api/v1/firmware/{id}", &["delete", "get"]),
        ("/api/v1/chargers/{id}/firmware-update", &["post"]),
        ("/api/v1/chargers/{id}/firmware-updates", &["get"]),
        (
            "/api/v1/chargers/{id}/firmware-updates/{update_id}",
            &["get"],
        ),
        ("/api/v1/chargers/{id}/diagnostics", &["get", "post"]),
        ("/api/v1/diagnostics/{id}", &["get"]),
        ("/api/v1/diagnostics/{id}/file", &["get"]),
    ] {
        for method in methods {
            assert_eq!(
                doc["paths"][path][method]["security"],
                json!([{"bearer": []}]),
                "{method} {path}"
            );
        }
    }
    // The charger-facing routes take no bearer token and are not part of the API.
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| p.starts_with("/api/v1/")), "{paths:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_and_logs_go_from_chargers_to_the_operator_over_http() {
    let server = Server::start();
    let operator = server.token("operator").await;
    let viewer = server.token("viewer").await;

    // 1.6 GetDiagnostics: the location is this request's upload URL.
    let mut cp16 = server.charger("LOG-16", "ocpp1.6").await;
    let (frame, payload, (status, answer)) = exchange(
        &server,
        &operator,
        &mut cp16,
        "/api/v1/chargers/LOG-16/diagnostics",
        json!({"start_time": "2026-11-20T00:00:00Z", "stop_time": "2026-11-21T00:00:00Z", "retries": 1}),
        Ok(json!({"fileName": "diag-LOG-16.zip"})),
    )
    .await;
    assert_eq!(frame[2], "GetDiagnostics");
    assert_eq!(status, 200, "{answer}");
    let location = frame[3]["location"].as_str().unwrap().to_owned();
    let prefix = server.url("/files/uploads/");
    assert!(
        location.starts_with(&prefix) && location.ends_with('/'),
        "{location}"
    );
    let token = &location[prefix.len()..location.len() - 1];
    assert!(token.len() >= 43, "an unguessable token: {token}");
    assert_eq!(
        payload,
        format!(
            r#"{{"location":"{location}","retries":1,"startTime":"2026-11-20T00:00:00Z","stopTime":"2026-11-21T00:00:00Z"}}"#
        )
    );
    assert_eq!(answer["diagnostics"]["charger_filename"], "diag-LOG-16.zip");
    assert_eq!(answer["diagnostics"]["status"], "Accepted");
    let diagnostics_id = answer["diagnostics"]["id"].as_i64().unwrap();

    // The charger uploads with PUT to location + its file name (no bearer token).
    notify(
        &mut cp16,
        "DiagnosticsStatusNotification",
        json!({"status": "Uploading"}),
    )
    .await;
    let diagnostics = content(60_000, 3);
    let put = server
        .client
        .put(format!("{location}diag-LOG-16.zip"))
        .body(diagnostics.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    notify(
        &mut cp16,
        "DiagnosticsStatusNotification",
        json!({"status": "Uploaded"}),
    )
    .await;
    // The link was for one file.
    let again = server
        .client
        .put(format!("{location}diag-LOG-16.zip"))
        .body("replaced")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 403);
    let guessed = server
        .client
        .put(server.url("/files/uploads/not-a-real-token/x.log"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(guessed.status(), 404);

    // The operator sees it and downloads the same bytes.
    let (status, list) = server
        .api(
            &viewer,
            reqwest::Method::GET,
            "/api/v1/chargers/LOG-16/diagnostics",
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let item = &list["items"][0];
    assert_eq!(item["id"], diagnostics_id);
    assert_eq!(item["status"], "Uploaded");
    assert_eq!(
        statuses(item),
        ["Requested", "Accepted", "Uploading", "Uploaded"]
    );
    assert_eq!(item["file"]["filename"], "diag-LOG-16.zip");
    assert_eq!(item["file"]["size"], diagnostics.len());
    assert_eq!(item["file"]["sha256"], sha256(&diagnostics));
    let file_path = item["file"]["download_path"].as_str().unwrap();
    let unauthenticated = reqwest::get(server.url(file_path)).await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let download = server
        .client
        .get(server.url(file_path))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("diag-LOG-16.zip")
    );
    assert_eq!(download.bytes().await.unwrap(), diagnostics);

    // 2.0.1 GetLog with its request id; the charger posts multipart/form-data to the
    // location as given.
    let mut cp201 = server.charger("LOG-201", "ocpp2.0.1").await;
    let (frame, payload, (status, answer)) = exchange(
        &server,
        &operator,
        &mut cp201,
        "/api/v1/chargers/LOG-201/diagnostics",
        json!({"log_type": "SecurityLog", "start_time": "2026-11-20T00:00:00Z"}),
        Ok(json!({"status": "Accepted", "filename": "security.log"})),
    )
    .await;
    assert_eq!(frame[2], "GetLog");
    assert_eq!(status, 200, "{answer}");
    let request_id = answer["diagnostics"]["request_id"].as_i64().unwrap();
    let location = frame[3]["log"]["remoteLocation"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        payload,
        format!(
            r#"{{"log":{{"remoteLocation":"{location}","oldestTimestamp":"2026-11-20T00:00:00Z"}},"logType":"SecurityLog","requestId":{request_id}}}"#
        )
    );
    notify(
        &mut cp201,
        "LogStatusNotification",
        json!({"status": "Uploading", "requestId": request_id}),
    )
    .await;
    // Over the limit first: 413, and the link stays usable.
    let oversize = server
        .client
        .post(&location)
        .body(content(MAX_UPLOAD + 1, 5))
        .send()
        .await
        .unwrap();
    assert_eq!(oversize.status(), 413);
    let log = content(50_000, 11);
    let form = Form::new()
        .text("requestId", request_id.to_string())
        .part("file", Part::bytes(log.clone()).file_name("security.log"));
    let posted = server
        .client
        .post(&location)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    notify(
        &mut cp201,
        "LogStatusNotification",
        json!({"status": "Uploaded", "requestId": request_id}),
    )
    .await;
    let (status, view) = server
        .api(
            &viewer,
            reqwest::Method::GET,
            &format!("/api/v1/diagnostics/{request_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["log_type"], "SecurityLog");
    assert_eq!(view["status"], "Uploaded");
    assert_eq!(view["file"]["sha256"], sha256(&log));
    let download = server
        .client
        .get(server.url(&format!("/api/v1/diagnostics/{request_id}/file")))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(download.bytes().await.unwrap(), log);

    // A 1.6 charger asked for a log type gets the security whitepaper's GetLog.
    let (frame, _, (status, answer)) = exchange(
        &server,
        &operator,
        &mut cp16,
        "/api/v1/chargers/LOG-16/diagnostics",
        json!({"log_type": "SecurityLog"}),
        Ok(json!({"status": "Rejected"})),
    )
    .await;
    assert_eq!(frame[2], "GetLog", "{frame}");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(frame[3]["logType"], "SecurityLog");
    assert_eq!(frame[3]["requestId"], answer["diagnostics"]["request_id"]);
    assert_eq!(answer["diagnostics"]["status"], "Rejected");

    // CALLERROR → 502, no answer → 504, offline → 409; viewers may not ask.
    let (_, _, (status, problem)) = exchange(
        &server,
        &operator,
        &mut cp201,
        "/api/v1/chargers/LOG-201/diagnostics",
        json!({}),
        Err(("NotImplemented", "no logs")),
    )
    .await;
    assert_eq!(status, 502, "{problem}");
    assert_eq!(problem["ocpp_error_code"], "NotImplemented");
    let (status, _) = server
        .api(
            &operator,
            reqwest::Method::POST,
            "/api/v1/chargers/LOG-16/diagnostics",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 504);
    let late = cp16.recv().await;
    assert_eq!(late[2], "GetDiagnostics");
    server.register("LOG-OFF").await;
    let (status, _) = server
        .api(
            &operator,
            reqwest::Method::POST,
            "/api/v1/chargers/LOG-OFF/diagnostics",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = server
        .api(
            &viewer,
            reqwest::Method::POST,
            "/api/v1/chargers/LOG-16/diagnostics",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403);
}
