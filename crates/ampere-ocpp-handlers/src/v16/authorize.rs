//! Authorize (1.6): the token's status, expiry date and group (`parentIdTag`).

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{AuthorizeRequest, AuthorizeResponse};

use super::map;
use crate::context::Ctx;
use crate::error::domain_error;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: AuthorizeRequest,
) -> Result<AuthorizeResponse, CallError> {
    let token = map::id_token(&request.id_tag)?;
    let info = ctx
        .services
        .authorization
        .authorize(&token)
        .await
        .map_err(domain_error)?;
    Ok(AuthorizeResponse {
        id_tag_info: map::id_tag_info(info),
    })
}

#[cfg(test)]
mod tests {
    use ampere_domain::AuthorizationStatus;
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::Harness;

    #[tokio::test]
    async fn answers_the_stored_status_expiry_and_group() {
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
                json!({"status": "Accepted", "expiryDate": "2027-01-01T00:00:00Z", "parentIdTag": "FLEET"}),
            ),
            (
                "ok1",
                json!({"status": "Accepted", "expiryDate": "2027-01-01T00:00:00Z", "parentIdTag": "FLEET"}),
            ),
            ("BLOCKED1", json!({"status": "Blocked"})),
            (
                "OLD1",
                json!({"status": "Expired", "expiryDate": "2025-01-01T00:00:00Z"}),
            ),
            ("NOBODY", json!({"status": "Invalid"})),
        ];
        for (tag, expected) in cases {
            let answer = h
                .ok(OcppVersion::V16, "Authorize", json!({"idTag": tag}))
                .await;
            assert_eq!(answer, json!({"idTagInfo": expected}), "idTag {tag}");
        }
    }
}
