//! Registering a build: pick its bucket (explicitly, or by the project's routing rule), then
//! store it once per (CI integration, external id).

use crate::error::{Error, Result, require};
use crate::routing::classify;
use crate::store::{ArtifactRow, BucketFields, CiRow, RuleRow, Store, new_id, now};
use crate::views::artifact_view;
use wharf_api::{
    Artifact, ArtifactRegisterType, BRANCH_NAME, Criterion, Metadata, RegistrationType,
};

/// Where the caller asked the build to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Route by the project's rule, with `BRANCH_NAME` set to this ref.
    GitRef(String),
    /// Route by the project's rule over the given metadata only (the older `/artifacts/push`).
    Metadata,
    Environment(String),
    ReleaseStream(String),
}

/// One registration, whichever endpoint it arrived on.
#[derive(Debug, Clone)]
pub struct Registration {
    pub project: String,
    pub ci_name: String,
    pub application_name: Option<String>,
    pub artifact_uri: String,
    pub artifactory: Option<String>,
    pub target: Target,
    pub external_id: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub repository_name: Option<String>,
    pub tag: Option<String>,
}

/// The stored build and whether it already existed (an idempotent replay).
#[derive(Debug, Clone)]
pub struct Registered {
    pub artifact: Artifact,
    pub replayed: bool,
}

pub async fn register(store: &Store, mut request: Registration, user: &str) -> Result<Registered> {
    let project = require("blueprintName", Some(&request.project))?;
    let ci_name = require("ciName", Some(&request.ci_name))?;
    let artifact_uri = require("artifactUri", Some(&request.artifact_uri))?;
    let Some((ci, rule)) = store.ci_with_rule(&project, &ci_name).await? else {
        store.project(&project).await?;
        return Err(Error::not_found(format!(
            "CI integration '{ci_name}' not found in project '{project}'; add it under [[ci]] \
             in wharf.toml and run `wharf apply`, or POST /cc-ui/v1/artifacts-ci"
        )));
    };
    if let Target::GitRef(git_ref) = &request.target {
        request
            .metadata
            .insert(BRANCH_NAME.to_string(), git_ref.clone());
    }
    let bucket = choose_bucket(store, &ci, rule.as_ref(), &request).await?;
    let (register_type, register_value) = describe_target(&request);
    let row = ArtifactRow {
        id: new_id(),
        ci_id: ci.id.clone(),
        project,
        application_name: request.application_name.clone().unwrap_or(ci_name),
        artifact_uri,
        artifactory: request
            .artifactory
            .clone()
            .unwrap_or_else(|| "default".into()),
        external_id: request
            .external_id
            .clone()
            .filter(|id| !id.trim().is_empty()),
        description: request.description.clone(),
        metadata: serde_json::to_string(&request.metadata).unwrap_or_else(|_| "{}".into()),
        register_type: register_type.as_str().to_string(),
        register_value,
        registration_type: ci.registration_type.clone(),
        cluster_id: bucket.cluster_id.clone(),
        cluster_name: bucket.cluster_name.clone(),
        release_stream: bucket.release_stream.clone(),
        classified: bucket.classified,
        applied_rule_id: bucket.applied_rule_id.clone(),
        applied_rule_name: bucket.applied_rule_name.clone(),
        promoted: false,
        origin: "register".into(),
        repository_name: request.repository_name.clone(),
        tag: request.tag.clone(),
        created_by: user.to_string(),
        created_at: now(),
        promoted_from: None,
    };
    store_once(store, row, &ci).await
}

/// Inserts the build unless this CI already registered its external id: the same image is a
/// replay, a different image a conflict.
async fn store_once(store: &Store, row: ArtifactRow, ci: &CiRow) -> Result<Registered> {
    if store.insert_registration(&row).await? {
        return Ok(Registered {
            artifact: artifact_view(&row, &ci.name),
            replayed: false,
        });
    }
    let external_id = row.external_id.as_deref().unwrap_or_default();
    let existing = store
        .registration(&ci.id, external_id)
        .await?
        .ok_or_else(|| Error::Internal("a conflicting registration vanished".into()))?;
    if existing.artifact_uri == row.artifact_uri {
        return Ok(Registered {
            artifact: artifact_view(&existing, &ci.name),
            replayed: true,
        });
    }
    Err(Error::conflict(format!(
        "external id '{external_id}' of CI integration '{}' is already registered with image \
         '{}'; this request names image '{}'. Register the new image under a new external id \
         (for a re-built run, include the attempt number)",
        ci.name, existing.artifact_uri, row.artifact_uri
    )))
}

