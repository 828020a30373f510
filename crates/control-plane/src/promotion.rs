//! Promotion (register the build again at the next stage of its workflow), reclassification,
//! manual attach, and resolving `${blueprint.self.artifacts.<ciName>}` for an environment.

use crate::audit::Audit;
use crate::error::{Error, Result};
use crate::registration::{Registered, bucket_by_rule, parse_type};
use crate::store::{ArtifactRow, BucketFields, CiRow, Store, WorkflowRow, new_id, now};
use crate::views::{artifact_view, routed_to};
use wharf_api::{Metadata, RegistrationType, WorkflowHierarchy};

/// The workflow a CI integration promotes along: its own, the project's default, or none.
pub async fn workflow_of(store: &Store, ci: &CiRow) -> Result<Option<WorkflowRow>> {
    match ci.mode.as_str() {
        "CUSTOM" => match &ci.workflow_id {
            Some(id) => store.workflow(id).await,
            None => {
                store
                    .default_workflow(&ci.project, &ci.registration_type)
                    .await
            }
        },
        "NONE" => Ok(None),
        _ => {
            store
                .default_workflow(&ci.project, &ci.registration_type)
                .await
        }
    }
}

pub fn stages_of(workflow: &WorkflowRow) -> Vec<WorkflowHierarchy> {
    let mut stages: Vec<WorkflowHierarchy> =
        serde_json::from_str(&workflow.hierarchies).unwrap_or_default();
    stages.sort_by_key(|s| s.sequence);
    stages
}

fn ladder(stages: &[WorkflowHierarchy]) -> String {
    stages
        .iter()
        .map(|s| s.registration_value.as_str())
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Registers `artifact_id` again at the next stage. Refused, with the reason, when the CI has
/// no workflow, the build is unclassified or of another registration type, or it already sits
/// at the last stage. Promoting a build twice answers the first promotion.
pub async fn promote(
    store: &Store,
    ci: &CiRow,
    artifact_id: &str,
    user: &str,
) -> Result<Registered> {
    let source = store
        .artifact(artifact_id)
        .await?
        .filter(|a| a.ci_id == ci.id)
        .ok_or_else(|| {
            Error::not_found(format!(
                "build '{artifact_id}' not found in CI integration '{}'",
                ci.name
            ))
        })?;
    if let Some(done) = store.promotion_of(&source.id).await? {
        return Ok(Registered {
            artifact: artifact_view(&done, &ci.name),
            replayed: true,
        });
    }
    let workflow = workflow_of(store, ci).await?.ok_or_else(|| {
        Error::bad_request(format!(
            "CI integration '{}' has no promotion workflow: set [promotion] order in wharf.toml, \
             POST /cc-ui/v1/ci-cd, or give the CI its own workflow",
            ci.name
        ))
    })?;
    if workflow.registration_type != source.registration_type {
        return Err(Error::bad_request(format!(
            "workflow '{}' promotes {} buckets but build '{}' sits in a {} bucket",
            workflow.name, workflow.registration_type, source.id, source.registration_type
        )));
    }
    let current = routed_to(&source).ok_or_else(|| {
        Error::bad_request(format!(
            "build '{}' is unclassified, so it has no stage to promote from; reclassify it after \
             adding a rule, or register it with --environment",
            source.id
        ))
    })?;
    let stages = stages_of(&workflow);
    let position = stages
        .iter()
        .position(|s| s.registration_value == current)
        .ok_or_else(|| {
            Error::bad_request(format!(
                "build '{}' sits in '{current}', which is not a stage of workflow '{}' ({})",
                source.id,
                workflow.name,
                ladder(&stages)
            ))
        })?;
    let next = stages.get(position + 1).ok_or_else(|| {
        Error::bad_request(format!(
            "build '{}' already sits at '{current}', the last stage of workflow '{}' ({})",
            source.id,
            workflow.name,
            ladder(&stages)
        ))
    })?;
    let bucket = stage_bucket(
        store,
        &ci.project,
        parse_type(&workflow.registration_type),
        &next.registration_value,
    )
    .await?;
    let row = ArtifactRow {
        id: new_id(),
        register_type: workflow.registration_type.clone(),
        register_value: next.registration_value.clone(),
        classified: true,
        cluster_id: bucket.cluster_id.clone(),
        cluster_name: bucket.cluster_name.clone(),
        release_stream: bucket.release_stream.clone(),
        applied_rule_id: None,
        applied_rule_name: None,
        promoted: true,
        origin: "promote".into(),
        created_by: user.to_string(),
        created_at: now(),
        promoted_from: Some(source.id.clone()),
        ..source.clone()
    };
    let audit = Audit::new(user, "ARTIFACT", "ARTIFACT_PROMOTE")
        .target(&row.id)
        .stack(&ci.project)
        .cluster(row.cluster_id.as_deref(), row.cluster_name.as_deref())
        .meta("ciName", &ci.name)
        .meta("promotedFrom", &source.id)
        .meta("from", &current)
        .meta("to", &next.registration_value)
        .meta("artifactUri", &source.artifact_uri);
    match store.insert_promotion(&row, audit).await? {
        None => Ok(Registered {
            artifact: artifact_view(&row, &ci.name),
            replayed: false,
        }),
        Some(first) => Ok(Registered {
            artifact: artifact_view(&first, &ci.name),
            replayed: true,
        }),
    }
}

/// The bucket of a stage name: an environment's own, or a release stream's.
async fn stage_bucket(
    store: &Store,
    project: &str,
    kind: RegistrationType,
    name: &str,
) -> Result<BucketFields> {
    if kind == RegistrationType::ReleaseStream {
        if !store.stream_exists(project, name).await? {
            return Err(Error::bad_request(format!(
                "stage '{name}' is not a release stream of '{project}'"
            )));
        }
        return Ok(BucketFields {
            classified: true,
            release_stream: Some(name.to_string()),
            ..Default::default()
        });
    }
    let env = store.environment(project, name).await?.ok_or_else(|| {
        Error::bad_request(format!(
            "stage '{name}' is not an environment of '{project}'"
        ))
    })?;
    Ok(BucketFields {
        classified: true,
        cluster_id: Some(env.id),
        cluster_name: Some(env.name),
        ..Default::default()
    })
}

/// What a reclassification changed.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reclassified {
    pub ci_name: String,
    pub moved: Vec<wharf_api::Artifact>,
    pub unchanged: usize,
}

