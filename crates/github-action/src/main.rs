//! `wharf-action`: the binary behind the GitHub Action (`action/action.yml`).
//!
//! It owns the Action's conversation with the runner: masking secrets, reading the inputs
//! (mapped to variables by `action.yml`), registering or pushing through
//! `wharf-client`, then writing the step outputs, the job summary and, when asked, a
//! GitHub deployment. Errors become `::error` annotations and wharf's exit codes.

mod deployment;
mod inputs;
mod workflow;

use inputs::Inputs;
use wharf_ci::{CiContext, EnvMap, RefFrom, SystemGit};
use wharf_client::no_credentials::{self, Missing};
use wharf_client::{
    self as registration, Client, Endpoint, Error, OptionNames, Registered, Result, RetryPolicy,
    WharfEnv, markdown,
};
use workflow::Files;

#[tokio::main]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        let commit = option_env!("WHARF_BUILD_COMMIT").unwrap_or("unknown");
        println!(
            "wharf-action {} (commit {commit})",
            env!("CARGO_PKG_VERSION")
        );
        return;
    }
    let env = wharf_ci::process_env();
    let files = Files::from_env(&env);
    mask_secrets(&env);
    let terms = inputs::option_names();
    let code = match run(&env, &files, &terms).await {
        Ok(()) => 0,
        Err(error) => {
            let message = terms.say(&error.to_string());
            let title = format!("wharf: {} (exit {})", error.kind(), error.exit_code());
            workflow::error(&title, &message);
            report_io(files.append_summary(&markdown::failed(
                error.kind(),
                error.exit_code(),
                &message,
            )));
            error.exit_code()
        }
    };
    std::process::exit(code);
}

/// Secrets are masked before anything else is printed.
fn mask_secrets(env: &EnvMap) {
    for name in ["WHARF_TOKEN", "WHARF_GITHUB_TOKEN", "WHARF_SOURCE_PASSWORD"] {
        if let Some(value) = inputs::text(env, name) {
            workflow::add_mask(&value);
        }
    }
}

async fn run(env: &EnvMap, files: &Files, terms: &OptionNames) -> Result<()> {
    let inputs = Inputs::from_env(env)?;
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Internal(format!("reading the working directory: {e}")))?;
    let ci = wharf_ci::detect(env, &SystemGit::new(cwd), RefFrom::Source);
    let wharf_env = WharfEnv::from_map(env)?;
    // No token and no keyless login: wharf decides whether this run skips.
    match no_credentials::decide(env, &wharf_env, None, &ci, inputs.skip_without_credentials)? {
        Some(Missing::Skip(warning)) => {
            let warning = terms.say(&warning);
            workflow::warning("wharf: skipped", &warning);
            report_io(files.append_summary(&markdown::skipped(&warning)));
            return Ok(());
        }
        Some(Missing::Fail(error)) => return Err(error),
        None => {}
    }
    let url = match registration::resolve_endpoint(None, &wharf_env, &ci)? {
        Endpoint::Remote(url) => url,
        Endpoint::Embedded => {
            return Err(Error::Usage(
                "the 'control-plane-url' input is empty: pass the control plane's https:// URL"
                    .into(),
            ));
        }
    };
    let (username, token) = registration::connect_credentials(
        &url,
        wharf_env.project.as_deref(),
        env,
        &wharf_env,
        None,
        &ci,
    )
    .await?;
    // A keyless login's token (or one read from a file) is new to GitHub: masked before
    // anything could print it. WHARF_TOKEN's was masked first thing.
    if inputs::text(env, "WHARF_TOKEN").as_deref() != Some(token.expose()) {
        workflow::add_mask(token.expose());
    }
    let client = Client::new(&url, &username, token, RetryPolicy::from_env(env))?;
    let plan = registration::resolve(&Default::default(), env, &wharf_env, &ci)?;
    let push = inputs.push.then(|| {
        let options = registration::PushOptions {
            tag: inputs.tag.clone(),
            platform: inputs.platform.clone(),
            concurrency: wharf_oci::DEFAULT_CONCURRENCY,
            referrers: Default::default(),
            transport: Default::default(),
            progress: None,
            layer_compression: Default::default(),
        };
        registration::push_request(&plan, options, env)
    });
    let registered =
        registration::register_image(&client, plan, &url, push, inputs.require_route).await?;
    for warning in &registered.outcome.warnings {
        workflow::warning("wharf: registered, with a gap", &terms.say(warning));
    }
    if let Some(warning) = &registered.unrouted_warning {
        workflow::warning("wharf: build unclassified", &terms.say(warning));
    }
    write_outputs(files, &registered);
    announce(&registered);
    let promoted = match &inputs.promote_to {
        Some(to) => Some(promote(&client, &registered, to, &url, files).await?),
        None => None,
    };
    let mut links = markdown::Links {
        run: ci.build_url.clone(),
        deployment: None,
    };
    let deployed = if inputs.deployment {
        let target = deployment_target(&registered, promoted.as_ref());
        deploy(&inputs, env, &ci, &registered, target).await
    } else {
        Ok(None)
    };
    if let Ok(Some(deployment)) = &deployed {
        links.deployment = Some(deployment.url.clone());
    }
    report_io(files.append_summary(&markdown::registered(
        &registered.outcome,
        registered.pushed.as_ref(),
        &links,
    )));
    deployed.map(|_| ())
}

