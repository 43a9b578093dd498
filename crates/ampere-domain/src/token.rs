//! Id tokens the CSMS knows, and the authorization rule.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{IdToken, IdTokenKind};

/// The status an operator gives a token (OCPP `AuthorizationStatus`, the four values every
/// version has).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthorizationStatus {
    Accepted,
    Blocked,
    Expired,
    Invalid,
}

impl AuthorizationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "Accepted",
            Self::Blocked => "Blocked",
            Self::Expired => "Expired",
            Self::Invalid => "Invalid",
        }
    }
}

impl FromStr for AuthorizationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "Accepted" => Self::Accepted,
            "Blocked" => Self::Blocked,
            "Expired" => Self::Expired,
            "Invalid" => Self::Invalid,
            other => return Err(format!("unknown authorization status {other:?}")),
        })
    }
}

impl fmt::Display for AuthorizationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token the CSMS knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdTokenRecord {
    pub token: IdToken,
    pub status: AuthorizationStatus,
    pub expiry_date: Option<DateTime<Utc>>,
    /// The group (1.6 `parentIdTag`, 2.x `groupIdToken`) the token belongs to.
    pub group_id: Option<String>,
}

/// The answer to an authorization question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationInfo {
    pub status: AuthorizationStatus,
    pub expiry_date: Option<DateTime<Utc>>,
    pub group_id: Option<String>,
}

impl AuthorizationInfo {
    pub fn invalid() -> Self {
        Self {
            status: AuthorizationStatus::Invalid,
            expiry_date: None,
            group_id: None,
        }
    }
}

/// The rule: an unknown token is `Invalid`, except the 2.x `NoAuthorization` token, which a
/// charger sends when its own configuration lets it charge without identification (answering
/// it `Invalid` would make the charger stop a session its operator allowed; registering that
/// token with another status, e.g. `Blocked`, still decides); an `Accepted` token whose expiry date has passed
/// (at or before `now`) is `Expired`; otherwise the stored status. Expiry date and group are
/// told whenever the token is known, so the charger can cache them.
pub fn authorize(
    token: &IdToken,
    record: Option<&IdTokenRecord>,
    now: DateTime<Utc>,
) -> AuthorizationInfo {
    let Some(record) = record else {
        return match token.kind() {
            IdTokenKind::NoAuthorization => AuthorizationInfo {
                status: AuthorizationStatus::Accepted,
                expiry_date: None,
                group_id: None,
            },
            _ => AuthorizationInfo::invalid(),
        };
    };
    let expired = record.expiry_date.is_some_and(|at| at <= now);
    let status = match record.status {
        AuthorizationStatus::Accepted if expired => AuthorizationStatus::Expired,
        other => other,
    };
    AuthorizationInfo {
        status,
        expiry_date: record.expiry_date,
        group_id: record.group_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn record(status: AuthorizationStatus, expiry: Option<&str>) -> IdTokenRecord {
        IdTokenRecord {
            token: IdToken::new("TAG1", IdTokenKind::Iso14443).unwrap(),
            status,
            expiry_date: expiry.map(at),
            group_id: Some("FLEET".into()),
        }
    }

    fn card() -> IdToken {
        IdToken::new("04A1B2C3", IdTokenKind::Iso14443).unwrap()
    }

    #[test]
    fn unregistered_no_authorization_tokens_are_accepted_unless_registered_otherwise() {
        let free = IdToken::new("", IdTokenKind::NoAuthorization).unwrap();
        let now = at("2026-01-01T00:00:00Z");
        assert_eq!(
            authorize(&free, None, now).status,
            AuthorizationStatus::Accepted
        );
        let blocked = IdTokenRecord {
            token: free.clone(),
            status: AuthorizationStatus::Blocked,
            expiry_date: None,
            group_id: None,
        };
        assert_eq!(
            authorize(&free, Some(&blocked), now).status,
            AuthorizationStatus::Blocked
        );
    }

    #[test]
    fn unknown_tokens_are_invalid() {
        assert_eq!(
            authorize(&card(), None, at("2026-01-01T00:00:00Z")),
            AuthorizationInfo::invalid()
        );
    }

    #[test]
    fn accepted_tokens_expire_at_their_expiry_date() {
        let r = record(AuthorizationStatus::Accepted, Some("2026-01-01T12:00:00Z"));
        let before = authorize(&card(), Some(&r), at("2026-01-01T11:59:59Z"));
        assert_eq!(before.status, AuthorizationStatus::Accepted);
        assert_eq!(before.group_id.as_deref(), Some("FLEET"));
        assert_eq!(before.expiry_date, Some(at("2026-01-01T12:00:00Z")));
        let at_expiry = authorize(&card(), Some(&r), at("2026-01-01T12:00:00Z"));
        assert_eq!(at_expiry.status, AuthorizationStatus::Expired);
    }

    #[test]
    fn blocked_stays_blocked_even_when_expired() {
        let r = record(AuthorizationStatus::Blocked, Some("2020-01-01T00:00:00Z"));
        assert_eq!(
            authorize(&card(), Some(&r), at("2026-01-01T00:00:00Z")).status,
            AuthorizationStatus::Blocked
        );
    }
}
