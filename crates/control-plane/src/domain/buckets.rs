//! Names to buckets: the one place a stage, a rule's `routeTo`, an attach target or a
//! registration's environment becomes the bucket a build sits in.

use super::Lookups;
use crate::error::{Error, Result};
use wharf_api::{Metadata, RegistrationType, classify};
use wharf_store::{ArtifactRow, Bucket, CiRow, EnvironmentRow, RuleRow};

/// What an environment deploys for one CI integration, and which bucket it comes from.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub build: ArtifactRow,
    /// `Environment`: the environment's own bucket; `ReleaseStream`: its stream's.
    pub from: RegistrationType,
    /// The bucket's name.
    pub bucket: String,
}

/// Streams every project has, as in Facets: name and whether it is production.
pub const BUILT_IN_STREAMS: [(&str, bool); 3] =
    [("QA", false), ("STAGING", false), ("PRODUCTION", true)];

/// What names a bucket of this registration type: a release stream or an environment.
pub fn kind_name(kind: RegistrationType) -> &'static str {
    match kind {
        RegistrationType::ReleaseStream => "release stream",
        _ => "environment",
    }
}

/// An environment's bucket for a CI of type `kind`: its own, or its release stream's when the
/// CI keeps one bucket per stream.
pub fn environment_bucket(kind: RegistrationType, environment: &EnvironmentRow) -> Bucket {
    match kind {
        RegistrationType::ReleaseStream => Bucket::stream(&environment.release_stream),
        _ => Bucket::environment(environment),
    }
}

impl Lookups {
    /// Environment `name` of `project`; 404 naming both when there is none.
    pub async fn environment_named(&self, project: &str, name: &str) -> Result<EnvironmentRow> {
        if let Some(environment) = self.store.environment(project, name).await? {
            return Ok(environment);
        }
        let known: Vec<String> = self
            .store
            .environments(project)
            .await?
            .into_iter()
            .map(|e| e.name)
            .collect();
        Err(Error::not_found(format!(
            "environment '{name}' not found in project '{project}'{}",
            crate::error::suggestions(name, &known)
        )))
    }

    /// What `env` deploys for `ci`: the newer of the newest build in its own bucket and the
    /// newest in its release stream's (a stream's build reaches every environment in it until
    /// one has a newer build of its own). The one rule resolve, the flow and the door use.
    pub async fn deployed_in(&self, ci: &CiRow, env: &EnvironmentRow) -> Result<Option<Deployed>> {
        let own = self.store.newest_in_cluster(&ci.id, &env.id).await?;
        let streamed = self
            .store
            .newest_in_stream(&ci.id, &env.release_stream)
            .await?;
        let from_stream = |build| Deployed {
            build,
            from: RegistrationType::ReleaseStream,
            bucket: env.release_stream.clone(),
        };
        let from_own = |build| Deployed {
            build,
            from: RegistrationType::Environment,
            bucket: env.name.clone(),
        };
        Ok(match (own, streamed) {
            (Some(own), Some(streamed)) if newer(&streamed, &own) => Some(from_stream(streamed)),
            (Some(own), _) => Some(from_own(own)),
            (None, Some(streamed)) => Some(from_stream(streamed)),
            (None, None) => None,
        })
    }

    /// The bucket `name` names in `project` for buckets of type `kind`, if it exists.
    pub async fn bucket_named(
        &self,
        project: &str,
        kind: RegistrationType,
        name: &str,
    ) -> Result<Option<Bucket>> {
        if kind == RegistrationType::ReleaseStream {
            let exists = self.store.stream_exists(project, name).await?;
            return Ok(exists.then(|| Bucket::stream(name)));
        }
        let environment = self.store.environment(project, name).await?;
        Ok(environment.as_ref().map(Bucket::environment))
    }

    /// Like [`Self::bucket_named`], refusing a name that is not a bucket of the project.
    pub async fn require_bucket(
        &self,
        project: &str,
        kind: RegistrationType,
        name: &str,
    ) -> Result<Bucket> {
        self.bucket_named(project, kind, name)
            .await?
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "'{name}' is not a {} of project '{project}'",
                    kind_name(kind)
                ))
            })
    }

    /// The bucket `rule` (the rule the CI follows, if any) picks for a build's metadata;
    /// unclassified when nothing matches or the match names no bucket.
    pub async fn bucket_by_rule(
        &self,
        ci: &CiRow,
        rule: Option<&RuleRow>,
        metadata: &Metadata,
    ) -> Result<Bucket> {
        let Some(rule) = rule else {
            return Ok(Bucket::unclassified());
        };
        let Some(matched) = classify(&rule.criteria.0, metadata) else {
            return Ok(Bucket::unclassified());
        };
        let found = self
            .bucket_named(&ci.project, ci.registration_type, &matched.route_to)
            .await?;
        let Some(bucket) = found else {
            tracing::warn!(
                rule = %rule.rule_name,
                route_to = %matched.route_to,
                "rule routes to a bucket that does not exist; build kept unclassified"
            );
            return Ok(Bucket::unclassified());
        };
        Ok(bucket.by_rule(rule))
    }
}

/// Whether `a` was placed after `b` (by time, then id: ids grow with time).
fn newer(a: &ArtifactRow, b: &ArtifactRow) -> bool {
    (&a.created_at, &a.id) > (&b.created_at, &b.id)
}
