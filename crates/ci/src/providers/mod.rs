//! One module per CI system, each reading its variables into a [`CiContext`]; this module
//! picks the system, holds the readers they share (the [`Spec`] most newer CIs fit), and
//! applies the explicit variables that always win.

mod appveyor;
mod azure;
mod bamboo;
mod bitbucket;
mod bitrise;
mod buildkite;
mod circleci;
mod cloudbuild;
mod codebuild;
mod codefresh;
mod drone;
mod github;
mod gitlab;
mod jenkins;
mod semaphore;
mod teamcity;
mod travis;

use crate::refs::{merge_queue_branch, normalise_ref};
use crate::{CiContext, EnvMap, Field, Provider};

/// Variables that always win over detection, in order: wharf's own, then the name
/// `fctl_register.sh` used, for users migrating from it.
const EXPLICIT_GIT_REF: [&str; 2] = ["WHARF_GIT_REF", "GIT_REF"];
const EXPLICIT_BUILD_ID: &str = "RUN_ID";

/// `mergeQueue` for builds of a GitHub merge-queue entry, whichever CI runs them.
pub(crate) const GITHUB_MERGE_QUEUE: &str = "github-merge-queue";

pub(crate) fn get<'a>(env: &'a EnvMap, name: &str) -> Option<&'a str> {
    env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

pub(crate) fn is_true(env: &EnvMap, name: &str) -> bool {
    get(env, name).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A context for `provider`, detected by `marker`.
pub(crate) fn start(provider: Provider, marker: &str) -> CiContext {
    let mut context = CiContext::default();
    context.set_provider(provider, marker);
    context
}

/// Copies `var` into `field` when set, recording the variable as the source.
pub(crate) fn take(context: &mut CiContext, env: &EnvMap, field: Field, var: &str) {
    if let Some(value) = get(env, var) {
        context.set(field, value, var);
    }
}

/// Like [`take`], for branch variables: strips `refs/heads/` and the like.
pub(crate) fn take_branch(context: &mut CiContext, env: &EnvMap, field: Field, var: &str) {
    if let Some(value) = get(env, var) {
        context.set(field, normalise_ref(value), var);
    }
}

/// Takes the first of `vars` that is set, unless `field` already has a value.
pub(crate) fn take_first(context: &mut CiContext, env: &EnvMap, field: Field, vars: &[&str]) {
    if context.get(field).is_some() {
        return;
    }
    if let Some(var) = vars.iter().find(|v| get(env, v).is_some()) {
        take(context, env, field, var);
    }
}

/// A pull request number, unless the variable holds the `false` some CIs put there.
pub(crate) fn take_pr_number(context: &mut CiContext, env: &EnvMap, vars: &[&str]) -> bool {
    let number = vars
        .iter()
        .find_map(|var| get(env, var).filter(|v| *v != "false").map(|v| (*var, v)));
    if let Some((var, number)) = number {
        context.set(Field::PrNumber, number, var);
    }
    context.pr_number.is_some()
}

/// The tag from the first of `vars` that names one: a tag name, or a full ref `refs/tags/…`
/// (other full refs name no tag).
pub(crate) fn take_tag(context: &mut CiContext, env: &EnvMap, vars: &[&str]) {
    for var in vars {
        let Some(value) = get(env, var) else { continue };
        let tag = match value.strip_prefix("refs/") {
            Some(rest) => rest.strip_prefix("tags/"),
            None => Some(value),
        };
        if let Some(tag) = tag {
            context.set(Field::Tag, tag, *var);
            return;
        }
    }
}

/// Reads a full ref (`refs/heads/…`, `refs/tags/…`) into the branch or the tag.
pub(crate) fn take_full_ref(context: &mut CiContext, full_ref: &str, source: &str) {
    if let Some(tag) = full_ref.strip_prefix("refs/tags/") {
        context.set(Field::Tag, tag, source);
    } else if !full_ref.starts_with("refs/pull/") && !full_ref.starts_with("refs/merge-requests/") {
        context.set(Field::SourceBranch, normalise_ref(full_ref), source);
    }
}

/// `template` with each `{NAME}` replaced by `lookup(NAME)` (trailing `/` trimmed), when every
/// value is there.
pub(crate) fn fill<'a>(template: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
    let mut value = String::new();
    let mut rest = template;
    while let Some((before, after)) = rest.split_once('{') {
        let (name, after) = after.split_once('}')?;
        value.push_str(before);
        value.push_str(lookup(name)?.trim_end_matches('/'));
        rest = after;
    }
    value.push_str(rest);
    (value != template).then_some(value)
}

