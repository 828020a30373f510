//! Bitbucket Pipelines.

use super::{get, take, take_branch};
use crate::{CiContext, EnvMap, Field, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = CiContext::default();
    context.set_provider(Provider::BitbucketPipelines, "BITBUCKET_BUILD_NUMBER");
    take_branch(&mut context, env, Field::SourceBranch, "BITBUCKET_BRANCH");
    take(&mut context, env, Field::Tag, "BITBUCKET_TAG");
    if get(env, "BITBUCKET_PR_ID").is_some() {
        take(&mut context, env, Field::PrNumber, "BITBUCKET_PR_ID");
        take_branch(
            &mut context,
            env,
            Field::TargetBranch,
            "BITBUCKET_PR_DESTINATION_BRANCH",
        );
    }
    take(&mut context, env, Field::HeadSha, "BITBUCKET_COMMIT");
    take(&mut context, env, Field::BuildId, "BITBUCKET_PIPELINE_UUID");
    take(
        &mut context,
        env,
        Field::BuildNumber,
        "BITBUCKET_BUILD_NUMBER",
    );
    take(
        &mut context,
        env,
        Field::Repository,
        "BITBUCKET_REPO_FULL_NAME",
    );
    if let (Some(repo), Some(number)) = (
        get(env, "BITBUCKET_REPO_FULL_NAME"),
        get(env, "BITBUCKET_BUILD_NUMBER"),
    ) {
        let url = format!("https://bitbucket.org/{repo}/pipelines/results/{number}");
        context.set(
            Field::BuildUrl,
            url,
            "BITBUCKET_REPO_FULL_NAME/BITBUCKET_BUILD_NUMBER",
        );
    }
    context
}
