//! What a user meets when something is wrong, and what the CLI prints of what the control plane
//! says: usage errors name the flag and exit 2 (with the JSON error document under `--output
//! json`), before anything is sent; a closed stdout ends the command quietly; control characters
//! from the control plane are shown as escapes, never sent to the terminal; retry advice fits
//! the command; push progress says when nothing had to be sent.

use crate::support;
use support::oci_layout::{image, index_json};

use std::io::Read;
use std::process::Stdio;
use support::facets::{self, Behaviour, FacetsServer};
use support::proxy::{Fault, Proxy};
use support::{TestServer, run, wharf};

/// `wharf ARGS` against `server`, in a fresh directory.
fn wharf_run(server: &str, args: &[&str]) -> support::Run {
    let dir = tempfile::tempdir().unwrap();
    run(wharf(server, dir.path()).args(args))
}

#[test]
fn bad_flag_values_name_the_flag_and_exit_2_before_anything_is_sent() {
    let server = TestServer::shop();
    let proxy = Proxy::start(&server.runtime, &server.url(), vec![]);
    let cases: &[(&[&str], &str)] = &[
        (&["audit", "--size", "5000"], "--size"),
        (&["audit", "--size", "0"], "--size"),
        (&["audit", "--since", "yesterday"], "--since"),
        (&["audit", "--until", "2026-02-30"], "--until"),
        (
            &["token", "create", "--expires-in-days", "0"],
            "--expires-in-days",
        ),
        (
            &["token", "create", "--expires-in-days", "4294967295"],
            "--expires-in-days",
        ),
        (
            &[
                "builds",
                "--project",
                "shop",
                "--service",
                "api",
                "--limit",
                "0",
            ],
            "--limit",
        ),
        (
            &[
                "builds",
                "--project",
                "shop",
                "--service",
                "api",
                "--limit",
                "1001",
            ],
            "--limit",
        ),
    ];
    for (args, flag) in cases {
        let out = wharf_run(&proxy.url(), args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "invalid value '{}' for '{flag}",
                args[args.len() - 1]
            )),
            "{args:?} names {flag}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    assert_eq!(proxy.seen(), vec![], "nothing reached the control plane");
}

