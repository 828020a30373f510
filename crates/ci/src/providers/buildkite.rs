//! Buildkite: `BUILDKITE_COMMIT` may be the symbolic `HEAD` (git resolves it later),
//! `BUILDKITE_PULL_REQUEST` is the string `false` outside pull requests, a tag build's
//! `BUILDKITE_BRANCH` is the tag, and a merge-queue build names its base in
//! `BUILDKITE_MERGE_QUEUE_BASE_BRANCH`.

use super::{
    GITHUB_MERGE_QUEUE, Gap, Gaps, drop_branch_equal_to_tag, explain, fork_if_repos_differ, get,
    start, take, take_branch, take_pr_number,
};
use crate::{CiContext, EnvMap, Field, Provider};

const GAPS: Gaps = &[Gap::MergeCommit];

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = start(Provider::Buildkite, "BUILDKITE");
    take_branch(&mut context, env, Field::SourceBranch, "BUILDKITE_BRANCH");
    take(&mut context, env, Field::Tag, "BUILDKITE_TAG");
    drop_branch_equal_to_tag(&mut context);
    if take_pr_number(&mut context, env, &["BUILDKITE_PULL_REQUEST"]) {
        take_branch(
            &mut context,
            env,
            Field::TargetBranch,
            "BUILDKITE_PULL_REQUEST_BASE_BRANCH",
        );
        fork_if_repos_differ(
            &mut context,
            env,
            "BUILDKITE_PULL_REQUEST_REPO",
            "BUILDKITE_REPO",
        );
    }
    // A merge-queue build (Buildkite's own GitHub merge queue support): the branch is the
    // queue's temporary branch, and the base branch has a variable of its own.
    if get(env, "BUILDKITE_MERGE_QUEUE_BASE_BRANCH").is_some() {
        context.set(
            Field::MergeQueue,
            GITHUB_MERGE_QUEUE,
            "BUILDKITE_MERGE_QUEUE_BASE_BRANCH",
        );
        take_branch(
            &mut context,
            env,
            Field::TargetBranch,
            "BUILDKITE_MERGE_QUEUE_BASE_BRANCH",
        );
    }
    if get(env, "BUILDKITE_COMMIT").is_some_and(|c| !c.eq_ignore_ascii_case("HEAD")) {
        take(&mut context, env, Field::HeadSha, "BUILDKITE_COMMIT");
    }
    take(&mut context, env, Field::BuildId, "BUILDKITE_BUILD_ID");
    take(
        &mut context,
        env,
        Field::BuildNumber,
        "BUILDKITE_BUILD_NUMBER",
    );
    take(&mut context, env, Field::BuildUrl, "BUILDKITE_BUILD_URL");
    if let Some(retries) = get(env, "BUILDKITE_RETRY_COUNT").and_then(|v| v.parse::<u32>().ok()) {
        context.set(
            Field::Attempt,
            (retries + 1).to_string(),
            "BUILDKITE_RETRY_COUNT + 1",
        );
    }
    take(&mut context, env, Field::Repository, "BUILDKITE_REPO");
    explain(&mut context, GAPS);
    context
}

/// The `git-ref` key of the running plugin's configuration (`BUILDKITE_PLUGIN_CONFIGURATION`
/// is the whole configuration of the plugin the agent is running, as JSON).
pub(crate) fn plugin_git_ref(env: &EnvMap) -> Option<String> {
    let json: serde_json::Value =
        serde_json::from_str(get(env, "BUILDKITE_PLUGIN_CONFIGURATION")?).ok()?;
    let value = json.get("git-ref")?.as_str()?.trim();
    (!value.is_empty()).then(|| value.to_string())
}
