use serde_json::json;

use super::*;
use OcppVersion::{V16, V21, V201};

/// The CALLERROR a broken frame is answered with, as written on the wire.
fn answer(text: &str, version: OcppVersion) -> Option<String> {
    let err = parse(text, version).expect_err("frame should be rejected");
    err.reply().map(|frame| frame.to_text(version))
}

fn code_and_id(text: &str, version: OcppVersion) -> (String, String, u8) {
    let err = parse(text, version).expect_err("frame should be rejected");
    let frame = err.reply().expect("frame should be answered");
    let (Frame::CallError { id, error } | Frame::CallResultError { id, error }) = &frame else {
        panic!("answer is not an error frame: {frame:?}");
    };
    (
        error.code.as_str(version).to_owned(),
        id.clone(),
        frame.message_type(),
    )
}

#[test]
fn parses_every_message_type() {
    assert_eq!(
        parse(r#"[2,"a1","Heartbeat",{}]"#, V16),
        Ok(Frame::Call {
            id: "a1".into(),
            action: "Heartbeat".into(),
            payload: json!({})
        })
    );
    assert_eq!(
        parse(
            r#" [3, "a1", {"currentTime": "2024-01-01T00:00:00Z"}] "#,
            V201
        ),
        Ok(Frame::CallResult {
            id: "a1".into(),
            payload: json!({"currentTime": "2024-01-01T00:00:00Z"})
        })
    );
    assert_eq!(
        parse(r#"[4,"a1","FormationViolation","bad",{"x":1}]"#, V16),
        Ok(Frame::CallError {
            id: "a1".into(),
            error: CallError {
                code: ErrorCode::FormatViolation,
                description: "bad".into(),
                details: json!({"x": 1})
            }
        })
    );
    assert_eq!(
        parse(r#"[5,"a1","InternalError","",{}]"#, V21),
        Ok(Frame::CallResultError {
            id: "a1".into(),
            error: CallError::new(ErrorCode::InternalError, "")
        })
    );
    assert_eq!(
        parse(r#"[6,"a1","NotifyPeriodicEventStream",{"id":1}]"#, V21),
        Ok(Frame::Send {
            id: "a1".into(),
            action: "NotifyPeriodicEventStream".into(),
            payload: json!({"id": 1})
        })
    );
}

#[test]
fn lenient_with_errors_we_receive() {
    // Missing details and unknown codes still produce an error answer.
    let Ok(Frame::CallError { error, .. }) = parse(r#"[4,"a","Whatever","oops"]"#, V16) else {
        panic!("CALLERROR without details should parse");
    };
    assert_eq!(error.code, ErrorCode::GenericError);
    assert_eq!(error.details, json!({}));
}

#[test]
fn rpc_level_breakage_is_answered_per_version() {
    // (frame, 1.6 code, 2.x code, message id of the answer)
    let cases = [
        ("not json", "FormationViolation", "RpcFrameworkError", "-1"),
        ("", "FormationViolation", "RpcFrameworkError", "-1"),
        (
            r#"{"a":1}"#,
            "FormationViolation",
            "RpcFrameworkError",
            "-1",
        ),
        (
            r#"[2,"a1","Heartbeat"#,
            "FormationViolation",
            "RpcFrameworkError",
            "-1",
        ),
        ("[]", "FormationViolation", "RpcFrameworkError", "-1"),
        (
            r#"["2","a1","Heartbeat",{}]"#,
            "FormationViolation",
            "RpcFrameworkError",
            "a1",
        ),
        (
            r#"[2.5,"a1","Heartbeat",{}]"#,
            "FormationViolation",
            "RpcFrameworkError",
            "a1",
        ),
        (
            r#"[2,17,"Heartbeat",{}]"#,
            "FormationViolation",
            "RpcFrameworkError",
            "-1",
        ),
        (
            r#"[2,null,"Heartbeat",{}]"#,
            "FormationViolation",
            "RpcFrameworkError",
            "-1",
        ),
        (
            r#"[2,"a1",{}]"#,
            "FormationViolation",
            "RpcFrameworkError",
            "a1",
        ),
        (
            r#"[2,"a1","Heartbeat",{},{}]"#,
            "FormationViolation",
            "RpcFrameworkError",
            "a1",
        ),
        (
            r#"[2,"a1",7,{}]"#,
            "FormationViolation",
            "RpcFrameworkError",
            "a1",
        ),
        (
            r#"[2,"a1","Heartbeat",[]]"#,
            "FormationViolation",
            "FormatViolation",
            "a1",
        ),
        (
            r#"[2,"a1","Heartbeat",null]"#,
            "FormationViolation",
            "FormatViolation",
            "a1",
        ),
        (
            r#"[9,"a1","Heartbeat",{}]"#,
            "ProtocolError",
            "MessageTypeNotSupported",
            "a1",
        ),
        (r#"[0]"#, "ProtocolError", "MessageTypeNotSupported", "-1"),
        (
            r#"[-2,"a1"]"#,
            "FormationViolation",
            "RpcFrameworkError",
            "a1",
        ),
    ];
    for (text, code16, code2x, id) in cases {
        assert_eq!(
            code_and_id(text, V16),
            (code16.to_owned(), id.to_owned(), 4),
            "1.6: {text}"
        );
        for version in [V201, V21] {
            assert_eq!(
                code_and_id(text, version),
                (code2x.to_owned(), id.to_owned(), 4),
                "{version}: {text}"
            );
        }
    }
}

#[test]
fn message_types_5_and_6_exist_only_in_2_1() {
    let send = r#"[6,"s1","NotifyPeriodicEventStream",{}]"#;
    assert_eq!(code_and_id(send, V16).0, "ProtocolError");
    assert_eq!(code_and_id(send, V201).0, "MessageTypeNotSupported");
    assert!(parse(send, V21).is_ok());
    let result_error = r#"[5,"s1","GenericError","",{}]"#;
    assert_eq!(code_and_id(result_error, V201).0, "MessageTypeNotSupported");
    assert!(parse(result_error, V21).is_ok());
}

#[test]
fn message_ids_up_to_36_characters() {
    let id36 = "é".repeat(36);
    assert!(parse(&format!(r#"[2,"{id36}","Heartbeat",{{}}]"#), V201).is_ok());
    let id37 = "x".repeat(37);
    let (code, id, _) = code_and_id(&format!(r#"[2,"{id37}","Heartbeat",{{}}]"#), V201);
    assert_eq!((code.as_str(), id.as_str()), ("RpcFrameworkError", "-1"));
}

#[test]
fn broken_answers_are_not_answered_except_results_in_2_1() {
    for text in [
        r#"[3,"a1"]"#,
        r#"[3,"a1",[]]"#,
        r#"[4,"a1",1,"x",{}]"#,
        r#"[4,"a1"]"#,
    ] {
        for version in [V16, V201] {
            let err = parse(text, version).expect_err(text);
            assert!(err.reply().is_none(), "{version} {text}: {err:?}");
            assert_eq!(err.message_id(), Some("a1"));
        }
    }
    let (code, id, message_type) = code_and_id(r#"[3,"a1",[]]"#, V21);
    assert_eq!(
        (code.as_str(), id.as_str(), message_type),
        ("FormatViolation", "a1", 5)
    );
    // A broken SEND is never answered.
    let err = parse(r#"[6,"s1",5,{}]"#, V21).expect_err("broken SEND");
    assert_eq!(err.reply(), None);
}

#[test]
fn writes_compact_json_keeping_payload_order() {
    let frame = Frame::Call {
        id: "m-1".into(),
        action: "BootNotification".into(),
        payload: serde_json::from_str(
            r#"{"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}"#,
        )
        .expect("json"),
    };
    let text = frame.to_text(V201);
    assert_eq!(
        text,
        r#"[2,"m-1","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}]"#
    );
    assert_eq!(parse(&text, V201), Ok(frame));

    let result = Frame::CallResult {
        id: "m-1".into(),
        payload: json!({"status": "Accepted"}),
    };
    assert_eq!(result.to_text(V16), r#"[3,"m-1",{"status":"Accepted"}]"#);
}

#[test]
fn error_frames_use_the_version_spelling() {
    let frame = Frame::CallError {
        id: "7".into(),
        error: CallError::new(ErrorCode::FormatViolation, "x".repeat(300)),
    };
    let short = "x".repeat(MAX_ERROR_DESCRIPTION_LEN);
    assert_eq!(
        frame.to_text(V16),
        format!(r#"[4,"7","FormationViolation","{short}",{{}}]"#)
    );
    assert_eq!(
        frame.to_text(V21),
        format!(r#"[4,"7","FormatViolation","{short}",{{}}]"#)
    );
    assert_eq!(
        answer("nonsense", V201).as_deref(),
        Some(r#"[4,"-1","RpcFrameworkError","not JSON: expected ident at line 1 column 2",{}]"#)
    );
}

#[test]
fn bytes_that_are_not_utf8_are_answered() {
    let err = parse_bytes(&[0x5b, 0xff, 0x5d], V16).expect_err("not utf-8");
    assert_eq!(
        err.reply().map(|f| f.to_text(V16)).as_deref(),
        Some(r#"[4,"-1","FormationViolation","message is not UTF-8 text",{}]"#)
    );
    assert!(parse_bytes(br#"[2,"1","Heartbeat",{}]"#, V16).is_ok());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse(&text, V16).is_err());
}

#[test]
fn long_ids_are_never_echoed() {
    // Found by the fuzzer: an unknown message type answered with the over-long id.
    let text = format!(r#"[5,"{}",{{}}]"#, "p".repeat(40));
    let (code, id, _) = code_and_id(&text, V201);
    assert_eq!(
        (code.as_str(), id.as_str()),
        ("MessageTypeNotSupported", "-1")
    );
    let (code, id, _) = code_and_id(&format!(r#"["x","{}"]"#, "p".repeat(40)), V16);
    assert_eq!((code.as_str(), id.as_str()), ("FormationViolation", "-1"));
}
