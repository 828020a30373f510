//! Bitrise: `BITRISE_GIT_BRANCH` is the branch, or a pull request's source branch, whose target
//! is `BITRISEIO_GIT_BRANCH_DEST`; `BITRISEIO_PULL_REQUEST_REPOSITORY_URL` names the head
//! repository.

use super::{Gap, Spec};
use crate::{CiContext, EnvMap, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    Spec {
        provider: Provider::Bitrise,
        marker: "BITRISE_IO",
        pr_number: &["BITRISE_PULL_REQUEST"],
        pr_source: &["BITRISE_GIT_BRANCH"],
        pr_target: &["BITRISEIO_GIT_BRANCH_DEST"],
        pr_head: &[],
        tag: &["BITRISE_GIT_TAG"],
        branch: &["BITRISE_GIT_BRANCH"],
        commit: &["BITRISE_GIT_COMMIT"],
        build_id: &["BITRISE_BUILD_SLUG"],
        build_number: &["BITRISE_BUILD_NUMBER"],
        build_url: "{BITRISE_BUILD_URL}",
        repository: "{GIT_REPOSITORY_URL}",
        fork: Some((
            "BITRISEIO_PULL_REQUEST_REPOSITORY_URL",
            "GIT_REPOSITORY_URL",
        )),
        gaps: &[Gap::MergeCommit],
    }
    .read(env)
}
