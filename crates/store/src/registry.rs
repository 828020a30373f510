//! The built-in registry's index: which blobs and manifests each repository has, tags, upload
//! sessions, and short-lived push credentials. Reads run on the writer, so a push sees what it
//! just wrote.

use crate::{
    LiveCredential, LooseBlob, NewManifest, Referrer, RegistryCredential, Result, Store,
    StoredObject, Tx, UploadRow, UploadSession, now,
};

impl Store {
    pub async fn registry_blob(&self, repository: &str, digest: &str) -> Result<Option<i64>> {
        Ok(on_writer!(self, |e| sqlx::query_scalar(
            "SELECT size FROM registry_blobs WHERE repository = $1 AND digest = $2"
        )
        .bind(repository)
        .bind(digest)
        .fetch_optional(e)
        .await)?)
    }

    /// `(media type, size)` of a manifest in a repository.
    pub async fn registry_manifest(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Option<(String, i64)>> {
        Ok(on_writer!(self, |e| sqlx::query_as(
            "SELECT media_type, size FROM registry_manifests WHERE repository = $1 AND digest = $2"
        )
        .bind(repository)
        .bind(digest)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn registry_tag(&self, repository: &str, tag: &str) -> Result<Option<String>> {
        Ok(on_writer!(self, |e| sqlx::query_scalar(
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

    pub async fn upload(&self, id: &str) -> Result<Option<UploadRow>> {
        Ok(on_writer!(self, |e| sqlx::query_as(
            "SELECT repository, created_at FROM registry_uploads WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// The push credential `username`, unless it expired or the token that obtained it was
    /// revoked or expired.
    pub async fn live_registry_credential(&self, username: &str) -> Result<Option<LiveCredential>> {
        Ok(on_writer!(self, |e| sqlx::query_as(
            "SELECT c.username, c.password_hash, c.repository, c.owner, c.expires_at, c.token_id,
                    CASE WHEN c.token_id IS NULL THEN TRUE ELSE u.admin END AS owner_admin
             FROM registry_credentials c
             LEFT JOIN tokens t ON t.id = c.token_id
             LEFT JOIN users u ON u.id = t.user_id
             WHERE c.username = $1 AND c.expires_at > $2
               AND (c.token_id IS NULL
                    OR (t.id IS NOT NULL AND (t.expires_at IS NULL OR t.expires_at > $2)))"
        )
        .bind(username)
        .bind(now())
        .fetch_optional(e)
        .await)?)
    }

    /// Unexpired push credentials, of one owner or all; oldest first.
    pub async fn registry_credentials(
        &self,
        owner: Option<&str>,
    ) -> Result<Vec<RegistryCredential>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT username, password_hash, repository, owner, expires_at, token_id
             FROM registry_credentials WHERE expires_at > $1 AND ($2 IS NULL OR owner = $2)
             ORDER BY expires_at, username"
        )
        .bind(now())
        .bind(owner)
        .fetch_all(e)
        .await)?)
    }

    /// Upload sessions started before `cutoff` (RFC 3339): abandoned.
    pub async fn uploads_started_before(&self, cutoff: &str) -> Result<Vec<String>> {
        Ok(on_writer!(self, |e| sqlx::query_scalar(
            "SELECT id FROM registry_uploads WHERE created_at < $1 ORDER BY created_at"
        )
        .bind(cutoff)
        .fetch_all(e)
        .await)?)
    }
}

impl Store {
    /// The referrers of `subject` in `repository`, of one artifact type when given, ordered by
    /// digest, after `after` (paging), at most `limit`.
    pub async fn referrers_of(
        &self,
        repository: &str,
        subject: &str,
        artifact_type: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Referrer>> {
        Ok(on_writer!(self, |e| sqlx::query_as(
            "SELECT subject, digest, media_type, size, artifact_type, annotations
             FROM oci_referrers WHERE repository = $1 AND subject = $2
             AND ($3 IS NULL OR artifact_type = $3) AND ($4 IS NULL OR digest > $4)
             ORDER BY digest LIMIT $5"
        )
        .bind(repository)
        .bind(subject)
        .bind(artifact_type)
        .bind(after)
        .bind(limit)
        .fetch_all(e)
        .await)?)
    }
}

impl Tx {
    pub async fn add_registry_blob(
        &mut self,
        repository: &str,
        digest: &str,
        size: i64,
    ) -> Result<()> {
        execute!(
            self,
            "INSERT INTO registry_blobs (repository, digest, size, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (repository, digest) DO UPDATE SET used_at = excluded.created_at",
            repository,
            digest,
            size,
            now(),
        )?;
        Ok(())
    }

    /// Records a manifest, what it references, and its tag.
    pub async fn put_registry_manifest(&mut self, manifest: &NewManifest<'_>) -> Result<()> {
        let at = now();
        execute!(
            self,
            "INSERT INTO registry_manifests (repository, digest, media_type, size, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repository, digest) DO NOTHING",
            manifest.repository,
            manifest.digest,
            manifest.media_type,
            manifest.size,
            &at,
        )?;
        for child in manifest.children {
            execute!(
                self,
                "INSERT INTO registry_references (repository, manifest, child) VALUES ($1, $2, $3)
                 ON CONFLICT (repository, manifest, child) DO NOTHING",
                manifest.repository,
                manifest.digest,
                child,
            )?;
        }
        for referrer in manifest.referrers {
            execute!(
                self,
                "INSERT INTO oci_referrers (repository, subject, digest, media_type, size,
                 artifact_type, annotations, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (repository, subject, digest) DO NOTHING",
                manifest.repository,
                &referrer.subject,
                &referrer.digest,
                &referrer.media_type,
                referrer.size,
                &referrer.artifact_type,
                &referrer.annotations,
                &at,
            )?;
        }
        if let Some(tag) = manifest.tag {
            execute!(
                self,
                "INSERT INTO registry_tags (repository, tag, digest, updated_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest,
                     updated_at = excluded.updated_at",
                manifest.repository,
                tag,
                manifest.digest,
                &at,
            )?;
        }
        Ok(())
    }

    /// The manifests of a repository that reference `digest`.
    pub async fn registry_referrers(
        &mut self,
        repository: &str,
        digest: &str,
    ) -> Result<Vec<String>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT manifest FROM registry_references WHERE repository = $1 AND child = $2
             ORDER BY manifest"
        )
        .bind(repository)
        .bind(digest)
        .fetch_all(e)
        .await)?)
    }

    /// Deletes a manifest with its tags and references; `false` when it was not there.
    pub async fn delete_registry_manifest(
        &mut self,
        repository: &str,
        digest: &str,
    ) -> Result<bool> {
        let done = execute!(
            self,
            "DELETE FROM registry_manifests WHERE repository = $1 AND digest = $2",
            repository,
            digest,
        )?;
        execute!(
            self,
            "DELETE FROM registry_tags WHERE repository = $1 AND digest = $2",
            repository,
            digest,
        )?;
        execute!(
            self,
            "DELETE FROM registry_references WHERE repository = $1 AND manifest = $2",
            repository,
            digest,
        )?;
        // A deleted referrer leaves its subjects' lists; a deleted subject keeps its
        // referrers (the spec lets a registry keep them, and a re-pushed subject finds them).
        execute!(
            self,
            "DELETE FROM oci_referrers WHERE repository = $1 AND digest = $2",
            repository,
            digest,
        )?;
        Ok(done > 0)
    }

    pub async fn delete_registry_blob(&mut self, repository: &str, digest: &str) -> Result<bool> {
        let done = execute!(
            self,
            "DELETE FROM registry_blobs WHERE repository = $1 AND digest = $2",
            repository,
            digest,
        )?;
        Ok(done > 0)
    }

    pub async fn create_upload(&mut self, id: &str, repository: &str) -> Result<()> {
        execute!(
            self,
            "INSERT INTO registry_uploads (id, repository, created_at) VALUES ($1, $2, $3)",
            id,
            repository,
            now(),
        )?;
        Ok(())
    }

    pub async fn delete_upload(&mut self, id: &str) -> Result<()> {
        execute!(self, "DELETE FROM registry_uploads WHERE id = $1", id)?;
        Ok(())
    }

    pub async fn insert_registry_credential(
        &mut self,
        credential: &RegistryCredential,
    ) -> Result<()> {
        execute!(
            self,
            "INSERT INTO registry_credentials
                 (username, password_hash, repository, owner, expires_at, token_id)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &credential.username,
            &credential.password_hash,
            &credential.repository,
            &credential.owner,
            &credential.expires_at,
            &credential.token_id,
        )?;
        Ok(())
    }

    /// Revokes push credentials: one by username, or every one of `owner`; answers how many.
    pub async fn delete_registry_credentials(
        &mut self,
        username: Option<&str>,
        owner: Option<&str>,
    ) -> Result<u64> {
        Ok(execute!(
            self,
            "DELETE FROM registry_credentials
             WHERE ($1 IS NULL OR username = $1) AND ($2 IS NULL OR owner = $2)",
            username,
            owner,
        )?)
    }

    /// A tag's digest, read inside the transaction that moves it.
    pub async fn registry_tag_in_tx(
        &mut self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<String>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT digest FROM registry_tags WHERE repository = $1 AND tag = $2"
        )
        .bind(repository)
        .bind(tag)
        .fetch_optional(e)
        .await)?)
    }

    /// The tags pointing at a manifest, read before deleting it.
    pub async fn registry_tags_of(
        &mut self,
        repository: &str,
        digest: &str,
    ) -> Result<Vec<String>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT tag FROM registry_tags WHERE repository = $1 AND digest = $2 ORDER BY tag"
        )
        .bind(repository)
        .bind(digest)
        .fetch_all(e)
        .await)?)
    }
}

