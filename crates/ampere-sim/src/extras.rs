//! The smaller CSMS calls, answered once for every version from their JSON: data transfer,
//! 1.6 ExtendedTriggerMessage, and the 2.x display messages, customer information,
//! transaction status, monitoring, reports and network profiles.

use ampere_ocpp::{CallError, ErrorCode, OcppVersion};
use serde_json::{Value, json};

use crate::model::{Effect, Station};

pub(crate) fn answer(st: &mut Station, action: &str, p: &Value) -> Result<Value, CallError> {
    let answer = match action {
        "DataTransfer" => data_transfer(st, p),
        "ExtendedTriggerMessage" => extended_trigger(st, p),
        "SetDisplayMessage" => {
            let message = &p["message"];
            let id = message["id"].as_i64().unwrap_or_default();
            let tx = message["transactionId"].as_str();
            let known_tx = tx.is_none_or(|tx| {
                st.evses.iter().any(|e| {
                    e.session
                        .as_ref()
                        .is_some_and(|s| s.tx == crate::model::TxRef::TwoX(tx.to_owned()))
                })
            });
            if known_tx {
                st.display_messages.insert(id, message.clone());
                json!({"status": "Accepted"})
            } else {
                json!({"status": "UnknownTransaction"})
            }
        }
        "GetDisplayMessages" => {
            let ids: Option<Vec<i64>> = p["id"]
                .as_array()
                .map(|ids| ids.iter().filter_map(Value::as_i64).collect());
            let found: Vec<Value> = st
                .display_messages
                .iter()
                .filter(|(id, _)| ids.as_ref().is_none_or(|ids| ids.contains(id)))
                .filter(|(_, m)| p["priority"].is_null() || m["priority"] == p["priority"])
                .filter(|(_, m)| p["state"].is_null() || m["state"] == p["state"])
                .map(|(_, m)| m.clone())
                .collect();
            if found.is_empty() {
                json!({"status": "Unknown"})
            } else {
                st.effects.push_back(Effect::Send {
                    action: "NotifyDisplayMessages",
                    payload: json!({"requestId": p["requestId"], "messageInfo": found, "tbc": false}),
                });
                json!({"status": "Accepted"})
            }
        }
        "ClearDisplayMessage" => {
            let id = p["id"].as_i64().unwrap_or_default();
            match st.display_messages.remove(&id) {
                Some(_) => json!({"status": "Accepted"}),
                None => json!({"status": "Unknown"}),
            }
        }
        "CustomerInformation" => {
            let token = p["idToken"]["idToken"].as_str();
            let customer = p["customerIdentifier"].as_str();
            if token.is_none() && customer.is_none() && p["customerCertificate"].is_null() {
                json!({"status": "Invalid"})
            } else {
                let who = token.or(customer).unwrap_or("certificate holder");
                let mut data = String::new();
                if p["report"] == true {
                    let listed = token.and_then(|t| st.local_list.status(t));
                    data.push_str(&format!(
                        "customer {who}: local list {}",
                        listed.unwrap_or("not listed")
                    ));
                }
                if p["clear"] == true {
                    if let Some(t) = token {
                        st.local_list.entries.remove(t);
                    }
                    data.push_str(if data.is_empty() {
                        "cleared"
                    } else {
                        "; cleared"
                    });
                }
                st.effects.push_back(Effect::Send {
                    action: "NotifyCustomerInformation",
                    payload: json!({
                        "data": data.chars().take(512).collect::<String>(),
                        "tbc": false,
                        "seqNo": 0,
                        "generatedAt": st.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        "requestId": p["requestId"],
                    }),
                });
                json!({"status": "Accepted"})
            }
        }
        "GetTransactionStatus" => {
            let queued = !st.outbox.is_empty();
            match p["transactionId"].as_str() {
                Some(tx) => {
                    let ongoing = st
                        .evse_with_tx(&crate::model::TxRef::TwoX(tx.to_owned()))
                        .is_some();
                    json!({"ongoingIndicator": ongoing, "messagesInQueue": queued})
                }
                None => json!({ "messagesInQueue": queued }),
            }
        }
        "GetReport" => {
            st.effects.push_back(Effect::BaseReport {
                request_id: p["requestId"].as_i64().unwrap_or_default(),
            });
            json!({"status": "Accepted"})
        }
        // No monitors: the simulated station has no monitoring to report or clear.
        "GetMonitoringReport" => json!({"status": "EmptyResultSet"}),
        "SetMonitoringBase" | "SetMonitoringLevel" => json!({"status": "Accepted"}),
        "SetVariableMonitoring" => {
            let results: Vec<Value> = p["setMonitoringData"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    json!({
                        "status": "UnsupportedMonitorType",
                        "type": d["type"],
                        "severity": d["severity"],
                        "component": d["component"],
                        "variable": d["variable"],
                    })
                })
                .collect();
            json!({ "setMonitoringResult": results })
        }
        "ClearVariableMonitoring" => {
            let results: Vec<Value> = p["id"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|id| json!({"status": "NotFound", "id": id}))
                .collect();
            json!({ "clearMonitoringResult": results })
        }
        // Kept for the next reconnect a real station would make with it; the simulator
        // stays on its URL.
        "SetNetworkProfile" => json!({"status": "Accepted"}),
        "CostUpdated" => json!({}),
        other => {
            return Err(CallError::new(
                ErrorCode::NotImplemented,
                format!("the simulated charger does not implement {other}"),
            ));
        }
    };
    Ok(answer)
}

/// Vendor `ampere-sim` (or the profile's vendor) knows message `Echo`, which answers its
/// data back; everything else is unknown, as on a charger without extensions.
fn data_transfer(st: &Station, p: &Value) -> Value {
    let vendor = p["vendorId"].as_str().unwrap_or_default();
    if vendor != st.profile.vendor && vendor != "ampere-sim" {
        return json!({"status": "UnknownVendorId"});
    }
    if p["messageId"] != "Echo" {
        return json!({"status": "UnknownMessageId"});
    }
    let data = match (&p["data"], st.version) {
        (Value::Null, _) => return json!({"status": "Accepted"}),
        // 1.6 data is text; 2.x data is any JSON.
        (Value::String(s), _) => json!(s),
        (other, OcppVersion::V16) => json!(other.to_string()),
        (other, _) => other.clone(),
    };
    json!({"status": "Accepted", "data": data})
}

fn extended_trigger(st: &mut Station, p: &Value) -> Value {
    let connector = p["connectorId"]
        .as_u64()
        .and_then(|c| u32::try_from(c).ok());
    if connector.is_some_and(|c| c != 0 && st.evse(c).is_none()) {
        return json!({"status": "Rejected"});
    }
    let connector = connector.filter(|c| *c != 0);
    let effect = match p["requestedMessage"].as_str().unwrap_or_default() {
        "BootNotification" => Effect::Boot,
        "Heartbeat" => Effect::Heartbeat,
        "StatusNotification" => Effect::Status { evse: connector },
        "MeterValues" => Effect::MeterValues {
            evse: connector,
            triggered: true,
        },
        "FirmwareStatusNotification" => Effect::Send {
            action: "SignedFirmwareStatusNotification",
            payload: json!({"status": "Idle"}),
        },
        "LogStatusNotification" => Effect::Send {
            action: "LogStatusNotification",
            payload: json!({"status": "Idle"}),
        },
        // Signing needs a key pair and a CSR the simulator does not make.
        _ => return json!({"status": "NotImplemented"}),
    };
    st.effects.push_back(effect);
    json!({"status": "Accepted"})
}
