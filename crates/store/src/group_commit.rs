//! Group commit on SQLite: many requests' write transactions share one database transaction
//! and one `COMMIT` (one fsync at `synchronous = FULL`), and each request is acknowledged only
//! once that commit is done.
//!
//! The one writer connection holds an open batch (`BEGIN IMMEDIATE`). A request's transaction
//! ([`SqliteTx`]) is a savepoint inside it, run while the request holds the writer, as before;
//! its `commit` releases the savepoint into the batch, lets the writer go, and waits for the
//! batch's outcome. A committer task closes the batch: woken by the first write released into
//! it, it queues for the writer (the queue is first come, first served), so every transaction
//! that was waiting ahead of it joins the batch, and then commits. Under no load a batch is one
//! transaction and costs one extra task hop; under load a batch is as large as the queue.
//!
//! A transaction that fails or is dropped rolls back to its savepoint: a write that violates a
//! constraint fails alone, never its batch. A failed `COMMIT`, or a statement after which
//! SQLite gave the whole transaction up (a full disk, an I/O error), fails every transaction of
//! the batch, none of which was acknowledged.

use crate::config_cache::ConfigCache;
use crate::{Error, Result};
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, SqliteConnection};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Weak};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, watch};

/// What a batch came to: `None` while open, then its commit's outcome.
type Outcome = Option<Result<(), Arc<str>>>;

/// The writer connection and the batch it holds open.
struct WriterState {
    connection: SqliteConnection,
    /// A batch transaction is open (`BEGIN` ran).
    open: bool,
    /// A transaction was dropped inside its savepoint: roll it back before anything else.
    abandoned: bool,
    /// The open batch's outcome, which its transactions wait for.
    outcome: Arc<watch::Sender<Outcome>>,
    /// Told when a batch ends, before its transactions are.
    cache: Arc<ConfigCache>,
}

/// SQLite's one writer, shared by every write transaction of the store.
pub(crate) struct SqliteWriter {
    state: Arc<Mutex<WriterState>>,
    /// Wakes the committer: a write was released into the batch, or a transaction abandoned.
    dirty: Arc<Notify>,
    /// Transactions released into the open batch (tests wait on it).
    released: watch::Sender<usize>,
    /// While true, the committer leaves the batch open (tests hold it to see a batch form).
    held: watch::Sender<bool>,
}

impl SqliteWriter {
    /// Takes over `connection` (migrated) and starts its committer on the current runtime.
    /// `cache` must be the one the connection's update hook notes changes in.
    pub(crate) fn start(connection: SqliteConnection, cache: Arc<ConfigCache>) -> Arc<Self> {
        let writer = Arc::new(Self {
            state: Arc::new(Mutex::new(WriterState {
                connection,
                open: false,
                abandoned: false,
                outcome: Arc::new(watch::channel(None).0),
                cache,
            })),
            dirty: Arc::new(Notify::new()),
            released: watch::channel(0).0,
            held: watch::channel(false).0,
        });
        tokio::spawn(commit_batches(
            Arc::downgrade(&writer),
            writer.dirty.clone(),
        ));
        writer
    }

    /// A write transaction: a savepoint in the open batch, holding the writer until it ends.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<SqliteTx> {
        let mut state = self.state.clone().lock_owned().await;
        state.settle(&self.released).await?;
        if !state.open {
            execute(&mut state.connection, "BEGIN IMMEDIATE").await?;
            state.open = true;
        }
        // The savepoint is opened with the transaction's first statement (one round trip).
        Ok(SqliteTx {
            writer: self.clone(),
            state: Some(state),
            deferred: Deferred {
                sql: "SAVEPOINT request;\n".into(),
                savepoint_unsent: true,
                ..Deferred::default()
            },
        })
    }

    /// Keeps the open batch from committing until the answer is dropped.
    pub(crate) fn hold(self: &Arc<Self>) -> CommitHold {
        self.held.send_replace(true);
        CommitHold {
            writer: self.clone(),
        }
    }

    /// Waits until at least `count` transactions are released into the open batch.
    pub(crate) async fn released_at_least(&self, count: usize) {
        let mut released = self.released.subscribe();
        let _ = released.wait_for(|n| *n >= count).await;
    }
}

impl Drop for SqliteWriter {
    fn drop(&mut self) {
        // The committer holds only a weak reference: wake it so it sees the writer gone.
        self.dirty.notify_one();
    }
}

