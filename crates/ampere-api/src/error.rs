//! Every error the API answers, in one table: its HTTP status, its problem type and title.
//! Answers are `application/problem+json` (RFC 9457) with `type`, `title`, `status` and
//! `detail`; a charger's CALLERROR adds its OCPP code, description and details.

use ampere_domain::{ApiRole, DomainError, StoreError};
use ampere_gateway::CommandError;
use ampere_ocpp::OcppVersion;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The media type of error answers.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No `Authorization: Bearer` token, or one that is unknown or revoked.
    #[error("a valid API token is required (Authorization: Bearer <token>)")]
    Unauthorized,
    /// The token's role is below what the endpoint needs.
    #[error("this needs the {0} role or higher")]
    Forbidden(ApiRole),
    #[error("{0}")]
    NotFound(String),
    #[error("this endpoint does not accept that method")]
    MethodNotAllowed,
    /// The request is malformed or breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with what exists (e.g. the id is taken).
    #[error("{0}")]
    Conflict(String),
    /// Understood but not allowed, for a reason other than the caller's role (e.g. an
    /// upload link that expired or was used).
    #[error("{0}")]
    Refused(String),
    /// The body is over a size limit.
    #[error("{0}")]
    TooLarge(String),
    /// The command (or what it asks for) does not exist in the OCPP version the charger is
    /// connected with, e.g. a display message to a 1.6 charger.
    #[error("{0}")]
    NotInVersion(String),
    /// The OCPP payload a command would send is not valid for the charger's version.
    #[error("{0}")]
    InvalidOcpp(String),
    #[error("charger {0} is not connected")]
    ChargerOffline(String),
    #[error("the charger did not answer in time")]
    ChargerTimeout,
    #[error("the connection to the charger was lost before it answered")]
    ConnectionLost,
    #[error("the charger answered CALLERROR {code}: {description}")]
    ChargerError {
        code: String,
        description: String,
        details: Value,
    },
    #[error("the charger's answer is not valid: {0}")]
    ChargerBadResponse(String),
    #[error("too many calls are already waiting for this charger")]
    ChargerBusy,
    /// The charger reconnected with another OCPP version while the request was prepared.
    #[error("{0}")]
    VersionChanged(String),
    /// The database cannot be reached; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or corrupt data; the detail is logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The one table: status, problem type (the last part of its URN) and title.
    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::Unauthorized => (S::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Self::Forbidden(_) => (S::FORBIDDEN, "forbidden", "Forbidden"),
            Self::NotFound(_) => (S::NOT_FOUND, "not-found", "Not found"),
            Self::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::BadRequest(_) => (S::BAD_REQUEST, "bad-request", "Bad request"),
            Self::Conflict(_) => (S::CONFLICT, "conflict", "Conflict"),
            Self::Refused(_) => (S::FORBIDDEN, "refused", "Refused"),
            Self::TooLarge(_) => (S::PAYLOAD_TOO_LARGE, "too-large", "Payload too large"),
            Self::NotInVersion(_) => (
                S::UNPROCESSABLE_ENTITY,
                "not-in-ocpp-version",
                "Not available in the charger's OCPP version",
            ),
            Self::InvalidOcpp(_) => (
                S::BAD_REQUEST,
                "invalid-ocpp-payload",
                "Invalid OCPP payload",
            ),
            Self::ChargerOffline(_) => (S::CONFLICT, "charger-offline", "Charger offline"),
            Self::ChargerTimeout => (
                S::GATEWAY_TIMEOUT,
                "charger-timeout",
                "Charger did not answer",
            ),
            Self::ConnectionLost => (
                S::GATEWAY_TIMEOUT,
                "charger-connection-lost",
                "Charger connection lost",
            ),
            Self::ChargerError { .. } => (
                S::BAD_GATEWAY,
                "charger-call-error",
                "Charger answered with an error",
            ),
            Self::ChargerBadResponse(_) => (
                S::BAD_GATEWAY,
                "charger-invalid-response",
                "Charger's answer is invalid",
            ),
            Self::ChargerBusy => (
                S::SERVICE_UNAVAILABLE,
                "charger-busy",
                "Too many calls waiting for the charger",
            ),
            Self::VersionChanged(_) => (
                S::CONFLICT,
                "charger-version-changed",
                "Charger reconnected with another OCPP version",
            ),
            Self::Unavailable(_) => (S::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            Self::Internal(_) => (
                S::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind().0
    }

    /// The problem document this error is answered with.
    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.kind();
        let detail = match self {
            Self::Internal(_) => "the server failed; the cause is in its log".to_owned(),
            other => other.to_string(),
        };
        let (ocpp_error_code, ocpp_error_description, ocpp_error_details) = match self {
            Self::ChargerError {
                code,
                description,
                details,
            } => (
                Some(code.clone()),
                Some(description.clone()),
                Some(details.clone()),
            ),
            _ => (None, None, None),
        };
        Problem {
            r#type: format!("urn:ampere:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            ocpp_error_code,
            ocpp_error_description,
            ocpp_error_details,
        }
    }
}

