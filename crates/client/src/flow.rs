//! The whole register flow every front end runs: push first when asked, check the route when
//! required ([`preview`]), register ([`register`], which finds the stored build when a Facets
//! control plane answers an empty 200), and describe the result as an [`Outcome`], saying what
//! happened to an unrouted build.

use crate::client::{BuildQuery, Client, Placement};
use crate::error::{Error, Result};
use crate::push::{PushRequest, Pushed, push};
use crate::settings::Plan;
use serde::Serialize;
use std::collections::BTreeMap;
use wharf_api::{ArtifactRegisterType, RegistrationType, SaasArtifactRequest};
use wharf_ci::EnvMap;

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
    /// The environment's id when its name could not be read (a Facets control plane keys
    /// environment buckets by id); see `warnings`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routed_to_id: Option<String>,
    pub rule_name: Option<String>,
    pub control_plane: String,
    /// How the build was addressed: `GIT_REF`, `ENVIRONMENT` or `RELEASE_STREAM`, and the value.
    pub registered_by: ArtifactRegisterType,
    pub registered_value: String,
    /// True when the control plane already had this build and wrote nothing.
    pub replayed: bool,
    /// What could not be learned after the registration was made: the step still succeeds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `docker_image` or `freestyle` (an uploaded file), as the control plane stored it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<wharf_api::ArtifactType>,
    /// An uploaded file: its download URI, digest, name and size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<wharf_api::OverrideFile>,
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
    /// `server`: `wharf serve` answered, by the code that registers; `client`: a Facets
    /// control plane has no preview, so wharf predicted it (with a warning).
    pub predicted_by: &'static str,
    pub sources: BTreeMap<&'static str, String>,
    pub warnings: Vec<String>,
    /// wharf's one line of it, for a log or a build description.
    pub summary: String,
}

/// Sends the registration and reads back where the build went. Once the control plane has
/// taken the registration, nothing that fails to be read back fails the step: the outcome says
/// the build was registered and `warnings` names what could not be learned.
/// `require_route` asks `wharf serve` to refuse an unrouted build without storing it.
pub async fn register(
    client: &Client,
    plan: &Plan,
    control_plane: &str,
    require_route: bool,
) -> Result<Outcome> {
    let request = &plan.request;
    let answer = match &plan.file {
        Some(file) => {
            client
                .upload(&upload_request(plan, require_route), file)
                .await?
        }
        None => client.register(request, require_route).await?,
    };
    let mut warnings = Vec::new();
    if let Some(why) = answer.unreadable {
        warnings.push(format!("the build was registered, but {why}"));
    }
    let artifact = match answer.artifact {
        Some(artifact) => Some(artifact),
        // A Facets control plane answers an empty 200: find the build in the CI's list.
        None => match find_registered(client, plan).await {
            Ok(found) => found,
            Err(e) => {
                warnings.push(format!(
                    "the build was registered, but reading it back from the CI's builds failed: {e}"
                ));
                None
            }
        },
    };
    if artifact.is_none() && warnings.is_empty() {
        warnings.push("the build was registered, but it is not in the CI's builds yet".into());
    }
    // What the control plane itself warns of (a path into a protected stage a tag cannot take).
    warnings.extend(artifact.iter().flat_map(|a| a.warnings.iter().cloned()));
    let placement = match &artifact {
        Some(a) => {
            client
                .placement(
                    a.classified,
                    a.registration_type,
                    a.registration_value.as_deref().or(a.cluster_id.as_deref()),
                    a.routed_to(),
                )
                .await
        }
        None => Placement::default(),
    };
    warnings.extend(placement.unreadable);
    Ok(Outcome {
        artifact_id: artifact.as_ref().map(|a| a.id.clone()),
        ci_name: plan.ci_name().to_string(),
        project: request.blueprint_name.clone(),
        artifact_uri: artifact
            .as_ref()
            .and_then(|a| a.artifact_uri.clone())
            .unwrap_or_else(|| request.artifact_uri.clone()),
        artifact_type: artifact.as_ref().and_then(|a| a.artifact_type),
        file: artifact.as_ref().and_then(|a| a.file.clone()),
        external_id: request.external_id.clone(),
        registration_type: artifact.as_ref().and_then(|a| a.registration_type),
        classified: artifact.as_ref().map(|a| a.classified),
        routed_to: placement.name,
        routed_to_id: placement.environment_id,
        rule_name: artifact.as_ref().and_then(|a| a.applied_rule_name.clone()),
        control_plane: control_plane.to_string(),
        registered_by: request.artifact_register_type,
        registered_value: request.artifact_register_value.clone(),
        replayed: answer.replayed,
        warnings,
    })
}

