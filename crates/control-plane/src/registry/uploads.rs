//! Blob uploads: mounts, monolithic and chunked sessions, each checked against its digest
//! before anything is committed. A session's state is a database row (bytes so far, the
//! running SHA-256 state, the multipart upload's parts), so any replica continues it; each
//! PATCH counts whole or not at all.

use super::storage::{BodyStream, Upload};
use super::{Answer, BuiltInRegistry, RegistryCode, RegistryError, parse_digest};
use crate::domain::push::{RegistryCaller, require_registry_pull};
use crate::domain::registry_index::{UploadSession, format_time, new_id};
use wharf_oci::Digest;
use wharf_oci::is_valid_repository;

/// Upload sessions idle longer than this are gone (documented in docs/control-plane.md).
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
            RegistryCode::BlobUploadInvalid,
            format!("reading the upload: {e}"),
        ),
        super::storage::AppendError::Disk(e) => e.into(),
    }
}

impl BuiltInRegistry {
    /// `POST /v2/<name>/blobs/uploads/`: a mount, a whole blob (`digest`), or a new session.
    pub async fn start_upload(
        &self,
        caller: &RegistryCaller,
        name: &str,
        start: Start<'_>,
        body: impl BodyStream,
    ) -> Answer<Started> {
        self.may_push(caller, name).await?;
        if let Some(mount) = start.mount
            && let Some(digest) = self.mountable(caller, name, mount, start.from).await?
        {
            return Ok(Started::Created(digest));
        }
        let id = new_id();
        self.cp
            .registry_index
            .open_upload(&id, name, self.blobs.session_key(&id).as_deref())
            .await?;
        let Some(digest) = start.digest else {
            return Ok(Started::Session(id));
        };
        let digest = parse_digest(digest)?;
        let session = self.session(name, &id).await?;
        let upload = self.append(session, body).await?;
        self.commit_upload(name, upload, &digest).await?;
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
        let mounted = self
            .cp
            .registry_index
            .mount_blob(name, source, &digest.to_string())
            .await?;
        Ok(mounted.then_some(digest))
    }

    /// The session `id` of repository `name`, unless unknown or expired (an expired one is
    /// removed).
    async fn session(&self, name: &str, id: &str) -> Answer<UploadSession> {
        let unknown = || {
            RegistryError::new(
                RegistryCode::BlobUploadUnknown,
                format!("upload {id} is unknown or expired"),
            )
        };
        let upload = self
            .cp
            .registry_index
            .upload_session(id)
            .await?
            .ok_or_else(unknown)?;
        let last = upload.updated_at.as_deref().unwrap_or(&upload.created_at);
        let expired =
            time::OffsetDateTime::parse(last, &time::format_description::well_known::Rfc3339)
                .map(|at| (time::OffsetDateTime::now_utc() - at).whole_seconds() > UPLOAD_TTL_SECS)
                .unwrap_or(true);
        if expired {
            self.forget_session(&upload).await?;
        }
        if upload.repository != name || expired {
            return Err(unknown());
        }
        Ok(upload)
    }

    /// Removes upload sessions idle for [`UPLOAD_TTL_SECS`] (with their files or multipart
    /// uploads), and upload files no session owns that are as old (left by a crash); answers
    /// how many sessions went and the bytes they held.
    pub async fn sweep_uploads(&self) -> Answer<(usize, u64)> {
        self.sweep_uploads_older_than(UPLOAD_TTL_SECS, false).await
    }

    pub(super) async fn sweep_uploads_older_than(
        &self,
        ttl_secs: i64,
        dry_run: bool,
    ) -> Answer<(usize, u64)> {
        let cutoff =
            format_time(time::OffsetDateTime::now_utc() - time::Duration::seconds(ttl_secs));
        let expired = self.cp.registry_index.idle_uploads(&cutoff).await?;
        let (mut count, mut bytes) = (0, 0u64);
        for session in &expired {
            if !dry_run {
                if !self
                    .cp
                    .registry_index
                    .expire_upload(&session.id, &cutoff)
                    .await?
                {
                    continue;
                }
                self.blobs.discard_upload(session).await;
            }
            count += 1;
            bytes += u64::try_from(session.size).unwrap_or(0);
        }
        let age = ttl_secs.unsigned_abs();
        for file in self.blobs.list_upload_files().await? {
            let id = file.key.rsplit('/').next().unwrap_or_default();
            if file.age_secs > age && self.cp.registry_index.upload_session(id).await?.is_none() {
                if !dry_run {
                    let _ = self.blobs.delete(&file.key).await;
                }
                bytes += file.size;
            }
        }
        Ok((count, bytes))
    }

