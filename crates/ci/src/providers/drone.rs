//! Drone, Woodpecker and Harness CI, which share Drone's shape under different names (Harness
//! sets Drone's own names, and `DRONE=true`). The pull request number is set for pull requests
//! only (Woodpecker's closed ones too); a tag build names its tag, or (a Woodpecker release) only
//! its full ref; anything else (pushes, cron, promotions, manual runs) is a branch build.

use super::{Gap, Spec};
use crate::{CiContext, EnvMap, Provider};

const DRONE: Spec = Spec {
    provider: Provider::Drone,
    marker: "DRONE",
    pr_number: &["DRONE_PULL_REQUEST"],
    pr_source: &["DRONE_SOURCE_BRANCH", "DRONE_BRANCH"],
    pr_target: &["DRONE_TARGET_BRANCH"],
    pr_head: &[],
    tag: &["DRONE_TAG", "DRONE_COMMIT_REF"],
    branch: &["DRONE_BRANCH", "DRONE_SOURCE_BRANCH"],
    commit: &["DRONE_COMMIT_SHA"],
    build_id: &["DRONE_BUILD_NUMBER"],
    build_number: &["DRONE_BUILD_NUMBER"],
    build_url: "{DRONE_BUILD_LINK}",
    repository: "{DRONE_REPO}",
    fork: None,
    gaps: &[Gap::MergeCommit, Gap::Fork],
};

pub(crate) fn drone(env: &EnvMap) -> CiContext {
    DRONE.read(env)
}

pub(crate) fn harness(env: &EnvMap) -> CiContext {
    Spec {
        provider: Provider::HarnessCi,
        marker: "HARNESS_BUILD_ID",
        build_id: &["HARNESS_EXECUTION_ID"],
        build_number: &["HARNESS_BUILD_ID"],
        ..DRONE
    }
    .read(env)
}

pub(crate) fn woodpecker(env: &EnvMap) -> CiContext {
    Spec {
        provider: Provider::Woodpecker,
        marker: "CI=woodpecker",
        pr_number: &["CI_COMMIT_PULL_REQUEST"],
        pr_source: &["CI_COMMIT_SOURCE_BRANCH", "CI_COMMIT_BRANCH"],
        pr_target: &["CI_COMMIT_TARGET_BRANCH"],
        pr_head: &[],
        tag: &["CI_COMMIT_TAG", "CI_COMMIT_REF"],
        branch: &["CI_COMMIT_BRANCH", "CI_COMMIT_SOURCE_BRANCH"],
        commit: &["CI_COMMIT_SHA"],
        build_id: &["CI_PIPELINE_NUMBER"],
        build_number: &["CI_PIPELINE_NUMBER"],
        build_url: "{CI_PIPELINE_URL}",
        repository: "{CI_REPO}",
        fork: None,
        gaps: &[Gap::MergeCommit, Gap::Fork],
    }
    .read(env)
}
