//! Security profiles 2 and 3 end to end: `ampere cert` makes the CA, the server certificate
//! and a charger certificate; `ampere serve` runs the wss listener with them; real TLS clients
//! (tokio-rustls, with and without the client certificate) boot or are refused as their
//! registered profile says.

// The shared helpers serve several test files; this one uses only some of them.
#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use base64::Engine as _;
use common::{BIN, cli};
use futures_util::{SinkExt as _, StreamExt as _};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

type TlsSocket = WebSocketStream<TlsStream<TcpStream>>;

/// `ampere serve` with both listeners on free loopback ports.
struct TlsServer {
    child: Child,
    /// `ws://127.0.0.1:PORT`
    ws_base: String,
    wss_addr: SocketAddr,
}

impl TlsServer {
    fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args([
                "--ocpp-addr",
                "127.0.0.1:0",
                "--ocpp-tls-addr",
                "127.0.0.1:0",
                "--http-addr",
                "127.0.0.1:0",
            ])
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
        let (found, urls) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep reading after the banner so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                for scheme in ["ws://", "wss://"] {
                    if let Some(start) = line.find(scheme) {
                        let url = &line[start + scheme.len()..];
                        let host = url.split("/ocpp/").next().unwrap_or(url).to_owned();
                        let _ = found.send((scheme, host));
                    }
                }
            }
        });
        let (mut ws_base, mut wss_addr) = (None, None);
        while ws_base.is_none() || wss_addr.is_none() {
            let (scheme, host) = urls
                .recv_timeout(Duration::from_secs(60))
                .expect("server printed its ws and wss URLs");
            match scheme {
                "ws://" => ws_base = Some(format!("ws://{host}")),
                _ => wss_addr = Some(host.parse().expect("wss address")),
            }
        }
        Self {
            child,
            ws_base: ws_base.unwrap(),
            wss_addr: wss_addr.unwrap(),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client_config(pki: &Path, charger: Option<&str>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(pki.join("ca.pem")).unwrap())
        .unwrap();
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    Arc::new(match charger {
        Some(id) => {
            let cert = CertificateDer::from_pem_file(pki.join(format!("chargers/{id}.pem")));
            let key = PrivateKeyDer::from_pem_file(pki.join(format!("chargers/{id}.key.pem")));
            builder
                .with_client_auth_cert(vec![cert.unwrap()], key.unwrap())
                .unwrap()
        }
        None => builder.with_no_client_auth(),
    })
}

/// Connects over wss (server name `localhost`) as `id` with OCPP 2.0.1.
async fn connect(
    server: &TlsServer,
    config: Arc<ClientConfig>,
    id: &str,
    password: Option<&str>,
) -> Result<TlsSocket, tungstenite::Error> {
    let tcp = TcpStream::connect(server.wss_addr).await?;
    let tls = TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let url = format!("wss://localhost:{}/ocpp/{id}", server.wss_addr.port());
    let mut request = url.into_client_request()?;
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", "ocpp2.0.1".parse().unwrap());
    if let Some(password) = password {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{password}"));
        headers.insert("Authorization", format!("Basic {token}").parse().unwrap());
    }
    let (socket, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::client_async(request, tls),
    )
    .await
    .expect("handshake within 10 s")?;
    Ok(socket)
}

async fn refused_status(
    server: &TlsServer,
    config: Arc<ClientConfig>,
    id: &str,
    password: Option<&str>,
) -> u16 {
    match connect(server, config, id, password).await {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("{id}: expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("{id}: expected an HTTP refusal, got an upgrade"),
    }
}

/// Sends a 2.0.1 BootNotification and returns the answer's status.
async fn boot(socket: &mut TlsSocket) -> String {
    let call = json!([2, "boot-1", "BootNotification", {
        "reason": "PowerUp",
        "chargingStation": {"model": "Wallbox", "vendorName": "Ampere Test"}
    }]);
    socket
        .send(Message::text(call.to_string()))
        .await
        .expect("send");
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an answer within 10 s")
            .expect("connection open")
            .expect("valid message");
        if let Message::Text(text) = message {
            let answer: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(answer[0], 3, "{answer}");
            assert_eq!(answer[1], "boot-1");
            return answer[2]["status"].as_str().unwrap().to_owned();
        }
    }
}

