//! The generic path of every message: look up → check direction → check registration →
//! validate → decode → handle → encode → validate the answer. Handlers only translate.

use std::future::Future;
use std::sync::Arc;

use ampere_domain::{Clock, RegistrationStatus, Services};
use ampere_ocpp::{Action, CallError, ErrorCode, MessageKind, OcppVersion};
use serde_json::Value;
use tracing::Instrument;

use crate::context::{ChargerContext, Ctx};
use crate::error::{domain_error, internal, undecodable};
use crate::{v16, v21, v201};

mod admitted;
use admitted::Admitted;

/// Answers what chargers send. Cheap to clone (the services are handles).
#[derive(Clone)]
pub struct Router {
    services: Services,
    clock: Arc<dyn Clock>,
    admitted: Admitted,
}

impl Router {
    /// Handlers take the services' clock for the times the domain leaves to the CSMS (e.g. a
    /// 1.6 StatusNotification without a timestamp).
    pub fn new(services: Services) -> Self {
        let clock = services.clock().clone();
        Self {
            services,
            clock,
            admitted: Admitted::default(),
        }
    }

    /// Answers a CALL: the CALLRESULT payload, or the CALLERROR to send instead. The effects
    /// of the message are durable when this returns `Ok`.
    ///
    /// - an action the version does not have → `NotImplemented`;
    /// - an action only the CSMS sends (or a 2.1 SEND-only message sent as a CALL) →
    ///   `NotSupported`;
    /// - a charger that is not registered (and that the unknown-charger policy does not let
    ///   in) or whose registration is `Rejected` → `SecurityError`, except for
    ///   BootNotification; `Pending` chargers are served normally, so nothing they report
    ///   is lost;
    /// - a payload the official schema refuses → the code of the violation, spelled as its
    ///   version spells it when the frame is written;
    /// - a domain failure → see `error::domain_error`;
    /// - an answer that breaks its own schema is a bug: logged, answered `InternalError`.
    pub async fn handle_call(
        &self,
        charger: &ChargerContext,
        action: &str,
        payload: Value,
    ) -> Result<Value, CallError> {
        let span = tracing::info_span!(
            "ocpp_call",
            charger = %charger.charger_id,
            version = %charger.version,
            action,
            known = charger.known,
        );
        async move {
            let result = self.call(charger, action, payload).await;
            match &result {
                Ok(_) => tracing::debug!("answered"),
                Err(e) => tracing::info!(code = %e.code, description = %e.description, "answered with CALLERROR"),
            }
            result
        }
        .instrument(span)
        .await
    }

