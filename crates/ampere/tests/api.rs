//! The REST API of a real `ampere serve` process over real sockets: auth and roles, the
//! resources, a transaction a raw WebSocket charger ran (also after SIGKILL and restart),
//! commands in OCPP 1.6, 2.0.1 and 2.1 with the exact frames the charger received,
//! offline/timeout/CALLERROR answers, the raw passthrough, and the OpenAPI document.

// The shared helpers serve several test files; this one uses only some of them.
#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{BIN, RawCharger, cli};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A bootstrap admin token (long enough for `AMPERE_API_TOKEN`).
const ADMIN: &str = "test-admin-token-0123456789abcdefghijklmnopqrstuvwxyz";

/// `ampere serve` on free ports with the banner lines it printed.
struct ApiServer {
    child: Child,
    http: String,
    ocpp: String,
    banner: Vec<String>,
}

impl ApiServer {
    fn start(data_dir: &Path, admin_token: Option<&str>, extra: &[&str]) -> Self {
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--ocpp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("AMPERE_API_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(token) = admin_token {
            command.env("AMPERE_API_TOKEN", token);
        }
        let mut child = command.spawn().expect("start ampere serve");
        let stdout = child.stdout.take().expect("stdout");
        let (lines, banner) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep reading after the banner so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut seen = Vec::new();
        loop {
            let line = banner
                .recv_timeout(Duration::from_secs(60))
                .expect("the server prints its banner");
            let last = line.contains("ampere token create");
            seen.push(line);
            if last {
                break;
            }
        }
        let find = |needle: &str| {
            let line = seen
                .iter()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no {needle} in banner {seen:#?}"));
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
            banner: seen,
        }
    }

    fn charger_url(&self, id: &str) -> String {
        format!("{}/ocpp/{id}", self.ocpp)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        http(&self.http, method, path, token, body).await
    }

    /// A JSON request with the admin token.
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        self.call(method, path, Some(ADMIN), body.as_deref()).await
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a problem document with this status and returns it.
    fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let problem = self.json();
        assert_eq!(problem["status"], status);
        for field in ["type", "title", "detail"] {
            assert!(problem[field].is_string(), "{field} missing in {problem}");
        }
        problem
    }
}

/// A minimal HTTP/1.1 client (one request per connection), so the test talks to the real
/// listener without another HTTP stack in the dependency tree.
async fn http(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.expect("connect to the API");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("an HTTP answer within 30 s")
        .unwrap();
    let text = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP head");
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Reply {
        status,
        headers,
        body,
    }
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

/// The HTTP status of a WebSocket upgrade with Basic credentials (`user:password` base64).
async fn basic_upgrade(server: &ApiServer, id: &str, credentials: &str) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = server.charger_url(id).into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
    headers.insert(
        "Authorization",
        format!("Basic {credentials}").parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("upgrade failed: {other}"),
    }
}

/// A fresh viewer token.
async fn viewer_token(server: &ApiServer) -> String {
    let reply = server
        .admin(
            "POST",
            "/api/v1/api-tokens",
            Some(json!({"name": "viewer", "role": "viewer"})),
        )
        .await;
    reply.json()["token"].as_str().unwrap().to_owned()
}

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

const BOOT_16: &str = r#"[2,"boot","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"X1","firmwareVersion":"1.2.3"}]"#;

/// Registers a charger through the API and connects it raw, booted.
async fn connect(server: &ApiServer, id: &str, subprotocol: &str) -> RawCharger {
    let reply = server
        .admin("POST", "/api/v1/chargers", Some(json!({"id": id})))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let mut charger = RawCharger::connect(&server.charger_url(id), subprotocol).await;
    let boot = if subprotocol == "ocpp1.6" {
        BOOT_16
    } else {
        r#"[2,"boot","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"X2","vendorName":"Acme"}}]"#
    };
    let answer = charger.exchange(boot).await;
    assert_eq!(answer[2]["status"], "Accepted", "{answer}");
    charger
}

