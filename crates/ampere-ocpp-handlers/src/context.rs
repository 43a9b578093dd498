//! Who is calling, and what a handler may use to answer.

use ampere_domain::{ChargerId, Clock, ReportKind, Services};
use ampere_ocpp::{CallError, OcppVersion};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::domain_error;

/// The charger a message comes from, as the gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargerContext {
    pub charger_id: ChargerId,
    /// The OCPP version of its connection.
    pub version: OcppVersion,
    /// Whether the charger was registered when it connected. Informational (it is traced):
    /// the router reads the current registration again at least every second (and on every
    /// BootNotification), because an operator may register, approve or reject a charger
    /// while it is connected.
    pub known: bool,
}

/// What a handler gets besides its request: the domain services, the clock, the charger, and
/// the payload exactly as received (reports keep it verbatim).
pub(crate) struct Ctx<'a> {
    pub services: &'a Services,
    pub clock: &'a dyn Clock,
    pub charger: &'a ChargerContext,
    /// The action name as the charger sent it (known to be an action of its version).
    pub action: &'a str,
    pub payload: &'a Value,
}

impl Ctx<'_> {
    pub fn charger_id(&self) -> &ChargerId {
        &self.charger.charger_id
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A transaction started with this reservation (1.6 StartTransaction / 2.x
    /// TransactionEvent `reservationId`): the reservation is used up. Its own unit of work
    /// after the transaction's: a failure here is logged and does not cost the charger its
    /// answer, since the transaction is what must not be lost.
    pub async fn reservation_used(&self, reservation_id: Option<i64>) {
        let Some(id) = reservation_id else { return };
        match self.services.reservations.used(self.charger_id(), id).await {
            Ok(Some(_)) => tracing::info!(reservation_id = id, "reservation used"),
            Ok(None) => tracing::info!(
                reservation_id = id,
                "no open reservation of this charger with that id"
            ),
            Err(error) => {
                tracing::error!(%error, reservation_id = id, "cannot mark reservation used")
            }
        }
    }

    /// Keeps the request as received, as a report whose kind is the action name (see
    /// [`ampere_domain::report`]); durable when this returns.
    pub async fn record_report(&self) -> Result<(), CallError> {
        let kind = ReportKind::new(self.action).map_err(|e| {
            // Action names come from `ampere_ocpp::actions`: all are valid kinds.
            tracing::error!(action = self.action, error = %e, "action name is not a report kind");
            CallError::new(ampere_ocpp::ErrorCode::InternalError, "internal error")
        })?;
        self.services
            .reports
            .record(self.charger_id(), &kind, self.payload)
            .await
            .map_err(domain_error)?;
        Ok(())
    }
}
