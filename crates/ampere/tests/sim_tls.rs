//! `ampere sim` over wss against a real `ampere serve`: profile 3 with the certificate
//! `ampere cert` made for the charger, profile 2 with a per-charger password template, and
//! no connection at all without the operator's CA.

// Shared with the other end-to-end tests; this file uses only some of it.
#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{BIN, cli};

/// `ampere serve` with a wss listener; the child and the wss port.
fn serve_tls(dir: &Path) -> (std::process::Child, u16) {
    let pki = dir.join("pki");
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg("--data-dir")
        .arg(dir)
        .args([
            "--ocpp-addr",
            "127.0.0.1:0",
            "--ocpp-tls-addr",
            "127.0.0.1:0",
        ])
        .args(["--http-addr", "127.0.0.1:0"])
        .arg("--tls-cert")
        .arg(pki.join("server.pem"))
        .arg("--tls-key")
        .arg(pki.join("server.key.pem"))
        .arg("--tls-client-ca")
        .arg(pki.join("ca.pem"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start ampere serve");
    let stdout = child.stdout.take().expect("stdout");
    let (found, port) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(at) = line.find("wss://") {
                let host = line[at + 6..].split('/').next().unwrap_or_default();
                if let Some(port) = host.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()) {
                    let _ = found.send(port);
                }
            }
        }
    });
    let port = port
        .recv_timeout(Duration::from_secs(60))
        .expect("the server prints its wss URL");
    (child, port)
}

/// Runs `ampere sim` for 2 s with `args`; its last line (the counters).
fn sim(port: u16, args: &[&str]) -> String {
    let url = format!("wss://localhost:{port}/ocpp");
    let out = Command::new(BIN)
        .args(["sim", "--url", &url, "--chargers", "1", "--duration", "2"])
        .args(["--report-interval", "0", "--backoff-max", "1"])
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run ampere sim");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn the_simulator_connects_over_wss_with_a_client_certificate_or_a_password() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path();
    cli(dir, &["cert", "init-ca"]);
    cli(
        dir,
        &["cert", "server", "--dns", "localhost", "--ip", "127.0.0.1"],
    );
    cli(dir, &["cert", "charger", "CERT-00001"]);
    cli(
        dir,
        &["charger", "add", "CERT-00001", "--security-profile", "3"],
    );
    cli(
        dir,
        &[
            "charger",
            "add",
            "PW-00001",
            "--password",
            "secret-for-PW-00001",
            "--security-profile",
            "2",
        ],
    );
    let (mut server, port) = serve_tls(dir);
    let pki = dir.join("pki");
    let ca = pki.join("ca.pem");
    let ca = ca.to_str().unwrap();

    // Profile 3: the charger's certificate, no password.
    let cert = pki.join("chargers/CERT-00001.pem");
    let key = pki.join("chargers/CERT-00001.key.pem");
    let summary = sim(
        port,
        &[
            "--id-prefix",
            "CERT",
            "--ca",
            ca,
            "--client-cert",
            cert.to_str().unwrap(),
            "--client-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(summary.contains("boots accepted 1 "), "{summary}");

    // Profile 2: TLS and the password made from the template for this identity.
    let summary = sim(
        port,
        &[
            "--id-prefix",
            "PW",
            "--ca",
            ca,
            "--password",
            "secret-for-{id}",
        ],
    );
    assert!(summary.contains("boots accepted 1 "), "{summary}");

    // The wrong password, or a server certificate from a CA it does not trust: no boot.
    let summary = sim(
        port,
        &["--id-prefix", "PW", "--ca", ca, "--password", "wrong-{id}"],
    );
    assert!(summary.contains("boots accepted 0 "), "{summary}");
    let other_ca = tempfile::tempdir().expect("temp dir");
    cli(other_ca.path(), &["cert", "init-ca"]);
    let rogue = other_ca.path().join("pki/ca.pem");
    let summary = sim(
        port,
        &[
            "--id-prefix",
            "PW",
            "--ca",
            rogue.to_str().unwrap(),
            "--password",
            "secret-for-{id}",
        ],
    );
    assert!(summary.contains("boots accepted 0 "), "{summary}");
    let _ = server.kill();
    let _ = server.wait();
}
