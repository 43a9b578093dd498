//! The simulator against a real `ampere serve`: a mixed-version network boots, charges and
//! stops, and the store holds what it did.

// Shared with the other end-to-end tests; this file uses only the server helpers.
#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use ampere_domain::{Storage, TransactionFilter, TransactionStatus};
use ampere_sim::{ChargerProfile, SimConfig, Simulation, VersionMix};

use common::{Server, cli};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_network_boots_charges_and_is_stored() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let data_path = data_dir.path().to_path_buf();
    cli(&data_path, &["id-token", "add", "SIMTOKEN"]);
    let mut server = Server::start_in(data_dir, &["--unknown-chargers", "accept"]);

    let chargers = 20;
    let sim = Simulation::start(SimConfig {
        url: format!("{}/ocpp", server.ocpp_base),
        chargers,
        versions: VersionMix::parse("mix").expect("mix"),
        id_prefix: "SIM".into(),
        password: None,
        connect_rate: 1000,
        seed: 7,
        profile: ChargerProfile {
            session_interval: Duration::from_millis(300),
            session_duration: Duration::from_secs(3),
            meter_interval: Duration::from_millis(500),
            ..ChargerProfile::default()
        },
    });
    tokio::time::sleep(Duration::from_secs(7)).await;
    let summary = sim.stop(Duration::from_secs(20)).await;
    println!("{summary}");
    assert_eq!(summary.boots_accepted, u64::from(chargers), "{summary}");
    assert_eq!(summary.call_errors, 0, "{summary}");
    assert_eq!(summary.invalid_answers, 0, "{summary}");
    assert_eq!(summary.disconnects, 0, "{summary}");
    assert!(
        summary.sessions_completed >= u64::from(chargers),
        "{summary}"
    );
    assert_eq!(summary.sessions_started, summary.sessions_completed);

    // Everything answered was durable; read it with the server stopped.
    assert!(server.terminate().success());
    let store = ampere_store::Store::connect(&format!(
        "sqlite://{}",
        data_path.join("ampere.db").display()
    ))
    .await
    .expect("open the store");
    let mut tx = store.read().await.expect("read");

    let stored = tx.list_chargers(None, 100).await.expect("chargers");
    assert_eq!(stored.len(), chargers as usize);
    let mut protocols = BTreeMap::new();
    for charger in &stored {
        assert!(charger.id.as_str().starts_with("SIM-000"), "{}", charger.id);
        assert!(charger.last_boot_at.is_some(), "{} booted", charger.id);
        assert_eq!(charger.vendor.as_deref(), Some("Ampere"));
        assert_eq!(charger.model.as_deref(), Some("SimCharger"));
        *protocols
            .entry(charger.protocol.clone().unwrap_or_default())
            .or_insert(0) += 1;
    }
    assert_eq!(
        protocols,
        BTreeMap::from([
            ("ocpp1.6".to_owned(), 7),
            ("ocpp2.0.1".to_owned(), 6),
            ("ocpp2.1".to_owned(), 7),
        ])
    );

    let transactions = tx
        .list_transactions(&TransactionFilter {
            limit: 10_000,
            ..TransactionFilter::default()
        })
        .await
        .expect("transactions");
    assert_eq!(transactions.len() as u64, summary.sessions_completed);
    let mut energy_by_protocol: BTreeMap<String, u64> = BTreeMap::new();
    for t in &transactions {
        assert_eq!(t.status, TransactionStatus::Completed, "{t:?}");
        // The simulator's registers count whole Wh.
        let energy: u64 = t
            .energy_wh
            .unwrap_or_else(|| panic!("energy of {t:?}"))
            .to_string()
            .parse()
            .unwrap_or_else(|_| panic!("whole, non-negative energy in {t:?}"));
        let protocol = stored
            .iter()
            .find(|c| c.id == t.charger)
            .and_then(|c| c.protocol.clone())
            .unwrap_or_default();
        *energy_by_protocol.entry(protocol).or_default() += energy;
    }
    // Every charger charged, and energy flowed in every version.
    for charger in &stored {
        assert!(
            transactions.iter().any(|t| t.charger == charger.id),
            "{} has a completed transaction",
            charger.id
        );
    }
    assert_eq!(energy_by_protocol.len(), 3, "{energy_by_protocol:?}");
    for (protocol, energy) in &energy_by_protocol {
        assert!(*energy > 0, "{protocol}: {energy} Wh");
    }
    let total: u64 = energy_by_protocol.values().sum();
    assert_eq!(total, summary.energy_wh);
}

/// The `ampere sim` command line: flags reach the simulator, the run ends after
/// `--duration`, and the final counters are printed.
#[test]
fn the_sim_command_runs_for_its_duration_and_reports() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let data_path = data_dir.path().to_path_buf();
    cli(&data_path, &["id-token", "add", "LABTAG"]);
    let mut server = Server::start_in(data_dir, &["--unknown-chargers", "accept"]);
    let url = format!("{}/ocpp", server.ocpp_base);
    let started = std::time::Instant::now();
    let out = std::process::Command::new(common::BIN)
        .args(["sim", "--url", &url, "--chargers", "3", "--version", "mix"])
        .args([
            "--mix",
            "2.0.1=1,2.1=2",
            "--id-prefix",
            "LAB",
            "--id-tokens",
            "LABTAG",
        ])
        .args(["--duration", "3", "--session-interval", "0.2"])
        .args(["--session-duration", "1", "--meter-interval", "0.3"])
        .args(["--report-interval", "0", "--seed", "1"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ampere sim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() >= Duration::from_secs(3));
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains("boots accepted 3 ") && summary.contains("CALLERROR 0"),
        "{stdout}"
    );
    assert!(!summary.contains("completed 0 "), "{stdout}");

    let listed = cli(&data_path, &["charger", "list"]);
    for id in ["LAB-00001", "LAB-00002", "LAB-00003"] {
        assert!(listed.contains(id), "{listed}");
    }
    assert!(server.terminate().success());
}