fn describe_target(request: &Registration) -> (ArtifactRegisterType, String) {
    match &request.target {
        Target::GitRef(r) => (ArtifactRegisterType::GitRef, r.clone()),
        Target::Metadata => (
            ArtifactRegisterType::GitRef,
            request
                .metadata
                .get(BRANCH_NAME)
                .cloned()
                .unwrap_or_default(),
        ),
        Target::Environment(e) => (ArtifactRegisterType::Environment, e.clone()),
        Target::ReleaseStream(s) => (ArtifactRegisterType::ReleaseStream, s.clone()),
    }
}

async fn choose_bucket(
    store: &Store,
    ci: &CiRow,
    rule: Option<&RuleRow>,
    request: &Registration,
) -> Result<BucketFields> {
    let ci_type = parse_type(&ci.registration_type);
    match &request.target {
        Target::GitRef(_) | Target::Metadata => {
            bucket_by_rule(store, ci, rule, &request.metadata).await
        }
        Target::Environment(name) => {
            let env = store.environment(&ci.project, name).await?.ok_or_else(|| {
                Error::not_found(format!(
                    "environment '{name}' not found in project '{}'",
                    ci.project
                ))
            })?;
            Ok(bucket_for_environment(
                ci_type,
                env.id,
                env.name,
                env.release_stream,
                None,
            ))
        }
        Target::ReleaseStream(name) => {
            if ci_type == RegistrationType::Environment {
                return Err(Error::bad_request(format!(
                    "CI integration '{}' keeps one bucket per environment; register it with an \
                     environment (--environment) or a git ref (--git-ref), not a release stream",
                    ci.name
                )));
            }
            if !store.stream_exists(&ci.project, name).await? {
                return Err(Error::not_found(format!(
                    "release stream '{name}' not found in project '{}'",
                    ci.project
                )));
            }
            Ok(BucketFields {
                classified: true,
                release_stream: Some(name.clone()),
                ..Default::default()
            })
        }
    }
}

/// An environment bucket, or its release stream's bucket when the CI is keyed by stream.
fn bucket_for_environment(
    ci_type: RegistrationType,
    id: String,
    name: String,
    stream: String,
    rule: Option<(String, String)>,
) -> BucketFields {
    let (applied_rule_id, applied_rule_name) = rule.unzip();
    if ci_type == RegistrationType::ReleaseStream {
        return BucketFields {
            classified: true,
            release_stream: Some(stream),
            applied_rule_id,
            applied_rule_name,
            ..Default::default()
        };
    }
    BucketFields {
        classified: true,
        cluster_id: Some(id),
        cluster_name: Some(name),
        release_stream: None,
        applied_rule_id,
        applied_rule_name,
    }
}

/// The bucket `rule` (the CI's rule, if it has one) picks for a build's metadata.
pub async fn bucket_by_rule(
    store: &Store,
    ci: &CiRow,
    rule: Option<&RuleRow>,
    metadata: &Metadata,
) -> Result<BucketFields> {
    let ci_type = parse_type(&ci.registration_type);
    let Some(rule) = rule else {
        return Ok(BucketFields::default());
    };
    let criteria: Vec<Criterion> = serde_json::from_str(&rule.criteria)
        .map_err(|e| Error::Internal(format!("stored rule {} is unreadable: {e}", rule.id)))?;
    let Some(matched) = classify(&criteria, metadata) else {
        return Ok(BucketFields::default());
    };
    let applied = Some((rule.id.clone(), rule.rule_name.clone()));
    if ci_type == RegistrationType::ReleaseStream {
        if store.stream_exists(&ci.project, &matched.route_to).await? {
            let (applied_rule_id, applied_rule_name) = applied.unzip();
            return Ok(BucketFields {
                classified: true,
                release_stream: Some(matched.route_to.clone()),
                applied_rule_id,
                applied_rule_name,
                ..Default::default()
            });
        }
    } else if let Some(env) = store.environment(&ci.project, &matched.route_to).await? {
        return Ok(bucket_for_environment(
            ci_type,
            env.id,
            env.name,
            env.release_stream,
            applied,
        ));
    }
    tracing::warn!(
        rule = %rule.rule_name,
        route_to = %matched.route_to,
        "rule routes to a bucket that does not exist; build kept unclassified"
    );
    Ok(BucketFields::default())
}

pub fn parse_type(text: &str) -> RegistrationType {
    RegistrationType::parse(text).unwrap_or(RegistrationType::Environment)
}
