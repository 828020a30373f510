//! Builds: the one INSERT, moves between buckets, deletion, and the reads by CI, bucket and
//! id. `routed_to` is written from [`Bucket::routed_to`] beside the bucket, so filtering and
//! grouping by it needs no second copy of the rule.

use crate::{ArtifactRow, Bucket, BuildFilter, Result, Store, Tx};
use sqlx::QueryBuilder;

/// `SELECT <every artifact column> FROM artifacts <rest>`, as one literal.
macro_rules! select_artifacts {
    ($rest:literal) => {
        concat!(
            "SELECT id, ci_id, project, application_name, artifact_uri, artifactory, external_id,
             description, metadata, register_type, register_value, registration_type, cluster_id,
             cluster_name, release_stream, classified, applied_rule_id, applied_rule_name,
             promoted, origin, repository_name, tag, created_by, created_at, promoted_from,
             artifact_type, file FROM artifacts ",
            $rest
        )
    };
}

/// The one INSERT of a build, run by `$run` (`execute` or `execute_deferred`).
macro_rules! insert_artifact {
    ($run:ident, $tx:expr, $a:expr) => {{
        let a = $a;
        $run!(
            $tx,
            "INSERT INTO artifacts (id, ci_id, project, application_name, artifact_uri,
             artifactory, external_id, description, metadata, register_type, register_value,
             registration_type, cluster_id, cluster_name, release_stream, classified,
             applied_rule_id, applied_rule_name, promoted, origin, repository_name, tag,
             created_by, created_at, promoted_from, routed_to, artifact_type, file)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                     $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)",
            &a.id,
            &a.ci_id,
            &a.project,
            &a.application_name,
            &a.artifact_uri,
            &a.artifactory,
            &a.external_id,
            &a.description,
            &a.metadata,
            a.register_type,
            &a.register_value,
            a.registration_type,
            &a.bucket.cluster_id,
            &a.bucket.cluster_name,
            &a.bucket.release_stream,
            a.bucket.classified,
            &a.bucket.applied_rule_id,
            &a.bucket.applied_rule_name,
            a.promoted,
            a.origin,
            &a.repository_name,
            &a.tag,
            &a.created_by,
            &a.created_at,
            &a.promoted_from,
            a.bucket.routed_to(),
            a.artifact_type,
            &a.file,
        )
    }};
}

impl Store {
    /// The registration of `external_id` by this CI integration (read on the writer, so it
    /// sees what the writer just committed).
    pub async fn registration(
        &self,
        ci_id: &str,
        external_id: &str,
    ) -> Result<Option<ArtifactRow>> {
        Ok(on_writer!(self, |e| sqlx::query_as(select_artifacts!(
            "WHERE ci_id = $1 AND external_id = $2 AND origin = 'register'"
        ))
        .bind(ci_id)
        .bind(external_id)
        .fetch_optional(e)
        .await)?)
    }

