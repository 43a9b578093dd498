//! The raw echo reference: a bare WebSocket server that agrees to `ocpp2.1`, `ocpp2.0.1` or
//! `ocpp1.6`, answers each CALL at once with the smallest CALLRESULT its action allows and
//! stores nothing. What a workload achieves against it is the limit of this machine with
//! this load generator; a CSMS's figures are reported as a ratio to it.
//!
//! "Smallest" means `{}` except where the schema requires fields that the bench chargers
//! need: BootNotification is `Accepted` (so W1 admits), StartTransaction gives a
//! transaction id (so W2/W3 can run in 1.6), Heartbeat the time, Authorize `Accepted`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, Ordering};

use ampere_ocpp::OcppVersion;
use ampere_ocpp::frame::{self, Frame};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Child;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

/// Transaction ids handed out to 1.6 StartTransaction.
static NEXT_TRANSACTION: AtomicI64 = AtomicI64::new(1);

/// The same small buffers as Ampere's gateway, so W4's memory figures compare like with like.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}

/// Serves the echo reference on `listener` until `stop` is cancelled.
pub async fn serve(listener: TcpListener, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, stop.clone()));
            }
            Err(error) => {
                // Out of file descriptors, most likely: back off instead of spinning.
                tracing::warn!(%error, "echo reference: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// The newest OCPP subprotocol the client offers.
fn choose(request: &Request) -> Option<OcppVersion> {
    let offered: Vec<&str> = request
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    OcppVersion::NEWEST_FIRST
        .into_iter()
        .find(|v| offered.contains(&v.subprotocol()))
}

// The handshake callback's error type is tungstenite's HTTP response, large by nature.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, stop: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let mut version = None;
    let callback = |request: &Request, mut response: Response| match choose(request) {
        Some(v) => {
            version = Some(v);
            response.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static(v.subprotocol()),
            );
            Ok(response)
        }
        None => {
            let mut refusal = ErrorResponse::new(Some("no OCPP subprotocol offered".into()));
            *refusal.status_mut() = StatusCode::BAD_REQUEST;
            Err(refusal)
        }
    };
    let Ok(mut socket) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config())).await
    else {
        return;
    };
    let Some(version) = version else { return };
    loop {
        let message = tokio::select! {
            _ = stop.cancelled() => return,
            message = socket.next() => message,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
            Some(Ok(_)) => continue,
        };
        let answer = match frame::parse(text.as_str(), version) {
            Ok(Frame::Call { id, action, .. }) => Frame::CallResult {
                id,
                payload: answer(version, &action),
            },
            Ok(_) => continue,
            Err(error) => match error.reply() {
                Some(reply) => reply,
                None => continue,
            },
        };
        if socket
            .send(Message::text(answer.to_text(version)))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The smallest valid CALLRESULT payload for `action` (see the module docs).
fn answer(version: OcppVersion, action: &str) -> Value {
    let now = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match (version, action) {
        (_, "BootNotification") => {
            json!({"status": "Accepted", "currentTime": now(), "interval": 300})
        }
        (_, "Heartbeat") => json!({"currentTime": now()}),
        (OcppVersion::V16, "StartTransaction") => json!({
            "transactionId": NEXT_TRANSACTION.fetch_add(1, Ordering::Relaxed),
            "idTagInfo": {"status": "Accepted"},
        }),
        (OcppVersion::V16, "Authorize" | "StopTransaction") => {
            json!({"idTagInfo": {"status": "Accepted"}})
        }
        (_, "Authorize") => json!({"idTokenInfo": {"status": "Accepted"}}),
        _ => json!({}),
    }
}

/// An echo reference running as a child process (its own pid, so its CPU and memory are
/// measured apart from the load generator's).
#[derive(Debug)]
pub struct EchoProcess {
    pub child: Child,
    pub pid: u32,
    /// `ws://ADDR/ocpp`
    pub url: String,
}

impl EchoProcess {
    /// Starts `program args…` (which must serve the echo reference and print its URL,
    /// `ws://…`, as the first line of its standard output) and waits for that line.
    pub async fn spawn(program: &Path, args: &[String]) -> Result<Self, String> {
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the echo reference: {e}"))?;
        let pid = child.id().ok_or("echo reference exited at once")?;
        let stdout = child.stdout.take().ok_or("echo stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| "the echo reference printed no URL in 30 s".to_string())?
            .map_err(|e| e.to_string())?
            .ok_or("the echo reference ended without printing its URL")?;
        let start = line
            .find("ws://")
            .ok_or_else(|| format!("no ws:// URL in the echo reference's line {line:?}"))?;
        let url = line[start..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, pid, url })
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Binds the echo reference on `addr` and returns the URL chargers connect under.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, String)> {
    let listener = TcpListener::bind(addr).await?;
    let url = format!("ws://{}/ocpp", listener.local_addr()?);
    Ok((listener, url))
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::{MessageKind, validate};

    use super::*;

    #[test]
    fn answers_are_schema_valid() {
        for (version, actions) in [
            (
                OcppVersion::V16,
                &[
                    "BootNotification",
                    "Heartbeat",
                    "StatusNotification",
                    "MeterValues",
                    "StartTransaction",
                    "StopTransaction",
                    "Authorize",
                ][..],
            ),
            (
                OcppVersion::V201,
                &[
                    "BootNotification",
                    "Heartbeat",
                    "StatusNotification",
                    "TransactionEvent",
                    "Authorize",
                ][..],
            ),
        ] {
            for action in actions {
                let payload = answer(version, action);
                validate(version, action, MessageKind::Response, &payload)
                    .unwrap_or_else(|v| panic!("{version} {action} {payload}: {v}"));
            }
        }
    }
}
