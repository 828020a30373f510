use super::*;
use crate::env_of as env;
use proptest::prelude::*;

struct FakeGit {
    branch: Option<&'static str>,
    sha: Option<&'static str>,
}

impl GitProbe for FakeGit {
    fn branch(&self) -> Option<String> {
        self.branch.map(str::to_string)
    }
    fn head_sha(&self) -> Option<String> {
        self.sha.map(str::to_string)
    }
}

fn github(extra: &[(&str, &str)]) -> EnvMap {
    let mut vars = env(&[
        ("GITHUB_ACTIONS", "true"),
        ("CI", "true"),
        ("GITHUB_RUN_ID", "9137712345"),
        ("GITHUB_RUN_NUMBER", "88"),
        ("GITHUB_RUN_ATTEMPT", "1"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GITHUB_SHA", "1111111111111111111111111111111111111111"),
    ]);
    vars.extend(env(extra));
    vars
}

#[test]
fn github_branch_push_keeps_the_full_branch_name() {
    let vars = github(&[
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", "refs/heads/feature/x"),
    ]);
    let context = detect(&vars, &NoGit, RefFrom::Source);
    assert_eq!(context.provider, Some(Provider::GithubActions));
    assert_eq!(context.git_ref.as_deref(), Some("feature/x"));
    assert_eq!(context.sources["gitRef"], "GITHUB_REF");
    assert_eq!(
        context.build_url.as_deref(),
        Some("https://github.com/acme/shop/actions/runs/9137712345")
    );
    assert_eq!(context.build_id.as_deref(), Some("9137712345"));
    assert!(context.in_ci);
}

#[test]
fn github_tag_push_routes_by_tag() {
    let vars = github(&[
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", "refs/tags/v1.2.3"),
    ]);
    let context = detect(&vars, &NoGit, RefFrom::Source);
    assert_eq!(context.tag.as_deref(), Some("v1.2.3"));
    assert_eq!(context.source_branch, None);
    assert_eq!(context.git_ref.as_deref(), Some("v1.2.3"));
}

#[test]
fn github_pull_request_uses_head_branch_and_head_sha_from_event() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"number": 42, "pull_request": {"number": 42,
            "head": {"ref": "feature/login", "sha": "2222222222222222222222222222222222222222"},
            "base": {"ref": "main", "sha": "3333333333333333333333333333333333333333"}}}"#,
    )
    .unwrap();
    let vars = github(&[
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_REF", "refs/pull/42/merge"),
        ("GITHUB_HEAD_REF", "feature/login"),
        ("GITHUB_BASE_REF", "main"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ]);
    let context = detect(&vars, &NoGit, RefFrom::Source);
    assert_eq!(context.git_ref.as_deref(), Some("feature/login"));
    assert_eq!(context.target_branch.as_deref(), Some("main"));
    assert_eq!(context.pr_number.as_deref(), Some("42"));
    assert_eq!(
        context.head_sha.as_deref(),
        Some("2222222222222222222222222222222222222222")
    );
    assert_eq!(
        context.merge_sha.as_deref(),
        Some("1111111111111111111111111111111111111111")
    );
    assert_eq!(
        context.sources["headSha"],
        "GITHUB_EVENT_PATH:pull_request.head.sha"
    );

    let target = detect(&vars, &NoGit, RefFrom::Target);
    assert_eq!(target.git_ref.as_deref(), Some("main"));
}

#[test]
fn plain_git_gives_the_checked_out_branch() {
    let git = FakeGit {
        branch: Some("release/2.1"),
        sha: Some("abc"),
    };
    let context = detect(&EnvMap::new(), &git, RefFrom::Source);
    assert_eq!(context.provider, Some(Provider::Git));
    assert_eq!(context.git_ref.as_deref(), Some("release/2.1"));
    assert_eq!(context.head_sha.as_deref(), Some("abc"));
    assert!(!context.in_ci);
}

#[test]
fn detached_head_without_variables_is_a_clear_error_not_a_guess() {
    let git = FakeGit {
        branch: None,
        sha: Some("abc"),
    };
    let context = detect(&env(&[("CI", "true")]), &git, RefFrom::Source);
    assert!(context.in_ci);
    let error = context.require_git_ref().unwrap_err().to_string();
    assert!(error.contains("--git-ref"), "{error}");
    assert!(error.contains("WHARF_GIT_REF"), "{error}");
}

