//! Buildkite: `BUILDKITE_COMMIT` may be the symbolic `HEAD` (git resolves it later),
//! `BUILDKITE_PULL_REQUEST` is the string `false` outside pull requests, and a tag build's
//! `BUILDKITE_BRANCH` is the tag.

use super::{drop_branch_equal_to_tag, get, take, take_branch};
use crate::{CiContext, EnvMap, Field, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = CiContext::default();
    context.set_provider(Provider::Buildkite, "BUILDKITE");
    take_branch(&mut context, env, Field::SourceBranch, "BUILDKITE_BRANCH");
    take(&mut context, env, Field::Tag, "BUILDKITE_TAG");
    drop_branch_equal_to_tag(&mut context);
    if let Some(number) = get(env, "BUILDKITE_PULL_REQUEST").filter(|v| *v != "false") {
        context.set(Field::PrNumber, number, "BUILDKITE_PULL_REQUEST");
        take_branch(
            &mut context,
            env,
            Field::TargetBranch,
            "BUILDKITE_PULL_REQUEST_BASE_BRANCH",
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
