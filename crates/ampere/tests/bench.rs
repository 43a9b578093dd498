//! Smoke tests of `ampere bench` (not timed): tiny workloads against a real `ampere serve`
//! and against the echo reference the bench starts itself, through the real binary, its
//! worker processes and its JSON report.

// Only the server half of the shared helpers is used here.
#[allow(dead_code)]
mod common;

use std::path::Path;
use std::process::Command;

use ampere_domain::{ChargerId, Storage as _, TransactionFilter};
use serde_json::Value;

use common::{BIN, Server};

/// Runs `ampere bench ARGS --json FILE` and returns the JSON report.
fn bench(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("report.json");
    let out = Command::new(BIN)
        .arg("bench")
        .args(args)
        .arg("--json")
        .arg(&json)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ampere bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ampere bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    read_json(&json)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("JSON report")).expect("JSON")
}

fn accepting_server() -> (Server, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_owned();
    (
        Server::start_in(dir, &["--unknown-chargers", "accept"]),
        path,
    )
}

fn run<'a>(report: &'a Value, label: &str) -> &'a Value {
    report["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|r| r["label"] == label)
        .unwrap_or_else(|| panic!("no {label} run in {report:#}"))
}

#[test]
fn w1_boot_storm_admits_every_charger_in_ampere_and_in_the_echo_reference() {
    let (server, _) = accepting_server();
    let target = format!("{}/ocpp", server.ocpp_base);
    let report = bench(&[
        "--workload",
        "w1",
        "--target",
        &target,
        "--chargers",
        "5",
        "--connectors",
        "2",
        "--workers",
        "2",
        "--reference",
    ]);
    for label in ["target", "echo"] {
        let r = run(&report, label);
        assert_eq!(r["workers"], 2, "{r:#}");
        assert_eq!(r["figures"]["connected"], 5, "{r:#}");
        assert_eq!(r["figures"]["admitted"], 5, "{r:#}");
        assert_eq!(r["errors"]["total"], 0, "{r:#}");
        assert!(r["figures"]["all_admitted_s"].as_f64().unwrap() > 0.0);
        assert_eq!(r["latency"]["BootNotification"]["count"], 5, "{r:#}");
        assert_eq!(r["latency"]["StatusNotification"]["count"], 10, "{r:#}");
    }
    // The server's process was found by its listening port and measured.
    assert_eq!(
        run(&report, "target")["server"]["pid"],
        server.child.id(),
        "{report:#}"
    );
    let ratio = &report["ratios"][0];
    assert_eq!(ratio["metric"], "admitted_per_s");
    assert_eq!(ratio["reference"], "echo");
    assert!(ratio["ratio"].as_f64().unwrap() > 0.0);
}