/// Closes batches as they fill, until the writer is dropped.
async fn commit_batches(writer: Weak<SqliteWriter>, dirty: Arc<Notify>) {
    loop {
        dirty.notified().await;
        let Some(writer) = writer.upgrade() else {
            return;
        };
        let mut held = writer.held.subscribe();
        let _ = held.wait_for(|held| !held).await;
        let mut state = writer.state.clone().lock_owned().await;
        if state.settle(&writer.released).await.is_ok() {
            state.close_batch(&writer.released).await;
        }
    }
}

impl WriterState {
    /// Rolls an abandoned transaction back to its savepoint.
    async fn settle(&mut self, released: &watch::Sender<usize>) -> Result<()> {
        if !self.abandoned {
            return Ok(());
        }
        self.abandoned = false;
        let undone = match execute(&mut self.connection, "ROLLBACK TO request").await {
            Ok(()) => execute(&mut self.connection, "RELEASE request").await,
            // The savepoint, sent first with the transaction's first statements, failed: none
            // of them ran.
            Err(e) if no_such_savepoint(&e) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = &undone {
            self.give_up(e, released).await;
        }
        undone
    }

    /// Commits the open batch and tells its transactions.
    async fn close_batch(&mut self, released: &watch::Sender<usize>) {
        if !self.open {
            return;
        }
        match execute(&mut self.connection, "COMMIT").await {
            Ok(()) => self.finish(Ok(()), released),
            Err(e) => self.give_up(&e, released).await,
        }
    }

    /// The batch cannot commit: roll back what is left of it and fail its transactions.
    async fn give_up(&mut self, error: &Error, released: &watch::Sender<usize>) {
        let _ = execute(&mut self.connection, "ROLLBACK").await;
        let reason: Arc<str> =
            format!("the batch this write joined was not committed: {error}").into();
        self.finish(Err(reason), released);
    }

    fn finish(&mut self, outcome: Result<(), Arc<str>>, released: &watch::Sender<usize>) {
        self.open = false;
        self.abandoned = false;
        self.cache.batch_ended();
        let done = std::mem::replace(&mut self.outcome, Arc::new(watch::channel(None).0));
        done.send_replace(Some(outcome));
        released.send_replace(0);
    }
}

fn no_such_savepoint(error: &Error) -> bool {
    matches!(error, Error::Database(sqlx::Error::Database(db))
        if db.message().starts_with("no such savepoint"))
}

async fn execute(connection: &mut SqliteConnection, sql: &'static str) -> Result<()> {
    sqlx::raw_sql(sql).execute(&mut *connection).await?;
    Ok(())
}

/// One request's write transaction on SQLite: a savepoint in the open batch. Dropped without
/// [`SqliteTx::commit`], it rolls back (before the writer's next use).
pub struct SqliteTx {
    writer: Arc<SqliteWriter>,
    state: Option<OwnedMutexGuard<WriterState>>,
    /// Statements whose answer nobody reads (a build, events, deliveries, the audit entry),
    /// run with the next statement of the transaction, or with its `RELEASE`: one round trip
    /// to the connection's thread for all of them ([`SqliteTx::defer`]).
    deferred: Deferred,
}

#[derive(Default)]
struct Deferred {
    sql: String,
    args: SqliteArguments,
    /// A bind could not be encoded: the transaction cannot go on.
    broken: bool,
    /// `sql` begins with the transaction's `SAVEPOINT`: nothing of it has run yet.
    savepoint_unsent: bool,
}

impl SqliteTx {
    /// Queues `sql` (one statement, binds numbered from `$1`) with `binds`, to run before
    /// anything else the transaction does. A statement that fails then fails the transaction
    /// there, and it rolls back as a whole.
    pub(crate) fn defer(
        &mut self,
        sql: &str,
        binds: impl FnOnce(&mut SqliteArguments) -> Result<(), sqlx::error::BoxDynError>,
    ) {
        let deferred = &mut self.deferred;
        let offset = deferred.args.len();
        if binds(&mut deferred.args).is_err() {
            deferred.broken = true;
            return;
        }
        deferred.sql.push_str(&renumbered(sql, offset));
        deferred.sql.push_str(";\n");
    }

