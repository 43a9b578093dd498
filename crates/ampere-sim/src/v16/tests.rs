//! The 1.6 charge point's answers to central-system calls, called directly with typed
//! requests, and through [`crate::answer`] with raw payloads.

use std::sync::Arc;

use ampere_ocpp::v16::*;
use ampere_ocpp::{ErrorCode, OcppVersion};
use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::time::Instant;

use super::*;
use crate::config::ChargerProfile;
use crate::model::{ConnectorState, Effect, Station, StopReason, TxRef};

fn station() -> Station {
    let profile = ChargerProfile {
        evses: 2,
        ..ChargerProfile::default()
    };
    Station::new("SIM-00001".into(), OcppVersion::V16, Arc::new(profile), 1)
}

/// A station with a running transaction 42 on connector 1.
fn charging() -> Station {
    let mut st = station();
    st.on_accepted(Instant::now());
    st.begin_session(1, 1, "TAG".into(), None, None, Instant::now());
    st.evses[0].session.as_mut().unwrap().tx = TxRef::V16(42);
    st.effects.clear();
    st
}

#[test]
fn reset_stops_transactions_then_reboots() {
    let mut st = charging();
    let answer = reset(
        &mut st,
        ResetRequest {
            r#type: ResetType::Soft,
        },
    );
    assert_eq!(answer.status, CancelReservationStatus::Accepted);
    assert_eq!(
        Vec::from(st.effects.clone()),
        vec![
            Effect::StopSession {
                evse: 1,
                reason: StopReason::Reset { hard: false }
            },
            Effect::Reboot { hard: false },
        ]
    );
}

#[test]
fn remote_start_starts_a_session_on_a_free_connector() {
    let mut st = station();
    let answer = remote_start(
        &mut st,
        RemoteStartTransactionRequest {
            connector_id: Some(2),
            id_tag: "REMOTE".into(),
            charging_profile: None,
        },
    );
    assert_eq!(answer.status, CancelReservationStatus::Accepted);
    assert_eq!(
        st.effects.front(),
        Some(&Effect::StartSession {
            evse: 2,
            connector: 1,
            id_token: "REMOTE".into(),
            id_token_type: None,
            remote_start_id: None,
            authorize: false,
        })
    );
    // The same connector again while the start is pending, or one that does not exist.
    for connector in [Some(2), Some(9)] {
        let answer = remote_start(
            &mut st,
            RemoteStartTransactionRequest {
                connector_id: connector,
                id_tag: "REMOTE".into(),
                charging_profile: None,
            },
        );
        assert_eq!(answer.status, CancelReservationStatus::Rejected);
    }
}

#[test]
fn remote_start_on_a_busy_connector_is_rejected() {
    let mut st = charging();
    let answer = remote_start(
        &mut st,
        RemoteStartTransactionRequest {
            connector_id: Some(1),
            id_tag: "REMOTE".into(),
            charging_profile: None,
        },
    );
    assert_eq!(answer.status, CancelReservationStatus::Rejected);
    // Without a connector the free one is taken.
    st.authorize_remote_start = true;
    let answer = remote_start(
        &mut st,
        RemoteStartTransactionRequest {
            connector_id: None,
            id_tag: "REMOTE".into(),
            charging_profile: None,
        },
    );
    assert_eq!(answer.status, CancelReservationStatus::Accepted);
    assert!(matches!(
        st.effects.front(),
        Some(Effect::StartSession {
            evse: 2,
            authorize: true,
            ..
        })
    ));
}

#[test]
fn remote_stop_stops_the_named_transaction_only() {
    let mut st = charging();
    let unknown = remote_stop(&mut st, RemoteStopTransactionRequest { transaction_id: 7 });
    assert_eq!(unknown.status, CancelReservationStatus::Rejected);
    assert!(st.effects.is_empty());
    let known = remote_stop(&mut st, RemoteStopTransactionRequest { transaction_id: 42 });
    assert_eq!(known.status, CancelReservationStatus::Accepted);
    assert_eq!(
        st.effects.front(),
        Some(&Effect::StopSession {
            evse: 1,
            reason: StopReason::Remote
        })
    );
}

