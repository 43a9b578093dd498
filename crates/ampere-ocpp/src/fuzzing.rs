//! What the `frame` fuzz target runs on every input, shared with the test that replays the
//! fuzz corpus, so both check the same properties. Not part of the public API.

use crate::frame::{self, Frame};
use crate::{MessageKind, OcppVersion, actions, validate};

/// Parses `data` as a frame for every version and checks what must hold for any input:
/// nothing panics, a parsed frame written back parses to the same frame, a rejected frame
/// yields an answer that is itself a valid frame, and payloads can be validated.
pub fn frame(data: &[u8]) {
    for version in OcppVersion::NEWEST_FIRST {
        match frame::parse_bytes(data, version) {
            Ok(parsed) => {
                let text = parsed.to_text(version);
                let again = frame::parse(&text, version);
                match (&parsed, &again) {
                    // Descriptions are cut to 255 characters on the way out.
                    (Frame::CallError { .. } | Frame::CallResultError { .. }, Ok(_)) => {}
                    _ => assert_eq!(again.as_ref(), Ok(&parsed), "{text}"),
                }
                match &parsed {
                    Frame::Call {
                        action, payload, ..
                    }
                    | Frame::Send {
                        action, payload, ..
                    } => {
                        let _ = validate(version, action, MessageKind::Request, payload);
                    }
                    Frame::CallResult { payload, .. } => {
                        // A CALLRESULT names no action; judge it as a few typical ones.
                        for info in actions(version).iter().take(8) {
                            let _ = validate(version, info.name, MessageKind::Response, payload);
                        }
                    }
                    Frame::CallError { .. } | Frame::CallResultError { .. } => {}
                }
            }
            Err(error) => {
                if let Some(reply) = error.reply() {
                    let text = reply.to_text(version);
                    assert!(
                        frame::parse(&text, version).is_ok(),
                        "our answer is not a valid frame: {text}"
                    );
                }
            }
        }
    }
}
