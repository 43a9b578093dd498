//! CSMS-initiated calls: the internal interface the API and the domain use to talk to a
//! connected charger.

use std::sync::Arc;
use std::time::Duration;

use ampere_domain::ChargerId;
use ampere_ocpp::{Action, CallError, OcppVersion};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::registry::{QueuedCall, Registry};

/// Why a CSMS-initiated call did not produce a response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// The charger is not connected (or its connection is closing).
    #[error("charger is not connected")]
    Offline,
    /// The charger did not answer within the call timeout (counted from the moment the call
    /// was queued).
    #[error("charger did not answer in time")]
    Timeout,
    /// Too many calls are already waiting for this charger.
    #[error("too many calls are waiting for this charger")]
    QueueFull,
    /// A typed request of one OCPP version for a charger connected with another.
    #[error("request is for OCPP {expected}, the charger speaks OCPP {connected}")]
    WrongVersion {
        expected: OcppVersion,
        connected: OcppVersion,
    },
    /// The charger answered with a CALLERROR.
    #[error("charger answered with an error: {0}")]
    Rejected(CallError),
    /// The charger's answer is not a valid response for the action.
    #[error("charger's answer is invalid: {0}")]
    InvalidResponse(String),
    /// The request could not be turned into JSON.
    #[error("request could not be encoded: {0}")]
    InvalidRequest(String),
    /// The connection ended (charger gone, reconnected or taken over) before it answered.
    #[error("connection to the charger was lost before it answered")]
    ConnectionLost,
}

/// A handle for CSMS-initiated calls; cheap to clone, usable from any task.
///
/// Each charger has at most one call outstanding; further calls wait in a bounded queue, in
/// the order they were made.
#[derive(Clone)]
pub struct Commands {
    registry: Arc<Registry>,
    call_timeout: Duration,
    queue_len: usize,
}

impl std::fmt::Debug for Commands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commands")
            .field("connected", &self.registry.len())
            .finish_non_exhaustive()
    }
}

impl Commands {
    pub(crate) fn new(registry: Arc<Registry>, call_timeout: Duration, queue_len: usize) -> Self {
        Self {
            registry,
            call_timeout,
            // At least one call must be able to wait, or none could ever be sent.
            queue_len: queue_len.max(1),
        }
    }

    /// Sends a typed request and decodes the charger's response.
    ///
    /// Fails with [`CommandError::WrongVersion`] unless the charger is connected with
    /// `A::VERSION`.
    pub async fn call<A: Action>(
        &self,
        charger: &ChargerId,
        request: A,
    ) -> Result<A::Response, CommandError> {
        let payload = serde_json::to_value(&request)
            .map_err(|e| CommandError::InvalidRequest(e.to_string()))?;
        let response = self
            .submit(charger, A::NAME, payload, Some(A::VERSION))
            .await?;
        serde_json::from_value(response).map_err(|e| CommandError::InvalidResponse(e.to_string()))
    }

    /// Sends `payload` as given (field order kept) under `action`, in whatever version the
    /// charger speaks, and returns the response payload undecoded. Validating the payload
    /// is the caller's job.
    pub async fn call_raw(
        &self,
        charger: &ChargerId,
        action: &str,
        payload: Value,
    ) -> Result<Value, CommandError> {
        self.submit(charger, action, payload, None).await
    }

    /// The version the charger is connected with, or `None` when it is offline.
    pub fn is_online(&self, charger: &ChargerId) -> Option<OcppVersion> {
        self.registry
            .get(charger)
            .filter(|session| session.is_open())
            .map(|session| session.info.version)
    }

    /// Sessions in the registry: connected chargers, plus any whose connection is closing.
    pub fn online_count(&self) -> usize {
        self.registry.len()
    }

    async fn submit(
        &self,
        charger: &ChargerId,
        action: &str,
        payload: Value,
        expected: Option<OcppVersion>,
    ) -> Result<Value, CommandError> {
        let deadline = Instant::now() + self.call_timeout;
        let (reply, response) = oneshot::channel();
        let mut call = QueuedCall {
            action: action.to_owned(),
            payload,
            reply,
            deadline,
        };
        // A second try covers the moment of a takeover: the session found first may have
        // just started closing while its successor is already registered.
        for attempt in 0..2 {
            let session = self.registry.get(charger).ok_or(CommandError::Offline)?;
            if let Some(expected) = expected
                && expected != session.info.version
            {
                return Err(CommandError::WrongVersion {
                    expected,
                    connected: session.info.version,
                });
            }
            match session.enqueue(call, self.queue_len) {
                Ok(()) => break,
                Err((CommandError::Offline, returned)) if attempt == 0 => call = returned,
                Err((error, _)) => return Err(error),
            }
        }
        match tokio::time::timeout_at(deadline, response).await {
            Ok(Ok(result)) => result,
            // The connection task dropped the call without answering: it has ended.
            Ok(Err(_)) => Err(CommandError::ConnectionLost),
            Err(_) => Err(CommandError::Timeout),
        }
    }
}
