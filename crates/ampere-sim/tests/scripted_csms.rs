//! A simulated charger driven over a real WebSocket by a scripted CSMS written here: the
//! handshake, the Pending retry, configuration, remote start and stop with the messages
//! they cause, trigger, reset with the reboot. Every message the charger sends is checked
//! against the official schema.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ampere_ocpp::{MessageKind, OcppVersion};
use ampere_sim::{ChargerProfile, SimConfig, Simulation, VersionMix};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

const WAIT: Duration = Duration::from_secs(10);

/// What the charger sent in its upgrade request.
#[derive(Debug, Default, Clone)]
struct Handshake {
    path: String,
    subprotocols: String,
    authorization: Option<String>,
}

/// The CSMS end of one charger connection.
struct Csms {
    ws: WebSocketStream<TcpStream>,
    version: OcppVersion,
    /// Charger calls that arrived while we waited for something else.
    backlog: VecDeque<(String, String, Value)>,
    next_id: u64,
}

impl Csms {
    async fn accept(listener: &TcpListener, version: OcppVersion) -> (Self, Handshake) {
        let (stream, _) = tokio::time::timeout(WAIT, listener.accept())
            .await
            .expect("the charger connects")
            .expect("accept");
        let seen = Arc::new(Mutex::new(Handshake::default()));
        let record = seen.clone();
        // The callback's signature (and its large error type) is tungstenite's.
        #[allow(clippy::result_large_err)]
        let callback = move |request: &Request, mut response: Response| {
            let header = |name: &str| {
                request
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            *record.lock().unwrap() = Handshake {
                path: request.uri().path().to_owned(),
                subprotocols: header("Sec-WebSocket-Protocol").unwrap_or_default(),
                authorization: header("Authorization"),
            };
            response.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static(version.subprotocol()),
            );
            Ok(response)
        };
        let ws = tokio_tungstenite::accept_hdr_async(stream, callback)
            .await
            .expect("handshake");
        let handshake = seen.lock().unwrap().clone();
        (
            Self {
                ws,
                version,
                backlog: VecDeque::new(),
                next_id: 1,
            },
            handshake,
        )
    }

