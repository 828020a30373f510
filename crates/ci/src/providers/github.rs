//! GitHub Actions: `GITHUB_REF`, the PR's head branch in `GITHUB_HEAD_REF`, and its head SHA
//! in the event file (`GITHUB_SHA` is a synthetic merge commit on pull requests).

use super::{get, take};
use crate::refs::{normalise_ref, pull_request_number};
use crate::{CiContext, EnvMap, Field, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = CiContext::default();
    context.set_provider(Provider::GithubActions, "GITHUB_ACTIONS");
    let full_ref = get(env, "GITHUB_REF").unwrap_or_default();
    let event = github_event(env);

    if let Some(head) = get(env, "GITHUB_HEAD_REF") {
        context.set(Field::SourceBranch, head, "GITHUB_HEAD_REF");
        take(&mut context, env, Field::TargetBranch, "GITHUB_BASE_REF");
    }
    if let Some(number) = pull_request_number(full_ref) {
        context.set(Field::PrNumber, number, "GITHUB_REF");
    } else if let Some(number) = event_str(&event, &["pull_request", "number"]) {
        context.set(
            Field::PrNumber,
            number,
            "GITHUB_EVENT_PATH:pull_request.number",
        );
    }

    if context.pr_number.is_some() {
        github_pull_request(&mut context, env, &event);
    } else if let Some(tag) = full_ref.strip_prefix("refs/tags/") {
        context.set(Field::Tag, tag, "GITHUB_REF");
        take(&mut context, env, Field::HeadSha, "GITHUB_SHA");
    } else if full_ref.starts_with("refs/heads/") {
        context.set(Field::SourceBranch, normalise_ref(full_ref), "GITHUB_REF");
        take(&mut context, env, Field::HeadSha, "GITHUB_SHA");
    } else {
        take(&mut context, env, Field::HeadSha, "GITHUB_SHA");
    }

    take(&mut context, env, Field::BuildId, "GITHUB_RUN_ID");
    take(&mut context, env, Field::BuildNumber, "GITHUB_RUN_NUMBER");
    take(&mut context, env, Field::Attempt, "GITHUB_RUN_ATTEMPT");
    take(&mut context, env, Field::Repository, "GITHUB_REPOSITORY");
    if let (Some(server), Some(repo), Some(run)) = (
        get(env, "GITHUB_SERVER_URL"),
        get(env, "GITHUB_REPOSITORY"),
        get(env, "GITHUB_RUN_ID"),
    ) {
        let url = format!("{}/{repo}/actions/runs/{run}", server.trim_end_matches('/'));
        context.set(
            Field::BuildUrl,
            url,
            "GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID",
        );
    }
    context
}

/// Pull requests: the head SHA comes from the event file; `GITHUB_SHA` is the merge commit.
fn github_pull_request(context: &mut CiContext, env: &EnvMap, event: &serde_json::Value) {
    const EVENT: &str = "GITHUB_EVENT_PATH";
    if context.source_branch.is_none()
        && let Some(head) = event_str(event, &["pull_request", "head", "ref"])
    {
        context.set(
            Field::SourceBranch,
            head,
            format!("{EVENT}:pull_request.head.ref"),
        );
    }
    if context.target_branch.is_none()
        && let Some(base) = event_str(event, &["pull_request", "base", "ref"])
    {
        context.set(
            Field::TargetBranch,
            base,
            format!("{EVENT}:pull_request.base.ref"),
        );
    }
    if let Some(sha) = event_str(event, &["pull_request", "head", "sha"]) {
        context.set(
            Field::HeadSha,
            sha,
            format!("{EVENT}:pull_request.head.sha"),
        );
    }
    take(context, env, Field::MergeSha, "GITHUB_SHA");
}

fn github_event(env: &EnvMap) -> serde_json::Value {
    get(env, "GITHUB_EVENT_PATH")
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null)
}

fn event_str(event: &serde_json::Value, path: &[&str]) -> Option<String> {
    let value = path.iter().try_fold(event, |value, key| value.get(key))?;
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
