//! AWS CodeBuild: webhook variables first, then `CODEBUILD_SOURCE_VERSION`, then git. Under
//! CodePipeline the source is a zip with no `.git` and no webhook variables.

use super::{Gap, Gaps, When, explain, get, start, take, take_full_ref};
use crate::{CiContext, EnvMap, Field, Provider};

const GAPS: Gaps = &[
    Gap::Other(
        Field::MergeSha,
        When::PullRequest,
        "CodeBuild names a merge commit only for a Bitbucket pull request merged by squashing \
         (CODEBUILD_WEBHOOK_MERGE_COMMIT)",
    ),
    Gap::Fork,
];

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = start(Provider::Codebuild, "CODEBUILD_BUILD_ID");
    from_trigger(&mut context, env);
    if context.source_branch.is_none()
        && context.tag.is_none()
        && let Some(head) = get(env, "CODEBUILD_WEBHOOK_HEAD_REF")
    {
        take_full_ref(&mut context, head, "CODEBUILD_WEBHOOK_HEAD_REF");
    }
    if context.pr_number.is_some()
        && let Some(base) = get(env, "CODEBUILD_WEBHOOK_BASE_REF")
    {
        context.set(
            Field::TargetBranch,
            crate::normalise_ref(base),
            "CODEBUILD_WEBHOOK_BASE_REF",
        );
    }
    if context.source_branch.is_none() && context.tag.is_none() && context.pr_number.is_none() {
        from_source_version(&mut context, env);
    }
    take(
        &mut context,
        env,
        Field::HeadSha,
        "CODEBUILD_RESOLVED_SOURCE_VERSION",
    );
    take(
        &mut context,
        env,
        Field::MergeSha,
        "CODEBUILD_WEBHOOK_MERGE_COMMIT",
    );
    take(&mut context, env, Field::BuildId, "CODEBUILD_BUILD_ID");
    take(
        &mut context,
        env,
        Field::BuildNumber,
        "CODEBUILD_BUILD_NUMBER",
    );
    take(&mut context, env, Field::BuildUrl, "CODEBUILD_BUILD_URL");
    take(
        &mut context,
        env,
        Field::Repository,
        "CODEBUILD_SOURCE_REPO_URL",
    );
    context.started_by_pipeline =
        get(env, "CODEBUILD_INITIATOR").is_some_and(|i| i.starts_with("codepipeline/"));
    if context.started_by_pipeline {
        context.note_unknown(
            Field::SourceBranch,
            "CODEBUILD_INITIATOR is codepipeline/…: CodePipeline hands CodeBuild a zip without \
             .git and without webhook variables, so no branch can be known from the build",
        );
    }
    explain(&mut context, GAPS);
    context
}

/// `CODEBUILD_WEBHOOK_TRIGGER`: `branch/<name>`, `tag/<name>` or `pr/<n>`.
fn from_trigger(context: &mut CiContext, env: &EnvMap) {
    const VAR: &str = "CODEBUILD_WEBHOOK_TRIGGER";
    let Some(trigger) = get(env, VAR) else { return };
    if let Some(branch) = trigger.strip_prefix("branch/") {
        context.set(Field::SourceBranch, branch, VAR);
    } else if let Some(tag) = trigger.strip_prefix("tag/") {
        context.set(Field::Tag, tag, VAR);
    } else if let Some(number) = trigger.strip_prefix("pr/") {
        context.set(Field::PrNumber, number, VAR);
    }
}

/// `CODEBUILD_SOURCE_VERSION`: a commit, `pr/<n>`, a full ref, or a branch name.
fn from_source_version(context: &mut CiContext, env: &EnvMap) {
    const VAR: &str = "CODEBUILD_SOURCE_VERSION";
    let Some(version) = get(env, VAR) else { return };
    if let Some(number) = version.strip_prefix("pr/") {
        context.set(Field::PrNumber, number, VAR);
    } else if version.starts_with("refs/") {
        take_full_ref(context, version, VAR);
    } else if is_commit(version) || version.starts_with("arn:") {
        // A commit id, or an S3 object version under CodePipeline: no branch in it.
    } else {
        context.set(Field::SourceBranch, version, VAR);
    }
}

fn is_commit(text: &str) -> bool {
    (7..=40).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}
