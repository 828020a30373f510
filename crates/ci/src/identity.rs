//! Whether the CI offers this job an OIDC identity token (for keyless login), and where wharf
//! would get it. Only what the variables say: no token is read or requested here (the client,
//! `wharf-client`, does that), and no token's value ever enters the context.

use crate::providers::get;
use crate::{CiContext, EnvMap, Provider};

/// The context's key for the identity token's availability.
pub const IDENTITY_TOKEN: &str = "identityToken";

/// The variable GitLab's identity token is read from unless `WHARF_ID_TOKEN_VARIABLE` names
/// another (the job declares it under `id_tokens:`).
pub const DEFAULT_GITLAB_VARIABLE: &str = "WHARF_ID_TOKEN";

/// CircleCI's identity token (the V2 one, whose `sub` names the VCS origin and ref).
pub const CIRCLECI_VARIABLE: &str = "CIRCLE_OIDC_TOKEN_V2";

/// GitHub Actions' token request: URL and bearer token, both set only with
/// `permissions: id-token: write`.
pub const GITHUB_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const GITHUB_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// How this job can get an identity token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// GitHub Actions: a GET of `url` (plus `audience=`) with the request token as bearer.
    GithubRequest { url: String },
    /// A variable that holds the token itself (GitLab's `id_tokens:`, CircleCI).
    Variable(String),
    /// Buildkite: `buildkite-agent oidc request-token --audience AUDIENCE`.
    BuildkiteAgent,
}

impl IdentitySource {
    /// Where the token comes from, for `wharf ci-context` and messages.
    pub fn describe(&self) -> String {
        match self {
            Self::GithubRequest { .. } => {
                format!("{GITHUB_REQUEST_URL} and {GITHUB_REQUEST_TOKEN}")
            }
            Self::Variable(name) => name.clone(),
            Self::BuildkiteAgent => "buildkite-agent oidc request-token".into(),
        }
    }
}

/// Where this job's identity token would come from, or why there is none (`None` when the CI
/// is not one wharf gets identity tokens from).
pub fn identity_source(
    env: &EnvMap,
    provider: Option<Provider>,
) -> Option<Result<IdentitySource, String>> {
    match provider? {
        Provider::GithubActions => Some(
            match (get(env, GITHUB_REQUEST_URL), get(env, GITHUB_REQUEST_TOKEN)) {
                (Some(url), Some(_)) => Ok(IdentitySource::GithubRequest {
                    url: url.to_string(),
                }),
                _ => Err(format!(
                    "GitHub sets {GITHUB_REQUEST_URL} only for jobs with `permissions: id-token: \
                     write` (and never for pull requests from forks)"
                )),
            },
        ),
        Provider::GitlabCi => {
            let variable = get(env, "WHARF_ID_TOKEN_VARIABLE").unwrap_or(DEFAULT_GITLAB_VARIABLE);
            Some(match get(env, variable) {
                Some(_) => Ok(IdentitySource::Variable(variable.to_string())),
                None => Err(format!(
                    "{variable} is not set: declare it under the job's `id_tokens:` with `aud: \
                     wharf` (or name your variable in WHARF_ID_TOKEN_VARIABLE)"
                )),
            })
        }
        Provider::Circleci => Some(match get(env, CIRCLECI_VARIABLE) {
            Some(_) => Ok(IdentitySource::Variable(CIRCLECI_VARIABLE.to_string())),
            None => Err(format!(
                "CircleCI sets {CIRCLECI_VARIABLE} only in jobs that use a context"
            )),
        }),
        Provider::Buildkite => Some(Ok(IdentitySource::BuildkiteAgent)),
        _ => None,
    }
}

/// Notes in the context whether an identity token is available, and from where.
pub(crate) fn note(context: &mut CiContext, env: &EnvMap) {
    match identity_source(env, context.provider) {
        Some(Ok(source)) => {
            context.identity_token = Some("available".into());
            context.sources.insert(IDENTITY_TOKEN, source.describe());
        }
        Some(Err(why)) => {
            context.unknown.insert(IDENTITY_TOKEN, why);
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env_of as env;
    use crate::{NoGit, RefFrom, detect};

    #[test]
    fn github_offers_one_with_id_token_write() {
        let with = detect(
            &env(&[
                ("GITHUB_ACTIONS", "true"),
                (
                    GITHUB_REQUEST_URL,
                    "https://pipelines.example/x?api-version=2.0",
                ),
                (GITHUB_REQUEST_TOKEN, "SECRET-REQUEST-TOKEN"),
            ]),
            &NoGit,
            RefFrom::Source,
        );
        assert_eq!(with.identity_token.as_deref(), Some("available"));
        assert_eq!(
            with.sources[IDENTITY_TOKEN],
            "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN"
        );
        let json = serde_json::to_string(&with).unwrap();
        assert!(!json.contains("SECRET"), "{json}");
        let without = detect(&env(&[("GITHUB_ACTIONS", "true")]), &NoGit, RefFrom::Source);
        assert_eq!(without.identity_token, None);
        assert!(without.unknown[IDENTITY_TOKEN].contains("id-token: write"));
    }

    #[test]
    fn gitlab_reads_the_named_variable() {
        let default = env(&[("GITLAB_CI", "true"), ("WHARF_ID_TOKEN", "eyJ.x.y")]);
        assert_eq!(
            identity_source(&default, Some(Provider::GitlabCi)),
            Some(Ok(IdentitySource::Variable("WHARF_ID_TOKEN".into())))
        );
        let named = env(&[
            ("GITLAB_CI", "true"),
            ("WHARF_ID_TOKEN_VARIABLE", "DEPLOY_TOKEN"),
            ("DEPLOY_TOKEN", "eyJ.x.y"),
        ]);
        assert_eq!(
            identity_source(&named, Some(Provider::GitlabCi)),
            Some(Ok(IdentitySource::Variable("DEPLOY_TOKEN".into())))
        );
        let missing = identity_source(&env(&[]), Some(Provider::GitlabCi));
        assert!(missing.unwrap().unwrap_err().contains("id_tokens"));
    }

    #[test]
    fn circleci_buildkite_and_others() {
        let circle = env(&[(CIRCLECI_VARIABLE, "eyJ.x.y")]);
        assert_eq!(
            identity_source(&circle, Some(Provider::Circleci)),
            Some(Ok(IdentitySource::Variable(CIRCLECI_VARIABLE.into())))
        );
        assert!(
            identity_source(&env(&[]), Some(Provider::Circleci))
                .unwrap()
                .unwrap_err()
                .contains("context")
        );
        assert_eq!(
            identity_source(&env(&[]), Some(Provider::Buildkite)),
            Some(Ok(IdentitySource::BuildkiteAgent))
        );
        assert_eq!(identity_source(&env(&[]), Some(Provider::Jenkins)), None);
        assert_eq!(identity_source(&env(&[]), None), None);
    }
}
