//! OCPP-J RPC framing: the JSON arrays that carry every OCPP message over the WebSocket.
//!
//! ```text
//! CALL             [2, "<id>", "<action>", {payload}]
//! CALLRESULT       [3, "<id>", {payload}]
//! CALLERROR        [4, "<id>", "<code>", "<description>", {details}]
//! CALLRESULTERROR  [5, "<id>", "<code>", "<description>", {details}]   2.1 only
//! SEND             [6, "<id>", "<action>", {payload}]                  2.1 only
//! ```
//!
//! [`parse`] works on text in memory and never panics: a frame that is not valid becomes a
//! [`FrameError`] that says whether, and with which CALLERROR, the receiver must answer.
//! Payloads stay [`serde_json::Value`]s (object key order kept); judging them against the
//! action's schema is [`crate::validate`]'s job, after framing.

use serde_json::{Map, Value};

use crate::{CallError, ErrorCode, OcppVersion};

/// Longest message id the specs allow (room for a UUID), counted in characters.
pub const MAX_MESSAGE_ID_LEN: usize = 36;

/// The message id used in a CALLERROR when the offending frame's id could not be read
/// (OCPP 2.0.1/2.1 part 4; 1.6 is silent, and the same convention is used there).
pub const UNKNOWN_MESSAGE_ID: &str = "-1";

/// Longest error description 2.x allows; longer ones are cut when a frame is written.
pub const MAX_ERROR_DESCRIPTION_LEN: usize = 255;

/// One OCPP-J message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A request (message type 2).
    Call {
        id: String,
        action: String,
        payload: Value,
    },
    /// The answer to a CALL (message type 3).
    CallResult { id: String, payload: Value },
    /// The error answer to a CALL (message type 4).
    CallError { id: String, error: CallError },
    /// The error answer to a CALLRESULT the receiver could not accept (message type 5, 2.1).
    CallResultError { id: String, error: CallError },
    /// A message that is never answered (message type 6, 2.1).
    Send {
        id: String,
        action: String,
        payload: Value,
    },
}

/// Why a text is not a valid frame, and what the receiver should do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    /// Answer with `code` and `description`: a CALLERROR, or, when `result_error` is set (2.1, a broken
    /// CALLRESULT), a CALLRESULTERROR. `message_id` is `None` when none could be read;
    /// [`FrameError::reply`] then uses [`UNKNOWN_MESSAGE_ID`].
    #[error("invalid frame ({code}): {description}")]
    Reply {
        message_id: Option<String>,
        code: ErrorCode,
        description: String,
        result_error: bool,
    },
    /// The frame may not be answered (a broken CALLRESULT before 2.1, a broken CALLERROR,
    /// CALLRESULTERROR or SEND): the receiver logs it and carries on.
    #[error("invalid frame, not answered: {reason}")]
    Unanswerable {
        message_id: Option<String>,
        reason: String,
    },
}

impl FrameError {
    /// The frame to send back, if any.
    pub fn reply(&self) -> Option<Frame> {
        match self {
            Self::Reply {
                message_id,
                code,
                description,
                result_error,
            } => {
                let id = message_id
                    .clone()
                    .unwrap_or_else(|| UNKNOWN_MESSAGE_ID.to_owned());
                let error = CallError::new(*code, description.clone());
                Some(if *result_error {
                    Frame::CallResultError { id, error }
                } else {
                    Frame::CallError { id, error }
                })
            }
            Self::Unanswerable { .. } => None,
        }
    }

    /// The message id of the broken frame, when one could be read.
    pub fn message_id(&self) -> Option<&str> {
        match self {
            Self::Reply { message_id, .. } | Self::Unanswerable { message_id, .. } => {
                message_id.as_deref()
            }
        }
    }
}

impl Frame {
    /// The frame's message id.
    pub fn id(&self) -> &str {
        match self {
            Self::Call { id, .. }
            | Self::CallResult { id, .. }
            | Self::CallError { id, .. }
            | Self::CallResultError { id, .. }
            | Self::Send { id, .. } => id,
        }
    }

    /// The OCPP-J message type number.
    pub fn message_type(&self) -> u8 {
        match self {
            Self::Call { .. } => 2,
            Self::CallResult { .. } => 3,
            Self::CallError { .. } => 4,
            Self::CallResultError { .. } => 5,
            Self::Send { .. } => 6,
        }
    }

    /// The frame as compact JSON, error codes spelled for `version` (e.g. 1.6's
    /// `FormationViolation`) and error descriptions cut to 255 characters.
    pub fn to_text(&self, version: OcppVersion) -> String {
        let value = match self {
            Self::Call {
                id,
                action,
                payload,
            }
            | Self::Send {
                id,
                action,
                payload,
            } => Value::Array(vec![
                self.message_type().into(),
                id.as_str().into(),
                action.as_str().into(),
                payload.clone(),
            ]),
            Self::CallResult { id, payload } => Value::Array(vec![
                self.message_type().into(),
                id.as_str().into(),
                payload.clone(),
            ]),
            Self::CallError { id, error } | Self::CallResultError { id, error } => {
                let description: String = error
                    .description
                    .chars()
                    .take(MAX_ERROR_DESCRIPTION_LEN)
                    .collect();
                // The specs require an object here; a handler that put anything else in
                // `details` must not make us send an invalid frame.
                let details = match &error.details {
                    Value::Object(_) => error.details.clone(),
                    _ => Value::Object(Map::new()),
                };
                Value::Array(vec![
                    self.message_type().into(),
                    id.as_str().into(),
                    error.code.as_str(version).into(),
                    description.into(),
                    details,
                ])
            }
        };
        // Serialising a `Value` cannot fail: every map key is a string.
        value.to_string()
    }
}

