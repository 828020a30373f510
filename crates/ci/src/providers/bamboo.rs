//! Bamboo: variables are Bamboo's own, lowercased `bamboo_`-prefixed; a plan branch made for a
//! pull request has `bamboo_repository_pr_key` and the source and target branches. Bamboo plan
//! branches follow branches, so there are no tag builds to read.

use super::{Gap, Spec};
use crate::{CiContext, EnvMap, Provider};

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    Spec {
        provider: Provider::Bamboo,
        marker: "bamboo_buildKey",
        pr_number: &["bamboo_repository_pr_key"],
        pr_source: &["bamboo_repository_pr_sourceBranch"],
        pr_target: &["bamboo_repository_pr_targetBranch"],
        pr_head: &[],
        tag: &[],
        branch: &[
            "bamboo_planRepository_branch",
            "bamboo_planRepository_branchName",
        ],
        commit: &["bamboo_planRepository_revision"],
        build_id: &["bamboo_buildResultKey"],
        build_number: &["bamboo_buildNumber"],
        build_url: "{bamboo_buildResultsUrl}",
        repository: "{bamboo_planRepository_repositoryUrl}",
        fork: None,
        gaps: &[Gap::MergeCommit, Gap::Fork],
    }
    .read(env)
}
