//! Blob uploads: mounts, monolithic and chunked sessions, each checked against its digest
//! before anything is committed.

use super::storage::BodyStream;
use super::{Answer, Registry, RegistryError, parse_digest};
use crate::domain::push::{RegistryCaller, require_registry_pull};
use wharf_oci::Digest;
use wharf_oci::is_valid_repository;
use wharf_store::new_id;

/// Upload sessions older than this are gone (documented in docs/control-plane.md).
pub const UPLOAD_TTL_SECS: i64 = 3600;

/// How often a running server sweeps abandoned upload sessions.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// How a `POST /blobs/uploads/` ended.
#[derive(Debug)]
pub enum Started {
    /// The blob is in the repository (a mount, or a whole blob in the POST).
    Created(Digest),
    /// A session to PATCH and PUT into.
    Session(String),
}

/// An upload session's state after a PATCH.
#[derive(Debug)]
pub enum Uploaded {
    /// Bytes so far.
    Accepted(u64),
    /// The chunk did not start where the session ends, at this size.
    OutOfOrder(u64),
}

/// What the POST carries.
pub struct Start<'a> {
    pub mount: Option<&'a str>,
    pub from: Option<&'a str>,
    pub digest: Option<&'a str>,
}

fn body_error(error: super::storage::AppendError) -> RegistryError {
    match error {
        super::storage::AppendError::Body(e) => RegistryError::new(
            400,
            "BLOB_UPLOAD_INVALID",
            format!("reading the upload: {e}"),
        ),
        super::storage::AppendError::Disk(e) => e.into(),
    }
}

impl Registry {
    /// `POST /v2/<name>/blobs/uploads/`: a mount, a whole blob (`digest`), or a new session.
    pub async fn start_upload(
        &self,
        caller: &RegistryCaller,
        name: &str,
        start: Start<'_>,
        body: impl BodyStream,
    ) -> Answer<Started> {
        self.may_push(caller, name).await?;
        let store = self.cp.store();
        if let Some(mount) = start.mount
            && let Some(digest) = self.mountable(caller, name, mount, start.from).await?
        {
            return Ok(Started::Created(digest));
        }
        let id = new_id();
        let mut tx = store.begin().await?;
        tx.create_upload(&id, name).await?;
        tx.commit().await?;
        let Some(digest) = start.digest else {
            return Ok(Started::Session(id));
        };
        let digest = parse_digest(digest)?;
        self.blobs.append(&id, body).await.map_err(body_error)?;
        self.commit_upload(name, &id, &digest).await?;
        Ok(Started::Created(digest))
    }

    /// Mounts `mount` from `from` into `name` when the caller may pull from `from` and the
    /// blob is there; answers the digest mounted. Anything else (no pull rights, no `from`,
    /// a blob not there) is `None`: the caller uploads as usual (202), as distribution does,
    /// and learns nothing about other repositories. Without `from`, only a blob already in
    /// `name` counts.
    async fn mountable(
        &self,
        caller: &RegistryCaller,
        name: &str,
        mount: &str,
        from: Option<&str>,
    ) -> Answer<Option<Digest>> {
        let digest = parse_digest(mount)?;
        let source = from.unwrap_or(name);
        if !is_valid_repository(source) || require_registry_pull(caller, source).is_err() {
            return Ok(None);
        }
        let store = self.cp.store();
        let key = digest.to_string();
        let Some(size) = store.registry_blob(source, &key).await? else {
            return Ok(None);
        };
        let mut tx = store.begin().await?;
        tx.add_registry_blob(name, &key, size).await?;
        tx.commit().await?;
        Ok(Some(digest))
    }

