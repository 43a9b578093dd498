//! The domain's storage port ([`ampere_domain::Storage`]) on SQLite and PostgreSQL, with
//! embedded migrations, and a contract test suite (`tests/contract.rs`) that both pass.
//!
//! # One implementation, two databases
//! Queries are written once against sqlx's `Any` driver in the SQL both databases share
//! (`$n` placeholders, `ON CONFLICT`, `RETURNING`). Only the migrations differ per backend
//! (`migrations/sqlite`, `migrations/postgres`). Values are stored in types both handle the
//! same way: timestamps as fixed-width UTC text (so text order is time order; `COLLATE "C"`
//! on PostgreSQL), energy as exact decimal text, flags as integers.
//!
//! # Durability: committed before the answer
//! Every domain call is one database transaction ([`ampere_domain::StoreTx`]): the service
//! calls `commit` before it returns and the handler answers the charger only after that,
//! so an answered message is on disk. On SQLite the connection runs with
//! `synchronous = FULL` (see [`sqlite_pragmas`] for why).
//!
//! # Write path: group commit on SQLite
//! SQLite allows one writer at a time, so writes go through a pool of exactly one
//! connection; reads use a separate pool and never wait for writes (WAL). The domain's units
//! of work on that writer are committed in groups ([`group`]): each runs in its own
//! `SAVEPOINT` inside a transaction that many units share, and one `COMMIT` (one fsync)
//! makes the whole group durable before any of their `commit()` calls return. PostgreSQL has
//! many writers and batches its own WAL flushes, so there each unit is its own transaction.
//!
//! A MeterValues message costs a handful of statements: the retry check (stored values at the
//! same time, by index), its transaction (when named), one multi-row insert of all sampled
//! values, and the charger's `last_seen` at most every few seconds ([`last_seen`]). Every
//! statement is a round trip to sqlx's SQLite thread; with the fsync amortised, those round
//! trips are what a message costs (`cargo run --release -p ampere-store --example
//! write_throughput` measures it; BENCHMARKS.md has the figures).

mod api_tokens;
mod certificates;
mod charging_profiles;
mod codec;
mod device_model;
mod error;
mod file_transfer;
mod group;
mod last_seen;
mod local_lists;
mod message_log;
mod reservations;
mod security_log;
mod tx;
mod webhooks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

use ampere_domain::StoreError;
use ampere_domain::ports::{Storage, StoreResult, StoreTx};

pub use error::map_sqlx;
pub use tx::SqlTx;

use group::GroupWriter;
use last_seen::LastSeen;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names (`sqlite:` or `postgres:`/`postgresql:`).
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// The SQLite URL of a database file `ampere.db` in `data_dir` (which is created).
pub fn sqlite_url_in(data_dir: &Path) -> std::io::Result<String> {
    std::fs::create_dir_all(data_dir)?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("ampere.db").display()
    ))
}

/// The connection settings of every SQLite connection.
///
/// - `journal_mode = WAL`: readers do not block the writer nor the writer the readers.
/// - `synchronous = FULL`: each COMMIT is fsynced before it returns. With `NORMAL` (the common
///   WAL choice) a commit survives a crash of Ampere but can be lost on power failure or an
///   OS crash; Ampere answers a charger only after a commit, and the charger then deletes the
///   message from its queue, so a lost commit is lost data (a transaction, energy that is
///   billed). `FULL` costs one fsync per commit, which group commit amortises (see the crate
///   doc).
/// - `busy_timeout = 5000`: wait up to 5 s for a lock (e.g. a checkpoint, or another process
///   such as `ampere migrate`) instead of failing at once.
/// - `foreign_keys = ON`: deleting a charger deletes what belongs to it; no orphans.
pub fn sqlite_pragmas() -> &'static str {
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The store: the connection pools of one database.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// Writes. On SQLite exactly one connection (SQLite has one writer at a time; queueing
    /// here is cheaper than lock retries).
    writer: AnyPool,
    /// Reads. On SQLite separate read-only connections; on PostgreSQL the same pool as
    /// `writer`.
    reader: AnyPool,
    /// The domain's units of work on a SQLite file, committed in groups on `writer`
    /// ([`group`]). PostgreSQL has many writers and groups its WAL flushes itself; an
    /// in-memory SQLite database has no fsync to save.
    group: Option<GroupWriter>,
    /// Whose `last_seen` was written recently ([`last_seen`]).
    last_seen: LastSeen,
}

