//! What to do when there is no token and no keyless login: decided here, once, for the CLI and
//! every adapter (`--skip-without-credentials`, `WHARF_SKIP_WITHOUT_CREDENTIALS`).
//!
//! CI systems withhold secrets from some runs: GitHub from pull requests of forks and from
//! Dependabot, Buildkite and CircleCI from builds of forks. There a missing token is expected,
//! and skipping may turn the failure into a warned skip. On GitHub, which says why it withheld
//! them, only such runs skip: a push with a missing secret still fails. Elsewhere nothing tells
//! a fork's build apart, so any run without credentials skips when skipping is asked for.

use crate::{Error, WharfEnv, keyless};
use std::path::Path;
use wharf_ci::{CiContext, EnvMap, Provider};

/// Why this run cannot see the repository's secrets, if GitHub says it is such a run.
pub fn secrets_withheld(env: &EnvMap) -> Option<String> {
    if env.get("GITHUB_ACTOR").map(String::as_str) == Some("dependabot[bot]") {
        return Some("runs started by Dependabot get Dependabot secrets only".into());
    }
    let event = env.get("GITHUB_EVENT_NAME")?;
    if !matches!(
        event.as_str(),
        "pull_request" | "pull_request_review" | "pull_request_review_comment"
    ) {
        return None;
    }
    let payload: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.get("GITHUB_EVENT_PATH")?).ok()?).ok()?;
    let head = payload
        .pointer("/pull_request/head/repo/full_name")?
        .as_str()?;
    let base = payload.pointer("/repository/full_name")?.as_str()?;
    (head != base).then(|| {
        format!("this pull request comes from the fork {head}, and GitHub passes no secrets to it")
    })
}

pub enum Missing {
    /// Skip the registration with this warning; exit 0.
    Skip(String),
    Fail(Error),
}

/// With no token, no token file and no keyless login to fall back on: skip or fail. `None`:
/// there are credentials (or a keyless login), go on.
pub fn decide(
    env: &EnvMap,
    wharf_env: &WharfEnv,
    token_file: Option<&Path>,
    ci: &CiContext,
    skip_allowed: bool,
) -> crate::Result<Option<Missing>> {
    if keyless::has_token(wharf_env, token_file) || keyless::offered(env, ci)? {
        return Ok(None);
    }
    if ci.provider == Some(Provider::GithubActions) {
        return Ok(Some(github_missing_token(env, skip_allowed)));
    }
    Ok(skip_allowed.then(|| {
        Missing::Skip(
            "no token (WHARF_TOKEN is unset or empty) and no keyless login, so nothing was \
             registered (--skip-without-credentials)"
                .into(),
        )
    }))
}

/// GitHub says why secrets are withheld; only such runs skip.
fn github_missing_token(env: &EnvMap, skip_allowed: bool) -> Missing {
    match secrets_withheld(env) {
        Some(why) if skip_allowed => Missing::Skip(format!(
            "no token, so nothing was registered: {why} (--skip-without-credentials)"
        )),
        Some(why) => Missing::Fail(Error::Usage(format!(
            "WHARF_TOKEN is empty: {why}. Pass --skip-without-credentials to skip \
             registration on such runs, or run this step only on pushes"
        ))),
        None => Missing::Fail(Error::Usage(
            "WHARF_TOKEN is empty: pass token: ${{ secrets.WHARF_TOKEN }} (a secret, never a \
             literal), or give the job `permissions: id-token: write` for a keyless login"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull_request_env(dir: &std::path::Path, head: &str) -> EnvMap {
        let path = dir.join("event.json");
        let payload = serde_json::json!({
            "pull_request": {"head": {"repo": {"full_name": head}}},
            "repository": {"full_name": "acme/shop"}
        });
        std::fs::write(&path, payload.to_string()).unwrap();
        [
            ("GITHUB_EVENT_NAME", "pull_request".to_string()),
            ("GITHUB_EVENT_PATH", path.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    #[test]
    fn a_fork_is_told_apart_from_a_branch_of_the_same_repository() {
        let dir = tempfile::tempdir().unwrap();
        let fork = pull_request_env(dir.path(), "mallory/shop");
        assert!(secrets_withheld(&fork).unwrap().contains("mallory/shop"));
        let same = pull_request_env(dir.path(), "acme/shop");
        assert_eq!(secrets_withheld(&same), None);
    }

    #[test]
    fn a_fork_is_skipped_only_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let fork = pull_request_env(dir.path(), "mallory/shop");
        assert!(matches!(
            github_missing_token(&fork, true),
            Missing::Skip(_)
        ));
        let Missing::Fail(error) = github_missing_token(&fork, false) else {
            panic!("a fork without skip-without-credentials must fail");
        };
        assert!(error.to_string().contains("skip-without-credentials"));
    }

    #[test]
    fn a_missing_token_outside_a_fork_always_fails() {
        let env = EnvMap::from([("GITHUB_EVENT_NAME".to_string(), "push".to_string())]);
        let Missing::Fail(error) = github_missing_token(&env, true) else {
            panic!("a push without a token must fail, skip or not");
        };
        assert_eq!(error.exit_code(), 2);
    }
}