#[test]
fn unlock_stops_a_transaction_and_unknown_connectors_are_not_supported() {
    let mut st = charging();
    let answer = unlock_connector(&mut st, UnlockConnectorRequest { connector_id: 1 });
    assert_eq!(answer.status, UnlockConnectorStatus::Unlocked);
    assert_eq!(
        st.effects.front(),
        Some(&Effect::StopSession {
            evse: 1,
            reason: StopReason::Unlocked
        })
    );
    let answer = unlock_connector(&mut st, UnlockConnectorRequest { connector_id: 5 });
    assert_eq!(answer.status, UnlockConnectorStatus::NotSupported);
}

#[test]
fn change_availability_now_or_after_the_transaction() {
    let mut st = charging();
    let answer = change_availability(
        &mut st,
        ChangeAvailabilityRequest {
            connector_id: 0,
            r#type: ChangeAvailabilityType::Inoperative,
        },
    );
    // Connector 1 charges: scheduled; connector 2 is idle: unavailable at once.
    assert_eq!(answer.status, ChangeAvailabilityStatus::Scheduled);
    assert!(st.evses[0].operative && st.evses[0].inoperative_after_session);
    assert!(!st.evses[1].operative);
    assert_eq!(st.evses[1].state, ConnectorState::Unavailable);
    assert_eq!(st.effects.front(), Some(&Effect::Status { evse: Some(2) }));

    st.session_ended(1, Instant::now());
    assert_eq!(st.evses[0].state, ConnectorState::Unavailable);

    let answer = change_availability(
        &mut st,
        ChangeAvailabilityRequest {
            connector_id: 2,
            r#type: ChangeAvailabilityType::Operative,
        },
    );
    assert_eq!(answer.status, ChangeAvailabilityStatus::Accepted);
    assert_eq!(st.evses[1].state, ConnectorState::Available);
    let answer = change_availability(
        &mut st,
        ChangeAvailabilityRequest {
            connector_id: 3,
            r#type: ChangeAvailabilityType::Operative,
        },
    );
    assert_eq!(answer.status, ChangeAvailabilityStatus::Rejected);
}

#[test]
fn configuration_keys() {
    let mut st = station();
    let all = get_configuration(&mut st, GetConfigurationRequest { key: None });
    let keys: Vec<&str> = all
        .configuration_key
        .as_ref()
        .unwrap()
        .iter()
        .map(|k| k.key.as_str())
        .collect();
    assert!(keys.contains(&"HeartbeatInterval") && keys.contains(&"NumberOfConnectors"));
    assert_eq!(all.unknown_key, None);

    let some = get_configuration(
        &mut st,
        GetConfigurationRequest {
            key: Some(vec!["NumberOfConnectors".into(), "Bogus".into()]),
        },
    );
    assert_eq!(
        some.configuration_key,
        Some(vec![ConfigurationKey {
            key: "NumberOfConnectors".into(),
            readonly: true,
            value: Some("2".into()),
        }])
    );
    assert_eq!(some.unknown_key, Some(vec!["Bogus".into()]));

    let change = |st: &mut Station, key: &str, value: &str| {
        change_configuration(
            st,
            ChangeConfigurationRequest {
                key: key.into(),
                value: value.into(),
            },
        )
        .status
    };
    assert_eq!(
        change(&mut st, "HeartbeatInterval", "45"),
        ChangeConfigurationStatus::Accepted
    );
    assert_eq!(st.heartbeat_interval, std::time::Duration::from_secs(45));
    assert_eq!(
        change(&mut st, "MeterValueSampleInterval", "15"),
        ChangeConfigurationStatus::Accepted
    );
    assert_eq!(st.meter_interval, std::time::Duration::from_secs(15));
    assert_eq!(
        change(&mut st, "HeartbeatInterval", "soon"),
        ChangeConfigurationStatus::Rejected
    );
    assert_eq!(
        change(&mut st, "NumberOfConnectors", "4"),
        ChangeConfigurationStatus::Rejected
    );
    assert_eq!(
        change(&mut st, "Bogus", "1"),
        ChangeConfigurationStatus::NotSupported
    );
    let after = get_configuration(
        &mut st,
        GetConfigurationRequest {
            key: Some(vec!["HeartbeatInterval".into()]),
        },
    );
    assert_eq!(
        after.configuration_key.unwrap()[0].value.as_deref(),
        Some("45")
    );
}

