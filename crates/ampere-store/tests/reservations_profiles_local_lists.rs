//! Store contract for reservations, charging profiles and local authorization lists, on
//! SQLite and PostgreSQL (see `contract.rs` for how the backends are chosen).

// The harness serves several suites; this one does not use all of its fields.
#[macro_use]
#[allow(dead_code)]
mod harness;

use ampere_domain::*;
use chrono::{DateTime, Duration, Utc};

use harness::Harness;

async fn charger(h: &Harness, id: &str) -> ChargerId {
    let id = ChargerId::new(id).unwrap();
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
    id
}

fn reservation(charger: &ChargerId, token: &str, expires_at: DateTime<Utc>) -> NewReservation {
    NewReservation {
        charger: charger.clone(),
        evse_id: Some(1),
        connector_id: None,
        connector_type: Some("cType2".into()),
        id_token: token.into(),
        id_token_type: "ISO14443".into(),
        group_id_token: Some("FLEET".into()),
        expires_at,
    }
}

fn filter(charger: Option<&ChargerId>, status: Option<ReservationStatus>) -> ReservationFilter {
    ReservationFilter {
        charger: charger.cloned(),
        status,
        before_id: None,
        limit: 50,
    }
}

async fn reservations_expire_on_read_in_the_store_and_the_domain_alike(h: Harness) {
    let reservations = &h.services.reservations;
    let cp1 = charger(&h, "CP-1").await;
    let cp2 = charger(&h, "CP-2").await;
    let soon = h.now() + Duration::minutes(10);
    let later = h.now() + Duration::hours(1);

    let a = reservations
        .create(&reservation(&cp1, "TAG-A", soon))
        .await
        .unwrap();
    assert_eq!(a.status, ReservationStatus::Pending);
    assert_eq!(a.group_id_token.as_deref(), Some("FLEET"));
    assert_eq!(a.connector_type.as_deref(), Some("cType2"));
    let b = reservations
        .create(&reservation(&cp1, "TAG-B", later))
        .await
        .unwrap();
    let c = reservations
        .create(&reservation(&cp2, "TAG-C", later))
        .await
        .unwrap();
    assert!(a.id < b.id && b.id < c.id);
    for id in [a.id, b.id, c.id] {
        reservations
            .record(id, ReservationStatus::Active, Some("Accepted"))
            .await
            .unwrap();
    }
    let got = reservations.get(a.id).await.unwrap().unwrap();
    assert_eq!(got.status, ReservationStatus::Active);
    assert_eq!(got.charger_status.as_deref(), Some("Accepted"));
    assert_eq!(got.expires_at, soon);

    // Newest first, by charger.
    let listed = reservations.list(&filter(Some(&cp1), None)).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![b.id, a.id]
    );

    // Past `expires_at`: expired for `get`, and for the store's status filter.
    h.clock.advance(Duration::minutes(10));
    assert_eq!(
        reservations.get(a.id).await.unwrap().unwrap().status,
        ReservationStatus::Expired
    );
    let expired = reservations
        .list(&filter(None, Some(ReservationStatus::Expired)))
        .await
        .unwrap();
    assert_eq!(expired.iter().map(|r| r.id).collect::<Vec<_>>(), vec![a.id]);
    let active = reservations
        .list(&filter(None, Some(ReservationStatus::Active)))
        .await
        .unwrap();
    assert_eq!(
        active.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![c.id, b.id]
    );

    // Paging.
    let page = reservations
        .list(&ReservationFilter {
            before_id: Some(c.id),
            limit: 1,
            ..filter(None, None)
        })
        .await
        .unwrap();
    assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b.id]);
}

