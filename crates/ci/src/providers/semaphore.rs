//! Semaphore: on a pull request `SEMAPHORE_GIT_BRANCH` is the target branch; the head is
//! `SEMAPHORE_GIT_PR_BRANCH` at `SEMAPHORE_GIT_PR_SHA`, and `SEMAPHORE_GIT_SHA` is what the job
//! checks out. A tag build has `SEMAPHORE_GIT_TAG_NAME` and no working branch.

use super::{Gap, Spec};
use crate::{CiContext, EnvMap, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    Spec {
        provider: Provider::Semaphore,
        marker: "SEMAPHORE",
        pr_number: &["SEMAPHORE_GIT_PR_NUMBER"],
        pr_source: &["SEMAPHORE_GIT_PR_BRANCH", "SEMAPHORE_GIT_WORKING_BRANCH"],
        pr_target: &["SEMAPHORE_GIT_BRANCH"],
        pr_head: &["SEMAPHORE_GIT_PR_SHA"],
        tag: &["SEMAPHORE_GIT_TAG_NAME"],
        branch: &["SEMAPHORE_GIT_BRANCH"],
        commit: &["SEMAPHORE_GIT_SHA"],
        build_id: &["SEMAPHORE_WORKFLOW_ID"],
        build_number: &["SEMAPHORE_WORKFLOW_NUMBER"],
        build_url: "{SEMAPHORE_ORGANIZATION_URL}/workflows/{SEMAPHORE_WORKFLOW_ID}",
        repository: "{SEMAPHORE_GIT_REPO_SLUG}",
        fork: Some(("SEMAPHORE_GIT_PR_SLUG", "SEMAPHORE_GIT_REPO_SLUG")),
        gaps: &[Gap::MergeCommit],
    }
    .read(env)
}
