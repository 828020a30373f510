//! AppVeyor: on a pull request `APPVEYOR_REPO_BRANCH` is the base branch and
//! `APPVEYOR_REPO_COMMIT` the merge commit; the head is
//! `APPVEYOR_PULL_REQUEST_HEAD_REPO_BRANCH` at `APPVEYOR_PULL_REQUEST_HEAD_COMMIT`, in
//! `APPVEYOR_PULL_REQUEST_HEAD_REPO_NAME`.

use super::{Gap, Spec};
use crate::{CiContext, EnvMap, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    Spec {
        provider: Provider::Appveyor,
        marker: "APPVEYOR",
        pr_number: &["APPVEYOR_PULL_REQUEST_NUMBER"],
        pr_source: &["APPVEYOR_PULL_REQUEST_HEAD_REPO_BRANCH"],
        pr_target: &["APPVEYOR_REPO_BRANCH"],
        pr_head: &["APPVEYOR_PULL_REQUEST_HEAD_COMMIT"],
        tag: &["APPVEYOR_REPO_TAG_NAME"],
        branch: &["APPVEYOR_REPO_BRANCH"],
        commit: &["APPVEYOR_REPO_COMMIT"],
        build_id: &["APPVEYOR_BUILD_ID"],
        build_number: &["APPVEYOR_BUILD_NUMBER"],
        build_url: "{APPVEYOR_URL}/project/{APPVEYOR_ACCOUNT_NAME}/{APPVEYOR_PROJECT_SLUG}/builds/\
                    {APPVEYOR_BUILD_ID}",
        repository: "{APPVEYOR_REPO_NAME}",
        fork: Some(("APPVEYOR_PULL_REQUEST_HEAD_REPO_NAME", "APPVEYOR_REPO_NAME")),
        gaps: &[Gap::MergeCommit],
    }
    .read(env)
}