/// The `artifactRequest` part of an upload: the registration the plan resolved, less its
/// image (the control plane names the stored file).
fn upload_request(plan: &Plan, require_route: bool) -> wharf_api::UploadRequest {
    let request = &plan.request;
    wharf_api::UploadRequest {
        stack_name: Some(request.blueprint_name.clone()),
        application_name: request.application_name.clone(),
        ci_name: request.ci_name.clone(),
        artifact_register_type: Some(request.artifact_register_type.as_str().to_string()),
        artifact_register_value: Some(request.artifact_register_value.clone()),
        external_id: request.external_id.clone(),
        description: request.description.clone(),
        metadata: request.metadata.clone(),
        require_route: require_route.then_some(true),
        ..Default::default()
    }
}

/// The registered build in the CI's list (what a Facets control plane offers after its empty
/// 200), as an `Artifact`.
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
        registration_value: b.registration_value,
        applied_rule_name: b.applied_rule_name,
        ..Default::default()
    }))
}

/// Where a registration would land, writing nothing: `wharf serve` answers by the code that
/// registers (`POST /wharf/v1/register/preview`); a Facets control plane has no such call, so
/// wharf predicts it from the CI and the project's default rule, and says it is a prediction.
pub async fn preview(client: &Client, plan: &Plan, control_plane: &str) -> Result<Preview> {
    let mut preview = predict(client, plan, control_plane).await?;
    preview.summary = crate::markdown::preview_line(&preview);
    Ok(preview)
}

async fn predict(client: &Client, plan: &Plan, control_plane: &str) -> Result<Preview> {
    let request = &plan.request;
    let mut preview = Preview {
        dry_run: true,
        control_plane: control_plane.to_string(),
        request: request.clone(),
        ci_registration_type: None,
        predicted_route: None,
        predicted_rule: None,
        predicted_by: "server",
        sources: plan.sources.clone(),
        warnings: Vec::new(),
        summary: String::new(),
    };
    if client.is_wharf_serve().await {
        let routed = client.preview(request).await?;
        preview.ci_registration_type = Some(routed.registration_type);
        preview.predicted_route = routed.routed_to;
        preview.predicted_rule = routed.rule_name;
        preview.warnings.extend(routed.warnings);
        return Ok(preview);
    }
    let ci = client.ci(&request.blueprint_name, plan.ci_name()).await?;
    preview.ci_registration_type = ci.registration_type;
    preview.predicted_by = "client";
    preview.warnings.push(
        "this control plane has no registration preview: the route is wharf's prediction from \
         the project's default rule, and a CI integration with its own rule may route \
         elsewhere"
            .into(),
    );
    match (request.artifact_register_type, ci.registration_type) {
        (ArtifactRegisterType::GitRef, Some(kind)) => {
            let rules = client.rules(&request.blueprint_name, kind).await?;
            let metadata = request.metadata.clone().unwrap_or_default();
            if let Some(rule) = rules.iter().find(|r| r.default)
                && let Some(criterion) = wharf_api::classify(&rule.criteria, &metadata)
            {
                preview.predicted_route = Some(criterion.route_to.clone());
                preview.predicted_rule = Some(rule.rule_name.clone());
            }
        }
        _ => preview.predicted_route = Some(request.artifact_register_value.clone()),
    }
    Ok(preview)
}

/// How a push copies, as the front end was told.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub tag: Option<String>,
    pub platform: Option<String>,
    pub concurrency: usize,
    /// What that refers to the image is copied with it (`--referrers`).
    pub referrers: wharf_oci::ReferrerFilter,
    pub transport: wharf_oci::Transport,
    pub progress: Option<wharf_oci::SharedProgress>,
    pub layer_compression: wharf_oci::LayerCompression,
}

/// A finished register step.
#[derive(Debug, Clone)]
pub struct Registered {
    pub outcome: Outcome,
    pub pushed: Option<Pushed>,
    /// Set when the build matched no rule and is kept unclassified.
    pub unrouted_warning: Option<String>,
}