#[test]
fn w1_counts_chargers_the_server_does_not_accept_as_errors() {
    // Default policy `pending`: unknown chargers are answered Pending, not admitted.
    let server = Server::start(&[]);
    let target = format!("{}/ocpp", server.ocpp_base);
    let report = bench(&["--workload", "w1", "--target", &target, "--chargers", "2"]);
    let r = run(&report, "target");
    assert_eq!(r["figures"]["connected"], 2, "{r:#}");
    assert_eq!(r["figures"]["admitted"], 0, "{r:#}");
    assert_eq!(r["errors"]["by_kind"]["boot:Pending"], 2, "{r:#}");
    assert_eq!(
        r["errors"]["first"]["boot:Pending"], "BootNotification answered Pending",
        "{r:#}"
    );
    assert!(r["figures"]["all_admitted_s"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn w3_every_answered_meter_value_is_stored_by_ampere() {
    let (mut server, data_dir) = accepting_server();
    let target = format!("{}/ocpp", server.ocpp_base);
    let report = tokio::task::spawn_blocking(move || {
        bench(&[
            "--workload",
            "w3",
            "--target",
            &target,
            "--connections",
            "3",
            "--duration",
            "1",
            "--id-prefix",
            "W3",
            "--reference",
        ])
    })
    .await
    .expect("bench");
    let mut answered = 0;
    for label in ["target", "echo"] {
        let r = run(&report, label);
        answered = r["figures"]["answered"].as_u64().expect("answered");
        assert!(answered > 0, "{r:#}");
        assert_eq!(r["errors"]["total"], 0, "{r:#}");
        assert_eq!(r["latency"]["MeterValues"]["count"], answered, "{r:#}");
        assert!(r["figures"]["msgs_per_s"].as_f64().unwrap() > 0.0);
    }
    let answered_by_ampere = run(&report, "target")["figures"]["answered"]
        .as_u64()
        .unwrap();
    assert!(answered > 0);
    assert!(report["ratios"][0]["metric"] == "msgs_per_s", "{report:#}");

    // Answered means stored: every answered MeterValues is in the database.
    assert!(server.terminate().success());
    let store =
        ampere_store::Store::connect(&ampere_store::sqlite_url_in(&data_dir).expect("sqlite url"))
            .await
            .expect("open the store");
    let mut tx = store.read().await.expect("read");
    let mut stored = 0;
    for n in 1..=3 {
        let charger = ChargerId::new(format!("W3-{n:06}")).expect("charger id");
        let transactions = tx
            .list_transactions(&TransactionFilter {
                charger: Some(charger),
                limit: 10,
                ..TransactionFilter::default()
            })
            .await
            .expect("transactions");
        assert_eq!(transactions.len(), 1, "one session per connection");
        let serial = transactions[0].serial;
        stored += tx
            .transaction_meter_values(serial)
            .await
            .expect("meter values")
            .len() as u64;
    }
    assert_eq!(stored, answered_by_ampere);
}

#[test]
fn w2_and_w4_report_latency_and_memory_in_2_0_1() {
    let (server, _) = accepting_server();
    let target = format!("{}/ocpp", server.ocpp_base);
    let report = bench(&[
        "--workload",
        "w2",
        "--target",
        &target,
        "--version",
        "2.0.1",
        "--chargers",
        "4",
        "--duration",
        "1",
        "--meter-every",
        "0.25",
        "--heartbeat-every",
        "0.5",
        "--id-prefix",
        "W2",
    ]);
    let r = run(&report, "target");
    assert_eq!(r["errors"]["total"], 0, "{r:#}");
    // 4 chargers × 4 readings and 4 × 2 heartbeats due in the second: each one sent and
    // answered (its latency recorded), or still due when the window closed. The 4 more
    // TransactionEvents are the sessions' starts.
    let readings = r["latency"]["TransactionEvent"]["count"].as_u64().unwrap() - 4;
    let heartbeats = r["latency"]["Heartbeat"]["count"].as_u64().unwrap_or(0);
    let unsent = r["figures"]["unsent_at_end"].as_u64().unwrap();
    assert_eq!(readings + heartbeats + unsent, 16 + 8, "{r:#}");
    let answered = r["figures"]["answered"].as_u64().unwrap();
    assert!(answered > 0 && answered <= readings + heartbeats, "{r:#}");
    assert!(r["latency"]["TransactionEvent"]["p99_ms"].as_f64().unwrap() > 0.0);
    assert!(r["server"]["cpu_s"].as_f64().is_some(), "{r:#}");

    let report = bench(&[
        "--workload",
        "w4",
        "--target",
        &target,
        "--version",
        "2.0.1",
        "--chargers",
        "5",
        "--id-prefix",
        "W4",
    ]);
    let r = run(&report, "target");
    assert_eq!(r["errors"]["total"], 0, "{r:#}");
    assert_eq!(r["figures"]["admitted"], 5, "{r:#}");
    assert!(
        r["figures"]["memory_per_connection_bytes"].is_number(),
        "{r:#}"
    );
}
