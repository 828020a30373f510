//! Names to rows, read only: projects, environments, streams and the bucket a stage, a rule's
//! `routeTo`, an attach target or a registration's environment names; CIs and the rule and
//! workflow a CI follows (its own for CUSTOM, the project's default for INHERITED, none for NONE).

use super::Lookups;
use crate::error::{Error, Result};
use wharf_api::{CiMode, Metadata, RegistrationType, classify};
use wharf_store::{ArtifactRow, Bucket, CiRow, EnvironmentRow, ProjectRow, RuleRow, WorkflowRow};

/// How a request names a CI integration.
#[derive(Debug, Clone, Copy)]
pub enum CiKey<'a> {
    Id(&'a str),
    /// A name, and the project when the caller gave one (names are unique per project).
    Named(&'a str, Option<&'a str>),
}

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
            crate::validate::suggestions(name, &known)
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
        Ok(
            what_deploys(own, streamed, newer).map(|(build, from)| Deployed {
                bucket: match from {
                    RegistrationType::ReleaseStream => env.release_stream.clone(),
                    _ => env.name.clone(),
                },
                build,
                from,
            }),
        )
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
/// The one rule of what an environment deploys (resolve, the flow, the UI and the door all ask
/// [`Lookups::deployed_in`]): the newest build of its own bucket, unless its release stream's
/// newest is newer. Generic so the rule is tested alone.
fn what_deploys<T>(
    own: Option<T>,
    streamed: Option<T>,
    newer: impl Fn(&T, &T) -> bool,
) -> Option<(T, RegistrationType)> {
    match (own, streamed) {
        (Some(own), Some(streamed)) if newer(&streamed, &own) => {
            Some((streamed, RegistrationType::ReleaseStream))
        }
        (Some(own), _) => Some((own, RegistrationType::Environment)),
        (None, Some(streamed)) => Some((streamed, RegistrationType::ReleaseStream)),
        (None, None) => None,
    }
}

fn newer(a: &ArtifactRow, b: &ArtifactRow) -> bool {
    (&a.created_at, &a.id) > (&b.created_at, &b.id)
}

impl Lookups {
    pub async fn find_ci(&self, key: CiKey<'_>) -> Result<CiRow> {
        match key {
            CiKey::Id(id) => self.ci_by_id(id).await,
            CiKey::Named(name, stack) => self.ci_named(name, stack).await,
        }
    }

    /// The rule a CI integration routes by: its own (`CUSTOM`), the project's default for its
    /// registration type (`INHERITED`), or none (`NONE`: its builds stay unclassified).
    pub async fn rule_of(&self, ci: &CiRow) -> Result<Option<RuleRow>> {
        match (ci.mode, &ci.routing_rule_id) {
            (CiMode::None, _) => Ok(None),
            (CiMode::Custom, Some(id)) => Ok(self.store.rule(id).await?),
            (CiMode::Custom, None) => Ok(None),
            (CiMode::Inherited, _) => Ok(self
                .store
                .default_rule(&ci.project, ci.registration_type)
                .await?),
        }
    }

    /// The workflow a CI integration promotes along: its own, the project's default, or none.
    pub(super) async fn workflow_of(&self, ci: &CiRow) -> Result<Option<WorkflowRow>> {
        match (ci.mode, &ci.workflow_id) {
            (CiMode::None, _) => Ok(None),
            (CiMode::Custom, Some(id)) => Ok(self.store.workflow(id).await?),
            _ => Ok(self
                .store
                .default_workflow(&ci.project, ci.registration_type)
                .await?),
        }
    }

    pub async fn ci(&self, project: &str, name: &str) -> Result<CiRow> {
        if let Some(ci) = self.store.ci(project, name).await? {
            return Ok(ci);
        }
        self.project(project).await?;
        Err(Error::not_found(format!(
            "CI integration '{name}' not found in project '{project}'{}",
            self.ci_suggestions(project, name).await?
        )))
    }

    /// "; did you mean 'api'? (known: api, web)" for a CI name of `project` not found.
    pub(super) async fn ci_suggestions(&self, project: &str, name: &str) -> Result<String> {
        let known: Vec<String> = self
            .store
            .cis(Some(project))
            .await?
            .into_iter()
            .map(|ci| ci.name)
            .collect();
        Ok(crate::validate::suggestions(name, &known))
    }

    pub async fn ci_by_id(&self, id: &str) -> Result<CiRow> {
        self.store
            .ci_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("CI integration id '{id}' not found")))
    }

    /// Finds a CI by name; names are unique per project, so `stackName` settles ambiguity.
    pub async fn ci_named(&self, name: &str, stack: Option<&str>) -> Result<CiRow> {
        let mut matches = self.store.cis_named(name).await?;
        if let Some(stack) = stack {
            matches.retain(|ci| ci.project == stack);
        }
        match matches.len() {
            0 => match stack {
                // In a named project: its name checked first, then the CI with suggestions.
                Some(stack) => self.ci(stack, name).await,
                None => Err(Error::not_found(format!(
                    "CI integration '{name}' not found"
                ))),
            },
            1 => Ok(matches.remove(0)),
            _ => Err(Error::bad_request(format!(
                "CI integration '{name}' exists in several projects ({}); add ?stackName=",
                matches
                    .iter()
                    .map(|c| c.project.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

impl Lookups {
    /// The project `name`; not found names the nearest one and the known ones, and how to
    /// create it.
    pub async fn project(&self, name: &str) -> Result<ProjectRow> {
        if let Some(project) = self.store.project(name).await? {
            return Ok(project);
        }
        let known = self.store.project_names().await?;
        Err(Error::not_found(format!(
            "project '{name}' not found{}; a new project is created with `wharf apply wharf.toml`",
            crate::validate::suggestions(name, &known)
        )))
    }
}

impl Lookups {
    pub async fn environment_by_id(&self, id: &str) -> Result<EnvironmentRow> {
        self.store
            .environment_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("environment id '{id}' not found")))
    }
}

impl Lookups {
    pub async fn rule(&self, id: &str) -> Result<RuleRow> {
        self.store
            .rule(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("routing rule '{id}' not found")))
    }
}

impl Lookups {
    pub async fn workflow(&self, id: &str) -> Result<WorkflowRow> {
        self.store
            .workflow(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("workflow '{id}' not found")))
    }
}

impl Lookups {
    /// A stage's bucket: the stage must be a bucket of the project.
    pub(super) async fn stage_bucket(
        &self,
        project: &str,
        kind: RegistrationType,
        name: &str,
    ) -> Result<Bucket> {
        self.require_bucket(project, kind, name)
            .await
            .map_err(|e| Error::bad_request(format!("stage {e}")))
    }
}

#[cfg(test)]
mod what_deploys_tests {
    use super::what_deploys;
    use wharf_api::RegistrationType::{Environment, ReleaseStream};

    #[test]
    fn the_newer_of_own_and_stream_wins_and_a_tie_keeps_the_own() {
        let newer = |a: &u32, b: &u32| a > b;
        assert_eq!(
            what_deploys(Some(1), Some(2), newer),
            Some((2, ReleaseStream))
        );
        assert_eq!(
            what_deploys(Some(3), Some(2), newer),
            Some((3, Environment))
        );
        assert_eq!(
            what_deploys(Some(2), Some(2), newer),
            Some((2, Environment))
        );
        assert_eq!(what_deploys(None, Some(2), newer), Some((2, ReleaseStream)));
        assert_eq!(what_deploys(Some(1), None, newer), Some((1, Environment)));
        assert_eq!(what_deploys::<u32>(None, None, newer), None);
    }
}