/// Pushes (when `push` is given), then registers what was pushed, pinned by digest.
pub async fn register_image(
    client: &Client,
    mut plan: Plan,
    control_plane: &str,
    push_request: Option<PushRequest>,
    require_route: bool,
) -> Result<Registered> {
    let pushed = match push_request {
        Some(request) => {
            let pushed = push(client, &request).await?;
            plan.request.artifact_uri = pushed.pushed_uri.clone();
            plan.request.tag = Some(pushed.tag.clone());
            Some(pushed)
        }
        None => None,
    };
    plan.request.provenance = provenance_statement(&plan);
    // `wharf serve` refuses an unrouted build itself, storing nothing; against a Facets
    // control plane wharf can only predict the route before it registers.
    let server_checks = require_route && client.is_wharf_serve().await;
    if require_route && !server_checks {
        refuse_if_unrouted(client, &plan, control_plane).await?;
    }
    let outcome = register(client, &plan, control_plane, server_checks).await?;
    let mut unrouted_warning = None;
    if outcome.classified == Some(false) {
        if require_route {
            return Err(Error::NotRouted(unrouted_message(&outcome, false)));
        }
        unrouted_warning = Some(unrouted_message(&outcome, true));
    }
    Ok(Registered {
        outcome,
        pushed,
        unrouted_warning,
    })
}

/// The statement sent with the registration: the run's provenance about the image, when the
/// image is named by digest (after a push it always is); none outside CI.
fn provenance_statement(plan: &Plan) -> Option<serde_json::Value> {
    let source = plan.provenance.as_ref()?;
    let image: wharf_oci::ImageReference = plan.request.artifact_uri.parse().ok()?;
    let digest = image.digest.as_ref()?.to_string();
    let name = format!("{}/{}", image.registry, image.repository);
    Some(source.statement(&name, &digest))
}

/// The push that copies the plan's image into the control plane's registry. Source credentials come from `WHARF_SOURCE_USERNAME`/`_PASSWORD`, else from the
/// Docker `config.json`.
pub fn push_request(plan: &Plan, options: PushOptions, env: &EnvMap) -> PushRequest {
    let source_credentials = match (
        env.get("WHARF_SOURCE_USERNAME"),
        env.get("WHARF_SOURCE_PASSWORD"),
    ) {
        (Some(username), Some(password)) => Some(wharf_oci::Credentials {
            username: username.clone(),
            password: password.clone(),
        }),
        _ => None,
    };
    PushRequest {
        project: plan.request.blueprint_name.clone(),
        ci_name: plan.ci_name().to_string(),
        source: plan.request.artifact_uri.clone(),
        tag: options.tag,
        artifactory: plan.request.artifactory.clone(),
        platform: options.platform,
        concurrency: options.concurrency,
        referrers: options.referrers,
        transport: options.transport,
        progress: options.progress,
        layer_compression: options.layer_compression,
        source_credentials,
        docker_host: env.get("DOCKER_HOST").cloned(),
        docker_config: wharf_oci::docker_config::config_path(
            env.get("DOCKER_CONFIG").map(String::as_str),
            env.get("HOME").map(String::as_str),
        ),
    }
}

/// With `--require-route`, checks the rules before writing, so an unroutable build is refused
/// without being stored.
async fn refuse_if_unrouted(client: &Client, plan: &Plan, control_plane: &str) -> Result<()> {
    let preview = preview(client, plan, control_plane).await?;
    if preview.predicted_route.is_some() {
        return Ok(());
    }
    Err(Error::NotRouted(format!(
        "{} '{}' matches no routing rule of project '{}', and --require-route was given; \
         nothing was registered. Add a rule, or register with --environment",
        plan.request.artifact_register_type.as_str(),
        plan.request.artifact_register_value,
        plan.request.blueprint_name
    )))
}

pub fn unrouted_message(outcome: &Outcome, suggest_require_route: bool) -> String {
    let hint = if suggest_require_route {
        "; pass --require-route to fail instead"
    } else {
        ""
    };
    format!(
        "build {} of {} matched no routing rule for {} '{}'; it is kept unclassified and will \
         not deploy until a rule routes it (add a rule and reclassify, or register with \
         --environment){hint}",
        outcome.artifact_id.as_deref().unwrap_or("?"),
        outcome.ci_name,
        outcome.registered_by.as_str(),
        outcome.registered_value
    )
}