    /// Takes a 2.1 SEND (NotifyPeriodicEventStream): validated and kept as a report. A SEND
    /// is never answered, so what cannot be taken is logged and dropped.
    pub async fn handle_send(&self, charger: &ChargerContext, action: &str, payload: Value) {
        let span = tracing::info_span!(
            "ocpp_send",
            charger = %charger.charger_id,
            version = %charger.version,
            action,
        );
        async move {
            match self.send(charger, action, payload).await {
                Ok(()) => tracing::debug!("kept"),
                Err(e) => {
                    tracing::warn!(code = %e.code, description = %e.description, "SEND dropped")
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn call(
        &self,
        charger: &ChargerContext,
        action: &str,
        payload: Value,
    ) -> Result<Value, CallError> {
        let version = charger.version;
        let info = ampere_ocpp::action(version, action).ok_or_else(|| {
            CallError::new(
                ErrorCode::NotImplemented,
                // The name is the charger's text: bounded, since a CALLERROR description
                // should stay short (2.x allows 255 characters).
                format!(
                    "OCPP {version} has no action {:?}",
                    action.chars().take(64).collect::<String>()
                ),
            )
        })?;
        if !info.initiator.from_charger() {
            return Err(CallError::new(
                ErrorCode::NotSupported,
                format!("{action} is sent by the CSMS, not by a charging station"),
            ));
        }
        if info.send {
            return Err(CallError::new(
                ErrorCode::NotSupported,
                format!("{action} is a SEND message; it cannot be sent as a CALL"),
            ));
        }
        // A Rejected or not yet admitted charger may always try to boot (again), and a boot
        // may change the registration, so the next call reads it afresh.
        if action == "BootNotification" {
            self.admitted.forget(&charger.charger_id);
        } else {
            self.admit(charger).await?;
        }
        ampere_ocpp::validate(version, action, MessageKind::Request, &payload)
            .map_err(CallError::from)?;

        let ctx = Ctx {
            services: &self.services,
            clock: &*self.clock,
            charger,
            action,
            payload: &payload,
        };
        let dispatched = match version {
            OcppVersion::V16 => v16::dispatch(&ctx).await,
            OcppVersion::V201 => v201::dispatch(&ctx).await,
            OcppVersion::V21 => v21::dispatch(&ctx).await,
        };
        // Every charger-initiated action has a handler (a test checks it); an arm missing
        // from a dispatch table is a bug, not something the charger did.
        let answer = dispatched.unwrap_or_else(|| Err(internal("no handler for the action")))?;

        checked_answer(version, action, answer)
    }

    async fn send(
        &self,
        charger: &ChargerContext,
        action: &str,
        payload: Value,
    ) -> Result<(), CallError> {
        let version = charger.version;
        match ampere_ocpp::action(version, action) {
            Some(info) if info.send && info.initiator.from_charger() => {}
            _ => {
                return Err(CallError::new(
                    ErrorCode::NotSupported,
                    format!("{action} is not a SEND message of OCPP {version}"),
                ));
            }
        }
        self.admit(charger).await?;
        ampere_ocpp::validate(version, action, MessageKind::Request, &payload)
            .map_err(CallError::from)?;
        let ctx = Ctx {
            services: &self.services,
            clock: &*self.clock,
            charger,
            action,
            payload: &payload,
        };
        ctx.record_report().await
    }

    /// Whether the charger may send anything but BootNotification: it must be registered
    /// (an unregistered one is registered now when the unknown-charger policy allows it, as
    /// it would have been at the handshake) and not `Rejected`.
    async fn admit(&self, charger: &ChargerContext) -> Result<(), CallError> {
        let chargers = &self.services.chargers;
        let id = &charger.charger_id;
        if self.admitted.holds(id) {
            return Ok(());
        }
        let registered = match chargers.get(id).await.map_err(domain_error)? {
            Some(c) => Some(c),
            None => chargers
                .ensure_registered(id, chargers.config().unknown_chargers)
                .await
                .map_err(domain_error)?,
        };
        match registered.map(|c| c.registration_status) {
            None => Err(CallError::new(
                ErrorCode::SecurityError,
                "charger is not registered",
            )),
            Some(RegistrationStatus::Rejected) => Err(CallError::new(
                ErrorCode::SecurityError,
                "charger registration is Rejected; only BootNotification is answered",
            )),
            Some(RegistrationStatus::Accepted | RegistrationStatus::Pending) => {
                self.admitted.remember(id);
                Ok(())
            }
        }
    }
}

/// Runs one typed handler: decodes the (already validated) payload into `A`, calls the
/// handler, encodes its answer. The dispatch tables of `v16`, `v201` and `v21` call this
/// with the handler of each action.
pub(crate) async fn run<'c, A, F, Fut>(ctx: &'c Ctx<'c>, handler: F) -> Result<Value, CallError>
where
    A: Action,
    F: FnOnce(&'c Ctx<'c>, A) -> Fut,
    Fut: Future<Output = Result<A::Response, CallError>>,
{
    if A::NAME != ctx.action || A::VERSION != ctx.charger.version {
        tracing::error!(
            handler = A::NAME,
            handler_version = %A::VERSION,
            "dispatch table points at the wrong handler"
        );
        return Err(internal("dispatch table points at the wrong handler"));
    }
    // Validation already passed, so this fails only for numbers the types cannot hold.
    let request = A::deserialize(ctx.payload).map_err(undecodable)?;
    let response = handler(ctx, request).await?;
    serde_json::to_value(&response).map_err(|e| internal(&format!("encoding the answer: {e}")))
}

/// The answer if it is valid against its response schema. An invalid answer is our bug:
/// sending it would make the charger drop it (or worse, act on it), so it is logged and
/// answered `InternalError` instead.
fn checked_answer(version: OcppVersion, action: &str, answer: Value) -> Result<Value, CallError> {
    match ampere_ocpp::validate(version, action, MessageKind::Response, &answer) {
        Ok(()) => Ok(answer),
        Err(violation) => {
            tracing::error!(%violation, answer = %answer, "our answer breaks its schema");
            Err(internal("invalid answer"))
        }
    }
}

#[cfg(test)]
mod tests;
