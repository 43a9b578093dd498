use ampere_gateway::{GatewayConfig, UnknownChargerPolicy};
use ampere_ocpp::OcppVersion;
use tokio::io::AsyncReadExt as _;

use crate::common::*;

#[tokio::test]
async fn newest_offered_subprotocol_wins() {
    let gw = TestGateway::default().await;
    let cases = [
        ("ocpp1.6, ocpp2.0.1, ocpp2.1", "ocpp2.1"),
        ("ocpp1.6,ocpp2.0.1", "ocpp2.0.1"),
        ("ocpp1.6", "ocpp1.6"),
        ("foo, ocpp1.6", "ocpp1.6"),
    ];
    for (offered, chosen) in cases {
        let (_client, protocol) = gw.try_connect("/ocpp/CP-1", offered, None).await.unwrap();
        assert_eq!(protocol.as_deref(), Some(chosen), "offered {offered}");
    }
    let sessions = gw.handler.sessions();
    assert_eq!(sessions.last().unwrap().version, OcppVersion::V16);
}

#[tokio::test]
async fn no_agreed_subprotocol_is_400() {
    let gw = TestGateway::default().await;
    assert_eq!(gw.refused_status("/ocpp/CP-1", "", None).await.0, 400);
    assert_eq!(
        gw.refused_status("/ocpp/CP-1", "ocpp1.5, ocpp2.0", None)
            .await
            .0,
        400
    );
    assert!(gw.handler.events().is_empty());
}

#[tokio::test]
async fn strict_path_rules() {
    let gw = TestGateway::default().await;
    for path in [
        "/CP-1",
        "/ocpp",
        "/ocpp/",
        "/steve/websocket/CentralSystemService/CP-1",
    ] {
        assert_eq!(
            gw.refused_status(path, "ocpp1.6", None).await.0,
            404,
            "{path}"
        );
    }
    // A query string is not part of the identity.
    let (_c, _) = gw
        .try_connect("/ocpp/CP-1?x=1", "ocpp1.6", None)
        .await
        .unwrap();
    assert_eq!(gw.handler.sessions()[0].charger_id.as_str(), "CP-1");
}

