//! Drone and Woodpecker, which share Drone's shape under different names.

use super::{get, take, take_branch, take_first};
use crate::{CiContext, EnvMap, Field, Provider};

/// The variable names one of the two systems uses.
struct Names {
    event: &'static str,
    pull_request: &'static str,
    source: &'static str,
    target: &'static str,
    branch: &'static str,
    tag: &'static str,
    sha: &'static str,
    number: &'static str,
    url: &'static str,
    repository: &'static str,
}

pub(crate) fn drone(env: &EnvMap) -> CiContext {
    let mut context = CiContext::default();
    context.set_provider(Provider::Drone, "DRONE");
    read(
        &mut context,
        env,
        &Names {
            event: "DRONE_BUILD_EVENT",
            pull_request: "DRONE_PULL_REQUEST",
            source: "DRONE_SOURCE_BRANCH",
            target: "DRONE_TARGET_BRANCH",
            branch: "DRONE_BRANCH",
            tag: "DRONE_TAG",
            sha: "DRONE_COMMIT_SHA",
            number: "DRONE_BUILD_NUMBER",
            url: "DRONE_BUILD_LINK",
            repository: "DRONE_REPO",
        },
    );
    context
}

pub(crate) fn woodpecker(env: &EnvMap) -> CiContext {
    let mut context = CiContext::default();
    context.set_provider(Provider::Woodpecker, "CI=woodpecker");
    read(
        &mut context,
        env,
        &Names {
            event: "CI_PIPELINE_EVENT",
            pull_request: "CI_COMMIT_PULL_REQUEST",
            source: "CI_COMMIT_SOURCE_BRANCH",
            target: "CI_COMMIT_TARGET_BRANCH",
            branch: "CI_COMMIT_BRANCH",
            tag: "CI_COMMIT_TAG",
            sha: "CI_COMMIT_SHA",
            number: "CI_PIPELINE_NUMBER",
            url: "CI_PIPELINE_URL",
            repository: "CI_REPO",
        },
    );
    context
}

fn read(context: &mut CiContext, env: &EnvMap, names: &Names) {
    match get(env, names.event) {
        Some("pull_request") | Some("pull_request_closed") => {
            take(context, env, Field::PrNumber, names.pull_request);
            take_first(
                context,
                env,
                Field::SourceBranch,
                &[names.source, names.branch],
            );
            take_branch(context, env, Field::TargetBranch, names.target);
        }
        Some("tag") => take(context, env, Field::Tag, names.tag),
        _ => {
            take_branch(context, env, Field::SourceBranch, names.branch);
            if context.source_branch.is_none() {
                take_branch(context, env, Field::SourceBranch, names.source);
            }
        }
    }
    take(context, env, Field::HeadSha, names.sha);
    take(context, env, Field::BuildId, names.number);
    take(context, env, Field::BuildNumber, names.number);
    take(context, env, Field::BuildUrl, names.url);
    take(context, env, Field::Repository, names.repository);
}
