//! The router's generic behaviour: lookup, direction, registration, validation codes per
//! version, answer validation, and that every charger-initiated action of every version is
//! answered with a valid response.

use ampere_domain::{
    ChargerConfig, ChargerId, ChargerUpdate, ConnectorStatus, RegistrationStatus,
    UnknownChargerPolicy,
};
use ampere_ocpp::{ErrorCode, MessageKind, OcppVersion};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::checked_answer;
use crate::testing::{Harness, charger_id, minimal_request};

const ALL: [OcppVersion; 3] = [OcppVersion::V16, OcppVersion::V201, OcppVersion::V21];

#[tokio::test]
async fn unknown_actions_are_not_implemented() {
    let h = Harness::new().await;
    let cases = [
        (OcppVersion::V16, "FooBar"),
        (OcppVersion::V16, "TransactionEvent"),
        (OcppVersion::V201, "StartTransaction"),
        (OcppVersion::V201, "BatterySwap"),
        (OcppVersion::V21, "heartbeat"),
    ];
    for (version, action) in cases {
        let e = h.call(version, action, json!({})).await.expect_err(action);
        assert_eq!(e.code, ErrorCode::NotImplemented, "{action} in {version}");
        assert_eq!(e.code.as_str(version), "NotImplemented");
    }
}

#[tokio::test]
async fn actions_only_the_csms_sends_are_not_supported() {
    let h = Harness::new().await;
    for version in ALL {
        for info in ampere_ocpp::actions(version) {
            if info.initiator.from_charger() {
                continue;
            }
            let e = h
                .call(version, info.name, json!({}))
                .await
                .expect_err(info.name);
            assert_eq!(
                e.code,
                ErrorCode::NotSupported,
                "{} in {version}",
                info.name
            );
        }
    }
}

/// Each kind of schema violation, per version: (action, payload, code as written on the
/// wire).
fn violations(version: OcppVersion) -> Vec<(&'static str, Value, &'static str)> {
    let format = if version == OcppVersion::V16 {
        "FormationViolation"
    } else {
        "FormatViolation"
    };
    let mut cases = vec![
        ("Heartbeat", json!({"extra": 1}), format),
        ("Heartbeat", json!([]), format),
        ("Heartbeat", json!("ping"), format),
    ];
    if version == OcppVersion::V16 {
        let ok = json!({"connectorId": 1, "errorCode": "NoError", "status": "Available"});
        cases.extend([
            (
                "StatusNotification",
                without(&ok, "connectorId"),
                "OccurrenceConstraintViolation",
            ),
            (
                "StatusNotification",
                with(&ok, "connectorId", json!("one")),
                "TypeConstraintViolation",
            ),
            (
                "StatusNotification",
                with(&ok, "connectorId", json!(1.5)),
                "TypeConstraintViolation",
            ),
            (
                "StatusNotification",
                with(&ok, "status", json!("Broken")),
                "PropertyConstraintViolation",
            ),
            (
                "StatusNotification",
                with(&ok, "timestamp", json!("yesterday")),
                "TypeConstraintViolation",
            ),
            (
                "StatusNotification",
                with(&ok, "info", json!("i".repeat(51))),
                "TypeConstraintViolation",
            ),
            // Valid for the schema (no minimum), refused by the model: not a connector.
            (
                "StatusNotification",
                with(&ok, "connectorId", json!(-1)),
                "PropertyConstraintViolation",
            ),
            (
                "BootNotification",
                json!({"chargePointVendor": "v".repeat(21), "chargePointModel": "m"}),
                "TypeConstraintViolation",
            ),
            (
                "MeterValues",
                json!({"connectorId": 1, "meterValue": []}),
                "OccurrenceConstraintViolation",
            ),
        ]);
    } else {
        let ok = json!({"timestamp": "2026-01-01T10:00:00Z", "connectorStatus": "Available", "evseId": 1, "connectorId": 1});
        cases.extend([
            ("StatusNotification", without(&ok, "evseId"), "OccurrenceConstraintViolation"),
            ("StatusNotification", with(&ok, "evseId", json!("one")), "TypeConstraintViolation"),
            ("StatusNotification", with(&ok, "connectorStatus", json!("Broken")), "PropertyConstraintViolation"),
            ("StatusNotification", with(&ok, "timestamp", json!("yesterday")), "TypeConstraintViolation"),
            ("StatusNotification", with(&ok, "evseId", json!(-1)), "PropertyConstraintViolation"),
            ("StatusNotification", with(&ok, "extra", json!(true)), format),
            (
                "BootNotification",
                json!({"reason": "PowerUp", "chargingStation": {"model": "m".repeat(21), "vendorName": "v"}}),
                "TypeConstraintViolation",
            ),
            ("MeterValues", json!({"evseId": 1, "meterValue": []}), "OccurrenceConstraintViolation"),
        ]);
    }
    cases
}

fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut v = base.clone();
    v[key] = value;
    v
}

fn without(base: &Value, key: &str) -> Value {
    let mut v = base.clone();
    v.as_object_mut().expect("object").remove(key);
    v
}

#[tokio::test]
async fn each_violation_gets_its_code_spelled_per_version() {
    let h = Harness::new().await;
    for version in ALL {
        for (action, payload, code) in violations(version) {
            let e = h
                .call(version, action, payload.clone())
                .await
                .expect_err("a violation");
            assert_eq!(
                e.code.as_str(version),
                code,
                "{action} {payload} in {version}: {}",
                e.description
            );
        }
    }
    // Nothing of it was stored.
    assert!(
        h.services
            .chargers
            .statuses(&charger_id())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_rejected_charger_may_only_boot() {
    let h = Harness::new().await;
    h.services
        .chargers
        .update(
            &charger_id(),
            ChargerUpdate {
                registration_status: Some(RegistrationStatus::Rejected),
                ..ChargerUpdate::default()
            },
        )
        .await
        .unwrap();
    for version in ALL {
        let e = h
            .call(version, "Heartbeat", json!({}))
            .await
            .expect_err("rejected");
        assert_eq!(e.code, ErrorCode::SecurityError);
        let boot = h
            .ok(
                version,
                "BootNotification",
                minimal_request(version, "BootNotification"),
            )
            .await;
        assert_eq!(boot["status"], "Rejected", "{version}");
    }
}

#[tokio::test]
async fn a_charger_rejected_while_connected_is_refused_within_a_second() {
    let h = Harness::new().await;
    for version in ALL {
        h.ok(version, "Heartbeat", json!({})).await;
    }
    h.services
        .chargers
        .update(
            &charger_id(),
            ChargerUpdate {
                registration_status: Some(RegistrationStatus::Rejected),
                ..ChargerUpdate::default()
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(super::admitted::ADMITTED_FOR).await;
    for version in ALL {
        let e = h
            .call(version, "Heartbeat", json!({}))
            .await
            .expect_err("rejected");
        assert_eq!(e.code, ErrorCode::SecurityError, "{version}");
    }
}

#[tokio::test]
async fn a_pending_charger_is_served_normally() {
    let h = Harness::new().await;
    h.services
        .chargers
        .update(
            &charger_id(),
            ChargerUpdate {
                registration_status: Some(RegistrationStatus::Pending),
                ..ChargerUpdate::default()
            },
        )
        .await
        .unwrap();
    h.ok(
        OcppVersion::V16,
        "StatusNotification",
        json!({"connectorId": 1, "errorCode": "NoError", "status": "Preparing"}),
    )
    .await;
    let statuses = h.services.chargers.statuses(&charger_id()).await.unwrap();
    assert_eq!(statuses[0].status, ConnectorStatus::Preparing);
}

#[tokio::test]
async fn an_unregistered_charger_is_registered_as_the_policy_says() {
    let stranger = ChargerId::new("STRANGER").unwrap();
    for (policy, expected) in [
        (
            UnknownChargerPolicy::Pending,
            Some(RegistrationStatus::Pending),
        ),
        (
            UnknownChargerPolicy::Accept,
            Some(RegistrationStatus::Accepted),
        ),
        (UnknownChargerPolicy::Reject, None),
    ] {
        let h = Harness::with_config(ChargerConfig {
            unknown_chargers: policy,
            ..ChargerConfig::default()
        })
        .await;
        let mut ctx = h.context(OcppVersion::V201);
        ctx.charger_id = stranger.clone();
        ctx.known = false;
        let answer = h.router.handle_call(&ctx, "Heartbeat", json!({})).await;
        let registered = h.services.chargers.get(&stranger).await.unwrap();
        assert_eq!(
            registered.map(|c| c.registration_status),
            expected,
            "{policy:?}"
        );
        match expected {
            Some(_) => assert!(answer.is_ok(), "{policy:?}: {answer:?}"),
            None => assert_eq!(answer.expect_err("refused").code, ErrorCode::SecurityError),
        }
    }
}

#[tokio::test]
async fn integral_floats_are_integers_in_2x() {
    let h = Harness::new().await;
    h.ok(
        OcppVersion::V201,
        "StatusNotification",
        json!({"timestamp": "2026-01-01T10:00:00Z", "connectorStatus": "Faulted", "evseId": 2.0, "connectorId": 1e0}),
    )
    .await;
    let statuses = h.services.chargers.statuses(&charger_id()).await.unwrap();
    assert_eq!(statuses[0].place.evse.get(), 2);
}

#[tokio::test]
async fn store_failures_are_internal_errors() {
    let h = Harness::new().await;
    h.store.close().await;
    let e = h
        .call(OcppVersion::V16, "Heartbeat", json!({}))
        .await
        .expect_err("store closed");
    assert_eq!(e.code, ErrorCode::InternalError);
}

#[test]
fn an_answer_that_breaks_its_schema_becomes_an_internal_error() {
    let e = checked_answer(
        OcppVersion::V16,
        "Heartbeat",
        json!({"currentTime": "noon"}),
    )
    .expect_err("invalid");
    assert_eq!(e.code, ErrorCode::InternalError);
    assert!(
        checked_answer(
            OcppVersion::V16,
            "Heartbeat",
            json!({"currentTime": "2026-01-01T00:00:00Z"})
        )
        .is_ok()
    );
}

/// The data file lists exactly the charger-initiated actions of each version.
#[test]
fn minimal_requests_cover_every_charger_initiated_action() {
    let all: Value =
        serde_json::from_str(include_str!("../../tests/data/minimal_requests.json")).unwrap();
    for version in ALL {
        let listed: Vec<&str> = all[version.to_string()]
            .as_object()
            .expect("version object")
            .keys()
            .map(String::as_str)
            .collect();
        let expected: Vec<&str> = ampere_ocpp::actions(version)
            .iter()
            .filter(|a| a.initiator.from_charger())
            .map(|a| a.name)
            .collect();
        assert_eq!(listed, expected, "{version}");
    }
}

/// Every charger-initiated action of every version: its minimal request is valid, and the
/// answer is a valid response (a SEND is kept instead).
#[tokio::test]
async fn every_charger_initiated_action_is_answered_validly() {
    let mut answered = 0;
    for version in ALL {
        // One store per version keeps the transactions of the versions apart.
        let h = Harness::new().await;
        for info in ampere_ocpp::actions(version) {
            if !info.initiator.from_charger() {
                continue;
            }
            let request = minimal_request(version, info.name);
            ampere_ocpp::validate(version, info.name, MessageKind::Request, &request)
                .unwrap_or_else(|v| panic!("minimal {} ({version}) is invalid: {v}", info.name));
            if info.send {
                h.router
                    .handle_send(&h.context(version), info.name, request)
                    .await;
                assert_eq!(h.reports(info.name).await.len(), 1, "{} kept", info.name);
                continue;
            }
            let answer = h.ok(version, info.name, request).await;
            assert!(
                ampere_ocpp::validate(version, info.name, MessageKind::Response, &answer).is_ok(),
                "{} ({version}) answer {answer}",
                info.name
            );
            answered += 1;
        }
    }
    assert_eq!(answered, 14 + 25 + 36, "every CALL of 1.6, 2.0.1 and 2.1");
}

/// `run` refuses to call a handler of another action or version: a wrong arm in a dispatch
/// table is caught, not answered with the wrong message.
#[tokio::test]
async fn a_dispatch_arm_pointing_at_the_wrong_handler_is_an_internal_error() {
    let h = Harness::new().await;
    let charger = h.context(OcppVersion::V201);
    let payload = json!({});
    let clock = ampere_domain::ManualClock::new(crate::testing::at(crate::testing::NOW));
    let ctx = crate::context::Ctx {
        services: &h.services,
        clock: &clock,
        charger: &charger,
        action: "Heartbeat",
        payload: &payload,
    };
    async fn v16_heartbeat(
        _: &crate::context::Ctx<'_>,
        _: ampere_ocpp::v16::HeartbeatRequest,
    ) -> Result<ampere_ocpp::v16::HeartbeatResponse, ampere_ocpp::CallError> {
        panic!("must not be called for a 2.0.1 Heartbeat")
    }
    let e = super::run(&ctx, v16_heartbeat)
        .await
        .expect_err("wrong version");
    assert_eq!(e.code, ErrorCode::InternalError);
}
