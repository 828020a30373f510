//! The control plane's store: every SQL statement of `wharf serve`, on SQLite or PostgreSQL,
//! and the rows ([`model`]) they read and write.
//!
//! One style throughout: reads are methods on [`Store`] (on the readers), and everything that
//! runs inside a write transaction, reads included, is a method on [`Tx`]. One set of query
//! texts (`$N` placeholders, which both databases accept) is compiled for each database by the
//! `on!`/`in_tx!` macros; each database has its own migrations.
//!
//! This crate decides nothing: it never checks a permission, writes an audit entry it was not
//! handed, or words an error for a user. It imports nothing from the control plane above it
//! (the compiler holds that line); transactions are opened, committed and given meaning by the
//! domain.
//!
//! SQLite: one writer connection (SQLite takes one writer at a time anyway, and a single
//! connection never meets `SQLITE_BUSY`) and a pool of read-only readers beside it (WAL).
//! Writes share batches ([`group_commit`]), a transaction's inserts that nobody reads back run
//! in one round trip with its release, and configuration reads come from memory between
//! changes ([`config_cache`]).
//! PostgreSQL: one pool for both, so several `wharf serve` processes can share a database;
//! unique indexes, not in-process locks, keep registrations and promotions single.

/// Runs `$body` with `$e` bound to the pool inside `$pool` (a `&Pool`), once per database: the
/// same query text and binds compile for SQLite and for PostgreSQL.
macro_rules! on {
    ($pool:expr, |$e:ident| $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite($e) => $body,
            $crate::Pool::Postgres($e) => $body,
        }
    };
}

/// Like `on!`, inside a transaction (`$tx` is a `&mut Tx`): `$e` is its connection. On SQLite,
/// what the transaction deferred runs first.
macro_rules! in_tx {
    ($tx:expr, |$e:ident| $body:expr) => {
        match $tx.flush().await {
            Err(error) => Err(error),
            Ok(()) => in_tx_unflushed!($tx, |$e| $body),
        }
    };
}

/// Like `in_tx!`, for a read of tables that no deferred statement writes (events, deliveries,
/// audit entries, builds): it need not run them first.
macro_rules! in_tx_unflushed {
    ($tx:expr, |$e:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                let $e: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $e = &mut **t;
                $body
            }
        }
    };
}

/// Like `on!`, on the writer: a transaction of its own, so on SQLite the answer waits for the
/// batch it read from to commit (it may have read writes of that batch).
macro_rules! on_writer {
    ($store:expr, |$e:ident| $body:expr) => {{
        let mut tx = $store.begin().await?;
        let value = in_tx!(&mut tx, |$e| $body)?;
        tx.commit().await?;
        Ok::<_, $crate::Error>(value)
    }};
}

/// Runs one statement whose answer nobody reads inside a transaction: now on PostgreSQL; on
/// SQLite with the transaction's next statement or its commit, in one round trip
/// ([`SqliteTx::defer`]). Use it only where a failure may surface at that later point (the
/// transaction then fails as a whole).
macro_rules! execute_deferred {
    ($tx:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                t.defer($sql, |args| {
                    $( sqlx::Arguments::add(args, $bind)?; )*
                    Ok(())
                });
                Ok::<(), sqlx::Error>(())
            }
            $crate::Tx::Postgres(t) => sqlx::query($sql)
                $(.bind($bind))*
                .execute(&mut **t)
                .await
                .map(|_| ()),
        }
    };
}

/// Runs one statement without results inside a transaction; answers the rows it touched.
macro_rules! execute {
    ($tx:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        in_tx!($tx, |e| sqlx::query($sql)
            $(.bind($bind))*
            .execute(e)
            .await
            .map(|done| done.rows_affected()))
    };
}

mod access;
mod artifactories;
#[macro_use]
mod artifacts;
mod audit;
mod cis;
mod config_cache;
mod environments;
mod events;
mod group_commit;
pub mod model;
mod protection;
mod provenance;
mod registry;
mod rules;
mod trust;
mod ui;
mod workflows;