    /// The promotion of build `source_id` committed so far (on a reader): every promotion
    /// acknowledged before the caller asked. One still in the writer's open batch is not
    /// seen; its unique index refuses a second insert, and `promotion_of` then finds it.
    pub async fn committed_promotion_of(&self, source_id: &str) -> Result<Option<ArtifactRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_artifacts!(
            "WHERE promoted_from = $1"
        ))
        .bind(source_id)
        .fetch_optional(e)
        .await)?)
    }

    /// The promotion of build `source_id`, if any (on the writer, like `registration`).
    pub async fn promotion_of(&self, source_id: &str) -> Result<Option<ArtifactRow>> {
        Ok(on_writer!(self, |e| sqlx::query_as(select_artifacts!(
            "WHERE promoted_from = $1"
        ))
        .bind(source_id)
        .fetch_optional(e)
        .await)?)
    }

    /// The newest freestyle build of this CI whose URI is `uri`, or whose repository and tag
    /// are these: the file an attach by URI or by registry → repository → tag names.
    pub async fn freestyle_build(
        &self,
        ci_id: &str,
        uri: &str,
        repository_and_tag: Option<(&str, &str)>,
    ) -> Result<Option<ArtifactRow>> {
        let (repository, tag) = repository_and_tag.unwrap_or_default();
        Ok(on!(&self.reader, |e| sqlx::query_as(select_artifacts!(
            "WHERE ci_id = $1 AND artifact_type = 'freestyle'
             AND (artifact_uri = $2 OR (repository_name = $3 AND tag = $4))
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(ci_id)
        .bind(uri)
        .bind(repository)
        .bind(tag)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn artifact(&self, id: &str) -> Result<Option<ArtifactRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_artifacts!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// A CI integration's builds, newest first.
    pub async fn artifacts_of(
        &self,
        ci_id: &str,
        filter: &BuildFilter,
    ) -> Result<Vec<ArtifactRow>> {
        Ok(on!(&self.reader, |e| {
            let mut query = QueryBuilder::new(select_artifacts!("WHERE ci_id = "));
            query.push_bind(ci_id.to_string());
            if let Some(name) = &filter.routed_to {
                query.push(" AND routed_to = ").push_bind(name.clone());
            }
            if let Some(external_id) = &filter.external_id {
                query
                    .push(" AND external_id = ")
                    .push_bind(external_id.clone());
            }
            if let Some(classified) = filter.classified {
                query.push(" AND classified = ").push_bind(classified);
            }
            if let Some(promoted) = filter.promoted {
                query.push(" AND promoted = ").push_bind(promoted);
            }
            query
                .push(" ORDER BY created_at DESC, id DESC LIMIT ")
                .push_bind(filter.limit.max(1));
            query.build_query_as().fetch_all(e).await?
        }))
    }

    /// The builds in an environment's own bucket, newest first, optionally of one service.
    pub async fn artifacts_in_cluster(
        &self,
        cluster_id: &str,
        application: Option<&str>,
    ) -> Result<Vec<ArtifactRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_artifacts!(
            "WHERE cluster_id = $1 AND ($2 IS NULL OR application_name = $2)
             ORDER BY created_at DESC, id DESC LIMIT 500"
        ))
        .bind(cluster_id)
        .bind(application)
        .fetch_all(e)
        .await)?)
    }

    /// The newest build of a CI integration in an environment's bucket.
    pub async fn newest_in_cluster(
        &self,
        ci_id: &str,
        cluster_id: &str,
    ) -> Result<Option<ArtifactRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_artifacts!(
            "WHERE ci_id = $1 AND cluster_id = $2 AND classified = TRUE
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(ci_id)
        .bind(cluster_id)
        .fetch_optional(e)
        .await)?)
    }

    /// The newest build of a CI integration in a release stream's bucket.
    pub async fn newest_in_stream(&self, ci_id: &str, stream: &str) -> Result<Option<ArtifactRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_artifacts!(
            "WHERE ci_id = $1 AND cluster_id IS NULL AND release_stream = $2 AND classified = TRUE
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(ci_id)
        .bind(stream)
        .fetch_optional(e)
        .await)?)
    }

    /// Builds that routing rules placed (registered by ref or metadata), for reclassification.
    pub async fn rule_routed_builds(&self, ci_id: &str) -> Result<Vec<ArtifactRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_artifacts!(
            "WHERE ci_id = $1 AND origin = 'register' AND register_type = 'GIT_REF'
             ORDER BY created_at, id"
        ))
        .bind(ci_id)
        .fetch_all(e)
        .await)?)
    }

    /// Where a CI integration's classified builds sit: bucket name → count.
    pub async fn buckets_of(&self, ci_id: &str) -> Result<Vec<(String, i64)>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT routed_to, COUNT(*) FROM artifacts
             WHERE ci_id = $1 AND routed_to IS NOT NULL GROUP BY routed_to ORDER BY routed_to",
        )
        .bind(ci_id)
        .fetch_all(e)
        .await)?)
    }

    pub async fn total_artifacts(&self) -> Result<i64> {
        Ok(on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM artifacts"
        )
        .fetch_one(e)
        .await)?)
    }
}

