//! The whole register step every front end runs: push first when asked, check the route when
//! required, register, and say what happened to an unrouted build.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::push::{PushRequest, Pushed, push};
use crate::settings::Plan;
use crate::{Outcome, preview, register};
use wharf_ci::EnvMap;

/// How a push copies, as the front end was told.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub tag: Option<String>,
    pub platform: Option<String>,
    pub concurrency: usize,
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
    if require_route {
        refuse_if_unrouted(client, &plan, control_plane).await?;
    }
    let outcome = register(client, &plan, control_plane).await?;
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