const SESSION_COLUMNS: &str = "id, repository, created_at, size, hash_state, object_key, \
     multipart_id, parts, pending, updated_at";

impl Store {
    pub async fn upload_session(&self, id: &str) -> Result<Option<UploadSession>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM registry_uploads WHERE id = $1");
        Ok(on_writer!(self, |e| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// Sessions with no activity since `cutoff` (RFC 3339): expired.
    pub async fn upload_sessions_idle_since(&self, cutoff: &str) -> Result<Vec<UploadSession>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM registry_uploads
             WHERE COALESCE(updated_at, created_at) < $1 ORDER BY created_at"
        );
        Ok(on_writer!(self, |e| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(cutoff)
        .fetch_all(e)
        .await)?)
    }

    /// Object keys live sessions write to: garbage collection leaves them alone.
    pub async fn upload_object_keys(&self) -> Result<Vec<String>> {
        Ok(on_writer!(self, |e| sqlx::query_scalar(
            "SELECT object_key FROM registry_uploads WHERE object_key IS NOT NULL"
        )
        .fetch_all(e)
        .await)?)
    }

    pub async fn registry_object(&self, digest: &str) -> Result<Option<StoredObject>> {
        Ok(on_writer!(self, |e| sqlx::query_as(
            "SELECT digest, object_key, size FROM registry_objects WHERE digest = $1"
        )
        .bind(digest)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn registry_object_keys(&self) -> Result<Vec<String>> {
        Ok(on_writer!(self, |e| sqlx::query_scalar(
            "SELECT object_key FROM registry_objects"
        )
        .fetch_all(e)
        .await)?)
    }

    /// Every object row: digest, object key and size.
    pub async fn registry_objects(&self) -> Result<Vec<StoredObject>> {
        Ok(on_writer!(self, |e| sqlx::query_as(
            "SELECT digest, object_key, size FROM registry_objects ORDER BY digest"
        )
        .fetch_all(e)
        .await)?)
    }

    /// Blob rows no manifest of their repository references, last used before `cutoff`.
    pub async fn loose_registry_blobs(&self, cutoff: &str) -> Result<Vec<LooseBlob>> {
        Ok(on_writer!(self, |e| sqlx::query_as(
            "SELECT b.repository, b.digest, b.size FROM registry_blobs b
             WHERE COALESCE(b.used_at, b.created_at) < $1
               AND NOT EXISTS (SELECT 1 FROM registry_references r
                               WHERE r.repository = b.repository AND r.child = b.digest)
             ORDER BY b.repository, b.digest"
        )
        .bind(cutoff)
        .fetch_all(e)
        .await)?)
    }
}

impl Tx {
    /// Creates a session with its object key (object storage) or none (a local file).
    pub async fn create_upload_session(
        &mut self,
        id: &str,
        repository: &str,
        object_key: Option<&str>,
    ) -> Result<()> {
        let at = now();
        execute!(
            self,
            "INSERT INTO registry_uploads (id, repository, created_at, updated_at, object_key)
             VALUES ($1, $2, $3, $3, $4)",
            id,
            repository,
            &at,
            object_key,
        )?;
        Ok(())
    }

    /// Saves a session's state after a PATCH, unless another request moved it on since it
    /// was read at `read_size` bytes (then `false`, and nothing changes).
    pub async fn save_upload_session(
        &mut self,
        session: &UploadSession,
        read_size: i64,
    ) -> Result<bool> {
        let done = execute!(
            self,
            "UPDATE registry_uploads SET size = $2, hash_state = $3, multipart_id = $4,
                 parts = $5, pending = $6, updated_at = $7
             WHERE id = $1 AND size = $8",
            &session.id,
            session.size,
            &session.hash_state,
            &session.multipart_id,
            &session.parts,
            &session.pending,
            now(),
            read_size,
        )?;
        Ok(done > 0)
    }

    /// Records the multipart upload a session's parts go to; `false` when it already has one.
    pub async fn set_upload_multipart(&mut self, id: &str, multipart_id: &str) -> Result<bool> {
        let done = execute!(
            self,
            "UPDATE registry_uploads SET multipart_id = $2
             WHERE id = $1 AND multipart_id IS NULL",
            id,
            multipart_id,
        )?;
        Ok(done > 0)
    }

    /// Deletes a session idle since `cutoff`; answers it when it was deleted.
    pub async fn delete_idle_upload(&mut self, id: &str, cutoff: &str) -> Result<bool> {
        let done = execute!(
            self,
            "DELETE FROM registry_uploads WHERE id = $1 AND COALESCE(updated_at, created_at) < $2",
            id,
            cutoff,
        )?;
        Ok(done > 0)
    }

    /// Commits a digest's object: the row that exists wins (its key is answered); otherwise
    /// `object_key` becomes it. Either way the row counts as used now, under a row lock that
    /// a concurrent garbage collection waits for.
    pub async fn use_registry_object(
        &mut self,
        digest: &str,
        object_key: &str,
        size: i64,
    ) -> Result<String> {
        let at = now();
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "INSERT INTO registry_objects (digest, object_key, size, created_at, used_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (digest) DO UPDATE SET used_at = excluded.used_at
             RETURNING object_key"
        )
        .bind(digest)
        .bind(object_key)
        .bind(size)
        .bind(&at)
        .fetch_one(e)
        .await)?)
    }

