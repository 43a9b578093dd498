//! Authorize (2.0.1 and 2.1): the token's status, cache expiry and group. Contract
//! certificates (`certificate`, `iso15118CertificateHashData`) are not checked yet, so the
//! answer carries no `certificateStatus`; no tariff or energy-transfer restrictions are
//! given in 2.1 (Ampere has neither yet).

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types. The `field: value` pairs fill the answer's fields only that version has.
macro_rules! handler {
    ($v:ident $(, $field:ident: $value:expr)* $(,)?) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{AuthorizeRequest, AuthorizeResponse};

            use crate::context::Ctx;
            use crate::error::domain_error;
            use crate::two_x::map::$v as map;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                request: AuthorizeRequest,
            ) -> Result<AuthorizeResponse, CallError> {
                let token = map::id_token(&request.id_token)?;
                let info = ctx
                    .services
                    .authorization
                    .authorize(&token)
                    .await
                    .map_err(domain_error)?;
                Ok(AuthorizeResponse {
                    custom_data: None,
                    id_token_info: map::id_token_info(info),
                    certificate_status: None,
                    $($field: $value,)*
                })
            }
        }
    };
}

handler!(v201);
// 2.1 can restrict the energy transfer and give a tariff; Ampere has neither yet.
handler!(v21, allowed_energy_transfer: None, tariff: None);

#[cfg(test)]
mod tests {
    use ampere_domain::AuthorizationStatus;
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::{Harness, two_x_tests};

    async fn answers_the_stored_status_expiry_and_group(version: OcppVersion) {
        let h = Harness::new().await;
        h.token(
            "OK1",
            AuthorizationStatus::Accepted,
            Some("2027-01-01T00:00:00Z"),
            Some("FLEET"),
        )
        .await;
        h.token("BLOCKED1", AuthorizationStatus::Blocked, None, None)
            .await;
        h.token(
            "OLD1",
            AuthorizationStatus::Accepted,
            Some("2025-01-01T00:00:00Z"),
            None,
        )
        .await;
        let cases = [
            (
                "OK1",
                "ISO14443",
                json!({
                    "status": "Accepted",
                    "cacheExpiryDateTime": "2027-01-01T00:00:00Z",
                    "groupIdToken": {"idToken": "FLEET", "type": "Central"}
                }),
            ),
            (
                "ok1",
                "eMAID",
                json!({
                    "status": "Accepted",
                    "cacheExpiryDateTime": "2027-01-01T00:00:00Z",
                    "groupIdToken": {"idToken": "FLEET", "type": "Central"}
                }),
            ),
            ("BLOCKED1", "ISO14443", json!({"status": "Blocked"})),
            (
                "OLD1",
                "ISO14443",
                json!({"status": "Expired", "cacheExpiryDateTime": "2025-01-01T00:00:00Z"}),
            ),
            ("NOBODY", "KeyCode", json!({"status": "Invalid"})),
        ];
        for (token, kind, expected) in cases {
            let answer = h
                .ok(
                    version,
                    "Authorize",
                    json!({"idToken": {"idToken": token, "type": kind}}),
                )
                .await;
            assert_eq!(answer, json!({"idTokenInfo": expected}), "idToken {token}");
        }
    }

    two_x_tests!(answers_the_stored_status_expiry_and_group);
}