/// Fills `field` from `template` (see [`fill`]); the source is the template without braces.
pub(crate) fn take_template<'a>(
    context: &mut CiContext,
    field: Field,
    template: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
) {
    if let Some(value) = fill(template, lookup) {
        context.set(field, value, template.replace(['{', '}'], ""));
    }
}

/// [`take_template`] over the environment.
pub(crate) fn take_env_template(
    context: &mut CiContext,
    env: &EnvMap,
    field: Field,
    template: &str,
) {
    take_template(context, field, template, |name| get(env, name));
}

/// A tag build often reports the tag as its "branch" too; a tag is not a branch.
pub(crate) fn drop_branch_equal_to_tag(context: &mut CiContext) {
    if context.tag.is_some() && context.source_branch == context.tag {
        context.clear(Field::SourceBranch);
    }
}

/// `owner/name` from a repository URL (`https://host/owner/name.git`, `git@host:owner/name.git`)
/// or slug.
pub(crate) fn repo_path(url: &str) -> &str {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    if let Some((_, rest)) = url.split_once("://") {
        rest.split_once('/').map_or(rest, |(_, path)| path)
    } else if let Some((host, path)) = url.split_once(':')
        && host.contains('@')
    {
        path
    } else {
        url
    }
}

/// A pull request whose head repository (`head_var`) is not the base repository (`base_var`)
/// comes from a fork. Repositories are compared by `owner/name`, whatever URL form each has.
pub(crate) fn fork_if_repos_differ(
    context: &mut CiContext,
    env: &EnvMap,
    head_var: &str,
    base_var: &str,
) {
    if let (Some(head), Some(base)) = (get(env, head_var), get(env, base_var))
        && !repo_path(head).eq_ignore_ascii_case(repo_path(base))
    {
        context.set_fork(Some(repo_path(head)), head_var);
    }
}

/// When a value a CI leaves out applies.
#[derive(Clone, Copy)]
pub(crate) enum When {
    Always,
    PullRequest,
}

/// A value a CI never gives, for `unknown`.
#[derive(Clone, Copy)]
pub(crate) enum Gap {
    /// No merge commit for a pull request.
    MergeCommit,
    /// Nothing says whether a pull request comes from a fork.
    Fork,
    Other(Field, When, &'static str),
}

pub(crate) type Gaps = &'static [Gap];

/// Records the reason for each gap that applies to this build.
pub(crate) fn explain(context: &mut CiContext, gaps: Gaps) {
    let name = context.provider.map_or("the CI", Provider::name);
    let pull_request = context.pr_number.is_some();
    for gap in gaps {
        match *gap {
            Gap::MergeCommit if pull_request => context.note_unknown(
                Field::MergeSha,
                format!("{name} names no merge commit for a pull request"),
            ),
            Gap::Fork if pull_request => context.note_unknown(
                Field::HeadRepository,
                format!("{name} does not say whether a pull request comes from a fork"),
            ),
            Gap::Other(field, when, reason) if pull_request || matches!(when, When::Always) => {
                context.note_unknown(field, reason)
            }
            _ => {}
        }
    }
}

/// The variables of a CI whose build is a branch, a tag or a pull request, each named by its
/// own variables: most CIs fit this, and [`read`] reads them all the same way.
pub(crate) struct Spec {
    pub provider: Provider,
    pub marker: &'static str,
    /// The pull request number (first set wins; `false` is no pull request).
    pub pr_number: &'static [&'static str],
    pub pr_source: &'static [&'static str],
    pub pr_target: &'static [&'static str],
    /// A pull request's head commit, where `commit` is then a merge commit.
    pub pr_head: &'static [&'static str],
    /// Tag variables; one holding a full ref counts only when it is `refs/tags/…`.
    pub tag: &'static [&'static str],
    pub branch: &'static [&'static str],
    pub commit: &'static [&'static str],
    pub build_id: &'static [&'static str],
    pub build_number: &'static [&'static str],
    /// A [`take_template`] template; empty when the CI gives no URL.
    pub build_url: &'static str,
    pub repository: &'static str,
    /// The pull request's head repository and the base repository, compared to spot forks.
    pub fork: Option<(&'static str, &'static str)>,
    pub gaps: Gaps,
}

