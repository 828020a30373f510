//! GitHub Actions, and the Gitea and Forgejo runners, which set GitHub's variables and write
//! GitHub-shaped event files. `GITHUB_REF` is a full ref; a pull request's head branch is in
//! `GITHUB_HEAD_REF` and its head commit in the event file (on GitHub `GITHUB_SHA` is then a
//! synthetic merge commit); a merge-queue build (`merge_group`) runs on
//! `refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>` and its event names the base.

use super::{GITHUB_MERGE_QUEUE, get, start, take, take_env_template};
use crate::refs::{normalise_ref, pull_request_number};
use crate::{CiContext, EnvMap, Field, Provider};

const EVENT: &str = "GITHUB_EVENT_PATH";

/// What tells the three apart.
struct Flavour {
    provider: Provider,
    marker: &'static str,
    /// GitHub's run pages are named by run id, Gitea's and Forgejo's by the run's number.
    run_url: &'static str,
}

pub(crate) fn github(env: &EnvMap) -> CiContext {
    read(
        env,
        &Flavour {
            provider: Provider::GithubActions,
            marker: "GITHUB_ACTIONS",
            run_url: "{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}",
        },
    )
}

pub(crate) fn gitea(env: &EnvMap) -> CiContext {
    read(
        env,
        &Flavour {
            provider: Provider::GiteaActions,
            marker: "GITEA_ACTIONS (a Gitea Actions runner, which speaks GitHub Actions' variables)",
            run_url: "{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_NUMBER}",
        },
    )
}

pub(crate) fn forgejo(env: &EnvMap) -> CiContext {
    read(
        env,
        &Flavour {
            provider: Provider::ForgejoActions,
            marker: "FORGEJO_ACTIONS (a Forgejo Actions runner, which speaks GitHub Actions' \
                     variables)",
            run_url: "{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_NUMBER}",
        },
    )
}

fn read(env: &EnvMap, flavour: &Flavour) -> CiContext {
    let mut context = start(flavour.provider, flavour.marker);
    let full_ref = get(env, "GITHUB_REF").unwrap_or_default();
    let event = github_event(env);

    if get(env, "GITHUB_EVENT_NAME") == Some("merge_group") {
        merge_group(&mut context, env, &event, full_ref);
    } else {
        if let Some(head) = get(env, "GITHUB_HEAD_REF") {
            context.set(Field::SourceBranch, head, "GITHUB_HEAD_REF");
            take(&mut context, env, Field::TargetBranch, "GITHUB_BASE_REF");
        }
        if let Some(number) = pull_request_number(full_ref) {
            context.set(Field::PrNumber, number, "GITHUB_REF");
        } else {
            event_take(&mut context, &event, Field::PrNumber, "pull_request.number");
        }
        if context.pr_number.is_some() {
            pull_request(&mut context, env, &event, full_ref);
        } else if let Some(tag) = full_ref.strip_prefix("refs/tags/") {
            context.set(Field::Tag, tag, "GITHUB_REF");
        } else if full_ref.starts_with("refs/heads/") {
            context.set(Field::SourceBranch, normalise_ref(full_ref), "GITHUB_REF");
        }
        if context.pr_number.is_none() {
            take(&mut context, env, Field::HeadSha, "GITHUB_SHA");
        }
    }

    take(&mut context, env, Field::BuildId, "GITHUB_RUN_ID");
    take(&mut context, env, Field::BuildNumber, "GITHUB_RUN_NUMBER");
    take(&mut context, env, Field::Attempt, "GITHUB_RUN_ATTEMPT");
    take(&mut context, env, Field::Repository, "GITHUB_REPOSITORY");
    take_env_template(&mut context, env, Field::BuildUrl, flavour.run_url);
    context
}

/// A merge-queue entry: the queue's temporary branch is built, and the event names the base.
fn merge_group(context: &mut CiContext, env: &EnvMap, event: &serde_json::Value, full_ref: &str) {
    context.set(
        Field::MergeQueue,
        GITHUB_MERGE_QUEUE,
        "GITHUB_EVENT_NAME=merge_group",
    );
    if full_ref.starts_with("refs/heads/") {
        context.set(Field::SourceBranch, normalise_ref(full_ref), "GITHUB_REF");
    }
    event_take(context, event, Field::TargetBranch, "merge_group.base_ref");
    take(context, env, Field::HeadSha, "GITHUB_SHA");
}

/// Pull requests: the head commit comes from the event file. `GITHUB_SHA` is the merge commit
/// when `GITHUB_REF` is `refs/pull/N/merge` (GitHub), the head commit when it is
/// `refs/pull/N/head` (Gitea, Forgejo), and the base branch's last commit for
/// `pull_request_target`.
fn pull_request(context: &mut CiContext, env: &EnvMap, event: &serde_json::Value, full_ref: &str) {
    event_take(context, event, Field::SourceBranch, "pull_request.head.ref");
    event_take(context, event, Field::TargetBranch, "pull_request.base.ref");
    event_take(context, event, Field::HeadSha, "pull_request.head.sha");
    if full_ref.ends_with("/merge") {
        take(context, env, Field::MergeSha, "GITHUB_SHA");
        context.note_unknown(
            Field::HeadSha,
            "GITHUB_SHA is the merge commit, and the head commit is in the event file \
             (GITHUB_EVENT_PATH), which is missing",
        );
    } else if full_ref.ends_with("/head") {
        take(context, env, Field::HeadSha, "GITHUB_SHA");
        context.note_unknown(
            Field::MergeSha,
            "GITHUB_REF is the pull request's head (refs/pull/N/head): no merge commit is built",
        );
    } else {
        context.note_unknown(
            Field::MergeSha,
            "pull_request_target runs on the base branch: GITHUB_SHA is its last commit, not a \
             merge commit",
        );
    }
    let head_repo = event_str(event, "pull_request.head.repo.full_name");
    let base_repo = event_str(event, "pull_request.base.repo.full_name")
        .or_else(|| get(env, "GITHUB_REPOSITORY").map(str::to_string));
    match (head_repo, base_repo) {
        (Some(head), Some(base)) if !head.eq_ignore_ascii_case(&base) => {
            context.set_fork(
                Some(&head),
                &format!("{EVENT}:pull_request.head.repo.full_name"),
            );
        }
        (Some(_), Some(_)) => {}
        _ => context.note_unknown(
            Field::HeadRepository,
            "the event file (GITHUB_EVENT_PATH) does not name the pull request's head and base \
             repositories, so a fork cannot be told apart",
        ),
    }
}

fn github_event(env: &EnvMap) -> serde_json::Value {
    get(env, EVENT)
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The string (or number) at a dotted `path` of the event.
fn event_str(event: &serde_json::Value, path: &str) -> Option<String> {
    let value = path
        .split('.')
        .try_fold(event, |value, key| value.get(key))?;
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Sets `field` from the event unless it has a value already.
fn event_take(context: &mut CiContext, event: &serde_json::Value, field: Field, path: &str) {
    if context.get(field).is_none()
        && let Some(value) = event_str(event, path)
    {
        context.set(field, value, format!("{EVENT}:{path}"));
    }
}
