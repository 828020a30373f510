//! Google Cloud Build: a step's environment has nothing of the build but `BUILDER_OUTPUT`; every
//! other value arrives only as a substitution the build config passes into the step's `env`,
//! under the substitution's own name: `BRANCH_NAME=$BRANCH_NAME`, `TAG_NAME=$TAG_NAME`,
//! `COMMIT_SHA=$COMMIT_SHA`, `BUILD_ID=$BUILD_ID`, `PROJECT_ID=$PROJECT_ID`,
//! `LOCATION=$LOCATION`, `REPO_FULL_NAME=$REPO_FULL_NAME`, and for GitHub pull requests
//! `_PR_NUMBER`, `_HEAD_BRANCH`, `_BASE_BRANCH`, `_HEAD_REPO_URL`.

use super::{Gap, Spec, When};
use crate::{CiContext, EnvMap, Field, Provider};

const PASS: &str = "Cloud Build passes it to a step only when the step's env lists it";

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    Spec {
        provider: Provider::GoogleCloudBuild,
        marker: "BUILDER_OUTPUT (set in every Cloud Build step; the build's values arrive only \
                 as substitutions the step's env passes in)",
        pr_number: &["_PR_NUMBER"],
        pr_source: &["_HEAD_BRANCH", "BRANCH_NAME"],
        pr_target: &["_BASE_BRANCH"],
        pr_head: &[],
        tag: &["TAG_NAME"],
        branch: &["BRANCH_NAME"],
        commit: &["COMMIT_SHA", "REVISION_ID"],
        build_id: &["BUILD_ID"],
        build_number: &[],
        build_url: "https://console.cloud.google.com/cloud-build/builds;region={LOCATION}/\
                    {BUILD_ID}?project={PROJECT_ID}",
        repository: "{REPO_FULL_NAME}",
        fork: Some(("_HEAD_REPO_URL", "REPO_FULL_NAME")),
        gaps: &[
            Gap::Other(
                Field::BuildNumber,
                When::Always,
                "Cloud Build numbers no builds: BUILD_ID names each",
            ),
            Gap::MergeCommit,
            Gap::Other(Field::BuildId, When::Always, PASS),
            Gap::Other(Field::HeadSha, When::Always, PASS),
            Gap::Other(
                Field::BuildUrl,
                When::Always,
                "needs LOCATION, BUILD_ID and PROJECT_ID, which Cloud Build passes to a step \
                 only when the step's env lists them",
            ),
            Gap::Other(
                Field::Repository,
                When::Always,
                "REPO_FULL_NAME exists for triggered builds only, and Cloud Build passes it to a \
                 step only when the step's env lists it",
            ),
        ],
    }
    .read(env)
}