impl Spec {
    pub(crate) fn read(&self, env: &EnvMap) -> CiContext {
        let mut context = start(self.provider, self.marker);
        let pull_request = take_pr_number(&mut context, env, self.pr_number);
        if pull_request {
            self.read_pull_request(&mut context, env);
        } else {
            // A tag build has no branch, whatever the branch variable says then.
            take_tag(&mut context, env, self.tag);
            if context.tag.is_none()
                && let Some(var) = self.branch.iter().find(|v| get(env, v).is_some())
            {
                take_branch(&mut context, env, Field::SourceBranch, var);
            }
            take_first(&mut context, env, Field::HeadSha, self.commit);
        }
        take_first(&mut context, env, Field::BuildId, self.build_id);
        take_first(&mut context, env, Field::BuildNumber, self.build_number);
        take_env_template(&mut context, env, Field::BuildUrl, self.build_url);
        take_env_template(&mut context, env, Field::Repository, self.repository);
        explain(&mut context, self.gaps);
        context
    }

    fn read_pull_request(&self, context: &mut CiContext, env: &EnvMap) {
        for (field, vars) in [
            (Field::SourceBranch, self.pr_source),
            (Field::TargetBranch, self.pr_target),
        ] {
            if let Some(var) = vars.iter().find(|v| get(env, v).is_some()) {
                take_branch(context, env, field, var);
            }
        }
        take_first(context, env, Field::HeadSha, self.pr_head);
        if context.head_sha.is_some() {
            let commit = self
                .commit
                .iter()
                .find_map(|v| get(env, v).map(|c| (*v, c)));
            if let Some((var, commit)) = commit
                && Some(commit) != context.head_sha.as_deref()
            {
                context.set(Field::MergeSha, commit, var);
            }
        } else {
            take_first(context, env, Field::HeadSha, self.commit);
        }
        if let Some((head, base)) = self.fork {
            fork_if_repos_differ(context, env, head, base);
        }
    }
}

type Detector = fn(&EnvMap) -> CiContext;

/// Which CI is this? The first whose marker variable is set. Forgejo and Gitea before GitHub
/// (they set GitHub's variables too), Woodpecker before GitLab (both use `CI_COMMIT_*` names),
/// Harness before Drone (Harness sets `DRONE=true`).
fn detector(env: &EnvMap) -> Option<Detector> {
    let set = |name| get(env, name).is_some();
    let markers: [(bool, Detector); 21] = [
        (is_true(env, "FORGEJO_ACTIONS"), github::forgejo),
        (is_true(env, "GITEA_ACTIONS"), github::gitea),
        (is_true(env, "GITHUB_ACTIONS"), github::github),
        (get(env, "CI") == Some("woodpecker"), drone::woodpecker),
        (is_true(env, "GITLAB_CI"), gitlab::detect),
        (is_true(env, "BUILDKITE"), buildkite::detect),
        (is_true(env, "CIRCLECI"), circleci::detect),
        (set("JENKINS_URL") || set("JENKINS_HOME"), jenkins::detect),
        (set("CODEBUILD_BUILD_ID"), codebuild::detect),
        (is_true(env, "TF_BUILD"), azure::detect),
        (set("BITBUCKET_BUILD_NUMBER"), bitbucket::detect),
        (set("HARNESS_BUILD_ID"), drone::harness),
        (is_true(env, "DRONE"), drone::drone),
        (is_true(env, "TRAVIS"), travis::detect),
        (set("TEAMCITY_VERSION"), teamcity::detect),
        (is_true(env, "SEMAPHORE"), semaphore::detect),
        (is_true(env, "BITRISE_IO"), bitrise::detect),
        (set("CF_BUILD_ID"), codefresh::detect),
        (set("bamboo_buildKey"), bamboo::detect),
        (is_true(env, "APPVEYOR"), appveyor::detect),
        (set("BUILDER_OUTPUT"), cloudbuild::detect),
    ];
    markers
        .into_iter()
        .find_map(|(present, detect)| present.then_some(detect))
}

