//! The store contract: one set of behaviours, each a generic async function over a
//! [`Harness`], run against SQLite (a temp dir) and PostgreSQL (a fresh schema per test).
//!
//! PostgreSQL: `AMPERE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! With `CI=true` the PostgreSQL tests must run and fail when the server is unreachable;
//! otherwise they print why and pass without running.
//!
//! The tests drive the domain services (the rules) through the real store, so they check
//! both the SQL and the rules on each backend.

#[macro_use]
mod harness;

use std::str::FromStr;

use ampere_domain::*;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use harness::Harness;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn cid(s: &str) -> ChargerId {
    ChargerId::new(s).unwrap()
}

fn tag(s: &str) -> IdToken {
    IdToken::new(s, IdTokenKind::Iso14443).unwrap()
}

fn evse(n: u32) -> ConnectorRef {
    ConnectorRef::single_connector_evse(n).unwrap()
}

fn tid(s: &str) -> TransactionId {
    TransactionId::new(s).unwrap()
}

fn energy(value: &str, unit: Option<&str>) -> SampledValue {
    SampledValue {
        measurand: Some("Energy.Active.Import.Register".into()),
        unit: unit.map(str::to_owned),
        ..SampledValue::plain(value)
    }
}

fn mv(ts: &str, sampled: Vec<SampledValue>) -> MeterValue {
    MeterValue {
        timestamp: at(ts),
        sampled,
    }
}

