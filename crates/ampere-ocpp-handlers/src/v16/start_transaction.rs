//! StartTransaction (1.6): a `Started` event for the domain's transaction service, which
//! numbers the transaction; that serial number is the 1.6 `transactionId`. A retried start
//! (same connector, token, meter start and time) gets the same number again, so a charger
//! that lost the first answer does not create a second transaction.

use ampere_domain::{AuthorizationInfo, TransactionEvent, TransactionEventKind};
use ampere_ocpp::CallError;
use ampere_ocpp::v16::{StartTransactionRequest, StartTransactionResponse};
use rust_decimal::Decimal;

use super::map;
use crate::context::Ctx;
use crate::error::domain_error;
use crate::wire::place_16;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: StartTransactionRequest,
) -> Result<StartTransactionResponse, CallError> {
    let event = TransactionEvent {
        place: Some(place_16(request.connector_id)?),
        id_token: Some(map::id_token(&request.id_tag)?),
        reservation_id: request.reservation_id,
        // 1.6 `meterStart` is in Wh.
        meter_start_wh: Some(Decimal::from(request.meter_start)),
        ..TransactionEvent::new(
            ctx.charger_id().clone(),
            TransactionEventKind::Started,
            request.timestamp,
        )
    };
    let outcome = ctx
        .services
        .transactions
        .record_event(&event)
        .await
        .map_err(domain_error)?;
    if outcome.duplicate {
        tracing::info!(
            transaction_id = outcome.transaction.serial,
            "retried StartTransaction; same transaction"
        );
    } else {
        ctx.reservation_used(request.reservation_id).await;
    }
    // The event carried a token, so the domain authorized it; `Invalid` is the safe answer
    // should it ever not have.
    let info = outcome
        .authorization
        .unwrap_or_else(AuthorizationInfo::invalid);
    Ok(StartTransactionResponse {
        id_tag_info: map::id_tag_info(info),
        transaction_id: outcome.transaction.serial,
    })
}

#[cfg(test)]
mod tests {
    use ampere_domain::{AuthorizationStatus, TransactionStatus};
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::{Harness, at};

    #[tokio::test]
    async fn numbers_the_transaction_and_a_retry_gets_the_same_number() {
        let h = Harness::new().await;
        h.token("TAG-1", AuthorizationStatus::Accepted, None, Some("FLEET"))
            .await;
        let request = json!({
            "connectorId": 2, "idTag": "TAG-1", "meterStart": 1500,
            "reservationId": 7, "timestamp": "2026-01-01T10:00:00Z"
        });
        let first = h
            .ok(OcppVersion::V16, "StartTransaction", request.clone())
            .await;
        let id = first["transactionId"].as_i64().expect("numeric id");
        assert!(id > 0);
        assert_eq!(
            first,
            json!({"idTagInfo": {"parentIdTag": "FLEET", "status": "Accepted"}, "transactionId": id})
        );
        let retry = h.ok(OcppVersion::V16, "StartTransaction", request).await;
        assert_eq!(retry, first, "a retried start gets the same transaction");

        let t = h
            .services
            .transactions
            .by_serial(id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t.status, TransactionStatus::Active);
        assert_eq!(t.meter_start_wh, Some(1500.into()));
        assert_eq!(t.started_at, at("2026-01-01T10:00:00Z"));
        assert_eq!(t.reservation_id, Some(7));
        assert_eq!(t.id_token.as_ref().map(|t| t.value()), Some("TAG-1"));
        let place = t.place.expect("place");
        assert_eq!((place.evse.get(), place.connector.get()), (2, 1));
    }

    #[tokio::test]
    async fn an_unknown_token_still_gets_a_transaction_but_invalid() {
        let h = Harness::new().await;
        let answer = h
            .ok(
                OcppVersion::V16,
                "StartTransaction",
                json!({"connectorId": 1, "idTag": "STRANGER", "meterStart": 0, "timestamp": "2026-01-01T10:00:00Z"}),
            )
            .await;
        assert_eq!(answer["idTagInfo"], json!({"status": "Invalid"}));
        assert!(answer["transactionId"].as_i64().is_some_and(|id| id > 0));
    }
}
