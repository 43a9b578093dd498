use std::fmt;

use crate::OcppVersion;

/// The error codes a CALLERROR may carry (OCPP-J 1.6 §4.2.3, OCPP 2.0.1/2.1 part 4 §4.3).
///
/// One enum for all versions; [`ErrorCode::as_str`] spells a code the way a version expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    NotImplemented,
    NotSupported,
    InternalError,
    ProtocolError,
    SecurityError,
    /// Spelled `FormationViolation` in 1.6 and `FormatViolation` in 2.x.
    FormatViolation,
    PropertyConstraintViolation,
    OccurrenceConstraintViolation,
    TypeConstraintViolation,
    GenericError,
    /// 2.x only; 1.6 has no such code, see [`ErrorCode::as_str`].
    MessageTypeNotSupported,
    /// 2.x only; 1.6 has no such code, see [`ErrorCode::as_str`].
    RpcFrameworkError,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [Self; 12] = [
        Self::NotImplemented,
        Self::NotSupported,
        Self::InternalError,
        Self::ProtocolError,
        Self::SecurityError,
        Self::FormatViolation,
        Self::PropertyConstraintViolation,
        Self::OccurrenceConstraintViolation,
        Self::TypeConstraintViolation,
        Self::GenericError,
        Self::MessageTypeNotSupported,
        Self::RpcFrameworkError,
    ];

    /// The code as written on the wire for `version`.
    ///
    /// 1.6 lacks the two RPC-level codes of 2.x, so they fall back to the nearest 1.6 code:
    /// a frame that is not a valid RPC message is a `FormationViolation` ("not conform the
    /// PDU structure"), and a message type the receiver does not know is a `ProtocolError`
    /// (the frame is complete but breaks the protocol).
    pub fn as_str(self, version: OcppVersion) -> &'static str {
        match self {
            Self::NotImplemented => "NotImplemented",
            Self::NotSupported => "NotSupported",
            Self::InternalError => "InternalError",
            Self::ProtocolError => "ProtocolError",
            Self::SecurityError => "SecurityError",
            Self::FormatViolation if version == OcppVersion::V16 => "FormationViolation",
            Self::FormatViolation => "FormatViolation",
            Self::PropertyConstraintViolation => "PropertyConstraintViolation",
            Self::OccurrenceConstraintViolation => "OccurrenceConstraintViolation",
            Self::TypeConstraintViolation => "TypeConstraintViolation",
            Self::GenericError => "GenericError",
            Self::MessageTypeNotSupported if version == OcppVersion::V16 => "ProtocolError",
            Self::MessageTypeNotSupported => "MessageTypeNotSupported",
            Self::RpcFrameworkError if version == OcppVersion::V16 => "FormationViolation",
            Self::RpcFrameworkError => "RpcFrameworkError",
        }
    }

    /// Reads a code as any version writes it; both `FormationViolation` and
    /// `FormatViolation` give [`ErrorCode::FormatViolation`].
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "NotImplemented" => Self::NotImplemented,
            "NotSupported" => Self::NotSupported,
            "InternalError" => Self::InternalError,
            "ProtocolError" => Self::ProtocolError,
            "SecurityError" => Self::SecurityError,
            "FormationViolation" | "FormatViolation" => Self::FormatViolation,
            "PropertyConstraintViolation" => Self::PropertyConstraintViolation,
            "OccurrenceConstraintViolation" => Self::OccurrenceConstraintViolation,
            "TypeConstraintViolation" => Self::TypeConstraintViolation,
            "GenericError" => Self::GenericError,
            "MessageTypeNotSupported" => Self::MessageTypeNotSupported,
            "RpcFrameworkError" => Self::RpcFrameworkError,
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    /// The 2.x spelling; use [`ErrorCode::as_str`] when writing a frame.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str(OcppVersion::V21))
    }
}

/// What a handler answers instead of a response: becomes a CALLERROR frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct CallError {
    pub code: ErrorCode,
    pub description: String,
    /// Free-form JSON object; `{}` when there is nothing to add.
    pub details: serde_json::Value,
}

impl CallError {
    /// A CALLERROR with empty details.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_violation_is_spelled_per_version() {
        assert_eq!(
            ErrorCode::FormatViolation.as_str(OcppVersion::V16),
            "FormationViolation"
        );
        assert_eq!(
            ErrorCode::FormatViolation.as_str(OcppVersion::V201),
            "FormatViolation"
        );
        assert_eq!(
            ErrorCode::FormatViolation.as_str(OcppVersion::V21),
            "FormatViolation"
        );
    }

    #[test]
    fn two_x_only_codes_map_to_1_6_codes() {
        assert_eq!(
            ErrorCode::RpcFrameworkError.as_str(OcppVersion::V16),
            "FormationViolation"
        );
        assert_eq!(
            ErrorCode::MessageTypeNotSupported.as_str(OcppVersion::V16),
            "ProtocolError"
        );
    }

    #[test]
    fn parse_reads_what_as_str_writes() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str(OcppVersion::V21)), Some(code));
        }
        assert_eq!(
            ErrorCode::parse("FormationViolation"),
            Some(ErrorCode::FormatViolation)
        );
        assert_eq!(ErrorCode::parse("Nope"), None);
    }
}
