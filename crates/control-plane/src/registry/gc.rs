//! Garbage collection of the built-in registry (`wharf gc`, `POST /wharf/v1/gc`, and every
//! [`GC_EVERY`] on each server): mark and sweep, on the local store and object storage alike.
//!
//! 1. Expired upload sessions go, with their files or multipart uploads.
//! 2. A repository's blob that no manifest there references, and that nothing used within the
//!    grace period, is unlinked from the repository. The grace period is what protects a push
//!    in progress: its blobs arrive before the manifest that references them.
//! 3. An object that no repository's blob or manifest names any more, unused within the grace
//!    period, is deleted: its row first, under a row lock, then the object. Every upload,
//!    mount and manifest that relies on a digest marks its row used in the same transaction,
//!    so a sweep running at the same time either sees it used and spares it, or removed it
//!    first (then the upload stores it anew, and the manifest push is refused).
//!    An object whose delete fails is tried again; if it still fails, the row stays only when
//!    the object is confirmed there (a HEAD), so no row outlives its object. A delete applied
//!    whose answer was lost is thus seen as done.
//! 4. Rows whose object is missing (left by an older server, or a store that lost it) are
//!    removed, so the next push of that digest stores its bytes anew ([`GcReport::repaired`]).
//! 5. Objects no row names (left by a replica that died between writing an object and its
//!    commit) go once they are older than an upload session can live.
//!
//! Each run that removes something is audited (`REGISTRY_GC`) with its counts.

use super::uploads::{SWEEP_EVERY, UPLOAD_TTL_SECS};
use super::{Answer, Registry};
use std::collections::HashSet;
use wharf_store::Audit;

/// How often each server collects garbage on its own.
pub const GC_EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// The grace period when none is asked for: as long as an upload session lives.
pub const DEFAULT_GRACE_SECS: u64 = UPLOAD_TTL_SECS.unsigned_abs();

/// What a collection removed, or (a dry run) would remove.
#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcReport {
    pub dry_run: bool,
    pub grace_seconds: u64,
    /// Everything freed: blob objects, orphans and expired sessions' bytes.
    pub objects: u64,
    pub bytes: u64,
    /// Blobs and manifests' objects no manifest or repository referenced.
    pub blob_objects: u64,
    pub blob_bytes: u64,
    /// Repositories' links to blobs no manifest there references.
    pub repository_blobs: u64,
    /// Expired upload sessions and the bytes they held.
    pub upload_sessions: u64,
    pub upload_bytes: u64,
    /// Objects no row named, older than an upload session can live.
    pub orphan_objects: u64,
    pub orphan_bytes: u64,
    /// Rows whose object was missing, removed so the next push stores the bytes again.
    pub repaired: u64,
}

/// Deletes of one object tried before the object is checked for.
const DELETE_ATTEMPTS: u32 = 3;

impl Registry {
    /// One collection; `actor` is audited as its author.
    pub async fn collect_garbage(
        &self,
        actor: &str,
        dry_run: bool,
        grace_secs: u64,
    ) -> Answer<GcReport> {
        let mut report = GcReport {
            dry_run,
            grace_seconds: grace_secs,
            ..Default::default()
        };
        let (sessions, session_bytes) = self
            .sweep_uploads_older_than(UPLOAD_TTL_SECS, dry_run)
            .await?;
        report.upload_sessions = sessions as u64;
        report.upload_bytes = session_bytes;

        // The objects listed before the rows are read: an object committed in between is
        // then named by a row this run sees.
        let listed = self.blobs.list_blobs().await?;

        let now = time::OffsetDateTime::now_utc();
        let grace = time::Duration::seconds(i64::try_from(grace_secs).unwrap_or(i64::MAX));
        let cutoff = wharf_store::format_time(
            now.checked_sub(grace)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        );
        let store = self.cp.store();
        let loose = store.loose_registry_blobs(&cutoff).await?;
        let mut tx = store.begin().await?;
        for blob in &loose {
            if tx
                .delete_loose_registry_blob(&blob.repository, &blob.digest, &cutoff)
                .await?
            {
                report.repository_blobs += 1;
            }
        }
        if dry_run {
            // What step 3 would find once those links are gone; then nothing is kept.
            for object in tx.unused_registry_objects(&cutoff).await? {
                report.blob_objects += 1;
                report.blob_bytes += u64::try_from(object.size).unwrap_or(0);
            }
            drop(tx);
        } else {
            let unused = tx.unused_registry_objects(&cutoff).await?;
            tx.commit().await?;
            for object in unused {
                let mut tx = store.begin().await?;
                let Some(gone) = tx
                    .delete_unused_registry_object(&object.digest, &cutoff)
                    .await?
                else {
                    continue;
                };
                // The object goes while its row's deletion holds the lock; if it cannot be
                // deleted, the row stays (and a later run tries again) unless it is gone.
                if !self.delete_object(&gone.object_key).await {
                    tracing::warn!(digest = %gone.digest, "garbage collection: object not deleted");
                    continue;
                }
                tx.commit().await?;
                report.blob_objects += 1;
                report.blob_bytes += u64::try_from(gone.size).unwrap_or(0);
            }
        }

        report.repaired = self.repair_missing(&listed, dry_run).await?;

        let orphan_age = DEFAULT_GRACE_SECS.max(grace_secs);
        let candidates: Vec<_> = listed
            .into_iter()
            .filter(|o| o.age_secs > orphan_age)
            .collect();
        if !candidates.is_empty() {
            let named: HashSet<String> = store
                .registry_object_keys()
                .await?
                .into_iter()
                .chain(store.upload_object_keys().await?)
                .collect();
            for orphan in candidates.iter().filter(|o| !named.contains(&o.key)) {
                if !dry_run && self.blobs.delete(&orphan.key).await.is_err() {
                    continue;
                }
                report.orphan_objects += 1;
                report.orphan_bytes += orphan.size;
            }
        }

        report.objects = report.blob_objects + report.orphan_objects + report.upload_sessions;
        report.bytes = report.blob_bytes + report.orphan_bytes + report.upload_bytes;
        if !dry_run && (report.objects > 0 || report.repository_blobs > 0 || report.repaired > 0) {
            let audit = Audit::new(actor, "CONTAINER_REGISTRY", "REGISTRY_GC")
                .target(self.blobs.describe())
                .meta("objects", report.objects)
                .meta("bytes", report.bytes)
                .meta("blobObjects", report.blob_objects)
                .meta("repositoryBlobs", report.repository_blobs)
                .meta("uploadSessions", report.upload_sessions)
                .meta("orphanObjects", report.orphan_objects)
                .meta("repaired", report.repaired)
                .meta("graceSeconds", grace_secs);
            let mut tx = store.begin().await?;
            tx.record(&audit).await?;
            tx.commit().await?;
        }
        Ok(report)
    }

