//! CircleCI: `CIRCLE_TAG` only on tag builds (which have no branch), `CIRCLE_PULL_REQUEST` is a
//! URL, `CIRCLE_PR_NUMBER` is set for forks only; there is no target branch.

use super::{get, take, take_branch};
use crate::{CiContext, EnvMap, Field, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = CiContext::default();
    context.set_provider(Provider::Circleci, "CIRCLECI");
    take_branch(&mut context, env, Field::SourceBranch, "CIRCLE_BRANCH");
    take(&mut context, env, Field::Tag, "CIRCLE_TAG");
    if get(env, "CIRCLE_PR_NUMBER").is_some() {
        take(&mut context, env, Field::PrNumber, "CIRCLE_PR_NUMBER");
    } else if let Some(number) = get(env, "CIRCLE_PULL_REQUEST").and_then(last_number) {
        context.set(Field::PrNumber, number, "CIRCLE_PULL_REQUEST");
    }
    take(&mut context, env, Field::HeadSha, "CIRCLE_SHA1");
    take(&mut context, env, Field::BuildId, "CIRCLE_WORKFLOW_ID");
    take(&mut context, env, Field::BuildNumber, "CIRCLE_BUILD_NUM");
    take(&mut context, env, Field::BuildUrl, "CIRCLE_BUILD_URL");
    if let (Some(owner), Some(repo)) = (
        get(env, "CIRCLE_PROJECT_USERNAME"),
        get(env, "CIRCLE_PROJECT_REPONAME"),
    ) {
        context.set(
            Field::Repository,
            format!("{owner}/{repo}"),
            "CIRCLE_PROJECT_USERNAME/CIRCLE_PROJECT_REPONAME",
        );
    }
    context
}

/// `https://github.com/o/r/pull/42` → `42`.
fn last_number(url: &str) -> Option<&str> {
    let last = url.trim_end_matches('/').rsplit('/').next()?;
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())).then_some(last)
}
