//! Codefresh: `CF_BRANCH` is the branch, a pull request's source branch, or the tag of a tag
//! push (then `CF_BASE_BRANCH` names the branch the tag was made from); a GitHub release has
//! `CF_RELEASE_TAG`. Forks are flagged by `CF_PULL_REQUEST_IS_FORK`, without a name.

use super::{Gap, Spec, When, get, is_true};
use crate::{CiContext, EnvMap, Field, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = Spec {
        provider: Provider::Codefresh,
        marker: "CF_BUILD_ID",
        pr_number: &["CF_PULL_REQUEST_NUMBER"],
        pr_source: &["CF_BRANCH"],
        pr_target: &["CF_PULL_REQUEST_TARGET"],
        pr_head: &[],
        tag: &["CF_RELEASE_TAG"],
        branch: &["CF_BRANCH"],
        commit: &["CF_REVISION"],
        build_id: &["CF_BUILD_ID"],
        build_number: &[],
        build_url: "{CF_BUILD_URL}",
        repository: "{CF_REPO_OWNER}/{CF_REPO_NAME}",
        fork: None,
        gaps: &[
            Gap::Other(
                Field::BuildNumber,
                When::Always,
                "Codefresh numbers no builds: CF_BUILD_ID names each",
            ),
            Gap::MergeCommit,
        ],
    }
    .read(env);
    if context.pr_number.is_some() {
        if is_true(env, "CF_PULL_REQUEST_IS_FORK") {
            context.set_fork(None, "CF_PULL_REQUEST_IS_FORK");
        }
    } else if let (Some(branch), Some(base)) = (get(env, "CF_BRANCH"), get(env, "CF_BASE_BRANCH"))
        && branch != base
        && context.tag.is_none()
    {
        context.clear(Field::SourceBranch);
        context.set(
            Field::Tag,
            branch,
            "CF_BRANCH (a tag: CF_BASE_BRANCH names the branch it was made from)",
        );
    }
    context
}
