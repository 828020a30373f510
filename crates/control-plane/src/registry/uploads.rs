//! Blob uploads: mounts, monolithic and chunked sessions, each checked against its digest
//! before anything is committed.

use super::storage::BodyStream;
use super::{Answer, Registry, RegistryError, parse_digest};
use crate::domain::push::RegistryCaller;
use wharf_oci::Digest;
use wharf_store::new_id;

/// Upload sessions older than this are gone.
const UPLOAD_TTL_SECS: i64 = 3600;

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
        if let Some(mount) = start.mount {
            let digest = parse_digest(mount)?;
            let key = digest.to_string();
            if let Some(size) = store.registry_blob_elsewhere(&key, start.from).await? {
                let mut tx = store.begin().await?;
                tx.add_registry_blob(name, &key, size).await?;
                tx.commit().await?;
                return Ok(Started::Created(digest));
            }
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
