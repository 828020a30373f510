//! Bitbucket Pipelines: `BITBUCKET_BRANCH` is the branch, or a pull request's source branch.

use super::{Gap, Spec};
use crate::{CiContext, EnvMap, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    Spec {
        provider: Provider::BitbucketPipelines,
        marker: "BITBUCKET_BUILD_NUMBER",
        pr_number: &["BITBUCKET_PR_ID"],
        pr_source: &["BITBUCKET_BRANCH"],
        pr_target: &["BITBUCKET_PR_DESTINATION_BRANCH"],
        pr_head: &[],
        tag: &["BITBUCKET_TAG"],
        branch: &["BITBUCKET_BRANCH"],
        commit: &["BITBUCKET_COMMIT"],
        build_id: &["BITBUCKET_PIPELINE_UUID"],
        build_number: &["BITBUCKET_BUILD_NUMBER"],
        build_url: "https://bitbucket.org/{BITBUCKET_REPO_FULL_NAME}/pipelines/results/\
                    {BITBUCKET_BUILD_NUMBER}",
        repository: "{BITBUCKET_REPO_FULL_NAME}",
        fork: None,
        gaps: &[Gap::MergeCommit, Gap::Fork],
    }
    .read(env)
}
