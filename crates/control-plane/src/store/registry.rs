//! The built-in registry's index: which blobs and manifests each repository has, tags, upload
//! sessions, and short-lived push credentials.

use super::{Store, now};
use crate::audit::Audit;
use crate::error::{Error, Result};

impl Store {
    pub async fn registry_blob(&self, repository: &str, digest: &str) -> Result<Option<i64>> {
        Ok(on!(&self.writer, |e| sqlx::query_scalar(
            "SELECT size FROM registry_blobs WHERE repository = $1 AND digest = $2"
        )
        .bind(repository)
        .bind(digest)
        .fetch_optional(e)
        .await)?)
    }

    /// The size of `digest` in `from`, or in any repository when `from` is `None` (a mount).
    pub async fn registry_blob_elsewhere(
        &self,
        digest: &str,
        from: Option<&str>,
    ) -> Result<Option<i64>> {
        Ok(on!(&self.writer, |e| sqlx::query_scalar(
            "SELECT size FROM registry_blobs WHERE digest = $1 AND ($2 IS NULL OR repository = $2)
             LIMIT 1"
        )
        .bind(digest)
        .bind(from)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn add_registry_blob(&self, repository: &str, digest: &str, size: i64) -> Result<()> {
        on!(&self.writer, |e| {
            sqlx::query(
            "INSERT INTO registry_blobs (repository, digest, size, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repository, digest) DO NOTHING"
        )
        .bind(repository)
        .bind(digest)
        .bind(size)
        .bind(now())
        .execute(e)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// `(media type, size)` of a manifest in a repository.
    pub async fn registry_manifest(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Option<(String, i64)>> {
        Ok(on!(&self.writer, |e| sqlx::query_as(
            "SELECT media_type, size FROM registry_manifests WHERE repository = $1 AND digest = $2"
        )
        .bind(repository)
        .bind(digest)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn registry_tag(&self, repository: &str, tag: &str) -> Result<Option<String>> {
        Ok(on!(&self.writer, |e| sqlx::query_scalar(
            "SELECT digest FROM registry_tags WHERE repository = $1 AND tag = $2"
        )
        .bind(repository)
        .bind(tag)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn registry_tags(&self, repository: &str) -> Result<Vec<String>> {
        Ok(on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT tag FROM registry_tags WHERE repository = $1 ORDER BY tag"
        )
        .bind(repository)
        .fetch_all(e)
        .await)?)
    }

    /// Records a manifest, what it references, and its tag, in one transaction.
    pub async fn put_registry_manifest(
        &self,
        repository: &str,
        digest: &str,
        media_type: &str,
        size: i64,
        children: &[String],
        tag: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let at = now();
        in_tx!(&mut tx, |e| sqlx::query(
            "INSERT INTO registry_manifests (repository, digest, media_type, size, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repository, digest) DO NOTHING"
        )
        .bind(repository)
        .bind(digest)
        .bind(media_type)
        .bind(size)
        .bind(&at)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        for child in children {
            in_tx!(&mut tx, |e| sqlx::query(
                "INSERT INTO registry_references (repository, manifest, child) VALUES ($1, $2, $3)
                 ON CONFLICT (repository, manifest, child) DO NOTHING"
            )
            .bind(repository)
            .bind(digest)
            .bind(child)
            .execute(e)
            .await
            .map(|r| r.rows_affected()))?;
        }
        if let Some(tag) = tag {
            in_tx!(&mut tx, |e| {
                sqlx::query(
                "INSERT INTO registry_tags (repository, tag, digest, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest,
                     updated_at = excluded.updated_at"
            )
            .bind(repository)
            .bind(tag)
            .bind(digest)
            .bind(&at)
            .execute(e)
            .await
            .map(|r| r.rows_affected())
            })?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The manifests of a repository that reference `digest`.
    pub async fn registry_referrers(&self, repository: &str, digest: &str) -> Result<Vec<String>> {
        Ok(on!(&self.writer, |e| sqlx::query_scalar(
            "SELECT manifest FROM registry_references WHERE repository = $1 AND child = $2
             ORDER BY manifest"
        )
        .bind(repository)
        .bind(digest)
        .fetch_all(e)
        .await)?)
    }

    /// Deletes a manifest, its tags and its references; refused while an index references it.
    pub async fn delete_registry_manifest(&self, repository: &str, digest: &str) -> Result<bool> {
        let users = self.registry_referrers(repository, digest).await?;
        if !users.is_empty() {
            return Err(Error::conflict(format!(
                "manifest {digest} is still referenced by {}",
                users.join(", ")
            )));
        }
        let mut tx = self.begin().await?;
        let done = in_tx!(&mut tx, |e| sqlx::query(
            "DELETE FROM registry_manifests WHERE repository = $1 AND digest = $2"
        )
        .bind(repository)
        .bind(digest)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        for sql in [
            "DELETE FROM registry_tags WHERE repository = $1 AND digest = $2",
            "DELETE FROM registry_references WHERE repository = $1 AND manifest = $2",
        ] {
            in_tx!(&mut tx, |e| sqlx::query(sql)
                .bind(repository)
                .bind(digest)
                .execute(e)
                .await
                .map(|r| r.rows_affected()))?;
        }
        tx.commit().await?;
        Ok(done > 0)
    }

    /// Forgets a blob in a repository; refused while a manifest there references it.
    pub async fn delete_registry_blob(&self, repository: &str, digest: &str) -> Result<bool> {
        let users = self.registry_referrers(repository, digest).await?;
        if !users.is_empty() {
            return Err(Error::conflict(format!(
                "blob {digest} is still referenced by manifest {}",
                users.join(", ")
            )));
        }
        let done = on!(&self.writer, |e| sqlx::query(
            "DELETE FROM registry_blobs WHERE repository = $1 AND digest = $2"
        )
        .bind(repository)
        .bind(digest)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    pub async fn create_upload(&self, id: &str, repository: &str) -> Result<()> {
        on!(&self.writer, |e| sqlx::query(
            "INSERT INTO registry_uploads (id, repository, created_at) VALUES ($1, $2, $3)"
        )
        .bind(id)
        .bind(repository)
        .bind(now())
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// `(repository, created_at)` of an upload session.
    pub async fn upload(&self, id: &str) -> Result<Option<(String, String)>> {
        Ok(on!(&self.writer, |e| sqlx::query_as(
            "SELECT repository, created_at FROM registry_uploads WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn delete_upload(&self, id: &str) -> Result<()> {
        on!(&self.writer, |e| sqlx::query(
            "DELETE FROM registry_uploads WHERE id = $1"
        )
        .bind(id)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn insert_registry_credential(
        &self,
        username: &str,
        password_hash: &str,
        repository: &str,
        owner: &str,
        expires_at: &str,
    ) -> Result<()> {
        on!(&self.writer, |e| {
            sqlx::query(
            "INSERT INTO registry_credentials (username, password_hash, repository, owner, expires_at)
             VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(username)
        .bind(password_hash)
        .bind(repository)
        .bind(owner)
        .bind(expires_at)
        .execute(e)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// `(password hash, repository, owner, expires_at)` of a registry credential.
    pub async fn registry_credential(
        &self,
        username: &str,
    ) -> Result<Option<(String, String, String, String)>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT password_hash, repository, owner, expires_at FROM registry_credentials
             WHERE username = $1"
        )
        .bind(username)
        .fetch_optional(e)
        .await)?)
    }
}

/// A registry other than the built-in one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArtifactoryRow {
    pub name: String,
    /// `host[:port][/path prefix]`.
    pub uri: String,
    pub username: String,
    pub password: String,
    pub created_by: String,
    pub created_at: String,
}

impl Store {
    pub async fn insert_artifactory(&self, row: &ArtifactoryRow, audit: Audit) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = in_tx!(&mut tx, |e| {
            sqlx::query(
                "INSERT INTO artifactories (name, uri, username, password, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
            )
            .bind(&row.name)
            .bind(&row.uri)
            .bind(&row.username)
            .bind(&row.password)
            .bind(&row.created_by)
            .bind(&row.created_at)
            .execute(e)
            .await
            .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            return Err(Error::conflict(format!(
                "artifactory '{}' already exists",
                row.name
            )));
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn artifactories(&self) -> Result<Vec<ArtifactoryRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT name, uri, username, password, created_by, created_at FROM artifactories
             ORDER BY name"
        )
        .fetch_all(e)
        .await)?)
    }

    pub async fn artifactory(&self, name: &str) -> Result<Option<ArtifactoryRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT name, uri, username, password, created_by, created_at FROM artifactories
             WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(e)
        .await)?)
    }
}
