//! `wharf promote`: move a build up its workflow, one stage or up to a named stage.

use crate::client::{BuildQuery, Client, PromoteAnswer};
use crate::error::{Error, Result};
use serde::Serialize;
use wharf_api::{Artifact, PromotionRequest};

/// Which build to promote.
#[derive(Debug, Clone)]
pub enum PromoteTarget {
    ArtifactId(String),
    /// The newest build with this external id (the furthest its run has been promoted).
    ExternalId(String),
}

/// The result, as `--output json` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Promoted {
    pub project: String,
    pub ci_name: String,
    pub artifact_id: String,
    pub artifact_uri: Option<String>,
    pub external_id: Option<String>,
    pub from: Option<String>,
    pub routed_to: Option<String>,
    /// Every stage passed through, in order (one per promotion made or found).
    pub steps: Vec<String>,
    /// True when nothing new was written (already promoted, or already at `--to`).
    pub replayed: bool,
    pub control_plane: String,
    /// The stage ahead is protected: the request waiting for approvals (its id is
    /// `requestId`), and the walk stopped there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<PromotionRequest>,
}

/// The stage a promoted build sits at, by name (an environment's id when its name cannot be
/// read).
async fn stage_of(client: &Client, artifact: &Artifact) -> Option<String> {
    let placement = client
        .placement(
            artifact.classified,
            artifact.registration_type,
            artifact
                .registration_value
                .as_deref()
                .or(artifact.cluster_id.as_deref()),
            artifact.routed_to(),
        )
        .await;
    placement.name.or(placement.environment_id)
}

/// Most stages a `--to` walk may take; workflows are short, so more means a loop.
const MAX_STEPS: usize = 32;

pub async fn promote(
    client: &Client,
    project: &str,
    ci_name: &str,
    target: &PromoteTarget,
    to: Option<&str>,
    control_plane: &str,
) -> Result<Promoted> {
    let (mut current_id, from) = match target {
        PromoteTarget::ArtifactId(id) => (id.clone(), None),
        PromoteTarget::ExternalId(external_id) => {
            let query = BuildQuery {
                external_id: Some(external_id.clone()),
                limit: 1,
                ..Default::default()
            };
            let newest = client.builds(project, ci_name, &query).await?.into_iter().next().ok_or_else(|| {
                Error::NotFound(format!("no build of '{ci_name}' in project '{project}' has external id '{external_id}'"))
            })?;
            (newest.artifact_id, newest.routed_to)
        }
    };
    if let (Some(to), Some(from)) = (to, &from)
        && to == from
    {
        return Ok(Promoted {
            project: project.into(),
            ci_name: ci_name.into(),
            artifact_id: current_id,
            artifact_uri: None,
            external_id: None,
            from: Some(from.clone()),
            routed_to: Some(from.clone()),
            steps: Vec::new(),
            replayed: true,
            control_plane: control_plane.into(),
            pending: None,
        });
    }
    let mut steps = Vec::new();
    let mut all_replayed = true;
    loop {
        let answer = client
            .promote(project, ci_name, &current_id)
            .await
            .map_err(|e| match (e, to) {
                (Error::Rejected(message), Some(to)) if message.contains("last stage") => {
                    Error::Rejected(format!(
                        "{message}; stage '{to}' is not ahead of it in the workflow"
                    ))
                }
                (e, _) => e,
            })?;
        let (artifact, replayed) = match answer {
            PromoteAnswer::Placed(artifact, replayed) => (*artifact, replayed),
            PromoteAnswer::Pending(request) => {
                return Ok(Promoted {
                    project: project.into(),
                    ci_name: ci_name.into(),
                    artifact_id: current_id,
                    artifact_uri: Some(request.artifact_uri.clone()),
                    external_id: None,
                    from,
                    routed_to: steps.last().cloned().filter(|s: &String| !s.is_empty()),
                    steps,
                    replayed: false,
                    control_plane: control_plane.into(),
                    pending: Some(*request),
                });
            }
        };
        all_replayed &= replayed;
        let stage = stage_of(client, &artifact).await;
        steps.push(stage.clone().unwrap_or_default());
        current_id = artifact.id.clone();
        let arrived = match to {
            None => true,
            Some(to) => stage.as_deref() == Some(to),
        };
        if arrived || steps.len() >= MAX_STEPS {
            return Ok(Promoted {
                project: project.into(),
                ci_name: ci_name.into(),
                artifact_id: artifact.id,
                artifact_uri: artifact.artifact_uri,
                external_id: artifact.build_id,
                from,
                routed_to: stage,
                steps,
                replayed: all_replayed,
                control_plane: control_plane.into(),
                pending: None,
            });
        }
    }
}
