//! Jenkins: multibranch jobs name a pull request's branch `PR-24` (the real one is
//! `CHANGE_BRANCH`, and `CHANGE_FORK` names a fork); freestyle jobs have only the git plugin's
//! `GIT_BRANCH`, prefixed `origin/`.

use super::{
    Gap, Gaps, drop_branch_equal_to_tag, explain, get, start, take, take_branch, take_first,
};
use crate::{CiContext, EnvMap, Field, Provider};

const GAPS: Gaps = &[Gap::MergeCommit];

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = start(Provider::Jenkins, "JENKINS_URL");
    if let Some(change) = get(env, "CHANGE_ID") {
        context.set(Field::PrNumber, change, "CHANGE_ID");
        take_branch(&mut context, env, Field::SourceBranch, "CHANGE_BRANCH");
        take_branch(&mut context, env, Field::TargetBranch, "CHANGE_TARGET");
        if let Some(fork) = get(env, "CHANGE_FORK") {
            context.set_fork(Some(fork), "CHANGE_FORK");
        }
    } else {
        take(&mut context, env, Field::Tag, "TAG_NAME");
        if get(env, "BRANCH_NAME").is_some() {
            take_branch(&mut context, env, Field::SourceBranch, "BRANCH_NAME");
        } else if get(env, "GIT_LOCAL_BRANCH").is_some() {
            take_branch(&mut context, env, Field::SourceBranch, "GIT_LOCAL_BRANCH");
        } else if let Some(branch) = get(env, "GIT_BRANCH") {
            let name = branch.strip_prefix("origin/").unwrap_or(branch);
            context.set(
                Field::SourceBranch,
                crate::normalise_ref(name),
                "GIT_BRANCH",
            );
        }
        drop_branch_equal_to_tag(&mut context);
    }
    take(&mut context, env, Field::HeadSha, "GIT_COMMIT");
    take_first(
        &mut context,
        env,
        Field::BuildId,
        &["BUILD_TAG", "BUILD_ID"],
    );
    take(&mut context, env, Field::BuildNumber, "BUILD_NUMBER");
    take(&mut context, env, Field::BuildUrl, "BUILD_URL");
    take(&mut context, env, Field::Repository, "GIT_URL");
    explain(&mut context, GAPS);
    context
}