    async fn forget_session(&self, session: &UploadSession) -> Answer<()> {
        self.cp.registry_index.forget_upload(&session.id).await?;
        self.blobs.discard_upload(session).await;
        Ok(())
    }

    /// Hashes and stores a body after what the session holds, then saves the session, unless
    /// another request moved it on meanwhile (416 then, as for a chunk out of order).
    async fn append(&self, session: UploadSession, body: impl BodyStream) -> Answer<Upload> {
        let read_size = session.size;
        let mut upload = Upload::load(session)?;
        self.blobs
            .append(&mut upload, body, &self.cp)
            .await
            .map_err(body_error)?;
        if !self
            .cp
            .registry_index
            .save_upload(&upload.row, read_size)
            .await?
        {
            return Err(RegistryError::new(
                RegistryCode::RangeInvalid,
                "another request wrote to this upload session at the same time",
            ));
        }
        Ok(upload)
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
        let session = self.session(name, id).await?;
        let current = u64::try_from(session.size).unwrap_or(0);
        if let Some(start) = range_start
            && start != Some(current)
        {
            return Ok(Uploaded::OutOfOrder(current));
        }
        let upload = self.append(session, body).await?;
        Ok(Uploaded::Accepted(upload.size()))
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
        let session = self.session(name, id).await?;
        let upload = self.append(session, body).await?;
        self.commit_upload(name, upload, &digest).await?;
        Ok(digest)
    }

    /// Stores a whole blob whose digest is learnt from its bytes (a file uploaded through the
    /// control plane, not a registry client): one session, appended to, committed under the
    /// digest it hashed to. Answers the digest and size.
    pub(super) async fn put_blob_of_unknown_digest(
        &self,
        caller: &RegistryCaller,
        name: &str,
        body: impl BodyStream,
    ) -> Answer<(Digest, u64)> {
        self.may_push(caller, name).await?;
        let id = new_id();
        self.cp
            .registry_index
            .open_upload(&id, name, self.blobs.session_key(&id).as_deref())
            .await?;
        let session = self.session(name, &id).await?;
        let upload = self.append(session, body).await?;
        let digest = parse_digest(&upload.digest())?;
        let size = upload.size();
        self.commit_upload(name, upload, &digest).await?;
        Ok((digest, size))
    }

    /// Checks the bytes' running hash against `digest` (nothing is read back), then makes the
    /// object whole and names it in one transaction with the repository's blob row; a
    /// mismatch deletes the session and commits nothing. When the digest is stored already,
    /// and its object is confirmed there, this upload's bytes are dropped and the stored
    /// object serves; a row whose object is missing takes this upload's bytes instead.
    async fn commit_upload(&self, name: &str, upload: Upload, digest: &Digest) -> Answer<()> {
        let actual = upload.digest();
        let key = digest.to_string();
        if actual != key {
            self.forget_session(&upload.row).await?;
            let mismatch = match digest.algorithm() {
                "sha256" => format!(
                    "the upload's {} bytes hash to {actual}, not {key}",
                    upload.size()
                ),
                other => format!("digest algorithm {other} is not supported: use sha256"),
            };
            return Err(RegistryError::digest_invalid(mismatch));
        }
        let size = upload.row.size;
        let stored = self.cp.registry_index.registry_object(&key).await?;
        let present = match &stored {
            Some(object) => self.blobs.exists(&object.object_key).await?,
            None => false,
        };
        if present
            && self
                .cp
                .registry_index
                .commit_known_blob(name, &upload.row.id, &key, size)
                .await?
        {
            self.blobs.discard_upload(&upload.row).await;
            return Ok(());
        }
        let staged = self.blobs.seal(&upload, digest).await?;
        self.cp
            .registry_index
            .commit_new_blob(&self.blobs, name, &upload.row.id, &key, &staged, size)
            .await?;
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
        let session = self.session(name, id).await?;
        Ok(u64::try_from(session.size).unwrap_or(0))
    }

    pub async fn cancel_upload(&self, caller: &RegistryCaller, name: &str, id: &str) -> Answer<()> {
        self.may_push(caller, name).await?;
        let session = self.session(name, id).await?;
        self.forget_session(&session).await
    }
}