#[tokio::test]
async fn any_path_prefix_takes_the_last_segment() {
    let gw = TestGateway::start(GatewayConfig {
        accept_any_path_prefix: true,
        ..test_config()
    })
    .await;
    let (_c, _) = gw
        .try_connect(
            "/steve/websocket/CentralSystemService/CP-7",
            "ocpp1.6",
            None,
        )
        .await
        .unwrap();
    let (_d, _) = gw.try_connect("/ocpp/CP-8", "ocpp1.6", None).await.unwrap();
    let ids: Vec<String> = gw
        .handler
        .sessions()
        .iter()
        .map(|s| s.charger_id.to_string())
        .collect();
    assert_eq!(ids, ["CP-7", "CP-8"]);
    assert_eq!(
        gw.refused_status("/steve/websocket/", "ocpp1.6", None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn identity_rules() {
    let gw = TestGateway::default().await;
    let long = format!("/ocpp/{}", "x".repeat(49));
    for path in [long.as_str(), "/ocpp/a:b", "/ocpp/a%3Ab", "/ocpp/%FF%FE"] {
        assert_eq!(
            gw.refused_status(path, "ocpp1.6", None).await.0,
            400,
            "{path}"
        );
    }
    let (_c, _) = gw
        .try_connect("/ocpp/CP%20One", "ocpp1.6", None)
        .await
        .unwrap();
    let (_d, _) = gw
        .try_connect(&format!("/ocpp/{}", "y".repeat(48)), "ocpp1.6", None)
        .await
        .unwrap();
    assert_eq!(gw.handler.sessions()[0].charger_id.as_str(), "CP One");
}

#[tokio::test]
async fn basic_auth_is_enforced_for_chargers_with_a_password() {
    let gw = TestGateway::default().await;
    gw.directory.register("CP-1", Some("correct horse"), 1);
    let path = "/ocpp/CP-1";

    let (status, challenge) = gw.refused_status(path, "ocpp1.6", None).await;
    assert_eq!(status, 401);
    assert_eq!(challenge.as_deref(), Some("Basic realm=\"ampere\""));

    let (status, challenge) = gw
        .refused_status(path, "ocpp1.6", Some(("CP-1", "wrong")))
        .await;
    assert_eq!((status, challenge.is_some()), (401, true));
    // The user name must be the identity.
    let (status, _) = gw
        .refused_status(path, "ocpp1.6", Some(("CP-2", "correct horse")))
        .await;
    assert_eq!(status, 401);
    assert!(gw.handler.events().is_empty());

    let (_client, protocol) = gw
        .try_connect(path, "ocpp1.6", Some(("CP-1", "correct horse")))
        .await
        .expect("right password upgrades (101)");
    assert_eq!(protocol.as_deref(), Some("ocpp1.6"));
    let session = &gw.handler.sessions()[0];
    assert!(session.known);
}

#[tokio::test]
async fn registered_charger_without_password_connects_without_auth() {
    let gw = TestGateway::default().await;
    gw.directory.register("CP-1", None, 1);
    let (_client, _) = gw
        .try_connect("/ocpp/CP-1", "ocpp2.0.1", None)
        .await
        .unwrap();
    assert!(gw.handler.sessions()[0].known);
}

#[tokio::test]
async fn profile_2_and_3_are_refused_on_plain_ws() {
    let gw = TestGateway::default().await;
    gw.directory.register("TLS-2", Some("secret"), 2);
    gw.directory.register("TLS-3", None, 3);
    let status = gw
        .refused_status("/ocpp/TLS-2", "ocpp2.0.1", Some(("TLS-2", "secret")))
        .await
        .0;
    assert_eq!(status, 403);
    assert_eq!(
        gw.refused_status("/ocpp/TLS-3", "ocpp2.0.1", None).await.0,
        403
    );
}

#[tokio::test]
async fn unknown_charger_policy() {
    let gw = TestGateway::start(GatewayConfig {
        unknown_chargers: UnknownChargerPolicy::Reject,
        ..test_config()
    })
    .await;
    assert_eq!(
        gw.refused_status("/ocpp/NEW-1", "ocpp1.6", None).await.0,
        404
    );
    gw.directory.register("OLD-1", None, 1);
    gw.try_connect("/ocpp/OLD-1", "ocpp1.6", None)
        .await
        .unwrap();

    for policy in [UnknownChargerPolicy::Pending, UnknownChargerPolicy::Accept] {
        let gw = TestGateway::start(GatewayConfig {
            unknown_chargers: policy,
            ..test_config()
        })
        .await;
        let (_client, _) = gw
            .try_connect("/ocpp/NEW-1", "ocpp1.6", None)
            .await
            .unwrap();
        assert!(!gw.handler.sessions()[0].known, "{policy:?}");
    }
}

#[tokio::test]
async fn directory_failure_is_503() {
    let gw = TestGateway::default().await;
    assert_eq!(
        gw.refused_status("/ocpp/DB-DOWN", "ocpp1.6", None).await.0,
        503
    );
}

#[tokio::test]
async fn connection_limit_answers_503() {
    let gw = TestGateway::start(GatewayConfig {
        max_connections: 1,
        ..test_config()
    })
    .await;
    let first = gw.connect("CP-1", "ocpp1.6").await;
    assert_eq!(
        gw.refused_status("/ocpp/CP-2", "ocpp1.6", None).await.0,
        503
    );
    drop(first);
    // The permit comes back when the first connection's task has ended.
    let deadline = tokio::time::Instant::now() + WAIT;
    while gw.try_connect("/ocpp/CP-2", "ocpp1.6", None).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "permit not returned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn silent_clients_are_dropped_after_the_handshake_timeout() {
    let gw = TestGateway::start(GatewayConfig {
        handshake_timeout: std::time::Duration::from_millis(200),
        ..test_config()
    })
    .await;
    let mut socket = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = within(socket.read(&mut buf)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "server closes the socket");
}

#[tokio::test]
async fn plain_http_gets_426() {
    let gw = TestGateway::default().await;
    let mut socket = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut socket, b"GET /ocpp/CP-1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    within(socket.read_to_string(&mut answer)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
}
