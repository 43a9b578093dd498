//! A real `ampere serve` process with a known admin token, its HTTP and charger addresses,
//! and a small JSON client for the REST API (for the webhook and message-log tests).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_ampere");

/// A bootstrap admin token (long enough for `AMPERE_API_TOKEN`).
pub const ADMIN: &str = "h1-admin-token-0123456789abcdefghijklmnopqrstuvwxyz";

pub struct ApiServer {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub http: String,
    /// `ws://127.0.0.1:PORT` (without the path)
    pub ocpp: String,
    client: reqwest::Client,
}

impl ApiServer {
    /// Starts `ampere serve` on free ports with its data in `data_dir`.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--ocpp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .args(extra)
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
            if ocpp.is_none()
                && let Some(start) = line.find("ws://")
            {
                let url = line[start..].split_whitespace().next().unwrap();
                ocpp = Some(url.split("/ocpp/").next().unwrap().to_owned());
            }
            if http.is_none()
                && let Some(start) = line.find("http://")
            {
                let host = line[start + "http://".len()..].split('/').next().unwrap();
                http = Some(format!("http://{host}"));
            }
        }
        Self {
            child,
            http: http.unwrap(),
            ocpp: ocpp.unwrap(),
            client: reqwest::Client::new(),
        }
    }

    pub fn charger_url(&self, id: &str) -> String {
        format!("{}/ocpp/{id}", self.ocpp)
    }

    /// One request with the admin token; the status and the JSON body (`Null` when empty).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.http))
            .bearer_auth(ADMIN)
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A request that must succeed (2xx); its body.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    /// Reads `path` until `done` holds for its body (at most 20 s); the last body.
    pub async fn until(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let body = self.ok("GET", path, None).await;
            if done(&body) {
                return body;
            }
            assert!(Instant::now() < deadline, "{path} never got there: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
