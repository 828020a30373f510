//! The built-in registry's index: every read and write of its rows (repositories' blobs,
//! manifests and tags, the objects that hold their bytes, upload sessions), each write one
//! transaction with its audit entry, and who may make it. `registry/` speaks the OCI
//! protocol and keeps the bytes; it reaches the store only through here.
//!
//! Where a write must touch the bytes while its transaction holds the rows (naming a staged
//! object, deleting an unused one), the blob store is handed in as an [`ObjectStore`]: it lives
//! beside the domain, and the domain never imports it.

use super::RegistryIndex;
use super::push::{RegistryCaller, project_of};
use crate::error::{Error, Result};
use std::future::Future;
use wharf_oci::MediaKind;
use wharf_store::Audit;

pub use wharf_store::{
    LooseBlob, NewManifest, Referrer, StoredObject, UploadSession, format_time, new_id,
};

/// What the index asks of the registry's blob store inside a transaction.
pub trait ObjectStore: Sync {
    /// A verified blob written where the store keeps it, not yet named by a row.
    type Staged: Sync;

    /// The key the row will name for `staged`.
    fn staged_key<'a>(&self, staged: &'a Self::Staged) -> &'a str;

    /// Whether the object `key` is there.
    fn exists(&self, key: &str) -> impl Future<Output = std::io::Result<bool>> + Send;

    /// After the row names `winner`: makes `staged` final, or drops it when another object
    /// won.
    fn settle(
        &self,
        staged: &Self::Staged,
        winner: &str,
    ) -> impl Future<Output = std::io::Result<()>> + Send;

    /// Deletes the object `key`; `true` once it is confirmed gone.
    fn remove(&self, key: &str) -> impl Future<Output = bool> + Send;
}

/// How a delete of a repository's blob or manifest went.
#[derive(Debug, PartialEq, Eq)]
pub enum Removal {
    Done,
    /// Still referenced, by these manifests.
    Referenced(Vec<String>),
    /// Not in the repository.
    Unknown,
}

/// The audit entry of a change to repository `name` of the built-in registry: who (the
/// user, or the owner of the push credential used), in the repository's project.
fn registry_audit(caller: &RegistryCaller, action: &'static str, name: &str) -> Audit {
    Audit::new(caller.actor(), "CONTAINER_REGISTRY", action)
        .target(name)
        .stack(project_of(name))
        .meta("credential", caller.credential())
}

/// What a garbage collection's link sweep found.
#[derive(Debug, Default)]
pub struct Swept {
    /// Repositories' links to blobs no manifest there references, removed.
    pub links: u64,
    /// Objects no repository links or holds any more, unused since the cutoff.
    pub unused: Vec<StoredObject>,
}

