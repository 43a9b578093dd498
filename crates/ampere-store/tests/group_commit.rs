//! Group commit on a SQLite file: many units of work share one COMMIT, each in its own
//! savepoint. What must hold: every committed unit is durable when `commit()` returns, a unit
//! that fails or is dropped rolls back alone, and nothing can leave the writer stuck.

#[allow(dead_code, unused_macros)]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use ampere_domain::*;
use tokio::time::timeout;

use harness::Harness;

const PATIENCE: Duration = Duration::from_secs(20);

fn id(n: usize) -> ChargerId {
    ChargerId::new(format!("GC-{n:04}")).unwrap()
}

async fn register(h: &Harness, id: ChargerId) -> Charger {
    h.services
        .chargers
        .register(NewCharger {
            id,
            password: None,
            security_profile: SecurityProfile::default(),
            registration_status: RegistrationStatus::Accepted,
        })
        .await
        .unwrap()
}

/// A store opened afresh on the same file: it sees only what reached the disk.
async fn reopened(h: &Harness) -> ampere_store::Store {
    h.store.close().await;
    ampere_store::Store::open(&h.url).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_units_are_all_durable_when_commit_returns() {
    let h = harness::sqlite().await;
    let services = h.services.clone();
    let tasks: Vec<_> = (0..200)
        .map(|n| {
            let services = services.clone();
            tokio::spawn(async move {
                services
                    .chargers
                    .register(NewCharger {
                        id: id(n),
                        password: None,
                        security_profile: SecurityProfile::default(),
                        registration_status: RegistrationStatus::Accepted,
                    })
                    .await
                    .unwrap();
                services.chargers.heartbeat(&id(n)).await.unwrap();
            })
        })
        .collect();
    for task in tasks {
        timeout(PATIENCE, task).await.unwrap().unwrap();
    }

    let store = reopened(&h).await;
    let mut tx = store.read().await.unwrap();
    for n in 0..200 {
        let charger = tx.charger(&id(n)).await.unwrap();
        assert!(charger.is_some_and(|c| c.last_seen.is_some()), "GC-{n:04}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_or_failing_unit_rolls_back_alone_inside_a_shared_group() {
    let h = harness::sqlite().await;
    let template = register(&h, id(0)).await;
    let storage: Arc<dyn Storage> = Arc::new(h.store.clone());

    // Unit A holds the writer; B (dropped without commit) and C (a conflicting insert) queue
    // behind it and run before A's group is committed, so all three share one transaction.
    let mut a = storage.begin().await.unwrap();
    a.insert_charger(&Charger {
        id: id(1),
        ..template.clone()
    })
    .await
    .unwrap();
    let b = tokio::spawn({
        let (storage, template) = (storage.clone(), template.clone());
        async move {
            let mut b = storage.begin().await.unwrap();
            b.insert_charger(&Charger {
                id: id(2),
                ..template
            })
            .await
            .unwrap();
            drop(b);
        }
    });
    let c = tokio::spawn({
        let (storage, template) = (storage.clone(), template.clone());
        async move {
            let mut c = storage.begin().await.unwrap();
            c.insert_charger(&Charger {
                id: id(3),
                ..template.clone()
            })
            .await
            .unwrap();
            let conflict = c
                .insert_charger(&Charger {
                    id: id(0),
                    ..template
                })
                .await;
            assert!(
                matches!(conflict, Err(StoreError::Conflict(_))),
                "{conflict:?}"
            );
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    timeout(PATIENCE, a.commit()).await.unwrap().unwrap();
    timeout(PATIENCE, b).await.unwrap().unwrap();
    timeout(PATIENCE, c).await.unwrap().unwrap();

    // The writer is free again and the next unit commits.
    register(&h, id(4)).await;

    let store = reopened(&h).await;
    let mut tx = store.read().await.unwrap();
    assert!(tx.charger(&id(1)).await.unwrap().is_some(), "A committed");
    assert!(tx.charger(&id(2)).await.unwrap().is_none(), "B dropped");
    assert!(tx.charger(&id(3)).await.unwrap().is_none(), "C failed");
    assert!(
        tx.charger(&id(4)).await.unwrap().is_some(),
        "the writer went on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_stops_waiting_cannot_block_the_writer() {
    let h = harness::sqlite().await;
    let template = register(&h, id(0)).await;
    let storage: Arc<dyn Storage> = Arc::new(h.store.clone());

    for n in 1..=20 {
        let mut unit = storage.begin().await.unwrap();
        unit.insert_charger(&Charger {
            id: id(n),
            ..template.clone()
        })
        .await
        .unwrap();
        // Give up at once, before the group's COMMIT can have returned.
        let _ = timeout(Duration::ZERO, unit.commit()).await;
    }
    let _ = storage.begin().await.unwrap(); // begun and dropped

    // Other writers on the same pool (API tokens) and new units still get their turn.
    let tokens = ApiTokenService::new(Arc::new(h.store.clone()), h.clock.clone());
    timeout(PATIENCE, tokens.create("after", ApiRole::Viewer))
        .await
        .unwrap()
        .unwrap();
    timeout(PATIENCE, register(&h, id(99))).await.unwrap();
    let mut tx = storage.read().await.unwrap();
    assert!(tx.charger(&id(99)).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn units_and_direct_writers_interleave_without_deadlock() {
    let h = harness::sqlite().await;
    let tokens = ApiTokenService::new(Arc::new(h.store.clone()), h.clock.clone());
    let mut tasks = Vec::new();
    for n in 0..100 {
        let services = h.services.clone();
        tasks.push(tokio::spawn(async move {
            services
                .chargers
                .register(NewCharger {
                    id: id(n),
                    password: None,
                    security_profile: SecurityProfile::default(),
                    registration_status: RegistrationStatus::Accepted,
                })
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }));
        let tokens = tokens.clone();
        tasks.push(tokio::spawn(async move {
            tokens
                .create(&format!("t{n}"), ApiRole::Viewer)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }));
    }
    for task in tasks {
        timeout(PATIENCE, task).await.unwrap().unwrap().unwrap();
    }
    assert_eq!(tokens.list(None, 500).await.unwrap().len(), 100);
}
