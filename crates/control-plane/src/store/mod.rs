//! The store, on SQLite or PostgreSQL: one set of queries (`$N` placeholders, which both
//! accept), compiled for each database by the `on!`/`in_tx!` macros, and one set of
//! migrations per database.
//!
//! SQLite: one writer connection (SQLite takes one writer at a time anyway, and a single
//! connection never meets `SQLITE_BUSY`) and a pool of read-only readers beside it (WAL).
//! PostgreSQL: one pool for both, so several `wharf serve` processes can share a database;
//! unique indexes, not in-process locks, keep registrations and promotions single.

use crate::audit::Audit;
use crate::error::{Error, Result};
use crate::views::ci_system_name;

mod access;
mod artifacts;
mod places;
mod registry;
mod workflows;

pub use access::{TokenInfo, bind_role, insert_user};

pub use artifacts::{BucketFields, BuildFilter};
pub use registry::ArtifactoryRow;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{FromRow, Postgres, Sqlite, Transaction};
use std::path::PathBuf;
use std::time::Duration;
use wharf_api::{CiSystem, Criterion, RegistrationType, RoutingRuleRequest, WorkflowHierarchy};
pub use workflows::NewWorkflow;

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

/// A write transaction of either database; dropped without `commit`, it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
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
        Err(Error::bad_request(
            "--database must be a postgres:// URL; for SQLite, pass --data DIR instead",
        ))
    }
}

#[derive(Clone)]
pub struct Store {
    writer: Pool,
    reader: Pool,
    roles: crate::permissions::RoleCache,
}

