//! Travis CI: on a pull request `TRAVIS_BRANCH` is the target branch and `TRAVIS_COMMIT` the
//! merge commit; the head is `TRAVIS_PULL_REQUEST_BRANCH` at `TRAVIS_PULL_REQUEST_SHA`, and
//! `TRAVIS_PULL_REQUEST` is `false` on other builds. A tag build's `TRAVIS_BRANCH` is the tag.

use super::{Gap, Spec};
use crate::{CiContext, EnvMap, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    Spec {
        provider: Provider::TravisCi,
        marker: "TRAVIS",
        pr_number: &["TRAVIS_PULL_REQUEST"],
        pr_source: &["TRAVIS_PULL_REQUEST_BRANCH"],
        pr_target: &["TRAVIS_BRANCH"],
        pr_head: &["TRAVIS_PULL_REQUEST_SHA"],
        tag: &["TRAVIS_TAG"],
        branch: &["TRAVIS_BRANCH"],
        commit: &["TRAVIS_COMMIT"],
        build_id: &["TRAVIS_BUILD_ID"],
        build_number: &["TRAVIS_BUILD_NUMBER"],
        build_url: "{TRAVIS_BUILD_WEB_URL}",
        repository: "{TRAVIS_REPO_SLUG}",
        fork: Some(("TRAVIS_PULL_REQUEST_SLUG", "TRAVIS_REPO_SLUG")),
        gaps: &[Gap::MergeCommit],
    }
    .read(env)
}
