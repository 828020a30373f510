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
use super::{Answer, BuiltInRegistry};
use crate::domain::auth::AuthUser;
use crate::domain::permissions::require_admin;
use crate::domain::registry_index::format_time;
use std::collections::HashSet;

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

impl BuiltInRegistry {
    /// A collection asked for by `user` (`wharf gc`, `POST /wharf/v1/gc`): server admins only.
    pub async fn collect_garbage_as(
        &self,
        user: &AuthUser,
        dry_run: bool,
        grace_secs: u64,
    ) -> Answer<GcReport> {
        require_admin(user, "garbage collection")?;
        self.collect_garbage(&user.username, dry_run, grace_secs)
            .await
    }

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
        let cutoff = format_time(
            now.checked_sub(grace)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        );
        let swept = self
            .cp
            .registry_index
            .sweep_registry_links(&cutoff, dry_run)
            .await?;
        report.repository_blobs = swept.links;
        for object in swept.unused {
            // A dry run counts what step 3 would find; a real one removes each object's row
            // under a lock, and the row stays unless the object is confirmed gone.
            let gone = match dry_run {
                true => Some(object),
                false => {
                    self.cp
                        .registry_index
                        .delete_unused_object(&self.blobs, &object.digest, &cutoff)
                        .await?
                }
            };
            if let Some(gone) = gone {
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
            let named: HashSet<String> = self
                .cp
                .registry_index
                .named_object_keys()
                .await?
                .into_iter()
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
            let counts = [
                ("objects", report.objects),
                ("bytes", report.bytes),
                ("blobObjects", report.blob_objects),
                ("repositoryBlobs", report.repository_blobs),
                ("uploadSessions", report.upload_sessions),
                ("orphanObjects", report.orphan_objects),
                ("repaired", report.repaired),
                ("graceSeconds", grace_secs),
            ];
            self.cp
                .registry_index
                .record_collection(actor, &self.blobs.describe(), &counts)
                .await?;
        }
        Ok(report)
    }

    /// Removes the rows whose object is missing: not in `listed` (taken before the rows were
    /// read) and confirmed absent by a HEAD.
    async fn repair_missing(
        &self,
        listed: &[super::storage::Listed],
        dry_run: bool,
    ) -> Answer<u64> {
        let present: HashSet<&str> = listed.iter().map(|o| o.key.as_str()).collect();
        let mut repaired = 0;
        for row in self.cp.registry_index.registry_objects().await? {
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
            if self
                .cp
                .registry_index
                .forget_missing_object(&row.digest, &row.object_key)
                .await?
            {
                repaired += 1;
            }
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

impl BuiltInRegistry {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_runs_every_six_hours_with_an_hours_grace_as_documented() {
        assert_eq!(GC_EVERY, std::time::Duration::from_secs(21_600));
        assert_eq!(DEFAULT_GRACE_SECS, 3_600);
    }
}