#[test]
fn the_documented_forms_of_those_flags_are_accepted() {
    let server = TestServer::shop();
    for args in [
        &["audit", "--since", "2026-01-01", "--size", "1000"][..],
        &[
            "audit",
            "--since",
            "1764495330123",
            "--until",
            "2099-01-01T00:00:00Z",
        ],
        &[
            "audit",
            "--since",
            "2026-01-01T10:00:00+02:00",
            "--size",
            "1",
        ],
        &[
            "builds",
            "--project",
            "shop",
            "--service",
            "api",
            "--limit",
            "1000",
        ],
        &["token", "create", "--expires-in-days", "3650"],
    ] {
        let out = wharf_run(&server.url(), args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }
}

#[test]
fn builds_limit_one_answers_one_build() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    for (run_id, tag) in [("1", "1.0.0"), ("2", "1.0.1")] {
        let image = format!("registry.example.com/shop/api:{tag}");
        let out = support::register(
            &server.url(),
            dir.path(),
            &image,
            &["--git-ref", "main", "--external-id", run_id],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let args = ["builds", "--project", "shop", "--service", "api"];
    let out = run(wharf(&server.url(), dir.path())
        .args(args)
        .args(["--limit", "1", "--output", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json().as_array().unwrap().len(), 1, "{}", out.stdout);
}

#[test]
fn a_usage_error_with_json_output_prints_the_json_error_document() {
    let server = TestServer::shop();
    let cases: &[(&[&str], &str)] = &[
        (&["audit", "--size", "5000", "--output", "json"], "--size"),
        (
            &["--output=json", "token", "create", "--expires-in-days", "0"],
            "--expires-in-days",
        ),
        (
            &["--output", "json", "register", "--no-such-flag"],
            "--no-such-flag",
        ),
        (&["no-such-command", "--output", "json"], "no-such-command"),
        (
            &["resolve", "--project", "shop", "--output", "json"],
            "--environment",
        ),
    ];
    for (args, named) in cases {
        let out = wharf_run(&server.url(), args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        let error = &out.json()["error"];
        assert_eq!(error["kind"], "usage", "{args:?}");
        assert_eq!(error["exitCode"], 2, "{args:?}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(named), "{args:?}: {message}");
        assert!(!message.starts_with("error:"), "{message}");
        assert!(!message.contains('\n'), "one line: {message:?}");
        assert!(
            out.stderr.contains(named),
            "stderr still says it: {}",
            out.stderr
        );
    }
    // Without --output json, stdout stays empty.
    let out = wharf_run(&server.url(), &["audit", "--size", "5000"]);
    assert_eq!((out.code, out.stdout.as_str()), (2, ""));
    // --help and --version are not errors, and print as before.
    let help = wharf_run(&server.url(), &["audit", "--help", "--output", "json"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    assert!(help.stdout.contains("--since <TIME>"), "{}", help.stdout);
    let version = wharf_run(&server.url(), &["--version", "--output", "json"]);
    assert_eq!(version.code, 0);
    assert!(version.stdout.starts_with("wharf "), "{}", version.stdout);
}

#[test]
fn an_unreadable_token_file_is_named_and_exits_2() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nonexist");
    let out = run(wharf(&server.url(), dir.path())
        .env_remove("WHARF_TOKEN")
        .arg("--token-file")
        .arg(&missing)
        .arg("whoami"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "cannot read the token file {} (--token-file): no such file",
            missing.display()
        )),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("entity not found"), "{}", out.stderr);
}

#[test]
fn two_targets_are_refused_in_words_for_two() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let out = support::register(
        &server.url(),
        dir.path(),
        "registry.example.com/shop/api:1.4.2",
        &["--git-ref", "main", "--environment", "dev"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.json()["error"]["message"],
        "--git-ref and --environment were both given: use only one of --git-ref, \
         --environment, --release-stream"
    );
}

/// Runs `wharf ARGS` with its stdout a pipe whose reading end is closed at once, as `| head
/// -0` would; answers its exit code and stderr.
fn with_stdout_closed(server: &str, args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = wharf(server, dir.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap().code(), stderr)
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let out = support::register(
        &server.url(),
        dir.path(),
        "registry.example.com/shop/api:1.4.2",
        &["--git-ref", "main", "--external-id", "77"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let register = [
        "register",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        "registry.example.com/shop/api:1.4.2",
        "--git-ref",
        "main",
        "--external-id",
        "77",
    ];
    let builds = ["builds", "--project", "shop", "--service", "api"];
    let json = ["--output", "json"];
    let commands: Vec<Vec<&str>> = vec![
        vec!["audit"],
        [&["audit"][..], &json].concat(),
        builds.to_vec(),
        register.to_vec(),
        [&register[..], &json].concat(),
        vec!["whoami"],
        vec!["token", "list"],
        // A failure's JSON document meets the closed stdout too: still exit 2, quietly.
        vec!["audit", "--since", "yesterday", "--output", "json"],
    ];
    for args in commands {
        let (code, stderr) = with_stdout_closed(&server.url(), &args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        if args.contains(&"yesterday") {
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
        } else {
            assert_eq!(code, Some(0), "{args:?}: {stderr}");
            assert_eq!(stderr, "", "{args:?}");
        }
    }
}

/// An image URI with an OSC title sequence, a bell, a newline and a clear-screen, as a
/// control plane that does not validate it would store and answer it.
const HOSTILE_URI: &str = "ghcr.io/acme/api:1\u{1b}]0;owned\u{7}\n\u{1b}[2Jfake line";
const HOSTILE_SHOWN: &str = "ghcr.io/acme/api:1\\x1b]0;owned\\x07\\n\\x1b[2Jfake line";

#[test]
fn control_characters_from_the_control_plane_are_shown_as_escapes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let double = FacetsServer::start(&runtime, Behaviour::default());
    // Stored straight through the API: wharf itself would not send such an image.
    let status = runtime.block_on(async {
        support::http()
            .post(format!("{}/cc-ui/v1/ci-cd/register", double.url))
            .basic_auth(facets::USER, Some(facets::TOKEN))
            .json(&support::client::saas("main", "GIT_REF", "9", HOSTILE_URI))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
    let dir = tempfile::tempdir().unwrap();
    let on_double = |args: &[&str]| {
        run(wharf(&double.url, dir.path())
            .env("WHARF_USERNAME", facets::USER)
            .env("WHARF_TOKEN", facets::TOKEN)
            .args(args))
    };
    let builds = on_double(&["builds", "--project", "shop", "--service", "api"]);
    let resolve = on_double(&[
        "resolve",
        "--project",
        "shop",
        "--environment",
        "dev",
        "--service",
        "api",
    ]);
    for (what, out) in [("builds", &builds), ("resolve", &resolve)] {
        assert_eq!(out.code, 0, "{what}: {}", out.stderr);
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.chars().any(|c| c.is_control() && c != '\n'),
                "{what} printed a control character: {text:?}"
            );
        }
        assert!(out.stdout.contains(HOSTILE_SHOWN), "{what}: {}", out.stdout);
        assert!(
            !out.stdout.contains("\nfake line"),
            "{what}: {}",
            out.stdout
        );
    }
    // JSON stays JSON: the value round-trips exactly.
    let json = on_double(&[
        "builds",
        "--project",
        "shop",
        "--service",
        "api",
        "--output",
        "json",
    ]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(json.json()[0]["artifactUri"], HOSTILE_URI);
}

#[test]
fn an_error_message_from_the_control_plane_is_shown_with_escapes() {
    let server = TestServer::shop();
    let out = wharf_run(
        &server.url(),
        &[
            "resolve",
            "--project",
            "shop",
            "--environment",
            "\u{1b}[31mprod\u{1b}[0m",
            "--service",
            "api",
        ],
    );
    assert_ne!(out.code, 0, "{}", out.stderr);
    // The control plane's message quotes the name back; wharf shows it, escaped.
    assert!(
        out.stderr.contains("\\x1b[31mprod\\x1b[0m"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{:?}",
        out.stderr
    );
}

#[test]
fn a_token_create_whose_answer_was_lost_gets_advice_for_tokens() {
    let server = TestServer::shop();
    let proxy = Proxy::start(&server.runtime, &server.url(), vec![Fault::DropResponse]);
    let out = wharf_run(&proxy.url(), &["token", "create", "--name", "lost"]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(!out.stderr.contains("--external-id"), "{}", out.stderr);
    assert!(out.stderr.contains("wharf token list"), "{}", out.stderr);
    assert!(out.stderr.contains("wharf token revoke"), "{}", out.stderr);
    assert_eq!(proxy.seen().len(), 1, "not sent again");

    // A registration without an external id keeps its own advice.
    let proxy = Proxy::start(&server.runtime, &server.url(), vec![Fault::DropResponse]);
    let dir = tempfile::tempdir().unwrap();
    let out = run(wharf(&proxy.url(), dir.path()).args([
        "register",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        "registry.example.com/shop/api:1.4.2",
        "--git-ref",
        "main",
    ]));
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(out.stderr.contains("pass --external-id"), "{}", out.stderr);
}

#[test]
fn a_push_of_blobs_already_there_says_so_and_claims_no_rate() {
    let server = TestServer::shop();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let (_, descriptor, _) = image(&layout, "there", "");
    index_json(&layout, &descriptor, "v1");
    let source = format!("oci:{}:v1", layout.display());
    let push = |tag: &str| {
        run(wharf(&server.url(), work.path())
            .env("WHARF_PROGRESS", "lines")
            .args(["push", "--project", "shop", "--service", "api", "--git-ref"])
            .args(["main", "--image", &source, "--tag", tag]))
    };
    let last_progress = |out: &support::Run| {
        out.stderr
            .lines()
            .rfind(|l| l.starts_with("wharf push: "))
            .unwrap_or_else(|| panic!("no progress line:\n{}", out.stderr))
            .to_string()
    };
    let first = push("v1");
    assert_eq!(first.code, 0, "{}", first.stderr);
    let sent = last_progress(&first);
    assert!(sent.contains("(100%), 3 of 3 blobs, "), "{sent}");
    assert!(sent.contains(" sent at "), "{sent}");
    // The same blobs under another tag: all already in the repository, none sent.
    let second = push("v2");
    assert_eq!(second.code, 0, "{}", second.stderr);
    let skipped = last_progress(&second);
    assert!(
        skipped.starts_with("wharf push: 3 of 3 blobs already there ("),
        "{skipped}"
    );
    assert!(skipped.contains("nothing uploaded"), "{skipped}");
    assert!(
        !skipped.contains("/s"),
        "no rate for nothing sent: {skipped}"
    );
}

/// Issue 26, finding 4: one duration grammar for every flag and query. The default `--help`
/// names (`1h`) is accepted; a number too large for any clock is refused with the longest
/// taken (exit 2 on the CLI, 400 from the server), never a panic; `1.5s` names its unit.
#[test]
fn durations_take_one_grammar_and_huge_values_are_refused_not_panics() {
    let server = TestServer::shop();
    let url = server.url();
    let accepted = wharf_run(
        &url,
        &["gc", "--dry-run", "--grace", "1h", "--output", "json"],
    );
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    assert_eq!(accepted.json()["graceSeconds"], 3600);

    for (value, says) in [
        (
            "99999999999999999m",
            "longer than the longest duration taken, 3650d",
        ),
        ("1.5s", "is not a duration (unit '.5s')"),
    ] {
        let refused = wharf_run(&url, &["gc", "--grace", value]);
        assert_eq!(refused.code, 2, "{value}: {}", refused.stderr);
        assert!(refused.stderr.contains(says), "{value}: {}", refused.stderr);
    }

    let api = support::client::Api::new(url.clone());
    let (status, body) = server.runtime.block_on(api.post(
        "/wharf/v1/gc?dryRun=true&graceSeconds=18446744073709551615",
        serde_json::Value::Null,
    ));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("query `graceSeconds`: '18446744073709551615' is longer than"),
        "{body}"
    );
}

/// Issue 27, finding 6: a plain http:// control plane off loopback is refused before any
/// token is sent (exit 2, naming the flag that allows it); a URL with a path names the base.
#[test]
fn plain_http_off_loopback_is_refused_before_the_token_is_sent() {
    let refused = wharf_run("http://cp.example.com", &["whoami"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("clear text") && refused.stderr.contains("--allow-insecure-http"),
        "{}",
        refused.stderr
    );
    let server = TestServer::shop();
    let with_path = wharf_run(&format!("{}/cc-ui/v1", server.url()), &["whoami"]);
    assert_eq!(with_path.code, 2, "{}", with_path.stderr);
    assert!(
        with_path.stderr.contains(&format!(
            "give the control plane's base URL, e.g. '{}'",
            server.url()
        )),
        "{}",
        with_path.stderr
    );
}

/// Issue 27, finding 9: an unknown service or environment lists the names there are and
/// suggests the nearest (exit 4).
#[test]
fn a_mistyped_service_or_environment_gets_did_you_mean() {
    let server = TestServer::shop();
    let url = server.url();
    let service = wharf_run(
        &url,
        &[
            "register",
            "--project",
            "shop",
            "--service",
            "apii",
            "--image",
            "r.example/shop/api:1",
            "--git-ref",
            "main",
        ],
    );
    assert_eq!(service.code, 4, "{}", service.stderr);
    assert!(
        service
            .stderr
            .contains("did you mean 'api'? (known: api, web)"),
        "{}",
        service.stderr
    );
    let environment = wharf_run(
        &url,
        &[
            "resolve",
            "--project",
            "shop",
            "--service",
            "api",
            "--environment",
            "prdo",
        ],
    );
    assert_eq!(environment.code, 4, "{}", environment.stderr);
    assert!(
        environment.stderr.contains("did you mean 'prod'?"),
        "{}",
        environment.stderr
    );
}
