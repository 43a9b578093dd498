//! How many MeterValues messages per second the store makes durable, through the domain
//! services exactly as the OCPP handlers call them (one unit of work per message, committed
//! before the call returns), with many chargers writing at once.
//!
//! ```sh
//! cargo run --release -p ampere-store --example write_throughput -- [CHARGERS] [SECONDS] [DATABASE_URL]
//! ```
//!
//! Defaults: 200 chargers, 10 seconds, a fresh SQLite file in a temporary directory. Each
//! charger has a running transaction and sends MeterValues with four sampled values (energy,
//! power, current, voltage) back to back, as the W3 saturation workload does, without the
//! network and the router in between: this is the store's share of the budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ampere_domain::ids::ConnectorId;
use ampere_domain::{
    ChargerConfig, ChargerId, ConnectorRef, EvseId, MeterValue, MeterValuesReport, NewCharger,
    RegistrationStatus, SampledValue, SecurityProfile, Services, SystemClock, TransactionEvent,
    TransactionEventKind,
};
use ampere_store::Store;
use chrono::Utc;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let chargers: usize = args.next().map_or(200, |a| a.parse().expect("CHARGERS"));
    let seconds: u64 = args.next().map_or(10, |a| a.parse().expect("SECONDS"));
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = args.next().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        )
    });

    let store = Arc::new(Store::open(&url).await.expect("open the store"));
    let services = Services::new(store, Arc::new(SystemClock), ChargerConfig::default());
    let run = format!("{:x}", Utc::now().timestamp_micros());
    let place = ConnectorRef::new(EvseId::new(1).unwrap(), ConnectorId::new(1).unwrap());

    let mut ids = Vec::with_capacity(chargers);
    for n in 0..chargers {
        let id = ChargerId::new(format!("WT-{run}-{n:05}")).unwrap();
        services
            .chargers
            .register(NewCharger {
                id: id.clone(),
                password: None,
                security_profile: SecurityProfile::default(),
                registration_status: RegistrationStatus::Accepted,
            })
            .await
            .expect("register");
        let started = services
            .transactions
            .record_event(&TransactionEvent {
                place: Some(place),
                meter_start_wh: Some(0.into()),
                ..TransactionEvent::new(id.clone(), TransactionEventKind::Started, Utc::now())
            })
            .await
            .expect("start a transaction");
        ids.push((id, started.transaction.id.clone()));
    }

    let stored = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let began = Instant::now();
    let mut tasks = Vec::new();
    for (id, transaction_id) in ids {
        let services = services.clone();
        let stored = stored.clone();
        tasks.push(tokio::spawn(async move {
            let mut wh: u64 = 0;
            while Instant::now() < deadline {
                wh += 10;
                let sampled = vec![
                    SampledValue {
                        measurand: Some("Energy.Active.Import.Register".into()),
                        unit: Some("Wh".into()),
                        ..SampledValue::plain(wh.to_string())
                    },
                    SampledValue {
                        measurand: Some("Power.Active.Import".into()),
                        unit: Some("W".into()),
                        ..SampledValue::plain("7400")
                    },
                    SampledValue {
                        measurand: Some("Current.Import".into()),
                        unit: Some("A".into()),
                        ..SampledValue::plain("32")
                    },
                    SampledValue {
                        measurand: Some("Voltage".into()),
                        unit: Some("V".into()),
                        ..SampledValue::plain("230")
                    },
                ];
                let report = MeterValuesReport {
                    charger: id.clone(),
                    place: Some(place),
                    transaction_id: Some(transaction_id.clone()),
                    values: vec![MeterValue {
                        timestamp: Utc::now(),
                        sampled,
                    }],
                };
                services.meter.record(&report).await.expect("record");
                stored.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    let elapsed = began.elapsed().as_secs_f64();
    let total = stored.load(Ordering::Relaxed);
    println!(
        "{chargers} chargers, {elapsed:.1} s: {total} MeterValues stored, {:.0} messages/s",
        total as f64 / elapsed
    );
}