#[test]
fn explicit_variables_win_and_say_so() {
    let vars = github(&[
        ("GITHUB_REF", "refs/heads/main"),
        ("GIT_REF", "refs/heads/hotfix/9"),
        ("RUN_ID", "run-7"),
    ]);
    let context = detect(&vars, &NoGit, RefFrom::Source);
    assert_eq!(context.git_ref.as_deref(), Some("hotfix/9"));
    assert_eq!(context.sources["gitRef"], "GIT_REF");
    assert_eq!(context.build_id.as_deref(), Some("run-7"));
    assert_eq!(context.sources["buildId"], "RUN_ID");
}

#[test]
fn registration_metadata_carries_what_is_known() {
    let vars = github(&[("GITHUB_REF", "refs/tags/v2")]);
    let metadata = detect(&vars, &NoGit, RefFrom::Source).registration_metadata();
    assert_eq!(metadata["TAG"], "v2");
    assert_eq!(metadata["CI_PROVIDER"], "github-actions");
    assert!(metadata.contains_key("COMMIT_SHA"));
    assert!(!metadata.contains_key("PR_NUMBER"));
}

#[test]
fn system_git_reads_a_real_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(status.status.success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "feature/deep/name"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    ]);
    let probe = SystemGit::new(dir.path());
    assert_eq!(probe.branch().as_deref(), Some("feature/deep/name"));
    let sha = probe.head_sha().unwrap();
    git(&["checkout", "-q", "--detach"]);
    assert_eq!(probe.branch(), None, "detached HEAD has no branch");
    assert_eq!(probe.head_sha(), Some(sha));
}

/// Runs `git args` in `dir`, as a test's set-up: it must succeed.
fn run_git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// What the `git` binary says of `dir`: (branch, commit).
fn git_says(dir: &std::path::Path) -> (Option<String>, Option<String>) {
    let ask = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap().trim().to_string();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    (
        ask(&["symbolic-ref", "--short", "-q", "HEAD"]),
        ask(&["rev-parse", "--verify", "-q", "HEAD"]),
    )
}

#[test]
fn system_git_reads_the_checkouts_files_as_git_does() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("repo");
    std::fs::create_dir_all(repo.join("sub/dir")).unwrap();
    let git = run_git;
    let same = |dir: &std::path::Path, state: &str| {
        let probe = SystemGit::new(dir);
        assert_eq!((probe.branch(), probe.head_sha()), git_says(dir), "{state}");
        let head = probe.head();
        assert_ne!(
            head,
            crate::git::Head::AskGit,
            "{state}: read from the files"
        );
    };
    same(root.path(), "outside a repository");
    git(&repo, &["init", "-q", "-b", "main"]);
    same(&repo, "an unborn branch");
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "one"]);
    same(&repo, "a loose ref");
    same(&repo.join("sub/dir"), "a subdirectory");
    git(&repo, &["pack-refs", "--all"]);
    same(&repo, "a packed ref");
    git(&repo, &["checkout", "-q", "-b", "feature/x"]);
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "two"]);
    same(&repo, "a branch with a slash, loose beside packed");
    git(&repo, &["pack-refs", "--all"]);
    git(&repo, &["checkout", "-q", "main"]);
    same(&repo, "two packed refs, HEAD on the one listed second");
    git(&repo, &["checkout", "-q", "feature/x"]);
    git(&repo, &["checkout", "-q", "--detach"]);
    same(&repo, "a detached HEAD");
    let worktree = root.path().join("worktree");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "side",
            worktree.to_str().unwrap(),
        ],
    );
    same(&worktree, "a linked worktree");
    assert_eq!(SystemGit::new(&worktree).branch().as_deref(), Some("side"));
}