pub(crate) fn detect_provider(env: &EnvMap) -> CiContext {
    let ci_flag = is_true(env, "CI") || get(env, "CI") == Some("woodpecker");
    let mut context = match detector(env) {
        Some(detect) => detect(env),
        None if ci_flag => unknown_ci(),
        None => start(Provider::Git, "no CI variables"),
    };
    context.in_ci = context.provider.is_some_and(Provider::is_ci) || ci_flag;
    context
}

/// `CI` is set, but by no CI wharf knows: say what the values fall back to.
fn unknown_ci() -> CiContext {
    let mut context = start(
        Provider::Git,
        "CI is set, but no CI wharf knows is detected: it fell back to the local git checkout \
         (branch from git symbolic-ref HEAD, commit from git rev-parse HEAD), to WHARF_GIT_REF \
         or GIT_REF for the ref, and to RUN_ID for the build",
    );
    const UNKNOWN: &str = "an unknown CI names no build in variables wharf reads";
    explain(
        &mut context,
        &[
            Gap::Other(
                Field::BuildId,
                When::Always,
                "an unknown CI: set RUN_ID to name the build",
            ),
            Gap::Other(Field::BuildNumber, When::Always, UNKNOWN),
            Gap::Other(Field::BuildUrl, When::Always, UNKNOWN),
            Gap::Other(Field::Repository, When::Always, UNKNOWN),
        ],
    );
    context
}

/// After detection and the git fallback: a branch of GitHub's merge queue
/// (`gh-readonly-queue/<base>/pr-<n>-<sha>`), built by whichever CI, names the branch the
/// queue merges into and the pull request the entry is for.
pub(crate) fn merge_queue_from_branch(context: &mut CiContext) {
    let Some(branch) = context.source_branch.clone() else {
        return;
    };
    let Some((base, number)) = merge_queue_branch(&branch) else {
        return;
    };
    let source = format!(
        "{} (gh-readonly-queue/<base>/pr-<number>-<sha>)",
        context.sources[Field::SourceBranch.key()]
    );
    if context.merge_queue.is_none() {
        context.set(Field::MergeQueue, GITHUB_MERGE_QUEUE, source.clone());
    }
    if context.target_branch.is_none() {
        context.set(Field::TargetBranch, base, source.clone());
    }
    if context.pr_number.is_none() {
        let note = "the newest entry of the group; GitHub names none of the pull requests \
                    queued ahead of it, whose changes the group holds too";
        context.set(Field::PrNumber, number, format!("{source}: {note}"));
    }
}

pub(crate) fn apply_explicit_overrides(context: &mut CiContext, env: &EnvMap) {
    if let Some(var) = EXPLICIT_GIT_REF.iter().find(|v| get(env, v).is_some()) {
        let value = normalise_ref(get(env, var).unwrap_or_default());
        context.set(Field::GitRef, value, *var);
    } else if let Some(value) = buildkite::plugin_git_ref(env) {
        context.set(
            Field::GitRef,
            normalise_ref(&value),
            "BUILDKITE_PLUGIN_CONFIGURATION:git-ref",
        );
    }
    take(context, env, Field::BuildId, EXPLICIT_BUILD_ID);
}
