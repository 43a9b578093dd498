//! Test support: a router over a real SQLite store in a temporary directory, a clock that
//! stands still, one registered charger, and the checks most action tests share.

use std::sync::Arc;

use ampere_domain::{
    AuthorizationStatus, ChargerConfig, ChargerId, ChargerReport, IdToken, IdTokenKind,
    IdTokenRecord, ManualClock, NewCharger, RegistrationStatus, ReportKind, SecurityProfile,
    Services,
};
use ampere_ocpp::{CallError, MessageKind, OcppVersion};
use chrono::{DateTime, Utc};
use pretty_assertions::assert_eq;
use serde_json::Value;
use tempfile::TempDir;

use crate::{ChargerContext, Router};

/// The time the test clock shows.
pub(crate) const NOW: &str = "2026-01-01T12:00:00Z";

/// The identity of the registered test charger.
pub(crate) const CHARGER: &str = "CP-TEST";

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .to_utc()
}

pub(crate) struct Harness {
    pub router: Router,
    pub services: Services,
    /// The store itself, e.g. to close it under the services.
    pub store: Arc<ampere_store::Store>,
    _dir: TempDir,
}

impl Harness {
    /// A fresh store with [`CHARGER`] registered and `Accepted`.
    pub async fn new() -> Self {
        Self::with_config(ChargerConfig::default()).await
    }

    pub async fn with_config(config: ChargerConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = ampere_store::sqlite_url_in(dir.path()).expect("data dir");
        let store = Arc::new(ampere_store::Store::open(&url).await.expect("open store"));
        let clock = Arc::new(ManualClock::new(at(NOW)));
        let services = Services::new(store.clone(), clock.clone(), config);
        services
            .chargers
            .register(NewCharger {
                id: charger_id(),
                password: None,
                security_profile: SecurityProfile::BASIC,
                registration_status: RegistrationStatus::Accepted,
            })
            .await
            .expect("register the test charger");
        let router = Router::new(services.clone());
        Self {
            router,
            services,
            store,
            _dir: dir,
        }
    }

    pub fn context(&self, version: OcppVersion) -> ChargerContext {
        ChargerContext {
            charger_id: charger_id(),
            version,
            known: true,
        }
    }

    pub async fn call(
        &self,
        version: OcppVersion,
        action: &str,
        payload: Value,
    ) -> Result<Value, CallError> {
        self.router
            .handle_call(&self.context(version), action, payload)
            .await
    }

    /// The answer to a call that must succeed.
    pub async fn ok(&self, version: OcppVersion, action: &str, payload: Value) -> Value {
        match self.call(version, action, payload).await {
            Ok(answer) => answer,
            Err(e) => panic!("{action} ({version}) answered CALLERROR {e:?}"),
        }
    }

    /// Reports of the test charger of one kind, oldest first.
    pub async fn reports(&self, kind: &str) -> Vec<ChargerReport> {
        let kind = ReportKind::new(kind).expect("kind");
        let mut reports = self
            .services
            .reports
            .list(&charger_id(), Some(&kind), 100)
            .await
            .expect("list reports");
        reports.reverse();
        reports
    }

    /// Stores an id token the way an operator would.
    pub async fn token(
        &self,
        value: &str,
        status: AuthorizationStatus,
        expiry: Option<&str>,
        group: Option<&str>,
    ) {
        self.services
            .authorization
            .upsert(&IdTokenRecord {
                token: IdToken::new(value, IdTokenKind::Iso14443).expect("token"),
                status,
                expiry_date: expiry.map(at),
                group_id: group.map(str::to_owned),
            })
            .await
            .expect("store token");
    }
}

pub(crate) fn charger_id() -> ChargerId {
    ChargerId::new(CHARGER).expect("charger id")
}

/// The test of a message Ampere keeps for later features: the answer is `expected` (which
/// must be a valid response) and the request is stored verbatim as a report of its action.
pub(crate) async fn assert_kept(
    version: OcppVersion,
    action: &str,
    request: Value,
    expected: Value,
) {
    assert!(
        ampere_ocpp::validate(version, action, MessageKind::Request, &request).is_ok(),
        "test request of {action} must be valid"
    );
    let h = Harness::new().await;
    let answer = h.ok(version, action, request.clone()).await;
    assert_eq!(answer, expected);
    let reports = h.reports(action).await;
    assert_eq!(reports.len(), 1, "one {action} report");
    assert_eq!(reports[0].payload, request, "kept verbatim");
    assert_eq!(reports[0].received_at, at(NOW));
}

/// The minimal valid request of a charger-initiated action, from
/// `tests/data/minimal_requests.json` (every required field, nothing else).
pub(crate) fn minimal_request(version: OcppVersion, action: &str) -> Value {
    let all: Value = serde_json::from_str(include_str!("../tests/data/minimal_requests.json"))
        .expect("minimal_requests.json is JSON");
    all[version.to_string()][action].clone()
}

/// Runs each named `async fn(OcppVersion)` of the calling module as two tests, `<name>::v201`
/// and `<name>::v21`: the tests of an action whose handler is written once for both 2.x
/// versions (`crate::two_x`) check it in both.
macro_rules! two_x_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn v201() {
                    super::$name(ampere_ocpp::OcppVersion::V201).await;
                }

                #[tokio::test]
                async fn v21() {
                    super::$name(ampere_ocpp::OcppVersion::V21).await;
                }
            }
        )+
    };
}
pub(crate) use two_x_tests;