#[test]
fn system_git_asks_git_where_the_files_do_not_settle_it() {
    use crate::git::Head;
    let root = tempfile::tempdir().unwrap();
    let git = run_git;
    let remote = root.path().join("remote-head");
    std::fs::create_dir_all(&remote).unwrap();
    git(&remote, &["init", "-q", "-b", "main"]);
    git(&remote, &["commit", "-q", "--allow-empty", "-m", "one"]);
    git(&remote, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(
        &remote,
        &["symbolic-ref", "HEAD", "refs/remotes/origin/main"],
    );
    let probe = SystemGit::new(&remote);
    assert_eq!(probe.head(), Head::AskGit, "HEAD outside refs/heads/");
    let (branch, sha) = (probe.branch(), probe.head_sha());
    assert_eq!((branch.clone(), sha.clone()), git_says(&remote));
    assert_eq!(branch.as_deref(), Some("origin/main"));
    assert!(
        sha.is_some_and(|sha| sha.len() == 40),
        "the commit, from git"
    );

    let garbled = root.path().join("garbled-head");
    std::fs::create_dir_all(&garbled).unwrap();
    git(&garbled, &["init", "-q", "-b", "main"]);
    std::fs::write(garbled.join(".git/HEAD"), "0123456789abcdef\n").unwrap();
    assert_eq!(
        SystemGit::new(&garbled).head(),
        Head::AskGit,
        "a HEAD of hex digits that is no object id"
    );

    let unreadable = root.path().join("unreadable-packed-refs");
    std::fs::create_dir_all(&unreadable).unwrap();
    git(&unreadable, &["init", "-q", "-b", "main"]);
    std::fs::create_dir(unreadable.join(".git/packed-refs")).unwrap();
    assert_eq!(
        SystemGit::new(&unreadable).head(),
        Head::AskGit,
        "packed-refs that cannot be read is not an unborn branch"
    );
}

/// Variables detection reads, so arbitrary maps reach every provider's code.
const MARKERS: [&str; 52] = [
    "CI",
    "GITHUB_ACTIONS",
    "GITEA_ACTIONS",
    "FORGEJO_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_REF",
    "GITHUB_HEAD_REF",
    "GITHUB_EVENT_PATH",
    "GIT_REF",
    "GITLAB_CI",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_EVENT_TYPE",
    "CI_EXTERNAL_PULL_REQUEST_IID",
    "CI_COMMIT_TAG",
    "BUILDKITE",
    "BUILDKITE_BRANCH",
    "BUILDKITE_PULL_REQUEST",
    "BUILDKITE_MERGE_QUEUE_BASE_BRANCH",
    "BUILDKITE_PLUGIN_CONFIGURATION",
    "BUILDKITE_RETRY_COUNT",
    "CIRCLECI",
    "CIRCLE_PULL_REQUEST",
    "CIRCLE_PR_NUMBER",
    "JENKINS_URL",
    "CHANGE_ID",
    "GIT_BRANCH",
    "CODEBUILD_BUILD_ID",
    "CODEBUILD_WEBHOOK_TRIGGER",
    "CODEBUILD_SOURCE_VERSION",
    "TF_BUILD",
    "BUILD_SOURCEBRANCH",
    "SYSTEM_PULLREQUEST_PULLREQUESTID",
    "SYSTEM_PULLREQUEST_ISFORK",
    "BITBUCKET_BUILD_NUMBER",
    "BITBUCKET_PR_ID",
    "DRONE",
    "DRONE_BUILD_EVENT",
    "HARNESS_BUILD_ID",
    "CI_PIPELINE_EVENT",
    "TRAVIS",
    "TRAVIS_PULL_REQUEST",
    "TEAMCITY_VERSION",
    "TEAMCITY_BUILD_PROPERTIES_FILE",
    "SEMAPHORE",
    "BITRISE_IO",
    "CF_BUILD_ID",
    "CF_BASE_BRANCH",
    "bamboo_buildKey",
    "APPVEYOR",
    "BUILDER_OUTPUT",
    "WHARF_GIT_REF",
    "RUN_ID",
];

#[test]
fn merge_queue_branches_name_their_base_and_pull_request() {
    use crate::refs::merge_queue_branch;
    let sha = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
    assert_eq!(
        merge_queue_branch(&format!("gh-readonly-queue/main/pr-42-{sha}")),
        Some(("main", "42"))
    );
    assert_eq!(
        merge_queue_branch(&format!("gh-readonly-queue/release/2.x/pr-7-{sha}")),
        Some(("release/2.x", "7"))
    );
    for other in [
        "main",
        "gh-readonly-queue/main",
        "gh-readonly-queue//pr-1-abc",
        "gh-readonly-queue/main/pr-x-abc",
        "gh-readonly-queue/main/pr-1-",
        "feature/gh-readonly-queue/main/pr-1-abc",
    ] {
        assert_eq!(merge_queue_branch(other), None, "{other}");
    }
}

#[test]
fn repositories_compare_by_owner_and_name_whatever_the_url() {
    use crate::providers::repo_path;
    for url in [
        "https://github.com/acme/shop.git",
        "git@github.com:acme/shop.git",
        "ssh://git@github.com/acme/shop",
        "https://github.com/acme/shop/",
        "acme/shop",
    ] {
        assert_eq!(repo_path(url), "acme/shop", "{url}");
    }
}

#[test]
fn a_fork_the_ci_flags_but_does_not_name_gives_no_git_ref() {
    let vars = env(&[
        ("CF_BUILD_ID", "1"),
        ("CF_BRANCH", "main"),
        ("CF_PULL_REQUEST_NUMBER", "3"),
        ("CF_PULL_REQUEST_TARGET", "main"),
        ("CF_PULL_REQUEST_IS_FORK", "true"),
    ]);
    let context = detect(&vars, &NoGit, RefFrom::Source);
    assert_eq!(context.git_ref, None);
    let error = context.require_git_ref().unwrap_err().to_string();
    assert!(error.contains("comes from a fork"), "{error}");
    let target = detect(&vars, &NoGit, RefFrom::Target);
    assert_eq!(target.git_ref.as_deref(), Some("main"));
}

#[test]
fn merge_queue_builds_route_by_target_on_request() {
    let vars = github(&[
        ("GITHUB_EVENT_NAME", "merge_group"),
        (
            "GITHUB_REF",
            "refs/heads/gh-readonly-queue/main/pr-9-0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
        ),
    ]);
    let context = detect(&vars, &NoGit, RefFrom::Target);
    assert_eq!(context.git_ref.as_deref(), Some("main"));
    let metadata = context.registration_metadata();
    assert_eq!(metadata["TARGET_BRANCH"], "main");
    assert_eq!(metadata["MERGE_QUEUE"], "github-merge-queue");
}

proptest! {
    #[test]
    fn normalising_twice_changes_nothing(raw in "\\PC{0,40}") {
        let once = normalise_ref(&raw);
        prop_assert_eq!(normalise_ref(&once), once);
    }

    #[test]
    fn arbitrary_environments_never_panic(
        vars in proptest::collection::btree_map(
            prop_oneof![
                proptest::sample::select(MARKERS.to_vec()).prop_map(str::to_string),
                "[A-Z_]{1,12}",
            ],
            "\\PC{0,30}",
            0..8,
        )
    ) {
        let context = detect(&vars, &NoGit, RefFrom::Source);
        if let Some(git_ref) = &context.git_ref {
            prop_assert_eq!(&normalise_ref(git_ref), git_ref);
        }
        for field in Field::VALUES {
            let set = context.get(field).is_some();
            prop_assert_eq!(set, context.sources.contains_key(field.key()), "{:?}", field);
            prop_assert!(!(set && context.unknown.contains_key(field.key())), "{:?}", field);
        }
    }
}

// ---- what the mutation run showed untested (see TESTING.md) ----

#[test]
fn the_process_environment_is_read() {
    assert!(
        process_env().contains_key("CARGO_MANIFEST_DIR"),
        "cargo runs tests with its variables set"
    );
}

#[test]
fn git_is_asked_for_a_branch_only_when_no_ref_is_known_and_the_ci_may_lack_one() {
    let probe = FakeGit {
        branch: Some("from-git"),
        sha: Some("2222222222222222222222222222222222222222"),
    };
    // Jenkins may lack the branch, but a tag build knows its ref: git is not asked.
    let tag = env(&[
        ("JENKINS_URL", "https://ci.example"),
        ("TAG_NAME", "v1.2.0"),
    ]);
    let context = detect(&tag, &probe, RefFrom::Source);
    assert_eq!(context.tag.as_deref(), Some("v1.2.0"));
    assert_eq!(context.source_branch, None, "a known tag keeps git out");
    // GitHub always says its ref: git is never asked, even when the ref is missing.
    let bare = github(&[("GITHUB_EVENT_NAME", "push")]);
    let context = detect(&bare, &probe, RefFrom::Source);
    assert_eq!(context.source_branch, None, "GitHub's own variables only");
    // Jenkins without any ref: git answers.
    let freestyle = env(&[("JENKINS_URL", "https://ci.example")]);
    let context = detect(&freestyle, &probe, RefFrom::Source);
    assert_eq!(context.source_branch.as_deref(), Some("from-git"));
    assert_eq!(context.sources["sourceBranch"], "git symbolic-ref HEAD");
}

#[test]
fn a_known_ci_is_ci_without_the_ci_variable_and_no_variables_is_plain_git() {
    let mut vars = github(&[
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", "refs/heads/main"),
    ]);
    vars.remove("CI");
    assert!(detect(&vars, &NoGit, RefFrom::Source).in_ci);
    let plain = detect(&EnvMap::new(), &NoGit, RefFrom::Source);
    assert_eq!(plain.provider, Some(Provider::Git));
    assert!(!plain.in_ci);
    assert_eq!(plain.sources["provider"], "no CI variables");
    let unknown = detect(&env(&[("CI", "true")]), &NoGit, RefFrom::Source);
    assert!(unknown.in_ci);
    assert_ne!(unknown.sources["provider"], "no CI variables");
}

#[test]
fn the_ci_variable_counts_as_true_in_any_case_or_1_and_nothing_else() {
    // docs/ci-providers.md, "Unknown CIs", says exactly this.
    for value in ["true", "True", "TRUE", "1", "woodpecker"] {
        assert!(
            detect(&env(&[("CI", value)]), &NoGit, RefFrom::Source).in_ci,
            "CI={value}"
        );
    }
    for value in ["false", "0", "yes", ""] {
        assert!(
            !detect(&env(&[("CI", value)]), &NoGit, RefFrom::Source).in_ci,
            "CI={value}"
        );
    }
}

#[test]
fn the_hint_for_a_missing_ref_fits_how_the_build_started() {
    let by_hand = env(&[
        ("CODEBUILD_BUILD_ID", "shop:1"),
        ("CODEBUILD_INITIATOR", "alice"),
    ]);
    let error = detect(&by_hand, &NoGit, RefFrom::Source)
        .require_git_ref()
        .unwrap_err()
        .to_string();
    assert!(!error.contains("CodePipeline"), "{error}");
    let piped = env(&[
        ("CODEBUILD_BUILD_ID", "shop:1"),
        ("CODEBUILD_INITIATOR", "codepipeline/shop"),
    ]);
    let error = detect(&piped, &NoGit, RefFrom::Source)
        .require_git_ref()
        .unwrap_err()
        .to_string();
    assert!(error.contains("CodePipeline"), "{error}");
}

#[test]
fn only_ref_fields_are_normalised() {
    let mut context = CiContext::default();
    context.set(Field::Repository, "refs/heads/odd-name", "test");
    assert_eq!(context.repository.as_deref(), Some("refs/heads/odd-name"));
    context.set(Field::SourceBranch, "refs/heads/main", "test");
    assert_eq!(context.source_branch.as_deref(), Some("main"));
}

#[test]
fn the_target_becomes_the_ref_only_for_a_pull_request_or_a_merge_queue() {
    let mut branch = CiContext::default();
    branch.set(Field::SourceBranch, "feature/x", "test");
    branch.set(Field::TargetBranch, "main", "test");
    branch.derive_git_ref(RefFrom::Target);
    assert_eq!(
        branch.git_ref.as_deref(),
        Some("feature/x"),
        "no pull request: the branch"
    );

    let mut pull = CiContext::default();
    pull.set(Field::SourceBranch, "feature/x", "test");
    pull.set(Field::PrNumber, "7", "test");
    pull.derive_git_ref(RefFrom::Target);
    assert_eq!(
        pull.git_ref.as_deref(),
        Some("feature/x"),
        "a pull request without a target"
    );
}

#[test]
fn no_git_knows_nothing() {
    assert_eq!(NoGit.branch(), None);
    assert_eq!(NoGit.head_sha(), None);
}

#[test]
fn pull_request_refs_are_neither_branches_nor_tags() {
    for full in ["refs/pull/7/merge", "refs/merge-requests/3/head"] {
        let mut context = CiContext::default();
        providers::take_full_ref(&mut context, full, "test");
        assert_eq!((context.source_branch, context.tag), (None, None), "{full}");
    }
    let mut context = CiContext::default();
    providers::take_full_ref(&mut context, "refs/heads/release/1", "test");
    assert_eq!(context.source_branch.as_deref(), Some("release/1"));
}

#[test]
fn a_branch_is_dropped_only_when_it_is_the_tag() {
    let mut both = CiContext::default();
    both.set(Field::Tag, "v1", "test");
    both.set(Field::SourceBranch, "main", "test");
    providers::drop_branch_equal_to_tag(&mut both);
    assert_eq!(both.source_branch.as_deref(), Some("main"));
    both.set(Field::SourceBranch, "v1", "test");
    providers::drop_branch_equal_to_tag(&mut both);
    assert_eq!(both.source_branch, None);
}

#[test]
fn gaps_are_explained_for_pull_requests_and_always_gaps_always() {
    use providers::{Gap, When, explain};
    let gaps: &'static [Gap] = &[
        Gap::MergeCommit,
        Gap::Fork,
        Gap::Other(
            Field::Attempt,
            When::PullRequest,
            "pull requests have no attempt",
        ),
        Gap::Other(Field::BuildUrl, When::Always, "no build URL"),
    ];
    let mut branch = CiContext::default();
    explain(&mut branch, gaps);
    assert_eq!(
        branch.unknown.keys().copied().collect::<Vec<_>>(),
        ["buildUrl"],
        "a branch build: only the always-gap"
    );
    let mut pull = CiContext::default();
    pull.set(Field::PrNumber, "7", "test");
    explain(&mut pull, gaps);
    assert_eq!(pull.unknown.len(), 4, "{:?}", pull.unknown);
}

