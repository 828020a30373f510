//! Projects, release streams and environments.

use crate::{EnvironmentRow, ProjectRow, Result, Store, StreamRow, Table, Tx, new_id, now};
use wharf_api::{CiSystem, RegistrationType};

const SELECT_ENVIRONMENTS: &str = "SELECT id, project, name, release_stream FROM environments";

/// A stream to write; `update` lets an existing one take this description and prod flag.
#[derive(Debug, Clone)]
pub struct NewStream<'a> {
    pub project: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub prod: bool,
    pub created_by: &'a str,
    pub update: bool,
}

impl Store {
    pub async fn project(&self, name: &str) -> Result<Option<ProjectRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT name, registration_type, ci_system FROM projects WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn environment(&self, project: &str, name: &str) -> Result<Option<EnvironmentRow>> {
        let key = format!("environment\0{project}\0{name}");
        self.cached(key, &[Table::Environments], async {
            let sql = format!("{SELECT_ENVIRONMENTS} WHERE project = $1 AND name = $2");
            Ok(on!(&self.reader, |e| sqlx::query_as(sqlx::AssertSqlSafe(
                sql
            ))
            .bind(project)
            .bind(name)
            .fetch_optional(e)
            .await)?)
        })
        .await
    }

    pub async fn environment_by_id(&self, id: &str) -> Result<Option<EnvironmentRow>> {
        let sql = format!("{SELECT_ENVIRONMENTS} WHERE id = $1");
        Ok(on!(&self.reader, |e| sqlx::query_as(sqlx::AssertSqlSafe(
            sql
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn environments(&self, project: &str) -> Result<Vec<EnvironmentRow>> {
        let key = format!("environments\0{project}");
        self.cached(key, &[Table::Environments], async {
            let sql = format!("{SELECT_ENVIRONMENTS} WHERE project = $1 ORDER BY name");
            Ok(on!(&self.reader, |e| sqlx::query_as(sqlx::AssertSqlSafe(
                sql
            ))
            .bind(project)
            .fetch_all(e)
            .await)?)
        })
        .await
    }

    /// Every project's name, in order.
    pub async fn project_names(&self) -> Result<Vec<String>> {
        Ok(on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT name FROM projects ORDER BY name"
        )
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
}

impl Tx {
    /// The project's registration type, `Some(None)` when it has none yet, `None` when the
    /// project does not exist.
    pub async fn project_type(&mut self, name: &str) -> Result<Option<Option<RegistrationType>>> {
        let row: Option<(Option<RegistrationType>,)> = in_tx!(self, |e| sqlx::query_as(
            "SELECT registration_type FROM projects WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(e)
        .await)?;
        Ok(row.map(|(kind,)| kind))
    }

    pub async fn insert_project(
        &mut self,
        name: &str,
        registration_type: RegistrationType,
        ci_system: Option<CiSystem>,
    ) -> Result<()> {
        execute!(
            self,
            "INSERT INTO projects (name, registration_type, ci_system, created_at)
             VALUES ($1, $2, $3, $4)",
            name,
            registration_type,
            ci_system,
            now(),
        )?;
        Ok(())
    }

    /// Sets the project's registration type, and its CI system when given (`None` keeps it).
    pub async fn set_project_type(
        &mut self,
        project: &str,
        registration_type: Option<RegistrationType>,
        ci_system: Option<CiSystem>,
    ) -> Result<()> {
        execute!(
            self,
            "UPDATE projects SET registration_type = $1, ci_system = COALESCE($2, ci_system)
             WHERE name = $3",
            registration_type,
            ci_system,
            project,
        )?;
        Ok(())
    }

    /// Forgets the project's registration type and CI system (a CI/CD reset).
    pub async fn clear_project_type(&mut self, project: &str) -> Result<()> {
        execute!(
            self,
            "UPDATE projects SET registration_type = NULL, ci_system = NULL WHERE name = $1",
            project,
        )?;
        Ok(())
    }

    /// Writes a stream; `false` when it existed and `update` was not asked for.
    pub async fn save_stream(&mut self, stream: &NewStream<'_>) -> Result<bool> {
        let done = execute!(
            self,
            "INSERT INTO release_streams (project, name, description, prod, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (project, name) DO UPDATE SET
                 prod = excluded.prod,
                 description = COALESCE(excluded.description, release_streams.description)
             WHERE $7",
            stream.project,
            stream.name,
            stream.description,
            stream.prod,
            stream.created_by,
            now(),
            stream.update,
        )?;
        Ok(done > 0)
    }

    /// The environments of a stream, by name.
    pub async fn environments_of_stream(
        &mut self,
        project: &str,
        stream: &str,
    ) -> Result<Vec<String>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT name FROM environments WHERE project = $1 AND release_stream = $2 ORDER BY name"
        )
        .bind(project)
        .bind(stream)
        .fetch_all(e)
        .await)?)
    }

    /// The projects that have a stream named `name`.
    pub async fn projects_with_stream(&mut self, name: &str) -> Result<Vec<String>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT project FROM release_streams WHERE name = $1 ORDER BY project"
        )
        .bind(name)
        .fetch_all(e)
        .await)?)
    }

    pub async fn delete_stream(&mut self, project: &str, name: &str) -> Result<bool> {
        let done = execute!(
            self,
            "DELETE FROM release_streams WHERE project = $1 AND name = $2",
            project,
            name,
        )?;
        Ok(done > 0)
    }

    /// The stream an environment belongs to, `None` when there is no such environment.
    /// Whether `name` is a bucket of `project` for buckets of type `kind` (a release stream,
    /// or an environment).
    pub async fn bucket_exists(
        &mut self,
        project: &str,
        kind: RegistrationType,
        name: &str,
    ) -> Result<bool> {
        let found: i64 = match kind {
            RegistrationType::ReleaseStream => in_tx!(self, |e| sqlx::query_scalar(
                "SELECT COUNT(*) FROM release_streams WHERE project = $1 AND name = $2"
            )
            .bind(project)
            .bind(name)
            .fetch_one(e)
            .await)?,
            _ => in_tx!(self, |e| sqlx::query_scalar(
                "SELECT COUNT(*) FROM environments WHERE project = $1 AND name = $2"
            )
            .bind(project)
            .bind(name)
            .fetch_one(e)
            .await)?,
        };
        Ok(found > 0)
    }

    pub async fn environment_stream(
        &mut self,
        project: &str,
        name: &str,
    ) -> Result<Option<String>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT release_stream FROM environments WHERE project = $1 AND name = $2"
        )
        .bind(project)
        .bind(name)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn insert_environment(
        &mut self,
        project: &str,
        name: &str,
        stream: &str,
    ) -> Result<()> {
        execute!(
            self,
            "INSERT INTO environments (id, project, name, release_stream, created_at)
             VALUES ($1, $2, $3, $4, $5)",
            new_id(),
            project,
            name,
            stream,
            now(),
        )?;
        Ok(())
    }

    pub async fn move_environment(
        &mut self,
        project: &str,
        name: &str,
        stream: &str,
    ) -> Result<()> {
        execute!(
            self,
            "UPDATE environments SET release_stream = $1 WHERE project = $2 AND name = $3",
            stream,
            project,
            name,
        )?;
        Ok(())
    }

    pub async fn delete_environment(&mut self, id: &str) -> Result<()> {
        execute!(self, "DELETE FROM environments WHERE id = $1", id)?;
        Ok(())
    }
}
