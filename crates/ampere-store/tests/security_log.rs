//! Store contract for the security log, on SQLite and PostgreSQL (see `contract.rs` for how
//! the backends are chosen).

#[macro_use]
#[allow(dead_code)]
mod harness;

use ampere_domain::*;
use chrono::Duration;
use serde_json::json;

use harness::Harness;

fn ampere_event(h: &Harness, event_type: &str, charger: &str) -> SecurityEvent {
    SecurityEvent {
        at: h.now(),
        source: SecurityEventSource::Ampere,
        charger_id: Some(charger.into()),
        event_type: event_type.into(),
        remote_addr: Some("127.0.0.2:40000".into()),
        occurred_at: None,
        tech_info: None,
        detail: json!({"reason": "wrong password"}),
    }
}

async fn charger_and_ampere_events_in_one_log(h: Harness) {
    let log = &h.services.security_log;
    let charger = ChargerId::new("CP-SEC").unwrap();
    let occurred = h.now() - Duration::seconds(30);
    let reported = log
        .record_from_charger(
            &charger,
            "FirmwareUpdated",
            Some(occurred),
            Some(&"t".repeat(300)),
        )
        .await
        .unwrap();
    assert_eq!(reported.event.tech_info.as_deref().map(str::len), Some(255));

    h.clock.advance(Duration::seconds(1));
    let batch = vec![
        ampere_event(&h, "AuthenticationFailed", "CP-SEC"),
        ampere_event(&h, "LockedOut", "CP-SEC"),
        ampere_event(&h, "AuthenticationFailed", "CP-OTHER"),
    ];
    let ids = log.record_batch(&batch).await.unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "stored in order");
    assert!(ids[0] > reported.id);
    assert!(log.record_batch(&[]).await.unwrap().is_empty());

    let all = log.list(&SecurityEventFilter::default(), 10).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].id, ids[2], "newest first");
    assert_eq!(all[3], reported);
    assert_eq!(all[1].event, batch[1]);

    let by_source = |source| SecurityEventFilter {
        source: Some(source),
        ..Default::default()
    };
    let from_chargers = log
        .list(&by_source(SecurityEventSource::Charger), 10)
        .await
        .unwrap();
    assert_eq!(from_chargers, vec![reported.clone()]);
    assert_eq!(
        log.list(&by_source(SecurityEventSource::Ampere), 10)
            .await
            .unwrap()
            .len(),
        3
    );

    let filter = SecurityEventFilter {
        charger_id: Some("CP-SEC".into()),
        event_type: Some("AuthenticationFailed".into()),
        ..Default::default()
    };
    let found = log.list(&filter, 10).await.unwrap();
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[0]]);

    // Time window: since is inclusive, until exclusive.
    let window = SecurityEventFilter {
        since: Some(h.now()),
        until: Some(h.now() + Duration::seconds(1)),
        ..Default::default()
    };
    assert_eq!(log.list(&window, 10).await.unwrap().len(), 3);
    let before = SecurityEventFilter {
        until: Some(h.now()),
        ..Default::default()
    };
    assert_eq!(log.list(&before, 10).await.unwrap(), vec![reported]);
    let backwards = SecurityEventFilter {
        since: Some(h.now()),
        until: Some(h.now() - Duration::seconds(1)),
        ..Default::default()
    };
    assert!(matches!(
        log.list(&backwards, 10).await,
        Err(DomainError::Invalid(_))
    ));

    // Pages by id.
    let first = log.list(&SecurityEventFilter::default(), 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let rest = SecurityEventFilter {
        before_id: Some(first[1].id),
        ..Default::default()
    };
    let second = log.list(&rest, 10).await.unwrap();
    assert_eq!(second.len(), 2);
    assert!(second[0].id < first[1].id);
}

contract! {
    charger_and_ampere_events_in_one_log,
}
