//! Builds: registration, promotion, listing, reclassification, deletion.

use super::{ArtifactRow, Store, Tx};
use crate::audit::Audit;
use crate::error::Result;
use sqlx::QueryBuilder;

/// `SELECT <every artifact column> FROM artifacts <rest>`, as one literal.
macro_rules! select_artifacts {
    ($rest:literal) => {
        concat!(
            "SELECT id, ci_id, project, application_name, artifact_uri, artifactory, external_id,
             description, metadata, register_type, register_value, registration_type, cluster_id,
             cluster_name, release_stream, classified, applied_rule_id, applied_rule_name,
             promoted, origin, repository_name, tag, created_by, created_at, promoted_from
             FROM artifacts ",
            $rest
        )
    };
}

/// Which of a CI integration's builds to list.
#[derive(Debug, Clone, Default)]
pub struct BuildFilter {
    /// The environment or stream name the build sits in.
    pub routed_to: Option<String>,
    pub external_id: Option<String>,
    pub classified: Option<bool>,
    pub promoted: Option<bool>,
    pub limit: i64,
}

/// The bucket a build sits in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketFields {
    pub classified: bool,
    pub cluster_id: Option<String>,
    pub cluster_name: Option<String>,
    pub release_stream: Option<String>,
    pub applied_rule_id: Option<String>,
    pub applied_rule_name: Option<String>,
}

impl BucketFields {
    pub fn of(row: &ArtifactRow) -> Self {
        Self {
            classified: row.classified,
            cluster_id: row.cluster_id.clone(),
            cluster_name: row.cluster_name.clone(),
            release_stream: row.release_stream.clone(),
            applied_rule_id: row.applied_rule_id.clone(),
            applied_rule_name: row.applied_rule_name.clone(),
        }
    }
}

/// The one INSERT of a build, on executor `$e` of either database.
macro_rules! insert_artifact {
    ($e:expr, $a:expr) => {
        sqlx::query(
        "INSERT INTO artifacts (id, ci_id, project, application_name, artifact_uri,
         artifactory, external_id, description, metadata, register_type, register_value,
         registration_type, cluster_id, cluster_name, release_stream, classified,
         applied_rule_id, applied_rule_name, promoted, origin, repository_name, tag,
         created_by, created_at, promoted_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21, $22, $23, $24, $25)",
    )
    .bind(&$a.id)
    .bind(&$a.ci_id)
    .bind(&$a.project)
    .bind(&$a.application_name)
    .bind(&$a.artifact_uri)
    .bind(&$a.artifactory)
    .bind(&$a.external_id)
    .bind(&$a.description)
    .bind(&$a.metadata)
    .bind(&$a.register_type)
    .bind(&$a.register_value)
    .bind(&$a.registration_type)
    .bind(&$a.cluster_id)
    .bind(&$a.cluster_name)
    .bind(&$a.release_stream)
    .bind($a.classified)
    .bind(&$a.applied_rule_id)
    .bind(&$a.applied_rule_name)
    .bind($a.promoted)
    .bind(&$a.origin)
    .bind(&$a.repository_name)
    .bind(&$a.tag)
    .bind(&$a.created_by)
    .bind(&$a.created_at)
    .bind(&$a.promoted_from)
        .execute($e)
        .await
        .map(|_| ())
    };
}

