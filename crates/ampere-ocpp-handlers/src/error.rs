//! The one table from what can go wrong while handling a message to the CALLERROR a charger
//! gets. Every failure is logged here, once, with its cause; the charger gets a short
//! description that leaks no internals (no SQL, no paths).

use ampere_domain::{DomainError, InvalidId, StoreError};
use ampere_ocpp::{CallError, ErrorCode};

/// A domain failure as a CALLERROR.
///
/// | domain error | CALLERROR | why |
/// |---|---|---|
/// | store unavailable | `InternalError` | transient: the charger retries the message later |
/// | other store errors (conflict, corrupt, SQL) | `InternalError` | a bug or a broken database; logged as an error |
/// | charger not registered | `SecurityError` | it must boot and be admitted first |
/// | an id the model refuses (e.g. EVSE number out of range) | `PropertyConstraintViolation` | a field has a value we cannot take |
/// | a request breaking a rule of the model | `PropertyConstraintViolation` | idem |
/// | charger exists, password hashing | `InternalError` | cannot happen on the charger-facing path; a bug if it does |
///
/// (A Rust `From` impl is not possible here: both types belong to other crates.)
pub(crate) fn domain_error(error: DomainError) -> CallError {
    match &error {
        DomainError::Store(StoreError::Unavailable(_)) => {
            tracing::warn!(%error, "store unavailable; answering InternalError");
            CallError::new(
                ErrorCode::InternalError,
                "store temporarily unavailable, retry later",
            )
        }
        DomainError::Store(_) | DomainError::ChargerExists(_) | DomainError::Password(_) => {
            tracing::error!(%error, "domain call failed; answering InternalError");
            CallError::new(ErrorCode::InternalError, "internal error")
        }
        DomainError::UnknownCharger(_) => {
            tracing::warn!(%error, "message from an unregistered charger");
            CallError::new(ErrorCode::SecurityError, "charger is not registered")
        }
        DomainError::InvalidId(_) | DomainError::Invalid(_) => {
            tracing::warn!(%error, "request refused by the domain model");
            CallError::new(ErrorCode::PropertyConstraintViolation, error.to_string())
        }
    }
}

/// An identifier the domain refuses (negative or too large EVSE number, over-long id...).
pub(crate) fn invalid_id(error: InvalidId) -> CallError {
    domain_error(DomainError::InvalidId(error))
}

/// A payload that passed schema validation but does not decode into its generated type. The
/// schemas allow numbers the generated types cannot hold (integers beyond 64 bits, decimals
/// beyond 28 digits); that is a value out of the range Ampere supports, not a malformed
/// message.
pub(crate) fn undecodable(error: serde_json::Error) -> CallError {
    tracing::warn!(%error, "valid payload does not decode into its generated type");
    CallError::new(
        ErrorCode::PropertyConstraintViolation,
        format!("value out of the range Ampere supports: {error}"),
    )
}

/// A bug on our side: logged as an error, answered `InternalError`.
pub(crate) fn internal(what: &str) -> CallError {
    tracing::error!(what, "internal error while answering a charger");
    CallError::new(ErrorCode::InternalError, "internal error")
}

#[cfg(test)]
mod tests {
    use ampere_domain::ChargerId;

    use super::*;

    #[test]
    fn every_domain_error_has_its_code() {
        let id = ChargerId::new("CP1").expect("id");
        let cases = [
            (
                DomainError::Store(StoreError::Unavailable("pool timeout".into())),
                ErrorCode::InternalError,
            ),
            (
                DomainError::Store(StoreError::Other("syntax error near SELECT".into())),
                ErrorCode::InternalError,
            ),
            (
                DomainError::UnknownCharger(id.clone()),
                ErrorCode::SecurityError,
            ),
            (
                DomainError::InvalidId(InvalidId::OutOfRange { what: "EVSE id" }),
                ErrorCode::PropertyConstraintViolation,
            ),
            (
                DomainError::Invalid("no EVSE".into()),
                ErrorCode::PropertyConstraintViolation,
            ),
            (DomainError::ChargerExists(id), ErrorCode::InternalError),
        ];
        for (error, code) in cases {
            let text = error.to_string();
            let call_error = domain_error(error);
            assert_eq!(call_error.code, code, "{text}");
        }
    }

    #[test]
    fn store_internals_do_not_reach_the_charger() {
        let e = domain_error(DomainError::Store(StoreError::Other(
            "syntax error near SELECT".into(),
        )));
        assert!(!e.description.contains("SELECT"), "{}", e.description);
    }
}
