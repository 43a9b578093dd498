//! Fresh stores for contract tests: SQLite in a temp dir, PostgreSQL in a new schema.

use std::sync::Arc;
use std::time::Duration;

use ampere_domain::{ChargerConfig, Clock, ManualClock, Services, UnknownChargerPolicy};
use ampere_store::{Store, sqlite_url_in};
use chrono::{DateTime, Utc};
use sqlx::Connection;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A store, the services over it and the clock they read.
pub struct Harness {
    pub store: Store,
    pub services: Services,
    pub clock: Arc<ManualClock>,
    pub config: ChargerConfig,
    /// The URL the store was opened with (to open it again).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Harness {
    async fn new(url: String, dir: Option<tempfile::TempDir>) -> Self {
        let store = Store::open(&url).await.expect("open store");
        let clock = Arc::new(ManualClock::new(
            DateTime::parse_from_rfc3339("2026-01-01T08:00:00Z")
                .unwrap()
                .to_utc(),
        ));
        // Distinct values so a test can tell which one was answered.
        let config = ChargerConfig {
            heartbeat_interval: Duration::from_secs(300),
            pending_retry: Duration::from_secs(61),
            rejected_retry: Duration::from_secs(601),
            unknown_chargers: UnknownChargerPolicy::Pending,
        };
        let services = Services::new(Arc::new(store.clone()), clock.clone(), config.clone());
        Self {
            store,
            services,
            clock,
            config,
            url,
            _dir: dir,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

pub async fn sqlite() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url_in(&dir.path().join("data")).expect("data dir");
    Harness::new(url, Some(dir)).await
}

/// A schema created for one test, dropped by [`Schema::drop`] when the test passed (a failed
/// test leaves it behind for inspection).
pub struct Schema {
    base_url: String,
    name: String,
}

impl Schema {
    pub async fn drop(self) {
        let mut conn = sqlx::PgConnection::connect(&self.base_url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("DROP SCHEMA \"{}\" CASCADE", self.name))
            .execute(&mut conn)
            .await
            .expect("drop test schema");
    }
}

/// A harness on a fresh PostgreSQL schema, or `None` (with the reason printed) when the
/// server cannot be reached outside CI. In CI (`CI=true`) an unreachable server fails.
pub async fn postgres(test: &str) -> Option<(Harness, Schema)> {
    let base_url =
        std::env::var("AMPERE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let connected = tokio::time::timeout(
        Duration::from_secs(5),
        sqlx::PgConnection::connect(&base_url),
    )
    .await;
    let mut conn = match connected {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) if !in_ci => {
            skip(test, &format!("cannot connect to {base_url}: {e}"));
            return None;
        }
        Err(_) if !in_ci => {
            skip(test, &format!("{base_url} did not answer in 5 s"));
            return None;
        }
        Ok(Err(e)) => panic!("CI=true but PostgreSQL at {base_url} is unreachable: {e}"),
        Err(_) => panic!("CI=true but PostgreSQL at {base_url} did not answer in 5 s"),
    };
    let name = format!("ampere_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create test schema");
    conn.close().await.ok();
    let separator = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{separator}options[search_path]={name}");
    let harness = Harness::new(url, None).await;
    Some((harness, Schema { base_url, name }))
}

/// Says why a test did not run. Written to the process's stderr directly, not through
/// `eprintln!`, which the test harness captures and hides for passing tests.
fn skip(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED PostgreSQL contract test {test}: {reason} (set CI=true to make this fail)"
    );
}

/// Runs each named contract function against SQLite and PostgreSQL.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let h = crate::harness::sqlite().await;
                    super::$name(h).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some((h, schema)) = crate::harness::postgres(stringify!($name)).await
                    else {
                        return;
                    };
                    super::$name(h).await;
                    schema.drop().await;
                }
            )*
        }
    };
}
