//! Drone, Woodpecker and Harness CI, which share Drone's shape under different names (Harness
//! sets Drone's own names, and `DRONE=true`). The event variable says what was built: a pull
//! request (also once closed), a tag (Woodpecker's releases too), or else a branch (pushes,
//! cron, promotions, manual runs), unless a promoted build was a tag's.

use super::{
    Gap, Gaps, drop_branch_equal_to_tag, explain, get, start, take, take_branch, take_full_ref,
};
use crate::{CiContext, EnvMap, Field, Provider};

/// The variable names one of the systems uses.
struct Names {
    provider: Provider,
    marker: &'static str,
    event: &'static str,
    pull_request: &'static str,
    source: &'static str,
    target: &'static str,
    branch: &'static str,
    tag: &'static str,
    commit_ref: &'static str,
    sha: &'static str,
    id: &'static str,
    number: &'static str,
    url: &'static str,
    repository: &'static str,
    gaps: Gaps,
}

pub(crate) fn drone(env: &EnvMap) -> CiContext {
    read(
        env,
        &Names {
            provider: Provider::Drone,
            marker: "DRONE",
            event: "DRONE_BUILD_EVENT",
            pull_request: "DRONE_PULL_REQUEST",
            source: "DRONE_SOURCE_BRANCH",
            target: "DRONE_TARGET_BRANCH",
            branch: "DRONE_BRANCH",
            tag: "DRONE_TAG",
            commit_ref: "DRONE_COMMIT_REF",
            sha: "DRONE_COMMIT_SHA",
            id: "DRONE_BUILD_NUMBER",
            number: "DRONE_BUILD_NUMBER",
            url: "DRONE_BUILD_LINK",
            repository: "DRONE_REPO",
            gaps: &[Gap::MergeCommit, Gap::Fork],
        },
    )
}

pub(crate) fn woodpecker(env: &EnvMap) -> CiContext {
    read(
        env,
        &Names {
            provider: Provider::Woodpecker,
            marker: "CI=woodpecker",
            event: "CI_PIPELINE_EVENT",
            pull_request: "CI_COMMIT_PULL_REQUEST",
            source: "CI_COMMIT_SOURCE_BRANCH",
            target: "CI_COMMIT_TARGET_BRANCH",
            branch: "CI_COMMIT_BRANCH",
            tag: "CI_COMMIT_TAG",
            commit_ref: "CI_COMMIT_REF",
            sha: "CI_COMMIT_SHA",
            id: "CI_PIPELINE_NUMBER",
            number: "CI_PIPELINE_NUMBER",
            url: "CI_PIPELINE_URL",
            repository: "CI_REPO",
            gaps: &[Gap::MergeCommit, Gap::Fork],
        },
    )
}

pub(crate) fn harness(env: &EnvMap) -> CiContext {
    read(
        env,
        &Names {
            provider: Provider::HarnessCi,
            marker: "HARNESS_BUILD_ID",
            event: "DRONE_BUILD_EVENT",
            pull_request: "DRONE_PULL_REQUEST",
            source: "DRONE_SOURCE_BRANCH",
            target: "DRONE_TARGET_BRANCH",
            branch: "DRONE_BRANCH",
            tag: "DRONE_TAG",
            commit_ref: "DRONE_COMMIT_REF",
            sha: "DRONE_COMMIT_SHA",
            id: "HARNESS_EXECUTION_ID",
            number: "HARNESS_BUILD_ID",
            url: "DRONE_BUILD_LINK",
            repository: "DRONE_REPO",
            gaps: &[Gap::MergeCommit, Gap::Fork],
        },
    )
}

fn read(env: &EnvMap, names: &Names) -> CiContext {
    let mut context = start(names.provider, names.marker);
    match get(env, names.event) {
        Some("pull_request" | "pull_request_closed") => {
            take(&mut context, env, Field::PrNumber, names.pull_request);
            take_branch(&mut context, env, Field::SourceBranch, names.source);
            if context.source_branch.is_none() {
                take_branch(&mut context, env, Field::SourceBranch, names.branch);
            }
            take_branch(&mut context, env, Field::TargetBranch, names.target);
        }
        Some("tag" | "release") => {
            take(&mut context, env, Field::Tag, names.tag);
            if context.tag.is_none()
                && let Some(full_ref) = get(env, names.commit_ref)
            {
                take_full_ref(&mut context, full_ref, names.commit_ref);
            }
        }
        _ => {
            take(&mut context, env, Field::Tag, names.tag);
            take_branch(&mut context, env, Field::SourceBranch, names.branch);
            if context.source_branch.is_none() && context.tag.is_none() {
                take_branch(&mut context, env, Field::SourceBranch, names.source);
            }
            drop_branch_equal_to_tag(&mut context);
        }
    }
    take(&mut context, env, Field::HeadSha, names.sha);
    take(&mut context, env, Field::BuildId, names.id);
    take(&mut context, env, Field::BuildNumber, names.number);
    take(&mut context, env, Field::BuildUrl, names.url);
    take(&mut context, env, Field::Repository, names.repository);
    explain(&mut context, names.gaps);
    context
}