/// An error answer (RFC 9457 problem details).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URN naming the kind of problem, e.g. `urn:ampere:problem:charger-offline`.
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The charger's CALLERROR code (only for `charger-call-error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocpp_error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocpp_error_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocpp_error_details: Option<Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(cause) => tracing::error!(%cause, "API request failed"),
            Self::Unavailable(cause) => tracing::warn!(%cause, "API request failed"),
            _ => {}
        }
        let problem = self.problem();
        let status = self.status();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if matches!(self, Self::Unauthorized) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ampere\""),
            );
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Store(StoreError::Unavailable(m)) => {
                Self::Unavailable(format!("the database is unavailable: {m}"))
            }
            DomainError::Store(StoreError::Conflict(m)) => Self::Conflict(m),
            DomainError::Store(other) => Self::Internal(other.to_string()),
            DomainError::UnknownCharger(id) => Self::NotFound(format!("no charger {id}")),
            DomainError::ChargerExists(id) => {
                Self::Conflict(format!("charger {id} is already registered"))
            }
            DomainError::InvalidId(e) => Self::BadRequest(e.to_string()),
            DomainError::Invalid(m) => Self::BadRequest(m),
            DomainError::Password(m) => Self::Internal(m),
        }
    }
}

impl ApiError {
    /// A failed CSMS-initiated call to the charger named, connected with `version`.
    pub fn from_command(charger: &str, version: OcppVersion, e: CommandError) -> Self {
        match e {
            CommandError::Offline => Self::ChargerOffline(charger.to_owned()),
            CommandError::Timeout => Self::ChargerTimeout,
            CommandError::ConnectionLost => Self::ConnectionLost,
            CommandError::QueueFull => Self::ChargerBusy,
            CommandError::Rejected(call_error) => Self::ChargerError {
                code: call_error.code.as_str(version).to_owned(),
                description: call_error.description,
                details: call_error.details,
            },
            CommandError::InvalidResponse(m) => Self::ChargerBadResponse(m),
            e @ CommandError::WrongVersion { .. } => {
                Self::VersionChanged(format!("{e}; send the command again"))
            }
            CommandError::InvalidRequest(m) => Self::Internal(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_distinct_problem_type() {
        let errors = [
            ApiError::Unauthorized,
            ApiError::Forbidden(ApiRole::Admin),
            ApiError::NotFound(String::new()),
            ApiError::MethodNotAllowed,
            ApiError::BadRequest(String::new()),
            ApiError::Conflict(String::new()),
            ApiError::Refused(String::new()),
            ApiError::TooLarge(String::new()),
            ApiError::NotInVersion(String::new()),
            ApiError::InvalidOcpp(String::new()),
            ApiError::ChargerOffline(String::new()),
            ApiError::ChargerTimeout,
            ApiError::ConnectionLost,
            ApiError::ChargerError {
                code: String::new(),
                description: String::new(),
                details: Value::Null,
            },
            ApiError::ChargerBadResponse(String::new()),
            ApiError::ChargerBusy,
            ApiError::VersionChanged(String::new()),
            ApiError::Unavailable(String::new()),
            ApiError::Internal(String::new()),
        ];
        let mut types: Vec<String> = errors.iter().map(|e| e.problem().r#type).collect();
        types.sort();
        types.dedup();
        assert_eq!(types.len(), errors.len());
    }

    #[test]
    fn command_errors_map_to_the_statuses_spec_names() {
        let status = |e| ApiError::from_command("CP", OcppVersion::V201, e).status();
        assert_eq!(status(CommandError::Offline), StatusCode::CONFLICT);
        assert_eq!(status(CommandError::Timeout), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(
            status(CommandError::ConnectionLost),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            status(CommandError::Rejected(ampere_ocpp::CallError {
                code: ampere_ocpp::ErrorCode::NotSupported,
                description: "no".into(),
                details: Value::Null,
            })),
            StatusCode::BAD_GATEWAY
        );
    }

    #[test]
    fn internal_details_are_not_shown() {
        let problem = ApiError::Internal("secret SQL".into()).problem();
        assert!(!problem.detail.contains("secret"));
    }
}
