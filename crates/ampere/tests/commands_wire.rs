//! Every version-neutral command against a real `ampere serve` with a real charger
//! connection, in OCPP 1.6, 2.0.1 and 2.1: one table per version of command × body × the
//! exact request the charger receives on the wire (action and payload text, field order
//! included) × the charger's answer, which the API must hand back. One connection per
//! version serves its whole table.
//!
//! Also: commands a version does not have are refused (422) before anything is sent; the
//! device model is assembled from the NotifyReport parts that follow `get-base-report` and
//! replaced by the next full report; offline (409), timeout (504) and CALLERROR (502) for
//! the commands added here. (`api.rs` covers these for the first commands, the audit log
//! and the raw passthrough.)

// The shared helpers serve several test files; this one uses only some of them.
#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{BIN, RawCharger};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A bootstrap admin token (long enough for `AMPERE_API_TOKEN`).
const ADMIN: &str = "commands-wire-admin-token-0123456789abcdefghijklmnopqrstuvwxyz";

/// `ampere serve` on free ports, its data directory, and where it listens.
struct ApiServer {
    child: Child,
    http: String,
    ocpp: String,
    _dir: tempfile::TempDir,
}

impl ApiServer {
    fn start(call_timeout_secs: u32) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--ocpp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .args(["--call-timeout", &call_timeout_secs.to_string()])
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env("AMPERE_API_TOKEN", ADMIN)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ampere serve");
        let stdout = child.stdout.take().expect("stdout");
        let (lines, banner) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep reading after the banner so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let (mut http, mut ocpp) = (None, None);
        while http.is_none() || ocpp.is_none() {
            let line = banner
                .recv_timeout(Duration::from_secs(60))
                .expect("the server prints its banner");
            let word = |needle: &str| {
                let start = line.find(needle)?;
                Some(line[start..].split_whitespace().next()?.to_owned())
            };
            if line.contains("/health")
                && let Some(url) = word("http://")
            {
                http.get_or_insert(url.trim_end_matches("/health").to_owned());
            }
            if line.contains("/ocpp/")
                && let Some(url) = word("ws://")
            {
                ocpp.get_or_insert(url.split("/ocpp/").next().unwrap().to_owned());
            }
        }
        Self {
            child,
            http: http.unwrap(),
            ocpp: ocpp.unwrap(),
            _dir: dir,
        }
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        http(
            &self.http,
            method,
            path,
            body.map(|b| b.to_string()).as_deref(),
        )
        .await
    }

    /// Registers a charger and connects it raw, booted, with this subprotocol.
    async fn charger(&self, id: &str, subprotocol: &str) -> RawCharger {
        let reply = self
            .admin("POST", "/api/v1/chargers", Some(json!({"id": id})))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let mut charger =
            RawCharger::connect(&format!("{}/ocpp/{id}", self.ocpp), subprotocol).await;
        let boot = if subprotocol == "ocpp1.6" {
            r#"[2,"boot","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"X1"}]"#
        } else {
            r#"[2,"boot","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"X2","vendorName":"Acme"}}]"#
        };
        let answer = charger.exchange(boot).await;
        assert_eq!(answer[2]["status"], "Accepted", "{answer}");
        charger
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// Asserts a problem document with this status and returns it.
    fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json")
        );
        let problem = self.json();
        assert_eq!(problem["status"], status);
        problem
    }
}