/// `SELECT <every CI integration column> FROM ci_integrations <rest>`, as one literal.
macro_rules! select_cis {
    ($rest:literal) => {
        concat!(
            "SELECT id, project, name, registration_type, description, artifactory, created_by,
             created_at, mode, routing_rule_id, workflow_id FROM ci_integrations ",
            $rest
        )
    };
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

pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[derive(Debug, Clone, FromRow)]
pub struct UserToken {
    pub user_id: String,
    pub username: String,
    pub admin: bool,
    pub token_hash: String,
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct ProjectRow {
    pub name: String,
    pub registration_type: Option<String>,
    pub ci_system: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct EnvironmentRow {
    pub id: String,
    pub project: String,
    pub name: String,
    pub release_stream: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct StreamRow {
    pub project: String,
    pub name: String,
    pub description: Option<String>,
    pub prod: bool,
    pub created_by: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct CiRow {
    pub id: String,
    pub project: String,
    pub name: String,
    pub registration_type: String,
    pub description: Option<String>,
    pub artifactory: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    /// `NONE`, `INHERITED` (the project's default rule and workflow) or `CUSTOM`.
    pub mode: String,
    pub routing_rule_id: Option<String>,
    pub workflow_id: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct RuleRow {
    pub id: String,
    pub project: String,
    pub rule_name: String,
    pub registration_type: String,
    pub is_default: bool,
    pub ci_system: Option<String>,
    pub criteria: String,
    pub created_by: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct WorkflowRow {
    pub id: String,
    pub project: String,
    pub name: String,
    pub registration_type: String,
    pub is_default: bool,
    pub hierarchies: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct ArtifactRow {
    pub id: String,
    pub ci_id: String,
    pub project: String,
    pub application_name: String,
    pub artifact_uri: String,
    pub artifactory: String,
    pub external_id: Option<String>,
    pub description: Option<String>,
    pub metadata: String,
    pub register_type: String,
    pub register_value: String,
    pub registration_type: String,
    pub cluster_id: Option<String>,
    pub cluster_name: Option<String>,
    pub release_stream: Option<String>,
    pub classified: bool,
    pub applied_rule_id: Option<String>,
    pub applied_rule_name: Option<String>,
    pub promoted: bool,
    pub origin: String,
    pub repository_name: Option<String>,
    pub tag: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub promoted_from: Option<String>,
}

impl Store {
    /// Opens the store (creating a SQLite file when missing) and runs the migrations.
    pub async fn open(database: &Database) -> Result<Self> {
        let store = match database {
            Database::Sqlite(dir) => Self::open_sqlite(dir).await?,
            Database::Postgres(url) => Self::open_postgres(url).await?,
        };
        store.seed_roles().await?;
        Ok(store)
    }

    async fn open_sqlite(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Internal(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let options = SqliteConnectOptions::new()
            .filename(dir.join("wharf.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            writer: Pool::Sqlite(writer),
            reader: Pool::Sqlite(reader),
            roles: Default::default(),
        })
    }

    async fn open_postgres(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| {
                Error::bad_request(format!("cannot connect to the PostgreSQL database: {e}"))
            })?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let pool = Pool::Postgres(pool);
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
            roles: Default::default(),
        })
    }

    /// Runs one SQL statement as written, inside a transaction: for tests and for operators
    /// inspecting a store, never for request handling.
    pub async fn raw_execute(&self, sql: &str) -> Result<u64> {
        let mut tx = self.begin().await?;
        let sql = sql.to_string();
        let done = in_tx!(&mut tx, |e| sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(e)
            .await
            .map(|r| r.rows_affected()))?;
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

    /// Roles read recently; see `permissions`.
    pub fn roles_cache(&self) -> &crate::permissions::RoleCache {
        &self.roles
    }

    pub fn reader(&self) -> &Pool {
        &self.reader
    }

    /// A write transaction (on SQLite, on the single writer connection).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.writer {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes every connection, checkpointing SQLite's WAL first; used on shutdown.
    pub async fn close(&self) {
        if let Pool::Sqlite(writer) = &self.writer {
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(writer)
                .await;
        }
        self.reader.close().await;
        self.writer.close().await;
    }

    // ---- users and tokens ----

    pub async fn tokens_of(&self, username: &str) -> Result<Vec<UserToken>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT u.id AS user_id, u.username, u.admin, t.token_hash, t.expires_at
             FROM users u JOIN tokens t ON t.user_id = u.id WHERE u.username = $1",
        )
        .bind(username)
        .fetch_all(e)
        .await)?)
    }

    /// Makes sure `username` exists and that `token_hash` is one of its tokens.
    pub async fn ensure_user_token(
        &self,
        username: &str,
        token_hash: &str,
        admin: bool,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let now = now();
        in_tx!(&mut tx, |e| sqlx::query(
            "INSERT INTO users (id, username, admin, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(new_id())
        .bind(username)
        .bind(admin)
        .bind(&now)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        in_tx!(&mut tx, |e| sqlx::query(
            "INSERT INTO tokens (id, user_id, token_hash, name, created_at)
             SELECT $1, id, $2, 'bootstrap', $3 FROM users WHERE username = $4
             ON CONFLICT (token_hash) DO NOTHING",
        )
        .bind(new_id())
        .bind(token_hash)
        .bind(&now)
        .bind(username)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn user_count(&self) -> Result<i64> {
        Ok(on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users"
        )
        .fetch_one(e)
        .await)?)
    }

    // ---- projects, streams, environments ----

    pub async fn project(&self, name: &str) -> Result<ProjectRow> {
        on!(&self.reader, |e| sqlx::query_as(
            "SELECT name, registration_type, ci_system FROM projects WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(e)
        .await)?
        .ok_or_else(|| {
            Error::not_found(format!(
                "project '{name}' not found; create it with `wharf apply wharf.toml`"
            ))
        })
    }

    pub async fn environment(&self, project: &str, name: &str) -> Result<Option<EnvironmentRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT id, project, name, release_stream FROM environments
             WHERE project = $1 AND name = $2",
        )
        .bind(project)
        .bind(name)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn environment_by_id(&self, id: &str) -> Result<Option<EnvironmentRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT id, project, name, release_stream FROM environments WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn environments(&self, project: &str) -> Result<Vec<EnvironmentRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT id, project, name, release_stream FROM environments
             WHERE project = $1 ORDER BY name",
        )
        .bind(project)
        .fetch_all(e)
        .await)?)
    }

    pub async fn streams(&self, project: &str) -> Result<Vec<StreamRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT project, name, description, prod, created_by, created_at
             FROM release_streams WHERE project = $1 ORDER BY name",
        )
        .bind(project)
        .fetch_all(e)
        .await)?)
    }

    pub async fn stream_exists(&self, project: &str, name: &str) -> Result<bool> {
        let found: i64 = on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM release_streams WHERE project = $1 AND name = $2",
        )
        .bind(project)
        .bind(name)
        .fetch_one(e)
        .await)?;
        Ok(found > 0)
    }

    // ---- CI integrations ----

    pub async fn ci(&self, project: &str, name: &str) -> Result<Option<CiRow>> {
        Ok(on!(&self.reader, |e| {
            sqlx::query_as(select_cis!("WHERE project = $1 AND name = $2"))
                .bind(project)
                .bind(name)
                .fetch_optional(e)
                .await
        })?)
    }

    pub async fn ci_by_id(&self, id: &str) -> Result<Option<CiRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_cis!(
            "WHERE id = $1"
        ),)
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// CI integrations named `name` in any project (names are unique per project only).
    pub async fn cis_named(&self, name: &str) -> Result<Vec<CiRow>> {
        Ok(on!(&self.reader, |e| {
            sqlx::query_as(select_cis!("WHERE name = $1 ORDER BY project"))
                .bind(name)
                .fetch_all(e)
                .await
        })?)
    }

    pub async fn cis(&self, project: Option<&str>) -> Result<Vec<CiRow>> {
        Ok(on!(&self.reader, |e| {
            sqlx::query_as(select_cis!(
                "WHERE $1 IS NULL OR project = $1
             ORDER BY project, name"
            ))
            .bind(project)
            .fetch_all(e)
            .await
        })?)
    }

    pub async fn update_ci(&self, ci: &CiRow, audit: Audit) -> Result<()> {
        let mut tx = self.begin().await?;
        in_tx!(&mut tx, |e| sqlx::query(
            "UPDATE ci_integrations SET description = $1, artifactory = $2 WHERE id = $3"
        )
        .bind(&ci.description)
        .bind(&ci.artifactory)
        .bind(&ci.id)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a CI integration that has no builds (checked again inside the transaction).
    pub async fn delete_ci(&self, id: &str, audit: Audit) -> Result<()> {
        let mut tx = self.begin().await?;
        let builds: i64 = in_tx!(&mut tx, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM artifacts WHERE ci_id = $1"
        )
        .bind(id)
        .fetch_one(e)
        .await)?;
        if builds > 0 {
            return Err(Error::bad_request(format!(
                "Cannot delete: artifacts still registered ({builds} builds in this CI integration)"
            )));
        }
        in_tx!(&mut tx, |e| sqlx::query(
            "DELETE FROM ci_integrations WHERE id = $1"
        )
        .bind(id)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn insert_rule(
        &self,
        rule: &RoutingRuleRequest,
        user: &str,
        audit: Audit,
    ) -> Result<String> {
        let id = new_id();
        let mut tx = self.begin().await?;
        in_tx!(&mut tx, |e| sqlx::query(
            "INSERT INTO routing_rules (id, project, rule_name, registration_type, is_default,
             ci_system, criteria, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&rule.stack_name)
        .bind(&rule.rule_name)
        .bind(rule.registration_type.as_str())
        .bind(rule.is_default)
        .bind(rule.ci_system.map(ci_system_name))
        .bind(serde_json::to_string(&rule.criteria).unwrap_or_else(|_| "[]".into()))
        .bind(user)
        .bind(now())
        .execute(e)
        .await.map(|r| r.rows_affected()))
        .map_err(unique_violation_as_conflict)?;
        audit.target(&id).record(&mut tx).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn update_rule(
        &self,
        id: &str,
        rule: &RoutingRuleRequest,
        audit: Audit,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        in_tx!(&mut tx, |e| {
            sqlx::query(
            "UPDATE routing_rules SET rule_name = $1, criteria = $2, ci_system = $3, is_default = $4
             WHERE id = $5",
        )
        .bind(&rule.rule_name)
        .bind(serde_json::to_string(&rule.criteria).unwrap_or_else(|_| "[]".into()))
        .bind(rule.ci_system.map(ci_system_name))
        .bind(rule.is_default)
        .bind(id)
        .execute(e)
        .await.map(|r| r.rows_affected())
        })
        .map_err(unique_violation_as_conflict)?;
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_rule(&self, id: &str, audit: Audit) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = in_tx!(&mut tx, |e| sqlx::query(
            "DELETE FROM routing_rules WHERE id = $1"
        )
        .bind(id)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Ok(false);
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes the project's default rule and workflow and forgets its registration type.
    pub async fn reset_ci_cd(&self, project: &str, audit: Audit) -> Result<()> {
        let mut tx = self.begin().await?;
        in_tx!(&mut tx, |e| sqlx::query(
            "DELETE FROM routing_rules WHERE project = $1 AND is_default = TRUE"
        )
        .bind(project)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        in_tx!(&mut tx, |e| sqlx::query(
            "DELETE FROM workflows WHERE project = $1 AND is_default = TRUE"
        )
        .bind(project)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        in_tx!(&mut tx, |e| sqlx::query(
            "UPDATE projects SET registration_type = NULL, ci_system = NULL WHERE name = $1",
        )
        .bind(project)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- routing rules and workflows ----

    pub async fn default_rule(
        &self,
        project: &str,
        registration_type: &str,
    ) -> Result<Option<RuleRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT id, project, rule_name, registration_type, is_default, ci_system, criteria,
             created_by, created_at FROM routing_rules
             WHERE project = $1 AND registration_type = $2 AND is_default = TRUE",
        )
        .bind(project)
        .bind(registration_type)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn rule(&self, id: &str) -> Result<Option<RuleRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT id, project, rule_name, registration_type, is_default, ci_system, criteria,
             created_by, created_at FROM routing_rules WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn rules(
        &self,
        project: &str,
        registration_type: Option<&str>,
    ) -> Result<Vec<RuleRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT id, project, rule_name, registration_type, is_default, ci_system, criteria,
             created_by, created_at FROM routing_rules
             WHERE project = $1 AND ($2 IS NULL OR registration_type = $2)
             ORDER BY is_default DESC, rule_name",
        )
        .bind(project)
        .bind(registration_type)
        .fetch_all(e)
        .await)?)
    }

    pub async fn default_workflow(
        &self,
        project: &str,
        registration_type: &str,
    ) -> Result<Option<WorkflowRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT id, project, name, registration_type, is_default, hierarchies FROM workflows
             WHERE project = $1 AND registration_type = $2 AND is_default = TRUE",
        )
        .bind(project)
        .bind(registration_type)
        .fetch_optional(e)
        .await)?)
    }

    // ---- builds ----

    /// A CI integration with its project's default rule for the CI's registration type, in one
    /// read: the hot path of every registration.
    pub async fn ci_with_rule(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<(CiRow, Option<RuleRow>)>> {
        let row: Option<CiWithRule> = on!(&self.reader, |e| sqlx::query_as(
            "SELECT c.id, c.project, c.name, c.registration_type, c.description, c.artifactory,
                    c.created_by, c.created_at, c.mode, c.routing_rule_id, c.workflow_id,
                    r.id AS rule_id, r.rule_name, r.criteria
             FROM ci_integrations c
             LEFT JOIN routing_rules r ON (c.mode = 'CUSTOM' AND r.id = c.routing_rule_id)
                 OR (c.mode = 'INHERITED' AND r.project = c.project
                     AND r.registration_type = c.registration_type AND r.is_default = TRUE)
             WHERE c.project = $1 AND c.name = $2",
        )
        .bind(project)
        .bind(name)
        .fetch_optional(e)
        .await)?;
        Ok(row.map(CiWithRule::split))
    }
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

pub async fn insert_ci(tx: &mut Tx, ci: &CiRow) -> Result<()> {
    in_tx!(tx, |e| sqlx::query(
        "INSERT INTO ci_integrations (id, project, name, registration_type, description,
         artifactory, created_by, created_at, mode, routing_rule_id, workflow_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&ci.id)
    .bind(&ci.project)
    .bind(&ci.name)
    .bind(&ci.registration_type)
    .bind(&ci.description)
    .bind(&ci.artifactory)
    .bind(&ci.created_by)
    .bind(&ci.created_at)
    .bind(&ci.mode)
    .bind(&ci.routing_rule_id)
    .bind(&ci.workflow_id)
    .execute(e)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A project's default routing rule for one registration type.
pub struct DefaultRule<'a> {
    pub project: &'a str,
    pub registration_type: RegistrationType,
    pub rule_name: &'a str,
    pub criteria: &'a [Criterion],
    pub ci_system: Option<CiSystem>,
}

/// Replaces the default rule's name and criteria, keeping its id, or creates it.
pub async fn set_default_rule(tx: &mut Tx, rule: &DefaultRule<'_>, user: &str) -> Result<Change> {
    let criteria = serde_json::to_string(rule.criteria).unwrap_or_else(|_| "[]".into());
    let ci_system = rule.ci_system.map(ci_system_name);
    let current: Option<(String, String, String)> = in_tx!(tx, |e| sqlx::query_as(
        "SELECT id, rule_name, criteria FROM routing_rules
         WHERE project = $1 AND registration_type = $2 AND is_default = TRUE",
    )
    .bind(rule.project)
    .bind(rule.registration_type.as_str())
    .fetch_optional(e)
    .await)?;
    match current {
        Some((_, name, stored)) if name == rule.rule_name && stored == criteria => {
            Ok(Change::Unchanged)
        }
        Some((id, _, _)) => {
            in_tx!(tx, |e| {
                sqlx::query(
                "UPDATE routing_rules SET rule_name = $1, criteria = $2, ci_system = $3 WHERE id = $4",
            )
            .bind(rule.rule_name)
            .bind(&criteria)
            .bind(&ci_system)
            .bind(&id)
            .execute(e)
            .await.map(|r| r.rows_affected())
            })?;
            Ok(Change::Updated)
        }
        None => {
            in_tx!(tx, |e| {
                sqlx::query(
                "INSERT INTO routing_rules (id, project, rule_name, registration_type, is_default,
                 ci_system, criteria, created_by, created_at) VALUES ($1, $2, $3, $4, TRUE, $5, $6, $7, $8)",
            )
            .bind(new_id())
            .bind(rule.project)
            .bind(rule.rule_name)
            .bind(rule.registration_type.as_str())
            .bind(&ci_system)
            .bind(&criteria)
            .bind(user)
            .bind(now())
            .execute(e)
            .await.map(|r| r.rows_affected())
            })?;
            Ok(Change::Created)
        }
    }
}

/// Replaces the default workflow's stages, keeping its id, or creates it.
pub async fn set_default_workflow(
    tx: &mut Tx,
    project: &str,
    registration_type: RegistrationType,
    stages: &[WorkflowHierarchy],
) -> Result<Change> {
    let hierarchies = serde_json::to_string(stages).unwrap_or_else(|_| "[]".into());
    let current: Option<(String, String)> = in_tx!(tx, |e| sqlx::query_as(
        "SELECT id, hierarchies FROM workflows
         WHERE project = $1 AND registration_type = $2 AND is_default = TRUE",
    )
    .bind(project)
    .bind(registration_type.as_str())
    .fetch_optional(e)
    .await)?;
    match current {
        Some((_, stored)) if stored == hierarchies => Ok(Change::Unchanged),
        Some((id, _)) => {
            in_tx!(tx, |e| sqlx::query(
                "UPDATE workflows SET hierarchies = $1 WHERE id = $2"
            )
            .bind(&hierarchies)
            .bind(&id)
            .execute(e)
            .await
            .map(|r| r.rows_affected()))?;
            Ok(Change::Updated)
        }
        None => {
            in_tx!(tx, |e| sqlx::query(
                "INSERT INTO workflows (id, project, name, registration_type, is_default,
                 hierarchies, created_at) VALUES ($1, $2, 'default', $3, TRUE, $4, $5)",
            )
            .bind(new_id())
            .bind(project)
            .bind(registration_type.as_str())
            .bind(&hierarchies)
            .bind(now())
            .execute(e)
            .await
            .map(|r| r.rows_affected()))?;
            Ok(Change::Created)
        }
    }
}

pub async fn set_project_type(
    tx: &mut Tx,
    project: &str,
    registration_type: RegistrationType,
    ci_system: Option<CiSystem>,
) -> Result<()> {
    in_tx!(tx, |e| sqlx::query(
        "UPDATE projects SET registration_type = $1, ci_system = COALESCE($2, ci_system)
         WHERE name = $3",
    )
    .bind(registration_type.as_str())
    .bind(ci_system.map(ci_system_name))
    .bind(project)
    .execute(e)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

fn unique_violation_as_conflict(error: sqlx::Error) -> Error {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Error::conflict("a default rule already exists for this project and registration type")
        }
        _ => error.into(),
    }
}

#[derive(FromRow)]
struct CiWithRule {
    id: String,
    project: String,
    name: String,
    registration_type: String,
    description: Option<String>,
    artifactory: Option<String>,
    created_by: Option<String>,
    created_at: String,
    mode: String,
    routing_rule_id: Option<String>,
    workflow_id: Option<String>,
    rule_id: Option<String>,
    rule_name: Option<String>,
    criteria: Option<String>,
}

impl CiWithRule {
    fn split(self) -> (CiRow, Option<RuleRow>) {
        let rule = match (self.rule_id, self.rule_name, self.criteria) {
            (Some(id), Some(rule_name), Some(criteria)) => Some(RuleRow {
                id,
                project: self.project.clone(),
                rule_name,
                registration_type: self.registration_type.clone(),
                is_default: true,
                ci_system: None,
                criteria,
                created_by: None,
                created_at: String::new(),
            }),
            _ => None,
        };
        let ci = CiRow {
            id: self.id,
            project: self.project,
            name: self.name,
            registration_type: self.registration_type,
            description: self.description,
            artifactory: self.artifactory,
            created_by: self.created_by,
            created_at: self.created_at,
            mode: self.mode,
            routing_rule_id: self.routing_rule_id,
            workflow_id: self.workflow_id,
        };
        (ci, rule)
    }
}