    /// Runs what was deferred.
    pub(crate) async fn flush(&mut self) -> Result<(), sqlx::Error> {
        self.run_deferred("").await
    }

    /// Runs what was deferred, then `last` (which takes no binds) in the same round trip.
    async fn run_deferred(&mut self, last: &str) -> Result<(), sqlx::Error> {
        let Deferred {
            sql, args, broken, ..
        } = std::mem::take(&mut self.deferred);
        if broken {
            return Err(sqlx::Error::Protocol(
                "a statement's value could not be encoded".into(),
            ));
        }
        if sql.is_empty() && last.is_empty() {
            return Ok(());
        }
        let connection = &mut self.state.as_mut().expect("an open transaction").connection;
        sqlx::query_with(sqlx::AssertSqlSafe(sql + last), args)
            .execute(connection)
            .await?;
        Ok(())
    }

    /// Releases the savepoint into the batch and waits until the batch is committed.
    pub(crate) async fn commit(mut self) -> Result<()> {
        if let Err(e) = self.run_deferred("RELEASE request").await {
            // A deferred statement failed: this transaction alone rolls back (or, if SQLite
            // gave the whole batch up, the batch fails).
            let mut state = self.state.take().expect("a transaction ends once");
            state.abandoned = true;
            state.settle(&self.writer.released).await?;
            return Err(e.into());
        }
        let state = self.state.take().expect("a transaction ends once");
        let outcome = state.outcome.clone();
        let mut done = outcome.subscribe();
        self.writer.released.send_modify(|n| *n += 1);
        drop(state);
        self.writer.dirty.notify_one();
        let outcome = done
            .wait_for(Option::is_some)
            .await
            .map(|o| o.clone())
            .ok()
            .flatten()
            .unwrap_or_else(|| Err("the writer stopped before the batch committed".into()));
        outcome.map_err(|reason| Error::Batch(reason.to_string()))
    }

    /// Undoes what this transaction did; the rest of the batch stands.
    pub(crate) async fn rollback(mut self) -> Result<()> {
        let unsent = std::mem::take(&mut self.deferred).savepoint_unsent;
        let mut state = self.state.take().expect("a transaction ends once");
        if unsent {
            return Ok(()); // nothing of it ran
        }
        state.abandoned = true;
        state.settle(&self.writer.released).await
    }

    fn state(&self) -> &WriterState {
        self.state.as_ref().expect("an open transaction")
    }

    pub(crate) fn cache(&self) -> Arc<ConfigCache> {
        self.state().cache.clone()
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if let Some(mut state) = self.state.take() {
            if self.deferred.savepoint_unsent {
                return; // nothing of it ran
            }
            state.abandoned = true;
            drop(state);
            self.writer.dirty.notify_one();
        }
    }
}

impl Deref for SqliteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.state().connection
    }
}

impl DerefMut for SqliteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.state.as_mut().expect("an open transaction").connection
    }
}

/// `sql` with each bind `$N` numbered `$(N + offset)`. The statements deferred are wharf's
/// own text: a `$` stands only for a bind.
fn renumbered(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// While alive, the open batch stays open (see [`crate::Store::hold_commits`]).
pub struct CommitHold {
    writer: Arc<SqliteWriter>,
}

impl Drop for CommitHold {
    fn drop(&mut self) {
        self.writer.held.send_replace(false);
        self.writer.dirty.notify_one();
    }
}

/// Closes the writer's connection (used on shutdown, after the last batch).
pub(crate) async fn close(writer: &SqliteWriter) {
    let mut state = writer.state.clone().lock_owned().await;
    let _ = state.settle(&writer.released).await;
    state.close_batch(&writer.released).await;
    let _ = execute(&mut state.connection, "PRAGMA wal_checkpoint(TRUNCATE)").await;
}

#[cfg(test)]
mod tests {
    use super::renumbered;

    #[test]
    fn binds_are_numbered_after_those_already_deferred() {
        let sql = "INSERT INTO t (a, b) VALUES ($1, $2), ($10, $2)";
        assert_eq!(renumbered(sql, 0), sql);
        assert_eq!(
            renumbered(sql, 6),
            "INSERT INTO t (a, b) VALUES ($7, $8), ($16, $8)"
        );
        assert_eq!(renumbered("SELECT $ FROM t", 3), "SELECT $ FROM t");
    }
}
