//! Bearer-token authentication and role checks, as extractors: a handler names the role it
//! needs in its signature (`_: Operator`), so no handler can forget the check, and the check
//! runs before the body is read (a viewer gets 403, not a complaint about its body).
//!
//! 401 (with `WWW-Authenticate: Bearer`) when the token is missing, malformed, unknown or
//! revoked; 403 when it is valid but its role is too low.

use ampere_domain::{ApiRole, ApiToken};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::ApiState;
use crate::error::ApiError;

/// The token a request was made with.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: ApiToken,
}

impl Caller {
    /// Who did it, for the audit log.
    pub fn actor(&self) -> String {
        format!("{} (token {})", self.token.name, self.token.id)
    }
}

/// The token text of an `Authorization: Bearer <token>` header.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

async fn authenticate(parts: &Parts, state: &ApiState, need: ApiRole) -> Result<Caller, ApiError> {
    let presented = bearer(parts).ok_or(ApiError::Unauthorized)?;
    let token = state
        .tokens
        .authenticate(presented)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if !token.role.allows(need) {
        return Err(ApiError::Forbidden(need));
    }
    Ok(Caller { token })
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Caller);

        impl FromRequestParts<ApiState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &ApiState,
            ) -> Result<Self, Self::Rejection> {
                authenticate(parts, state, $role).await.map($name)
            }
        }
    };
}

role_extractor!(
    /// Any valid token (viewer and up).
    Viewer,
    ApiRole::Viewer
);
role_extractor!(
    /// An operator or admin token.
    Operator,
    ApiRole::Operator
);
role_extractor!(
    /// An admin token.
    Admin,
    ApiRole::Admin
);

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(header: Option<&str>) -> Parts {
        let mut request = Request::builder().uri("/");
        if let Some(h) = header {
            request = request.header(AUTHORIZATION, h);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn only_bearer_headers_carry_a_token() {
        assert_eq!(bearer(&parts(Some("Bearer abc"))), Some("abc"));
        assert_eq!(bearer(&parts(Some("bearer  abc "))), Some("abc"));
        assert_eq!(bearer(&parts(Some("Basic abc"))), None);
        assert_eq!(bearer(&parts(Some("Bearer "))), None);
        assert_eq!(bearer(&parts(Some("Bearer"))), None);
        assert_eq!(bearer(&parts(None)), None);
    }
}