#[test]
fn only_numbered_pull_request_refs_name_a_pull_request() {
    assert_eq!(refs::pull_request_number("refs/pull/7/merge"), Some("7"));
    assert_eq!(refs::pull_request_number("refs/pull/7/head"), Some("7"));
    for not in [
        "refs/pull/abc/merge",
        "refs/pull//merge",
        "refs/pull/7/files",
    ] {
        assert_eq!(refs::pull_request_number(not), None, "{not}");
    }
}

#[test]
fn circleci_reads_the_number_at_the_end_of_the_pull_request_url() {
    let circle = |url: &str| {
        let vars = env(&[
            ("CIRCLECI", "true"),
            ("CIRCLE_BRANCH", "feature/x"),
            ("CIRCLE_PULL_REQUEST", url),
        ]);
        detect(&vars, &NoGit, RefFrom::Source).pr_number
    };
    assert_eq!(
        circle("https://github.com/o/r/pull/42").as_deref(),
        Some("42")
    );
    assert_eq!(circle("https://github.com/o/r/pull/latest"), None);
}

#[test]
fn codebuild_reads_its_source_version_only_when_the_webhook_named_nothing() {
    let branch = env(&[
        ("CODEBUILD_BUILD_ID", "shop:1"),
        ("CODEBUILD_WEBHOOK_HEAD_REF", "refs/heads/feature/x"),
        ("CODEBUILD_SOURCE_VERSION", "refs/heads/other"),
    ]);
    let context = detect(&branch, &NoGit, RefFrom::Source);
    assert_eq!(context.source_branch.as_deref(), Some("feature/x"));
    let tag = env(&[
        ("CODEBUILD_BUILD_ID", "shop:1"),
        ("CODEBUILD_WEBHOOK_TRIGGER", "tag/v1.0.0"),
        ("CODEBUILD_SOURCE_VERSION", "refs/heads/other"),
    ]);
    let context = detect(&tag, &NoGit, RefFrom::Source);
    assert_eq!(context.tag.as_deref(), Some("v1.0.0"));
    assert_eq!(
        context.source_branch, None,
        "the tag, not the source version's branch"
    );
    let pull = env(&[
        ("CODEBUILD_BUILD_ID", "shop:1"),
        ("CODEBUILD_WEBHOOK_TRIGGER", "pr/12"),
        ("CODEBUILD_SOURCE_VERSION", "refs/heads/other"),
    ]);
    let context = detect(&pull, &NoGit, RefFrom::Source);
    assert_eq!(context.pr_number.as_deref(), Some("12"));
    assert_ne!(context.source_branch.as_deref(), Some("other"));
}

