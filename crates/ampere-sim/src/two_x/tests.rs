//! The 2.x charging station's answers to CSMS calls: typed calls for 2.0.1, raw payloads
//! through [`crate::answer`] for both 2.0.1 and 2.1 (the same macro body serves both).

use std::sync::Arc;

use ampere_ocpp::v201::*;
use ampere_ocpp::{ErrorCode, OcppVersion};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::v201::*;
use crate::config::ChargerProfile;
use crate::model::{Effect, Registration, Station, StopReason, TxRef};

fn station(version: OcppVersion) -> Station {
    let profile = ChargerProfile {
        evses: 2,
        connectors_per_evse: 2,
        ..ChargerProfile::default()
    };
    Station::new("SIM-00001".into(), version, Arc::new(profile), 1)
}

/// A station with a running transaction on EVSE 1; returns its id.
fn charging(version: OcppVersion) -> (Station, String) {
    let mut st = station(version);
    st.on_accepted(Instant::now());
    st.begin_session(1, 2, "TAG".into(), None, None, Instant::now());
    st.effects.clear();
    let TxRef::TwoX(id) = st.evses[0].session.as_ref().unwrap().tx.clone() else {
        panic!("2.x transactions are numbered by the station");
    };
    (st, id)
}

fn token(value: &str) -> IdToken {
    IdToken {
        additional_info: None,
        id_token: value.into(),
        r#type: IdTokenEnum::Central,
        custom_data: None,
    }
}

#[test]
fn reset_immediate_stops_sessions_and_on_idle_waits() {
    let (mut st, _) = charging(OcppVersion::V201);
    let on_idle = reset(
        &mut st,
        ResetRequest {
            r#type: Reset::OnIdle,
            evse_id: None,
            custom_data: None,
        },
    );
    assert_eq!(on_idle.status, ResetStatus::Scheduled);
    assert!(st.reset_when_idle && st.effects.is_empty());

    let immediate = reset(
        &mut st,
        ResetRequest {
            r#type: Reset::Immediate,
            evse_id: None,
            custom_data: None,
        },
    );
    assert_eq!(immediate.status, ResetStatus::Accepted);
    assert_eq!(
        Vec::from(st.effects.clone()),
        vec![
            Effect::StopSession {
                evse: 1,
                reason: StopReason::Reset { hard: true }
            },
            Effect::Reboot { hard: true },
        ]
    );
    let one_evse = reset(
        &mut st,
        ResetRequest {
            r#type: Reset::Immediate,
            evse_id: Some(1),
            custom_data: None,
        },
    );
    assert_eq!(one_evse.status, ResetStatus::Rejected);
}

#[test]
fn request_start_and_stop() {
    let (mut st, tx) = charging(OcppVersion::V201);
    let busy = request_start(
        &mut st,
        RequestStartTransactionRequest {
            evse_id: Some(1),
            group_id_token: None,
            id_token: token("REMOTE"),
            remote_start_id: 7,
            charging_profile: None,
            custom_data: None,
        },
    );
    assert_eq!(busy.status, RequestStartStopStatus::Rejected);
    let free = request_start(
        &mut st,
        RequestStartTransactionRequest {
            evse_id: None,
            group_id_token: None,
            id_token: token("REMOTE"),
            remote_start_id: 8,
            charging_profile: None,
            custom_data: None,
        },
    );
    assert_eq!(free.status, RequestStartStopStatus::Accepted);
    assert_eq!(
        st.effects.pop_front(),
        Some(Effect::StartSession {
            evse: 2,
            connector: 1,
            id_token: "REMOTE".into(),
            id_token_type: Some("Central".into()),
            remote_start_id: Some(8),
            authorize: false,
        })
    );

    let unknown = request_stop(
        &mut st,
        RequestStopTransactionRequest {
            transaction_id: "nope".into(),
            custom_data: None,
        },
    );
    assert_eq!(unknown.status, RequestStartStopStatus::Rejected);
    let known = request_stop(
        &mut st,
        RequestStopTransactionRequest {
            transaction_id: tx,
            custom_data: None,
        },
    );
    assert_eq!(known.status, RequestStartStopStatus::Accepted);
    assert_eq!(
        st.effects.pop_front(),
        Some(Effect::StopSession {
            evse: 1,
            reason: StopReason::Remote
        })
    );
}

