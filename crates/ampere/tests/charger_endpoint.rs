//! End-to-end behaviour of the charger endpoint of a real `ampere serve` process: bad input
//! answered as the spec says without hurting anyone else, handshake rules, pipelined calls
//! answered in order, and a graceful shutdown.

mod common;

use common::{RawCharger, Server};
use serde_json::Value;

fn error_code(frame: &Value) -> &str {
    assert_eq!(frame[0], 4, "expected a CALLERROR, got {frame}");
    frame[2].as_str().expect("error code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_the_right_callerror_and_the_connection_stays_usable() {
    let server = Server::start(&["--unknown-chargers", "accept"]);
    // (frame, expected id, expected 2.0.1 code, expected 1.6 code)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "this is not json",
            "-1",
            "RpcFrameworkError",
            "FormationViolation",
        ),
        (
            "{\"an\": \"object\"}",
            "-1",
            "RpcFrameworkError",
            "FormationViolation",
        ),
        (
            "[2, \"m1\"]",
            "m1",
            "RpcFrameworkError",
            "FormationViolation",
        ),
        (
            "[9, \"m2\", \"Heartbeat\", {}]",
            "m2",
            "MessageTypeNotSupported",
            "ProtocolError",
        ),
        (
            "[2, \"m3\", \"NoSuchAction\", {}]",
            "m3",
            "NotImplemented",
            "NotImplemented",
        ),
        (
            "[2, \"m4\", \"Heartbeat\", []]",
            "m4",
            "FormatViolation",
            "FormationViolation",
        ),
        (
            "[2, \"m5\", \"Heartbeat\", {\"extra\": 1}]",
            "m5",
            "FormatViolation",
            "FormationViolation",
        ),
    ];
    for (subprotocol, column) in [("ocpp2.0.1", 2), ("ocpp1.6", 3)] {
        let mut charger =
            RawCharger::connect(&server.url(&format!("BAD-{column}")), subprotocol).await;
        for case in cases {
            let answer = charger.exchange(case.0).await;
            let expected = if column == 2 { case.2 } else { case.3 };
            assert_eq!(
                answer[1], case.1,
                "message id for {:?} on {subprotocol}",
                case.0
            );
            assert_eq!(
                error_code(&answer),
                expected,
                "code for {:?} on {subprotocol}",
                case.0
            );
        }
        let ok = charger.exchange("[2, \"ok\", \"Heartbeat\", {}]").await;
        assert_eq!(ok[0], 3, "Heartbeat after the bad frames: {ok}");
        assert_eq!(ok[1], "ok");
        assert!(ok[2]["currentTime"].is_string());
    }

    // Payload errors judged as the schemas judge them, with the 2.x spellings.
    let mut charger = RawCharger::connect(&server.url("BAD-PAYLOAD"), "ocpp2.0.1").await;
    let missing = charger
        .exchange(r#"[2,"p1","BootNotification",{"reason":"PowerUp"}]"#)
        .await;
    assert_eq!(error_code(&missing), "OccurrenceConstraintViolation");
    let wrong_type = charger
        .exchange(r#"[2,"p2","BootNotification",{"reason":"PowerUp","chargingStation":{"model":5,"vendorName":"V"}}]"#)
        .await;
    assert_eq!(error_code(&wrong_type), "TypeConstraintViolation");
    let off_enum = charger
        .exchange(r#"[2,"p3","BootNotification",{"reason":"Bored","chargingStation":{"model":"M","vendorName":"V"}}]"#)
        .await;
    assert_eq!(error_code(&off_enum), "PropertyConstraintViolation");
    let csms_only = charger
        .exchange(r#"[2,"p4","Reset",{"type":"Immediate"}]"#)
        .await;
    assert_eq!(error_code(&csms_only), "NotSupported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_frame_closes_only_that_connection() {
    let server = Server::start(&["--unknown-chargers", "accept"]);
    let mut bystander = RawCharger::connect(&server.url("CALM-1"), "ocpp2.0.1").await;
    let mut offender = RawCharger::connect(&server.url("BIG-1"), "ocpp2.0.1").await;

    let huge = format!(
        r#"[2,"big","DataTransfer",{{"vendorId":"x","data":"{}"}}]"#,
        "a".repeat(70 * 1024)
    );
    offender.send_text(&huge).await;
    assert_eq!(offender.closed_with().await, Some(1009));

    let answer = bystander.exchange(r#"[2,"hb","Heartbeat",{}]"#).await;
    assert_eq!(answer[0], 3, "bystander still served: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_calls_are_answered_in_order() {
    let server = Server::start(&["--unknown-chargers", "accept"]);
    let mut charger = RawCharger::connect(&server.url("PIPE-1"), "ocpp1.6").await;
    let boot = r#"{"chargePointVendor":"V","chargePointModel":"M"}"#;
    charger
        .send_text(&format!(r#"[2,"b","BootNotification",{boot}]"#))
        .await;
    for i in 0..20 {
        charger
            .send_text(&format!(r#"[2,"h{i}","Heartbeat",{{}}]"#))
            .await;
    }
    let first = charger.recv().await;
    assert_eq!(first[1], "b");
    assert_eq!(first[2]["status"], "Accepted");
    for i in 0..20 {
        let answer = charger.recv().await;
        assert_eq!(answer[1], format!("h{i}"), "answer {i}: {answer}");
        assert_eq!(answer[0], 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_rules() {
    let server = Server::start(&["--unknown-chargers", "accept"]);

    // The newest subprotocol the charger offers wins.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            server.url("NEG-1"),
        )
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "ocpp1.6, ocpp2.0.1".parse().unwrap(),
    );
    let (_socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["Sec-WebSocket-Protocol"], "ocpp2.0.1");

    // No common subprotocol: refused with 400.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            server.url("NEG-2"),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp1.5".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400)
        }
        other => panic!("expected HTTP 400, got {other:?}"),
    }

    // A SteVe-style URL keeps working: only the host changes.
    let steve = format!(
        "{}/steve/websocket/CentralSystemService/STEVE-1",
        server.ocpp_base
    );
    let mut charger = RawCharger::connect(&steve, "ocpp1.6").await;
    let answer = charger.exchange(r#"[2,"s","Heartbeat",{}]"#).await;
    assert_eq!(answer[0], 3);

    // An identity with ':' is refused.
    let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        server.url("BAD%3AID"),
    )
    .unwrap();
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_chargers_are_refused_under_reject() {
    let server = Server::start(&["--unknown-chargers", "reject"]);
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            server.url("NOBODY-1"),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp2.0.1".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404)
        }
        other => panic!("expected HTTP 404, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_chargers_with_going_away_and_exits_cleanly() {
    let mut server = Server::start(&["--unknown-chargers", "accept"]);
    let mut charger = RawCharger::connect(&server.url("BYE-1"), "ocpp2.1").await;
    let answer = charger.exchange(r#"[2,"hb","Heartbeat",{}]"#).await;
    assert_eq!(answer[0], 3);
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (status, server)
    });
    assert_eq!(charger.closed_with().await, Some(1001));
    let (status, _server) = status.await.unwrap();
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_registers_chargers_that_then_boot_accepted() {
    let data = tempfile::tempdir().unwrap();
    common::cli(
        data.path(),
        &["charger", "add", "REG-1", "--password", "pw-123456789"],
    );
    let listed = common::cli(data.path(), &["charger", "list"]);
    assert!(
        listed.contains("REG-1") && listed.contains("Accepted"),
        "{listed}"
    );
    let server = Server::start_in(data, &[]);
    // Registered with a password: connecting without one is refused (401).
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            server.url("REG-1"),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
            assert!(
                response.headers()["WWW-Authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Basic")
            );
        }
        other => panic!("expected HTTP 401, got {other:?}"),
    }
}
