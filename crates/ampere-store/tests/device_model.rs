//! Store contract for device models (NotifyReport parts assembled per charger), on SQLite
//! and PostgreSQL (see `contract.rs` for how the backends are chosen).

// The harness serves several suites; this one does not use all of its fields.
#[macro_use]
#[allow(dead_code)]
mod harness;

use ampere_domain::*;
use chrono::{DateTime, Utc};

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

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn variable(component: &str, evse: Option<i64>, name: &str, value: &str) -> ReportedVariable {
    ReportedVariable {
        component: ComponentRef {
            name: component.into(),
            instance: None,
            evse_id: evse,
            connector_id: None,
        },
        variable: VariableRef {
            name: name.into(),
            instance: None,
        },
        attributes: vec![VariableAttribute {
            attribute_type: "Actual".into(),
            value: Some(value.into()),
            mutability: Some("ReadWrite".into()),
            persistent: Some(true),
            constant: None,
        }],
        characteristics: Some(VariableCharacteristics {
            unit: Some("s".into()),
            data_type: "integer".into(),
            min_limit: Some(rust_decimal::Decimal::new(5, 1)),
            max_limit: None,
            max_elements: None,
            values_list: None,
            supports_monitoring: false,
        }),
    }
}

fn part(request_id: i64, seq_no: i64, tbc: bool, variables: Vec<ReportedVariable>) -> ReportPart {
    ReportPart {
        request_id,
        seq_no,
        tbc,
        generated_at: at("2026-01-01T07:00:00Z"),
        variables,
    }
}

