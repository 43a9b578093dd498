//! StopTransaction (1.6): an `Ended` event for the transaction numbered `transactionId`,
//! with the stop reading, reason and `transactionData` meter values (stored). A stop for a
//! transaction Ampere never saw start is recorded (flagged as such), not dropped; a retried
//! stop (same time and reading) is answered again without being stored twice.

use ampere_domain::{TransactionEvent, TransactionEventKind, TransactionId};
use ampere_ocpp::CallError;
use ampere_ocpp::v16::{StopTransactionRequest, StopTransactionResponse};
use rust_decimal::Decimal;

use super::map;
use crate::context::Ctx;
use crate::error::domain_error;
use crate::wire::wire;

pub(crate) async fn handle(
    ctx: &Ctx<'_>,
    request: StopTransactionRequest,
) -> Result<StopTransactionResponse, CallError> {
    let id = TransactionId::from_number(request.transaction_id);
    let id_token = request.id_tag.as_deref().map(map::id_token).transpose()?;

    let event = TransactionEvent {
        transaction_id: Some(id),
        id_token,
        // 1.6 leaves `reason` out only when it is `Local` (the spec's default).
        stop_reason: Some(
            request
                .reason
                .as_ref()
                .map_or_else(|| "Local".to_owned(), wire),
        ),
        // 1.6 `meterStop` is in Wh.
        meter_stop_wh: Some(Decimal::from(request.meter_stop)),
        meter_values: map::transaction_data(
            request.transaction_data.as_deref().unwrap_or_default(),
        ),
        ..TransactionEvent::new(
            ctx.charger_id().clone(),
            TransactionEventKind::Ended,
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
        // 1.6 has no sequence numbers; the domain recognises a stop that repeats the
        // recorded end (a charger that lost our answer) and changes nothing.
        tracing::info!(
            transaction_id = request.transaction_id,
            "retried StopTransaction; already recorded"
        );
    } else if outcome.transaction.unknown_start {
        tracing::warn!(
            transaction_id = request.transaction_id,
            "StopTransaction for a transaction never started here; recorded"
        );
    }
    Ok(StopTransactionResponse {
        id_tag_info: outcome.authorization.map(map::id_tag_info),
    })
}

#[cfg(test)]
mod tests {
    use ampere_domain::{AuthorizationStatus, TransactionStatus};
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::{Harness, at, charger_id};

    async fn start(h: &Harness) -> i64 {
        let answer = h
            .ok(
                OcppVersion::V16,
                "StartTransaction",
                json!({"connectorId": 1, "idTag": "TAG-1", "meterStart": 1000, "timestamp": "2026-01-01T10:00:00Z"}),
            )
            .await;
        answer["transactionId"].as_i64().expect("id")
    }

    #[tokio::test]
    async fn ends_the_transaction_with_energy_reason_and_meter_data() {
        let h = Harness::new().await;
        h.token("TAG-1", AuthorizationStatus::Accepted, None, None)
            .await;
        let id = start(&h).await;
        let stop = json!({
            "idTag": "TAG-1", "meterStop": 4500, "timestamp": "2026-01-01T11:00:00Z",
            "transactionId": id, "reason": "EVDisconnected",
            "transactionData": [{"timestamp": "2026-01-01T11:00:00Z", "sampledValue": [
                {"value": "4500", "context": "Transaction.End", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
            ]}]
        });
        let answer = h
            .ok(OcppVersion::V16, "StopTransaction", stop.clone())
            .await;
        assert_eq!(answer, json!({"idTagInfo": {"status": "Accepted"}}));

        let t = h
            .services
            .transactions
            .by_serial(id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t.status, TransactionStatus::Completed);
        assert_eq!(t.stopped_at, Some(at("2026-01-01T11:00:00Z")));
        assert_eq!(t.stop_reason.as_deref(), Some("EVDisconnected"));
        assert_eq!(t.meter_stop_wh, Some(4500.into()));
        assert_eq!(t.energy_wh, Some(3500.into()));
        let values = h.services.transactions.meter_values(id).await.unwrap();
        assert_eq!(values.len(), 1, "transactionData stored");
        assert_eq!(
            values[0].sampled[0].context.as_deref(),
            Some("Transaction.End")
        );

        // The charger lost our answer and sends the stop again: same answer, nothing twice.
        let again = h.ok(OcppVersion::V16, "StopTransaction", stop).await;
        assert_eq!(again, answer);
        assert_eq!(
            h.services
                .transactions
                .meter_values(id)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            h.services.transactions.events(id).await.unwrap().len(),
            2,
            "start and one stop"
        );
    }

    #[tokio::test]
    async fn a_stop_without_reason_is_local_and_without_id_tag_has_no_id_tag_info() {
        let h = Harness::new().await;
        let id = start(&h).await;
        let answer = h
            .ok(
                OcppVersion::V16,
                "StopTransaction",
                json!({"meterStop": 1200, "timestamp": "2026-01-01T10:10:00Z", "transactionId": id}),
            )
            .await;
        assert_eq!(answer, json!({}));
        let t = h
            .services
            .transactions
            .by_serial(id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t.stop_reason.as_deref(), Some("Local"));
    }

    #[tokio::test]
    async fn a_stop_for_an_unknown_transaction_is_recorded() {
        let h = Harness::new().await;
        let answer = h
            .ok(
                OcppVersion::V16,
                "StopTransaction",
                json!({"meterStop": 900, "timestamp": "2026-01-01T10:10:00Z", "transactionId": 4242}),
            )
            .await;
        assert_eq!(answer, json!({}));
        let id = ampere_domain::TransactionId::from_number(4242);
        let t = h
            .services
            .transactions
            .get(&charger_id(), &id)
            .await
            .unwrap()
            .expect("recorded");
        assert!(t.unknown_start);
        assert_eq!(t.status, TransactionStatus::Completed);
        assert_eq!(t.meter_stop_wh, Some(900.into()));
    }
}
