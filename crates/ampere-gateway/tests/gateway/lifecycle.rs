use std::time::Duration;

use ampere_gateway::{ConnectionEvent, DisconnectReason, GatewayConfig};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::common::*;

#[tokio::test]
async fn second_connection_takes_over() {
    let gw = TestGateway::default().await;
    // A charger that proves its identity replaces its own live connection (e.g. after a
    // reboot the old TCP connection never saw); see `security.rs` for the duplicates that
    // may not.
    gw.directory.register("CP-1", Some("pw"), 1);
    let (mut old, _) = gw
        .try_connect("/ocpp/CP-1", "ocpp2.0.1", Some(("CP-1", "pw")))
        .await
        .unwrap();
    // The old connection has a CALL in flight when the new one arrives: it is still
    // handled (and answered while the old socket is open).
    send(&mut old, r#"[2,"inflight","Slow",{"ms":300,"seq":1}]"#).await;
    eventually(|| gw.handler.calls.lock().unwrap().len() == 1).await;

    let (mut new, _) = gw
        .try_connect("/ocpp/CP-1", "ocpp2.0.1", Some(("CP-1", "pw")))
        .await
        .unwrap();
    assert_eq!(recv(&mut old).await, json!([3, "inflight", {"seq": 1}]));
    let close = recv_close(&mut old).await.expect("a close frame");
    assert_eq!(close.code, CloseCode::Normal);

    send(&mut new, r#"[2,"n1","Echo",{}]"#).await;
    assert_eq!(recv(&mut new).await, json!([3, "n1", {}]));

    let sessions = gw.handler.sessions();
    let (first, second) = (sessions[0].connection_id, sessions[1].connection_id);
    assert_ne!(first, second);
    // Give the old task a moment: it must not report anything more.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        gw.handler.events(),
        vec![
            (first, ConnectionEvent::Connected),
            (first, ConnectionEvent::TakenOver),
            (second, ConnectionEvent::Connected),
        ]
    );
}

#[tokio::test]
async fn disconnect_is_reported_with_the_reason() {
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp1.6").await;
    client
        .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    eventually(|| gw.handler.events().len() == 2).await;
    assert_eq!(
        gw.handler.events()[1].1,
        ConnectionEvent::Disconnected {
            reason: DisconnectReason::ClosedByCharger {
                code: Some(1000),
                reason: "bye".into()
            }
        }
    );
}

#[tokio::test]
async fn graceful_shutdown_finishes_inflight_calls_and_closes_with_1001() {
    let gw = TestGateway::default().await;
    let mut busy = gw.connect("CP-1", "ocpp2.0.1").await;
    let mut idle = gw.connect("CP-2", "ocpp1.6").await;
    send(&mut busy, r#"[2,"last","Slow",{"ms":300,"seq":9}]"#).await;
    eventually(|| gw.handler.calls.lock().unwrap().len() == 1).await;

    let addr = gw.addr;
    let handler = gw.handler.clone();
    let stopping = tokio::spawn(gw.stop());

    assert_eq!(recv_close(&mut idle).await.unwrap().code, CloseCode::Away);
    // The in-flight CALL is answered before the close.
    assert_eq!(recv(&mut busy).await, json!([3, "last", {"seq": 9}]));
    assert_eq!(recv_close(&mut busy).await.unwrap().code, CloseCode::Away);
    within(stopping).await.unwrap();

    let shutdowns = handler
        .events()
        .iter()
        .filter(|(_, e)| {
            *e == ConnectionEvent::Disconnected {
                reason: DisconnectReason::ServerShutdown,
            }
        })
        .count();
    assert_eq!(shutdowns, 2);
    // Nothing listens any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn silent_charger_is_closed_after_ping_timeout() {
    let gw = TestGateway::start(GatewayConfig {
        ping_interval: Duration::from_millis(100),
        pong_timeout: Duration::from_millis(150),
        ..test_config()
    })
    .await;
    // This client never reads, so it never answers pings.
    let _silent = gw.connect("SILENT", "ocpp1.6").await;
    let mut alive = gw.connect("ALIVE", "ocpp1.6").await;

    let dead = ConnectionEvent::Disconnected {
        reason: DisconnectReason::PingTimeout,
    };
    // Keep reading on the live one (which answers pings) meanwhile.
    let reader = async { while let Some(Ok(_)) = alive.next().await {} };
    let silent_dead = async {
        eventually(|| gw.handler.events().iter().any(|(_, e)| *e == dead)).await;
        // Well over another timeout, for the live one to prove it stays.
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tokio::select! {
        () = reader => panic!("the live connection ended"),
        () = silent_dead => {}
    }
    let events = gw.handler.events();
    let sessions = gw.handler.sessions();
    let silent_id = sessions
        .iter()
        .find(|s| s.charger_id.as_str() == "SILENT")
        .unwrap()
        .connection_id;
    assert!(events.contains(&(silent_id, dead.clone())), "{events:?}");
    assert_eq!(
        events.iter().filter(|(_, e)| *e == dead).count(),
        1,
        "the live one stays"
    );
}

#[tokio::test]
async fn pings_from_the_charger_are_answered() {
    let gw = TestGateway::default().await;
    let mut client = gw.connect("CP-1", "ocpp1.6").await;
    client
        .send(tokio_tungstenite::tungstenite::Message::Ping(
            b"hi".to_vec().into(),
        ))
        .await
        .unwrap();
    let pong = within(client.next()).await.unwrap().unwrap();
    assert_eq!(
        pong,
        tokio_tungstenite::tungstenite::Message::Pong(b"hi".to_vec().into())
    );
}

#[tokio::test]
async fn takeover_is_reported_after_a_slow_connected() {
    let gw = TestGateway::default().await;
    // The second connection arrives while the first one's `Connected` is still being
    // recorded; its `TakenOver` must not overtake it.
    let (_old, _) = gw
        .try_connect("/ocpp/SLOW-EVENTS-1", "ocpp1.6", None)
        .await
        .unwrap();
    let (_new, _) = gw
        .try_connect("/ocpp/SLOW-EVENTS-1", "ocpp1.6", None)
        .await
        .unwrap();
    eventually(|| gw.handler.events().len() == 3).await;
    let events: Vec<ConnectionEvent> = gw.handler.events().into_iter().map(|(_, e)| e).collect();
    assert_eq!(
        events,
        [
            ConnectionEvent::Connected,
            ConnectionEvent::TakenOver,
            ConnectionEvent::Connected
        ]
    );
    let ids: Vec<u64> = gw.handler.events().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[1], ids[2]);
}
