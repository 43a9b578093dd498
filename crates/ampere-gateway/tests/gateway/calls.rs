use ampere_gateway::{ConnectionEvent, DisconnectReason, GatewayConfig};
use futures_util::SinkExt as _;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::common::*;

#[tokio::test]
async fn pipelined_calls_are_answered_in_order_one_at_a_time() {
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp2.0.1").await;
    // Sent back to back: the first is the slowest, so a concurrent gateway would answer
    // them out of order.
    send(&mut client, r#"[2,"m1","Slow",{"ms":300,"seq":1}]"#).await;
    send(&mut client, r#"[2,"m2","Slow",{"ms":50,"seq":2}]"#).await;
    send(&mut client, r#"[2,"m3","Echo",{"seq":3}]"#).await;
    send(&mut client, r#"[2,"m4","Slow",{"ms":1,"seq":4}]"#).await;
    for (id, seq) in [("m1", 1), ("m2", 2), ("m3", 3), ("m4", 4)] {
        assert_eq!(recv(&mut client).await, json!([3, id, { "seq": seq }]));
    }
    assert!(
        !*gw.handler.overlapped.lock().unwrap(),
        "handler calls overlapped"
    );
}

#[tokio::test]
async fn handler_errors_become_callerrors() {
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp2.0.1").await;
    send(&mut client, r#"[2,"e1","Fail",{}]"#).await;
    assert_eq!(
        recv(&mut client).await,
        json!([4, "e1", "NotSupported", "not here", {}])
    );
    send(&mut client, r#"[2,"e2","Nope",{}]"#).await;
    assert_eq!(recv(&mut client).await[2], "NotImplemented");
}

#[tokio::test]
async fn malformed_frames_get_callerrors_and_the_connection_stays_usable() {
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp2.0.1").await;
    let cases = [
        ("not json", json!([4, "-1", "RpcFrameworkError"])),
        (r#"{"a":1}"#, json!([4, "-1", "RpcFrameworkError"])),
        (
            r#"[2,"b1","Echo","text"]"#,
            json!([4, "b1", "FormatViolation"]),
        ),
        (r#"[2,"b2","Echo"]"#, json!([4, "b2", "RpcFrameworkError"])),
        (
            r#"[9,"b3","Echo",{}]"#,
            json!([4, "b3", "MessageTypeNotSupported"]),
        ),
        (r#"[2,7,"Echo",{}]"#, json!([4, "-1", "RpcFrameworkError"])),
    ];
    for (text, expected) in cases {
        send(&mut client, text).await;
        let answer = recv(&mut client).await;
        assert_eq!(head(&answer), expected, "{text}: {answer}");
    }
    // A CALLRESULT nobody waits for is dropped without an answer; the next CALL still works.
    send(&mut client, r#"[3,"nobody",{}]"#).await;
    send(&mut client, r#"[2,"ok","Echo",{"still":"here"}]"#).await;
    assert_eq!(recv(&mut client).await, json!([3, "ok", {"still": "here"}]));
}

#[tokio::test]
async fn malformed_frame_answers_keep_request_order() {
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp1.6").await;
    send(&mut client, r#"[2,"s1","Slow",{"ms":200,"seq":1}]"#).await;
    send(&mut client, "garbage").await;
    assert_eq!(recv(&mut client).await, json!([3, "s1", {"seq": 1}]));
    // 1.6 spells the framing error its own way.
    assert_eq!(
        head(&recv(&mut client).await),
        json!([4, "-1", "FormationViolation"])
    );
}

#[tokio::test]
async fn panicking_handler_answers_internal_error_and_stays_connected() {
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp2.0.1").await;
    send(&mut client, r#"[2,"p1","Panic",{}]"#).await;
    assert_eq!(
        recv(&mut client).await,
        json!([4, "p1", "InternalError", "internal error", {}])
    );
    send(&mut client, r#"[2,"p2","Echo",{"x":1}]"#).await;
    assert_eq!(recv(&mut client).await, json!([3, "p2", {"x": 1}]));
}

#[tokio::test]
async fn oversize_message_closes_only_that_connection_with_1009() {
    let gw = TestGateway::start(GatewayConfig {
        max_message_bytes: 1024,
        ..test_config()
    })
    .await;
    let mut big = gw.connect("BIG", "ocpp2.0.1").await;
    let mut other = gw.connect("OTHER", "ocpp2.0.1").await;

    let payload = "x".repeat(2000);
    send(
        &mut big,
        format!(r#"[2,"b","Echo",{{"data":"{payload}"}}]"#),
    )
    .await;
    let close = recv_close(&mut big).await.expect("a close frame");
    assert_eq!(close.code, CloseCode::Size);

    send(&mut other, r#"[2,"o","Echo",{}]"#).await;
    assert_eq!(recv(&mut other).await, json!([3, "o", {}]));
    eventually(|| {
        gw.handler.events().iter().any(|(_, e)| {
            *e == ConnectionEvent::Disconnected {
                reason: DisconnectReason::MessageTooBig,
            }
        })
    })
    .await;
    // Just under the limit is fine.
    let fits = "y".repeat(1024 - 40);
    send(&mut other, format!(r#"[2,"f","Echo",{{"d":"{fits}"}}]"#)).await;
    assert_eq!(recv(&mut other).await[1], "f");
}

#[tokio::test]
async fn binary_message_closes_with_1003() {
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp2.0.1").await;
    client.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    let close = recv_close(&mut client).await.expect("a close frame");
    assert_eq!(close.code, CloseCode::Unsupported);
}

#[tokio::test]
async fn ocpp21_send_frames_reach_the_handler_unanswered() {
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp2.1").await;
    send(
        &mut client,
        r#"[6,"s1","NotifyPeriodicEventStream",{"id":1}]"#,
    )
    .await;
    send(&mut client, r#"[2,"c1","Echo",{}]"#).await;
    // The first thing back is the CALL's answer: the SEND got none.
    assert_eq!(recv(&mut client).await, json!([3, "c1", {}]));
    let sends = gw.handler.sends.lock().unwrap().clone();
    assert_eq!(
        sends,
        vec![("NotifyPeriodicEventStream".to_owned(), json!({"id": 1}))]
    );
}

#[tokio::test]
async fn send_frames_are_not_accepted_before_2_1() {
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp2.0.1").await;
    send(&mut client, r#"[6,"s1","NotifyPeriodicEventStream",{}]"#).await;
    assert_eq!(
        head(&recv(&mut client).await),
        json!([4, "s1", "MessageTypeNotSupported"])
    );
    assert!(gw.handler.sends.lock().unwrap().is_empty());
}

#[tokio::test]
async fn pipelining_beyond_the_incoming_queue_loses_nothing() {
    let gw = TestGateway::start(GatewayConfig {
        incoming_queue_len: 1,
        ..test_config()
    })
    .await;
    let mut client = gw.connect("CP-1", "ocpp2.0.1").await;
    for seq in 0..6 {
        send(
            &mut client,
            format!(r#"[2,"q{seq}","Slow",{{"ms":20,"seq":{seq}}}]"#),
        )
        .await;
    }
    for seq in 0..6 {
        assert_eq!(
            recv(&mut client).await,
            json!([3, format!("q{seq}"), { "seq": seq }])
        );
    }
}

#[tokio::test]
async fn messages_right_after_a_big_one_are_not_lost() {
    // After a message bigger than the read buffer the connection renews its WebSocket
    // buffers; frames that arrived in the same TCP segment must survive that.
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp2.0.1").await;
    let big = "b".repeat(40_000);
    let mut burst = vec![format!(r#"[2,"big","Echo",{{"data":"{big}"}}]"#)];
    burst.extend((0..3).map(|i| format!(r#"[2,"small{i}","Echo",{{"i":{i}}}]"#)));
    burst.push(format!(r#"[2,"big2","Echo",{{"data":"{big}"}}]"#));
    for text in &burst {
        client.feed(Message::text(text.clone())).await.unwrap();
    }
    client.flush().await.unwrap();
    assert_eq!(
        recv(&mut client).await[2]["data"].as_str().unwrap().len(),
        40_000
    );
    for i in 0..3 {
        assert_eq!(
            recv(&mut client).await,
            json!([3, format!("small{i}"), { "i": i }])
        );
    }
    assert_eq!(recv(&mut client).await[1], "big2");
}

#[tokio::test]
async fn frames_sent_with_the_upgrade_request_are_read() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let gw = TestGateway::default().await;
    let mut socket = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let payload = br#"[2,"early","Echo",{}]"#;
    let mask = [7u8, 1, 9, 3];
    let mut bytes = b"GET /ocpp/EARLY HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[0x81, 0x80 | payload.len() as u8]);
    bytes.extend_from_slice(&mask);
    bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    socket.write_all(&bytes).await.unwrap();

    let expected_answer = br#"[3,"early",{}]"#;
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    while !received.ends_with(expected_answer) {
        let n = within(socket.read(&mut chunk)).await.unwrap();
        assert!(
            n > 0,
            "connection closed; got {}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&chunk[..n]);
    }
    assert!(received.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
}