/// Sends a command through the API while the charger answers the CALL it receives with
/// `answer` (a CALLRESULT payload, or `Err((code, description))` for a CALLERROR). Returns
/// the frame the charger received, its payload exactly as written on the wire, and the API's
/// reply.
async fn command_exchange(
    server: &ApiServer,
    charger: &mut RawCharger,
    path: &str,
    body: Value,
    answer: Result<Value, (&str, &str)>,
) -> (Value, String, Reply) {
    let base = server.http.clone();
    let path = path.to_owned();
    let request = tokio::spawn(async move {
        http(&base, "POST", &path, Some(ADMIN), Some(&body.to_string())).await
    });
    let frame = charger.recv().await;
    assert_eq!(frame[0], 2, "a CALL: {frame}");
    // The payload's text in the order it arrived (serde_json keeps object order here).
    let payload = frame[3].to_string();
    let id = frame[1].as_str().unwrap();
    let reply = match answer {
        Ok(payload) => json!([3, id, payload]),
        Err((code, description)) => json!([4, id, code, description, {}]),
    };
    charger.send_text(&reply.to_string()).await;
    (frame, payload, request.await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_allowed_and_refused_what_they_must_be() {
    let dir = data_dir();
    let server = ApiServer::start(dir.path(), Some(ADMIN), &[]);
    assert!(
        server.banner.iter().any(|l| l.contains("AMPERE_API_TOKEN")),
        "{:#?}",
        server.banner
    );
    assert!(
        !server.banner.iter().any(|l| l.contains(ADMIN)),
        "the supplied token is not printed"
    );

    // 401: no token, wrong scheme, unknown token; with WWW-Authenticate.
    for token in [None, Some("amp_not-a-real-token")] {
        let reply = server.call("GET", "/api/v1/chargers", token, None).await;
        reply.problem(401);
        assert!(
            reply
                .header("www-authenticate")
                .unwrap()
                .starts_with("Bearer")
        );
    }

    let mut tokens = std::collections::HashMap::new();
    for role in ["operator", "viewer"] {
        let reply = server
            .admin(
                "POST",
                "/api/v1/api-tokens",
                Some(json!({"name": format!("{role} token"), "role": role})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let created = reply.json();
        assert!(created["token"].as_str().unwrap().starts_with("amp_"));
        assert_eq!(created["role"], role);
        tokens.insert(
            role,
            (
                created["id"].as_i64().unwrap(),
                created["token"].as_str().unwrap().to_owned(),
            ),
        );
    }
    let operator = tokens["operator"].1.clone();
    let viewer = tokens["viewer"].1.clone();

    // (method, path, body, lowest role allowed, status when allowed)
    let charger = json!({"id": "CP-ROLES"}).to_string();
    let matrix: Vec<(&str, String, Option<String>, &str, u16)> = vec![
        ("GET", "/api/v1/chargers".into(), None, "viewer", 200),
        ("GET", "/api/v1/id-tokens".into(), None, "viewer", 200),
        ("GET", "/api/v1/transactions".into(), None, "viewer", 200),
        ("GET", "/api/v1/chargers/NOPE".into(), None, "viewer", 404),
        (
            "POST",
            "/api/v1/chargers".into(),
            Some(charger),
            "operator",
            201,
        ),
        (
            "PATCH",
            "/api/v1/chargers/CP-ROLES".into(),
            Some(r#"{"registration_status":"Accepted"}"#.into()),
            "operator",
            200,
        ),
        (
            "POST",
            "/api/v1/id-tokens".into(),
            Some(r#"{"id_token":"ROLE-TAG"}"#.into()),
            "operator",
            201,
        ),
        (
            "POST",
            "/api/v1/chargers/CP-ROLES/commands/reset".into(),
            Some(r#"{"type":"Soft"}"#.into()),
            "operator",
            409,
        ),
        (
            "POST",
            "/api/v1/chargers/CP-ROLES/ocpp/Reset".into(),
            Some(r#"{"type":"Soft"}"#.into()),
            "operator",
            409,
        ),
        ("GET", "/api/v1/api-tokens".into(), None, "admin", 200),
        ("GET", "/api/v1/audit-log".into(), None, "admin", 200),
        (
            "POST",
            "/api/v1/api-tokens".into(),
            Some(r#"{"name":"x","role":"viewer"}"#.into()),
            "admin",
            201,
        ),
    ];
    let rank = |role: &str| {
        ["viewer", "operator", "admin"]
            .iter()
            .position(|r| *r == role)
            .unwrap()
    };
    for (method, path, body, lowest, allowed) in &matrix {
        for (role, token) in [
            ("viewer", viewer.as_str()),
            ("operator", operator.as_str()),
            ("admin", ADMIN),
        ] {
            let reply = server
                .call(method, path, Some(token), body.as_deref())
                .await;
            if rank(role) >= rank(lowest) {
                // A create succeeds once; the same create by a higher role conflicts.
                let ok = reply.status == *allowed || (*allowed == 201 && reply.status == 409);
                assert!(
                    ok,
                    "{role} {method} {path}: {} {}",
                    reply.status, reply.body
                );
            } else {
                let problem = reply.problem(403);
                assert!(
                    problem["detail"].as_str().unwrap().contains(lowest),
                    "{problem}"
                );
            }
        }
    }

    // The list shows tokens without secrets.
    let list = server.admin("GET", "/api/v1/api-tokens", None).await.json();
    assert!(list["items"].as_array().unwrap().len() >= 4);
    assert!(
        !list.to_string().contains(&viewer),
        "secrets are never listed"
    );
    assert!(!list.to_string().contains("token_hash"));

    // Revoked: refused with 401 from then on; revoking again is 404.
    let viewer_id = tokens["viewer"].0;
    let reply = server
        .admin("DELETE", &format!("/api/v1/api-tokens/{viewer_id}"), None)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    server
        .call("GET", "/api/v1/chargers", Some(&viewer), None)
        .await
        .problem(401);
    server
        .admin("DELETE", &format!("/api/v1/api-tokens/{viewer_id}"), None)
        .await
        .problem(404);
    let list = server.admin("GET", "/api/v1/api-tokens", None).await.json();
    let revoked = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == viewer_id)
        .unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    // Token changes are in the audit log.
    let audit = server.admin("GET", "/api/v1/audit-log", None).await.json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"api-token revoke"), "{actions:?}");
    assert!(actions.contains(&"api-token create"), "{actions:?}");

    // The command line makes tokens on the same database, usable at once.
    let out = cli(
        dir.path(),
        &["token", "create", "--name", "from cli", "--role", "viewer"],
    );
    let cli_token = out.trim();
    assert!(cli_token.starts_with("amp_"), "{out}");
    assert_eq!(
        server
            .call("GET", "/api/v1/chargers", Some(cli_token), None)
            .await
            .status,
        200
    );
    server
        .call(
            "POST",
            "/api/v1/chargers",
            Some(cli_token),
            Some(r#"{"id":"CP-CLI"}"#),
        )
        .await
        .problem(403);
    let listed = cli(dir.path(), &["token", "list"]);
    let line = listed
        .lines()
        .find(|l| l.ends_with("from cli"))
        .expect(&listed);
    let id = line.split_whitespace().next().unwrap();
    assert!(line.contains("viewer") && line.contains(" - "), "{line}");
    cli(dir.path(), &["token", "revoke", id]);
    server
        .call("GET", "/api/v1/chargers", Some(cli_token), None)
        .await
        .problem(401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_prints_an_admin_token_once() {
    let dir = data_dir();
    let token = {
        let server = ApiServer::start(dir.path(), None, &[]);
        let line = server
            .banner
            .iter()
            .find(|l| l.contains("admin API token"))
            .unwrap_or_else(|| panic!("{:#?}", server.banner));
        let token = line.split_whitespace().last().unwrap().to_owned();
        assert!(token.starts_with("amp_"), "{line}");
        assert_eq!(
            server
                .call("GET", "/api/v1/api-tokens", Some(&token), None)
                .await
                .status,
            200
        );
        token
    };
    let server = ApiServer::start(dir.path(), None, &[]);
    assert!(
        !server.banner.iter().any(|l| l.contains("amp_")),
        "printed once only: {:#?}",
        server.banner
    );
    assert_eq!(
        server
            .call("GET", "/api/v1/api-tokens", Some(&token), None)
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chargers_and_id_tokens_crud() {
    let dir = data_dir();
    let server = ApiServer::start(dir.path(), Some(ADMIN), &[]);

    // Chargers: create, conflict, invalid, get, page, patch, delete.
    for id in ["CP-A", "CP-B", "CP-C"] {
        let reply = server
            .admin(
                "POST",
                "/api/v1/chargers",
                Some(json!({"id": id, "password": "s3cret-pass", "security_profile": 1})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let charger = reply.json();
        assert_eq!(charger["id"], id);
        assert_eq!(charger["online"], false);
        assert_eq!(charger["registration_status"], "Accepted");
        assert_eq!(charger["evses"], json!([]));
        assert!(charger.get("password").is_none() && charger.get("password_hash").is_none());
    }
    server
        .admin("POST", "/api/v1/chargers", Some(json!({"id": "CP-A"})))
        .await
        .problem(409);
    server
        .admin("POST", "/api/v1/chargers", Some(json!({"id": "a:b"})))
        .await
        .problem(400);
    server
        .admin(
            "POST",
            "/api/v1/chargers",
            Some(json!({"id": "CP-X", "security_profile": 9})),
        )
        .await
        .problem(400);
    server
        .admin(
            "POST",
            "/api/v1/chargers",
            Some(json!({"id": "CP-X", "colour": "red"})),
        )
        .await
        .problem(400);
    server
        .call("POST", "/api/v1/chargers", Some(ADMIN), Some("{not json"))
        .await
        .problem(400);

    let page = server
        .admin("GET", "/api/v1/chargers?limit=2", None)
        .await
        .json();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CP-A", "CP-B"]);
    assert_eq!(page["next_cursor"], "CP-B");
    let page = server
        .admin("GET", "/api/v1/chargers?limit=2&cursor=CP-B", None)
        .await
        .json();
    assert_eq!(page["items"][0]["id"], "CP-C");
    assert!(page.get("next_cursor").is_none(), "{page}");
    server
        .admin("GET", "/api/v1/chargers?limit=0", None)
        .await
        .problem(400);
    server
        .admin("GET", "/api/v1/chargers?limit=many", None)
        .await
        .problem(400);

    let reply = server
        .admin(
            "PATCH",
            "/api/v1/chargers/CP-B",
            Some(json!({"registration_status": "Rejected", "security_profile": 2})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["registration_status"], "Rejected");
    assert_eq!(reply.json()["security_profile"], 2);
    let got = server
        .admin("GET", "/api/v1/chargers/CP-B", None)
        .await
        .json();
    assert_eq!(got["registration_status"], "Rejected");
    server
        .admin(
            "PATCH",
            "/api/v1/chargers/CP-B",
            Some(json!({"registration_status": "Maybe"})),
        )
        .await
        .problem(400);
    server
        .admin(
            "PATCH",
            "/api/v1/chargers/NOPE",
            Some(json!({"registration_status": "Accepted"})),
        )
        .await
        .problem(404);

    // A rotated password is the one the charger endpoint checks.
    let reply = server
        .admin(
            "PATCH",
            "/api/v1/chargers/CP-A",
            Some(json!({"password": "new-password-1"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        basic_upgrade(&server, "CP-A", "Q1AtQTpuZXctcGFzc3dvcmQtMQ==").await,
        101,
        "new password"
    );
    assert_eq!(
        basic_upgrade(&server, "CP-A", "Q1AtQTpzM2NyZXQtcGFzcw==").await,
        401,
        "old password"
    );

    assert_eq!(
        server
            .admin("DELETE", "/api/v1/chargers/CP-C", None)
            .await
            .status,
        204
    );
    server
        .admin("GET", "/api/v1/chargers/CP-C", None)
        .await
        .problem(404);
    server
        .admin("DELETE", "/api/v1/chargers/CP-C", None)
        .await
        .problem(404);

    // Id tokens.
    let reply = server
        .admin("POST", "/api/v1/id-tokens", Some(json!({"id_token": "TAG-1", "type": "eMAID", "group_id": "FLEET", "expiry_date": "2030-01-01T00:00:00Z"})))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"id_token": "TAG-1", "type": "eMAID", "status": "Accepted", "expiry_date": "2030-01-01T00:00:00Z", "group_id": "FLEET"})
    );
    server
        .admin(
            "POST",
            "/api/v1/id-tokens",
            Some(json!({"id_token": "tag-1"})),
        )
        .await
        .problem(409);
    server
        .admin(
            "POST",
            "/api/v1/id-tokens",
            Some(json!({"id_token": "TAG-2", "status": "Lost"})),
        )
        .await
        .problem(400);
    assert_eq!(
        server
            .admin(
                "POST",
                "/api/v1/id-tokens",
                Some(json!({"id_token": "TAG-2"}))
            )
            .await
            .status,
        201
    );

    let got = server
        .admin("GET", "/api/v1/id-tokens/tag-1", None)
        .await
        .json();
    assert_eq!(got["id_token"], "TAG-1", "matched case-insensitively");
    let reply = server
        .admin(
            "PATCH",
            "/api/v1/id-tokens/TAG-1",
            Some(json!({"status": "Blocked", "group_id": null})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let patched = reply.json();
    assert_eq!(patched["status"], "Blocked");
    assert_eq!(patched["group_id"], Value::Null);
    assert_eq!(
        patched["expiry_date"], "2030-01-01T00:00:00Z",
        "absent fields stay"
    );

    let page = server
        .admin("GET", "/api/v1/id-tokens?limit=1", None)
        .await
        .json();
    assert_eq!(page["items"][0]["id_token"], "TAG-1");
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = server
        .admin(
            "GET",
            &format!("/api/v1/id-tokens?limit=1&cursor={cursor}"),
            None,
        )
        .await
        .json();
    assert_eq!(page["items"][0]["id_token"], "TAG-2");

    assert_eq!(
        server
            .admin("DELETE", "/api/v1/id-tokens/TAG-1", None)
            .await
            .status,
        204
    );
    server
        .admin("GET", "/api/v1/id-tokens/TAG-1", None)
        .await
        .problem(404);
    server
        .admin("DELETE", "/api/v1/id-tokens/TAG-1", None)
        .await
        .problem(404);

    // Bulk import from CSV: all rows checked first; an invalid file imports nothing.
    let csv = "id_token,type,status,expiry_date,group_id\r\n\
               CSV-1,ISO14443,Accepted,2031-05-01T00:00:00Z,\"FLEET, NORTH\"\r\n\
               CSV-2,eMAID,Blocked,,\r\n";
    let reply = server
        .call("POST", "/api/v1/id-tokens/import", Some(ADMIN), Some(csv))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({"imported": 2}));
    let got = server
        .admin("GET", "/api/v1/id-tokens/CSV-1", None)
        .await
        .json();
    assert_eq!(got["group_id"], "FLEET, NORTH");
    assert_eq!(got["expiry_date"], "2031-05-01T00:00:00Z");
    let got = server
        .admin("GET", "/api/v1/id-tokens/csv-2", None)
        .await
        .json();
    assert_eq!(
        (got["type"].as_str(), got["status"].as_str()),
        (Some("eMAID"), Some("Blocked"))
    );
    let reply = server
        .call(
            "POST",
            "/api/v1/id-tokens/import",
            Some(ADMIN),
            Some("id_token,status\nCSV-3,Accepted\nCSV-4,Lost\n"),
        )
        .await;
    let problem = reply.problem(400);
    assert!(
        problem["detail"].as_str().unwrap().contains("record 3"),
        "{problem}"
    );
    server
        .admin("GET", "/api/v1/id-tokens/CSV-3", None)
        .await
        .problem(404);
    server
        .call(
            "POST",
            "/api/v1/id-tokens/import",
            Some(&viewer_token(&server).await),
            Some(csv),
        )
        .await
        .problem(403);

    // Unknown endpoints are problems too.
    server
        .admin("GET", "/api/v1/nothing-here", None)
        .await
        .problem(404);
    server
        .admin("PUT", "/api/v1/chargers", None)
        .await
        .problem(405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_run_by_a_charger_is_listed_with_its_energy_after_a_sigkill() {
    let dir = data_dir();
    let server = ApiServer::start(dir.path(), Some(ADMIN), &[]);
    server
        .admin(
            "POST",
            "/api/v1/id-tokens",
            Some(json!({"id_token": "TAG-TX"})),
        )
        .await;
    let mut charger = connect(&server, "CP-TX", "ocpp1.6").await;
    let status = charger
        .exchange(r#"[2,"s1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Charging","timestamp":"2026-03-01T10:00:00Z"}]"#)
        .await;
    assert_eq!(status[0], 3);
    let start = charger
        .exchange(r#"[2,"t1","StartTransaction",{"connectorId":1,"idTag":"TAG-TX","meterStart":1000,"timestamp":"2026-03-01T10:00:01Z"}]"#)
        .await;
    assert_eq!(start[2]["idTagInfo"]["status"], "Accepted", "{start}");
    let tx = start[2]["transactionId"].as_i64().unwrap();

    let active = server
        .admin(
            "GET",
            "/api/v1/transactions?charger_id=CP-TX&status=active",
            None,
        )
        .await
        .json();
    assert_eq!(active["items"][0]["id"], tx);
    assert_eq!(active["items"][0]["status"], "active");

    let meter = format!(
        r#"[2,"m1","MeterValues",{{"connectorId":1,"transactionId":{tx},"meterValue":[{{"timestamp":"2026-03-01T10:10:00Z","sampledValue":[{{"value":"2000","measurand":"Energy.Active.Import.Register","unit":"Wh"}}]}}]}}]"#
    );
    assert_eq!(charger.exchange(&meter).await[0], 3);
    let stop = format!(
        r#"[2,"t2","StopTransaction",{{"idTag":"TAG-TX","meterStop":3500,"timestamp":"2026-03-01T10:20:00Z","transactionId":{tx},"reason":"Local"}}]"#
    );
    assert_eq!(charger.exchange(&stop).await[0], 3);

    // SIGKILL right after the charger got its answer, then a restart on the same data: what
    // was answered is durable.
    let mut killed = server;
    killed.child.kill().expect("SIGKILL");
    killed.child.wait().expect("reap");
    drop((killed, charger));
    let server = ApiServer::start(dir.path(), Some(ADMIN), &[]);
    let mut charger = RawCharger::connect(&server.charger_url("CP-TX"), "ocpp1.6").await;
    assert_eq!(charger.exchange(BOOT_16).await[2]["status"], "Accepted");

    // The charger as operators see it.
    let view = server
        .admin("GET", "/api/v1/chargers/CP-TX", None)
        .await
        .json();
    assert_eq!(view["online"], true);
    assert_eq!(view["protocol"], "ocpp1.6");
    assert_eq!(view["vendor"], "Acme");
    assert_eq!(view["model"], "X1");
    assert_eq!(view["firmware_version"], "1.2.3");
    assert!(view["last_seen"].is_string());
    assert_eq!(view["evses"][0]["id"], 1);
    assert_eq!(view["evses"][0]["connectors"][0]["id"], 1);
    assert_eq!(view["evses"][0]["connectors"][0]["status"], "Charging");

    let history = server
        .admin("GET", "/api/v1/chargers/CP-TX/status-history", None)
        .await
        .json();
    assert_eq!(
        history["items"][0],
        json!({"evse_id": 1, "connector_id": 1, "status": "Charging", "error_code": "NoError",
               "info": null, "vendor_id": null, "vendor_error_code": null,
               "timestamp": "2026-03-01T10:00:00Z"})
    );
    server
        .admin("GET", "/api/v1/chargers/NOPE/status-history", None)
        .await
        .problem(404);

    let done = server
        .admin(
            "GET",
            "/api/v1/transactions?status=completed&id_token=tag-tx",
            None,
        )
        .await
        .json();
    let listed = &done["items"][0];
    assert_eq!(listed["id"], tx);
    assert_eq!(listed["charger_id"], "CP-TX");
    assert_eq!(listed["evse_id"], 1);
    assert_eq!(listed["connector_id"], 1);
    assert_eq!(listed["id_token"], "TAG-TX");
    assert_eq!(listed["started_at"], "2026-03-01T10:00:01Z");
    assert_eq!(listed["stopped_at"], "2026-03-01T10:20:00Z");
    assert_eq!(listed["meter_start_wh"], 1000.0);
    assert_eq!(listed["meter_stop_wh"], 3500.0);
    assert_eq!(listed["energy_wh"], 2500.0);
    assert_eq!(listed["stop_reason"], "Local");
    assert_eq!(listed["status"], "completed");
    let none = server
        .admin("GET", "/api/v1/transactions?status=active", None)
        .await
        .json();
    assert_eq!(none["items"], json!([]));
    let other = server
        .admin("GET", "/api/v1/transactions?charger_id=CP-OTHER", None)
        .await
        .json();
    assert_eq!(other["items"], json!([]));
    server
        .admin("GET", "/api/v1/transactions?status=paused", None)
        .await
        .problem(400);

    let detail = server
        .admin("GET", &format!("/api/v1/transactions/{tx}"), None)
        .await
        .json();
    assert_eq!(detail["energy_wh"], 2500.0);
    let values = detail["meter_values"].as_array().unwrap();
    let reading = values
        .iter()
        .find(|v| v["timestamp"] == "2026-03-01T10:10:00Z")
        .unwrap_or_else(|| panic!("{detail}"));
    assert_eq!(reading["sampled_values"][0]["value"], "2000");
    assert_eq!(reading["sampled_values"][0]["unit"], "Wh");
    server
        .admin("GET", "/api/v1/transactions/999999", None)
        .await
        .problem(404);

    // Newest first, paged.
    let start2 = charger
        .exchange(r#"[2,"t3","StartTransaction",{"connectorId":1,"idTag":"TAG-TX","meterStart":3500,"timestamp":"2026-03-01T11:00:00Z"}]"#)
        .await;
    let tx2 = start2[2]["transactionId"].as_i64().unwrap();
    let page = server
        .admin("GET", "/api/v1/transactions?limit=1", None)
        .await
        .json();
    assert_eq!(page["items"][0]["id"], tx2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = server
        .admin(
            "GET",
            &format!("/api/v1/transactions?limit=1&cursor={cursor}"),
            None,
        )
        .await
        .json();
    assert_eq!(page["items"][0]["id"], tx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_in_ocpp_1_6() {
    let dir = data_dir();
    let server = ApiServer::start(dir.path(), Some(ADMIN), &["--call-timeout", "1"]);
    let mut charger = connect(&server, "CP-16", "ocpp1.6").await;
    let base = "/api/v1/chargers/CP-16/commands";

    let (frame, payload, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/remote-start"),
        json!({"id_token": "TAG1", "evse_id": 1}),
        Ok(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(frame[2], "RemoteStartTransaction");
    assert_eq!(payload, r#"{"connectorId":1,"idTag":"TAG1"}"#);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["response"], json!({"status": "Accepted"}));
    assert_eq!(answer["protocol"], "ocpp1.6");
    assert_eq!(answer["action"], "RemoteStartTransaction");

    let (frame, payload, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/reset"),
        json!({"type": "Immediate"}),
        Ok(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(frame[2], "Reset");
    assert_eq!(payload, r#"{"type":"Hard"}"#);
    assert_eq!(reply.json()["response"], json!({"status": "Accepted"}));

    let (frame, payload, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/unlock"),
        json!({"evse_id": 2, "connector_id": 1}),
        Ok(json!({"status": "Unlocked"})),
    )
    .await;
    assert_eq!(frame[2], "UnlockConnector");
    assert_eq!(payload, r#"{"connectorId":2}"#);
    assert_eq!(reply.json()["response"], json!({"status": "Unlocked"}));

    let (frame, payload, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/remote-stop"),
        json!({"transaction_id": "17"}),
        Ok(json!({"status": "Rejected"})),
    )
    .await;
    assert_eq!(frame[2], "RemoteStopTransaction");
    assert_eq!(payload, r#"{"transactionId":17}"#);
    assert_eq!(reply.json()["response"], json!({"status": "Rejected"}));

    let (frame, payload, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/set-configuration"),
        json!({"key": "AuthorizationKey", "value": "0123456789abcdef"}),
        Ok(json!({"status": "Accepted"})),
    )
    .await;
    assert_eq!(frame[2], "ChangeConfiguration");
    assert_eq!(
        payload,
        r#"{"key":"AuthorizationKey","value":"0123456789abcdef"}"#
    );
    assert_eq!(reply.status, 200);

    let (frame, payload, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/get-composite-schedule"),
        json!({"evse_id": 1, "duration": 600, "charging_rate_unit": "A"}),
        Ok(json!({"status": "Rejected"})),
    )
    .await;
    assert_eq!(frame[2], "GetCompositeSchedule");
    assert_eq!(
        payload,
        r#"{"connectorId":1,"duration":600,"chargingRateUnit":"A"}"#
    );
    assert_eq!(reply.json()["response"], json!({"status": "Rejected"}));

    // CALLERROR → 502 with the charger's code and description.
    let (_, _, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/clear-cache"),
        json!({}),
        Err(("NotSupported", "no cache here")),
    )
    .await;
    let problem = reply.problem(502);
    assert_eq!(problem["ocpp_error_code"], "NotSupported");
    assert_eq!(problem["ocpp_error_description"], "no cache here");

    // Invalid for the version: refused before anything is sent.
    let reply = server
        .admin(
            "POST",
            &format!("{base}/remote-start"),
            Some(json!({"id_token": "X".repeat(21)})),
        )
        .await;
    let problem = reply.problem(400);
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("invalid-ocpp-payload"),
        "{problem}"
    );
    server
        .admin(
            "POST",
            &format!("{base}/reset"),
            Some(json!({"type": "Soft", "evse_id": 1})),
        )
        .await
        .problem(400);
    server
        .admin("POST", &format!("{base}/self-destruct"), Some(json!({})))
        .await
        .problem(404);

    // No answer in time → 504 (the server runs with --call-timeout 1).
    let reply = server
        .admin(
            "POST",
            &format!("{base}/reset"),
            Some(json!({"type": "Soft"})),
        )
        .await;
    reply.problem(504);
    let late = charger.recv().await;
    assert_eq!(late[2], "Reset", "the call did reach the charger: {late}");

    // Offline → 409.
    drop(charger);
    let mut offline = None;
    for _ in 0..50 {
        let reply = server
            .admin(
                "POST",
                &format!("{base}/reset"),
                Some(json!({"type": "Soft"})),
            )
            .await;
        if reply.status == 409 {
            offline = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let problem = offline.expect("409 once the charger is gone").problem(409);
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("charger-offline")
    );
    server
        .admin(
            "POST",
            "/api/v1/chargers/NOPE/commands/reset",
            Some(json!({"type": "Soft"})),
        )
        .await
        .problem(404);

    // Every command is in the audit log with its outcome.
    let audit = server
        .admin("GET", "/api/v1/audit-log?limit=500", None)
        .await
        .json();
    let entries = audit["items"].as_array().unwrap();
    let start = entries
        .iter()
        .find(|e| e["action"] == "command remote-start" && e["outcome"]["status"] == 200)
        .unwrap();
    assert_eq!(start["charger_id"], "CP-16");
    assert_eq!(start["request"], json!({"id_token": "TAG1", "evse_id": 1}));
    assert_eq!(start["outcome"]["response"], json!({"status": "Accepted"}));
    assert!(
        start["actor"]
            .as_str()
            .unwrap()
            .contains("AMPERE_API_TOKEN")
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "command clear-cache" && e["outcome"]["status"] == 502)
    );
    let key = entries
        .iter()
        .find(|e| e["action"] == "command set-configuration")
        .unwrap();
    assert_eq!(
        key["request"],
        json!({"key": "AuthorizationKey", "value": "***"}),
        "no credentials in the audit log"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "command reset" && e["outcome"]["status"] == 504)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_in_ocpp_2_0_1() {
    let dir = data_dir();
    let server = ApiServer::start(dir.path(), Some(ADMIN), &["--call-timeout", "1"]);
    let mut charger = connect(&server, "CP-201", "ocpp2.0.1").await;
    let base = "/api/v1/chargers/CP-201/commands";

    let (frame, payload, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/remote-start"),
        json!({"id_token": "TAG1", "evse_id": 1, "remote_start_id": 7}),
        Ok(json!({"status": "Accepted", "transactionId": "abc"})),
    )
    .await;
    assert_eq!(frame[2], "RequestStartTransaction");
    assert_eq!(
        payload,
        r#"{"evseId":1,"idToken":{"idToken":"TAG1","type":"ISO14443"},"remoteStartId":7}"#
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["protocol"], "ocpp2.0.1");
    assert_eq!(
        answer["response"],
        json!({"status": "Accepted", "transactionId": "abc"})
    );

    let (frame, payload, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/reset"),
        json!({"type": "Soft", "evse_id": 1}),
        Ok(json!({"status": "Scheduled"})),
    )
    .await;
    assert_eq!(frame[2], "Reset");
    assert_eq!(payload, r#"{"type":"OnIdle","evseId":1}"#);
    assert_eq!(reply.json()["response"], json!({"status": "Scheduled"}));

    let (frame, payload, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/unlock"),
        json!({"evse_id": 1, "connector_id": 2}),
        Ok(json!({"status": "Unlocked"})),
    )
    .await;
    assert_eq!(frame[2], "UnlockConnector");
    assert_eq!(payload, r#"{"evseId":1,"connectorId":2}"#);
    assert_eq!(reply.json()["response"], json!({"status": "Unlocked"}));

    let (frame, payload, _) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/set-configuration"),
        json!({"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval", "value": "60"}]}),
        Ok(json!({"setVariableResult": [{"attributeStatus": "Accepted", "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})),
    )
    .await;
    assert_eq!(frame[2], "SetVariables");
    assert_eq!(
        payload,
        r#"{"setVariableData":[{"attributeValue":"60","component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]}"#
    );

    let (frame, payload, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/clear-charging-profile"),
        json!({"evse_id": 1, "purpose": "ChargePointMaxProfile"}),
        Ok(json!({"status": "Unknown"})),
    )
    .await;
    assert_eq!(frame[2], "ClearChargingProfile");
    assert_eq!(
        payload,
        r#"{"chargingProfileCriteria":{"evseId":1,"chargingProfilePurpose":"ChargingStationMaxProfile"}}"#
    );
    assert_eq!(reply.json()["response"], json!({"status": "Unknown"}));

    // CALLERROR → 502.
    let (_, _, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/trigger-message"),
        json!({"requested_message": "StatusNotification", "evse_id": 1, "connector_id": 1}),
        Err(("NotImplemented", "not here")),
    )
    .await;
    let problem = reply.problem(502);
    assert_eq!(problem["ocpp_error_code"], "NotImplemented");
    assert_eq!(problem["ocpp_error_description"], "not here");

    // An answer that is not a valid response → 502 as well.
    let (_, _, reply) = command_exchange(
        &server,
        &mut charger,
        &format!("{base}/clear-cache"),
        json!({}),
        Ok(json!({"status": "Maybe"})),
    )
    .await;
    reply.problem(502);

    // Timeout → 504.
    let reply = server
        .admin(
            "POST",
            &format!("{base}/unlock"),
            Some(json!({"evse_id": 1})),
        )
        .await;
    reply.problem(504);
    assert_eq!(charger.recv().await[2], "UnlockConnector");

    // Offline → 409.
    drop(charger);
    let mut status = 0;
    for _ in 0..50 {
        status = server
            .admin("POST", &format!("{base}/clear-cache"), None)
            .await
            .status;
        if status == 409 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_in_ocpp_2_1_use_its_own_messages() {
    let dir = data_dir();
    let server = ApiServer::start(dir.path(), Some(ADMIN), &["--call-timeout", "5"]);
    let mut charger = connect(&server, "CP-21", "ocpp2.1").await;
    let base = "/api/v1/chargers/CP-21/commands";
    let cases = [
        (
            "remote-start",
            json!({"id_token": "TAG1", "id_token_type": "Central", "remote_start_id": 9}),
            "RequestStartTransaction",
            r#"{"idToken":{"idToken":"TAG1","type":"Central"},"remoteStartId":9}"#,
            json!({"status": "Accepted"}),
        ),
        (
            "reset",
            json!({"type": "Hard"}),
            "Reset",
            r#"{"type":"Immediate"}"#,
            json!({"status": "Accepted"}),
        ),
        (
            "unlock",
            json!({"evse_id": 2}),
            "UnlockConnector",
            r#"{"evseId":2,"connectorId":1}"#,
            json!({"status": "UnlockFailed"}),
        ),
    ];
    for (command, body, action, wire, response) in cases {
        let (frame, payload, reply) = command_exchange(
            &server,
            &mut charger,
            &format!("{base}/{command}"),
            body,
            Ok(response.clone()),
        )
        .await;
        assert_eq!(frame[2], action, "{command}");
        assert_eq!(payload, wire, "{command}");
        assert_eq!(reply.status, 200, "{command}: {}", reply.body);
        let answer = reply.json();
        assert_eq!(answer["protocol"], "ocpp2.1");
        assert_eq!(answer["response"], response, "{command}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_passthrough_keeps_field_order_and_refuses_invalid_payloads() {
    let dir = data_dir();
    let server = ApiServer::start(dir.path(), Some(ADMIN), &["--call-timeout", "5"]);
    let mut charger = connect(&server, "CP-RAW", "ocpp2.0.1").await;

    // Not the schema's order: the charger gets it exactly as given.
    let body = r#"{"evseId":1,"type":"OnIdle"}"#;
    let base = server.http.clone();
    let request = tokio::spawn(async move {
        http(
            &base,
            "POST",
            "/api/v1/chargers/CP-RAW/ocpp/Reset",
            Some(ADMIN),
            Some(body),
        )
        .await
    });
    let frame = charger.recv().await;
    assert_eq!(frame[2], "Reset");
    assert_eq!(frame[3].to_string(), body);
    let id = frame[1].as_str().unwrap();
    charger
        .send_text(&format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#))
        .await;
    let reply = request.await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["response"], json!({"status": "Accepted"}));
    assert_eq!(reply.json()["request"].to_string(), body);

    // Invalid payloads, unknown actions and charger-initiated actions are refused (400) and
    // nothing reaches the charger.
    for (action, payload) in [
        ("Reset", r#"{"type":"Sideways"}"#),
        ("Reset", r#"{"evseId":1}"#),
        ("Reset", r#"{"type":"OnIdle","colour":"red"}"#),
        ("RemoteStartTransaction", r#"{"idTag":"A"}"#),
        (
            "BootNotification",
            r#"{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}"#,
        ),
    ] {
        let reply = server
            .call(
                "POST",
                &format!("/api/v1/chargers/CP-RAW/ocpp/{action}"),
                Some(ADMIN),
                Some(payload),
            )
            .await;
        let problem = reply.problem(400);
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .ends_with("invalid-ocpp-payload"),
            "{action} {payload}: {problem}"
        );
    }
    server
        .call(
            "POST",
            "/api/v1/chargers/CP-RAW/ocpp/Reset",
            Some(ADMIN),
            Some("[1,"),
        )
        .await
        .problem(400);

    // The next frame the charger sees is the next valid call, not any refused one.
    let base = server.http.clone();
    let request = tokio::spawn(async move {
        http(
            &base,
            "POST",
            "/api/v1/chargers/CP-RAW/ocpp/ClearCache",
            Some(ADMIN),
            Some("{}"),
        )
        .await
    });
    let frame = charger.recv().await;
    assert_eq!(frame[2], "ClearCache");
    charger
        .send_text(&format!(
            r#"[3,"{}",{{"status":"Accepted"}}]"#,
            frame[1].as_str().unwrap()
        ))
        .await;
    assert_eq!(request.await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served_and_lists_the_paths() {
    let dir = data_dir();
    let server = ApiServer::start(dir.path(), Some(ADMIN), &[]);
    let reply = server.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/api-tokens",
        "/api/v1/chargers",
        "/api/v1/chargers/{id}",
        "/api/v1/chargers/{id}/commands/{command}",
        "/api/v1/chargers/{id}/ocpp/{action}",
        "/api/v1/id-tokens/{id_token}",
        "/api/v1/transactions/{id}",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
    // Interactive docs that need nothing from the network.
    let docs = server.call("GET", "/api/docs", None, None).await;
    assert_eq!(docs.status, 200);
    assert!(
        docs.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(docs.body.contains("/api/v1/openapi.json"));
    assert!(!docs.body.contains("://"), "no external assets");
    // The health endpoint is still there beside the API.
    assert_eq!(server.call("GET", "/health", None, None).await.status, 200);
}