#[test]
fn unlock_connector_answers() {
    let (mut st, _) = charging(OcppVersion::V201);
    let unlock = |st: &mut Station, evse_id, connector_id| {
        unlock_connector(
            st,
            UnlockConnectorRequest {
                evse_id,
                connector_id,
                custom_data: None,
            },
        )
        .status
    };
    assert_eq!(
        unlock(&mut st, 1, 2),
        UnlockStatus::OngoingAuthorizedTransaction
    );
    assert_eq!(unlock(&mut st, 2, 2), UnlockStatus::Unlocked);
    assert_eq!(unlock(&mut st, 2, 3), UnlockStatus::UnknownConnector);
    assert_eq!(unlock(&mut st, 3, 1), UnlockStatus::UnknownConnector);
}

#[test]
fn change_availability_of_an_evse_or_the_station() {
    let (mut st, _) = charging(OcppVersion::V201);
    let change = |st: &mut Station, evse: Option<EVSE>, status| {
        change_availability(
            st,
            ChangeAvailabilityRequest {
                evse,
                operational_status: status,
                custom_data: None,
            },
        )
        .status
    };
    let evse2 = EVSE {
        id: 2,
        connector_id: None,
        custom_data: None,
    };
    assert_eq!(
        change(&mut st, Some(evse2.clone()), OperationalStatus::Inoperative),
        ChangeAvailabilityStatus::Accepted
    );
    assert!(!st.evses[1].operative);
    assert_eq!(
        change(&mut st, None, OperationalStatus::Inoperative),
        ChangeAvailabilityStatus::Scheduled
    );
    assert_eq!(
        change(
            &mut st,
            Some(EVSE {
                id: 9,
                connector_id: None,
                custom_data: None
            }),
            OperationalStatus::Operative
        ),
        ChangeAvailabilityStatus::Rejected
    );
    assert_eq!(
        change(&mut st, Some(evse2), OperationalStatus::Operative),
        ChangeAvailabilityStatus::Accepted
    );
    assert!(st.evses[1].operative);
}

fn component(name: &str) -> Component {
    Component {
        evse: None,
        name: name.into(),
        instance: None,
        custom_data: None,
    }
}

fn variable(name: &str) -> Variable {
    Variable {
        name: name.into(),
        instance: None,
        custom_data: None,
    }
}

#[test]
fn device_model_get_and_set() {
    let mut st = station(OcppVersion::V201);
    let set = set_variables(
        &mut st,
        SetVariablesRequest {
            set_variable_data: vec![
                SetVariableData {
                    attribute_type: None,
                    attribute_value: "30".into(),
                    component: component("OCPPCommCtrlr"),
                    variable: variable("HeartbeatInterval"),
                    custom_data: None,
                },
                SetVariableData {
                    attribute_type: None,
                    attribute_value: "x".into(),
                    component: component("SampledDataCtrlr"),
                    variable: variable("TxUpdatedInterval"),
                    custom_data: None,
                },
                SetVariableData {
                    attribute_type: None,
                    attribute_value: "Other".into(),
                    component: component("ChargingStation"),
                    variable: variable("Model"),
                    custom_data: None,
                },
                SetVariableData {
                    attribute_type: Some(Attribute::Target),
                    attribute_value: "1".into(),
                    component: component("OCPPCommCtrlr"),
                    variable: variable("HeartbeatInterval"),
                    custom_data: None,
                },
                SetVariableData {
                    attribute_type: None,
                    attribute_value: "1".into(),
                    component: component("Nowhere"),
                    variable: variable("HeartbeatInterval"),
                    custom_data: None,
                },
            ],
            custom_data: None,
        },
    );
    let statuses: Vec<SetVariableStatus> = set
        .set_variable_result
        .iter()
        .map(|r| r.attribute_status)
        .collect();
    assert_eq!(
        statuses,
        vec![
            SetVariableStatus::Accepted,
            SetVariableStatus::Rejected,
            SetVariableStatus::Rejected,
            SetVariableStatus::NotSupportedAttributeType,
            SetVariableStatus::UnknownComponent,
        ]
    );
    assert_eq!(st.heartbeat_interval, std::time::Duration::from_secs(30));

    let get = get_variables(
        &mut st,
        GetVariablesRequest {
            get_variable_data: vec![
                GetVariableData {
                    attribute_type: None,
                    component: component("OCPPCommCtrlr"),
                    variable: variable("HeartbeatInterval"),
                    custom_data: None,
                },
                GetVariableData {
                    attribute_type: None,
                    component: component("SecurityCtrlr"),
                    variable: variable("Identity"),
                    custom_data: None,
                },
                GetVariableData {
                    attribute_type: None,
                    component: component("OCPPCommCtrlr"),
                    variable: variable("Nope"),
                    custom_data: None,
                },
            ],
            custom_data: None,
        },
    );
    let got: Vec<(GetVariableStatus, Option<String>)> = get
        .get_variable_result
        .into_iter()
        .map(|r| (r.attribute_status, r.attribute_value))
        .collect();
    assert_eq!(
        got,
        vec![
            (GetVariableStatus::Accepted, Some("30".into())),
            (GetVariableStatus::Accepted, Some("SIM-00001".into())),
            (GetVariableStatus::UnknownVariable, None),
        ]
    );
}