/// A GitHub pull_request event whose head repository is `head`.
fn github_pull_request(dir: &std::path::Path, head: &str) -> CiContext {
    let event = dir.join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"pull_request": {"number": 7,
            "head": {"ref": "feature/x", "repo": {"full_name": head}},
            "base": {"ref": "main", "repo": {"full_name": "acme/shop"}}}})
        .to_string(),
    )
    .unwrap();
    let vars = github(&[
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_REF", "refs/pull/7/merge"),
        ("GITHUB_HEAD_REF", "feature/x"),
        ("GITHUB_BASE_REF", "main"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ]);
    detect(&vars, &NoGit, RefFrom::Source)
}

#[test]
fn a_same_repository_pull_request_is_no_fork_and_an_empty_head_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let same = github_pull_request(dir.path(), "acme/shop");
    assert!(!same.from_fork);
    assert!(
        !same.unknown.contains_key("headRepository"),
        "{:?}",
        same.unknown
    );
    assert_eq!(same.git_ref.as_deref(), Some("feature/x"));
    let blank = github_pull_request(dir.path(), "");
    assert!(!blank.from_fork, "an empty name is no name");
    assert!(
        blank.unknown.contains_key("headRepository"),
        "{:?}",
        blank.unknown
    );
    let fork = github_pull_request(dir.path(), "mallory/shop");
    assert!(fork.from_fork);
    assert_eq!(fork.git_ref.as_deref(), Some("mallory/shop:feature/x"));
}

