//! Keyless login: with no `WHARF_TOKEN` (or token file), when the CI offers an OIDC identity
//! token, get it and trade it with the control plane (`POST /wharf/v1/oidc/token`) for a
//! short-lived token on one project, then use that like `WHARF_TOKEN`.
//!
//! Where the identity token comes from: GitHub Actions asks `ACTIONS_ID_TOKEN_REQUEST_URL`
//! (bearer `ACTIONS_ID_TOKEN_REQUEST_TOKEN`) for one with the audience; GitLab's is in the
//! variable `WHARF_ID_TOKEN_VARIABLE` names (default `WHARF_ID_TOKEN`, declared under
//! `id_tokens:`); CircleCI's in `CIRCLE_OIDC_TOKEN_V2`; Buildkite's from
//! `buildkite-agent oidc request-token --audience`. The audience asked for is `wharf` unless
//! `WHARF_OIDC_AUDIENCE` says otherwise. Both tokens are [`Secret`]s: never logged, never in an
//! error.

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::WharfEnv;
use reqwest::StatusCode;
use std::path::Path;
use std::time::Duration;
use wharf_api::ErrorDetails;
use wharf_api::oidc::{OIDC_TOKEN_PATH, OidcTokenRequest, OidcTokenResponse};
use wharf_api::printable::printable;
use wharf_api::project_file::DEFAULT_AUDIENCE;
use wharf_ci::{CiContext, EnvMap, GITHUB_REQUEST_TOKEN, IdentitySource};
use wharf_http::{Attempt, RetryPolicy, describe_transport, encode, retry_after};

/// How long `buildkite-agent oidc request-token` may take.
const AGENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The audience wharf asks GitHub and Buildkite for.
pub fn audience(env: &EnvMap) -> String {
    env.get("WHARF_OIDC_AUDIENCE")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_AUDIENCE)
        .to_string()
}

/// Whether a token or token file was given (then keyless login is not tried).
pub(crate) fn has_token(env: &WharfEnv, token_file: Option<&Path>) -> bool {
    token_file.is_some() || env.token_file.is_some() || env.token.is_some()
}

/// `WHARF_KEYLESS`: `auto` (the default) logs in keyless whenever the CI offers an identity
/// token and no token is given; `off` never does (the Buildkite plugin's default, where every
/// agent can be asked for one).
pub const KEYLESS: &str = "WHARF_KEYLESS";

/// The CI's identity token to log in keyless with, unless `WHARF_KEYLESS=off`.
fn keyless_source(
    env_map: &EnvMap,
    ci: &CiContext,
) -> Result<Option<std::result::Result<IdentitySource, String>>> {
    match env_map.get(KEYLESS).map(|v| v.trim()).unwrap_or("") {
        "" | "auto" => Ok(wharf_ci::identity_source(env_map, ci.provider)),
        "off" => Ok(None),
        other => Err(Error::Usage(format!(
            "{KEYLESS} must be auto or off, got {:?}",
            crate::printable(other)
        ))),
    }
}

/// Whether a registration without a token would log in keyless.
pub fn offered(env_map: &EnvMap, ci: &CiContext) -> Result<bool> {
    Ok(matches!(keyless_source(env_map, ci)?, Some(Ok(_))))
}

/// The username and token for a remote control plane: `WHARF_USERNAME` with `WHARF_TOKEN` (or
/// a token file) when given; otherwise, when the CI offers an identity token, a keyless login
/// to `project`.
pub async fn connect_credentials(
    base: &str,
    project: Option<&str>,
    env_map: &EnvMap,
    env: &WharfEnv,
    token_file: Option<&Path>,
    ci: &CiContext,
) -> Result<(String, Secret)> {
    if has_token(env, token_file) {
        return crate::settings::credentials(env, token_file);
    }
    let source = match keyless_source(env_map, ci)? {
        Some(Ok(source)) => source,
        Some(Err(why)) => {
            return Err(Error::Usage(format!(
                "missing token: set WHARF_TOKEN or pass --token-file FILE, or log in keyless \
                 with the CI's identity token ({why})"
            )));
        }
        None => return crate::settings::credentials(env, token_file),
    };
    let project = project
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Error::Usage(
            "keyless login needs the project to log in to: pass --project or set WHARF_PROJECT \
             (or set WHARF_TOKEN)"
                .into(),
        )
        })?;
    let retry = RetryPolicy::from_env(env_map);
    let identity = identity_token(&source, env_map, &audience(env_map), &retry).await?;
    let answer = exchange(base, project, &identity, &retry).await?;
    tracing::info!(
        username = %answer.0,
        project,
        "logged in keyless with the CI's identity token ({})",
        source.describe()
    );
    Ok(answer)
}