    /// Removes the row of `digest` while it still names `object_key` (whose object is gone).
    pub async fn forget_registry_object(&mut self, digest: &str, object_key: &str) -> Result<bool> {
        Ok(execute!(
            self,
            "DELETE FROM registry_objects WHERE digest = $1 AND object_key = $2",
            digest,
            object_key,
        )? > 0)
    }

    /// Points a digest's row at another object (the one it named is gone).
    pub async fn repoint_registry_object(&mut self, digest: &str, object_key: &str) -> Result<()> {
        execute!(
            self,
            "UPDATE registry_objects SET object_key = $2, used_at = $3 WHERE digest = $1",
            digest,
            object_key,
            now(),
        )?;
        Ok(())
    }

    /// Marks a digest's object used now; `false` when there is none (it was collected).
    pub async fn touch_registry_object(&mut self, digest: &str) -> Result<bool> {
        let done = execute!(
            self,
            "UPDATE registry_objects SET used_at = $2 WHERE digest = $1",
            digest,
            now(),
        )?;
        Ok(done > 0)
    }

    /// Marks a repository's blob used now (a manifest is about to reference it); `false`
    /// when the repository no longer has it.
    pub async fn touch_registry_blob(&mut self, repository: &str, digest: &str) -> Result<bool> {
        let done = execute!(
            self,
            "UPDATE registry_blobs SET used_at = $3 WHERE repository = $1 AND digest = $2",
            repository,
            digest,
            now(),
        )?;
        Ok(done > 0)
    }