impl Tx {
    /// The image that leads `bucket` for CI `ci_id` (its newest classified build), read inside
    /// the transaction that is about to change it.
    pub async fn leading_image(&mut self, ci_id: &str, bucket: &Bucket) -> Result<Option<String>> {
        let Some(stage) = bucket.routed_to() else {
            return Ok(None);
        };
        Ok(in_tx!(self, |e| {
            sqlx::query_scalar(
            "SELECT artifact_uri FROM artifacts WHERE ci_id = $1 AND routed_to = $2
             AND classified = TRUE AND (($3 AND cluster_id IS NOT NULL) OR (NOT $3 AND cluster_id IS NULL))
             ORDER BY created_at DESC, id DESC LIMIT 1"
        )
        .bind(ci_id)
        .bind(stage)
        .bind(bucket.cluster_id.is_some())
        .fetch_optional(e)
        .await
        })?)
    }

    /// The one INSERT of a build; a second registration of one external id by one CI, or a
    /// second promotion of one build, is a duplicate.
    pub async fn insert_artifact(&mut self, a: &ArtifactRow) -> Result<()> {
        insert_artifact!(execute, self, a)?;
        Ok(())
    }

    /// Like `insert_artifact`, run on SQLite with the commit, in one round trip: a duplicate
    /// is then the commit's error (the transaction rolls back whole). Until the commit, the
    /// transaction may only add deferred statements (events, deliveries, the audit entry) and
    /// read what they do not write (its webhooks): any other statement would run the insert
    /// first and meet the duplicate there.
    pub async fn insert_artifact_at_commit(&mut self, a: &ArtifactRow) -> Result<()> {
        insert_artifact!(execute_deferred, self, a)?;
        Ok(())
    }

    /// Puts a build in another bucket.
    pub async fn move_build(&mut self, id: &str, to: &Bucket) -> Result<()> {
        execute!(
            self,
            "UPDATE artifacts SET classified = $1, cluster_id = $2, cluster_name = $3,
             release_stream = $4, applied_rule_id = $5, applied_rule_name = $6, routed_to = $7
             WHERE id = $8",
            to.classified,
            &to.cluster_id,
            &to.cluster_name,
            &to.release_stream,
            &to.applied_rule_id,
            &to.applied_rule_name,
            to.routed_to(),
            id,
        )?;
        Ok(())
    }

    /// Names a build's image by digest (`uri`), keeping the tag it was registered by.
    pub async fn pin_build(&mut self, id: &str, uri: &str, tag: Option<&str>) -> Result<()> {
        execute!(
            self,
            "UPDATE artifacts SET artifact_uri = $1, tag = COALESCE($2, tag) WHERE id = $3",
            uri,
            tag,
            id,
        )?;
        Ok(())
    }

    pub async fn delete_artifact(&mut self, id: &str) -> Result<bool> {
        Ok(execute!(self, "DELETE FROM artifacts WHERE id = $1", id)? > 0)
    }

    /// How many builds a CI integration has.
    pub async fn builds_of_ci(&mut self, ci_id: &str) -> Result<i64> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM artifacts WHERE ci_id = $1"
        )
        .bind(ci_id)
        .fetch_one(e)
        .await)?)
    }

    /// How many builds sit in an environment's own bucket.
    pub async fn builds_in_cluster(&mut self, cluster_id: &str) -> Result<i64> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM artifacts WHERE cluster_id = $1"
        )
        .bind(cluster_id)
        .fetch_one(e)
        .await)?)
    }

    /// How many builds sit in a release stream's own bucket.
    pub async fn builds_in_stream(&mut self, project: &str, stream: &str) -> Result<i64> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM artifacts
             WHERE project = $1 AND cluster_id IS NULL AND release_stream = $2",
        )
        .bind(project)
        .bind(stream)
        .fetch_one(e)
        .await)?)
    }
}
