//! GitLab CI: merge request pipelines have no `CI_COMMIT_BRANCH`; the source branch is
//! `CI_MERGE_REQUEST_SOURCE_BRANCH_NAME`. Merged results and merge train pipelines build a merge
//! commit (`CI_COMMIT_SHA`) apart from the head (`CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`); a merge
//! train names its target branch like any merge request. Pipelines for GitHub pull requests
//! (external pull requests) have variables of their own.

use super::{fork_if_repos_differ, get, start, take, take_branch};
use crate::{CiContext, EnvMap, Field, Provider};

pub(crate) const GITLAB_MERGE_TRAIN: &str = "gitlab-merge-train";

/// The variables of a merge request and of an external (GitHub) pull request.
struct Request {
    number: &'static str,
    source: &'static str,
    target: &'static str,
    head_sha: &'static str,
    head_project: &'static str,
    base_project: &'static str,
}

const MERGE_REQUEST: Request = Request {
    number: "CI_MERGE_REQUEST_IID",
    source: "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    target: "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    head_sha: "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
    head_project: "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH",
    base_project: "CI_MERGE_REQUEST_PROJECT_PATH",
};

const EXTERNAL_PULL_REQUEST: Request = Request {
    number: "CI_EXTERNAL_PULL_REQUEST_IID",
    source: "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME",
    target: "CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME",
    head_sha: "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA",
    head_project: "CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY",
    base_project: "CI_EXTERNAL_PULL_REQUEST_TARGET_REPOSITORY",
};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = start(Provider::GitlabCi, "GITLAB_CI");
    if get(env, MERGE_REQUEST.number).is_some() {
        request(&mut context, env, &MERGE_REQUEST);
        if get(env, "CI_MERGE_REQUEST_EVENT_TYPE") == Some("merge_train") {
            context.set(
                Field::MergeQueue,
                GITLAB_MERGE_TRAIN,
                "CI_MERGE_REQUEST_EVENT_TYPE=merge_train",
            );
        }
    } else if get(env, EXTERNAL_PULL_REQUEST.number).is_some() {
        request(&mut context, env, &EXTERNAL_PULL_REQUEST);
    } else if get(env, "CI_COMMIT_TAG").is_some() {
        take(&mut context, env, Field::Tag, "CI_COMMIT_TAG");
    } else if get(env, "CI_COMMIT_BRANCH").is_some() {
        take_branch(&mut context, env, Field::SourceBranch, "CI_COMMIT_BRANCH");
    } else {
        take_branch(&mut context, env, Field::SourceBranch, "CI_COMMIT_REF_NAME");
    }
    if context.head_sha.is_none() {
        take(&mut context, env, Field::HeadSha, "CI_COMMIT_SHA");
    }
    take(&mut context, env, Field::BuildId, "CI_PIPELINE_ID");
    take(&mut context, env, Field::BuildNumber, "CI_PIPELINE_IID");
    take(&mut context, env, Field::BuildUrl, "CI_PIPELINE_URL");
    take(&mut context, env, Field::Repository, "CI_PROJECT_PATH");
    context
}

fn request(context: &mut CiContext, env: &EnvMap, vars: &Request) {
    take(context, env, Field::PrNumber, vars.number);
    take_branch(context, env, Field::SourceBranch, vars.source);
    take_branch(context, env, Field::TargetBranch, vars.target);
    if get(env, vars.head_sha).is_some_and(|head| Some(head) != get(env, "CI_COMMIT_SHA")) {
        take(context, env, Field::HeadSha, vars.head_sha);
        take(context, env, Field::MergeSha, "CI_COMMIT_SHA");
    }
    context.note_unknown(
        Field::MergeSha,
        "this pipeline builds the source branch's head: GitLab builds a merge commit only in \
         merged results and merge train pipelines",
    );
    fork_if_repos_differ(context, env, vars.head_project, vars.base_project);
}