    /// The session `id` of repository `name`, unless unknown or expired (an expired one is
    /// removed).
    async fn session(&self, name: &str, id: &str) -> Answer<()> {
        let unknown = || {
            RegistryError::new(
                404,
                "BLOB_UPLOAD_UNKNOWN",
                format!("upload {id} is unknown or expired"),
            )
        };
        let upload = self.cp.store().upload(id).await?.ok_or_else(unknown)?;
        let expired = time::OffsetDateTime::parse(
            &upload.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map(|at| (time::OffsetDateTime::now_utc() - at).whole_seconds() > UPLOAD_TTL_SECS)
        .unwrap_or(true);
        if expired {
            self.forget_session(id).await?;
        }
        if upload.repository != name || expired {
            return Err(unknown());
        }
        Ok(())
    }

    /// Removes upload sessions older than [`UPLOAD_TTL_SECS`], and upload files no session
    /// owns that are as old (left by a crash); answers how many sessions went.
    pub async fn sweep_uploads(&self) -> Answer<usize> {
        let cutoff = time::OffsetDateTime::now_utc() - time::Duration::seconds(UPLOAD_TTL_SECS);
        let expired = self
            .cp
            .store()
            .uploads_started_before(&wharf_store::format_time(cutoff))
            .await?;
        for id in &expired {
            self.forget_session(id).await?;
        }
        let age = std::time::Duration::from_secs(UPLOAD_TTL_SECS.unsigned_abs());
        for id in self.blobs.uploads_older_than(age).await? {
            if self.cp.store().upload(&id).await?.is_none() {
                self.blobs.discard_upload(&id).await;
            }
        }
        Ok(expired.len())
    }

    /// Sweeps every [`SWEEP_EVERY`] (the start sweeps once itself, before serving), until
    /// aborted.
    pub fn spawn_sweeper(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let first = tokio::time::Instant::now() + SWEEP_EVERY;
            let mut every = tokio::time::interval_at(first, SWEEP_EVERY);
            loop {
                every.tick().await;
                match self.sweep_uploads().await {
                    Ok(0) => {}
                    Ok(swept) => tracing::info!(swept, "expired upload sessions removed"),
                    Err(error) => tracing::warn!(message = %error.message, "upload sweep failed"),
                }
            }
        })
    }

    async fn forget_session(&self, id: &str) -> Answer<()> {
        let mut tx = self.cp.store().begin().await?;
        tx.delete_upload(id).await?;
        tx.commit().await?;
        self.blobs.discard_upload(id).await;
        Ok(())
    }

    /// `PATCH`: appends a chunk that starts where the session ends (`range_start`, when given).
    pub async fn patch_upload(
        &self,
        caller: &RegistryCaller,
        name: &str,
        id: &str,
        range_start: Option<Option<u64>>,
        body: impl BodyStream,
    ) -> Answer<Uploaded> {
        self.may_push(caller, name).await?;
        self.session(name, id).await?;
        let current = self.blobs.upload_size(id).await;
        if let Some(start) = range_start
            && start != Some(current)
        {
            return Ok(Uploaded::OutOfOrder(current));
        }
        let size = self.blobs.append(id, body).await.map_err(body_error)?;
        Ok(Uploaded::Accepted(size))
    }

    /// The final `PUT ?digest=`: the last bytes, then the digest check and the commit.
    pub async fn finish_upload(
        &self,
        caller: &RegistryCaller,
        name: &str,
        id: &str,
        digest: Option<&str>,
        body: impl BodyStream,
    ) -> Answer<Digest> {
        self.may_push(caller, name).await?;
        let digest =
            digest.ok_or_else(|| RegistryError::digest_invalid("the final PUT needs ?digest="))?;
        let digest = parse_digest(digest)?;
        self.session(name, id).await?;
        self.blobs.append(id, body).await.map_err(body_error)?;
        self.commit_upload(name, id, &digest).await?;
        Ok(digest)
    }

    /// Checks the uploaded bytes against `digest`, then moves them into place and indexes
    /// them; a mismatch deletes the upload and commits nothing.
    async fn commit_upload(&self, name: &str, id: &str, digest: &Digest) -> Answer<()> {
        let verified = self.blobs.verify(id, digest).await?;
        let mut tx = self.cp.store().begin().await?;
        tx.delete_upload(id).await?;
        let size = match verified {
            Ok(size) => size,
            Err(mismatch) => {
                tx.commit().await?;
                self.blobs.discard_upload(id).await;
                return Err(RegistryError::digest_invalid(mismatch));
            }
        };
        self.blobs.commit(id, digest).await?;
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        tx.add_registry_blob(name, &digest.to_string(), size)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Bytes received so far in a session.
    pub async fn upload_status(
        &self,
        caller: &RegistryCaller,
        name: &str,
        id: &str,
    ) -> Answer<u64> {
        self.may_push(caller, name).await?;
        self.session(name, id).await?;
        Ok(self.blobs.upload_size(id).await)
    }

    pub async fn cancel_upload(&self, caller: &RegistryCaller, name: &str, id: &str) -> Answer<()> {
        self.may_push(caller, name).await?;
        self.session(name, id).await?;
        self.forget_session(id).await
    }
}