#[test]
fn trigger_message_queues_the_message() {
    let mut st = station();
    for (requested, effect) in [
        (RequestedMessage::BootNotification, Effect::Boot),
        (RequestedMessage::Heartbeat, Effect::Heartbeat),
        (
            RequestedMessage::StatusNotification,
            Effect::Status { evse: Some(2) },
        ),
        (
            RequestedMessage::MeterValues,
            Effect::MeterValues {
                evse: Some(2),
                triggered: true,
            },
        ),
        (
            RequestedMessage::DiagnosticsStatusNotification,
            Effect::LogStatusIdle,
        ),
        (
            RequestedMessage::FirmwareStatusNotification,
            Effect::FirmwareStatusIdle,
        ),
    ] {
        st.effects.clear();
        let answer = trigger_message(
            &mut st,
            TriggerMessageRequest {
                requested_message: requested,
                connector_id: Some(2),
            },
        );
        assert_eq!(answer.status, TriggerMessageStatus::Accepted);
        assert_eq!(Vec::from(st.effects.clone()), vec![effect]);
    }
    st.effects.clear();
    let answer = trigger_message(
        &mut st,
        TriggerMessageRequest {
            requested_message: RequestedMessage::StatusNotification,
            connector_id: Some(3),
        },
    );
    assert_eq!(answer.status, TriggerMessageStatus::Rejected);
    assert!(st.effects.is_empty());
}

#[test]
fn raw_calls_get_valid_answers_or_the_right_callerror() {
    let mut st = station();
    let ok = crate::answer(&mut st, "ClearCache", json!({})).unwrap();
    assert_eq!(ok, json!({"status": "Accepted"}));
    let dt = crate::answer(&mut st, "DataTransfer", json!({"vendorId": "Other"})).unwrap();
    assert_eq!(dt, json!({"status": "UnknownVendorId"}));
    let lv = crate::answer(&mut st, "GetLocalListVersion", json!({})).unwrap();
    // No list installed yet.
    assert_eq!(lv, json!({"listVersion": 0}));

    // Not an action of 1.6; an action only charge points send; a payload breaking the schema.
    let err = crate::answer(&mut st, "GetVariables", json!({})).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotImplemented);
    let err = crate::answer(&mut st, "Heartbeat", json!({})).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotSupported);
    let err = crate::answer(&mut st, "Reset", json!({"type": "Warm"})).unwrap_err();
    assert_eq!(err.code, ErrorCode::PropertyConstraintViolation);
    let err = crate::answer(&mut st, "Reset", json!({})).unwrap_err();
    assert_eq!(err.code, ErrorCode::OccurrenceConstraintViolation);

    // Every other central-system action gets an answer, never silence.
    for info in ampere_ocpp::actions(OcppVersion::V16) {
        if !info.initiator.from_csms() {
            continue;
        }
        let mut st = station();
        let result = crate::answer(&mut st, info.name, json!({}));
        // An empty payload is either valid (then answered) or a schema error: both answers.
        if let Err(e) = &result {
            assert!(
                matches!(
                    e.code,
                    ErrorCode::OccurrenceConstraintViolation | ErrorCode::NotImplemented
                ),
                "{}: {e}",
                info.name
            );
        }
    }
}