/// Re-runs the CI's current rule over every build a rule placed; moves those whose bucket
/// changed, one audit entry each, in one transaction.
pub async fn reclassify(
    store: &Store,
    project: &str,
    ci_name: &str,
    user: &str,
) -> Result<Reclassified> {
    let (ci, rule) = store.ci_with_rule(project, ci_name).await?.ok_or_else(|| {
        Error::not_found(format!(
            "CI integration '{ci_name}' not found in project '{project}'"
        ))
    })?;
    let builds = store.rule_routed_builds(&ci.id).await?;
    let mut moves = Vec::new();
    for build in &builds {
        let metadata: Metadata = serde_json::from_str(&build.metadata).unwrap_or_default();
        let to = bucket_by_rule(store, &ci, rule.as_ref(), &metadata).await?;
        if to != BucketFields::of(build) {
            moves.push((build.clone(), to));
        }
    }
    store.move_builds(&moves, user).await?;
    let moved = moves
        .into_iter()
        .map(|(row, to)| {
            let moved = ArtifactRow {
                classified: to.classified,
                cluster_id: to.cluster_id,
                cluster_name: to.cluster_name,
                release_stream: to.release_stream,
                applied_rule_id: to.applied_rule_id,
                applied_rule_name: to.applied_rule_name,
                ..row
            };
            artifact_view(&moved, &ci.name)
        })
        .collect::<Vec<_>>();
    Ok(Reclassified {
        ci_name: ci.name,
        unchanged: builds.len() - moved.len(),
        moved,
    })
}

/// `${blueprint.self.artifacts.<ciName>}` → the CI name.
pub fn parse_expression(expression: &str) -> Result<String> {
    expression
        .trim()
        .strip_prefix("${blueprint.self.artifacts.")
        .and_then(|rest| rest.strip_suffix('}'))
        .filter(|name| !name.is_empty() && !name.contains(['{', '}', '$']))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::bad_request(format!(
                "'{expression}' is not an artifact expression: use ${{blueprint.self.artifacts.<ciName>}}"
            ))
        })
}

