//! Registries other than the built-in one ("others" in Facets' words).

use crate::{ArtifactoryRow, Result, Store, Tx};

const SELECT_ARTIFACTORIES: &str =
    "SELECT name, uri, username, password, created_by, created_at FROM artifactories";

impl Store {
    pub async fn artifactories(&self) -> Result<Vec<ArtifactoryRow>> {
        let sql = format!("{SELECT_ARTIFACTORIES} ORDER BY name");
        Ok(on!(&self.reader, |e| sqlx::query_as(sqlx::AssertSqlSafe(
            sql
        ))
        .fetch_all(e)
        .await)?)
    }

    pub async fn artifactory(&self, name: &str) -> Result<Option<ArtifactoryRow>> {
        let sql = format!("{SELECT_ARTIFACTORIES} WHERE name = $1");
        Ok(on!(&self.reader, |e| sqlx::query_as(sqlx::AssertSqlSafe(
            sql
        ))
        .bind(name)
        .fetch_optional(e)
        .await)?)
    }
}

impl Tx {
    /// Adds a registry; `false` when one of that name exists.
    pub async fn insert_artifactory(&mut self, row: &ArtifactoryRow) -> Result<bool> {
        let done = execute!(
            self,
            "INSERT INTO artifactories (name, uri, username, password, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
            &row.name,
            &row.uri,
            &row.username,
            &row.password,
            &row.created_by,
            &row.created_at,
        )?;
        Ok(done > 0)
    }
}