/// Parses bytes received in a WebSocket text (or binary) message; bytes that are not UTF-8
/// are treated like text that is not JSON.
pub fn parse_bytes(bytes: &[u8], version: OcppVersion) -> Result<Frame, FrameError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text, version),
        Err(_) => Err(reply(
            None,
            ErrorCode::RpcFrameworkError,
            "message is not UTF-8 text",
        )),
    }
}

/// Parses one OCPP-J frame received on a connection speaking `version`.
///
/// Error codes follow OCPP-J: a text that is not a JSON array, has the wrong number or types
/// of elements, or an unreadable message id is an `RpcFrameworkError` (1.6:
/// `FormationViolation`); a CALL payload that is not an object is a `FormatViolation`; an
/// unknown message type (or 5/6 before 2.1) is `MessageTypeNotSupported` (1.6:
/// `ProtocolError`).
pub fn parse(text: &str, version: OcppVersion) -> Result<Frame, FrameError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| reply(None, ErrorCode::RpcFrameworkError, format!("not JSON: {e}")))?;
    let Value::Array(mut items) = value else {
        return Err(reply(
            None,
            ErrorCode::RpcFrameworkError,
            "message is not a JSON array",
        ));
    };

    // The id is read first so that every later complaint can carry it. An id over 36
    // characters is not a message id: echoing it would make our own answer invalid.
    let (id, id_too_long) = match items.get(1) {
        Some(Value::String(id)) if id.chars().count() > MAX_MESSAGE_ID_LEN => (None, true),
        Some(Value::String(id)) => (Some(id.clone()), false),
        _ => (None, false),
    };
    let message_type = match items.first() {
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    let Some(message_type) = message_type else {
        return Err(reply(
            id,
            ErrorCode::RpcFrameworkError,
            "first element must be the message type number",
        ));
    };
    let known = match message_type {
        2..=4 => true,
        5 | 6 => version == OcppVersion::V21,
        _ => false,
    };
    if !known {
        return Err(reply(
            id,
            ErrorCode::MessageTypeNotSupported,
            format!("message type {message_type} is not supported in OCPP {version}"),
        ));
    }
    let Some(id) = id else {
        let description = if id_too_long {
            format!("message id is longer than {MAX_MESSAGE_ID_LEN} characters")
        } else {
            "second element must be the message id, a string".to_owned()
        };
        return Err(invalid(
            message_type,
            version,
            None,
            ErrorCode::RpcFrameworkError,
            description,
        ));
    };

    // Slice patterns check the element count and take the elements in one go.
    let not_string = |what: &str| {
        invalid(
            message_type,
            version,
            Some(id.clone()),
            ErrorCode::RpcFrameworkError,
            format!("{what} must be a string"),
        )
    };
    let not_object = || {
        invalid(
            message_type,
            version,
            Some(id.clone()),
            ErrorCode::FormatViolation,
            "payload must be a JSON object".to_owned(),
        )
    };
    match (message_type, &mut items[..]) {
        (2 | 6, [_, _, action, payload]) => {
            let Value::String(action) = action.take() else {
                return Err(not_string("the action name"));
            };
            if !payload.is_object() {
                return Err(not_object());
            }
            let payload = payload.take();
            Ok(if message_type == 2 {
                Frame::Call {
                    id,
                    action,
                    payload,
                }
            } else {
                Frame::Send {
                    id,
                    action,
                    payload,
                }
            })
        }
        (3, [_, _, payload]) => {
            if !payload.is_object() {
                return Err(not_object());
            }
            let payload = payload.take();
            Ok(Frame::CallResult { id, payload })
        }
        // Some chargers leave out an empty details object; an error is still an error.
        (4 | 5, [_, _, code, description, details @ ..]) if details.len() <= 1 => {
            let (Value::String(code), Value::String(description)) =
                (code.take(), description.take())
            else {
                return Err(not_string("the error code and description"));
            };
            let details = details
                .first_mut()
                .map(Value::take)
                .unwrap_or_else(|| Value::Object(Map::new()));
            // An error code we do not know is still an error answer: keep the answer, lose
            // only the precision.
            let code = ErrorCode::parse(&code).unwrap_or(ErrorCode::GenericError);
            let error = CallError {
                code,
                description,
                details,
            };
            Ok(if message_type == 4 {
                Frame::CallError { id, error }
            } else {
                Frame::CallResultError { id, error }
            })
        }
        (_, items) => {
            let expected = match message_type {
                2 | 6 => "4",
                3 => "3",
                _ => "4 or 5",
            };
            Err(invalid(
                message_type,
                version,
                Some(id.clone()),
                ErrorCode::RpcFrameworkError,
                format!(
                    "a message of type {message_type} has {expected} elements, not {}",
                    items.len()
                ),
            ))
        }
    }
}

fn reply(
    message_id: Option<String>,
    code: ErrorCode,
    description: impl Into<String>,
) -> FrameError {
    FrameError::Reply {
        message_id,
        code,
        description: description.into(),
        result_error: false,
    }
}

/// A broken frame of a known message type: answered when the specs allow an answer.
fn invalid(
    message_type: u64,
    version: OcppVersion,
    message_id: Option<String>,
    code: ErrorCode,
    description: String,
) -> FrameError {
    match message_type {
        2 => reply(message_id, code, description),
        // 2.1 can tell the sender of a CALLRESULT that it could not be accepted.
        3 if version == OcppVersion::V21 => FrameError::Reply {
            message_id,
            code,
            description,
            result_error: true,
        },
        _ => FrameError::Unanswerable {
            message_id,
            reason: description,
        },
    }
}

#[cfg(test)]
mod tests;