fn write_outputs(files: &Files, registered: &Registered) {
    let outcome = &registered.outcome;
    let digest = registered
        .pushed
        .as_ref()
        .map(|p| p.digest.clone())
        .or_else(|| {
            let image = outcome.artifact_uri.parse::<wharf_oci::ImageReference>();
            image.ok()?.digest.map(|digest| digest.to_string())
        });
    let outputs = [
        (
            "artifact-id",
            outcome.artifact_id.clone().unwrap_or_default(),
        ),
        ("routed-to", outcome.routed_to.clone().unwrap_or_default()),
        (
            "classified",
            outcome.classified.unwrap_or(false).to_string(),
        ),
        ("image-uri", outcome.artifact_uri.clone()),
        ("digest", digest.unwrap_or_default()),
    ];
    report_io(files.set_outputs(&outputs));
}

/// wharf's one line for the log. The image, names and id come from the control plane: shown
/// with control characters escaped, so none can forge a workflow command or a terminal
/// sequence in the log.
fn announce(registered: &Registered) {
    let line = markdown::one_line(&registered.outcome);
    println!("{}", registration::printable(&format!("wharf: {line}")));
}

/// With `promote-to`: promotes the registered build up to `to`; a protected stage leaves a
/// pending request, which is reported, not failed.
async fn promote(
    client: &Client,
    registered: &Registered,
    to: &str,
    url: &str,
    files: &Files,
) -> Result<registration::Promoted> {
    let outcome = &registered.outcome;
    let id = outcome.artifact_id.clone().ok_or_else(|| {
        Error::Rejected(
            "the control plane answered no build id, so there is nothing to promote".into(),
        )
    })?;
    let target = registration::PromoteTarget::ArtifactId(id);
    let promoted = registration::promote(
        client,
        &outcome.project,
        &outcome.ci_name,
        &target,
        Some(to),
        url,
    )
    .await?;
    match &promoted.pending {
        Some(request) => {
            report_io(files.set_outputs(&[("promotion-request", request.request_id.clone())]));
            workflow::notice(
                "wharf: promotion waits for approval",
                &format!(
                    "promotion into {} waits for {} approval(s) from role {}: wharf approve {}",
                    request.stage,
                    request.required,
                    request.approvers.join(" or "),
                    request.request_id
                ),
            );
        }
        None => {
            let reached = promoted.routed_to.clone().unwrap_or_default();
            report_io(files.set_outputs(&[("promoted-to", reached.clone())]));
            workflow::notice("wharf: promoted", &format!("promoted to {reached}"));
        }
    }
    Ok(promoted)
}

/// Where the GitHub deployment goes, in which state, with which description.
struct DeploymentTarget {
    environment: Option<String>,
    state: &'static str,
    description: Option<String>,
}

fn deployment_target(
    registered: &Registered,
    promoted: Option<&registration::Promoted>,
) -> DeploymentTarget {
    match promoted {
        Some(promoted) => match &promoted.pending {
            Some(request) => DeploymentTarget {
                environment: Some(request.stage.clone()),
                state: "pending",
                description: Some(format!(
                    "waits for {} approval(s): wharf approve {}",
                    request.required, request.request_id
                )),
            },
            None => DeploymentTarget {
                environment: promoted.routed_to.clone(),
                state: "success",
                description: None,
            },
        },
        None => DeploymentTarget {
            environment: registered.outcome.routed_to.clone(),
            state: "success",
            description: None,
        },
    }
}

/// With `deployment: true`: a GitHub deployment for the routed (or promoted-to) environment.
async fn deploy(
    inputs: &Inputs,
    env: &EnvMap,
    ci: &CiContext,
    registered: &Registered,
    target: DeploymentTarget,
) -> Result<Option<deployment::Deployment>> {
    let Some(environment) = target.environment.as_deref() else {
        workflow::warning(
            "wharf: no deployment",
            "the build is unclassified, so there is no environment to create a GitHub \
             deployment for",
        );
        return Ok(None);
    };
    let token = inputs.github_token.as_ref().ok_or_else(|| {
        Error::Usage(
            "deployment is true but the 'github-token' input is empty: pass \
             github-token: ${{ github.token }} and grant 'deployments: write'"
                .into(),
        )
    })?;
    let repository = ci.repository.clone().ok_or_else(|| {
        Error::Usage("GITHUB_REPOSITORY is not set: deployments need a GitHub runner".into())
    })?;
    let sha = ci
        .head_sha
        .clone()
        .or_else(|| inputs::text(env, "GITHUB_SHA"))
        .ok_or_else(|| Error::Usage("GITHUB_SHA is not set: no commit to deploy".into()))?;
    let deployment = deployment::create(&deployment::DeploymentRequest {
        api_url: &inputs.github_api_url,
        token,
        repository: &repository,
        sha: &sha,
        environment,
        outcome: &registered.outcome,
        run_url: ci.build_url.as_deref(),
        state: target.state,
        description: target.description,
    })
    .await?;
    workflow::notice(
        "wharf: GitHub deployment",
        &format!(
            "deployment {} created for {environment} ({})",
            deployment.id, target.state
        ),
    );
    Ok(Some(deployment))
}

/// The runner's files are best effort: a failed write is reported, never fatal, because the
/// build is registered by then.
fn report_io(result: std::io::Result<()>) {
    if let Err(error) = result {
        workflow::warning("wharf: runner file", &format!("could not write: {error}"));
    }
}