fn http() -> Result<reqwest::Client> {
    wharf_http::install_tls_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))
}

/// Gets the CI's identity token for `audience`.
pub async fn identity_token(
    source: &IdentitySource,
    env: &EnvMap,
    audience: &str,
    retry: &RetryPolicy,
) -> Result<Secret> {
    let token = match source {
        IdentitySource::Variable(name) => env
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::Usage(format!("{name} is empty: no identity token")))?,
        IdentitySource::GithubRequest { url } => {
            let bearer = env
                .get(GITHUB_REQUEST_TOKEN)
                .map(|v| Secret::new(v.trim()))
                .ok_or_else(|| Error::Usage(format!("{GITHUB_REQUEST_TOKEN} is not set")))?;
            github_token(url, &bearer, audience, retry).await?
        }
        IdentitySource::BuildkiteAgent => buildkite_token(audience).await?,
    };
    if token.split('.').count() != 3 {
        return Err(Error::Auth(format!(
            "the identity token from {} is not a JWT (three parts joined by '.')",
            source.describe()
        )));
    }
    Ok(Secret::new(token))
}

/// GitHub Actions: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…` → `{"value": "<jwt>"}`.
async fn github_token(
    url: &str,
    bearer: &Secret,
    audience: &str,
    retry: &RetryPolicy,
) -> Result<String> {
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}audience={}", encode(audience));
    let http = http()?;
    let what = "GitHub's identity token request (ACTIONS_ID_TOKEN_REQUEST_URL)";
    let response = retry
        .run(|made| {
            let request = http
                .get(&url)
                .bearer_auth(bearer.expose())
                .header(reqwest::header::ACCEPT, "application/json");
            async move {
                let failed = |why: String| {
                    Err(Error::Unavailable(format!(
                        "{what} failed {made} times; last: {why}"
                    )))
                };
                match request.send().await {
                    Err(error) => {
                        let why = describe_transport(&error);
                        Attempt::Retry {
                            last: failed(why.clone()),
                            why,
                            after: None,
                        }
                    }
                    Ok(response) if response.status().is_success() => Attempt::Done(Ok(response)),
                    Ok(response) => {
                        let status = response.status();
                        let after = retry_after(response.headers());
                        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                            let why = format!("HTTP {status}");
                            return Attempt::Retry {
                                last: failed(why.clone()),
                                why,
                                after,
                            };
                        }
                        Attempt::Done(Err(Error::Auth(format!(
                            "{what} was refused: HTTP {status}; the job needs `permissions: \
                             id-token: write`"
                        ))))
                    }
                }
            }
        })
        .await?;
    #[derive(serde::Deserialize)]
    struct Answer {
        value: Option<String>,
    }
    let answer: Answer = response
        .json()
        .await
        .map_err(|_| Error::Auth(format!("{what} answered no token (no \"value\")")))?;
    answer
        .value
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().to_string())
        .ok_or_else(|| Error::Auth(format!("{what} answered no token (no \"value\")")))
}

/// Buildkite: `buildkite-agent oidc request-token --audience AUDIENCE` prints the token.
async fn buildkite_token(audience: &str) -> Result<String> {
    let mut command = tokio::process::Command::new("buildkite-agent");
    command
        .args(["oidc", "request-token", "--audience", audience])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let run = tokio::time::timeout(AGENT_TIMEOUT, command.output()).await;
    let output = match run {
        Err(_) => {
            return Err(Error::Unavailable(format!(
                "buildkite-agent oidc request-token did not answer within {} s",
                AGENT_TIMEOUT.as_secs()
            )));
        }
        Ok(Err(error)) => {
            return Err(Error::Usage(format!(
                "cannot run buildkite-agent for an identity token ({}): it must be on PATH, as \
                 in every Buildkite job; or set WHARF_TOKEN",
                error.kind()
            )));
        }
        Ok(Ok(output)) => output,
    };
    if !output.status.success() {
        // The agent's own message, last line, without anything it printed on stdout.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .chars()
            .take(300)
            .collect::<String>();
        return Err(Error::Auth(format!(
            "buildkite-agent oidc request-token failed ({}): {}",
            output.status,
            printable(&said)
        )));
    }
    let token = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if token.is_empty() {
        return Err(Error::Auth(
            "buildkite-agent oidc request-token printed no token".into(),
        ));
    }
    Ok(token)
}

