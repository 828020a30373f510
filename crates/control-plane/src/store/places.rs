//! Release streams and environments managed one at a time (the project file does it whole).

use super::{Store, new_id, now};
use crate::audit::Audit;
use crate::error::{Error, Result};

impl Store {
    pub async fn insert_stream(
        &self,
        project: &str,
        name: &str,
        description: Option<&str>,
        prod: bool,
        user: &str,
        audit: Audit,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = in_tx!(&mut tx, |e| {
            sqlx::query(
            "INSERT INTO release_streams (project, name, description, prod, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project, name) DO NOTHING",
        )
        .bind(project)
        .bind(name)
        .bind(description)
        .bind(prod)
        .bind(user)
        .bind(now())
        .execute(e)
        .await.map(|r| r.rows_affected())
        })?;
        if done == 0 {
            return Err(Error::conflict(format!(
                "release stream '{name}' already exists in project '{project}'"
            )));
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a stream no environment belongs to and no build sits in.
    pub async fn delete_stream(&self, project: &str, name: &str, audit: Audit) -> Result<()> {
        let mut tx = self.begin().await?;
        let environments: Vec<(String,)> = in_tx!(&mut tx, |e| {
            sqlx::query_as(
            "SELECT name FROM environments WHERE project = $1 AND release_stream = $2 ORDER BY name"
        )
        .bind(project)
        .bind(name)
        .fetch_all(e)
        .await
        })?;
        if !environments.is_empty() {
            let names: Vec<_> = environments.into_iter().map(|(n,)| n).collect();
            return Err(Error::bad_request(format!(
                "Cannot delete: release stream '{name}' still has environments {}",
                names.join(", ")
            )));
        }
        let builds: i64 = in_tx!(&mut tx, |e| {
            sqlx::query_scalar(
            "SELECT COUNT(*) FROM artifacts WHERE project = $1 AND cluster_id IS NULL AND release_stream = $2",
        )
        .bind(project)
        .bind(name)
        .fetch_one(e)
        .await
        })?;
        if builds > 0 {
            return Err(Error::bad_request(format!(
                "Cannot delete: {builds} builds sit in release stream '{name}'"
            )));
        }
        let done = in_tx!(&mut tx, |e| sqlx::query(
            "DELETE FROM release_streams WHERE project = $1 AND name = $2"
        )
        .bind(project)
        .bind(name)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(Error::not_found(format!(
                "release stream '{name}' not found in project '{project}'"
            )));
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates an environment, or moves it to another stream; `true` when created.
    pub async fn save_environment(
        &self,
        project: &str,
        name: &str,
        stream: &str,
        audit: Audit,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let updated = in_tx!(&mut tx, |e| sqlx::query(
            "UPDATE environments SET release_stream = $1 WHERE project = $2 AND name = $3",
        )
        .bind(stream)
        .bind(project)
        .bind(name)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        let created = updated == 0;
        if created {
            in_tx!(&mut tx, |e| sqlx::query(
                "INSERT INTO environments (id, project, name, release_stream, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new_id())
            .bind(project)
            .bind(name)
            .bind(stream)
            .bind(now())
            .execute(e)
            .await
            .map(|r| r.rows_affected()))?;
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Deletes an environment no build sits in.
    pub async fn delete_environment(&self, id: &str, audit: Audit) -> Result<()> {
        let mut tx = self.begin().await?;
        let builds: i64 = in_tx!(&mut tx, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM artifacts WHERE cluster_id = $1"
        )
        .bind(id)
        .fetch_one(e)
        .await)?;
        if builds > 0 {
            return Err(Error::bad_request(format!(
                "Cannot delete: {builds} builds sit in this environment"
            )));
        }
        in_tx!(&mut tx, |e| sqlx::query(
            "DELETE FROM environments WHERE id = $1"
        )
        .bind(id)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
