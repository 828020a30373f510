//! What wharf does for the adapters, so none has to: it words its messages in the caller's
//! option names (`WHARF_OPTION_NAMES`), renders its own report (`--output markdown`,
//! `--summary-file`) and decides a run without a token (`--skip-without-credentials`,
//! `WHARF_KEYLESS`). The real binary against a real control plane.

use crate::support::{self, TestServer, run, wharf};

const IMAGE: &str = "registry.example.com/shop/api:1.4.2";

fn register_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "register",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        IMAGE,
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

#[test]
fn errors_warnings_and_the_json_error_name_the_callers_options() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command
        .env(
            "WHARF_OPTION_NAMES",
            "git-ref=gitRef,environment,release-stream=releaseStream",
        )
        .args(register_args(&[
            "--git-ref",
            "main",
            "--environment",
            "dev",
            "--output",
            "json",
        ]));
    let refused = run(&mut command);

    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let said = "'gitRef' and 'environment' were both given: use only one of 'gitRef', \
                'environment', 'releaseStream'";
    assert!(refused.stderr.contains(said), "{}", refused.stderr);
    assert_eq!(refused.json()["error"]["message"], said);
}

#[test]
fn the_option_word_says_what_an_option_is_called_and_a_bad_table_is_refused() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command
        .env("WHARF_OPTION_NAMES", "project")
        .env("WHARF_OPTION_WORD", "input")
        .args(["register", "--service", "api", "--image", IMAGE]);
    let refused = run(&mut command);
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("missing project: set the 'project' input"),
        "{}",
        refused.stderr
    );

    let mut command = wharf(&server.url(), dir.path());
    command
        .env("WHARF_OPTION_NAMES", "git-ref=git ref")
        .args(register_args(&[]));
    let refused = run(&mut command);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("WHARF_OPTION_NAMES") && refused.stderr.contains("flag=name"),
        "{}",
        refused.stderr
    );
}

#[test]
fn markdown_output_and_the_summary_file_carry_wharfs_report() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command.args(register_args(&[
        "--git-ref",
        "main",
        "--output",
        "markdown",
        "--summary-file",
        summary.to_str().unwrap(),
    ]));
    let registered = run(&mut command);

    assert_eq!(registered.code, 0, "{}", registered.stderr);
    assert!(
        registered
            .stdout
            .starts_with("### wharf: shop/api registered\n"),
        "{}",
        registered.stdout
    );
    assert!(
        registered.stdout.contains("| Routed to | **dev**"),
        "{}",
        registered.stdout
    );
    let appended = std::fs::read_to_string(&summary).unwrap();
    assert!(
        appended.starts_with("earlier step\n### wharf: shop/api registered"),
        "{appended}"
    );

    // A failure is reported there too, and JSON keeps the summary line of the outcome.
    let mut command = wharf(&server.url(), dir.path());
    command
        .env("WHARF_SUMMARY_FILE", &summary)
        .args(register_args(&[
            "--environment",
            "nowhere",
            "--output",
            "json",
        ]));
    let refused = run(&mut command);
    assert_ne!(refused.code, 0);
    let appended = std::fs::read_to_string(&summary).unwrap();
    assert!(
        appended.contains("### wharf: registration failed"),
        "{appended}"
    );
}

#[test]
fn the_json_outcome_carries_wharfs_one_line() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let registered = support::register(&server.url(), dir.path(), IMAGE, &["--git-ref", "main"]);
    assert_eq!(registered.code, 0, "{}", registered.stderr);
    let line = registered.json()["summary"].as_str().unwrap().to_string();
    assert!(
        line.starts_with(&format!("shop/api registered {IMAGE} as build "))
            && line.ends_with("routed to dev (rule shop-branches)"),
        "{line}"
    );
}

#[test]
fn without_credentials_wharf_skips_only_when_asked_and_sends_nothing() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let buildkite = |command: &mut std::process::Command| {
        command
            .env_remove("WHARF_TOKEN")
            .env("BUILDKITE", "true")
            .env("CI", "true")
            .env("BUILDKITE_BRANCH", "main")
            .env("WHARF_KEYLESS", "off");
    };

    let mut command = wharf(&server.url(), dir.path());
    buildkite(&mut command);
    command.args(register_args(&[
        "--output",
        "json",
        "--skip-without-credentials",
    ]));
    let skipped = run(&mut command);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert_eq!(skipped.json()["skipped"], true);
    assert!(
        skipped.stderr.contains("warning: no token"),
        "{}",
        skipped.stderr
    );

    let mut command = wharf(&server.url(), dir.path());
    buildkite(&mut command);
    command.args(register_args(&["--output", "json"]));
    let refused = run(&mut command);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("missing token: set WHARF_TOKEN"),
        "{}",
        refused.stderr
    );

    let mut command = wharf(&server.url(), dir.path());
    buildkite(&mut command);
    command
        .env("WHARF_KEYLESS", "sometimes")
        .args(register_args(&[]));
    let refused = run(&mut command);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("WHARF_KEYLESS must be auto or off"),
        "{}",
        refused.stderr
    );

    assert_eq!(server.stored_builds(), 0, "nothing was registered");
}

#[test]
fn on_github_a_missing_token_skips_only_where_github_withholds_secrets() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command
        .env_remove("WHARF_TOKEN")
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_EVENT_NAME", "push")
        .args(register_args(&["--skip-without-credentials"]));
    let refused = run(&mut command);
    assert_eq!(
        refused.code, 2,
        "a push with a missing secret fails: {}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("WHARF_TOKEN is empty"),
        "{}",
        refused.stderr
    );
}
