//! A real `ampere serve` process on free loopback ports, and a bare WebSocket charger to
//! talk to it, for the end-to-end tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const BIN: &str = env!("CARGO_BIN_EXE_ampere");

pub struct Server {
    pub child: Child,
    /// `ws://127.0.0.1:PORT` (without the path).
    pub ocpp_base: String,
    /// Kept so the directory lives as long as the server.
    _data_dir: tempfile::TempDir,
}

impl Server {
    /// Starts `ampere serve` with a fresh data directory and the given extra flags.
    pub fn start(extra: &[&str]) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(data_dir, extra)
    }

    pub fn start_in(data_dir: tempfile::TempDir, extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir.path())
            .args(["--ocpp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ampere serve");
        let stdout = child.stdout.take().expect("stdout");
        let (found, banner) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            // Keep reading after the banner so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && let Some(start) = line.find("ws://") {
                    let url = &line[start..];
                    let base = url.split("/ocpp/").next().unwrap_or(url).to_owned();
                    sent = found.send(base).is_ok();
                }
            }
        });
        let ocpp_base = banner
            .recv_timeout(Duration::from_secs(60))
            .expect("server printed its charger URL");
        Self {
            child,
            ocpp_base,
            _data_dir: data_dir,
        }
    }

    pub fn url(&self, identity: &str) -> String {
        format!("{}/ocpp/{identity}", self.ocpp_base)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        wait_with_timeout(&mut self.child, Duration::from_secs(30))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server did not stop in {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs an `ampere` admin subcommand on a data directory.
pub fn cli(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run ampere");
    assert!(
        out.status.success(),
        "ampere {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A charger that speaks raw frames, so tests can send exactly the bytes they mean.
pub struct RawCharger {
    pub socket: Socket,
}

impl RawCharger {
    pub async fn connect(url: &str, subprotocol: &str) -> Self {
        let mut request = url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", subprotocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        assert_eq!(
            response.headers()["Sec-WebSocket-Protocol"]
                .to_str()
                .unwrap(),
            subprotocol
        );
        Self { socket }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text.to_owned()))
            .await
            .expect("send");
    }

    /// The next text frame, parsed; panics on close or after 10 s.
    pub async fn recv(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("an answer within 10 s")
                .expect("connection open")
                .expect("valid message");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON frame"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Sends a frame and returns the answer.
    pub async fn exchange(&mut self, text: &str) -> Value {
        self.send_text(text).await;
        self.recv().await
    }

    /// Waits for the server to close the connection and returns the close code.
    pub async fn closed_with(&mut self) -> Option<u16> {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("close within 10 s");
            match next {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}
