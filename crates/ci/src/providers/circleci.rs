//! CircleCI: `CIRCLE_TAG` only on tag builds (which have no branch), `CIRCLE_PULL_REQUEST` is a
//! URL, `CIRCLE_PR_NUMBER`, `CIRCLE_PR_USERNAME` and `CIRCLE_PR_REPONAME` are set for forks only
//! (whose branch is `pull/N`); there is no target branch.

use super::{Gap, Gaps, When, explain, fill, get, start, take, take_branch, take_env_template};
use crate::{CiContext, EnvMap, Field, Provider};

const GAPS: Gaps = &[
    Gap::Other(
        Field::TargetBranch,
        When::PullRequest,
        "CircleCI does not name a pull request's target branch",
    ),
    Gap::MergeCommit,
];

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = start(Provider::Circleci, "CIRCLECI");
    take_branch(&mut context, env, Field::SourceBranch, "CIRCLE_BRANCH");
    take(&mut context, env, Field::Tag, "CIRCLE_TAG");
    if get(env, "CIRCLE_PR_NUMBER").is_some() {
        take(&mut context, env, Field::PrNumber, "CIRCLE_PR_NUMBER");
        let fork = fill("{CIRCLE_PR_USERNAME}/{CIRCLE_PR_REPONAME}", |n| get(env, n));
        context.set_fork(fork.as_deref(), "CIRCLE_PR_USERNAME/CIRCLE_PR_REPONAME");
    } else if let Some(number) = get(env, "CIRCLE_PULL_REQUEST").and_then(last_number) {
        context.set(Field::PrNumber, number, "CIRCLE_PULL_REQUEST");
    }
    take(&mut context, env, Field::HeadSha, "CIRCLE_SHA1");
    take(&mut context, env, Field::BuildId, "CIRCLE_WORKFLOW_ID");
    take(&mut context, env, Field::BuildNumber, "CIRCLE_BUILD_NUM");
    take(&mut context, env, Field::BuildUrl, "CIRCLE_BUILD_URL");
    take_env_template(
        &mut context,
        env,
        Field::Repository,
        "{CIRCLE_PROJECT_USERNAME}/{CIRCLE_PROJECT_REPONAME}",
    );
    explain(&mut context, GAPS);
    context
}

/// `https://github.com/o/r/pull/42` → `42`.
fn last_number(url: &str) -> Option<&str> {
    let last = url.trim_end_matches('/').rsplit('/').next()?;
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())).then_some(last)
}