#[test]
fn trigger_message_by_registration_and_session() {
    let mut st = station(OcppVersion::V201);
    let trigger = |st: &mut Station, message| {
        trigger_message(
            st,
            TriggerMessageRequest {
                evse: None,
                requested_message: message,
                custom_data: None,
            },
        )
        .status
    };
    // Before acceptance a boot may be triggered; afterwards it is declined.
    st.registration = Registration::Pending;
    assert_eq!(
        trigger(&mut st, MessageTrigger::BootNotification),
        TriggerMessageStatus::Accepted
    );
    assert_eq!(st.effects.pop_front(), Some(Effect::Boot));
    st.registration = Registration::Accepted;
    assert_eq!(
        trigger(&mut st, MessageTrigger::BootNotification),
        TriggerMessageStatus::Rejected
    );
    // No session, no TransactionEvent.
    assert_eq!(
        trigger(&mut st, MessageTrigger::TransactionEvent),
        TriggerMessageStatus::Rejected
    );
    assert_eq!(
        trigger(&mut st, MessageTrigger::Heartbeat),
        TriggerMessageStatus::Accepted
    );
    assert_eq!(
        trigger(&mut st, MessageTrigger::SignChargingStationCertificate),
        TriggerMessageStatus::NotImplemented
    );
    assert_eq!(Vec::from(st.effects.clone()), vec![Effect::Heartbeat]);
}

/// Every CSMS action of both 2.x versions gets an answer (valid, or a CALLERROR).
#[test]
fn every_csms_action_is_answered_in_both_versions() {
    for version in [OcppVersion::V201, OcppVersion::V21] {
        let mut st = station(version);
        let answer = crate::answer(
            &mut st,
            "GetVariables",
            json!({"getVariableData": [{
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"}
            }]}),
        )
        .unwrap();
        assert_eq!(
            answer,
            json!({"getVariableResult": [{
                "attributeStatus": "Accepted",
                "attributeValue": "300",
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"}
            }]})
        );
        let answer = crate::answer(&mut st, "ClearCache", json!({})).unwrap();
        assert_eq!(answer, json!({"status": "Accepted"}));
        let answer = crate::answer(
            &mut st,
            "RequestStartTransaction",
            json!({"idToken": {"idToken": "T1", "type": "ISO14443"}, "remoteStartId": 1}),
        )
        .unwrap();
        assert_eq!(answer, json!({"status": "Accepted"}));
        let err = crate::answer(&mut st, "BootNotification", json!({})).unwrap_err();
        assert_eq!(err.code, ErrorCode::NotSupported);
        let err = crate::answer(&mut st, "RemoteStartTransaction", json!({})).unwrap_err();
        assert_eq!(err.code, ErrorCode::NotImplemented);

        for info in ampere_ocpp::actions(version) {
            if !info.initiator.from_csms() {
                continue;
            }
            let mut st = station(version);
            let result: Result<Value, _> = crate::answer(&mut st, info.name, json!({}));
            if let Err(e) = &result {
                assert!(
                    matches!(
                        e.code,
                        ErrorCode::OccurrenceConstraintViolation | ErrorCode::NotImplemented
                    ),
                    "{version} {}: {e}",
                    info.name
                );
            }
        }
    }
}
