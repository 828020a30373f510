//! Registries other than the built-in one ("others" in Facets' words). A password is stored as
//! the domain hands it over: sealed (`v1:…`), tagged `plain:` (from before 0009), or empty.

use crate::{ArtifactoryRow, Result, Store, Table, Tx};

const SELECT_ARTIFACTORIES: &str =
    "SELECT name, uri, username, password, created_by, created_at FROM artifactories";

impl Store {
    pub async fn artifactories(&self) -> Result<Vec<ArtifactoryRow>> {
        let key = "artifactories".to_string();
        self.cached(key, &[Table::Artifactories], async {
            let sql = format!("{SELECT_ARTIFACTORIES} ORDER BY name");
            Ok(on!(&self.reader, |e| sqlx::query_as(sqlx::AssertSqlSafe(
                sql
            ))
            .fetch_all(e)
            .await)?)
        })
        .await
    }

    pub async fn artifactory(&self, name: &str) -> Result<Option<ArtifactoryRow>> {
        let key = format!("artifactory\0{name}");
        self.cached(key, &[Table::Artifactories], async {
            let sql = format!("{SELECT_ARTIFACTORIES} WHERE name = $1");
            Ok(on!(&self.reader, |e| sqlx::query_as(sqlx::AssertSqlSafe(
                sql
            ))
            .bind(name)
            .fetch_optional(e)
            .await)?)
        })
        .await
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

impl Tx {
    /// Every registry with a password, as stored (the domain decides what to reseal).
    pub async fn artifactories_with_password(&mut self) -> Result<Vec<ArtifactoryRow>> {
        let sql = format!("{SELECT_ARTIFACTORIES} WHERE password <> '' ORDER BY name");
        Ok(in_tx!(self, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(e)
            .await)?)
    }

    /// Replaces a registry's stored password with `new` if it is still `old`; `false` when it
    /// was not (changed meanwhile, or the registry is gone).
    pub async fn replace_artifactory_password(
        &mut self,
        name: &str,
        old: &str,
        new: &str,
    ) -> Result<bool> {
        let done = execute!(
            self,
            "UPDATE artifactories SET password = $3 WHERE name = $1 AND password = $2",
            name,
            old,
            new,
        )?;
        Ok(done > 0)
    }
}
