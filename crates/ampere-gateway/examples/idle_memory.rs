//! Measures the gateway's resident memory per idle charger connection.
//!
//! ```text
//! cargo run --release -p ampere-gateway --example idle_memory -- 5000
//! ```
//!
//! The process runs the gateway and starts a copy of itself as the charger side (so that
//! client memory is not counted). Each charger connects, sends one BootNotification-sized
//! CALL, reads the answer and then stays idle. The gateway's RSS growth divided by the
//! number of chargers is printed. Needs `ulimit -n` above the charger count. With
//! `AMPERE_TRACE=1` a tracing subscriber (info level, output discarded) is installed, as the
//! binary would, so that span storage is counted too. With `AMPERE_BIG_MESSAGE=BYTES` each
//! charger also sends one DataTransfer of about that size before going idle, to show what a
//! large message leaves behind.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ampere_domain::ChargerId;
use ampere_gateway::{
    CallHandler, ChargerAuth, ChargerDirectory, ConnectionEvent, DirectoryError, Gateway,
    GatewayConfig, SessionInfo, UnknownChargerPolicy,
};
use ampere_ocpp::CallError;
use async_trait::async_trait;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_util::sync::CancellationToken;

struct Nobody;

#[async_trait]
impl ChargerDirectory for Nobody {
    async fn lookup(&self, _id: &ChargerId) -> Result<Option<ChargerAuth>, DirectoryError> {
        Ok(None)
    }
}

struct Boot;

#[async_trait]
impl CallHandler for Boot {
    async fn handle_call(&self, _: &SessionInfo, _: &str, _: Value) -> Result<Value, CallError> {
        Ok(json!({"currentTime": "2026-01-01T00:00:00Z", "interval": 300, "status": "Accepted"}))
    }
    async fn handle_send(&self, _: &SessionInfo, _: &str, _: Value) {}
    async fn on_connection_event(&self, _: &SessionInfo, _: ConnectionEvent) {}
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--chargers") {
        return chargers(&args[2], args[3].parse().expect("count"));
    }
    let count: usize = args.get(1).map_or(2000, |n| n.parse().expect("count"));
    if std::env::var_os("AMPERE_TRACE").is_some() {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = GatewayConfig {
            ocpp_addr: "127.0.0.1:0".parse().unwrap(),
            unknown_chargers: UnknownChargerPolicy::Accept,
            max_connections: count + 100,
            ..GatewayConfig::default()
        };
        let shutdown = CancellationToken::new();
        let gateway = Gateway::bind(config, Arc::new(Nobody), Arc::new(Boot), shutdown.clone())
            .await
            .unwrap();
        let addr = gateway.local_addr();
        let commands = gateway.commands();

        // Warm up (runtime threads, allocator arenas) with a small batch first.
        let (mut warmup, warmup_ready) = spawn_chargers(addr, 50);
        wait_ready(&mut warmup, &warmup_ready).await;
        let before = rss_kib();

        let (mut child, ready) = spawn_chargers(addr, count);
        wait_ready(&mut child, &ready).await;
        while commands.online_count() < count + 50 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss_kib();
        let per = (after - before) * 1024 / count as u64;
        println!(
            "{count} idle chargers: RSS {before} KiB -> {after} KiB, {per} bytes per connection"
        );
        for mut process in [child, warmup] {
            drop(process.stdin.take());
            let _ = process.wait();
        }
        shutdown.cancel();
    });
}

fn spawn_chargers(
    addr: std::net::SocketAddr,
    count: usize,
) -> (std::process::Child, Arc<std::sync::Mutex<bool>>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--chargers", &addr.to_string(), &count.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the charger process");
    let ready = Arc::new(std::sync::Mutex::new(false));
    let stdout = child.stdout.take().unwrap();
    let flag = ready.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if line.unwrap_or_default() == "ready" {
                *flag.lock().unwrap() = true;
            }
        }
    });
    (child, ready)
}

async fn wait_ready(child: &mut std::process::Child, ready: &std::sync::Mutex<bool>) {
    while !*ready.lock().unwrap() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("charger process exited early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The charger side: `count` connections, one CALL each, then idle until stdin closes.
fn chargers(addr: &str, count: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut clients = Vec::with_capacity(count);
        let big: usize = std::env::var("AMPERE_BIG_MESSAGE")
            .ok()
            .map_or(0, |n| n.parse().expect("AMPERE_BIG_MESSAGE is a number"));
        let pid = std::process::id();
        for i in 0..count {
            let url = format!("ws://{addr}/ocpp/MEM-{pid}-{i:05}");
            let mut request = url.into_client_request().unwrap();
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static("ocpp1.6"),
            );
            let (mut ws, _) = tokio_tungstenite::connect_async(request)
                .await
                .expect("connect");
            let boot = json!([2, format!("boot-{i}"), "BootNotification", {
                "chargePointVendor": "Ampere", "chargePointModel": "Idle-1",
                "chargePointSerialNumber": format!("SN-{i:08}"), "firmwareVersion": "1.2.3",
                "iccid": "8931080000000000000", "imsi": "204080000000000",
                "meterType": "AC", "meterSerialNumber": format!("M-{i:08}")
            }]);
            ws.send(Message::text(boot.to_string())).await.unwrap();
            let _answer = ws.next().await.expect("answer").expect("answer");
            if big > 0 {
                let data = "x".repeat(big);
                let call =
                    json!([2, format!("big-{i}"), "DataTransfer", {"vendorId": "A", "data": data}]);
                ws.send(Message::text(call.to_string())).await.unwrap();
                let _answer = ws.next().await.expect("answer").expect("answer");
            }
            clients.push(ws);
        }
        println!("ready");
        std::io::stdout().flush().unwrap();
        // Idle until the parent closes stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
        drop(clients);
    });
}
