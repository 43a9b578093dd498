//! The generated types in use: names, serde spelling, and what a round trip keeps.

use ampere_ocpp::{Action, OcppVersion, v16, v21, v201};
use chrono::{TimeZone, Utc};
use serde_json::json;

fn start(timestamp: &str) -> v16::StartTransactionRequest {
    serde_json::from_value(json!({
        "connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": timestamp
    }))
    .unwrap_or_else(|e| panic!("{timestamp}: {e}"))
}

#[test]
fn date_times_keep_the_instant_and_are_written_in_utc() {
    let cases = [
        ("2024-05-06T07:08:09Z", "2024-05-06T07:08:09Z"),
        ("2024-05-06T07:08:09.123Z", "2024-05-06T07:08:09.123Z"),
        ("2024-05-06T09:08:09.5+02:00", "2024-05-06T07:08:09.500Z"),
        (
            "2024-05-06T07:08:09.123456789Z",
            "2024-05-06T07:08:09.123456789Z",
        ),
        ("2024-05-06t07:08:09z", "2024-05-06T07:08:09Z"),
    ];
    for (sent, written) in cases {
        let request = start(sent);
        assert_eq!(
            request.timestamp,
            Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9)
                .single()
                .expect("date")
                + chrono::Duration::nanoseconds(i64::from(
                    request.timestamp.timestamp_subsec_nanos()
                )),
            "{sent}"
        );
        let out = serde_json::to_value(&request).expect("encode");
        assert_eq!(out["timestamp"], json!(written), "{sent}");
    }
}

#[test]
fn boot_notification_2_0_1_reads_and_writes_in_schema_order() {
    let text = r#"{"reason":"PowerUp","chargingStation":{"serialNumber":"S1","model":"M","vendorName":"V","firmwareVersion":"1.0"}}"#;
    let request: v201::BootNotificationRequest = serde_json::from_str(text).expect("decode");
    assert_eq!(request.reason, v201::BootReason::PowerUp);
    assert_eq!(request.charging_station.vendor_name, "V");
    // Written in schema order, whatever the order received.
    assert_eq!(
        serde_json::to_string(&request).expect("encode"),
        r#"{"chargingStation":{"serialNumber":"S1","model":"M","vendorName":"V","firmwareVersion":"1.0"},"reason":"PowerUp"}"#
    );
    assert_eq!(v201::BootNotificationRequest::NAME, "BootNotification");
    assert_eq!(
        <v201::BootNotificationRequest as Action>::VERSION,
        OcppVersion::V201
    );
}

#[test]
fn shared_types_and_enums() {
    let token = v201::IdToken {
        custom_data: None,
        additional_info: None,
        id_token: "04A2".into(),
        r#type: v201::IdTokenEnum::ISO14443,
    };
    assert_eq!(
        serde_json::to_value(&token).expect("encode"),
        json!({"idToken": "04A2", "type": "ISO14443"})
    );
    assert_eq!(v201::RegistrationStatus::Accepted.as_str(), "Accepted");
    assert_eq!(
        v16::Measurand::EnergyActiveImportRegister.as_str(),
        "Energy.Active.Import.Register"
    );
    let unit: v16::MeterValuesMeterValueSampledValueUnit =
        serde_json::from_value(json!("kWh")).expect("unit");
    assert_eq!(unit.as_str(), "kWh");
}

#[test]
fn custom_data_keeps_vendor_properties() {
    let text = r#"{"status":"Accepted","customData":{"vendorId":"acme","fanSpeed":3,"ratio":2.50,"mode":"eco"}}"#;
    let response: v21::ClearCacheResponse = serde_json::from_str(text).expect("decode");
    let custom = response.custom_data.as_ref().expect("custom data");
    assert_eq!(custom.vendor_id, "acme");
    assert_eq!(custom.extra["fanSpeed"], json!(3));
    assert_eq!(serde_json::to_string(&response).expect("encode"), text);
}

#[test]
fn decimals_keep_their_digits() {
    let text = r#"{"startPeriod":0,"limit":16.30,"numberPhases":3}"#;
    let period: v16::ChargingSchedulePeriod = serde_json::from_str(text).expect("decode");
    assert_eq!(period.limit.to_string(), "16.30");
    assert_eq!(serde_json::to_string(&period).expect("encode"), text);
}