    /// Deletes an object, trying again on failure; `true` once it is confirmed gone (a
    /// delete whose answer was lost may well have been applied).
    async fn delete_object(&self, key: &str) -> bool {
        for attempt in 1..=DELETE_ATTEMPTS {
            match self.blobs.delete(key).await {
                Ok(()) => return true,
                Err(error) => tracing::warn!(%error, attempt, "object delete failed"),
            }
        }
        matches!(self.blobs.exists(key).await, Ok(false))
    }

    /// Removes the rows whose object is missing: not in `listed` (taken before the rows were
    /// read) and confirmed absent by a HEAD.
    async fn repair_missing(
        &self,
        listed: &[super::storage::Listed],
        dry_run: bool,
    ) -> Answer<u64> {
        let present: HashSet<&str> = listed.iter().map(|o| o.key.as_str()).collect();
        let store = self.cp.store();
        let mut repaired = 0;
        for row in store.registry_objects().await? {
            if present.contains(row.object_key.as_str())
                || !matches!(self.blobs.exists(&row.object_key).await, Ok(false))
            {
                continue;
            }
            tracing::warn!(digest = %row.digest, "the object of an index row is missing; row removed");
            if dry_run {
                repaired += 1;
                continue;
            }
            let mut tx = store.begin().await?;
            if tx
                .forget_registry_object(&row.digest, &row.object_key)
                .await?
            {
                repaired += 1;
            }
            tx.commit().await?;
        }
        Ok(repaired)
    }

    /// The server's own run, every [`GC_EVERY`].
    pub(super) async fn scheduled_gc(&self) {
        match self
            .collect_garbage("wharf-gc", false, DEFAULT_GRACE_SECS)
            .await
        {
            Ok(report) if report.objects > 0 => tracing::info!(
                objects = report.objects,
                bytes = report.bytes,
                "garbage collected"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(message = %error.message, "garbage collection failed"),
        }
    }
}

impl Registry {
    /// Sweeps every [`SWEEP_EVERY`](super::uploads::SWEEP_EVERY) (the start sweeps once itself, before serving), and
    /// collects garbage every [`GC_EVERY`], until aborted.
    pub fn spawn_sweeper(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let first = tokio::time::Instant::now() + SWEEP_EVERY;
            let mut every = tokio::time::interval_at(first, SWEEP_EVERY);
            let mut last_gc = tokio::time::Instant::now();
            loop {
                every.tick().await;
                match self.sweep_uploads().await {
                    Ok((0, _)) => {}
                    Ok((swept, bytes)) => {
                        tracing::info!(swept, bytes, "expired upload sessions removed")
                    }
                    Err(error) => tracing::warn!(message = %error.message, "upload sweep failed"),
                }
                if last_gc.elapsed() >= GC_EVERY {
                    last_gc = tokio::time::Instant::now();
                    self.scheduled_gc().await;
                }
            }
        })
    }
}
