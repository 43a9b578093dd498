//! The OCPP message log of a real `ampere serve` process: a charger's frames and our answers
//! with their directions, actions and message ids; commands sent through the API, both ways,
//! with charger credentials masked; the filters; and the retention purge.

// The shared helpers serve several test files; this one uses only some of them.
#[allow(dead_code)]
mod api_server;
#[allow(dead_code)]
mod common;

use api_server::ApiServer;
use common::RawCharger;
use serde_json::{Value, json};

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("items")
}

/// The frames of a charger with this message id, once `count` of them are logged.
async fn frames_with_id(
    server: &ApiServer,
    charger: &str,
    message_id: &str,
    count: usize,
) -> Vec<Value> {
    let path = format!("/api/v1/chargers/{charger}/messages?limit=500");
    let page = server
        .until(&path, |page| {
            items(page)
                .iter()
                .filter(|f| f["message_id"] == message_id)
                .count()
                >= count
        })
        .await;
    items(&page)
        .iter()
        .filter(|f| f["message_id"] == message_id)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_boot_and_our_answer_are_logged_with_directions_actions_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let server = ApiServer::start(dir.path(), &[]);
    let mut charger = RawCharger::connect(&server.charger_url("ML-1"), "ocpp1.6").await;
    let boot =
        r#"[2,"boot-1","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"M"}]"#;
    let answer = charger.exchange(boot).await;
    let heartbeat = r#"[2,"hb-1","Heartbeat",{}]"#;
    charger.exchange(heartbeat).await;

    let frames = frames_with_id(&server, "ML-1", "boot-1", 2).await;
    // Newest first: our answer, then the charger's CALL.
    assert_eq!(frames[0]["direction"], "outgoing");
    assert_eq!(frames[0]["message_type"], "CALLRESULT");
    assert_eq!(
        frames[0]["action"], "BootNotification",
        "the answer names its CALL's action"
    );
    let sent: Value = serde_json::from_str(frames[0]["frame"].as_str().unwrap()).unwrap();
    assert_eq!(sent, answer, "the frame the charger got");
    assert_eq!(frames[1]["direction"], "incoming");
    assert_eq!(frames[1]["message_type"], "CALL");
    assert_eq!(frames[1]["action"], "BootNotification");
    assert_eq!(frames[1]["frame"], boot, "the text exactly as sent");
    assert!(frames[0]["id"].as_i64() > frames[1]["id"].as_i64());

    // Filters.
    frames_with_id(&server, "ML-1", "hb-1", 2).await;
    let boots = server
        .ok(
            "GET",
            "/api/v1/chargers/ML-1/messages?action=BootNotification",
            None,
        )
        .await;
    assert_eq!(items(&boots).len(), 2, "{boots}");
    let incoming = server
        .ok(
            "GET",
            "/api/v1/chargers/ML-1/messages?direction=incoming",
            None,
        )
        .await;
    assert!(
        items(&incoming)
            .iter()
            .all(|f| f["direction"] == "incoming")
    );
    assert_eq!(items(&incoming).len(), 2, "{incoming}");
    let page = server
        .ok("GET", "/api/v1/chargers/ML-1/messages?limit=1", None)
        .await;
    assert_eq!(items(&page).len(), 1);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let next = server
        .ok(
            "GET",
            &format!("/api/v1/chargers/ML-1/messages?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert!(items(&next)[0]["id"].as_i64() < items(&page)[0]["id"].as_i64());
    let future = server
        .ok(
            "GET",
            "/api/v1/chargers/ML-1/messages?since=2999-01-01T00:00:00Z",
            None,
        )
        .await;
    assert!(items(&future).is_empty());
    let (status, _) = server
        .call(
            "GET",
            "/api/v1/chargers/ML-1/messages?direction=sideways",
            None,
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .call("GET", "/api/v1/chargers/NOPE/messages", None)
        .await;
    assert_eq!(status, 404);
}

/// Sends a raw command through the API, answers it as the charger, and returns the id of the
/// CALL the charger got.
async fn command(
    server: &ApiServer,
    charger: &mut RawCharger,
    id: &str,
    action: &str,
    payload: Value,
    answer: Value,
) -> String {
    let path = format!("/api/v1/chargers/{id}/ocpp/{action}");
    let (sent, call) = tokio::join!(server.call("POST", &path, Some(payload)), async {
        let call = charger.recv().await;
        let frame = json!([3, call[1], answer]);
        charger.send_text(&frame.to_string()).await;
        call
    });
    assert_eq!(sent.0, 200, "{}", sent.1);
    assert_eq!(call[2], action);
    call[1].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn commands_through_the_api_are_logged_both_ways_with_credentials_masked() {
    let dir = tempfile::tempdir().unwrap();
    let server = ApiServer::start(dir.path(), &["--unknown-chargers", "accept"]);

    let mut old = RawCharger::connect(&server.charger_url("ML-16"), "ocpp1.6").await;
    old.exchange(r#"[2,"b","BootNotification",{"chargePointVendor":"A","chargePointModel":"M"}]"#)
        .await;
    let secret = "s3cret-charger-password-16";
    let call_id = command(
        &server,
        &mut old,
        "ML-16",
        "ChangeConfiguration",
        json!({"key": "AuthorizationKey", "value": secret}),
        json!({"status": "Accepted"}),
    )
    .await;
    let frames = frames_with_id(&server, "ML-16", &call_id, 2).await;
    assert_eq!(frames[0]["direction"], "incoming");
    assert_eq!(frames[0]["message_type"], "CALLRESULT");
    assert_eq!(frames[0]["action"], "ChangeConfiguration");
    assert_eq!(frames[1]["direction"], "outgoing");
    assert_eq!(frames[1]["message_type"], "CALL");
    assert_eq!(frames[1]["action"], "ChangeConfiguration");
    let text = frames[1]["frame"].as_str().unwrap();
    assert!(!text.contains(secret) && text.contains("***"), "{text}");

    let mut new = RawCharger::connect(&server.charger_url("ML-201"), "ocpp2.0.1").await;
    new.exchange(r#"[2,"b","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"A"}}]"#)
        .await;
    let secret = "s3cret-charger-password-201";
    let call_id = command(
        &server,
        &mut new,
        "ML-201",
        "SetVariables",
        json!({"setVariableData": [{"attributeValue": secret,
            "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}]}),
        json!({"setVariableResult": [{"attributeStatus": "Accepted",
            "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}]}),
    )
    .await;
    let frames = frames_with_id(&server, "ML-201", &call_id, 2).await;
    assert_eq!(frames[0]["action"], "SetVariables");
    assert_eq!(frames[1]["direction"], "outgoing");
    let text = frames[1]["frame"].as_str().unwrap();
    assert!(!text.contains(secret) && text.contains("***"), "{text}");
}

#[tokio::test]
async fn frames_older_than_the_retention_are_purged() {
    use ampere_domain::message_log::{FrameDirection, LoggedFrame, MessageLogStore};
    let dir = tempfile::tempdir().unwrap();
    // Direct set-up: frames of 10 days and 1 day ago in the server's database.
    {
        let url = ampere_store::sqlite_url_in(dir.path()).unwrap();
        let store = ampere_store::Store::open(&url).await.unwrap();
        let frame = |days: i64, id: &str| LoggedFrame {
            charger_id: "ML-OLD".into(),
            at: chrono::Utc::now() - chrono::Duration::days(days),
            direction: FrameDirection::Incoming,
            message_type: "CALL".into(),
            action: Some("Heartbeat".into()),
            message_id: Some(id.into()),
            text: format!(r#"[2,"{id}","Heartbeat",{{}}]"#),
        };
        store
            .insert_frames(&[frame(10, "ten-days"), frame(1, "one-day")])
            .await
            .unwrap();
        store.close().await;
    }
    let server = ApiServer::start(dir.path(), &["--message-log-retention-days", "7"]);
    server
        .ok("POST", "/api/v1/chargers", Some(json!({"id": "ML-OLD"})))
        .await;
    let page = server
        .until("/api/v1/chargers/ML-OLD/messages", |page| {
            items(page).len() == 1
        })
        .await;
    assert_eq!(items(&page)[0]["message_id"], "one-day", "{page}");
}

#[tokio::test]
async fn viewers_may_not_read_frames_operators_may() {
    let dir = tempfile::tempdir().unwrap();
    let server = ApiServer::start(dir.path(), &[]);
    let mut charger = RawCharger::connect(&server.charger_url("ML-ROLE"), "ocpp1.6").await;
    charger.exchange(r#"[2,"hb-1","Heartbeat",{}]"#).await;
    let path = "/api/v1/chargers/ML-ROLE/messages";
    let client = reqwest::Client::new();
    for (role, expected) in [("viewer", 403), ("operator", 200)] {
        let created = server
            .ok(
                "POST",
                "/api/v1/api-tokens",
                Some(json!({"name": role, "role": role})),
            )
            .await;
        let token = created["token"].as_str().expect("a token");
        let status = client
            .get(format!("{}{path}", server.http))
            .bearer_auth(token)
            .send()
            .await
            .expect("the API answers")
            .status()
            .as_u16();
        assert_eq!(status, expected, "{role}");
    }
}