#[test]
fn teamcity_takes_its_branch_parameter_unless_it_is_the_default_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    let teamcity = |branch: &str| {
        let config = dir.path().join("config.properties");
        std::fs::write(&config, format!("teamcity.build.branch={branch}\n")).unwrap();
        let build = dir.path().join("build.properties");
        std::fs::write(
            &build,
            format!(
                "teamcity.configuration.properties.file={}\n",
                config.display()
            ),
        )
        .unwrap();
        let vars = env(&[
            ("TEAMCITY_VERSION", "2025.03"),
            ("TEAMCITY_BUILD_PROPERTIES_FILE", build.to_str().unwrap()),
        ]);
        detect(&vars, &NoGit, RefFrom::Source).source_branch
    };
    assert_eq!(teamcity("release/2").as_deref(), Some("release/2"));
    assert_eq!(teamcity("<default>"), None);
}

#[test]
fn teamcity_parameter_files_continue_lines_ending_in_one_backslash() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.properties");
    std::fs::write(
        &config,
        "# written by the agent\nteamcity.build.branch=release/\\\n    u0032\nteamcity.serverUrl=https://tc.example\\\\\n",
    )
    .unwrap();
    let build = dir.path().join("build.properties");
    std::fs::write(
        &build,
        format!(
            "teamcity.configuration.properties.file={}\n",
            config.display()
        ),
    )
    .unwrap();
    let vars = env(&[
        ("TEAMCITY_VERSION", "2025.03"),
        ("TEAMCITY_BUILD_PROPERTIES_FILE", build.to_str().unwrap()),
    ]);
    let context = detect(&vars, &NoGit, RefFrom::Source);
    // The backslash that continues a line is not part of the value: `u0032` stays text.
    assert_eq!(context.source_branch.as_deref(), Some("release/u0032"));
}
