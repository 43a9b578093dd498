use serde_json::json;

use super::*;
use crate::MessageKind::{Request, Response};
use OcppVersion::{V16, V21, V201};

fn kind_of(result: Result<(), Violation>) -> Option<ViolationKind> {
    match result {
        Ok(()) => None,
        Err(Violation::Invalid { kind, .. }) => Some(kind),
        Err(Violation::UnknownAction) => panic!("unexpected UnknownAction"),
    }
}

#[test]
fn boot_notification_1_6() {
    let ok = json!({"chargePointVendor": "V", "chargePointModel": "M"});
    assert_eq!(validate(V16, "BootNotification", Request, &ok), Ok(()));
    let long = json!({"chargePointVendor": "ü".repeat(21), "chargePointModel": "M"});
    let err = validate(V16, "BootNotification", Request, &long).expect_err("too long");
    assert_eq!(err.code(), ErrorCode::TypeConstraintViolation);
    assert!(matches!(&err, Violation::Invalid { path, .. } if path == "/chargePointVendor"));
    // 20 two-byte characters are 20 characters, not 40.
    let exact = json!({"chargePointVendor": "ü".repeat(20), "chargePointModel": "M"});
    assert_eq!(validate(V16, "BootNotification", Request, &exact), Ok(()));
}

#[test]
fn error_codes_per_breakage() {
    let cases = [
        (json!([]), ViolationKind::NotAnObject),
        (json!({"chargePointVendor": "V"}), ViolationKind::Required),
        (
            json!({"chargePointVendor": 1, "chargePointModel": "M"}),
            ViolationKind::Type,
        ),
        (
            json!({"chargePointVendor": "V", "chargePointModel": "M", "x": 1}),
            ViolationKind::AdditionalProperty,
        ),
    ];
    for (payload, kind) in cases {
        assert_eq!(
            kind_of(validate(V16, "BootNotification", Request, &payload)),
            Some(kind),
            "{payload}"
        );
    }
    let bad_enum = json!({"status": "Maybe", "currentTime": "2024-01-01T00:00:00Z", "interval": 1});
    let err = validate(V16, "BootNotification", Response, &bad_enum).expect_err("enum");
    assert_eq!(err.code(), ErrorCode::PropertyConstraintViolation);
    assert_eq!(
        CallError::from(err).details,
        json!({"path": "/status"}),
        "details carry the JSON pointer"
    );
}

#[test]
fn unknown_actions_and_send() {
    assert_eq!(
        validate(V16, "TransactionEvent", Request, &json!({})),
        Err(Violation::UnknownAction)
    );
    assert_eq!(Violation::UnknownAction.code(), ErrorCode::NotImplemented);
    assert_eq!(
        validate(V21, "NotifyPeriodicEventStream", Response, &json!({})),
        Err(Violation::UnknownAction)
    );
    assert!(
        validate(V201, "Heartbeat", Request, &json!({})).is_ok(),
        "2.x empty request"
    );
}

#[test]
fn integer_depends_on_the_draft() {
    // 1.6 core files are draft-04: 1.0 is not an integer.
    let p = json!({"connectorId": 1.0, "idTag": "A", "meterStart": 0, "timestamp": "2024-01-01T00:00:00Z"});
    assert_eq!(
        kind_of(validate(V16, "StartTransaction", Request, &p)),
        Some(ViolationKind::Type)
    );
    // 2.x files are draft-06: 1.0 is.
    let p = json!({"evseId": 1.0, "connectorId": 1, "connectorStatus": "Available", "timestamp": "2024-01-01T00:00:00Z"});
    assert_eq!(
        kind_of(validate(V201, "StatusNotification", Request, &p)),
        None
    );
}

#[test]
fn multiple_of_uses_decimals() {
    let one = |v: f64| serde_json::Number::from_f64(v).expect("finite");
    assert!(is_multiple_of(&one(16.3), 0.1));
    assert!(is_multiple_of(&one(0.3), 0.1));
    assert!(is_multiple_of(&one(-7.7), 0.1));
    assert!(is_multiple_of(&serde_json::Number::from(32), 0.1));
    assert!(!is_multiple_of(&one(16.35), 0.1));
    assert!(!is_multiple_of(&one(0.05), 0.1));
    assert!(is_multiple_of(&one(0.0), 0.1));
}

#[test]
fn date_times_follow_rfc_3339() {
    for ok in [
        "2024-01-01T00:00:00Z",
        "2024-02-29T23:59:59.123456789+01:00",
        "2024-01-01t00:00:00z",
        "2016-12-31T23:59:60Z",
        "2017-01-01T00:59:60+01:00",
    ] {
        assert!(is_date_time(ok), "{ok}");
    }
    for bad in [
        "2024-01-01",
        "2024-01-01 00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T12:00:60Z",
        "2024-01-01T00:00:00+0100",
        "2024-1-01T00:00:00Z",
        "not a date",
    ] {
        assert!(!is_date_time(bad), "{bad}");
    }
}

#[test]
fn uris_need_a_scheme() {
    assert!(is_uri("https://example.com/fw.bin?x=1#top"));
    assert!(is_uri("ftp://user:pw@host:21/path%20with"));
    assert!(!is_uri("/relative/path"));
    assert!(!is_uri("has space://x"));
    assert!(!is_uri("http://bad%zz"));
    assert!(!is_uri("http://a b"));
}

#[test]
fn numbers_beyond_f64() {
    let huge: serde_json::Number = serde_json::from_str("1e400").expect("number");
    assert_eq!(compare(&huge, 100.0), std::cmp::Ordering::Greater);
    let tiny: serde_json::Number = serde_json::from_str("-1e400").expect("number");
    assert_eq!(compare(&tiny, -100.0), std::cmp::Ordering::Less);
}
