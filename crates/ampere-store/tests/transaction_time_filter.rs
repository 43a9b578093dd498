//! Store contract for listing transactions by start time (`started_after` inclusive,
//! `started_before` exclusive), on SQLite and PostgreSQL (see `contract.rs`).

// The harness serves several suites; this one does not use all of its fields.
#[macro_use]
#[allow(dead_code)]
mod harness;

use ampere_domain::*;
use chrono::{DateTime, Utc};

use harness::Harness;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

async fn transactions_are_filtered_by_start_time(h: Harness) {
    let id = ChargerId::new("TIME-1").unwrap();
    h.services
        .chargers
        .register(NewCharger {
            id: id.clone(),
            password: None,
            security_profile: SecurityProfile::BASIC,
            registration_status: RegistrationStatus::Accepted,
        })
        .await
        .unwrap();
    let mut serials = Vec::new();
    for (n, start) in [
        "2026-01-01T09:00:00Z",
        "2026-01-01T10:00:00Z",
        "2026-01-01T11:00:00Z",
    ]
    .into_iter()
    .enumerate()
    {
        let event = TransactionEvent {
            place: Some(
                ConnectorRef::single_connector_evse(u32::try_from(n).unwrap() + 1).unwrap(),
            ),
            ..TransactionEvent::new(id.clone(), TransactionEventKind::Started, at(start))
        };
        let outcome = h.services.transactions.record_event(&event).await.unwrap();
        serials.push(outcome.transaction.serial);
    }
    let list = |after: Option<&str>, before: Option<&str>| {
        let filter = TransactionFilter {
            started_after: after.map(at),
            started_before: before.map(at),
            limit: 10,
            ..Default::default()
        };
        let txs = h.services.transactions.clone();
        async move {
            txs.list(&filter)
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.serial)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(Some("2026-01-01T10:00:00Z"), None).await,
        [serials[2], serials[1]],
        "started_after includes its own instant"
    );
    assert_eq!(
        list(None, Some("2026-01-01T10:00:00Z")).await,
        [serials[0]],
        "started_before excludes its own instant"
    );
    assert_eq!(
        list(Some("2026-01-01T09:30:00Z"), Some("2026-01-01T10:30:00Z")).await,
        [serials[1]]
    );
    assert_eq!(
        list(Some("2026-01-01T11:00:00.000001Z"), None).await,
        Vec::<i64>::new()
    );
}

contract! {
    transactions_are_filtered_by_start_time,
}