/// Trades `identity` for a wharf token on `project`; answers the username and the token.
pub async fn exchange(
    base: &str,
    project: &str,
    identity: &Secret,
    retry: &RetryPolicy,
) -> Result<(String, Secret)> {
    let base = base.trim_end_matches('/');
    let url = format!("{base}{OIDC_TOKEN_PATH}");
    let body = OidcTokenRequest {
        project: project.to_string(),
        token: identity.expose().to_string(),
    };
    let http = http()?;
    let what = format!("keyless login to project '{project}' at {base}");
    let response = retry
        .run(|made| {
            let request = http.post(&url).json(&body);
            let what = &what;
            async move {
                match request.send().await {
                    // Only a connection that never reached the server is tried again: an
                    // identity token is single-use, so a lost answer cannot be asked again.
                    Err(error) if error.is_connect() => {
                        let why = describe_transport(&error);
                        Attempt::Retry {
                            last: Err(Error::Unavailable(format!(
                                "{what} failed {made} times; last: {why}"
                            ))),
                            why,
                            after: None,
                        }
                    }
                    Err(error) => Attempt::Done(Err(Error::Unavailable(format!(
                        "{what} failed: {}",
                        describe_transport(&error)
                    )))),
                    Ok(response) => Attempt::Done(Ok(response)),
                }
            }
        })
        .await?;
    let status = response.status();
    if status.is_success() {
        let answer: OidcTokenResponse = response.json().await.map_err(|e| {
            Error::Internal(format!(
                "{what}: the answer was unreadable: {}",
                e.without_url()
            ))
        })?;
        return Ok((answer.username, Secret::new(answer.token)));
    }
    let message = response
        .json::<ErrorDetails>()
        .await
        .map(|d| d.message)
        .unwrap_or_else(|_| format!("HTTP {status}"));
    let message = printable(&message);
    Err(match status.as_u16() {
        401 | 403 => Error::Auth(format!("{what}: {message}")),
        404 => Error::NotFound(format!(
            "{what}: {message} (does this control plane serve keyless login? wharf serve does; \
             otherwise set WHARF_TOKEN)"
        )),
        400..=499 => Error::Rejected(format!("{what}: {message}")),
        _ => Error::Unavailable(format!("{what}: HTTP {status}: {message}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_ci::env_of as env;

    #[test]
    fn the_audience_defaults_to_wharf() {
        assert_eq!(audience(&env(&[])), "wharf");
        assert_eq!(audience(&env(&[("WHARF_OIDC_AUDIENCE", " ")])), "wharf");
        assert_eq!(
            audience(&env(&[("WHARF_OIDC_AUDIENCE", "https://cp.example.com")])),
            "https://cp.example.com"
        );
    }

    #[tokio::test]
    async fn a_token_given_wins_over_keyless() {
        let map = env(&[
            ("GITLAB_CI", "true"),
            ("WHARF_ID_TOKEN", "a.b.c"),
            ("WHARF_USERNAME", "ci-bot"),
            ("WHARF_TOKEN", "tok"),
        ]);
        let ci = wharf_ci::detect(&map, &wharf_ci::NoGit, wharf_ci::RefFrom::Source);
        let wharf_env = WharfEnv::from_map(&map).unwrap();
        let (user, token) =
            connect_credentials("http://127.0.0.1:9", None, &map, &wharf_env, None, &ci)
                .await
                .unwrap();
        assert_eq!((user.as_str(), token.expose()), ("ci-bot", "tok"));
    }

    #[tokio::test]
    async fn keyless_needs_a_project_and_says_why_there_is_no_token() {
        let map = env(&[("GITLAB_CI", "true"), ("WHARF_ID_TOKEN", "a.b.c")]);
        let ci = wharf_ci::detect(&map, &wharf_ci::NoGit, wharf_ci::RefFrom::Source);
        let wharf_env = WharfEnv::from_map(&map).unwrap();
        let error = connect_credentials("http://127.0.0.1:9", None, &map, &wharf_env, None, &ci)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("--project"), "{error}");
        let map = env(&[("GITHUB_ACTIONS", "true")]);
        let ci = wharf_ci::detect(&map, &wharf_ci::NoGit, wharf_ci::RefFrom::Source);
        let error = connect_credentials(
            "http://127.0.0.1:9",
            Some("shop"),
            &map,
            &WharfEnv::from_map(&map).unwrap(),
            None,
            &ci,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains("id-token: write"), "{error}");
    }

    #[tokio::test]
    async fn a_variable_that_is_not_a_jwt_is_refused_without_echoing_it() {
        let map = env(&[("WHARF_ID_TOKEN", "not-a-jwt-SECRET")]);
        let error = identity_token(
            &IdentitySource::Variable("WHARF_ID_TOKEN".into()),
            &map,
            "wharf",
            &RetryPolicy::default(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains("not a JWT"), "{error}");
        assert!(!error.contains("SECRET"), "{error}");
    }
}