    /// Deletes a repository's blob row if still unreferenced and unused since `cutoff`.
    pub async fn delete_loose_registry_blob(
        &mut self,
        repository: &str,
        digest: &str,
        cutoff: &str,
    ) -> Result<bool> {
        let done = execute!(
            self,
            "DELETE FROM registry_blobs
             WHERE repository = $1 AND digest = $2 AND COALESCE(used_at, created_at) < $3
               AND NOT EXISTS (SELECT 1 FROM registry_references r
                               WHERE r.repository = $1 AND r.child = $2)",
            repository,
            digest,
            cutoff,
        )?;
        Ok(done > 0)
    }

    /// Objects no repository's blob or manifest names, last used before `cutoff`.
    pub async fn unused_registry_objects(&mut self, cutoff: &str) -> Result<Vec<StoredObject>> {
        Ok(in_tx!(self, |e| sqlx::query_as(
            "SELECT o.digest, o.object_key, o.size FROM registry_objects o
             WHERE o.used_at < $1
               AND NOT EXISTS (SELECT 1 FROM registry_blobs b WHERE b.digest = o.digest)
               AND NOT EXISTS (SELECT 1 FROM registry_manifests m WHERE m.digest = o.digest)
             ORDER BY o.digest"
        )
        .bind(cutoff)
        .fetch_all(e)
        .await)?)
    }

    /// Deletes a digest's object row if still unnamed and unused since `cutoff`; answers it.
    pub async fn delete_unused_registry_object(
        &mut self,
        digest: &str,
        cutoff: &str,
    ) -> Result<Option<StoredObject>> {
        Ok(in_tx!(self, |e| sqlx::query_as(
            "DELETE FROM registry_objects
             WHERE digest = $1 AND used_at < $2
               AND NOT EXISTS (SELECT 1 FROM registry_blobs b WHERE b.digest = $1)
               AND NOT EXISTS (SELECT 1 FROM registry_manifests m WHERE m.digest = $1)
             RETURNING digest, object_key, size"
        )
        .bind(digest)
        .bind(cutoff)
        .fetch_optional(e)
        .await)?)
    }
}
