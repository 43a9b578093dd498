use std::time::{Duration, Instant};

use ampere_domain::ChargerId;
use ampere_gateway::{CommandError, GatewayConfig};
use ampere_ocpp::{Action, ErrorCode, OcppVersion};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::*;

#[derive(Debug, Serialize, Deserialize)]
struct ResetRequest {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct ResetResponse {
    status: String,
}

impl Action for ResetRequest {
    const NAME: &'static str = "Reset";
    const VERSION: OcppVersion = OcppVersion::V201;
    type Response = ResetResponse;
}

fn id(s: &str) -> ChargerId {
    ChargerId::new(s).unwrap()
}

/// Reads the CSMS CALL the charger got: (message id, action, payload).
async fn recv_call(client: &mut Client) -> (String, String, Value) {
    let frame = recv(client).await;
    assert_eq!(frame[0], 2, "expected a CALL, got {frame}");
    (
        frame[1].as_str().unwrap().to_owned(),
        frame[2].as_str().unwrap().to_owned(),
        frame[3].clone(),
    )
}

#[tokio::test]
async fn typed_call_round_trip() {
    let gw = TestGateway::default().await;
    let mut charger = gw.connect("CP-1", "ocpp2.0.1").await;
    let commands = gw.commands.clone();
    let call = tokio::spawn(async move {
        commands
            .call(
                &id("CP-1"),
                ResetRequest {
                    kind: "Immediate".into(),
                },
            )
            .await
    });
    let (message_id, action, payload) = recv_call(&mut charger).await;
    assert_eq!(action, "Reset");
    assert_eq!(payload, json!({"type": "Immediate"}));
    assert_eq!(message_id.len(), 36, "a uuid");
    send(
        &mut charger,
        json!([3, message_id, {"status": "Accepted"}]).to_string(),
    )
    .await;
    let response = within(call).await.unwrap().unwrap();
    assert_eq!(
        response,
        ResetResponse {
            status: "Accepted".into()
        }
    );
}

#[tokio::test]
async fn raw_payload_goes_out_as_given() {
    let gw = TestGateway::default().await;
    let mut charger = gw.connect("CP-1", "ocpp1.6").await;
    let commands = gw.commands.clone();
    // Not alphabetical, nested: the order must survive.
    let payload: Value =
        serde_json::from_str(r#"{"zeta":1,"alpha":{"y":true,"b":[3,1]},"mid":"x"}"#).unwrap();
    let call = tokio::spawn(async move {
        commands
            .call_raw(&id("CP-1"), "DataTransfer", payload)
            .await
    });
    let text = recv_text(&mut charger).await;
    let frame: Value = serde_json::from_str(&text).unwrap();
    let message_id = frame[1].as_str().unwrap();
    assert_eq!(
        text,
        format!(
            r#"[2,"{message_id}","DataTransfer",{{"zeta":1,"alpha":{{"y":true,"b":[3,1]}},"mid":"x"}}]"#
        )
    );
    send(
        &mut charger,
        format!(r#"[3,"{message_id}",{{"status":"Accepted","data":"d"}}]"#),
    )
    .await;
    let response = within(call).await.unwrap().unwrap();
    assert_eq!(response.to_string(), r#"{"status":"Accepted","data":"d"}"#);
}

#[tokio::test]
async fn typed_call_checks_the_version() {
    let gw = TestGateway::default().await;
    let _charger = gw.connect("CP-16", "ocpp1.6").await;
    let result = gw
        .commands
        .call(
            &id("CP-16"),
            ResetRequest {
                kind: "Immediate".into(),
            },
        )
        .await;
    assert_eq!(
        result.unwrap_err(),
        CommandError::WrongVersion {
            expected: OcppVersion::V201,
            connected: OcppVersion::V16
        }
    );
    assert_eq!(gw.commands.is_online(&id("CP-16")), Some(OcppVersion::V16));
}

#[tokio::test]
async fn callerror_is_rejected() {
    let gw = TestGateway::default().await;
    let mut charger = gw.connect("CP-1", "ocpp2.0.1").await;
    let commands = gw.commands.clone();
    let call = tokio::spawn(async move {
        commands
            .call_raw(&id("CP-1"), "Reset", json!({"type": "Immediate"}))
            .await
    });
    let (message_id, _, _) = recv_call(&mut charger).await;
    send(
        &mut charger,
        json!([4, message_id, "NotSupported", "no resets today", {"why": "test"}]).to_string(),
    )
    .await;
    match within(call).await.unwrap() {
        Err(CommandError::Rejected(error)) => {
            assert_eq!(error.code, ErrorCode::NotSupported);
            assert_eq!(error.description, "no resets today");
            assert_eq!(error.details, json!({"why": "test"}));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn undecodable_response_is_invalid() {
    let gw = TestGateway::default().await;
    let mut charger = gw.connect("CP-1", "ocpp2.0.1").await;
    let commands = gw.commands.clone();
    let call = tokio::spawn(async move {
        commands
            .call(
                &id("CP-1"),
                ResetRequest {
                    kind: "Immediate".into(),
                },
            )
            .await
    });
    let (message_id, _, _) = recv_call(&mut charger).await;
    send(
        &mut charger,
        json!([3, message_id, {"status": 5}]).to_string(),
    )
    .await;
    assert!(matches!(
        within(call).await.unwrap(),
        Err(CommandError::InvalidResponse(_))
    ));
}

#[tokio::test]
async fn timeout_frees_the_slot_for_the_next_call() {
    let gw = TestGateway::start(GatewayConfig {
        call_timeout: Duration::from_millis(300),
        ..test_config()
    })
    .await;
    let mut charger = gw.connect("CP-1", "ocpp2.0.1").await;
    let started = Instant::now();
    let commands = gw.commands.clone();
    let first =
        tokio::spawn(async move { commands.call_raw(&id("CP-1"), "Reset", json!({})).await });
    let (late_id, _, _) = recv_call(&mut charger).await;
    assert_eq!(within(first).await.unwrap(), Err(CommandError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(2));

    let commands = gw.commands.clone();
    let second = tokio::spawn(async move {
        commands
            .call_raw(&id("CP-1"), "Reset", json!({"n": 2}))
            .await
    });
    let (message_id, _, payload) = recv_call(&mut charger).await;
    assert_eq!(payload, json!({"n": 2}));
    // A late answer to the first call is ignored, not mistaken for the second's.
    send(
        &mut charger,
        json!([3, late_id, {"status": "Late"}]).to_string(),
    )
    .await;
    send(
        &mut charger,
        json!([3, message_id, {"status": "Accepted"}]).to_string(),
    )
    .await;
    assert_eq!(
        within(second).await.unwrap(),
        Ok(json!({"status": "Accepted"}))
    );
}

#[tokio::test]
async fn offline_charger() {
    let gw = TestGateway::default().await;
    assert_eq!(
        gw.commands
            .call_raw(&id("NOBODY"), "Reset", json!({}))
            .await,
        Err(CommandError::Offline)
    );
    assert_eq!(gw.commands.is_online(&id("NOBODY")), None);
}

#[tokio::test]
async fn one_outstanding_call_and_a_bounded_queue() {
    let gw = TestGateway::start(GatewayConfig {
        command_queue_len: 1,
        ..test_config()
    })
    .await;
    let mut charger = gw.connect("CP-1", "ocpp2.0.1").await;
    let spawn_call = |n: u32| {
        let commands = gw.commands.clone();
        tokio::spawn(async move {
            commands
                .call_raw(&id("CP-1"), "Reset", json!({"n": n}))
                .await
        })
    };
    let first = spawn_call(1);
    let (first_id, _, _) = recv_call(&mut charger).await;
    // Polled once, the second call is queued: queuing happens before its first await.
    let charger_id = id("CP-1");
    let second = gw.commands.call_raw(&charger_id, "Reset", json!({"n": 2}));
    tokio::pin!(second);
    assert!(futures_util::poll!(&mut second).is_pending());
    assert_eq!(
        gw.commands
            .call_raw(&id("CP-1"), "Reset", json!({"n": 3}))
            .await,
        Err(CommandError::QueueFull)
    );
    // The second goes out only after the first is answered.
    send(&mut charger, json!([3, first_id, {"n": 1}]).to_string()).await;
    assert_eq!(within(first).await.unwrap(), Ok(json!({"n": 1})));
    let (second_id, _, payload) = recv_call(&mut charger).await;
    assert_eq!(payload, json!({"n": 2}));
    send(&mut charger, json!([3, second_id, {"n": 2}]).to_string()).await;
    assert_eq!(within(second).await, Ok(json!({"n": 2})));
}

#[tokio::test]
async fn reconnect_fails_the_old_pending_call_at_once() {
    let gw = TestGateway::start(GatewayConfig {
        call_timeout: Duration::from_secs(30),
        ..test_config()
    })
    .await;
    let mut old = gw.connect("CP-1", "ocpp2.0.1").await;
    let commands = gw.commands.clone();
    let pending =
        tokio::spawn(async move { commands.call_raw(&id("CP-1"), "Reset", json!({})).await });
    let _ = recv_call(&mut old).await;
    let charger_id = id("CP-1");
    let queued = gw
        .commands
        .call_raw(&charger_id, "Reset", json!({"queued": true}));
    tokio::pin!(queued);
    assert!(futures_util::poll!(&mut queued).is_pending());

    // The charger comes back on a new socket without closing the old one.
    let started = Instant::now();
    let (mut new, _) = gw
        .try_connect("/ocpp/CP-1", "ocpp2.0.1", None)
        .await
        .unwrap();
    assert_eq!(
        within(pending).await.unwrap(),
        Err(CommandError::ConnectionLost)
    );
    assert_eq!(within(queued).await, Err(CommandError::ConnectionLost));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed at once, not after the timeout"
    );

    // Calls after the reconnect go to the new connection.
    eventually(|| gw.handler.sessions().len() == 2).await;
    let commands = gw.commands.clone();
    let later = tokio::spawn(async move {
        commands
            .call_raw(&id("CP-1"), "Reset", json!({"later": true}))
            .await
    });
    let (message_id, _, payload) = recv_call(&mut new).await;
    assert_eq!(payload, json!({"later": true}));
    send(
        &mut new,
        json!([3, message_id, {"status": "Accepted"}]).to_string(),
    )
    .await;
    assert_eq!(
        within(later).await.unwrap(),
        Ok(json!({"status": "Accepted"}))
    );
}

#[tokio::test]
async fn disconnect_fails_the_pending_call_at_once() {
    let gw = TestGateway::start(GatewayConfig {
        call_timeout: Duration::from_secs(30),
        ..test_config()
    })
    .await;
    let mut charger = gw.connect("CP-1", "ocpp2.0.1").await;
    let commands = gw.commands.clone();
    let pending =
        tokio::spawn(async move { commands.call_raw(&id("CP-1"), "Reset", json!({})).await });
    let _ = recv_call(&mut charger).await;
    charger.close(None).await.unwrap();
    assert_eq!(
        within(pending).await.unwrap(),
        Err(CommandError::ConnectionLost)
    );
    eventually(|| gw.commands.is_online(&id("CP-1")).is_none()).await;
    assert_eq!(
        gw.commands.call_raw(&id("CP-1"), "Reset", json!({})).await,
        Err(CommandError::Offline)
    );
}
