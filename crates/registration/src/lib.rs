//! The shared client side of wharf: settings, the control-plane client, and the register flow.
//!
//! This crate owns turning flags, `WHARF_*` variables and the detected CI context into a
//! [`Plan`] (exactly what will be sent), sending it with retries that never duplicate a write,
//! and describing the result as an [`Outcome`] every front end prints the same way. It never
//! starts a control plane (the CLI does that for the embedded default) and never prints: front
//! ends decide how results look.

mod client;
mod error;
mod flow;
mod promote;
mod push;
mod secret;
mod settings;

pub use client::{BuildQuery, Client, Replay, RetryPolicy};
pub use error::{Error, Result, exit};
pub use flow::{PushOptions, Registered, push_request, register_image, unrouted_message};
pub use promote::{PromoteTarget, Promoted, promote};
pub use push::{PushRequest, Pushed, push};
pub use secret::Secret;
pub use settings::{
    Endpoint, Plan, RegisterFlags, WharfEnv, credentials, resolve, resolve_endpoint,
};

use serde::Serialize;
use std::collections::BTreeMap;
use wharf_api::{ArtifactRegisterType, RegistrationType, SaasArtifactRequest};

/// The result of a registration, as `--output json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub artifact_id: Option<String>,
    pub ci_name: String,
    pub project: String,
    pub artifact_uri: String,
    pub external_id: Option<String>,
    pub registration_type: Option<RegistrationType>,
    pub classified: Option<bool>,
    pub routed_to: Option<String>,
    pub rule_name: Option<String>,
    pub control_plane: String,
    /// How the build was addressed: `GIT_REF`, `ENVIRONMENT` or `RELEASE_STREAM`, and the value.
    pub registered_by: ArtifactRegisterType,
    pub registered_value: String,
    /// True when the control plane already had this build and wrote nothing.
    pub replayed: bool,
}

/// What `--dry-run` prints: the request that would be sent and where it would probably land.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub dry_run: bool,
    pub control_plane: String,
    pub request: SaasArtifactRequest,
    pub ci_registration_type: Option<RegistrationType>,
    pub predicted_route: Option<String>,
    pub predicted_rule: Option<String>,
    pub sources: BTreeMap<&'static str, String>,
}

/// Sends the registration and reads back where the build went.
pub async fn register(client: &Client, plan: &Plan, control_plane: &str) -> Result<Outcome> {
    let request = &plan.request;
    let (answer, replayed) = client.register(request).await?;
    let artifact = match answer {
        Some(artifact) => Some(artifact),
        // A Facets control plane answers an empty 200: find the build in the CI's list.
        None => find_registered(client, plan).await?,
    };
    let routed_to = artifact.as_ref().and_then(|a| {
        a.classified
            .then(|| a.cluster_name.clone().or_else(|| a.release_stream.clone()))
            .flatten()
    });
    Ok(Outcome {
        artifact_id: artifact.as_ref().map(|a| a.id.clone()),
        ci_name: plan.ci_name().to_string(),
        project: request.blueprint_name.clone(),
        artifact_uri: request.artifact_uri.clone(),
        external_id: request.external_id.clone(),
        registration_type: artifact.as_ref().and_then(|a| a.registration_type),
        classified: artifact.as_ref().map(|a| a.classified),
        routed_to,
        rule_name: artifact.as_ref().and_then(|a| a.applied_rule_name.clone()),
        control_plane: control_plane.to_string(),
        registered_by: request.artifact_register_type,
        registered_value: request.artifact_register_value.clone(),
        replayed,
    })
}

async fn find_registered(client: &Client, plan: &Plan) -> Result<Option<wharf_api::Artifact>> {
    let query = BuildQuery {
        external_id: plan.request.external_id.clone(),
        limit: 50,
        ..Default::default()
    };
    let builds = client
        .builds(&plan.request.blueprint_name, plan.ci_name(), &query)
        .await?;
    let found = builds.into_iter().find(|b| {
        b.artifact_uri.as_deref() == Some(&plan.request.artifact_uri)
            && (plan.request.external_id.is_none() || b.external_id == plan.request.external_id)
    });
    Ok(found.map(|b| wharf_api::Artifact {
        id: b.artifact_id,
        classified: b.classified,
        registration_type: b.registration_type,
        release_stream: b.routed_to.clone(),
        applied_rule_name: b.applied_rule_name,
        ..Default::default()
    }))
}

/// Resolves everything a registration would do with read-only calls: the CI integration, and
/// (for a git ref) the project's default rule, classified here without writing anything.
pub async fn preview(client: &Client, plan: &Plan, control_plane: &str) -> Result<Preview> {
    let request = &plan.request;
    let ci = client.ci(&request.blueprint_name, plan.ci_name()).await?;
    let mut predicted_route = None;
    let mut predicted_rule = None;
    match (request.artifact_register_type, ci.registration_type) {
        (ArtifactRegisterType::GitRef, Some(kind)) => {
            let rules = client.rules(&request.blueprint_name, kind).await?;
            let metadata = request.metadata.clone().unwrap_or_default();
            if let Some(rule) = rules.iter().find(|r| r.default)
                && let Some(criterion) = wharf_api::classify(&rule.criteria, &metadata)
            {
                predicted_route = Some(criterion.route_to.clone());
                predicted_rule = Some(rule.rule_name.clone());
            }
        }
        _ => predicted_route = Some(request.artifact_register_value.clone()),
    }
    Ok(Preview {
        dry_run: true,
        control_plane: control_plane.to_string(),
        request: request.clone(),
        ci_registration_type: ci.registration_type,
        predicted_route,
        predicted_rule,
        sources: plan.sources.clone(),
    })
}