/// A minimal HTTP/1.1 client (one request per connection, admin token) over a real socket.
async fn http(base: &str, method: &str, path: &str, body: Option<&str>) -> Reply {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.expect("connect to the API");
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Authorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("an HTTP answer within 30 s")
        .unwrap();
    let text = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP head");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Reply {
        status,
        content_type: header("content-type"),
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").expect("chunk size");
        let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if size == 0 {
            return body;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

/// One row of a table: the command and its body, the exact CALL the charger must receive
/// (action and payload text), and the charger's answer.
struct Case {
    command: &'static str,
    body: Value,
    action: &'static str,
    wire: &'static str,
    answer: Value,
}

fn case(
    command: &'static str,
    body: Value,
    action: &'static str,
    wire: &'static str,
    answer: Value,
) -> Case {
    Case {
        command,
        body,
        action,
        wire,
        answer,
    }
}

/// Sends a command while the charger answers the CALL it receives with `answer` (a
/// CALLRESULT payload, or `Err((code, description))` for a CALLERROR). Returns the frame
/// the charger received, its payload text as it was on the wire, and the API's reply.
async fn exchange(
    server: &ApiServer,
    charger: &mut RawCharger,
    id: &str,
    command: &str,
    body: &Value,
    answer: Result<&Value, (&str, &str)>,
) -> (Value, String, Reply) {
    let base = server.http.clone();
    let path = format!("/api/v1/chargers/{id}/commands/{command}");
    let body = body.to_string();
    let request = tokio::spawn(async move { http(&base, "POST", &path, Some(&body)).await });
    let frame = charger.recv().await;
    assert_eq!(frame[0], 2, "a CALL: {frame}");
    // serde_json keeps object order here, so this is the payload as written on the wire.
    let payload = frame[3].to_string();
    let message_id = frame[1].as_str().unwrap();
    let reply = match answer {
        Ok(payload) => json!([3, message_id, payload]),
        Err((code, description)) => json!([4, message_id, code, description, {}]),
    };
    charger.send_text(&reply.to_string()).await;
    (frame, payload, request.await.unwrap())
}

/// Runs a version's table over one connection.
async fn run_table(
    server: &ApiServer,
    charger: &mut RawCharger,
    id: &str,
    protocol: &str,
    cases: Vec<Case>,
) {
    for c in &cases {
        let label = format!("{protocol} {} {}", c.command, c.body);
        let (frame, payload, reply) =
            exchange(server, charger, id, c.command, &c.body, Ok(&c.answer)).await;
        assert_eq!(frame[2], c.action, "{label}: action");
        assert_eq!(payload, c.wire, "{label}: payload on the wire");
        assert_eq!(reply.status, 200, "{label}: {}", reply.body);
        let answer = reply.json();
        assert_eq!(answer["charger_id"], id, "{label}");
        assert_eq!(answer["command"], c.command, "{label}");
        assert_eq!(answer["protocol"], protocol, "{label}");
        assert_eq!(answer["action"], c.action, "{label}");
        assert_eq!(
            answer["request"],
            serde_json::from_str::<Value>(c.wire).unwrap(),
            "{label}: the answer shows what was sent"
        );
        assert_eq!(
            answer["response"], c.answer,
            "{label}: the charger's response"
        );
    }
}

/// The 2.x commands: a 1.6 charger gets 422 and nothing is sent.
const ONLY_2X: [&str; 16] = [
    "get-variables",
    "set-variables",
    "get-base-report",
    "get-report",
    "set-variable-monitoring",
    "clear-variable-monitoring",
    "set-monitoring-base",
    "set-monitoring-level",
    "get-monitoring-report",
    "set-display-message",
    "get-display-messages",
    "clear-display-message",
    "customer-information",
    "set-network-profile",
    "get-transaction-status",
    "cost-updated",
];

fn accepted() -> Value {
    json!({"status": "Accepted"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_on_the_wire_in_ocpp_1_6() {
    let server = ApiServer::start(5);
    let mut charger = server.charger("CW-16", "ocpp1.6").await;
    let mut cases = vec![
        case(
            "remote-start",
            json!({"id_token": "TAG1", "evse_id": 1}),
            "RemoteStartTransaction",
            r#"{"connectorId":1,"idTag":"TAG1"}"#,
            accepted(),
        ),
        case(
            "remote-start",
            json!({"id_token": "TAG2"}),
            "RemoteStartTransaction",
            r#"{"idTag":"TAG2"}"#,
            json!({"status": "Rejected"}),
        ),
        case(
            "remote-stop",
            json!({"transaction_id": 17}),
            "RemoteStopTransaction",
            r#"{"transactionId":17}"#,
            accepted(),
        ),
        case(
            "reset",
            json!({"type": "Soft"}),
            "Reset",
            r#"{"type":"Soft"}"#,
            accepted(),
        ),
        case(
            "reset",
            json!({"type": "Immediate"}),
            "Reset",
            r#"{"type":"Hard"}"#,
            json!({"status": "Rejected"}),
        ),
        case(
            "unlock",
            json!({"evse_id": 2}),
            "UnlockConnector",
            r#"{"connectorId":2}"#,
            json!({"status": "Unlocked"}),
        ),
        case(
            "change-availability",
            json!({"operational_status": "Inoperative"}),
            "ChangeAvailability",
            r#"{"connectorId":0,"type":"Inoperative"}"#,
            json!({"status": "Scheduled"}),
        ),
        case(
            "change-availability",
            json!({"operational_status": "Operative", "evse_id": 2}),
            "ChangeAvailability",
            r#"{"connectorId":2,"type":"Operative"}"#,
            accepted(),
        ),
        // Unknown and read-only keys come back as the charger reported them.
        case(
            "get-configuration",
            json!({"keys": ["HeartbeatInterval", "ChargePointVendorSecret"]}),
            "GetConfiguration",
            r#"{"key":["HeartbeatInterval","ChargePointVendorSecret"]}"#,
            json!({
                "configurationKey": [{"key": "HeartbeatInterval", "readonly": false, "value": "300"}],
                "unknownKey": ["ChargePointVendorSecret"],
            }),
        ),
        case(
            "get-configuration",
            json!({}),
            "GetConfiguration",
            r#"{}"#,
            json!({"configurationKey": [
                {"key": "HeartbeatInterval", "readonly": false, "value": "300"},
                {"key": "NumberOfConnectors", "readonly": true, "value": "2"},
            ]}),
        ),
        case(
            "set-configuration",
            json!({"key": "HeartbeatInterval", "value": "60"}),
            "ChangeConfiguration",
            r#"{"key":"HeartbeatInterval","value":"60"}"#,
            accepted(),
        ),
        case(
            "set-configuration",
            json!({"key": "NumberOfConnectors", "value": "3"}),
            "ChangeConfiguration",
            r#"{"key":"NumberOfConnectors","value":"3"}"#,
            json!({"status": "Rejected"}),
        ),
        case(
            "set-configuration",
            json!({"key": "NoSuchKey", "value": "1"}),
            "ChangeConfiguration",
            r#"{"key":"NoSuchKey","value":"1"}"#,
            json!({"status": "NotSupported"}),
        ),
        case("clear-cache", json!({}), "ClearCache", r#"{}"#, accepted()),
        case(
            "data-transfer",
            json!({"vendor_id": "com.acme", "message_id": "hello", "data": {"a": 1}}),
            "DataTransfer",
            r#"{"vendorId":"com.acme","messageId":"hello","data":"{\"a\":1}"}"#,
            json!({"status": "Accepted", "data": "hi"}),
        ),
        case(
            "get-local-list-version",
            json!({}),
            "GetLocalListVersion",
            r#"{}"#,
            json!({"listVersion": 3}),
        ),
        case(
            "cancel-reservation",
            json!({"reservation_id": 5}),
            "CancelReservation",
            r#"{"reservationId":5}"#,
            accepted(),
        ),
        case(
            "get-composite-schedule",
            json!({"evse_id": 1, "duration": 600, "charging_rate_unit": "A"}),
            "GetCompositeSchedule",
            r#"{"connectorId":1,"duration":600,"chargingRateUnit":"A"}"#,
            json!({"status": "Rejected"}),
        ),
        case(
            "clear-charging-profile",
            json!({"charging_profile_id": 5, "evse_id": 1, "purpose": "ChargingStationMaxProfile", "stack_level": 0}),
            "ClearChargingProfile",
            r#"{"id":5,"connectorId":1,"chargingProfilePurpose":"ChargePointMaxProfile","stackLevel":0}"#,
            accepted(),
        ),
        case(
            "clear-charging-profile",
            json!({}),
            "ClearChargingProfile",
            r#"{}"#,
            json!({"status": "Unknown"}),
        ),
    ];
    // Every triggerable message: TriggerMessage for its own six, the security whitepaper's
    // ExtendedTriggerMessage for the two only it has (and on request for the others).
    let wires_16: [(&str, Value, &str, &str); 11] = [
        (
            "BootNotification",
            json!({}),
            "TriggerMessage",
            r#"{"requestedMessage":"BootNotification"}"#,
        ),
        (
            "DiagnosticsStatusNotification",
            json!({}),
            "TriggerMessage",
            r#"{"requestedMessage":"DiagnosticsStatusNotification"}"#,
        ),
        (
            "FirmwareStatusNotification",
            json!({}),
            "TriggerMessage",
            r#"{"requestedMessage":"FirmwareStatusNotification"}"#,
        ),
        (
            "Heartbeat",
            json!({}),
            "TriggerMessage",
            r#"{"requestedMessage":"Heartbeat"}"#,
        ),
        (
            "MeterValues",
            json!({"evse_id": 1}),
            "TriggerMessage",
            r#"{"requestedMessage":"MeterValues","connectorId":1}"#,
        ),
        (
            "StatusNotification",
            json!({"evse_id": 2}),
            "TriggerMessage",
            r#"{"requestedMessage":"StatusNotification","connectorId":2}"#,
        ),
        (
            "LogStatusNotification",
            json!({}),
            "ExtendedTriggerMessage",
            r#"{"requestedMessage":"LogStatusNotification"}"#,
        ),
        (
            "SignChargePointCertificate",
            json!({}),
            "ExtendedTriggerMessage",
            r#"{"requestedMessage":"SignChargePointCertificate"}"#,
        ),
        // The 2.x name of the same message.
        (
            "SignChargingStationCertificate",
            json!({}),
            "ExtendedTriggerMessage",
            r#"{"requestedMessage":"SignChargePointCertificate"}"#,
        ),
        (
            "FirmwareStatusNotification",
            json!({"extended": true}),
            "ExtendedTriggerMessage",
            r#"{"requestedMessage":"FirmwareStatusNotification"}"#,
        ),
        (
            "StatusNotification",
            json!({"evse_id": 1, "extended": true}),
            "ExtendedTriggerMessage",
            r#"{"requestedMessage":"StatusNotification","connectorId":1}"#,
        ),
    ];
    for (message, extra, action, wire) in wires_16 {
        let mut body = json!({"requested_message": message});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let answer = if action == "TriggerMessage" {
            accepted()
        } else {
            json!({"status": "NotImplemented"})
        };
        cases.push(case("trigger-message", body, action, wire, answer));
    }
    run_table(&server, &mut charger, "CW-16", "ocpp1.6", cases).await;

    // What 1.6 does not have is refused before anything is sent: the next frame the
    // charger gets is the Heartbeat trigger at the end.
    let base = "/api/v1/chargers/CW-16/commands";
    for command in ONLY_2X {
        let problem = server
            .admin("POST", &format!("{base}/{command}"), Some(json!({})))
            .await
            .problem(422);
        assert_eq!(
            problem["type"], "urn:ampere:problem:not-in-ocpp-version",
            "{command}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains("OCPP 1.6"),
            "{command}: {problem}"
        );
    }
    let problem = server
        .admin(
            "POST",
            &format!("{base}/trigger-message"),
            Some(json!({"requested_message": "TransactionEvent"})),
        )
        .await
        .problem(422);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("StatusNotification"),
        "the detail lists what 1.6 can trigger: {problem}"
    );
    server
        .admin(
            "POST",
            &format!("{base}/reset"),
            Some(json!({"type": "Soft", "evse_id": 1})),
        )
        .await
        .problem(400);
    server
        .admin(
            "POST",
            &format!("{base}/get-configuration"),
            Some(json!({"variables": [{"component": "C", "variable": "V"}]})),
        )
        .await
        .problem(400);
    run_table(
        &server,
        &mut charger,
        "CW-16",
        "ocpp1.6",
        vec![case(
            "trigger-message",
            json!({"requested_message": "Heartbeat"}),
            "TriggerMessage",
            r#"{"requestedMessage":"Heartbeat"}"#,
            json!({"status": "Rejected"}),
        )],
    )
    .await;
}

/// The rows 2.0.1 and 2.1 share (same messages, same wire); `v21` adds 2.1's own rows.
fn two_x_cases(v21: bool) -> Vec<Case> {
    let mut cases = vec![
        case(
            "remote-start",
            json!({"id_token": "TAG1", "evse_id": 1, "remote_start_id": 7}),
            "RequestStartTransaction",
            r#"{"evseId":1,"idToken":{"idToken":"TAG1","type":"ISO14443"},"remoteStartId":7}"#,
            json!({"status": "Accepted", "transactionId": "tx-1"}),
        ),
        case(
            "remote-stop",
            json!({"transaction_id": "tx-1"}),
            "RequestStopTransaction",
            r#"{"transactionId":"tx-1"}"#,
            accepted(),
        ),
        case(
            "reset",
            json!({"type": "OnIdle"}),
            "Reset",
            r#"{"type":"OnIdle"}"#,
            accepted(),
        ),
        case(
            "reset",
            json!({"type": "Hard", "evse_id": 2}),
            "Reset",
            r#"{"type":"Immediate","evseId":2}"#,
            json!({"status": "Scheduled"}),
        ),
        case(
            "unlock",
            json!({"evse_id": 1, "connector_id": 2}),
            "UnlockConnector",
            r#"{"evseId":1,"connectorId":2}"#,
            json!({"status": "Unlocked"}),
        ),
        case(
            "change-availability",
            json!({"operational_status": "Inoperative"}),
            "ChangeAvailability",
            r#"{"operationalStatus":"Inoperative"}"#,
            json!({"status": "Scheduled"}),
        ),
        case(
            "change-availability",
            json!({"operational_status": "Operative", "evse_id": 1}),
            "ChangeAvailability",
            r#"{"evse":{"id":1},"operationalStatus":"Operative"}"#,
            accepted(),
        ),
        case(
            "change-availability",
            json!({"operational_status": "Inoperative", "evse_id": 1, "connector_id": 2}),
            "ChangeAvailability",
            r#"{"evse":{"id":1,"connectorId":2},"operationalStatus":"Inoperative"}"#,
            json!({"status": "Rejected"}),
        ),
        case(
            "get-configuration",
            json!({"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}]}),
            "GetVariables",
            r#"{"getVariableData":[{"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]}"#,
            json!({"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "300", "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}),
        ),
        case(
            "set-configuration",
            json!({"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval", "value": "60"}]}),
            "SetVariables",
            r#"{"setVariableData":[{"attributeValue":"60","component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]}"#,
            json!({"setVariableResult": [{"attributeStatus": "Accepted", "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}),
        ),
        // Unknown and read-only variables come back as the charger reported them.
        case(
            "get-variables",
            json!({"variables": [
                {"component": "EVSE", "evse_id": 1, "variable": "Power", "variable_instance": "Max", "attribute_type": "MaxSet"},
                {"component": "Nope", "component_instance": "x", "variable": "Missing"},
            ]}),
            "GetVariables",
            r#"{"getVariableData":[{"attributeType":"MaxSet","component":{"evse":{"id":1},"name":"EVSE"},"variable":{"name":"Power","instance":"Max"}},{"component":{"name":"Nope","instance":"x"},"variable":{"name":"Missing"}}]}"#,
            json!({"getVariableResult": [
                {"attributeStatus": "Accepted", "attributeType": "MaxSet", "attributeValue": "22000", "component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power", "instance": "Max"}},
                {"attributeStatus": "UnknownComponent", "component": {"name": "Nope", "instance": "x"}, "variable": {"name": "Missing"}},
            ]}),
        ),
        case(
            "set-variables",
            json!({"variables": [
                {"component": "DeviceDataCtrlr", "variable": "ItemsPerMessage", "variable_instance": "GetReport", "value": "10"},
                {"component": "SecurityCtrlr", "variable": "Identity", "attribute_type": "Actual", "value": "CW"},
            ]}),
            "SetVariables",
            r#"{"setVariableData":[{"attributeValue":"10","component":{"name":"DeviceDataCtrlr"},"variable":{"name":"ItemsPerMessage","instance":"GetReport"}},{"attributeType":"Actual","attributeValue":"CW","component":{"name":"SecurityCtrlr"},"variable":{"name":"Identity"}}]}"#,
            json!({"setVariableResult": [
                {"attributeStatus": "Rejected", "component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "ItemsPerMessage", "instance": "GetReport"}, "attributeStatusInfo": {"reasonCode": "ReadOnly"}},
                {"attributeStatus": "RebootRequired", "attributeType": "Actual", "component": {"name": "SecurityCtrlr"}, "variable": {"name": "Identity"}},
            ]}),
        ),
        case(
            "clear-cache",
            json!({}),
            "ClearCache",
            r#"{}"#,
            json!({"status": "Rejected"}),
        ),
        case(
            "data-transfer",
            json!({"vendor_id": "com.acme", "message_id": "hello", "data": {"a": [1, 2]}}),
            "DataTransfer",
            r#"{"messageId":"hello","data":{"a":[1,2]},"vendorId":"com.acme"}"#,
            json!({"status": "Accepted", "data": {"b": true}}),
        ),
        case(
            "get-local-list-version",
            json!({}),
            "GetLocalListVersion",
            r#"{}"#,
            json!({"versionNumber": 4}),
        ),
        case(
            "cancel-reservation",
            json!({"reservation_id": 5}),
            "CancelReservation",
            r#"{"reservationId":5}"#,
            json!({"status": "Rejected"}),
        ),
        case(
            "get-composite-schedule",
            json!({"evse_id": 0, "duration": 3600, "charging_rate_unit": "W"}),
            "GetCompositeSchedule",
            r#"{"duration":3600,"chargingRateUnit":"W","evseId":0}"#,
            json!({"status": "Rejected"}),
        ),
        case(
            "clear-charging-profile",
            json!({"charging_profile_id": 5}),
            "ClearChargingProfile",
            r#"{"chargingProfileId":5}"#,
            accepted(),
        ),
        case(
            "clear-charging-profile",
            json!({"evse_id": 1, "purpose": "ChargePointMaxProfile", "stack_level": 2}),
            "ClearChargingProfile",
            r#"{"chargingProfileCriteria":{"evseId":1,"chargingProfilePurpose":"ChargingStationMaxProfile","stackLevel":2}}"#,
            json!({"status": "Unknown"}),
        ),
        case(
            "get-base-report",
            json!({"request_id": 31, "report_base": "SummaryInventory"}),
            "GetBaseReport",
            r#"{"requestId":31,"reportBase":"SummaryInventory"}"#,
            json!({"status": "NotSupported"}),
        ),
        case(
            "get-report",
            json!({"request_id": 32, "criteria": ["Problem", "Available"], "variables": [
                {"component": "EVSE", "evse_id": 1, "connector_id": 1},
                {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"},
            ]}),
            "GetReport",
            r#"{"componentVariable":[{"component":{"evse":{"id":1,"connectorId":1},"name":"EVSE"}},{"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}],"requestId":32,"componentCriteria":["Problem","Available"]}"#,
            json!({"status": "EmptyResultSet"}),
        ),
        case(
            "set-variable-monitoring",
            json!({"monitors": [
                {"component": "EVSE", "evse_id": 1, "variable": "Power", "type": "UpperThreshold", "value": 11000.5, "severity": 4, "transaction": true},
                {"id": 3, "component": "ChargingStation", "variable": "Temperature", "type": "Periodic", "value": 60, "severity": 8},
            ]}),
            "SetVariableMonitoring",
            r#"{"setMonitoringData":[{"transaction":true,"value":11000.5,"type":"UpperThreshold","severity":4,"component":{"evse":{"id":1},"name":"EVSE"},"variable":{"name":"Power"}},{"id":3,"value":60,"type":"Periodic","severity":8,"component":{"name":"ChargingStation"},"variable":{"name":"Temperature"}}]}"#,
            json!({"setMonitoringResult": [
                {"id": 12, "status": "Accepted", "type": "UpperThreshold", "severity": 4, "component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"}},
                {"status": "UnknownVariable", "type": "Periodic", "severity": 8, "component": {"name": "ChargingStation"}, "variable": {"name": "Temperature"}},
            ]}),
        ),
        case(
            "clear-variable-monitoring",
            json!({"ids": [12, 13]}),
            "ClearVariableMonitoring",
            r#"{"id":[12,13]}"#,
            json!({"clearMonitoringResult": [{"status": "Accepted", "id": 12}, {"status": "NotFound", "id": 13}]}),
        ),
        case(
            "set-monitoring-base",
            json!({"monitoring_base": "FactoryDefault"}),
            "SetMonitoringBase",
            r#"{"monitoringBase":"FactoryDefault"}"#,
            accepted(),
        ),
        case(
            "set-monitoring-level",
            json!({"severity": 5}),
            "SetMonitoringLevel",
            r#"{"severity":5}"#,
            accepted(),
        ),
        case(
            "get-monitoring-report",
            json!({"request_id": 33, "criteria": ["ThresholdMonitoring"], "variables": [{"component": "EVSE", "evse_id": 1}]}),
            "GetMonitoringReport",
            r#"{"componentVariable":[{"component":{"evse":{"id":1},"name":"EVSE"}}],"requestId":33,"monitoringCriteria":["ThresholdMonitoring"]}"#,
            accepted(),
        ),
        case(
            "set-display-message",
            json!({"id": 9, "priority": "InFront", "content": "Welcome", "language": "en", "state": "Idle",
                   "start_date_time": "2026-01-01T00:00:00Z", "end_date_time": "2026-01-02T00:00:00Z", "transaction_id": "tx-1"}),
            "SetDisplayMessage",
            r#"{"message":{"id":9,"priority":"InFront","state":"Idle","startDateTime":"2026-01-01T00:00:00Z","endDateTime":"2026-01-02T00:00:00Z","transactionId":"tx-1","message":{"format":"UTF8","language":"en","content":"Welcome"}}}"#,
            accepted(),
        ),
        case(
            "set-display-message",
            json!({"id": 10, "priority": "NormalCycle", "content": "https://acme.example/x", "format": "URI"}),
            "SetDisplayMessage",
            r#"{"message":{"id":10,"priority":"NormalCycle","message":{"format":"URI","content":"https://acme.example/x"}}}"#,
            json!({"status": "NotSupportedMessageFormat"}),
        ),
        case(
            "get-display-messages",
            json!({"request_id": 34, "ids": [9, 10], "priority": "InFront", "state": "Idle"}),
            "GetDisplayMessages",
            r#"{"id":[9,10],"requestId":34,"priority":"InFront","state":"Idle"}"#,
            json!({"status": "Unknown"}),
        ),
        case(
            "clear-display-message",
            json!({"id": 9}),
            "ClearDisplayMessage",
            r#"{"id":9}"#,
            accepted(),
        ),
        case(
            "customer-information",
            json!({"request_id": 35, "id_token": "TAG1", "clear": true}),
            "CustomerInformation",
            r#"{"idToken":{"idToken":"TAG1","type":"ISO14443"},"requestId":35,"report":true,"clear":true}"#,
            accepted(),
        ),
        case(
            "customer-information",
            json!({"request_id": 36, "report": true, "customer_identifier": "cust-7",
                   "customer_certificate": {"hash_algorithm": "SHA256", "issuer_name_hash": "aa", "issuer_key_hash": "bb", "serial_number": "01"}}),
            "CustomerInformation",
            r#"{"customerCertificate":{"hashAlgorithm":"SHA256","issuerNameHash":"aa","issuerKeyHash":"bb","serialNumber":"01"},"requestId":36,"report":true,"clear":false,"customerIdentifier":"cust-7"}"#,
            json!({"status": "Invalid"}),
        ),
        case(
            "get-transaction-status",
            json!({"transaction_id": "tx-1"}),
            "GetTransactionStatus",
            r#"{"transactionId":"tx-1"}"#,
            json!({"ongoingIndicator": true, "messagesInQueue": false}),
        ),
        case(
            "get-transaction-status",
            json!({}),
            "GetTransactionStatus",
            r#"{}"#,
            json!({"messagesInQueue": true}),
        ),
        case(
            "cost-updated",
            json!({"total_cost": 12.34, "transaction_id": "tx-1"}),
            "CostUpdated",
            r#"{"totalCost":12.34,"transactionId":"tx-1"}"#,
            json!({}),
        ),
    ];
    // Network profiles: 2.1 orders the fields differently and adds identity and password.
    cases.push(if v21 {
        case(
            "set-network-profile",
            json!({"configuration_slot": 2, "connection_data": {
                "ocpp_version": "OCPP21", "ocpp_transport": "JSON", "ocpp_csms_url": "wss://csms.example/ocpp",
                "message_timeout": 30, "security_profile": 2, "ocpp_interface": "Wired0",
                "identity": "CW-21", "basic_auth_password": "0123456789abcdef",
            }}),
            "SetNetworkProfile",
            r#"{"configurationSlot":2,"connectionData":{"ocppVersion":"OCPP21","ocppInterface":"Wired0","ocppTransport":"JSON","messageTimeout":30,"ocppCsmsUrl":"wss://csms.example/ocpp","securityProfile":2,"identity":"CW-21","basicAuthPassword":"0123456789abcdef"}}"#,
            accepted(),
        )
    } else {
        case(
            "set-network-profile",
            json!({"configuration_slot": 2, "connection_data": {
                "ocpp_version": "OCPP20", "ocpp_transport": "JSON", "ocpp_csms_url": "wss://csms.example/ocpp",
                "message_timeout": 30, "security_profile": 3, "ocpp_interface": "Wireless0",
                "apn": {"apn": "internet", "apn_password": "secret", "apn_authentication": "AUTO"},
            }}),
            "SetNetworkProfile",
            r#"{"configurationSlot":2,"connectionData":{"apn":{"apn":"internet","apnPassword":"secret","apnAuthentication":"AUTO"},"ocppVersion":"OCPP20","ocppTransport":"JSON","ocppCsmsUrl":"wss://csms.example/ocpp","messageTimeout":30,"securityProfile":3,"ocppInterface":"Wireless0"}}"#,
            json!({"status": "Rejected"}),
        )
    });
    // Every triggerable message of the version.
    let mut triggers: Vec<(&str, Value, &str)> = vec![
        (
            "BootNotification",
            json!({}),
            r#"{"requestedMessage":"BootNotification"}"#,
        ),
        (
            "LogStatusNotification",
            json!({}),
            r#"{"requestedMessage":"LogStatusNotification"}"#,
        ),
        (
            "FirmwareStatusNotification",
            json!({}),
            r#"{"requestedMessage":"FirmwareStatusNotification"}"#,
        ),
        (
            "Heartbeat",
            json!({}),
            r#"{"requestedMessage":"Heartbeat"}"#,
        ),
        (
            "MeterValues",
            json!({"evse_id": 1}),
            r#"{"evse":{"id":1},"requestedMessage":"MeterValues"}"#,
        ),
        (
            "SignChargingStationCertificate",
            json!({}),
            r#"{"requestedMessage":"SignChargingStationCertificate"}"#,
        ),
        // The 1.6 name of the same message.
        (
            "SignChargePointCertificate",
            json!({}),
            r#"{"requestedMessage":"SignChargingStationCertificate"}"#,
        ),
        (
            "SignV2GCertificate",
            json!({}),
            r#"{"requestedMessage":"SignV2GCertificate"}"#,
        ),
        (
            "StatusNotification",
            json!({"evse_id": 1, "connector_id": 2}),
            r#"{"evse":{"id":1,"connectorId":2},"requestedMessage":"StatusNotification"}"#,
        ),
        (
            "TransactionEvent",
            json!({"evse_id": 2}),
            r#"{"evse":{"id":2},"requestedMessage":"TransactionEvent"}"#,
        ),
        (
            "SignCombinedCertificate",
            json!({}),
            r#"{"requestedMessage":"SignCombinedCertificate"}"#,
        ),
        (
            "PublishFirmwareStatusNotification",
            json!({}),
            r#"{"requestedMessage":"PublishFirmwareStatusNotification"}"#,
        ),
    ];
    if v21 {
        triggers.push((
            "SignV2G20Certificate",
            json!({}),
            r#"{"requestedMessage":"SignV2G20Certificate"}"#,
        ));
        triggers.push((
            "CustomTrigger",
            json!({"custom_trigger": "com.acme.Diagnostics"}),
            r#"{"requestedMessage":"CustomTrigger","customTrigger":"com.acme.Diagnostics"}"#,
        ));
    }
    for (n, (message, extra, wire)) in triggers.into_iter().enumerate() {
        let mut body = json!({"requested_message": message});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let status = ["Accepted", "Rejected", "NotImplemented"][n % 3];
        let answer = json!({ "status": status });
        cases.push(case(
            "trigger-message",
            body,
            "TriggerMessage",
            wire,
            answer,
        ));
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_on_the_wire_in_ocpp_2_0_1() {
    let server = ApiServer::start(5);
    let mut charger = server.charger("CW-201", "ocpp2.0.1").await;
    run_table(
        &server,
        &mut charger,
        "CW-201",
        "ocpp2.0.1",
        two_x_cases(false),
    )
    .await;

    // 2.1's own additions are refused for a 2.0.1 charger, and nothing is sent.
    let base = "/api/v1/chargers/CW-201/commands";
    for body in [
        json!({"requested_message": "SignV2G20Certificate"}),
        json!({"requested_message": "CustomTrigger", "custom_trigger": "x"}),
    ] {
        let problem = server
            .admin("POST", &format!("{base}/trigger-message"), Some(body))
            .await
            .problem(422);
        assert_eq!(problem["type"], "urn:ampere:problem:not-in-ocpp-version");
    }
    // 1.6-only fields and values the schema refuses get 400.
    server
        .admin(
            "POST",
            &format!("{base}/get-configuration"),
            Some(json!({"keys": ["HeartbeatInterval"]})),
        )
        .await
        .problem(400);
    server
        .admin(
            "POST",
            &format!("{base}/set-display-message"),
            Some(json!({"id": 1, "priority": "Sometimes", "content": "x"})),
        )
        .await
        .problem(400);
    run_table(
        &server,
        &mut charger,
        "CW-201",
        "ocpp2.0.1",
        vec![case(
            "clear-cache",
            json!({}),
            "ClearCache",
            r#"{}"#,
            accepted(),
        )],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_on_the_wire_in_ocpp_2_1() {
    let server = ApiServer::start(5);
    let mut charger = server.charger("CW-21", "ocpp2.1").await;
    run_table(&server, &mut charger, "CW-21", "ocpp2.1", two_x_cases(true)).await;
    // The network profile's password is not in the audit log.
    let audit = server
        .admin("GET", "/api/v1/audit-log?limit=500", None)
        .await
        .json();
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "command set-network-profile")
        .expect("audited");
    assert_eq!(
        entry["request"]["connection_data"]["basic_auth_password"],
        "***"
    );
    assert!(!audit.to_string().contains("0123456789abcdef"));
}

/// Sends a NotifyReport part as the charger and checks it is answered.
async fn notify_report(
    charger: &mut RawCharger,
    request_id: i64,
    seq_no: i64,
    tbc: bool,
    data: Value,
) {
    let frame = json!([2, format!("nr-{request_id}-{seq_no}"), "NotifyReport", {
        "requestId": request_id,
        "generatedAt": "2026-01-01T10:00:00Z",
        "seqNo": seq_no,
        "tbc": tbc,
        "reportData": data,
    }]);
    let answer = charger.exchange(&frame.to_string()).await;
    assert_eq!(answer[0], 3, "NotifyReport answered: {answer}");
}

fn report_data(component: Value, variable: &str, value: &str, mutability: &str) -> Value {
    json!({
        "component": component,
        "variable": {"name": variable},
        "variableAttribute": [{"type": "Actual", "value": value, "mutability": mutability}],
        "variableCharacteristics": {"dataType": "integer", "unit": "s", "minLimit": 1, "supportsMonitoring": false},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_base_report_parts_become_the_device_model_and_the_next_full_report_replaces_it() {
    let server = ApiServer::start(5);
    let mut charger = server.charger("CW-DM", "ocpp2.0.1").await;
    let model_path = "/api/v1/chargers/CW-DM/device-model";
    let empty = server.admin("GET", model_path, None).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.json()["components"], json!([]));
    assert_eq!(empty.json()["request_id"], Value::Null);

    let (frame, payload, reply) = exchange(
        &server,
        &mut charger,
        "CW-DM",
        "get-base-report",
        &json!({"request_id": 41}),
        Ok(&accepted()),
    )
    .await;
    assert_eq!(frame[2], "GetBaseReport");
    assert_eq!(payload, r#"{"requestId":41,"reportBase":"FullInventory"}"#);
    assert_eq!(reply.json()["response"], accepted());

    // Three parts, the last with tbc false.
    notify_report(
        &mut charger,
        41,
        0,
        true,
        json!([
            report_data(
                json!({"name": "OCPPCommCtrlr"}),
                "HeartbeatInterval",
                "300",
                "ReadWrite"
            ),
            report_data(
                json!({"name": "OCPPCommCtrlr"}),
                "MessageTimeout",
                "30",
                "ReadOnly"
            ),
        ]),
    )
    .await;
    let pending = server.admin("GET", model_path, None).await.json();
    assert_eq!(
        pending["components"],
        json!([]),
        "not complete yet: {pending}"
    );
    notify_report(
        &mut charger,
        41,
        1,
        true,
        json!([report_data(
            json!({"name": "EVSE", "evse": {"id": 1}}),
            "Power",
            "22000",
            "ReadOnly"
        ),]),
    )
    .await;
    notify_report(
        &mut charger,
        41,
        2,
        false,
        json!([report_data(
            json!({"name": "Connector", "evse": {"id": 1, "connectorId": 1}}),
            "ConnectorType",
            "7",
            "ReadOnly"
        ),]),
    )
    .await;

    let model = server.admin("GET", model_path, None).await.json();
    assert_eq!(model["charger_id"], "CW-DM");
    assert_eq!(model["request_id"], 41);
    assert_eq!(model["generated_at"], "2026-01-01T10:00:00Z");
    let components = model["components"].as_array().unwrap();
    assert_eq!(components.len(), 3, "{model}");
    assert_eq!(components[0]["name"], "OCPPCommCtrlr");
    assert_eq!(components[0]["evse_id"], Value::Null);
    let variables = components[0]["variables"].as_array().unwrap();
    assert_eq!(variables.len(), 2);
    assert_eq!(variables[0]["name"], "HeartbeatInterval");
    assert_eq!(
        variables[0]["attributes"],
        json!([{"type": "Actual", "value": "300", "mutability": "ReadWrite", "persistent": null, "constant": null}])
    );
    assert_eq!(variables[1]["attributes"][0]["mutability"], "ReadOnly");
    assert_eq!(variables[0]["characteristics"]["data_type"], "integer");
    assert_eq!(variables[0]["characteristics"]["unit"], "s");
    assert_eq!(variables[0]["characteristics"]["min_limit"], 1.0);
    assert_eq!(
        variables[0]["characteristics"]["supports_monitoring"],
        false
    );
    assert_eq!(components[1]["name"], "EVSE");
    assert_eq!(components[1]["evse_id"], 1);
    assert_eq!(components[2]["name"], "Connector");
    assert_eq!(components[2]["connector_id"], 1);
    let only = server
        .admin("GET", &format!("{model_path}?component=EVSE"), None)
        .await
        .json();
    assert_eq!(only["components"].as_array().unwrap().len(), 1);

    // A second full report replaces the first: what it no longer names is gone.
    exchange(
        &server,
        &mut charger,
        "CW-DM",
        "get-base-report",
        &json!({"request_id": 42, "report_base": "FullInventory"}),
        Ok(&accepted()),
    )
    .await;
    notify_report(
        &mut charger,
        42,
        0,
        false,
        json!([report_data(
            json!({"name": "OCPPCommCtrlr"}),
            "HeartbeatInterval",
            "60",
            "ReadWrite"
        ),]),
    )
    .await;
    let replaced = server.admin("GET", model_path, None).await.json();
    assert_eq!(replaced["request_id"], 42);
    assert_eq!(
        replaced["components"].as_array().unwrap().len(),
        1,
        "{replaced}"
    );
    assert_eq!(
        replaced["components"][0]["variables"][0]["attributes"][0]["value"],
        "60"
    );

    // A get-report answer merges: the variable it names changes, the rest stays.
    exchange(
        &server,
        &mut charger,
        "CW-DM",
        "get-report",
        &json!({"request_id": 43, "variables": [{"component": "EVSE", "evse_id": 1}]}),
        Ok(&accepted()),
    )
    .await;
    notify_report(
        &mut charger,
        43,
        0,
        false,
        json!([report_data(
            json!({"name": "EVSE", "evse": {"id": 1}}),
            "Power",
            "11000",
            "ReadOnly"
        ),]),
    )
    .await;
    let merged = server.admin("GET", model_path, None).await.json();
    let names: Vec<&str> = merged["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["OCPPCommCtrlr", "EVSE"]);

    server
        .admin("GET", "/api/v1/chargers/NOPE/device-model", None)
        .await
        .problem(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_commands_answer_502_on_callerror_504_on_silence_and_409_offline() {
    let server = ApiServer::start(1);
    for (id, protocol) in [("CE-201", "ocpp2.0.1"), ("CE-21", "ocpp2.1")] {
        let mut charger = server.charger(id, protocol).await;
        let (frame, _, reply) = exchange(
            &server,
            &mut charger,
            id,
            "get-base-report",
            &json!({"request_id": 1}),
            Err(("NotSupported", "no reports here")),
        )
        .await;
        assert_eq!(frame[2], "GetBaseReport");
        let problem = reply.problem(502);
        assert_eq!(problem["ocpp_error_code"], "NotSupported", "{protocol}");
        assert_eq!(problem["ocpp_error_description"], "no reports here");

        // No answer within --call-timeout 1 → 504; the call did reach the charger.
        let reply = server
            .admin(
                "POST",
                &format!("/api/v1/chargers/{id}/commands/set-display-message"),
                Some(json!({"id": 1, "priority": "InFront", "content": "hi"})),
            )
            .await;
        reply.problem(504);
        assert_eq!(charger.recv().await[2], "SetDisplayMessage");

        // Offline → 409, once the server has seen the connection close.
        drop(charger);
        let mut status = 0;
        for _ in 0..100 {
            status = server
                .admin(
                    "POST",
                    &format!("/api/v1/chargers/{id}/commands/get-transaction-status"),
                    None,
                )
                .await
                .status;
            if status == 409 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status, 409, "{protocol}");
    }
    // The 1.6 error cases (CALLERROR, timeout, offline) are in api.rs; here the
    // ExtendedTriggerMessage a 1.6 charger refuses with a CALLERROR.
    let mut charger = server.charger("CE-16", "ocpp1.6").await;
    let (frame, _, reply) = exchange(
        &server,
        &mut charger,
        "CE-16",
        "trigger-message",
        &json!({"requested_message": "LogStatusNotification"}),
        Err(("NotImplemented", "no security whitepaper")),
    )
    .await;
    assert_eq!(frame[2], "ExtendedTriggerMessage");
    let problem = reply.problem(502);
    assert_eq!(problem["ocpp_error_code"], "NotImplemented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_listed_by_start_time() {
    let server = ApiServer::start(5);
    let mut charger = server.charger("CW-TX", "ocpp1.6").await;
    for (n, start) in [
        "2026-01-01T09:00:00Z",
        "2026-01-01T10:00:00Z",
        "2026-01-01T11:00:00Z",
    ]
    .into_iter()
    .enumerate()
    {
        let frame = json!([2, format!("st-{n}"), "StartTransaction", {
            "connectorId": n + 1, "idTag": "TAG1", "meterStart": 0, "timestamp": start,
        }]);
        let answer = charger.exchange(&frame.to_string()).await;
        assert_eq!(answer[0], 3, "{answer}");
    }
    let starts = |query: &str| {
        let server = &server;
        let query = query.to_owned();
        async move {
            let reply = server
                .admin(
                    "GET",
                    &format!("/api/v1/transactions?charger_id=CW-TX{query}"),
                    None,
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["started_at"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(starts("").await.len(), 3);
    assert_eq!(
        starts("&started_after=2026-01-01T10:00:00Z").await,
        ["2026-01-01T11:00:00Z", "2026-01-01T10:00:00Z"]
    );
    assert_eq!(
        starts("&started_before=2026-01-01T10:00:00Z").await,
        ["2026-01-01T09:00:00Z"]
    );
    assert_eq!(
        starts(
            "&started_after=2026-01-01T09:30:00Z&started_before=2026-01-01T10:30:00Z&status=active"
        )
        .await,
        ["2026-01-01T10:00:00Z"]
    );
    server
        .admin(
            "GET",
            "/api/v1/transactions?started_after=2026-01-02T00:00:00Z&started_before=2026-01-01T00:00:00Z",
            None,
        )
        .await
        .problem(400);
    server
        .admin("GET", "/api/v1/transactions?started_after=yesterday", None)
        .await
        .problem(400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_information_parts_are_kept_as_the_chargers_reports() {
    let server = ApiServer::start(5);
    let mut charger = server.charger("CW-CI", "ocpp2.0.1").await;
    let (frame, _, reply) = exchange(
        &server,
        &mut charger,
        "CW-CI",
        "customer-information",
        &json!({"request_id": 51, "customer_identifier": "cust-7"}),
        Ok(&accepted()),
    )
    .await;
    assert_eq!(frame[2], "CustomerInformation");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let parts = [
        json!({"data": "name: A. Driver", "tbc": true, "seqNo": 0, "generatedAt": "2026-01-01T10:00:00Z", "requestId": 51}),
        json!({"data": "tokens: TAG1", "seqNo": 1, "generatedAt": "2026-01-01T10:00:01Z", "requestId": 51}),
    ];
    for (n, part) in parts.iter().enumerate() {
        let frame = json!([2, format!("ci-{n}"), "NotifyCustomerInformation", part]);
        let answer = charger.exchange(&frame.to_string()).await;
        assert_eq!(answer[0], 3, "{answer}");
    }
    // Another kind the charger sent is not mixed in.
    let other = json!([2, "hb", "Heartbeat", {}]);
    assert_eq!(charger.exchange(&other.to_string()).await[0], 3);

    let reports = server
        .admin(
            "GET",
            "/api/v1/chargers/CW-CI/reports?kind=NotifyCustomerInformation",
            None,
        )
        .await;
    assert_eq!(reports.status, 200, "{}", reports.body);
    let items = reports.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["kind"], "NotifyCustomerInformation");
    assert_eq!(items[0]["payload"], parts[1], "newest first, as sent");
    assert_eq!(items[1]["payload"], parts[0]);
    let one = server
        .admin("GET", "/api/v1/chargers/CW-CI/reports?limit=1", None)
        .await
        .json();
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    server
        .admin(
            "GET",
            "/api/v1/chargers/CW-CI/reports?kind=not%20a%20kind",
            None,
        )
        .await
        .problem(400);
    server
        .admin("GET", "/api/v1/chargers/NOPE/reports", None)
        .await
        .problem(404);
}
