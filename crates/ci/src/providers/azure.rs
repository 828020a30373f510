//! Azure Pipelines: `BUILD_SOURCEBRANCH` is the full ref; `BUILD_SOURCEBRANCHNAME` keeps only the
//! last path segment (`feature/x` → `x`) and is never used. A pull request build's
//! `BUILD_SOURCEVERSION` is the merge commit; `SYSTEM_PULLREQUEST_ISFORK` marks forks.

use super::{get, is_true, repo_path, start, take, take_branch, take_env_template, take_full_ref};
use crate::refs::pull_request_number;
use crate::{CiContext, EnvMap, Field, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = start(Provider::AzurePipelines, "TF_BUILD");
    let full_ref = get(env, "BUILD_SOURCEBRANCH").unwrap_or_default();
    let pr_id = get(env, "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER")
        .map(|n| (n, "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER"))
        .or_else(|| {
            get(env, "SYSTEM_PULLREQUEST_PULLREQUESTID")
                .map(|n| (n, "SYSTEM_PULLREQUEST_PULLREQUESTID"))
        })
        .or_else(|| pull_request_number(full_ref).map(|n| (n, "BUILD_SOURCEBRANCH")));
    if let Some((number, source)) = pr_id {
        context.set(Field::PrNumber, number, source);
        take_branch(
            &mut context,
            env,
            Field::SourceBranch,
            "SYSTEM_PULLREQUEST_SOURCEBRANCH",
        );
        take_branch(
            &mut context,
            env,
            Field::TargetBranch,
            "SYSTEM_PULLREQUEST_TARGETBRANCH",
        );
        if get(env, "SYSTEM_PULLREQUEST_SOURCECOMMITID").is_some() {
            take(
                &mut context,
                env,
                Field::HeadSha,
                "SYSTEM_PULLREQUEST_SOURCECOMMITID",
            );
            take(&mut context, env, Field::MergeSha, "BUILD_SOURCEVERSION");
        }
        if is_true(env, "SYSTEM_PULLREQUEST_ISFORK") {
            const FORK_URI: &str = "SYSTEM_PULLREQUEST_SOURCEREPOSITORYURI";
            context.set_fork(get(env, FORK_URI).map(repo_path), FORK_URI);
        }
    } else {
        take_full_ref(&mut context, full_ref, "BUILD_SOURCEBRANCH");
    }
    if context.head_sha.is_none() {
        take(&mut context, env, Field::HeadSha, "BUILD_SOURCEVERSION");
    }
    take(&mut context, env, Field::BuildId, "BUILD_BUILDID");
    take(&mut context, env, Field::BuildNumber, "BUILD_BUILDNUMBER");
    take(&mut context, env, Field::Attempt, "SYSTEM_JOBATTEMPT");
    take(
        &mut context,
        env,
        Field::Repository,
        "BUILD_REPOSITORY_NAME",
    );
    take_env_template(
        &mut context,
        env,
        Field::BuildUrl,
        "{SYSTEM_COLLECTIONURI}/{SYSTEM_TEAMPROJECT}/_build/results?buildId={BUILD_BUILDID}",
    );
    context
}