fn values(model: &DeviceModel) -> Vec<(String, Option<i64>, String, String)> {
    model
        .variables
        .iter()
        .map(|v| {
            (
                v.component.name.clone(),
                v.component.evse_id,
                v.variable.name.clone(),
                v.attributes[0].value.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn row(c: &str, evse: Option<i64>, v: &str, value: &str) -> (String, Option<i64>, String, String) {
    (c.into(), evse, v.into(), value.into())
}

async fn parts_out_of_order_and_retried_become_one_model(h: Harness) {
    let id = charger(&h, "DM-1").await;
    let model = &h.services.device_model;
    model
        .expect_report(&id, 5, ReportScope::Full)
        .await
        .unwrap();
    let last = part(
        5,
        2,
        false,
        vec![variable("EVSE", Some(1), "Power", "22000")],
    );
    let first = part(
        5,
        0,
        true,
        vec![variable("OCPPCommCtrlr", None, "HeartbeatInterval", "300")],
    );
    let middle = part(
        5,
        1,
        true,
        vec![variable("EVSE", Some(2), "Power", "11000")],
    );
    assert_eq!(
        model.receive_part(&id, &first).await.unwrap(),
        PartOutcome::Staged
    );
    assert_eq!(
        model.receive_part(&id, &first).await.unwrap(),
        PartOutcome::Staged,
        "a retried part changes nothing"
    );
    assert_eq!(
        model.receive_part(&id, &last).await.unwrap(),
        PartOutcome::Staged,
        "part 1 is missing"
    );
    assert_eq!(model.get(&id).await.unwrap(), None);
    assert_eq!(
        model.receive_part(&id, &middle).await.unwrap(),
        PartOutcome::Applied {
            scope: ReportScope::Full,
            variables: 3
        }
    );
    let stored = model.get(&id).await.unwrap().unwrap();
    assert_eq!(stored.last_request_id, 5);
    assert_eq!(stored.generated_at, at("2026-01-01T07:00:00Z"));
    assert_eq!(stored.updated_at, h.now());
    assert_eq!(
        values(&stored),
        vec![
            row("OCPPCommCtrlr", None, "HeartbeatInterval", "300"),
            row("EVSE", Some(2), "Power", "11000"),
            row("EVSE", Some(1), "Power", "22000"),
        ],
        "in sequence order; the same variable on two EVSEs is two variables"
    );
    // Everything round-trips, characteristics included.
    assert_eq!(
        stored.variables[0],
        variable("OCPPCommCtrlr", None, "HeartbeatInterval", "300")
    );
}

async fn a_full_report_replaces_and_a_partial_one_merges(h: Harness) {
    let id = charger(&h, "DM-2").await;
    let other = charger(&h, "DM-OTHER").await;
    let model = &h.services.device_model;
    model
        .expect_report(&id, 1, ReportScope::Full)
        .await
        .unwrap();
    model
        .receive_part(
            &id,
            &part(
                1,
                0,
                false,
                vec![variable("A", None, "X", "1"), variable("B", None, "Y", "2")],
            ),
        )
        .await
        .unwrap();
    // Another charger's report does not touch this one's model.
    model
        .receive_part(
            &other,
            &part(1, 0, false, vec![variable("Z", None, "Z", "9")]),
        )
        .await
        .unwrap();

    // A partial report (GetReport): the variable it names changes, the rest stays; a new
    // variable comes last.
    model
        .expect_report(&id, 2, ReportScope::Partial)
        .await
        .unwrap();
    model
        .receive_part(
            &id,
            &part(
                2,
                0,
                false,
                vec![
                    variable("B", None, "Y", "20"),
                    variable("C", None, "W", "3"),
                ],
            ),
        )
        .await
        .unwrap();
    let merged = model.get(&id).await.unwrap().unwrap();
    assert_eq!(merged.last_request_id, 2);
    assert_eq!(
        values(&merged),
        vec![
            row("A", None, "X", "1"),
            row("B", None, "Y", "20"),
            row("C", None, "W", "3"),
        ]
    );

    // A second full inventory replaces the model: A and C are gone.
    model
        .expect_report(&id, 3, ReportScope::Full)
        .await
        .unwrap();
    model
        .receive_part(
            &id,
            &part(3, 0, false, vec![variable("B", None, "Y", "21")]),
        )
        .await
        .unwrap();
    let replaced = model.get(&id).await.unwrap().unwrap();
    assert_eq!(values(&replaced), vec![row("B", None, "Y", "21")]);
    assert_eq!(
        values(&model.get(&other).await.unwrap().unwrap()),
        vec![row("Z", None, "Z", "9")]
    );

    // A report nobody asked for merges (it cannot be known to be complete).
    model
        .receive_part(
            &id,
            &part(99, 0, false, vec![variable("D", None, "V", "4")]),
        )
        .await
        .unwrap();
    assert_eq!(
        values(&model.get(&id).await.unwrap().unwrap()),
        vec![row("B", None, "Y", "21"), row("D", None, "V", "4")]
    );
}

async fn deleting_the_charger_deletes_its_model(h: Harness) {
    let id = charger(&h, "DM-DEL").await;
    let model = &h.services.device_model;
    model
        .expect_report(&id, 1, ReportScope::Full)
        .await
        .unwrap();
    model
        .receive_part(&id, &part(1, 0, true, vec![variable("A", None, "X", "1")]))
        .await
        .unwrap();
    model
        .receive_part(&id, &part(2, 0, false, vec![variable("A", None, "X", "1")]))
        .await
        .unwrap();
    h.services.chargers.delete(&id).await.unwrap();
    assert_eq!(model.get(&id).await.unwrap(), None);
    // Registered again, it starts without a model and without the staged part.
    let id = charger(&h, "DM-DEL").await;
    model
        .receive_part(&id, &part(1, 1, false, vec![variable("B", None, "Y", "2")]))
        .await
        .unwrap();
    assert_eq!(
        model.get(&id).await.unwrap(),
        None,
        "part 0 went with the charger"
    );
}

async fn reports_never_completed_are_dropped_a_day_later(h: Harness) {
    let id = charger(&h, "DM-STALE").await;
    let model = &h.services.device_model;
    model
        .receive_part(&id, &part(1, 0, true, vec![variable("A", None, "X", "1")]))
        .await
        .unwrap();
    h.clock
        .advance(ampere_domain::device_model::STALE_AFTER + chrono::Duration::seconds(1));
    // Asking for the next report drops the stale part: its last part no longer completes it.
    model
        .expect_report(&id, 2, ReportScope::Full)
        .await
        .unwrap();
    assert_eq!(
        model
            .receive_part(&id, &part(1, 1, false, vec![variable("B", None, "Y", "2")]))
            .await
            .unwrap(),
        PartOutcome::Staged
    );
    assert_eq!(model.get(&id).await.unwrap(), None);
}

contract! {
    reports_never_completed_are_dropped_a_day_later,
    parts_out_of_order_and_retried_become_one_model,
    a_full_report_replaces_and_a_partial_one_merges,
    deleting_the_charger_deletes_its_model,
}