impl RegistryIndex {
    pub async fn repository_tags(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.store.registry_tags(name).await?)
    }

    /// A repository's blob: its size, when the repository holds it.
    pub async fn registry_blob(&self, name: &str, digest: &str) -> Result<Option<i64>> {
        Ok(self.store.registry_blob(name, digest).await?)
    }

    /// The object holding a digest's bytes.
    pub async fn registry_object(&self, digest: &str) -> Result<Option<StoredObject>> {
        Ok(self.store.registry_object(digest).await?)
    }

    /// A repository's manifest: its media type and size.
    pub async fn registry_manifest(
        &self,
        name: &str,
        digest: &str,
    ) -> Result<Option<(String, i64)>> {
        Ok(self.store.registry_manifest(name, digest).await?)
    }

    /// A subject's referrers in repository `name` (see `registry::referrers`).
    pub async fn referrers_of(
        &self,
        name: &str,
        subject: &str,
        artifact_type: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Referrer>> {
        Ok(self
            .store
            .referrers_of(name, subject, artifact_type, after, limit)
            .await?)
    }

    pub async fn registry_tag(&self, name: &str, tag: &str) -> Result<Option<String>> {
        Ok(self.store.registry_tag(name, tag).await?)
    }

    pub async fn upload_session(&self, id: &str) -> Result<Option<UploadSession>> {
        Ok(self.store.upload_session(id).await?)
    }

    pub async fn idle_uploads(&self, cutoff: &str) -> Result<Vec<UploadSession>> {
        Ok(self.store.upload_sessions_idle_since(cutoff).await?)
    }

    /// Every object key an upload session or an object row names.
    pub async fn named_object_keys(&self) -> Result<Vec<String>> {
        let mut keys = self.store.registry_object_keys().await?;
        keys.extend(self.store.upload_object_keys().await?);
        Ok(keys)
    }

    pub async fn registry_objects(&self) -> Result<Vec<StoredObject>> {
        Ok(self.store.registry_objects().await?)
    }

    /// Opens an upload session of repository `name`, writing to `key` (object storage).
    pub async fn open_upload(&self, id: &str, name: &str, key: Option<&str>) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.create_upload_session(id, name, key).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn forget_upload(&self, id: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.delete_upload(id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a session idle since `cutoff`; `false` when it moved on (or is gone).
    pub async fn expire_upload(&self, id: &str, cutoff: &str) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_idle_upload(id, cutoff).await? {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Saves a session's progress unless another request moved it past `read_size`.
    pub async fn save_upload(&self, row: &UploadSession, read_size: i64) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        if !tx.save_upload_session(row, read_size).await? {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records a session's multipart upload; `false` when another request recorded one.
    pub async fn record_multipart(&self, id: &str, multipart_id: &str) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        let done = tx.set_upload_multipart(id, multipart_id).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Links `digest` from `source` into `name` when `source` holds it and its object is
    /// still there (used now, under the row's lock: a collection running at the same time
    /// either finished before, or spares it); answers whether it did.
    pub async fn mount_blob(&self, name: &str, source: &str, digest: &str) -> Result<bool> {
        let Some(size) = self.store.registry_blob(source, digest).await? else {
            return Ok(false);
        };
        let mut tx = self.store.begin().await?;
        if !tx.touch_registry_object(digest).await? {
            return Ok(false);
        }
        tx.add_registry_blob(name, digest, size).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Finishes upload `upload_id` of a digest the index holds already: the session goes and
    /// the repository links the stored object. `false` when that object's row went meanwhile.
    pub async fn commit_known_blob(
        &self,
        name: &str,
        upload_id: &str,
        digest: &str,
        size: i64,
    ) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        if !tx.touch_registry_object(digest).await? {
            return Ok(false);
        }
        tx.delete_upload(upload_id).await?;
        tx.add_registry_blob(name, digest, size).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Finishes upload `upload_id` with its staged bytes: the object is named and the
    /// repository links it, in one transaction.
    pub async fn commit_new_blob<O: ObjectStore>(
        &self,
        objects: &O,
        name: &str,
        upload_id: &str,
        digest: &str,
        staged: &O::Staged,
        size: i64,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.delete_upload(upload_id).await?;
        claim(&mut tx, objects, digest, staged, size).await?;
        tx.add_registry_blob(name, digest, size).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a manifest (its object named from `staged`, its tag moved), marking the blobs
    /// it references used, audited, in one transaction; answers the first blob the
    /// repository does not hold (nothing is written then).
    pub async fn commit_manifest<O: ObjectStore>(
        &self,
        objects: &O,
        caller: &RegistryCaller,
        manifest: &NewManifest<'_>,
        kind: MediaKind,
        existed: bool,
        staged: &O::Staged,
    ) -> Result<Option<String>> {
        let (name, key, tag) = (manifest.repository, manifest.digest, manifest.tag);
        let mut tx = self.store.begin().await?;
        if kind == MediaKind::Manifest {
            for child in manifest.children {
                if !tx.touch_registry_blob(name, child).await? {
                    return Ok(Some(child.clone()));
                }
            }
        }
        claim(&mut tx, objects, key, staged, manifest.size).await?;
        let previous = match tag {
            Some(tag) => tx.registry_tag_in_tx(name, tag).await?,
            None => None,
        };
        tx.put_registry_manifest(manifest).await?;
        let moved = previous.as_deref().is_some_and(|old| old != key);
        let unchanged = existed && (tag.is_none() || previous.as_deref() == Some(key));
        if !unchanged {
            let action = match moved {
                true => "REGISTRY_TAG_MOVE",
                false => "REGISTRY_MANIFEST_PUSH",
            };
            let audit = registry_audit(caller, action, name)
                .meta("digest", key)
                .meta("tag", tag)
                .meta("previousDigest", previous.filter(|_| moved));
            tx.record(&audit).await?;
            let service = name.split('/').nth(1).unwrap_or_default();
            let event = audit.meta("repository", name).meta("service", service);
            super::events::emit_audited(&mut tx, "registry.manifest_pushed", &event).await?;
        }
        tx.commit().await?;
        Ok(None)
    }

    /// Deletes a manifest, its tags and its references, audited; refused while an index
    /// references it, or (409, naming it) while a stage deploys it or a request pins it.
    pub async fn delete_registry_manifest(
        &self,
        caller: &RegistryCaller,
        name: &str,
        digest: &str,
    ) -> Result<Removal> {
        if let Some(why) = self.door.manifest_hold(name, digest).await? {
            return Err(Error::conflict(why));
        }
        let mut tx = self.store.begin().await?;
        let users = tx.registry_referrers(name, digest).await?;
        if !users.is_empty() {
            return Ok(Removal::Referenced(users));
        }
        let tags = tx.registry_tags_of(name, digest).await?;
        if !tx.delete_registry_manifest(name, digest).await? {
            return Ok(Removal::Unknown);
        }
        let audit = registry_audit(caller, "REGISTRY_MANIFEST_DELETE", name)
            .meta("digest", digest)
            .meta("tags", &tags);
        tx.record(&audit).await?;
        tx.commit().await?;
        Ok(Removal::Done)
    }

    /// Forgets a repository's blob, audited; refused while a manifest there references it.
    pub async fn delete_registry_blob(
        &self,
        caller: &RegistryCaller,
        name: &str,
        digest: &str,
    ) -> Result<Removal> {
        let mut tx = self.store.begin().await?;
        let users = tx.registry_referrers(name, digest).await?;
        if !users.is_empty() {
            return Ok(Removal::Referenced(users));
        }
        if !tx.delete_registry_blob(name, digest).await? {
            return Ok(Removal::Unknown);
        }
        let audit = registry_audit(caller, "REGISTRY_BLOB_DELETE", name).meta("digest", digest);
        tx.record(&audit).await?;
        tx.commit().await?;
        Ok(Removal::Done)
    }

    /// Garbage collection, step 2 and what step 3 will find: unlinks the repositories' blobs
    /// no manifest there references and nothing used since `cutoff`, and lists the objects
    /// then unused; a dry run changes nothing.
    pub async fn sweep_registry_links(&self, cutoff: &str, dry_run: bool) -> Result<Swept> {
        let loose: Vec<LooseBlob> = self.store.loose_registry_blobs(cutoff).await?;
        let mut swept = Swept::default();
        let mut tx = self.store.begin().await?;
        for blob in &loose {
            if tx
                .delete_loose_registry_blob(&blob.repository, &blob.digest, cutoff)
                .await?
            {
                swept.links += 1;
            }
        }
        swept.unused = tx.unused_registry_objects(cutoff).await?;
        if !dry_run {
            tx.commit().await?;
        }
        Ok(swept)
    }

    /// Garbage collection, step 3, for one object: its row goes under a lock, and stays
    /// unless the object is confirmed gone (no row outlives its object). Answers the object
    /// removed.
    pub async fn delete_unused_object<O: ObjectStore>(
        &self,
        objects: &O,
        digest: &str,
        cutoff: &str,
    ) -> Result<Option<StoredObject>> {
        let mut tx = self.store.begin().await?;
        let Some(gone) = tx.delete_unused_registry_object(digest, cutoff).await? else {
            return Ok(None);
        };
        if !objects.remove(&gone.object_key).await {
            tracing::warn!(%digest, "garbage collection: object not deleted");
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(gone))
    }

    /// Removes the row of `digest` while it names `object_key`, an object found missing.
    pub async fn forget_missing_object(&self, digest: &str, object_key: &str) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        let done = tx.forget_registry_object(digest, object_key).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// The audit entry of a collection that removed something: who ran it, over which blob
    /// store, and its counts.
    pub async fn record_collection(
        &self,
        actor: &str,
        blob_store: &str,
        counts: &[(&'static str, u64)],
    ) -> Result<()> {
        let mut audit = Audit::new(actor, "CONTAINER_REGISTRY", "REGISTRY_GC").target(blob_store);
        for (name, count) in counts {
            audit = audit.meta(name, count);
        }
        let mut tx = self.store.begin().await?;
        tx.record(&audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Names `staged` as the object of `digest` in `tx`, unless an object already is: then the
/// new bytes are dropped, but only once that object is confirmed there. A row whose object
/// is gone (a delete applied whose answer was lost) takes the new bytes instead.
async fn claim<O: ObjectStore>(
    tx: &mut wharf_store::Tx,
    objects: &O,
    digest: &str,
    staged: &O::Staged,
    size: i64,
) -> Result<()> {
    let staged_key = objects.staged_key(staged);
    let mut winner = tx.use_registry_object(digest, staged_key, size).await?;
    if winner != staged_key && !objects.exists(&winner).await.map_err(io)? {
        tracing::warn!(%digest, "an object named by the index was missing; stored anew");
        tx.repoint_registry_object(digest, staged_key).await?;
        winner = staged_key.to_string();
    }
    objects.settle(staged, &winner).await.map_err(io)?;
    Ok(())
}

/// A blob store's failure that another attempt may not meet (a timeout, a lost connection, an
/// object store's 5xx): carried inside an `std::io::Error`, answered 503 so the client retries.
#[derive(Debug)]
pub struct StorageUnavailable(pub String);

impl StorageUnavailable {
    pub const MESSAGE: &str =
        "the registry's storage did not answer just now; nothing was stored: try again";

    pub fn error(detail: String) -> std::io::Error {
        std::io::Error::other(Self(detail))
    }

    pub fn is(error: &std::io::Error) -> bool {
        error.get_ref().is_some_and(|inner| inner.is::<Self>())
    }
}

impl std::fmt::Display for StorageUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StorageUnavailable {}

fn io(error: std::io::Error) -> Error {
    if StorageUnavailable::is(&error) {
        tracing::warn!(%error, "registry storage unavailable");
        return Error::Unavailable(StorageUnavailable::MESSAGE.into());
    }
    tracing::error!(%error, "registry storage");
    Error::Internal("registry storage failed".into())
}