    async fn next_frame(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a message within the wait");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(text.as_str()).expect("JSON"));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Checks a charger call against the schema and keeps it.
    fn take_call(&mut self, frame: Value) -> (String, String, Value) {
        let [kind, id, action, payload] =
            <[Value; 4]>::try_from(frame.as_array().cloned().expect("an array frame"))
                .unwrap_or_else(|f| panic!("a CALL, got {f:?}"));
        assert_eq!(kind, json!(2), "a CALL");
        let (id, action) = (
            id.as_str().unwrap().to_owned(),
            action.as_str().unwrap().to_owned(),
        );
        ampere_ocpp::validate(self.version, &action, MessageKind::Request, &payload)
            .unwrap_or_else(|v| panic!("{action} {payload} breaks the schema: {v}"));
        (id, action, payload)
    }

    async fn reply(&mut self, id: &str, payload: Value) {
        let frame = json!([3, id, payload]).to_string();
        self.ws.send(Message::text(frame)).await.expect("send");
    }

    /// The routine answer to a charger call (everything accepted).
    fn routine_answer(&self, action: &str) -> Value {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        match (self.version, action) {
            (_, "Heartbeat") => json!({"currentTime": now}),
            (OcppVersion::V16, "Authorize") => json!({"idTagInfo": {"status": "Accepted"}}),
            (_, "Authorize") => json!({"idTokenInfo": {"status": "Accepted"}}),
            _ => json!({}),
        }
    }

    /// Waits for the charger's call of `action`, answering other routine calls meanwhile.
    async fn expect(&mut self, action: &str) -> (String, Value) {
        loop {
            let (id, got, payload) = match self.backlog.pop_front() {
                Some(call) => call,
                None => {
                    let frame = self.next_frame().await.expect("connection open");
                    self.take_call(frame)
                }
            };
            if got == action {
                return (id, payload);
            }
            assert!(
                matches!(
                    got.as_str(),
                    "Heartbeat" | "StatusNotification" | "MeterValues" | "TransactionEvent"
                ),
                "expected {action}, got {got} {payload}"
            );
            let answer = self.routine_answer(&got);
            self.reply(&id, answer).await;
        }
    }

    /// Sends a CSMS call; returns the CALLRESULT payload or the CALLERROR code.
    async fn call(&mut self, action: &str, payload: Value) -> Result<Value, String> {
        let id = format!("csms-{}", self.next_id);
        self.next_id += 1;
        let frame = json!([2, id, action, payload]).to_string();
        self.ws.send(Message::text(frame)).await.expect("send");
        loop {
            let frame = self.next_frame().await.expect("connection open");
            match frame[0].as_u64() {
                Some(3) if frame[1] == json!(id) => {
                    let answer = frame[2].clone();
                    ampere_ocpp::validate(self.version, action, MessageKind::Response, &answer)
                        .unwrap_or_else(|v| panic!("answer to {action} {answer}: {v}"));
                    return Ok(answer);
                }
                Some(4) if frame[1] == json!(id) => {
                    return Err(frame[2].as_str().unwrap_or_default().to_owned());
                }
                Some(2) => {
                    let call = self.take_call(frame);
                    self.backlog.push_back(call);
                }
                _ => panic!("unexpected frame {frame}"),
            }
        }
    }

    /// Waits for the connection to end (the charger closing it).
    async fn closed(&mut self) {
        while let Some(frame) = self.next_frame().await {
            // Calls the charger still makes before it closes are answered routinely.
            if frame[0] == json!(2) {
                let (id, action, _) = self.take_call(frame);
                let answer = self.routine_answer(&action);
                self.reply(&id, answer).await;
            }
        }
    }
}

fn start_sim(port: u16, version: OcppVersion) -> Simulation {
    Simulation::start(SimConfig {
        url: format!("ws://127.0.0.1:{port}/ocpp/"),
        chargers: 1,
        versions: VersionMix::single(version),
        id_prefix: "SIM".into(),
        password: Some("s3cret".into()),
        connect_rate: 100,
        seed: 1,
        profile: ChargerProfile {
            // No driver arrives by itself during the script.
            session_interval: Duration::from_secs(100_000),
            meter_interval: Duration::from_millis(300),
            reboot_delay: Duration::from_millis(100),
            ..ChargerProfile::default()
        },
    })
}

/// Boot (Pending first, retried after the interval given), then Accepted.
async fn boot(csms: &mut Csms) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (id, first) = csms.expect("BootNotification").await;
    let pending_at = tokio::time::Instant::now();
    csms.reply(
        &id,
        json!({"currentTime": now, "interval": 1, "status": "Pending"}),
    )
    .await;
    let (id, second) = csms.expect("BootNotification").await;
    assert!(
        pending_at.elapsed() >= Duration::from_millis(900),
        "retried after the interval"
    );
    assert_eq!(first, second);
    csms.reply(
        &id,
        json!({"currentTime": now, "interval": 300, "status": "Accepted"}),
    )
    .await;
    first
}

