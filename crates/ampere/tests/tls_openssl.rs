//! The wss listener as a foreign TLS stack sees it: `openssl s_client` against `ampere serve`
//! for the protocol versions (1.0 and 1.1 refused, 1.2 and 1.3 accepted) and the OCPP 2.0.1
//! A00.FR.318 cipher suites (the ECDHE ones accepted with an ECDSA and with an RSA server
//! key, the static-RSA ones refused: the decision in ARCHITECTURE.md).
//!
//! openssl is an outside tool: without it the tests say so and pass, except under `CI=true`,
//! where it must be installed (Debian has it).

#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{BIN, cli};

/// Whether openssl can be run; under `CI=true` its absence fails the test.
fn openssl_available() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: openssl must be installed for the s_client tests"
        );
        eprintln!("SKIPPED: openssl is not installed, the s_client tests did not run");
    }
    found
}

struct Server {
    child: Child,
    wss: SocketAddr,
}

impl Server {
    fn start(data_dir: &Path, cert: &Path, key: &Path) -> Self {
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
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ampere serve");
        let stdout = child.stdout.take().expect("stdout");
        let (found, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = found.send(line);
            }
        });
        let mut wss = None;
        while wss.is_none() {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("server printed its wss URL");
            if let Some(start) = line.find("wss://") {
                let host = line[start + 6..].split('/').next().unwrap();
                wss = Some(host.parse().expect("wss address"));
            }
        }
        Self {
            child,
            wss: wss.unwrap(),
        }
    }

    /// Runs `openssl s_client` with `args`; true when the handshake completed.
    fn handshake(&self, args: &[&str]) -> bool {
        let mut child = Command::new("openssl")
            .arg("s_client")
            .arg("-connect")
            .arg(self.wss.to_string())
            .args(["-servername", "localhost"])
            .args(args)
            .env("OPENSSL_CONF", "/dev/null")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run openssl s_client");
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "s_client {args:?} hung");
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().expect("s_client output");
        let stdout = String::from_utf8_lossy(&output.stdout);
        // A completed handshake prints the negotiated cipher; a refused one prints
        // "Cipher is (NONE)" or nothing and exits non-zero.
        let agreed = stdout.contains("Cipher is ") && !stdout.contains("Cipher is (NONE)");
        assert_eq!(
            agreed,
            output.status.success(),
            "s_client {args:?}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        agreed
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Old protocol versions must be refused by the server, so the client is allowed to offer
/// them: OpenSSL 3 refuses them itself at its default security level, and Debian's system
/// configuration sets `MinProtocol = TLSv1.2` (hence `OPENSSL_CONF=/dev/null` below). A check
/// against `openssl s_server` showed this client does complete a TLS 1.0 handshake.
const LEGACY: &str = "ALL@SECLEVEL=0";

#[test]
fn tls_versions_and_the_a00_fr_318_suites_with_an_ecdsa_server_key() {
    if !openssl_available() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    cli(data.path(), &["cert", "init-ca"]);
    cli(data.path(), &["cert", "server", "--dns", "localhost"]);
    let pki = data.path().join("pki");
    let server = Server::start(
        data.path(),
        &pki.join("server.pem"),
        &pki.join("server.key.pem"),
    );

    assert!(!server.handshake(&["-tls1", "-cipher", LEGACY]), "TLS 1.0");
    assert!(
        !server.handshake(&["-tls1_1", "-cipher", LEGACY]),
        "TLS 1.1"
    );
    assert!(server.handshake(&["-tls1_2"]), "TLS 1.2");
    assert!(server.handshake(&["-tls1_3"]), "TLS 1.3");
    for suite in [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ] {
        assert!(server.handshake(&["-tls1_2", "-cipher", suite]), "{suite}");
    }
    // TLS_RSA_WITH_AES_128_GCM_SHA256 and TLS_RSA_WITH_AES_256_GCM_SHA384: static RSA.
    for suite in ["AES128-GCM-SHA256", "AES256-GCM-SHA384"] {
        assert!(!server.handshake(&["-tls1_2", "-cipher", suite]), "{suite}");
    }
}

#[test]
fn the_rsa_suites_of_a00_fr_318_with_an_rsa_server_key() {
    if !openssl_available() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (cert, key) = (data.path().join("rsa.pem"), data.path().join("rsa.key.pem"));
    // rcgen (on ring) cannot make RSA keys: openssl makes the RSA server certificate.
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl req");
    assert!(made.success());
    let server = Server::start(data.path(), &cert, &key);

    for suite in ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"] {
        assert!(server.handshake(&["-tls1_2", "-cipher", suite]), "{suite}");
    }
    for suite in ["AES128-GCM-SHA256", "AES256-GCM-SHA384"] {
        assert!(!server.handshake(&["-tls1_2", "-cipher", suite]), "{suite}");
    }
    assert!(
        !server.handshake(&["-tls1_1", "-cipher", LEGACY]),
        "TLS 1.1"
    );
    assert!(server.handshake(&["-tls1_3"]), "TLS 1.3");
}