pub use wharf_api::Resolved;

/// The newest build in the environment's bucket, else in its release stream's bucket, else an
/// error listing where the CI's builds are.
pub async fn resolve(
    store: &Store,
    project: &str,
    environment: &str,
    ci_name: &str,
) -> Result<Resolved> {
    let env = store
        .environment(project, environment)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "environment '{environment}' not found in project '{project}'"
            ))
        })?;
    let ci = store.ci(project, ci_name).await?.ok_or_else(|| {
        Error::not_found(format!(
            "CI integration '{ci_name}' not found in project '{project}'"
        ))
    })?;
    let expression = format!("${{blueprint.self.artifacts.{ci_name}}}");
    if let Some(found) = store.newest_in_cluster(&ci.id, &env.id).await? {
        return Ok(Resolved {
            expression,
            environment: env.name.clone(),
            resolved_from: "ENVIRONMENT".into(),
            bucket: env.name,
            artifact: artifact_view(&found, &ci.name),
        });
    }
    if let Some(found) = store.newest_in_stream(&ci.id, &env.release_stream).await? {
        return Ok(Resolved {
            expression,
            environment: env.name,
            resolved_from: "RELEASE_STREAM".into(),
            bucket: env.release_stream,
            artifact: artifact_view(&found, &ci.name),
        });
    }
    let buckets = store.buckets_of(&ci.id).await?;
    let listing = if buckets.is_empty() {
        "it has no classified builds at all".to_string()
    } else {
        let parts: Vec<_> = buckets
            .iter()
            .map(|(name, n)| format!("{name} ({n})"))
            .collect();
        format!("its builds sit in: {}", parts.join(", "))
    };
    Err(Error::not_found(format!(
        "{expression} has no build for environment '{}': neither its bucket nor release stream \
         '{}' holds one; {listing}",
        env.name, env.release_stream
    )))
}

/// A manual attach: pins an image to one environment (or stream) without touching the others.
pub struct Attach {
    pub project: String,
    pub ci_name: String,
    pub artifact_uri: String,
    pub artifactory: String,
    pub repository_name: Option<String>,
    pub tag: Option<String>,
    pub kind: RegistrationType,
    pub value: String,
}

pub async fn attach(store: &Store, request: Attach, user: &str) -> Result<wharf_api::Artifact> {
    let ci = store
        .ci(&request.project, &request.ci_name)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "CI integration '{}' not found in project '{}'",
                request.ci_name, request.project
            ))
        })?;
    let bucket = stage_bucket(store, &request.project, request.kind, &request.value).await?;
    let row = ArtifactRow {
        id: new_id(),
        ci_id: ci.id.clone(),
        project: request.project.clone(),
        application_name: ci.name.clone(),
        artifact_uri: request.artifact_uri,
        artifactory: request.artifactory,
        external_id: None,
        description: Some("attached by hand".into()),
        metadata: "{}".into(),
        register_type: request.kind.as_str().into(),
        register_value: request.value.clone(),
        registration_type: request.kind.as_str().into(),
        cluster_id: bucket.cluster_id.clone(),
        cluster_name: bucket.cluster_name.clone(),
        release_stream: bucket.release_stream.clone(),
        classified: true,
        applied_rule_id: None,
        applied_rule_name: None,
        promoted: false,
        origin: "attach".into(),
        repository_name: request.repository_name,
        tag: request.tag,
        created_by: user.to_string(),
        created_at: now(),
        promoted_from: None,
    };
    let audit = Audit::new(user, "ARTIFACT", "ARTIFACT_ATTACH")
        .target(&row.id)
        .stack(&row.project)
        .cluster(row.cluster_id.as_deref(), row.cluster_name.as_deref())
        .meta("ciName", &ci.name)
        .meta("artifactUri", &row.artifact_uri)
        .meta("to", &request.value);
    store.insert_attached(&row, audit).await?;
    Ok(artifact_view(&row, &ci.name))
}