async fn chargers_end_and_use_only_their_own_open_reservations(h: Harness) {
    let reservations = &h.services.reservations;
    let cp1 = charger(&h, "CP-1").await;
    let cp2 = charger(&h, "CP-2").await;
    let until = h.now() + Duration::hours(1);
    let a = reservations
        .create(&reservation(&cp1, "A", until))
        .await
        .unwrap();
    let b = reservations
        .create(&reservation(&cp1, "B", until))
        .await
        .unwrap();
    for id in [a.id, b.id] {
        reservations
            .record(id, ReservationStatus::Active, Some("Accepted"))
            .await
            .unwrap();
    }
    // Another charger cannot end it.
    assert!(
        reservations
            .charger_ended(&cp2, a.id, "Removed")
            .await
            .unwrap()
            .is_none()
    );
    let removed = reservations
        .charger_ended(&cp1, a.id, "Removed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed.status, ReservationStatus::Removed);
    assert_eq!(removed.charger_status.as_deref(), Some("Removed"));
    // Closed stays closed.
    assert!(reservations.used(&cp1, a.id).await.unwrap().is_none());
    assert!(
        reservations
            .charger_ended(&cp1, 9_999, "Expired")
            .await
            .unwrap()
            .is_none()
    );
    let used = reservations.used(&cp1, b.id).await.unwrap().unwrap();
    assert_eq!(used.status, ReservationStatus::Used);
    // Deleting the charger deletes its reservations.
    h.services.chargers.delete(&cp1).await.unwrap();
    assert!(reservations.get(b.id).await.unwrap().is_none());
}

fn spec() -> ProfileSpec {
    ProfileSpec {
        stack_level: 2,
        purpose: "TxDefaultProfile".into(),
        kind: "Recurring".into(),
        recurrency: Some("Daily".into()),
        valid_from: Some(
            DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                .unwrap()
                .to_utc(),
        ),
        valid_to: None,
        transaction_id: None,
        schedules: vec![Schedule {
            start_schedule: Some(
                DateTime::parse_from_rfc3339("2026-01-01T18:00:00Z")
                    .unwrap()
                    .to_utc(),
            ),
            duration: Some(3600),
            charging_rate_unit: "A".into(),
            min_charging_rate: Some(6.0),
            periods: vec![
                SchedulePeriod {
                    start_period: 0,
                    limit: 16.0,
                    number_phases: Some(3),
                    phase_to_use: None,
                },
                SchedulePeriod {
                    start_period: 1800,
                    limit: 10.5,
                    number_phases: None,
                    phase_to_use: None,
                },
            ],
        }],
    }
}

async fn charging_profiles_keep_their_fields_and_installations(h: Harness) {
    let profiles = &h.services.charging_profiles;
    let cp1 = charger(&h, "CP-1").await;
    let cp2 = charger(&h, "CP-2").await;
    let evening = profiles.create("evening cap", &spec()).await.unwrap();
    let other = profiles.create("", &spec()).await.unwrap();
    assert_eq!(evening.spec, spec());
    assert!(evening.installations.is_empty());

    profiles
        .record_installation(evening.id, &cp1, 1, "installed", Some("Accepted"))
        .await
        .unwrap();
    profiles
        .record_installation(evening.id, &cp2, 0, "refused", Some("Rejected"))
        .await
        .unwrap();
    // Installing again on the same charger replaces the record.
    h.clock.advance(Duration::seconds(5));
    let now = profiles
        .record_installation(evening.id, &cp1, 2, "installed", Some("Accepted"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.installations.len(), 2);
    let on_cp1 = &now.installations[0];
    assert_eq!((on_cp1.charger.as_str(), on_cp1.evse_id), ("CP-1", 2));
    assert_eq!(on_cp1.updated_at, h.now());
    assert_eq!(now.installations[1].status, "refused");
    assert_eq!(
        now.installations[1].charger_status.as_deref(),
        Some("Rejected")
    );

    let all = profiles.list(None, None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![evening.id, other.id]
    );
    assert_eq!(all[0].installations.len(), 2);
    let on_cp2 = profiles.list(Some(&cp2), None, 10).await.unwrap();
    assert_eq!(
        on_cp2.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![evening.id]
    );
    let after = profiles.list(None, Some(evening.id), 10).await.unwrap();
    assert_eq!(
        after.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![other.id]
    );

    assert!(profiles.delete(evening.id).await.unwrap());
    assert!(!profiles.delete(evening.id).await.unwrap());
    assert!(profiles.get(evening.id).await.unwrap().is_none());
}

fn entry(token: &str, status: &str, group: Option<&str>) -> LocalListEntry {
    LocalListEntry {
        id_token: token.into(),
        id_token_type: "ISO14443".into(),
        status: status.into(),
        expiry_date: Some(
            DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
                .unwrap()
                .to_utc(),
        ),
        group_id: group.map(str::to_owned),
    }
}

async fn local_list_versions_move_only_when_accepted(h: Harness) {
    let lists = &h.services.local_lists;
    let cp = charger(&h, "CP-1").await;
    let empty = lists.get(&cp).await.unwrap();
    assert_eq!(empty, LocalList::empty(cp.clone()));

    let full = vec![
        entry("A", "Accepted", Some("FLEET")),
        entry("B", "Blocked", None),
    ];
    let list = lists
        .record_update(&cp, UpdateType::Full, 1, &full, "Accepted")
        .await
        .unwrap();
    assert_eq!(list.version, 1);
    assert_eq!(list.entries, full);
    let sync = list.last_sync.unwrap();
    assert_eq!(
        (sync.update_type, sync.version, sync.result.as_str()),
        (UpdateType::Full, 1, "Accepted")
    );

    // Refused: entries and version stay, the sync says why.
    h.clock.advance(Duration::seconds(1));
    let list = lists
        .record_update(&cp, UpdateType::Differential, 2, &[], "VersionMismatch")
        .await
        .unwrap();
    assert_eq!((list.version, list.entries.len()), (1, 2));
    let sync = list.last_sync.unwrap();
    assert_eq!(
        (sync.result.as_str(), sync.at),
        ("VersionMismatch", h.now())
    );

    let change = LocalListChange {
        upsert: vec![entry("C", "Accepted", None)],
        remove: vec!["B".into()],
    };
    let after = change.apply(&full);
    let list = lists
        .record_update(&cp, UpdateType::Differential, 2, &after, "Accepted")
        .await
        .unwrap();
    assert_eq!(list.version, 2);
    assert_eq!(
        list.entries
            .iter()
            .map(|e| e.id_token.as_str())
            .collect::<Vec<_>>(),
        vec!["A", "C"]
    );

    let list = lists.record_charger_version(&cp, 7).await.unwrap();
    assert_eq!(list.charger_version, Some((7, h.now())));
    assert_eq!(list.version, 2);
}

contract! {
    reservations_expire_on_read_in_the_store_and_the_domain_alike,
    chargers_end_and_use_only_their_own_open_reservations,
    charging_profiles_keep_their_fields_and_installations,
    local_list_versions_move_only_when_accepted,
}