pub use audit::AuditFilter;
pub use environments::NewStream;
pub use events::{Attempted, DeliveryRow, EventRow, WebhookRow};
pub use group_commit::{CommitHold, SqliteTx};
pub use model::*;
pub use provenance::{ProvenanceRow, VERIFIED};
pub use rules::RuleChange;
pub use trust::TrustRow;
pub use ui::{NewSession, SessionRow, TagRow};

use config_cache::{ConfigCache, Table};
use group_commit::SqliteWriter;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Postgres, Transaction};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What can go wrong below the domain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("store: {0}")]
    Database(#[from] sqlx::Error),
    #[error("store migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create data directory {path}: {source}")]
    DataDirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to the PostgreSQL database: {0}")]
    Connect(sqlx::Error),
    #[error("--database must be a postgres:// URL; for SQLite, pass --data DIR instead")]
    NotPostgres,
    #[error("store: {0}")]
    Batch(String),
}

impl Error {
    /// A unique index refused the write: the thing exists already.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
    }

    /// The database could not be reached, or is shutting down or starting: the write did not
    /// happen, and the same request can be tried again.
    pub fn is_unavailable(&self) -> bool {
        let Error::Database(error) = self else {
            return false;
        };
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                // PostgreSQL: 08 connection exception, 57P01–57P03 shutting down or starting.
                // SQLite: 5 SQLITE_BUSY, 6 SQLITE_LOCKED (another process holds the file).
                code.starts_with("08") || code.starts_with("57P") || code == "5" || code == "6"
            }),
            _ => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A connection pool of either database.
#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// A write transaction of either database; dropped without [`Tx::commit`], it rolls back.
/// On SQLite it joins a batch ([`group_commit`]) and `commit` answers once the batch did.
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// The cache this transaction may answer `tables` from: SQLite's, while the open batch
    /// has not changed them ([`config_cache`]).
    fn cache_for(&self, tables: &[Table]) -> Option<Arc<ConfigCache>> {
        match self {
            Tx::Sqlite(tx) => Some(tx.cache()).filter(|c| !c.batch_changed(tables)),
            Tx::Postgres(_) => None,
        }
    }

    /// Runs what the transaction deferred (SQLite; PostgreSQL defers nothing).
    async fn flush(&mut self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.flush().await,
            Tx::Postgres(_) => Ok(()),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Runs one SQL statement as written: for tests and inspection, never request handling.
    pub async fn raw_execute(&mut self, sql: &str) -> Result<u64> {
        let sql = sql.to_string();
        Ok(execute!(self, sqlx::AssertSqlSafe(sql))?)
    }

    /// Undoes everything the transaction did (a dry run).
    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `DIR/wharf.db`.
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl Database {
    /// `postgres://…` or `postgresql://…` → PostgreSQL; anything else is an error naming the flag.
    pub fn parse_url(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        Err(Error::NotPostgres)
    }
}

/// How SQLite makes a commit durable (`--sqlite-synchronous`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit is on disk before it is acknowledged: survives a power cut.
    #[default]
    Full,
    /// The write-ahead log is synced at checkpoints only: survives the process being killed,
    /// but a power cut may lose the last commits.
    Normal,
}

/// How the store is opened.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreOptions {
    pub synchronous: Synchronous,
}

/// Where writes go: SQLite's one writer connection (with group commit), or PostgreSQL's pool.
#[derive(Clone)]
enum Writer {
    Sqlite(Arc<SqliteWriter>),
    Postgres(PgPool),
}

#[derive(Clone)]
pub struct Store {
    writer: Writer,
    reader: Pool,
    /// SQLite only ([`config_cache`]).
    cache: Option<Arc<ConfigCache>>,
}

/// Current time as the ISO-8601 UTC string Facets uses, millisecond precision.
pub fn now() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