async fn accepted_charger(h: &Harness, id: &str) -> ChargerId {
    let id = cid(id);
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

/// A 1.6-style start: the CSMS numbers the transaction.
fn start16(
    charger: &ChargerId,
    connector: u32,
    token: &str,
    meter: i64,
    ts: &str,
) -> TransactionEvent {
    TransactionEvent {
        place: Some(evse(connector)),
        id_token: Some(tag(token)),
        meter_start_wh: Some(Decimal::from(meter)),
        ..TransactionEvent::new(charger.clone(), TransactionEventKind::Started, at(ts))
    }
}

/// A 1.6-style stop of transaction `id`.
fn stop16(charger: &ChargerId, id: &TransactionId, meter: i64, ts: &str) -> TransactionEvent {
    TransactionEvent {
        transaction_id: Some(id.clone()),
        meter_stop_wh: Some(Decimal::from(meter)),
        stop_reason: Some("Local".into()),
        ..TransactionEvent::new(charger.clone(), TransactionEventKind::Ended, at(ts))
    }
}

/// A 2.x TransactionEvent.
fn event2(
    charger: &ChargerId,
    kind: TransactionEventKind,
    id: &str,
    seq: i64,
    ts: &str,
    values: Vec<MeterValue>,
) -> TransactionEvent {
    TransactionEvent {
        transaction_id: Some(tid(id)),
        seq_no: Some(seq),
        place: Some(ConnectorRef::new(
            EvseId::new(1).unwrap(),
            ConnectorId::new(1).unwrap(),
        )),
        trigger_reason: Some("MeterValuePeriodic".into()),
        meter_values: values,
        ..TransactionEvent::new(charger.clone(), kind, at(ts))
    }
}

// ------------------------------------------------------------------------------ chargers

async fn chargers_register_get_update_list(h: Harness) {
    let chargers = &h.services.chargers;
    let created = chargers
        .register(NewCharger {
            id: cid("CP-2"),
            password: Some("secret-1".into()),
            security_profile: SecurityProfile::new(2).unwrap(),
            registration_status: RegistrationStatus::Pending,
        })
        .await
        .unwrap();
    assert_eq!(created.registration_status, RegistrationStatus::Pending);
    accepted_charger(&h, "CP-10").await;
    accepted_charger(&h, "CP-1").await;

    let again = chargers
        .register(NewCharger {
            id: cid("CP-2"),
            password: None,
            security_profile: SecurityProfile::BASIC,
            registration_status: RegistrationStatus::Accepted,
        })
        .await;
    assert!(
        matches!(again, Err(DomainError::ChargerExists(_))),
        "{again:?}"
    );

    let got = chargers.get(&cid("CP-2")).await.unwrap().unwrap();
    assert_eq!(got, created, "what was registered is what is read back");

    let auth = chargers.auth(&cid("CP-2")).await.unwrap().unwrap();
    assert_eq!(auth.security_profile.get(), 2);
    assert_eq!(auth.registration_status, RegistrationStatus::Pending);
    let hash = auth.password_hash.unwrap();
    assert!(password::verify_password(&hash, "secret-1"));
    assert!(!password::verify_password(&hash, "secret-2"));
    assert_eq!(chargers.auth(&cid("nobody")).await.unwrap(), None);

    let updated = chargers
        .update(
            &cid("CP-2"),
            ChargerUpdate {
                registration_status: Some(RegistrationStatus::Accepted),
                password: Some(Some("secret-2".into())),
                heartbeat_interval_s: Some(Some(42)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.registration_status, RegistrationStatus::Accepted);
    let stored = chargers.get(&cid("CP-2")).await.unwrap().unwrap();
    assert_eq!(stored, updated);
    assert!(password::verify_password(
        stored.password_hash.as_deref().unwrap(),
        "secret-2"
    ));
    assert_eq!(stored.heartbeat_interval_s, Some(42));
    assert_eq!(stored.security_profile.get(), 2, "untouched fields stay");

    let cleared = chargers
        .update(
            &cid("CP-2"),
            ChargerUpdate {
                password: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.password_hash, None);
    let missing = chargers
        .update(&cid("nope"), ChargerUpdate::default())
        .await;
    assert!(matches!(missing, Err(DomainError::UnknownCharger(_))));

    // Listing is ordered by id (byte order on both backends) and paged by cursor.
    let all: Vec<String> = chargers
        .list(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(all, ["CP-1", "CP-10", "CP-2"]);
    let page: Vec<String> = chargers
        .list(Some(&cid("CP-1")), 1)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(page, ["CP-10"]);

    assert!(chargers.delete(&cid("CP-10")).await.unwrap());
    assert!(!chargers.delete(&cid("CP-10")).await.unwrap());
    assert_eq!(chargers.get(&cid("CP-10")).await.unwrap(), None);
}

async fn unknown_charger_policies(h: Harness) {
    let chargers = &h.services.chargers;
    let refused = chargers
        .ensure_registered(&cid("R1"), UnknownChargerPolicy::Reject)
        .await
        .unwrap();
    assert_eq!(refused, None);
    assert_eq!(
        chargers.get(&cid("R1")).await.unwrap(),
        None,
        "nothing stored"
    );

    let pending = chargers
        .ensure_registered(&cid("P1"), UnknownChargerPolicy::Pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.registration_status, RegistrationStatus::Pending);
    assert_eq!(
        chargers
            .get(&cid("P1"))
            .await
            .unwrap()
            .unwrap()
            .registration_status,
        RegistrationStatus::Pending
    );

    let accepted = chargers
        .ensure_registered(&cid("A1"), UnknownChargerPolicy::Accept)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(accepted.registration_status, RegistrationStatus::Accepted);

    // A registered charger is returned as it is, whatever the policy.
    let known = chargers
        .ensure_registered(&cid("P1"), UnknownChargerPolicy::Reject)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(known.registration_status, RegistrationStatus::Pending);
}

async fn boot_saves_info_and_answers_registration(h: Harness) {
    let chargers = &h.services.chargers;
    let info = BootInfo {
        vendor: "Acme".into(),
        model: "Volt 22".into(),
        serial_number: Some("SN-1".into()),
        firmware_version: Some("1.2.3".into()),
        iccid: Some("8931".into()),
        imsi: Some("2620".into()),
        meter_type: Some("EM340".into()),
        meter_serial_number: Some("M-9".into()),
        reason: Some("PowerUp".into()),
        protocol: Some("ocpp2.0.1".into()),
    };

    // Unknown charger: the service's policy (Pending here) registers it.
    let out = chargers.boot(&cid("B1"), info.clone()).await.unwrap();
    assert_eq!(out.status, RegistrationStatus::Pending);
    assert_eq!(out.interval, h.config.pending_retry);
    assert_eq!(out.current_time, h.now());

    let stored = chargers.get(&cid("B1")).await.unwrap().unwrap();
    assert_eq!(stored.vendor.as_deref(), Some("Acme"));
    assert_eq!(stored.model.as_deref(), Some("Volt 22"));
    assert_eq!(stored.serial_number.as_deref(), Some("SN-1"));
    assert_eq!(stored.firmware_version.as_deref(), Some("1.2.3"));
    assert_eq!(stored.iccid.as_deref(), Some("8931"));
    assert_eq!(stored.imsi.as_deref(), Some("2620"));
    assert_eq!(stored.meter_type.as_deref(), Some("EM340"));
    assert_eq!(stored.meter_serial_number.as_deref(), Some("M-9"));
    assert_eq!(stored.protocol.as_deref(), Some("ocpp2.0.1"));
    assert_eq!(stored.last_boot_at, Some(h.now()));
    assert_eq!(stored.last_seen, Some(h.now()));

    // The boot history keeps the reason.
    let reports = h
        .services
        .reports
        .list(
            &cid("B1"),
            Some(&ReportKind::known(ReportKind::BOOT_NOTIFICATION)),
            10,
        )
        .await
        .unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].payload["reason"], "PowerUp");

    // Approved: Accepted with the heartbeat interval (the charger's own when set).
    chargers
        .update(
            &cid("B1"),
            ChargerUpdate {
                registration_status: Some(RegistrationStatus::Accepted),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(10));
    let out = chargers
        .boot(
            &cid("B1"),
            BootInfo {
                firmware_version: Some("1.3.0".into()),
                ..info.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.status, RegistrationStatus::Accepted);
    assert_eq!(out.interval, h.config.heartbeat_interval);
    let stored = chargers.get(&cid("B1")).await.unwrap().unwrap();
    assert_eq!(stored.firmware_version.as_deref(), Some("1.3.0"));
    assert_eq!(stored.last_boot_at, Some(h.now()));

    chargers
        .update(
            &cid("B1"),
            ChargerUpdate {
                heartbeat_interval_s: Some(Some(45)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let out = chargers.boot(&cid("B1"), info.clone()).await.unwrap();
    assert_eq!(out.interval, std::time::Duration::from_secs(45));

    chargers
        .update(
            &cid("B1"),
            ChargerUpdate {
                registration_status: Some(RegistrationStatus::Rejected),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let out = chargers.boot(&cid("B1"), info).await.unwrap();
    assert_eq!(out.status, RegistrationStatus::Rejected);
    assert_eq!(out.interval, h.config.rejected_retry);
}

async fn heartbeat_marks_charger_seen(h: Harness) {
    let id = accepted_charger(&h, "H1").await;
    assert_eq!(
        h.services
            .chargers
            .get(&id)
            .await
            .unwrap()
            .unwrap()
            .last_seen,
        None
    );
    h.clock.advance(Duration::seconds(30));
    let now = h.services.chargers.heartbeat(&id).await.unwrap();
    assert_eq!(now, h.now());
    assert_eq!(
        h.services
            .chargers
            .get(&id)
            .await
            .unwrap()
            .unwrap()
            .last_seen,
        Some(h.now())
    );
    // Unknown chargers still get the time.
    assert_eq!(
        h.services.chargers.heartbeat(&cid("ghost")).await.unwrap(),
        h.now()
    );
}

// ------------------------------------------------------------------------------ status

async fn status_current_and_history(h: Harness) {
    let id = accepted_charger(&h, "S1").await;
    let chargers = &h.services.chargers;
    let report = |ts: &str, status: ConnectorStatus, place: ConnectorRef| StatusReport {
        place,
        status,
        error_code: Some("NoError".into()),
        info: Some("info".into()),
        vendor_id: Some("acme".into()),
        vendor_error_code: Some("E0".into()),
        timestamp: at(ts),
    };
    let charging = report("2026-01-01T10:05:00Z", ConnectorStatus::Charging, evse(1));
    chargers
        .status_notification(
            &id,
            &report("2026-01-01T10:00:00Z", ConnectorStatus::Preparing, evse(1)),
        )
        .await
        .unwrap();
    chargers.status_notification(&id, &charging).await.unwrap();
    // A retried identical report is stored once.
    chargers.status_notification(&id, &charging).await.unwrap();
    // A late report (offline replay) goes to the history but does not roll back the state.
    let late = report("2026-01-01T09:00:00Z", ConnectorStatus::Available, evse(1));
    chargers.status_notification(&id, &late).await.unwrap();
    let station = StatusReport {
        error_code: Some("GroundFailure".into()),
        ..report(
            "2026-01-01T10:06:00Z",
            ConnectorStatus::Faulted,
            ConnectorRef::STATION,
        )
    };
    chargers.status_notification(&id, &station).await.unwrap();

    let current = chargers.statuses(&id).await.unwrap();
    assert_eq!(
        current,
        vec![station.clone(), charging.clone()],
        "station (EVSE 0) first"
    );

    let history = chargers.status_history(&id, 10).await.unwrap();
    let statuses: Vec<_> = history.iter().map(|r| (r.place, r.status)).collect();
    assert_eq!(
        statuses,
        vec![
            (ConnectorRef::STATION, ConnectorStatus::Faulted),
            (evse(1), ConnectorStatus::Charging),
            (evse(1), ConnectorStatus::Preparing),
            (evse(1), ConnectorStatus::Available),
        ],
        "newest first, the retry stored once"
    );
    assert_eq!(history[1], charging, "every field round-trips");

    let unknown = chargers.status_notification(&cid("ghost"), &charging).await;
    assert!(
        matches!(unknown, Err(DomainError::UnknownCharger(_))),
        "{unknown:?}"
    );
}

// ------------------------------------------------------------------------------ id tokens

async fn id_tokens_crud_and_authorize(h: Harness) {
    let auth = &h.services.authorization;
    let record = |value: &str, status, expiry: Option<DateTime<Utc>>| IdTokenRecord {
        token: IdToken::new(value, IdTokenKind::Iso14443).unwrap(),
        status,
        expiry_date: expiry,
        group_id: Some("FLEET-1".into()),
    };
    let now = h.now();
    auth.upsert(&record(
        "AA11",
        AuthorizationStatus::Accepted,
        Some(now + Duration::hours(1)),
    ))
    .await
    .unwrap();
    auth.upsert(&record("BLOCKED", AuthorizationStatus::Blocked, None))
        .await
        .unwrap();
    auth.upsert(&record(
        "OLD",
        AuthorizationStatus::Accepted,
        Some(now - Duration::seconds(1)),
    ))
    .await
    .unwrap();

    // Case-insensitive, kind not part of the identity.
    let presented = IdToken::new("aa11", IdTokenKind::Local).unwrap();
    let info = auth.authorize(&presented).await.unwrap();
    assert_eq!(info.status, AuthorizationStatus::Accepted);
    assert_eq!(info.group_id.as_deref(), Some("FLEET-1"));
    assert_eq!(info.expiry_date, Some(now + Duration::hours(1)));

    assert_eq!(
        auth.authorize(&tag("BLOCKED")).await.unwrap().status,
        AuthorizationStatus::Blocked
    );
    assert_eq!(
        auth.authorize(&tag("OLD")).await.unwrap().status,
        AuthorizationStatus::Expired
    );
    assert_eq!(
        auth.authorize(&tag("nobody")).await.unwrap(),
        AuthorizationInfo::invalid()
    );

    // Time passes: the accepted one expires.
    h.clock.advance(Duration::hours(2));
    assert_eq!(
        auth.authorize(&tag("AA11")).await.unwrap().status,
        AuthorizationStatus::Expired
    );

    // Read back exactly; replace; list in key order; delete.
    let got = auth.get("aa11").await.unwrap().unwrap();
    assert_eq!(
        got,
        record(
            "AA11",
            AuthorizationStatus::Accepted,
            Some(now + Duration::hours(1))
        )
    );
    auth.upsert(&IdTokenRecord {
        token: IdToken::new("Aa11", IdTokenKind::EMaid).unwrap(),
        status: AuthorizationStatus::Invalid,
        expiry_date: None,
        group_id: None,
    })
    .await
    .unwrap();
    let replaced = auth.get("AA11").await.unwrap().unwrap();
    assert_eq!(replaced.token.value(), "Aa11");
    assert_eq!(replaced.token.kind(), &IdTokenKind::EMaid);
    assert_eq!(replaced.status, AuthorizationStatus::Invalid);
    assert_eq!(replaced.group_id, None);

    let listed: Vec<String> = auth
        .list(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.token.value().to_owned())
        .collect();
    assert_eq!(listed, ["Aa11", "BLOCKED", "OLD"]);
    let page: Vec<String> = auth
        .list(Some("aa11"), 1)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.token.value().to_owned())
        .collect();
    assert_eq!(page, ["BLOCKED"]);

    assert!(auth.delete("blocked").await.unwrap());
    assert!(!auth.delete("blocked").await.unwrap());
    assert_eq!(
        auth.authorize(&tag("BLOCKED")).await.unwrap().status,
        AuthorizationStatus::Invalid
    );
}

// ------------------------------------------------------------------------------ transactions

async fn numbered_start_retry_and_stop(h: Harness) {
    let id = accepted_charger(&h, "T16").await;
    h.services
        .authorization
        .upsert(&IdTokenRecord {
            token: tag("TAG1"),
            status: AuthorizationStatus::Accepted,
            expiry_date: None,
            group_id: Some("G".into()),
        })
        .await
        .unwrap();
    let txs = &h.services.transactions;

    let first = txs
        .record_event(&start16(&id, 1, "TAG1", 1000, "2026-01-01T10:00:00Z"))
        .await
        .unwrap();
    assert!(!first.duplicate);
    let t = &first.transaction;
    assert!(t.serial > 0 && t.serial <= i64::from(i32::MAX));
    assert_eq!(
        t.id,
        TransactionId::from_number(t.serial),
        "1.6 id is the serial"
    );
    assert_eq!(t.status, TransactionStatus::Active);
    assert_eq!(t.place, Some(evse(1)));
    assert_eq!(t.meter_start_wh, Some(dec("1000")));
    assert_eq!(
        first.authorization.as_ref().unwrap().status,
        AuthorizationStatus::Accepted
    );
    assert_eq!(
        first.authorization.as_ref().unwrap().group_id.as_deref(),
        Some("G")
    );

    // The same start retried (lost answer): same transaction, nothing new.
    let retried = txs
        .record_event(&start16(&id, 1, "tag1", 1000, "2026-01-01T10:00:00Z"))
        .await
        .unwrap();
    assert!(retried.duplicate);
    assert_eq!(retried.transaction.id, t.id);

    // A different start (other time, other token, other meter) is a new transaction.
    let other_time = txs
        .record_event(&start16(&id, 1, "TAG1", 1000, "2026-01-01T10:00:01Z"))
        .await
        .unwrap();
    assert!(!other_time.duplicate);
    assert_ne!(other_time.transaction.id, t.id);
    let other_meter = txs
        .record_event(&start16(&id, 1, "TAG1", 1001, "2026-01-01T10:00:00Z"))
        .await
        .unwrap();
    assert_ne!(other_meter.transaction.id, t.id);
    let unknown_token = txs
        .record_event(&start16(&id, 2, "NOBODY", 0, "2026-01-01T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        unknown_token.authorization.unwrap().status,
        AuthorizationStatus::Invalid,
        "recorded, and told it is invalid"
    );

    // Meter values naming the transaction are linked and advance its reading.
    h.services
        .meter
        .record(&MeterValuesReport {
            charger: id.clone(),
            place: Some(evse(1)),
            transaction_id: Some(t.id.clone()),
            values: vec![mv("2026-01-01T10:30:00Z", vec![energy("2500", Some("Wh"))])],
        })
        .await
        .unwrap();
    let mid = txs.get(&id, &t.id).await.unwrap().unwrap();
    assert_eq!(mid.last_meter_wh, Some(dec("2500")));
    assert_eq!(txs.meter_values(t.serial).await.unwrap().len(), 1);

    let stopped = txs
        .record_event(&stop16(&id, &t.id, 4000, "2026-01-01T11:00:00Z"))
        .await
        .unwrap();
    assert!(!stopped.duplicate);
    let s = &stopped.transaction;
    assert_eq!(s.status, TransactionStatus::Completed);
    assert_eq!(s.stopped_at, Some(at("2026-01-01T11:00:00Z")));
    assert_eq!(s.meter_stop_wh, Some(dec("4000")));
    assert_eq!(s.energy_wh, Some(dec("3000")));
    assert_eq!(s.stop_reason.as_deref(), Some("Local"));
    assert!(!s.meter_went_backwards && !s.unknown_start);
    assert_eq!(
        txs.by_serial(t.serial).await.unwrap().unwrap(),
        *s,
        "stored as returned"
    );

    // The stop retried (answer lost), with its transaction data: acknowledged, nothing new.
    let retried_stop = txs
        .record_event(&TransactionEvent {
            meter_values: vec![mv("2026-01-01T11:00:00Z", vec![energy("4000", None)])],
            ..stop16(&id, &t.id, 4000, "2026-01-01T11:00:00Z")
        })
        .await
        .unwrap();
    assert!(retried_stop.duplicate);
    assert_eq!(retried_stop.transaction, *s);
    assert_eq!(txs.meter_values(t.serial).await.unwrap().len(), 1);

    let events: Vec<_> = txs
        .events(t.serial)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        events,
        [TransactionEventKind::Started, TransactionEventKind::Ended]
    );
}

async fn events_deduplicated_by_seq_no(h: Harness) {
    let id = accepted_charger(&h, "T2").await;
    let txs = &h.services.transactions;
    use TransactionEventKind::*;

    let started = txs
        .record_event(&TransactionEvent {
            id_token: Some(tag("TAG2")),
            remote_start_id: Some(77),
            ..event2(
                &id,
                Started,
                "uuid-1",
                0,
                "2026-01-01T10:00:00Z",
                vec![mv(
                    "2026-01-01T10:00:00Z",
                    vec![SampledValue {
                        context: Some("Transaction.Begin".into()),
                        ..energy("10.5", Some("kWh"))
                    }],
                )],
            )
        })
        .await
        .unwrap();
    assert!(!started.duplicate);
    assert_eq!(
        started.transaction.meter_start_wh,
        Some(dec("10500")),
        "kWh → Wh"
    );
    assert_eq!(started.transaction.remote_start_id, Some(77));

    let updated = event2(
        &id,
        Updated,
        "uuid-1",
        1,
        "2026-01-01T10:15:00Z",
        vec![mv(
            "2026-01-01T10:15:00Z",
            vec![energy("12.0", Some("kWh"))],
        )],
    );
    assert!(!txs.record_event(&updated).await.unwrap().duplicate);
    // The same seqNo again, even with other content: acknowledged, changes nothing.
    let replay = TransactionEvent {
        offline: true,
        meter_values: vec![mv("2026-01-01T10:16:00Z", vec![energy("99", Some("kWh"))])],
        ..updated.clone()
    };
    let dup = txs.record_event(&replay).await.unwrap();
    assert!(dup.duplicate);
    assert_eq!(dup.transaction.last_meter_wh, Some(dec("12000")));
    assert!(!dup.transaction.offline);

    let ended = txs
        .record_event(&TransactionEvent {
            stop_reason: Some("EVDisconnected".into()),
            trigger_reason: Some("EVCommunicationLost".into()),
            ..event2(
                &id,
                Ended,
                "uuid-1",
                2,
                "2026-01-01T10:30:00Z",
                vec![mv(
                    "2026-01-01T10:30:00Z",
                    vec![SampledValue {
                        context: Some("Transaction.End".into()),
                        ..energy("13.25", Some("kWh"))
                    }],
                )],
            )
        })
        .await
        .unwrap();
    let t = ended.transaction;
    assert_eq!(t.status, TransactionStatus::Completed);
    assert_eq!(t.meter_stop_wh, Some(dec("13250")));
    assert_eq!(t.energy_wh, Some(dec("2750")));
    assert_eq!(t.stop_reason.as_deref(), Some("EVDisconnected"));
    assert_eq!(
        t.last_trigger_reason.as_deref(),
        Some("EVCommunicationLost")
    );
    assert_eq!(t.last_seq_no, Some(2));
    assert_eq!(t.id_token.as_ref().map(|t| t.value()), Some("TAG2"));

    let seqs: Vec<_> = txs
        .events(t.serial)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.seq_no)
        .collect();
    assert_eq!(
        seqs,
        [Some(0), Some(1), Some(2)],
        "the duplicate is not stored"
    );
    assert_eq!(
        txs.meter_values(t.serial).await.unwrap().len(),
        3,
        "the duplicate's meter values are not stored"
    );

    // An Updated without an id is refused: only a start may leave the numbering to us.
    let bad = TransactionEvent::new(id.clone(), Updated, at("2026-01-01T10:00:00Z"));
    assert!(matches!(
        txs.record_event(&bad).await,
        Err(DomainError::Invalid(_))
    ));
}

async fn offline_events_replayed_and_out_of_order(h: Harness) {
    let id = accepted_charger(&h, "T3").await;
    let txs = &h.services.transactions;
    use TransactionEventKind::*;
    // The Updated arrives before its Started (e.g. a queue replayed in the wrong order).
    let upd = TransactionEvent {
        offline: true,
        ..event2(
            &id,
            Updated,
            "off-1",
            1,
            "2026-01-01T10:10:00Z",
            vec![mv("2026-01-01T10:10:00Z", vec![energy("1500", None)])],
        )
    };
    let first = txs.record_event(&upd).await.unwrap();
    assert!(first.transaction.unknown_start);
    assert!(first.transaction.offline);
    let started = txs
        .record_event(&TransactionEvent {
            offline: true,
            id_token: Some(tag("T")),
            ..event2(
                &id,
                Started,
                "off-1",
                0,
                "2026-01-01T10:00:00Z",
                vec![mv("2026-01-01T10:00:00Z", vec![energy("1000", None)])],
            )
        })
        .await
        .unwrap();
    let t = started.transaction;
    assert!(!t.unknown_start, "the start was seen after all");
    assert_eq!(t.started_at, at("2026-01-01T10:00:00Z"));
    assert_eq!(
        t.meter_start_wh,
        Some(dec("1000")),
        "the earliest reading is the start"
    );
    assert!(!t.meter_went_backwards, "older and lower is consistent");
    assert_eq!(t.last_meter_wh, Some(dec("1500")));
}

async fn unknown_stop_is_recorded(h: Harness) {
    let id = accepted_charger(&h, "T4").await;
    let txs = &h.services.transactions;

    // A 1.6 stop for a transaction we never numbered (e.g. from a previous CSMS).
    let stop = txs
        .record_event(&TransactionEvent {
            meter_values: vec![mv("2026-01-01T09:00:00Z", vec![energy("500", None)])],
            ..stop16(
                &id,
                &TransactionId::from_number(2),
                900,
                "2026-01-01T10:00:00Z",
            )
        })
        .await
        .unwrap();
    let t = stop.transaction;
    assert!(t.unknown_start);
    assert_eq!(t.status, TransactionStatus::Completed);
    assert_eq!(t.id.as_str(), "2");
    assert_eq!(
        t.meter_start_wh,
        Some(dec("500")),
        "from the reading it carried"
    );
    assert_eq!(t.energy_wh, Some(dec("400")));
    // Retried stop: no second row.
    txs.record_event(&stop16(
        &id,
        &TransactionId::from_number(2),
        900,
        "2026-01-01T10:00:00Z",
    ))
    .await
    .unwrap();
    let rows = txs
        .list(&TransactionFilter {
            charger: Some(id.clone()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);

    // The next number we assign on this charger must not collide with the charger's "2":
    // in a fresh database the recorded stop has serial 1, the next insert serial 2.
    let started = txs
        .record_event(&start16(&id, 1, "X", 0, "2026-01-01T11:00:00Z"))
        .await
        .unwrap();
    let n = started.transaction;
    assert_ne!(n.id.as_str(), "2");
    assert_eq!(n.id, TransactionId::from_number(n.serial));
    assert_eq!(
        txs.get(&id, &tid("2")).await.unwrap().unwrap().serial,
        t.serial
    );

    // A 2.x Ended for an unknown id.
    let ended = txs
        .record_event(&TransactionEvent {
            stop_reason: Some("Remote".into()),
            ..event2(
                &id,
                TransactionEventKind::Ended,
                "never-started",
                5,
                "2026-01-01T12:00:00Z",
                vec![],
            )
        })
        .await
        .unwrap();
    assert!(ended.transaction.unknown_start);
    assert_eq!(ended.transaction.status, TransactionStatus::Completed);
    assert_eq!(
        ended.transaction.energy_wh, None,
        "nothing to compute it from"
    );
}

async fn backwards_meter_is_flagged(h: Harness) {
    let id = accepted_charger(&h, "T5").await;
    let txs = &h.services.transactions;
    let t = txs
        .record_event(&start16(&id, 1, "TAG", 5000, "2026-01-01T10:00:00Z"))
        .await
        .unwrap()
        .transaction;
    let send = |ts: &'static str, wh: &'static str| MeterValuesReport {
        charger: id.clone(),
        place: Some(evse(1)),
        transaction_id: Some(t.id.clone()),
        values: vec![mv(ts, vec![energy(wh, None)])],
    };
    h.services
        .meter
        .record(&send("2026-01-01T10:10:00Z", "6000"))
        .await
        .unwrap();
    assert!(
        !txs.get(&id, &t.id)
            .await
            .unwrap()
            .unwrap()
            .meter_went_backwards
    );
    h.services
        .meter
        .record(&send("2026-01-01T10:20:00Z", "5500"))
        .await
        .unwrap();
    let after = txs.get(&id, &t.id).await.unwrap().unwrap();
    assert!(after.meter_went_backwards);
    assert_eq!(after.last_meter_wh, Some(dec("5500")));

    // A stop below the start: flagged, no energy.
    let t2 = txs
        .record_event(&start16(&id, 2, "TAG", 8000, "2026-01-01T10:00:00Z"))
        .await
        .unwrap()
        .transaction;
    let stopped = txs
        .record_event(&stop16(&id, &t2.id, 7000, "2026-01-01T11:00:00Z"))
        .await
        .unwrap()
        .transaction;
    assert!(stopped.meter_went_backwards);
    assert_eq!(stopped.energy_wh, None);
}

async fn reboot_closes_active_transactions(h: Harness) {
    let id = accepted_charger(&h, "T6").await;
    let txs = &h.services.transactions;
    let t = txs
        .record_event(&start16(&id, 1, "TAG", 100, "2026-01-01T10:00:00Z"))
        .await
        .unwrap()
        .transaction;
    let done = txs
        .record_event(&start16(&id, 2, "TAG", 0, "2026-01-01T10:00:00Z"))
        .await
        .unwrap()
        .transaction;
    txs.record_event(&stop16(&id, &done.id, 50, "2026-01-01T10:05:00Z"))
        .await
        .unwrap();
    h.services
        .meter
        .record(&MeterValuesReport {
            charger: id.clone(),
            place: Some(evse(1)),
            transaction_id: Some(t.id.clone()),
            values: vec![mv("2026-01-01T10:40:00Z", vec![energy("2.1", Some("kWh"))])],
        })
        .await
        .unwrap();

    h.clock.set(at("2026-01-01T12:00:00Z"));
    let boot = h
        .services
        .chargers
        .boot(
            &id,
            BootInfo {
                vendor: "V".into(),
                model: "M".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(boot.closed_transactions.len(), 1, "only the active one");
    let closed = txs.get(&id, &t.id).await.unwrap().unwrap();
    assert_eq!(boot.closed_transactions[0], closed);
    assert_eq!(closed.status, TransactionStatus::Completed);
    assert!(closed.closed_by_reboot);
    assert_eq!(
        closed.stop_reason.as_deref(),
        Some(STOP_REASON_CHARGER_REBOOTED)
    );
    assert_eq!(closed.stopped_at, Some(at("2026-01-01T10:40:00Z")));
    assert_eq!(closed.meter_stop_wh, Some(dec("2100")));
    assert_eq!(closed.energy_wh, Some(dec("2000")));
    let untouched = txs.get(&id, &done.id).await.unwrap().unwrap();
    assert!(!untouched.closed_by_reboot);
    assert_eq!(untouched.stop_reason.as_deref(), Some("Local"));

    // The charger's own stop, queued over the reboot, still lands and wins.
    let late = txs
        .record_event(&TransactionEvent {
            stop_reason: Some("Reboot".into()),
            ..stop16(&id, &t.id, 2200, "2026-01-01T10:45:00Z")
        })
        .await
        .unwrap()
        .transaction;
    assert!(!late.closed_by_reboot);
    assert_eq!(late.stop_reason.as_deref(), Some("Reboot"));
    assert_eq!(late.energy_wh, Some(dec("2100")));
}

async fn transactions_listed_and_filtered(h: Harness) {
    let a = accepted_charger(&h, "LA").await;
    let b = accepted_charger(&h, "LB").await;
    let txs = &h.services.transactions;
    let t1 = txs
        .record_event(&start16(&a, 1, "X1", 0, "2026-01-01T10:00:00Z"))
        .await
        .unwrap()
        .transaction;
    let t2 = txs
        .record_event(&start16(&a, 2, "X2", 0, "2026-01-01T10:01:00Z"))
        .await
        .unwrap()
        .transaction;
    let t3 = txs
        .record_event(&start16(&b, 1, "x1", 0, "2026-01-01T10:02:00Z"))
        .await
        .unwrap()
        .transaction;
    txs.record_event(&stop16(&a, &t1.id, 10, "2026-01-01T11:00:00Z"))
        .await
        .unwrap();

    let serials = |v: Vec<Transaction>| v.into_iter().map(|t| t.serial).collect::<Vec<_>>();
    let all = txs
        .list(&TransactionFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        serials(all),
        [t3.serial, t2.serial, t1.serial],
        "newest first"
    );
    let of_a = txs
        .list(&TransactionFilter {
            charger: Some(a.clone()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(serials(of_a), [t2.serial, t1.serial]);
    let by_token = txs
        .list(&TransactionFilter {
            id_token_key: Some(tag("X1").key()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        serials(by_token),
        [t3.serial, t1.serial],
        "token match ignores case"
    );
    let active = txs
        .list(&TransactionFilter {
            status: Some(TransactionStatus::Active),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(serials(active), [t3.serial, t2.serial]);
    let page = txs
        .list(&TransactionFilter {
            before_serial: Some(t3.serial),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(serials(page), [t2.serial]);
}

// ------------------------------------------------------------------------------ meter values

async fn meter_values_round_trip_every_field(h: Harness) {
    let id = accepted_charger(&h, "M1").await;
    let full = SampledValue {
        value: "1234.5670".into(),
        measurand: Some("Energy.Active.Import.Register".into()),
        phase: Some("L1-N".into()),
        unit: Some("kWh".into()),
        unit_multiplier: Some(-3),
        context: Some("Sample.Periodic".into()),
        location: Some("Outlet".into()),
        format: Some("Raw".into()),
        signed: Some(SignedMeterValue {
            signed_meter_data: "AP///wAAAAA=+/=\n\"quoted\" ünïcode".into(),
            signing_method: Some("ECDSA-secp256r1-SHA256".into()),
            encoding_method: Some("OCMF".into()),
            public_key: Some("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE".into()),
        }),
    };
    let signed16 = SampledValue {
        format: Some("SignedData".into()),
        ..SampledValue::plain("OCMF|{\"FV\":\"1.0\"}|{\"SD\":\"3045\"}")
    };
    let bare = SampledValue::plain("7");
    let values = vec![
        mv(
            "2026-01-01T10:00:00.123Z",
            vec![full.clone(), signed16.clone()],
        ),
        mv("2026-01-01T10:01:00Z", vec![bare.clone()]),
    ];
    h.services
        .meter
        .record(&MeterValuesReport {
            charger: id.clone(),
            place: Some(ConnectorRef::STATION),
            transaction_id: Some(tid("not-known")),
            values: values.clone(),
        })
        .await
        .unwrap();
    let stored = h.services.meter.of_charger(&id, 100).await.unwrap();
    assert_eq!(stored.len(), 2);
    // Newest first.
    assert_eq!(stored[1].value, values[0], "every field verbatim");
    assert_eq!(stored[0].value, values[1]);
    assert_eq!(stored[0].place, Some(ConnectorRef::STATION));
    assert_eq!(
        stored[0].transaction_serial, None,
        "unknown transaction: not linked"
    );
    assert_eq!(
        stored[0].transaction_id,
        Some(tid("not-known")),
        "but its id is kept"
    );
}

async fn retried_meter_values_are_stored_once(h: Harness) {
    let id = accepted_charger(&h, "M3").await;
    let t = h
        .services
        .transactions
        .record_event(&start16(&id, 1, "TAG", 1000, "2026-01-01T10:00:00Z"))
        .await
        .unwrap()
        .transaction;
    let report = |values: Vec<MeterValue>| MeterValuesReport {
        charger: id.clone(),
        place: Some(evse(1)),
        transaction_id: Some(t.id.clone()),
        values,
    };
    let power = SampledValue {
        measurand: Some("Power.Active.Import".into()),
        ..SampledValue::plain("7000")
    };
    let first = report(vec![mv(
        "2026-01-01T10:10:00Z",
        vec![energy("1500", None), power.clone()],
    )]);
    let meter = &h.services.meter;
    assert_eq!(meter.record(&first).await.unwrap(), 1);
    // The same message again (answer lost): nothing new.
    assert_eq!(meter.record(&first).await.unwrap(), 0);
    // Same time, another place: new.
    let other_place = MeterValuesReport {
        place: Some(evse(2)),
        transaction_id: None,
        ..first.clone()
    };
    assert_eq!(meter.record(&other_place).await.unwrap(), 1);
    // Same time and place, a sample not stored before: new.
    let more = report(vec![mv(
        "2026-01-01T10:10:00Z",
        vec![SampledValue {
            measurand: Some("SoC".into()),
            ..SampledValue::plain("55")
        }],
    )]);
    assert_eq!(meter.record(&more).await.unwrap(), 1);
    let of_tx = h
        .services
        .transactions
        .meter_values(t.serial)
        .await
        .unwrap();
    let samples: usize = of_tx.iter().map(|m| m.sampled.len()).sum();
    assert_eq!(samples, 3, "energy, power, SoC; the retry not stored");
}

async fn meter_values_large_batch(h: Harness) {
    let id = accepted_charger(&h, "M2").await;
    let t = h
        .services
        .transactions
        .record_event(&start16(&id, 1, "TAG", 0, "2026-01-01T10:00:00Z"))
        .await
        .unwrap()
        .transaction;
    // More sampled values than one INSERT statement carries.
    let values: Vec<MeterValue> = (0..150)
        .map(|i| {
            let ts = (at("2026-01-01T10:00:00Z") + Duration::seconds(i)).to_rfc3339();
            MeterValue {
                timestamp: at(&ts),
                sampled: vec![
                    energy(&(i * 10).to_string(), None),
                    SampledValue {
                        measurand: Some("Power.Active.Import".into()),
                        unit: Some("W".into()),
                        ..SampledValue::plain("7400")
                    },
                    SampledValue {
                        measurand: Some("Current.Import".into()),
                        phase: Some("L1".into()),
                        ..SampledValue::plain("32")
                    },
                ],
            }
        })
        .collect();
    h.services
        .meter
        .record(&MeterValuesReport {
            charger: id.clone(),
            place: Some(evse(1)),
            transaction_id: Some(t.id.clone()),
            values: values.clone(),
        })
        .await
        .unwrap();
    let back = h
        .services
        .transactions
        .meter_values(t.serial)
        .await
        .unwrap();
    assert_eq!(back, values, "450 sampled values, in order");
    let after = h
        .services
        .transactions
        .get(&id, &t.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.last_meter_wh, Some(dec("1490")));
}

// ------------------------------------------------------------------------------ reports, connections

async fn reports_are_kept(h: Harness) {
    let id = accepted_charger(&h, "R1").await;
    let reports = &h.services.reports;
    let fw = ReportKind::known(ReportKind::FIRMWARE_STATUS);
    let sec = ReportKind::known(ReportKind::SECURITY_EVENT);
    let payload =
        json!({"status": "Installed", "requestId": 7, "nested": {"z": 1, "a": [1, 2.5, null]}});
    let first = reports.record(&id, &fw, &payload).await.unwrap();
    let second = reports
        .record(&id, &sec, &json!({"type": "StartupOfTheDevice"}))
        .await
        .unwrap();
    assert!(second > first);
    let custom = ReportKind::new("VendorThing").unwrap();
    reports
        .record(&id, &custom, &json!([1, "two"]))
        .await
        .unwrap();

    let all = reports.list(&id, None, 10).await.unwrap();
    let kinds: Vec<&str> = all.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "VendorThing",
            "SecurityEventNotification",
            "FirmwareStatusNotification"
        ]
    );
    let only_fw = reports.list(&id, Some(&fw), 10).await.unwrap();
    assert_eq!(only_fw.len(), 1);
    assert_eq!(only_fw[0].payload, payload);
    assert_eq!(
        only_fw[0].payload.to_string(),
        payload.to_string(),
        "field order kept"
    );
    assert_eq!(only_fw[0].received_at, h.now());
    let unknown = reports.record(&cid("ghost"), &fw, &payload).await;
    assert!(matches!(unknown, Err(DomainError::UnknownCharger(_))));
}

async fn connection_events_are_kept(h: Harness) {
    let id = accepted_charger(&h, "C1").await;
    let chargers = &h.services.chargers;
    let connected = ConnectionEvent {
        charger: id.clone(),
        kind: ConnectionEventKind::Connected,
        at: at("2026-01-01T10:00:00Z"),
        remote_addr: Some("192.0.2.7:51234".into()),
        protocol: Some("ocpp1.6".into()),
        connection_id: Some(17),
        reason: None,
    };
    chargers.record_connection_event(&connected).await.unwrap();
    let taken = ConnectionEvent {
        kind: ConnectionEventKind::TakenOver,
        at: at("2026-01-01T10:05:00Z"),
        protocol: None,
        reason: Some("new connection 18".into()),
        ..connected.clone()
    };
    chargers.record_connection_event(&taken).await.unwrap();
    let gone = ConnectionEvent {
        kind: ConnectionEventKind::Disconnected,
        at: at("2026-01-01T10:06:00Z"),
        connection_id: Some(u64::from(u32::MAX) + 1),
        reason: Some("1001 going away".into()),
        ..taken.clone()
    };
    chargers.record_connection_event(&gone).await.unwrap();

    let events = chargers.connection_events(&id, 10).await.unwrap();
    assert_eq!(
        events,
        vec![gone, taken, connected.clone()],
        "newest first, every field"
    );
    let c = chargers.get(&id).await.unwrap().unwrap();
    assert_eq!(
        c.protocol.as_deref(),
        Some("ocpp1.6"),
        "a disconnect does not clear it"
    );
    assert_eq!(c.last_seen, Some(at("2026-01-01T10:06:00Z")));

    // Unregistered chargers' events are not stored, and that is not an error.
    chargers
        .record_connection_event(&ConnectionEvent {
            charger: cid("ghost"),
            ..connected
        })
        .await
        .unwrap();
    assert!(
        chargers
            .connection_events(&cid("ghost"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

// ------------------------------------------------------------------------------ store

async fn migrations_are_idempotent(h: Harness) {
    let id = accepted_charger(&h, "MIG").await;
    h.store.migrate().await.unwrap();
    h.store.migrate().await.unwrap();
    // Opening again (which migrates) keeps the data.
    let again = ampere_store::Store::open(&h.url).await.unwrap();
    let services = Services::new(
        std::sync::Arc::new(again.clone()),
        h.clock.clone(),
        h.config.clone(),
    );
    assert!(services.chargers.get(&id).await.unwrap().is_some());
    again.close().await;
}

async fn deleting_a_charger_deletes_its_data(h: Harness) {
    let id = accepted_charger(&h, "DEL").await;
    let keep = accepted_charger(&h, "KEEP").await;
    for c in [&id, &keep] {
        h.services
            .transactions
            .record_event(&TransactionEvent {
                meter_values: vec![mv("2026-01-01T10:00:00Z", vec![energy("1", None)])],
                ..start16(c, 1, "TAG", 0, "2026-01-01T10:00:00Z")
            })
            .await
            .unwrap();
        h.services
            .reports
            .record(c, &ReportKind::new("X").unwrap(), &json!({}))
            .await
            .unwrap();
    }
    assert!(h.services.chargers.delete(&id).await.unwrap());
    let left = h
        .services
        .transactions
        .list(&TransactionFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].charger, keep);
    assert!(
        h.services
            .meter
            .of_charger(&id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        h.services.meter.of_charger(&keep, 10).await.unwrap().len(),
        1
    );
    assert!(
        h.services
            .reports
            .list(&id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        h.services
            .reports
            .list(&keep, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

contract! {
    chargers_register_get_update_list,
    unknown_charger_policies,
    boot_saves_info_and_answers_registration,
    heartbeat_marks_charger_seen,
    status_current_and_history,
    id_tokens_crud_and_authorize,
    numbered_start_retry_and_stop,
    events_deduplicated_by_seq_no,
    offline_events_replayed_and_out_of_order,
    unknown_stop_is_recorded,
    backwards_meter_is_flagged,
    reboot_closes_active_transactions,
    transactions_listed_and_filtered,
    meter_values_round_trip_every_field,
    meter_values_large_batch,
    retried_meter_values_are_stored_once,
    reports_are_kept,
    connection_events_are_kept,
    migrations_are_idempotent,
    deleting_a_charger_deletes_its_data,
}
