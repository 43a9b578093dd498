//! The payloads bench chargers send, per version. Built as JSON directly (they are on the
//! hot path of the load generator); a test validates every one against the official
//! schema, so they are what a real charger would send.

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use super::plan::Protocol;

/// The id tag / id token bench sessions are started with.
pub const BENCH_ID_TAG: &str = "BENCHTAG";

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn boot_notification(protocol: Protocol, identity: &str) -> Value {
    match protocol {
        Protocol::V16 => json!({
            "chargePointVendor": "Ampere",
            "chargePointModel": "BenchCharger",
            "chargePointSerialNumber": identity,
            "firmwareVersion": "bench-1",
        }),
        Protocol::V201 => json!({
            "reason": "PowerUp",
            "chargingStation": {
                "vendorName": "Ampere",
                "model": "BenchCharger",
                "serialNumber": identity,
                "firmwareVersion": "bench-1",
            },
        }),
    }
}

/// StatusNotification `Available` for connector `connector` (1-based). In 2.0.1 each
/// connector is its own EVSE with connector 1.
pub fn status_notification(protocol: Protocol, connector: u32) -> Value {
    match protocol {
        Protocol::V16 => json!({
            "connectorId": connector,
            "errorCode": "NoError",
            "status": "Available",
            "timestamp": now(),
        }),
        Protocol::V201 => json!({
            "timestamp": now(),
            "connectorStatus": "Available",
            "evseId": connector,
            "connectorId": 1,
        }),
    }
}

pub fn heartbeat() -> Value {
    json!({})
}

/// 1.6 StartTransaction on connector 1.
pub fn start_transaction_16() -> Value {
    json!({
        "connectorId": 1,
        "idTag": BENCH_ID_TAG,
        "meterStart": 0,
        "timestamp": now(),
    })
}

/// 2.0.1 TransactionEvent `Started` on EVSE 1 for a charger-chosen transaction id.
pub fn transaction_started_201(transaction_id: &str) -> Value {
    json!({
        "eventType": "Started",
        "timestamp": now(),
        "triggerReason": "CablePluggedIn",
        "seqNo": 0,
        "transactionInfo": {"transactionId": transaction_id, "chargingState": "EVConnected"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{
            "timestamp": now(),
            "sampledValue": [{
                "value": 0,
                "measurand": "Energy.Active.Import.Register",
                "context": "Transaction.Begin",
                "unitOfMeasure": {"unit": "Wh"},
            }],
        }],
    })
}

/// The periodic meter reading of a running session: 1.6 MeterValues on connector 1, or a
/// 2.0.1 TransactionEvent `Updated` with sequence number `seq_no`. Both carry the energy
/// register (`energy_wh`, rising) and the power.
pub fn meter_reading(
    protocol: Protocol,
    transaction: &TransactionRef,
    seq_no: u64,
    energy_wh: u64,
) -> (&'static str, Value) {
    match (protocol, transaction) {
        (Protocol::V16, TransactionRef::Numbered(id)) => (
            "MeterValues",
            json!({
                "connectorId": 1,
                "transactionId": id,
                "meterValue": [{
                    "timestamp": now(),
                    "sampledValue": [
                        {"value": energy_wh.to_string(), "measurand": "Energy.Active.Import.Register",
                         "unit": "Wh", "context": "Sample.Periodic"},
                        {"value": "7400", "measurand": "Power.Active.Import", "unit": "W",
                         "context": "Sample.Periodic"},
                    ],
                }],
            }),
        ),
        (_, transaction) => (
            "TransactionEvent",
            json!({
                "eventType": "Updated",
                "timestamp": now(),
                "triggerReason": "MeterValuePeriodic",
                "seqNo": seq_no,
                "transactionInfo": {"transactionId": transaction.text(), "chargingState": "Charging"},
                "meterValue": [{
                    "timestamp": now(),
                    "sampledValue": [
                        {"value": energy_wh, "measurand": "Energy.Active.Import.Register",
                         "context": "Sample.Periodic", "unitOfMeasure": {"unit": "Wh"}},
                        {"value": 7400, "measurand": "Power.Active.Import",
                         "context": "Sample.Periodic", "unitOfMeasure": {"unit": "W"}},
                    ],
                }],
            }),
        ),
    }
}

/// A running transaction: the number a 1.6 CSMS gave, or the id a 2.x charger chose.
#[derive(Debug, Clone)]
pub enum TransactionRef {
    Numbered(i64),
    Chosen(String),
}

impl TransactionRef {
    fn text(&self) -> String {
        match self {
            Self::Numbered(n) => n.to_string(),
            Self::Chosen(s) => s.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use ampere_ocpp::{MessageKind, validate};

    use super::*;

    fn valid(protocol: Protocol, action: &str, payload: &Value) {
        validate(protocol.ocpp(), action, MessageKind::Request, payload)
            .unwrap_or_else(|v| panic!("{protocol} {action} {payload}: {v}"));
    }

    #[test]
    fn every_payload_is_schema_valid() {
        for protocol in [Protocol::V16, Protocol::V201] {
            valid(
                protocol,
                "BootNotification",
                &boot_notification(protocol, "BENCH-000001"),
            );
            valid(
                protocol,
                "StatusNotification",
                &status_notification(protocol, 2),
            );
            valid(protocol, "Heartbeat", &heartbeat());
        }
        valid(Protocol::V16, "StartTransaction", &start_transaction_16());
        valid(
            Protocol::V201,
            "TransactionEvent",
            &transaction_started_201("BENCH-000001-1"),
        );
        let (action, payload) = meter_reading(Protocol::V16, &TransactionRef::Numbered(7), 1, 1500);
        assert_eq!(action, "MeterValues");
        valid(Protocol::V16, action, &payload);
        let (action, payload) = meter_reading(
            Protocol::V201,
            &TransactionRef::Chosen("BENCH-000001-1".into()),
            1,
            1500,
        );
        assert_eq!(action, "TransactionEvent");
        valid(Protocol::V201, action, &payload);
    }
}