#[tokio::test]
async fn profiles_2_and_3_over_wss_with_certificates_from_ampere_cert() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let pki = dir.join("pki");
    cli(dir, &["cert", "init-ca"]);
    cli(
        dir,
        &["cert", "server", "--dns", "localhost", "--ip", "127.0.0.1"],
    );
    cli(dir, &["cert", "charger", "CP-3"]);
    cli(dir, &["cert", "charger", "CP-9"]);
    let listed = cli(dir, &["cert", "list"]);
    for file in [
        "ca.pem",
        "server.pem",
        "chargers/CP-3.pem",
        "chargers/CP-9.pem",
    ] {
        assert!(listed.contains(file), "{file} missing from:\n{listed}");
    }
    cli(dir, &["charger", "add", "CP-3", "--security-profile", "3"]);
    cli(
        dir,
        &[
            "charger",
            "add",
            "CP-2",
            "--password",
            "s3cret-pass",
            "--security-profile",
            "2",
        ],
    );

    let cert = pki.join("server.pem");
    let key = pki.join("server.key.pem");
    let ca = pki.join("ca.pem");
    let server = TlsServer::start(
        dir,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--tls-client-ca",
            ca.to_str().unwrap(),
        ],
    );

    // Profile 3: its certificate alone; boots Accepted.
    let mut cp3 = connect(&server, client_config(&pki, Some("CP-3")), "CP-3", None)
        .await
        .expect("CP-3 connects with its certificate");
    assert_eq!(boot(&mut cp3).await, "Accepted");

    // The same charger without its certificate is refused, and so is another charger's
    // certificate.
    assert_eq!(
        refused_status(&server, client_config(&pki, None), "CP-3", None).await,
        403
    );
    assert_eq!(
        refused_status(&server, client_config(&pki, Some("CP-9")), "CP-3", None).await,
        403
    );

    // Profile 2: TLS and its password.
    let mut cp2 = connect(
        &server,
        client_config(&pki, None),
        "CP-2",
        Some("s3cret-pass"),
    )
    .await
    .expect("CP-2 connects over TLS with its password");
    assert_eq!(boot(&mut cp2).await, "Accepted");
    assert_eq!(
        refused_status(&server, client_config(&pki, None), "CP-2", Some("wrong")).await,
        401
    );

    // Neither may use the plain listener.
    for id in ["CP-2", "CP-3"] {
        let url = format!("{}/ocpp/{id}", server.ws_base);
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "ocpp2.0.1".parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
            Err(other) => panic!("{id} on ws: expected 403, got {other}"),
            Ok(_) => panic!("{id} on ws: expected 403, got an upgrade"),
        }
    }

    // Both sessions are still alive after all that.
    assert_eq!(boot(&mut cp3).await, "Accepted");
    assert_eq!(boot(&mut cp2).await, "Accepted");

    // Renewal: a new server certificate, SIGHUP, and new connections are shown it while
    // the established ones go on.
    let original = presented(&cp3);
    cli(
        dir,
        &["cert", "server", "--dns", "localhost", "--ip", "127.0.0.1"],
    );
    let renewed = CertificateDer::from_pem_file(&cert).unwrap();
    assert_ne!(renewed, original);
    let hangup = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(hangup.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let probe = connect(&server, client_config(&pki, Some("CP-3")), "CP-3", None)
            .await
            .expect("CP-3 reconnects");
        if presented(&probe) == renewed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the renewed certificate was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(boot(&mut cp2).await, "Accepted");
}

/// The server certificate a client was shown.
fn presented(socket: &TlsSocket) -> CertificateDer<'static> {
    let (_, connection) = socket.get_ref().get_ref();
    connection
        .peer_certificates()
        .expect("a server certificate")[0]
        .clone()
}

#[test]
fn serve_refuses_half_a_tls_configuration() {
    let data = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (
            &["--tls-cert", "server.pem"][..],
            "--tls-cert and --tls-key go together",
        ),
        (
            &["--tls-client-ca", "ca.pem"][..],
            "--tls-client-ca needs the TLS listener",
        ),
        (
            &["--tls-cert", "missing.pem", "--tls-key", "missing.key.pem"][..],
            "missing.pem",
        ),
    ] {
        let out = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(data.path())
            .args(["--ocpp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .args(args)
            .output()
            .expect("run ampere serve");
        assert!(!out.status.success(), "{args:?} started");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
