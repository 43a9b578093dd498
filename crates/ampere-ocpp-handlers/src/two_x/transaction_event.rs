//! TransactionEvent (2.0.1 and 2.1): Started, Updated and Ended events feed the domain's
//! transaction service, deduplicated by (transactionId, seqNo); an event for a transaction
//! never seen starting is recorded, flagged. The answer carries `idTokenInfo` when the
//! event carried an id token.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types. The `field: value` pairs fill the answer's fields only that version has.
macro_rules! handler {
    ($v:ident $(, $field:ident: $value:expr)* $(,)?) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{TransactionEventRequest, TransactionEventResponse};

            use crate::context::Ctx;
            use crate::error::domain_error;
            use crate::two_x::map::$v as map;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                request: TransactionEventRequest,
            ) -> Result<TransactionEventResponse, CallError> {
                let event = map::transaction_event(ctx.charger_id(), &request)?;
                let outcome = ctx
                    .services
                    .transactions
                    .record_event(&event)
                    .await
                    .map_err(domain_error)?;
                if outcome.duplicate {
                    tracing::info!(
                        transaction_id = %request.transaction_info.transaction_id,
                        seq_no = request.seq_no,
                        "TransactionEvent seen before; acknowledged again"
                    );
                } else {
                    ctx.reservation_used(event.reservation_id).await;
                }
                Ok(TransactionEventResponse {
                    custom_data: None,
                    total_cost: None,
                    charging_priority: None,
                    id_token_info: outcome.authorization.map(map::id_token_info),
                    updated_personal_message: None,
                    $($field: $value,)*
                })
            }
        }
    };
}

handler!(v201);
// 2.1 can set limits on the transaction and add personal messages; Ampere sets none.
handler!(v21, transaction_limit: None, updated_personal_message_extra: None);

#[cfg(test)]
mod tests {
    use ampere_domain::{AuthorizationStatus, TransactionId, TransactionStatus};
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use crate::testing::{Harness, at, charger_id, two_x_tests};

    fn event(kind: &str, seq_no: i64, extra: Value) -> Value {
        let mut e = json!({
            "eventType": kind, "timestamp": "2026-01-01T10:00:00Z", "triggerReason": "Authorized",
            "seqNo": seq_no, "transactionInfo": {"transactionId": "tx-1"}
        });
        for (k, v) in extra.as_object().expect("object") {
            e[k] = v.clone();
        }
        e
    }

    async fn a_whole_transaction_with_dedup_and_token_info(version: OcppVersion) {
        let h = Harness::new().await;
        h.token("TOK", AuthorizationStatus::Accepted, None, Some("FLEET"))
            .await;
        let started = event(
            "Started",
            0,
            json!({
                "idToken": {"idToken": "TOK", "type": "ISO14443"},
                "evse": {"id": 1, "connectorId": 1},
                "meterValue": [{"timestamp": "2026-01-01T10:00:00Z", "sampledValue": [
                    {"value": 1000, "context": "Transaction.Begin", "measurand": "Energy.Active.Import.Register"}]}]
            }),
        );
        let answer = h.ok(version, "TransactionEvent", started.clone()).await;
        assert_eq!(
            answer,
            json!({"idTokenInfo": {"status": "Accepted", "groupIdToken": {"idToken": "FLEET", "type": "Central"}}})
        );

        let updated = event(
            "Updated",
            1,
            json!({
                "triggerReason": "MeterValuePeriodic", "offline": true,
                "transactionInfo": {"transactionId": "tx-1", "chargingState": "Charging"},
                "meterValue": [{"timestamp": "2026-01-01T10:30:00Z", "sampledValue": [{"value": 3000.5}]}]
            }),
        );
        assert_eq!(
            h.ok(version, "TransactionEvent", updated.clone()).await,
            json!({}),
            "no token, no idTokenInfo"
        );
        // The same event again (same seqNo) changes nothing.
        assert_eq!(h.ok(version, "TransactionEvent", updated).await, json!({}));

        let ended = event(
            "Ended",
            2,
            json!({
                "timestamp": "2026-01-01T11:00:00Z", "triggerReason": "EVCommunicationLost",
                "transactionInfo": {"transactionId": "tx-1", "stoppedReason": "EVDisconnected"},
                "meterValue": [{"timestamp": "2026-01-01T11:00:00Z", "sampledValue": [
                    {"value": 4000, "context": "Transaction.End"}]}]
            }),
        );
        h.ok(version, "TransactionEvent", ended).await;

        let id = TransactionId::new("tx-1").unwrap();
        let t = h
            .services
            .transactions
            .get(&charger_id(), &id)
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(t.status, TransactionStatus::Completed);
        assert_eq!(t.started_at, at("2026-01-01T10:00:00Z"));
        assert_eq!(t.stopped_at, Some(at("2026-01-01T11:00:00Z")));
        assert_eq!(t.stop_reason.as_deref(), Some("EVDisconnected"));
        assert_eq!(
            t.last_trigger_reason.as_deref(),
            Some("EVCommunicationLost")
        );
        assert_eq!(t.charging_state.as_deref(), Some("Charging"));
        assert!(t.offline);
        assert_eq!(t.last_seq_no, Some(2));
        assert_eq!(t.energy_wh, Some(3000.into()));
        let place = t.place.expect("place");
        assert_eq!((place.evse.get(), place.connector.get()), (1, 1));
        assert_eq!(
            h.services
                .transactions
                .events(t.serial)
                .await
                .unwrap()
                .len(),
            3,
            "the duplicate is not stored"
        );
        assert_eq!(
            h.services
                .transactions
                .meter_values(t.serial)
                .await
                .unwrap()
                .len(),
            3
        );
    }

    async fn an_end_without_a_start_is_recorded(version: OcppVersion) {
        let h = Harness::new().await;
        let ended = event(
            "Ended",
            7,
            json!({"transactionInfo": {"transactionId": "lost-1", "stoppedReason": "PowerLoss"}}),
        );
        assert_eq!(h.ok(version, "TransactionEvent", ended).await, json!({}));
        let id = TransactionId::new("lost-1").unwrap();
        let t = h
            .services
            .transactions
            .get(&charger_id(), &id)
            .await
            .unwrap()
            .expect("recorded");
        assert!(t.unknown_start);
        assert_eq!(t.stop_reason.as_deref(), Some("PowerLoss"));
    }

    two_x_tests!(
        a_whole_transaction_with_dedup_and_token_info,
        an_end_without_a_start_is_recorded
    );
}
