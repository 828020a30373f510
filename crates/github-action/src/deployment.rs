//! A GitHub deployment for the environment the build was routed to, and its status, through
//! octocrab. The base URL is the runner's `GITHUB_API_URL` (GitHub Enterprise included) or
//! the `github-api-url` input.

use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::json;
use wharf_client::{Error, Outcome, Result, Secret};

pub struct DeploymentRequest<'a> {
    pub api_url: &'a str,
    pub token: &'a Secret,
    /// `owner/repo`.
    pub repository: &'a str,
    /// The commit deployed.
    pub sha: &'a str,
    pub environment: &'a str,
    pub outcome: &'a Outcome,
    pub run_url: Option<&'a str>,
    /// `success`, or `pending` while a promotion into the environment waits for approvals.
    pub state: &'a str,
    /// The status's description; none: "<project>/<ci> registered with wharf".
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Deployment {
    pub id: u64,
    pub url: String,
}

/// Creates the deployment, then gives it its status: `success` once the control plane has
/// the build there (what happens next is the control plane's to report), `pending` while a
/// promotion into it waits for approvals.
pub async fn create(request: &DeploymentRequest<'_>) -> Result<Deployment> {
    let github = Octocrab::builder()
        .base_uri(request.api_url)
        .map_err(|_| Error::Usage(format!("github-api-url '{}' is not a URL", request.api_url)))?
        .personal_token(request.token.expose().to_string())
        .build()
        .map_err(|e| Error::Internal(format!("GitHub client: {e}")))?;
    let outcome = request.outcome;
    let description = request.description.clone().unwrap_or_else(|| {
        format!(
            "{}/{} registered with wharf",
            outcome.project, outcome.ci_name
        )
    });
    let deployment: Deployment = github
        .post(
            format!("/repos/{}/deployments", request.repository),
            Some(&json!({
                "ref": request.sha,
                "environment": request.environment,
                "description": description,
                // The build is registered already; GitHub must not merge or wait for checks.
                "auto_merge": false,
                "required_contexts": [],
                "payload": {
                    "artifactId": outcome.artifact_id,
                    "image": outcome.artifact_uri,
                    "project": outcome.project,
                    "ciName": outcome.ci_name,
                    "controlPlane": outcome.control_plane,
                },
            })),
        )
        .await
        .map_err(|e| github_error("creating the deployment", e))?;
    let _: serde_json::Value = github
        .post(
            format!(
                "/repos/{}/deployments/{}/statuses",
                request.repository, deployment.id
            ),
            Some(&json!({
                "state": request.state,
                "environment": request.environment,
                "description": description,
                "log_url": request.run_url,
                "auto_inactive": true,
            })),
        )
        .await
        .map_err(|e| github_error("setting the deployment's status", e))?;
    Ok(deployment)
}

fn github_error(doing: &str, error: octocrab::Error) -> Error {
    match &error {
        octocrab::Error::GitHub { source, .. } => {
            let status = source.status_code.as_u16();
            let message = format!(
                "GitHub refused {doing} ({status}: {}); the build is registered, re-run to retry \
                 (registration is idempotent)",
                source.message
            );
            match status {
                401 | 403 => Error::Auth(format!(
                    "{message}. The github-token needs 'deployments: write' permission"
                )),
                404 => Error::NotFound(message),
                _ => Error::Rejected(message),
            }
        }
        _ => Error::Unavailable(format!(
            "GitHub could not be reached while {doing}: {error}; the build is registered, \
             re-run to retry"
        )),
    }
}