#[tokio::test]
async fn a_1_6_charge_point_follows_the_central_system() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sim = start_sim(port, OcppVersion::V16);
    let (mut csms, handshake) = Csms::accept(&listener, OcppVersion::V16).await;

    assert_eq!(handshake.path, "/ocpp/SIM-00001");
    assert_eq!(handshake.subprotocols, "ocpp1.6");
    // base64("SIM-00001:s3cret")
    assert_eq!(
        handshake.authorization.as_deref(),
        Some("Basic U0lNLTAwMDAxOnMzY3JldA==")
    );
    let booted = boot(&mut csms).await;
    assert_eq!(booted["chargePointVendor"], "Ampere");
    let (id, status) = csms.expect("StatusNotification").await;
    assert_eq!(status["connectorId"], 1);
    assert_eq!(status["status"], "Available");
    csms.reply(&id, json!({})).await;

    // Configuration.
    let answer = csms
        .call(
            "ChangeConfiguration",
            json!({"key": "HeartbeatInterval", "value": "1"}),
        )
        .await;
    assert_eq!(answer, Ok(json!({"status": "Accepted"})));
    let answer = csms
        .call(
            "ChangeConfiguration",
            json!({"key": "NumberOfConnectors", "value": "3"}),
        )
        .await;
    assert_eq!(answer, Ok(json!({"status": "Rejected"})));
    let answer = csms
        .call(
            "GetConfiguration",
            json!({"key": ["HeartbeatInterval", "Nope"]}),
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({
            "configurationKey": [{"key": "HeartbeatInterval", "readonly": false, "value": "1"}],
            "unknownKey": ["Nope"]
        })
    );
    let (id, _) = csms.expect("Heartbeat").await;
    let now = chrono::Utc::now().to_rfc3339();
    csms.reply(&id, json!({"currentTime": now})).await;

    // Remote start: Preparing, StartTransaction (no Authorize: AuthorizeRemoteTxRequests is
    // false), Charging, meter values, then remote stop.
    let answer = csms
        .call(
            "RemoteStartTransaction",
            json!({"connectorId": 1, "idTag": "REMOTE1"}),
        )
        .await;
    assert_eq!(answer, Ok(json!({"status": "Accepted"})));
    let (id, preparing) = csms.expect("StatusNotification").await;
    assert_eq!(preparing["status"], "Preparing");
    csms.reply(&id, json!({})).await;
    let (id, start) = csms.expect("StartTransaction").await;
    assert_eq!(start["idTag"], "REMOTE1");
    csms.reply(
        &id,
        json!({"idTagInfo": {"status": "Accepted"}, "transactionId": 99}),
    )
    .await;
    let (id, charging) = csms.expect("StatusNotification").await;
    assert_eq!(charging["status"], "Charging");
    csms.reply(&id, json!({})).await;
    let (id, meter) = csms.expect("MeterValues").await;
    assert_eq!(meter["transactionId"], 99);
    let sampled = &meter["meterValue"][0]["sampledValue"];
    assert_eq!(sampled[0]["measurand"], "Energy.Active.Import.Register");
    csms.reply(&id, json!({})).await;

    assert_eq!(
        csms.call("RemoteStopTransaction", json!({"transactionId": 7}))
            .await,
        Ok(json!({"status": "Rejected"}))
    );
    assert_eq!(
        csms.call("RemoteStopTransaction", json!({"transactionId": 99}))
            .await,
        Ok(json!({"status": "Accepted"}))
    );
    let (id, stop) = csms.expect("StopTransaction").await;
    assert_eq!(stop["transactionId"], 99);
    assert_eq!(stop["reason"], "Remote");
    assert!(stop["meterStop"].as_i64().unwrap() >= start["meterStart"].as_i64().unwrap());
    csms.reply(&id, json!({})).await;
    for expected in ["Finishing", "Available"] {
        let (id, status) = csms.expect("StatusNotification").await;
        assert_eq!(status["status"], expected);
        csms.reply(&id, json!({})).await;
    }

    // Trigger, unlock, availability, and what is not implemented.
    assert_eq!(
        csms.call(
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification", "connectorId": 1})
        )
        .await,
        Ok(json!({"status": "Accepted"}))
    );
    let (id, _) = csms.expect("StatusNotification").await;
    csms.reply(&id, json!({})).await;
    assert_eq!(
        csms.call("UnlockConnector", json!({"connectorId": 1}))
            .await,
        Ok(json!({"status": "Unlocked"}))
    );
    assert_eq!(
        csms.call(
            "ChangeAvailability",
            json!({"connectorId": 0, "type": "Inoperative"})
        )
        .await,
        Ok(json!({"status": "Accepted"}))
    );
    let (id, unavailable) = csms.expect("StatusNotification").await;
    assert_eq!(unavailable["status"], "Unavailable");
    csms.reply(&id, json!({})).await;
    assert_eq!(
        csms.call(
            "GetInstalledCertificateIds",
            json!({"certificateType": "CentralSystemRootCertificate"})
        )
        .await,
        // None installed yet.
        Ok(json!({"status": "NotFound"}))
    );
    assert_eq!(
        csms.call("Reset", json!({"type": "Warm"})).await,
        Err("PropertyConstraintViolation".into())
    );

    // Reset: the charge point closes, reboots and boots again.
    assert_eq!(
        csms.call("Reset", json!({"type": "Hard"})).await,
        Ok(json!({"status": "Accepted"}))
    );
    csms.closed().await;
    let (mut csms, _) = Csms::accept(&listener, OcppVersion::V16).await;
    boot(&mut csms).await;
    // Availability survives the reboot (1.6 keeps it persistent).
    let (id, status) = csms.expect("StatusNotification").await;
    assert_eq!(status["status"], "Unavailable");
    csms.reply(&id, json!({})).await;

    let summary = sim.stop(Duration::from_secs(5)).await;
    assert_eq!(summary.reboots, 1, "{summary}");
    assert_eq!(summary.boots_pending, 2, "{summary}");
    assert_eq!(summary.sessions_completed, 1, "{summary}");
}