/// `2026-11-23T10:15:30.123Z`: fixed width, so text order is time order.
pub fn format_time(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A new row id: time-ordered, so ids sort as rows were made.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

impl Store {
    /// Opens the store (creating a SQLite file when missing) and runs the migrations.
    pub async fn open(database: &Database) -> Result<Self> {
        Self::open_with(database, StoreOptions::default()).await
    }

    pub async fn open_with(database: &Database, options: StoreOptions) -> Result<Self> {
        match database {
            Database::Sqlite(dir) => Self::open_sqlite(dir, options.synchronous).await,
            Database::Postgres(url) => Self::open_postgres(url).await,
        }
    }

    async fn open_sqlite(dir: &Path, synchronous: Synchronous) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::DataDirectory {
            path: dir.to_path_buf(),
            source,
        })?;
        let options = SqliteConnectOptions::new()
            .filename(dir.join("wharf.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match synchronous {
                Synchronous::Full => SqliteSynchronous::Full,
                Synchronous::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let mut writer = sqlx::SqliteConnection::connect_with(&options).await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut writer)
            .await?;
        let cache = Arc::new(ConfigCache::default());
        let noted = cache.clone();
        writer
            .lock_handle()
            .await?
            .set_update_hook(move |change| noted.note_change(change.table));
        let writer = SqliteWriter::start(writer, cache.clone());
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            writer: Writer::Sqlite(writer),
            reader: Pool::Sqlite(reader),
            cache: Some(cache),
        })
    }

    async fn open_postgres(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(Error::Connect)?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            writer: Writer::Postgres(pool.clone()),
            reader: Pool::Postgres(pool),
            cache: None,
        })
    }

    /// Runs one SQL statement as written, inside a transaction: for tests and for operators
    /// inspecting a store, never for request handling.
    pub async fn raw_execute(&self, sql: &str) -> Result<u64> {
        let mut tx = self.begin().await?;
        let done = tx.raw_execute(sql).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// The first column of every row of a query, as text: for tests and inspection.
    pub async fn raw_strings(&self, sql: &str) -> Result<Vec<String>> {
        let sql = sql.to_string();
        Ok(on!(&self.reader, |e| sqlx::query_scalar(
            sqlx::AssertSqlSafe(sql)
        )
        .fetch_all(e)
        .await)?)
    }

    /// One trivial query: whether the database answers (the health check).
    pub async fn ping(&self) -> Result<()> {
        on!(&self.reader, |e| sqlx::query("SELECT 1")
            .execute(e)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// A write transaction (on SQLite, on the single writer connection).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.writer {
            Writer::Sqlite(writer) => Tx::Sqlite(writer.begin().await?),
            Writer::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Keeps SQLite's open batch from committing while the answer lives, so a test can see a
    /// batch form; `None` on PostgreSQL, which has no batches.
    #[doc(hidden)]
    pub fn hold_commits(&self) -> Option<CommitHold> {
        match &self.writer {
            Writer::Sqlite(writer) => Some(writer.hold()),
            Writer::Postgres(_) => None,
        }
    }

    /// Waits until `count` transactions wait in SQLite's open batch (see `hold_commits`).
    #[doc(hidden)]
    pub async fn batch_reaches(&self, count: usize) {
        if let Writer::Sqlite(writer) = &self.writer {
            writer.released_at_least(count).await;
        }
    }

    /// `load`'s answer, from memory while `tables` are unchanged since it was read under `key`
    /// ([`config_cache`]; SQLite only).
    async fn cached<T, F>(&self, key: String, tables: &[Table], load: F) -> Result<T>
    where
        T: Clone + Send + Sync + 'static,
        F: std::future::Future<Output = Result<T>>,
    {
        config_cache::read_through(self.cache.as_deref(), key, tables, load).await
    }

    /// Closes every connection, checkpointing SQLite's WAL first; used on shutdown.
    pub async fn close(&self) {
        self.reader.close().await;
        match &self.writer {
            Writer::Sqlite(writer) => group_commit::close(writer).await,
            Writer::Postgres(pool) => pool.close().await,
        }
    }
}