impl Store {
    /// Opens the database the URL names (`sqlite://…` or `postgres://…`), creating a SQLite
    /// file when missing, and brings its schema up to date.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database without migrating it.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| {
            StoreError::Other(format!(
                "unsupported database URL (expected sqlite:// or postgres://): {}",
                redact(url)
            ))
        })?;
        let options = AnyConnectOptions::from_str(url).map_err(map_sqlx)?;
        // One plain connection first: a pool retries a refused connection until its acquire
        // timeout, while a wrong URL or a server that is down should be reported at once.
        if backend == Backend::Postgres {
            let conn = AnyConnection::connect_with(&options)
                .await
                .map_err(map_sqlx)?;
            conn.close().await.map_err(map_sqlx)?;
        }
        match backend {
            Backend::Sqlite => {
                let Some(file) = sqlite_file(url) else {
                    return Self::connect_sqlite_memory(options).await;
                };
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Other(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                let writer = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(sqlite_pragmas()).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options.clone())
                    .await
                    .map_err(map_sqlx)?;
                let reader = AnyPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(sqlite_pragmas()).await?;
                            conn.execute("PRAGMA query_only = ON;").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
                    .map_err(map_sqlx)?;
                Ok(Self {
                    backend,
                    group: Some(GroupWriter::new(writer.clone())),
                    last_seen: LastSeen::default(),
                    writer,
                    reader,
                })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .map_err(map_sqlx)?;
                Ok(Self {
                    backend,
                    writer: pool.clone(),
                    reader: pool,
                    group: None,
                    last_seen: LastSeen::default(),
                })
            }
        }
    }

    /// An in-memory SQLite database (for tests and experiments) lives in one connection, so
    /// reads and writes share it and it is never closed while the store lives.
    async fn connect_sqlite_memory(options: AnyConnectOptions) -> StoreResult<Self> {
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA foreign_keys = ON;").await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(map_sqlx)?;
        Ok(Self {
            backend: Backend::Sqlite,
            writer: pool.clone(),
            reader: pool,
            group: None,
            last_seen: LastSeen::default(),
        })
    }

    /// Applies the migrations not applied yet; applying them again changes nothing.
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (on SQLite this also checkpoints the WAL).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl Storage for Store {
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        if let Some(group) = &self.group {
            return Ok(Box::new(SqlTx::grouped(
                group.begin().await?,
                self.last_seen.clone(),
            )));
        }
        let tx = self.writer.begin().await.map_err(map_sqlx)?;
        Ok(Box::new(SqlTx::new(tx, self.last_seen.clone())))
    }

    async fn read(&self) -> StoreResult<Box<dyn StoreTx>> {
        let tx = self.reader.begin().await.map_err(map_sqlx)?;
        Ok(Box::new(SqlTx::new(tx, self.last_seen.clone())))
    }
}

/// The file a SQLite URL names (`sqlite://path?…`, `sqlite:path`); `None` for in-memory
/// databases.
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(Path::new(path))
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_chosen_by_url_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgres://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://h/db"), None);
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://./ampere-data/ampere.db?mode=rwc"),
            Some(Path::new("./ampere-data/ampere.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:/abs/a.db"),
            Some(Path::new("/abs/a.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }

    #[tokio::test]
    async fn opening_sqlite_creates_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/deeper/ampere.db");
        let store = Store::open(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .unwrap();
        assert!(file.exists());
        store.close().await;
    }

    #[tokio::test]
    async fn in_memory_sqlite_reads_what_it_wrote() {
        use ampere_domain::{ChargerId, RegistrationStatus};
        let store = Store::open("sqlite::memory:").await.unwrap();
        let charger = ampere_domain::Charger::new(
            ChargerId::new("MEM").unwrap(),
            RegistrationStatus::Accepted,
            chrono::Utc::now(),
        );
        let mut tx = store.begin().await.unwrap();
        tx.insert_charger(&charger).await.unwrap();
        tx.commit().await.unwrap();
        let mut read = store.read().await.unwrap();
        assert!(read.charger(&charger.id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn an_unreachable_database_is_unavailable_not_another_error() {
        // Port 1 on localhost: nothing listens there, the connection is refused at once.
        let err = Store::open("postgres://postgres@127.0.0.1:1/none")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        let err = Store::open("mysql://h/db").await.unwrap_err();
        assert!(matches!(err, StoreError::Other(_)), "{err:?}");
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://./a.db"), "sqlite://./a.db");
    }
}