async fn two_x_script(version: OcppVersion) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sim = start_sim(port, version);
    let (mut csms, handshake) = Csms::accept(&listener, version).await;
    assert_eq!(handshake.subprotocols, version.subprotocol());
    assert!(handshake.authorization.is_some());

    let booted = boot(&mut csms).await;
    assert_eq!(booted["reason"], "PowerUp");
    assert_eq!(booted["chargingStation"]["vendorName"], "Ampere");
    let (id, status) = csms.expect("StatusNotification").await;
    assert_eq!(status["connectorStatus"], "Available");
    assert_eq!(
        (status["evseId"].clone(), status["connectorId"].clone()),
        (json!(1), json!(1))
    );
    csms.reply(&id, json!({})).await;

    // Device model.
    let answer = csms
        .call(
            "SetVariables",
            json!({"setVariableData": [
                {"attributeValue": "1", "component": {"name": "OCPPCommCtrlr"},
                 "variable": {"name": "HeartbeatInterval"}},
                {"attributeValue": "1", "component": {"name": "Nowhere"},
                 "variable": {"name": "HeartbeatInterval"}}
            ]}),
        )
        .await
        .unwrap();
    let statuses: Vec<&Value> = answer["setVariableResult"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["attributeStatus"])
        .collect();
    assert_eq!(statuses, vec!["Accepted", "UnknownComponent"]);
    let (id, _) = csms.expect("Heartbeat").await;
    let now = chrono::Utc::now().to_rfc3339();
    csms.reply(&id, json!({"currentTime": now})).await;
    let answer = csms
        .call(
            "GetVariables",
            json!({"getVariableData": [{"component": {"name": "SecurityCtrlr"},
                                        "variable": {"name": "Identity"}}]}),
        )
        .await
        .unwrap();
    assert_eq!(
        answer["getVariableResult"][0]["attributeValue"],
        "SIM-00001"
    );

    // Remote start: Occupied, TransactionEvent Started, Updated with meter values, stop.
    let answer = csms
        .call(
            "RequestStartTransaction",
            json!({"evseId": 1, "remoteStartId": 5,
                   "idToken": {"idToken": "R1", "type": "Central"}}),
        )
        .await;
    assert_eq!(answer, Ok(json!({"status": "Accepted"})));
    let (id, occupied) = csms.expect("StatusNotification").await;
    assert_eq!(occupied["connectorStatus"], "Occupied");
    csms.reply(&id, json!({})).await;
    let (id, started) = csms.expect("TransactionEvent").await;
    assert_eq!(started["eventType"], "Started");
    assert_eq!(started["triggerReason"], "RemoteStart");
    assert_eq!(started["seqNo"], 0);
    assert_eq!(started["transactionInfo"]["remoteStartId"], 5);
    assert_eq!(
        started["idToken"],
        json!({"idToken": "R1", "type": "Central"})
    );
    let transaction_id = started["transactionInfo"]["transactionId"].clone();
    csms.reply(&id, json!({"idTokenInfo": {"status": "Accepted"}}))
        .await;
    // The next event is an Updated one of the same transaction (status reports between
    // are answered routinely).
    let (id, updated) = csms.expect("TransactionEvent").await;
    assert_eq!(updated["eventType"], "Updated");
    assert_eq!(updated["transactionInfo"]["transactionId"], transaction_id);
    assert_eq!(updated["seqNo"], 1);
    csms.reply(&id, json!({})).await;

    assert_eq!(
        csms.call("UnlockConnector", json!({"evseId": 1, "connectorId": 1}))
            .await,
        Ok(json!({"status": "OngoingAuthorizedTransaction"}))
    );
    assert_eq!(
        csms.call(
            "RequestStopTransaction",
            json!({"transactionId": transaction_id})
        )
        .await,
        Ok(json!({"status": "Accepted"}))
    );
    let ended = loop {
        let (id, event) = csms.expect("TransactionEvent").await;
        csms.reply(&id, json!({})).await;
        if event["eventType"] == "Ended" {
            break event;
        }
    };
    assert_eq!(ended["triggerReason"], "RemoteStop");
    assert_eq!(ended["transactionInfo"]["stoppedReason"], "Remote");
    let begin = &started["meterValue"][0]["sampledValue"][0]["value"];
    let end = &ended["meterValue"][0]["sampledValue"][0]["value"];
    assert!(
        end.as_f64().unwrap() >= begin.as_f64().unwrap(),
        "{begin} → {end}"
    );
    let (id, available) = csms.expect("StatusNotification").await;
    assert_eq!(available["connectorStatus"], "Available");
    csms.reply(&id, json!({})).await;

    // Trigger, and what a station declines.
    assert_eq!(
        csms.call(
            "TriggerMessage",
            json!({"requestedMessage": "BootNotification"})
        )
        .await,
        Ok(json!({"status": "Rejected"}))
    );
    assert_eq!(
        csms.call("TriggerMessage", json!({"requestedMessage": "Heartbeat"}))
            .await,
        Ok(json!({"status": "Accepted"}))
    );
    let (id, _) = csms.expect("Heartbeat").await;
    csms.reply(&id, json!({"currentTime": now})).await;
    assert_eq!(
        csms.call("GetDisplayMessages", json!({"requestId": 1}))
            .await,
        // No message set yet.
        Ok(json!({"status": "Unknown"}))
    );

    // Base report: Accepted, then the device model in NotifyReport parts.
    assert_eq!(
        csms.call(
            "GetBaseReport",
            json!({"requestId": 9, "reportBase": "FullInventory"})
        )
        .await,
        Ok(json!({"status": "Accepted"}))
    );
    let mut variables = BTreeMap::new();
    for seq_no in 0.. {
        let (id, part) = csms.expect("NotifyReport").await;
        csms.reply(&id, json!({})).await;
        assert_eq!(part["requestId"], 9);
        assert_eq!(part["seqNo"], seq_no);
        for data in part["reportData"].as_array().unwrap() {
            let name = format!(
                "{}.{}",
                data["component"]["name"].as_str().unwrap(),
                data["variable"]["name"].as_str().unwrap()
            );
            variables.insert(name, data["variableAttribute"][0]["value"].clone());
        }
        if part["tbc"] == json!(false) {
            assert!(seq_no >= 1, "the report comes in parts");
            break;
        }
    }
    assert_eq!(variables["OCPPCommCtrlr.HeartbeatInterval"], "1");
    assert_eq!(variables["SecurityCtrlr.Identity"], "SIM-00001");

    // Reset: closes, reboots, boots with reason RemoteReset.
    assert_eq!(
        csms.call("Reset", json!({"type": "Immediate"})).await,
        Ok(json!({"status": "Accepted"}))
    );
    csms.closed().await;
    let (mut csms, _) = Csms::accept(&listener, version).await;
    let rebooted = boot(&mut csms).await;
    assert_eq!(rebooted["reason"], "RemoteReset");

    let summary = sim.stop(Duration::from_secs(5)).await;
    assert_eq!(summary.reboots, 1, "{summary}");
    assert_eq!(summary.sessions_completed, 1, "{summary}");
}

