//! Where am I? CI detection and git ref normalisation.
//!
//! This crate owns turning a CI job's environment (a map of variables, the event or parameter
//! files some CIs write, and the local git checkout as a last resort) into a [`CiContext`]:
//! provider, branches, tag, commits, pull request (and its fork), merge queue and build, plus
//! `gitRef`, the one value routing rules see; for every value the variable, file or command it
//! came from, and for every value the build has but the CI does not give, why it is unknown.
//!
//! It is pure apart from reading those files and asking git through [`GitProbe`]; it never
//! reads the process environment itself (callers pass it in), never talks to the network, and
//! never guesses a value.

mod context;
mod git;
mod identity;
mod providers;
mod refs;

pub use context::{CiContext, CiError, Field, Provider, RefFrom};
pub use git::{GitProbe, NoGit, SystemGit};
pub use identity::{
    CIRCLECI_VARIABLE, DEFAULT_GITLAB_VARIABLE, GITHUB_REQUEST_TOKEN, GITHUB_REQUEST_URL,
    IdentitySource, identity_source,
};
pub use refs::normalise_ref;

use std::collections::BTreeMap;

/// The environment a detection reads: variable name → value.
pub type EnvMap = BTreeMap<String, String>;

/// An [`EnvMap`] of `pairs`: the environment a test or an adapter hands over.
pub fn env_of(pairs: &[(&str, &str)]) -> EnvMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Reads the current process environment into an [`EnvMap`] (non-UTF-8 values are skipped).
pub fn process_env() -> EnvMap {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Detects the CI context from `env`, falling back to `git` for what the CI does not say.
pub fn detect(env: &EnvMap, git: &dyn GitProbe, ref_from: RefFrom) -> CiContext {
    let mut context = providers::detect_provider(env);
    // When the CI names a merge commit, the checkout is that merge: git's HEAD is not the head.
    if context.head_sha.is_none() && context.merge_sha.is_none() {
        match git.head_sha() {
            Some(sha) => context.set(Field::HeadSha, sha, "git rev-parse HEAD"),
            None => context.note_unknown(
                Field::HeadSha,
                "no variable names the commit, and git rev-parse HEAD finds none (no checkout)",
            ),
        }
    }
    let knows_a_ref = context.source_branch.is_some() || context.tag.is_some();
    if !knows_a_ref
        && context
            .provider
            .is_some_and(Provider::may_ask_git_for_branch)
    {
        match git.branch() {
            Some(branch) => context.set(Field::SourceBranch, branch, "git symbolic-ref HEAD"),
            None => context.note_unknown(
                Field::SourceBranch,
                "no variable names the branch, and git symbolic-ref HEAD finds none (detached \
                 HEAD or no checkout)",
            ),
        }
    }
    providers::merge_queue_from_branch(&mut context);
    context.derive_git_ref(ref_from);
    providers::apply_explicit_overrides(&mut context, env);
    identity::note(&mut context, env);
    context.finish();
    context
}

#[cfg(test)]
mod tests;