pub(super) async fn insert_artifact_row(tx: &mut Tx, a: &ArtifactRow) -> Result<(), sqlx::Error> {
    in_tx!(tx, |e| insert_artifact!(e, a))
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl Store {
    /// The registration of `external_id` by this CI integration (read on the writer, so it
    /// sees what the writer just committed).
    pub async fn registration(
        &self,
        ci_id: &str,
        external_id: &str,
    ) -> Result<Option<ArtifactRow>> {
        Ok(on!(&self.writer, |e| sqlx::query_as(select_artifacts!(
            "WHERE ci_id = $1 AND external_id = $2 AND origin = 'register'"
        ))
        .bind(ci_id)
        .bind(external_id)
        .fetch_optional(e)
        .await)?)
    }

    /// Inserts a registration in one statement (its audit entry comes with it: see the
    /// `0004_register_audit` migrations); `false` when the unique index says this CI already
    /// registered the external id, and nothing is written then.
    pub async fn insert_registration(&self, a: &ArtifactRow) -> Result<bool> {
        match on!(&self.writer, |e| insert_artifact!(e, a)) {
            Ok(()) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Inserts a promotion; answers the promotion that already exists when another request
    /// promoted the same build first (each build is promoted once).
    pub async fn insert_promotion(
        &self,
        a: &ArtifactRow,
        audit: Audit,
    ) -> Result<Option<ArtifactRow>> {
        let mut tx = self.begin().await?;
        match insert_artifact_row(&mut tx, a).await {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                let source = a.promoted_from.as_deref().unwrap_or_default();
                return self.promotion_of(source).await;
            }
            Err(e) => return Err(e.into()),
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(None)
    }

    pub async fn promotion_of(&self, source_id: &str) -> Result<Option<ArtifactRow>> {
        Ok(on!(&self.writer, |e| sqlx::query_as(select_artifacts!(
            "WHERE promoted_from = $1"
        ))
        .bind(source_id)
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
                query.push(" AND classified = TRUE AND (cluster_name = ");
                query.push_bind(name.clone());
                query.push(" OR (cluster_id IS NULL AND release_stream = ");
                query.push_bind(name.clone());
                query.push("))");
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

    /// Moves builds to new buckets, with one audit entry each, in one transaction.
    pub async fn move_builds(
        &self,
        moves: &[(ArtifactRow, BucketFields)],
        user: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        for (row, to) in moves {
            in_tx!(&mut tx, |e| sqlx::query(
                "UPDATE artifacts SET classified = $1, cluster_id = $2, cluster_name = $3,
                 release_stream = $4, applied_rule_id = $5, applied_rule_name = $6 WHERE id = $7",
            )
            .bind(to.classified)
            .bind(&to.cluster_id)
            .bind(&to.cluster_name)
            .bind(&to.release_stream)
            .bind(&to.applied_rule_id)
            .bind(&to.applied_rule_name)
            .bind(&row.id)
            .execute(e)
            .await
            .map(|r| r.rows_affected()))?;
            let from = crate::views::routed_to(row);
            let to_name = to
                .classified
                .then(|| to.cluster_name.clone().or(to.release_stream.clone()))
                .flatten();
            Audit::new(user, "ARTIFACT", "ARTIFACT_RECLASSIFY")
                .target(&row.id)
                .stack(&row.project)
                .cluster(to.cluster_id.as_deref(), to.cluster_name.as_deref())
                .meta("from", from)
                .meta("to", to_name)
                .meta("ruleName", &to.applied_rule_name)
                .record(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_artifact(&self, id: &str, audit: Audit) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = in_tx!(&mut tx, |e| sqlx::query(
            "DELETE FROM artifacts WHERE id = $1"
        )
        .bind(id)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Ok(false);
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Inserts a build pinned by hand (attach), with its audit entry.
    pub async fn insert_attached(&self, a: &ArtifactRow, audit: Audit) -> Result<()> {
        let mut tx = self.begin().await?;
        insert_artifact_row(&mut tx, a).await?;
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn total_artifacts(&self) -> Result<i64> {
        Ok(on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM artifacts"
        )
        .fetch_one(e)
        .await)?)
    }
}

impl Store {
    /// Where a CI integration's classified builds sit: bucket name → count.
    pub async fn buckets_of(&self, ci_id: &str) -> Result<Vec<(String, i64)>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT COALESCE(cluster_name, release_stream) AS bucket, COUNT(*) FROM artifacts
             WHERE ci_id = $1 AND classified = TRUE GROUP BY 1 ORDER BY 1",
        )
        .bind(ci_id)
        .fetch_all(e)
        .await)?)
    }
}