#[tokio::test]
async fn a_2_0_1_station_follows_the_csms() {
    two_x_script(OcppVersion::V201).await;
}

#[tokio::test]
async fn a_2_1_station_follows_the_csms() {
    two_x_script(OcppVersion::V21).await;
}

#[tokio::test]
async fn a_pending_station_boots_when_triggered_and_reconnects_without_booting() {
    let version = OcppVersion::V201;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sim = start_sim(port, version);
    let (mut csms, _) = Csms::accept(&listener, version).await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);

    // Pending for a long time; the CSMS asks for the boot now instead of waiting.
    let (id, first) = csms.expect("BootNotification").await;
    assert_eq!(first["reason"], "PowerUp");
    csms.reply(
        &id,
        json!({"currentTime": now, "interval": 600, "status": "Pending"}),
    )
    .await;
    let asked = tokio::time::Instant::now();
    assert_eq!(
        csms.call(
            "TriggerMessage",
            json!({"requestedMessage": "BootNotification"})
        )
        .await,
        Ok(json!({"status": "Accepted"}))
    );
    let (id, second) = csms.expect("BootNotification").await;
    assert!(asked.elapsed() < Duration::from_secs(5), "booted at once");
    assert_eq!(second["reason"], "Triggered");
    csms.reply(
        &id,
        json!({"currentTime": now, "interval": 300, "status": "Accepted"}),
    )
    .await;
    let (id, _) = csms.expect("StatusNotification").await;
    csms.reply(&id, json!({})).await;

    // The connection drops; the station comes back after its backoff, without booting (it
    // did not restart), and answers calls.
    drop(csms);
    let dropped = tokio::time::Instant::now();
    let (mut csms, handshake) = Csms::accept(&listener, version).await;
    assert!(
        dropped.elapsed() < Duration::from_secs(3),
        "first retry within the backoff"
    );
    assert_eq!(handshake.path, "/ocpp/SIM-00001");
    let answer = csms
        .call(
            "GetVariables",
            json!({"getVariableData": [{"component": {"name": "OCPPCommCtrlr"},
                                        "variable": {"name": "HeartbeatInterval"}}]}),
        )
        .await
        .unwrap();
    assert_eq!(answer["getVariableResult"][0]["attributeValue"], "300");
    // After a reconnect the station reports its connectors again, but does not boot.
    assert!(
        csms.backlog
            .iter()
            .all(|(_, action, _)| action == "StatusNotification"),
        "no boot after a reconnect: {:?}",
        csms.backlog
    );

    let summary = sim.stop(Duration::from_secs(5)).await;
    assert_eq!(summary.connects, 2, "{summary}");
    assert_eq!(summary.disconnects, 1, "{summary}");
    assert_eq!(summary.boots_pending, 1, "{summary}");
    assert_eq!(summary.boots_accepted, 1, "{summary}");
}
