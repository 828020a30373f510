//! GitLab CI: merge request pipelines have no `CI_COMMIT_BRANCH`; the source branch is
//! `CI_MERGE_REQUEST_SOURCE_BRANCH_NAME`.

use super::{get, take, take_branch};
use crate::{CiContext, EnvMap, Field, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = CiContext::default();
    context.set_provider(Provider::GitlabCi, "GITLAB_CI");
    if let Some(iid) = get(env, "CI_MERGE_REQUEST_IID") {
        context.set(Field::PrNumber, iid, "CI_MERGE_REQUEST_IID");
        take_branch(
            &mut context,
            env,
            Field::SourceBranch,
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
        );
        take_branch(
            &mut context,
            env,
            Field::TargetBranch,
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
        );
        if get(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA").is_some() {
            take(
                &mut context,
                env,
                Field::HeadSha,
                "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
            );
            take(&mut context, env, Field::MergeSha, "CI_COMMIT_SHA");
        }
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
