//! ReservationStatusUpdate (2.0.1 and 2.1): the charger says a reservation ended without
//! being used (`Expired`, `Removed`; 2.1 also `NoTransaction`). The request is kept as a
//! report, and an open reservation of this charger with that id takes the status (see
//! `ampere_domain::reservation`). An unknown id, another charger's reservation or one already
//! closed is only acknowledged: the charger cannot act on anything else.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{
                ReservationStatusUpdateRequest, ReservationStatusUpdateResponse,
            };

            use crate::context::Ctx;
            use crate::error::domain_error;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                request: ReservationStatusUpdateRequest,
            ) -> Result<ReservationStatusUpdateResponse, CallError> {
                ctx.record_report().await?;
                let status = serde_json::to_value(&request.reservation_update_status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let changed = ctx
                    .services
                    .reservations
                    .charger_ended(ctx.charger_id(), request.reservation_id, &status)
                    .await
                    .map_err(domain_error)?;
                if changed.is_none() {
                    tracing::info!(
                        reservation_id = request.reservation_id,
                        status,
                        "no open reservation of this charger with that id; acknowledged"
                    );
                }
                Ok(ReservationStatusUpdateResponse { custom_data: None })
            }
        }
    };
}

handler!(v201);
handler!(v21);

#[cfg(test)]
mod tests {
    use ampere_domain::{NewReservation, ReservationStatus};
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{Harness, assert_kept, at, charger_id, two_x_tests};

    async fn is_kept_and_acknowledged(version: OcppVersion) {
        assert_kept(
            version,
            "ReservationStatusUpdate",
            json!({"reservationId": 17, "reservationUpdateStatus": "Expired"}),
            json!({}),
        )
        .await;
    }

    async fn ends_the_chargers_open_reservation(version: OcppVersion) {
        let h = Harness::new().await;
        let reservations = &h.services.reservations;
        let new = NewReservation {
            charger: charger_id(),
            evse_id: Some(1),
            connector_id: None,
            connector_type: None,
            id_token: "TAG".into(),
            id_token_type: "ISO14443".into(),
            group_id_token: None,
            expires_at: at("2026-01-01T13:00:00Z"),
        };
        let removed = reservations.create(&new).await.unwrap();
        let expired = reservations.create(&new).await.unwrap();
        for r in [&removed, &expired] {
            reservations
                .record(r.id, ReservationStatus::Active, Some("Accepted"))
                .await
                .unwrap();
        }
        for (r, status) in [(&removed, "Removed"), (&expired, "Expired")] {
            let answer = h
                .ok(
                    version,
                    "ReservationStatusUpdate",
                    json!({"reservationId": r.id, "reservationUpdateStatus": status}),
                )
                .await;
            assert_eq!(answer, json!({}));
        }
        let removed = reservations.get(removed.id).await.unwrap().unwrap();
        assert_eq!(removed.status, ReservationStatus::Removed);
        assert_eq!(removed.charger_status.as_deref(), Some("Removed"));
        let expired = reservations.get(expired.id).await.unwrap().unwrap();
        assert_eq!(expired.status, ReservationStatus::Expired);
    }

    two_x_tests!(is_kept_and_acknowledged, ends_the_chargers_open_reservation);
}
