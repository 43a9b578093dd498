//! Group commit for SQLite's single writer.
//!
//! SQLite has one writer at a time, and a unit of work that is its own transaction pays a
//! `BEGIN`, a `COMMIT` and (with `synchronous = FULL`) an fsync for a handful of statements.
//! Here the units of work of many chargers share one database transaction instead: each
//! runs inside its own `SAVEPOINT` (so a unit that fails or is dropped rolls back alone), and
//! one `COMMIT` makes the whole group durable. Every statement is a round trip to sqlx's
//! SQLite thread, so the savepoint bookkeeping rides along with other statements: a unit
//! finds its savepoint already set (`BEGIN; SAVEPOINT unit` opens a group, a commit is
//! `RELEASE SAVEPOINT unit; SAVEPOINT unit`, a rollback `ROLLBACK TO SAVEPOINT unit`, which
//! keeps it), and `COMMIT` ends the group with the empty savepoint in it. A unit's `commit()` returns only when that
//! shared `COMMIT` has returned, so "durable before the answer" holds exactly as before;
//! only the number of fsyncs changes.
//!
//! There is no timer and no artificial delay: a committed unit asks for a flush, and the
//! flush waits its turn on the writer behind the units that are already queued, which then
//! join the group. Under light load every unit commits on its own at once; under heavy load
//! groups grow by themselves (up to [`MAX_GROUP`]).
//!
//! The flush runs in a task of its own, so a caller that gives up waiting (a dropped future)
//! can never leave a group open: the writer connection goes back to the pool after every
//! flush, which lets other writers on the same pool (API tokens, the audit log) take turns.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use ampere_domain::StoreError;
use ampere_domain::ports::StoreResult;

use crate::error::map_sqlx;

/// At most this many units of work share one `COMMIT`, so one group's latency stays bounded
/// however many chargers are queued.
pub const MAX_GROUP: usize = 512;

/// The writer pool behind a group committer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct GroupWriter {
    pool: AnyPool,
    state: Arc<Mutex<Group>>,
}

/// The open group: the writer connection while a transaction is open, and who waits for
/// its `COMMIT`.
#[derive(Debug, Default)]
struct Group {
    conn: Option<PoolConnection<Any>>,
    waiting: Vec<oneshot::Sender<StoreResult<()>>>,
}

/// One unit of work inside the open group. Dropping it without [`Unit::commit`] rolls back
/// its savepoint (and nothing else).
#[derive(Debug)]
pub struct Unit {
    guard: Option<OwnedMutexGuard<Group>>,
    writer: GroupWriter,
}

impl GroupWriter {
    pub fn new(pool: AnyPool) -> Self {
        Self {
            pool,
            state: Arc::new(Mutex::new(Group::default())),
        }
    }

    /// Starts a unit of work: waits for the writer, opens a group transaction when none is
    /// open, and sets the unit's savepoint.
    pub async fn begin(&self) -> StoreResult<Unit> {
        let mut guard = self.state.clone().lock_owned().await;
        if guard.conn.is_none() {
            let mut conn = self.pool.acquire().await.map_err(map_sqlx)?;
            if let Err(e) = conn.execute("BEGIN; SAVEPOINT unit").await {
                end_transaction(conn).await;
                return Err(map_sqlx(e));
            }
            guard.conn = Some(conn);
        }
        Ok(Unit {
            guard: Some(guard),
            writer: self.clone(),
        })
    }
}

/// Commits the open group, if any, and tells everyone in it how it went.
async fn flush(group: &mut Group) {
    let Some(conn) = group.conn.as_mut() else {
        return;
    };
    match conn.execute("COMMIT").await {
        Ok(_) => {
            group.conn = None;
            for waiter in group.waiting.drain(..) {
                let _ = waiter.send(Ok(()));
            }
        }
        // A failed COMMIT (disk full, I/O error) leaves the transaction open on SQLite.
        Err(e) => abandon(group, &map_sqlx(e)).await,
    }
}

/// Rolls the open group back, fails every unit waiting for it, and gives the connection
/// back to the pool.
async fn abandon(group: &mut Group, error: &StoreError) {
    if let Some(conn) = group.conn.take() {
        end_transaction(conn).await;
    }
    for waiter in group.waiting.drain(..) {
        let _ = waiter.send(Err(error.clone()));
    }
}

/// Rolls back whatever is open on the connection before it goes back to the pool (a
/// rollback with nothing open fails harmlessly); a connection that cannot even report is
/// closed, so the pool opens a fresh one.
async fn end_transaction(mut conn: PoolConnection<Any>) {
    if let Err(sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed) = conn.execute("ROLLBACK").await {
        conn.close_on_drop();
    }
}

impl Unit {
    /// The writer connection, inside this unit's savepoint.
    pub fn conn(&mut self) -> &mut AnyConnection {
        self.guard
            .as_mut()
            .and_then(|g| g.conn.as_mut())
            .expect("a unit holds an open group")
    }

    /// Releases the savepoint into the group and waits until the group's `COMMIT` returns.
    pub async fn commit(mut self) -> StoreResult<()> {
        let mut guard = self.guard.take().expect("a unit commits once");
        let conn = guard.conn.as_mut().expect("a unit holds an open group");
        if let Err(e) = conn.execute("RELEASE SAVEPOINT unit; SAVEPOINT unit").await {
            // The transaction is in an unknown state: nothing in it can be trusted.
            let error = map_sqlx(e);
            abandon(&mut guard, &error).await;
            return Err(error);
        }
        let (done, outcome) = oneshot::channel();
        guard.waiting.push(done);
        if guard.waiting.len() >= MAX_GROUP {
            flush(&mut guard).await;
        } else {
            // Let the units already queued for the writer join this group, then commit it.
            // The flush is a task of its own so that it happens even if our caller stops
            // waiting.
            drop(guard);
            let state = self.writer.state.clone();
            tokio::spawn(async move {
                let mut group = state.lock().await;
                flush(&mut group).await;
            });
        }
        outcome.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the database writer stopped before the commit".into(),
            ))
        })
    }
}

/// Undoes the current unit's work; its savepoint stays open for the next unit. When that
/// fails, SQLite already rolled back the whole transaction (it does so for some errors, e.g.
/// a full disk), so the group is failed. A group with nobody waiting for it is ended, so the
/// connection goes back to the pool.
async fn rollback_unit(group: &mut Group) {
    let Some(conn) = group.conn.as_mut() else {
        return;
    };
    match conn.execute("ROLLBACK TO SAVEPOINT unit").await {
        Err(e) => abandon(group, &map_sqlx(e)).await,
        Ok(_) if group.waiting.is_empty() => {
            abandon(group, &StoreError::Other("nothing to commit".into())).await;
        }
        Ok(_) => {}
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            // Dropped without commit (an error, or a cancelled caller): undo the savepoint on
            // the writer before anyone else uses it. The guard moves into the task, so the
            // next unit waits until this is done.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { rollback_unit(&mut guard).await });
            }
        }
    }
}
