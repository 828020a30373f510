//! One module per CI system, each reading its variables into a [`CiContext`]; this module
//! picks the system and applies the explicit variables that always win.

mod azure;
mod bitbucket;
mod buildkite;
mod circleci;
mod codebuild;
mod drone;
mod github;
mod gitlab;
mod jenkins;

use crate::refs::normalise_ref;
use crate::{CiContext, EnvMap, Field, Provider};

/// Variables that always win over detection, in order: wharf's own, then the name
/// `fctl_register.sh` used, for users migrating from it.
const EXPLICIT_GIT_REF: [&str; 2] = ["WHARF_GIT_REF", "GIT_REF"];
const EXPLICIT_BUILD_ID: &str = "RUN_ID";

pub(crate) fn get<'a>(env: &'a EnvMap, name: &str) -> Option<&'a str> {
    env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

pub(crate) fn is_true(env: &EnvMap, name: &str) -> bool {
    get(env, name).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Copies `var` into `field` when set, recording the variable as the source.
pub(crate) fn take(context: &mut CiContext, env: &EnvMap, field: Field, var: &str) {
    if let Some(value) = get(env, var) {
        context.set(field, value, var);
    }
}

/// Like [`take`], for branch variables: strips `refs/heads/` and the like.
pub(crate) fn take_branch(context: &mut CiContext, env: &EnvMap, field: Field, var: &str) {
    if let Some(value) = get(env, var) {
        context.set(field, normalise_ref(value), var);
    }
}

/// Takes the first of `vars` that is set.
pub(crate) fn take_first(context: &mut CiContext, env: &EnvMap, field: Field, vars: &[&str]) {
    if let Some(var) = vars.iter().find(|v| get(env, v).is_some()) {
        take(context, env, field, var);
    }
}

/// Reads a full ref (`refs/heads/…`, `refs/tags/…`) into the branch or the tag.
pub(crate) fn take_full_ref(context: &mut CiContext, full_ref: &str, source: &str) {
    if let Some(tag) = full_ref.strip_prefix("refs/tags/") {
        context.set(Field::Tag, tag, source);
    } else if !full_ref.starts_with("refs/pull/") && !full_ref.starts_with("refs/merge-requests/") {
        context.set(Field::SourceBranch, normalise_ref(full_ref), source);
    }
}

/// A tag build often reports the tag as its "branch" too; a tag is not a branch.
pub(crate) fn drop_branch_equal_to_tag(context: &mut CiContext) {
    if context.tag.is_some() && context.source_branch == context.tag {
        context.source_branch = None;
        context.sources.remove(Field::SourceBranch.key());
    }
}

type Detector = fn(&EnvMap) -> CiContext;

/// Which CI is this? The first whose marker variable is set; Woodpecker before GitLab, as both
/// use `CI_COMMIT_*` names.
fn detector(env: &EnvMap) -> Option<Detector> {
    let markers: [(bool, Detector); 10] = [
        (is_true(env, "GITHUB_ACTIONS"), github::detect),
        (get(env, "CI") == Some("woodpecker"), drone::woodpecker),
        (is_true(env, "GITLAB_CI"), gitlab::detect),
        (is_true(env, "BUILDKITE"), buildkite::detect),
        (is_true(env, "CIRCLECI"), circleci::detect),
        (
            get(env, "JENKINS_URL").is_some() || get(env, "JENKINS_HOME").is_some(),
            jenkins::detect,
        ),
        (get(env, "CODEBUILD_BUILD_ID").is_some(), codebuild::detect),
        (is_true(env, "TF_BUILD"), azure::detect),
        (
            get(env, "BITBUCKET_BUILD_NUMBER").is_some(),
            bitbucket::detect,
        ),
        (is_true(env, "DRONE"), drone::drone),
    ];
    markers
        .into_iter()
        .find_map(|(present, detect)| present.then_some(detect))
}

pub(crate) fn detect_provider(env: &EnvMap) -> CiContext {
    let mut context = match detector(env) {
        Some(detect) => detect(env),
        None => {
            let mut context = CiContext::default();
            context.set_provider(Provider::Git, "no CI variables");
            context
        }
    };
    context.in_ci = context.provider.is_some_and(Provider::is_ci)
        || is_true(env, "CI")
        || get(env, "CI") == Some("woodpecker");
    context
}

pub(crate) fn apply_explicit_overrides(context: &mut CiContext, env: &EnvMap) {
    if let Some(var) = EXPLICIT_GIT_REF.iter().find(|v| get(env, v).is_some()) {
        let value = normalise_ref(get(env, var).unwrap_or_default());
        context.set(Field::GitRef, value, *var);
    } else if let Some(value) = buildkite::plugin_git_ref(env) {
        context.set(
            Field::GitRef,
            normalise_ref(&value),
            "BUILDKITE_PLUGIN_CONFIGURATION:git-ref",
        );
    }
    take(context, env, Field::BuildId, EXPLICIT_BUILD_ID);
}
