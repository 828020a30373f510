//! `wharf register` end to end: the real binary, a real control plane on loopback HTTP, the
//! shop example's rules.

use crate::support;

use support::proxy::{Fault, Proxy};
use support::{TOKEN, TestServer, register, run, wharf};

#[test]
fn main_routes_to_dev_release_to_staging_feature_stays_unclassified() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();

    let main = register(
        &server.url(),
        dir.path(),
        "r.example/shop/api:1",
        &["--git-ref", "main"],
    );
    assert_eq!(main.code, 0, "{}", main.stderr);
    let main = main.json();
    assert_eq!(main["routedTo"], "dev");
    assert_eq!(main["classified"], true);
    assert_eq!(main["ruleName"], "shop-branches");
    assert_eq!(main["registrationType"], "ENVIRONMENT");
    assert_eq!(main["ciName"], "api");
    assert_eq!(main["project"], "shop");
    assert!(main["artifactId"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(main["controlPlane"], server.url());

    let release = register(
        &server.url(),
        dir.path(),
        "r.example/shop/api:2",
        &["--git-ref", "release/2.1"],
    );
    assert_eq!(release.json()["routedTo"], "staging");

    let feature = register(
        &server.url(),
        dir.path(),
        "r.example/shop/api:3",
        &["--git-ref", "feature/x"],
    );
    assert_eq!(feature.code, 0, "unclassified is a warning, not an error");
    let json = feature.json();
    assert_eq!(json["classified"], false);
    assert!(json["routedTo"].is_null());
    assert!(
        feature.stderr.contains("warning:") && feature.stderr.contains("feature/x"),
        "{}",
        feature.stderr
    );
    assert_eq!(server.stored_builds(), 3, "the unclassified build is kept");
}

#[test]
fn require_route_turns_unclassified_into_exit_6() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let run = register(
        &server.url(),
        dir.path(),
        "r.example/a:1",
        &["--git-ref", "feature/y", "--require-route"],
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.contains("matches no routing rule"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["error"]["kind"], "not_routed");
    assert_eq!(run.json()["error"]["exitCode"], 6);
    assert_eq!(
        server.stored_builds(),
        0,
        "refused before anything was written"
    );

    let routed = register(
        &server.url(),
        dir.path(),
        "r.example/a:2",
        &["--git-ref", "main", "--require-route"],
    );
    assert_eq!(routed.code, 0, "{}", routed.stderr);
    assert_eq!(routed.json()["routedTo"], "dev");
}

#[test]
fn a_pull_request_routes_by_its_head_branch() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"pull_request": {"number": 7, "head": {"ref": "release/3.0", "sha": "abc123"},
                             "base": {"ref": "main"}}}"#,
    )
    .unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_REF", "refs/pull/7/merge")
        .env("GITHUB_HEAD_REF", "release/3.0")
        .env("GITHUB_BASE_REF", "main")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_RUN_ID", "5551")
        .args(["register", "--project", "shop", "--service", "api"])
        .args(["--image", "r.example/shop/api:pr7", "--output", "json"]);
    let run = run(&mut command);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(
        json["registeredValue"], "release/3.0",
        "the head branch, not the base"
    );
    assert_eq!(json["routedTo"], "staging");
    assert_eq!(
        json["externalId"], "5551",
        "the external id defaults to the run id"
    );
}

#[test]
fn a_rerun_is_idempotent_and_a_different_image_is_a_conflict() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let args = ["--git-ref", "main", "--external-id", "run-42"];
    let first = register(&server.url(), dir.path(), "r.example/shop/api:1", &args);
    let again = register(&server.url(), dir.path(), "r.example/shop/api:1", &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(first.json()["artifactId"], again.json()["artifactId"]);
    assert_eq!(first.json()["replayed"], false);
    assert_eq!(again.json()["replayed"], true);
    assert_eq!(server.stored_builds(), 1);

    let conflict = register(&server.url(), dir.path(), "r.example/shop/api:2", &args);
    assert_eq!(conflict.code, 5, "{}", conflict.stderr);
    assert!(
        conflict.stderr.contains("r.example/shop/api:1"),
        "{}",
        conflict.stderr
    );
    assert!(
        conflict.stderr.contains("r.example/shop/api:2"),
        "{}",
        conflict.stderr
    );
    assert_eq!(server.stored_builds(), 1, "a conflict writes nothing");
}

#[test]
fn a_wrong_token_is_exit_3_and_no_token_is_ever_printed() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let wrong = "tok-WRONG-0123456789abcdef";
    let mut command = wharf(&server.url(), dir.path());
    command
        .env("WHARF_TOKEN", wrong)
        .env("WHARF_LOG", "trace")
        .args([
            "register",
            "--project",
            "shop",
            "--service",
            "api",
            "--image",
            "r/a:1",
            "--git-ref",
            "main",
        ]);
    let run = run(&mut command);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(
        !run.stderr.contains(wrong) && !run.stdout.contains(wrong),
        "{}",
        run.stderr
    );
    assert_eq!(server.stored_builds(), 0);
}

#[test]
fn the_token_can_come_from_a_file() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command
        .env_remove("WHARF_TOKEN")
        .arg("whoami")
        .arg("--token-file")
        .arg(&token_file);
    let run = run(&mut command);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("admin on "), "{}", run.stdout);

    let mut missing = wharf(&server.url(), dir.path());
    missing.env_remove("WHARF_TOKEN").arg("whoami");
    let run = support::run(&mut missing);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("WHARF_TOKEN") && run.stderr.contains("--token-file"),
        "{}",
        run.stderr
    );
}

#[test]
fn dry_run_sends_nothing_that_writes() {
    let server = TestServer::shop();
    let proxy = Proxy::start(&server.runtime, &server.url(), vec![]);
    let dir = tempfile::tempdir().unwrap();
    let run = register(
        &proxy.url(),
        dir.path(),
        "r.example/shop/api:9",
        &["--git-ref", "main", "--dry-run"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let preview = run.json();
    assert_eq!(preview["dryRun"], true);
    assert_eq!(preview["predictedRoute"], "dev");
    assert_eq!(preview["request"]["artifactRegisterValue"], "main");
    assert_eq!(preview["sources"]["project"], "--project");
    let seen = proxy.seen();
    assert!(!seen.is_empty(), "the dry run reads from the control plane");
    let reads = |(method, path): &(String, String)| {
        method == "GET" || (method == "POST" && path == "/wharf/v1/register/preview")
    };
    assert!(
        seen.iter().all(reads),
        "only reads and the preview: {seen:?}"
    );
    assert_eq!(server.stored_builds(), 0);
}

#[test]
fn retries_through_faults_leave_exactly_one_record() {
    let server = TestServer::shop();
    let faults = vec![
        Fault::DropResponse,
        Fault::Status(503, None),
        Fault::Reset,
        Fault::Status(429, Some(0)),
        Fault::Status(502, None),
    ];
    let proxy = Proxy::start(&server.runtime, &server.url(), faults);
    let dir = tempfile::tempdir().unwrap();
    let mut command = wharf(&proxy.url(), dir.path());
    command
        .env("WHARF_RETRIES", "8")
        .args([
            "register",
            "--project",
            "shop",
            "--service",
            "api",
            "--image",
            "r/shop/api:7",
        ])
        .args([
            "--git-ref",
            "main",
            "--external-id",
            "run-7",
            "--output",
            "json",
        ]);
    let run = run(&mut command);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["routedTo"], "dev");
    assert_eq!(
        proxy.count("POST"),
        6,
        "five faults, then success: {:?}",
        proxy.seen()
    );
    assert_eq!(
        server.stored_builds(),
        1,
        "the dropped answer's write is not repeated"
    );
    assert_eq!(
        run.json()["replayed"],
        true,
        "the first attempt had already stored it"
    );
}

#[test]
fn giving_up_after_the_retries_is_exit_7() {
    let server = TestServer::shop();
    let faults = vec![Fault::Status(503, None); 3];
    let proxy = Proxy::start(&server.runtime, &server.url(), faults);
    let dir = tempfile::tempdir().unwrap();
    let mut command = wharf(&proxy.url(), dir.path());
    command.env("WHARF_RETRIES", "3").args(["whoami"]);
    let run = run(&mut command);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("failed 3 times"), "{}", run.stderr);
}

#[test]
fn without_an_external_id_a_write_is_not_replayed_after_a_lost_answer() {
    let server = TestServer::shop();
    let proxy = Proxy::start(&server.runtime, &server.url(), vec![Fault::DropResponse]);
    let dir = tempfile::tempdir().unwrap();
    let run = register(&proxy.url(), dir.path(), "r/a:1", &["--git-ref", "main"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("--external-id"), "{}", run.stderr);
    assert_eq!(server.stored_builds(), 1, "one write, not two");
}

#[test]
fn in_ci_a_missing_control_plane_is_an_error_that_says_how_to_set_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = wharf("unused", dir.path());
    command
        .env_remove("WHARF_CONTROL_PLANE_URL")
        .env("CI", "true")
        .args([
            "register",
            "--project",
            "shop",
            "--service",
            "api",
            "--image",
            "r/a:1",
            "--git-ref",
            "main",
        ]);
    let run = run(&mut command);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("WHARF_CONTROL_PLANE_URL"),
        "{}",
        run.stderr
    );
    assert!(
        !dir.path().join(".wharf").exists(),
        "no local store is created in CI"
    );
}

#[test]
fn outside_ci_the_embedded_control_plane_loads_wharf_toml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(support::shop_file(), dir.path().join("wharf.toml")).unwrap();
    let mut command = wharf("unused", dir.path());
    command
        .env_remove("WHARF_CONTROL_PLANE_URL")
        .env_remove("WHARF_USERNAME")
        .env_remove("WHARF_TOKEN")
        .args([
            "register",
            "--project",
            "shop",
            "--service",
            "web",
            "--image",
            "r/shop/web:1",
        ])
        .args(["--git-ref", "release/1.0", "--output", "json"]);
    let run = run(&mut command);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["routedTo"], "staging");
    assert!(
        json["controlPlane"]
            .as_str()
            .unwrap()
            .starts_with("embedded")
    );
    assert!(dir.path().join(".wharf/wharf.db").exists());

    let mut builds = wharf("unused", dir.path());
    builds.env_remove("WHARF_CONTROL_PLANE_URL").args([
        "builds",
        "--project",
        "shop",
        "--service",
        "web",
        "--output",
        "json",
    ]);
    let listed = support::run(&mut builds).json();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "the store persists between runs"
    );

    // Issue 27: each command applies wharf.toml again, but an unchanged file leaves no audit
    // entry: one PROJECT_APPLY (the first run's), not one per command.
    let mut audit = wharf("unused", dir.path());
    audit.env_remove("WHARF_CONTROL_PLANE_URL").args([
        "audit",
        "--project",
        "shop",
        "--action",
        "PROJECT_APPLY",
        "--output",
        "json",
    ]);
    let applied = support::run(&mut audit);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let entries = applied.json();
    let entries = entries["content"]
        .as_array()
        .or(entries.as_array())
        .unwrap()
        .clone();
    assert_eq!(entries.len(), 1, "{entries:?}");
}

#[test]
fn bad_input_names_the_field_and_the_fix() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &[
                "register",
                "--service",
                "api",
                "--image",
                "r/a:1",
                "--git-ref",
                "main",
            ],
            2,
            "--project",
        ),
        (
            &[
                "register",
                "--project",
                "shop",
                "--service",
                "api",
                "--git-ref",
                "main",
            ],
            2,
            "--image",
        ),
        (
            &[
                "register",
                "--project",
                "shop",
                "--service",
                "api",
                "--image",
                "r/a:1",
                "--git-ref",
                "main",
                "--environment",
                "dev",
            ],
            2,
            "only one of",
        ),
        (
            &[
                "register",
                "--project",
                "nope",
                "--service",
                "api",
                "--image",
                "r/a:1",
                "--git-ref",
                "main",
            ],
            4,
            "project 'nope'",
        ),
        (
            &[
                "register",
                "--project",
                "shop",
                "--service",
                "cart",
                "--image",
                "r/a:1",
                "--git-ref",
                "main",
            ],
            4,
            "'cart'",
        ),
    ];
    for (args, code, needle) in cases {
        let mut command = wharf(&server.url(), dir.path());
        let run = run(command.args(args));
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
    assert_eq!(server.stored_builds(), 0);
}

#[test]
fn detached_head_in_ci_without_a_ref_is_a_clear_error() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command.env("CI", "true").args([
        "register",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        "r/a:1",
    ]);
    let run = run(&mut command);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--git-ref"), "{}", run.stderr);
}

#[test]
fn register_by_environment_and_apply_and_ci_context() {
    let server = TestServer::with_file(None);
    let dir = tempfile::tempdir().unwrap();
    let mut apply = wharf(&server.url(), dir.path());
    apply
        .args(["apply"])
        .arg(support::shop_file())
        .args(["--output", "json"]);
    let applied = run(&mut apply);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let created = applied.json()["created"].to_string();
    assert!(
        created.contains("environment dev") && created.contains("CI integration web"),
        "{created}"
    );

    let again = run(&mut apply);
    assert!(
        again.json()["created"].as_array().unwrap().is_empty(),
        "apply is idempotent"
    );

    let run_env = register(
        &server.url(),
        dir.path(),
        "r/shop/api:5",
        &["--environment", "prod"],
    );
    assert_eq!(run_env.code, 0, "{}", run_env.stderr);
    assert_eq!(run_env.json()["routedTo"], "prod");
    assert_eq!(run_env.json()["registeredBy"], "ENVIRONMENT");

    let mut context = wharf(&server.url(), dir.path());
    context
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REF", "refs/heads/feature/deep/x")
        .args(["ci-context", "--output", "json"]);
    let json = run(&mut context).json();
    assert_eq!(json["gitRef"], "feature/deep/x");
    assert_eq!(json["provider"], "github-actions");
    assert_eq!(json["sources"]["gitRef"], "GITHUB_REF");
}

/// Issue 25, "the server predicts, the client asks": `--dry-run` and `--require-route` use
/// `POST /wharf/v1/register/preview` and the server's own refusal, so a CI that follows its
/// own rule (CUSTOM) or none (NONE) is predicted by the rule it follows, and an unrouted build
/// is never stored. (A local prediction from the project's default rule said `dev` for
/// `web` on `main`; the server put it nowhere.)
#[test]
fn the_server_predicts_each_ci_by_the_rule_it_follows_and_require_route_stores_nothing() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let api = support::client::Api::new(server.url());
    let call = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        let (status, answer) = server.runtime.block_on(api.call(method, path, Some(body)));
        assert!(status.is_success(), "{path}: {status} {answer}");
        answer
    };
    let rule = call(
        reqwest::Method::POST,
        "/cc-ui/v1/artifact-routing-rule",
        serde_json::json!({"ruleName": "web-own", "registrationType": "ENVIRONMENT",
            "stackName": "shop", "isDefault": false,
            "criteria": [{"metadataKey": "BRANCH_NAME", "operator": "EQUALS",
                          "value": "web-only", "routeTo": "staging"}]}),
    );
    let (_, web) = server
        .runtime
        .block_on(api.get("/cc-ui/v1/artifacts-ci/name/web?stackName=shop"));
    call(
        reqwest::Method::PUT,
        &format!("/cc-ui/v1/artifacts-ci/{}", web["id"].as_str().unwrap()),
        serde_json::json!({"name": "web", "routingRuleId": rule["id"]}),
    );
    let docs = call(
        reqwest::Method::POST,
        "/cc-ui/v1/artifacts-ci",
        serde_json::json!({"name": "docs", "stackName": "shop", "registrationType": "ENVIRONMENT"}),
    );
    call(
        reqwest::Method::PUT,
        &format!("/cc-ui/v1/artifacts-ci/{}", docs["id"].as_str().unwrap()),
        serde_json::json!({"name": "docs", "mode": "NONE"}),
    );

    let cases = [
        ("api", "main", Some("dev"), "INHERITED"),
        ("web", "main", None, "CUSTOM"),
        ("web", "web-only", Some("staging"), "CUSTOM"),
        ("docs", "main", None, "NONE"),
    ];
    for (n, (service, git_ref, route, mode)) in cases.into_iter().enumerate() {
        let image = format!("r.example/{service}:{n}");
        let wharf_as = |extra: &str| {
            let mut command = wharf(&server.url(), dir.path());
            command
                .args(["register", "--project", "shop", "--service", service])
                .args([
                    "--image",
                    &image,
                    "--git-ref",
                    git_ref,
                    "--output",
                    "json",
                    extra,
                ]);
            run(&mut command)
        };
        let dry = wharf_as("--dry-run");
        assert_eq!(dry.code, 0, "{mode}: {}", dry.stderr);
        assert_eq!(
            dry.json()["predictedRoute"].as_str(),
            route,
            "{mode} on {git_ref}"
        );
        assert_eq!(dry.json()["predictedBy"], "server");

        let before = server.stored_builds();
        let run = wharf_as("--require-route");
        match route {
            Some(route) => {
                assert_eq!(run.code, 0, "{mode}: {}", run.stderr);
                assert_eq!(run.json()["routedTo"], route);
            }
            None => {
                assert_eq!(run.code, 6, "{mode}: {}", run.stderr);
                assert_eq!(run.json()["error"]["kind"], "not_routed");
                // A CI that follows nothing (NONE) is a service attached by hand: the
                // refusal names that strategy.
                let named = match mode {
                    "NONE" => {
                        format!("service '{service}' of project 'shop' uses the manual strategy")
                    }
                    _ => format!("CI integration '{service}'"),
                };
                assert!(
                    run.stderr.contains("nothing was registered") && run.stderr.contains(&named),
                    "{}",
                    run.stderr
                );
                assert_eq!(server.stored_builds(), before, "{mode}: nothing stored");
            }
        }
    }
}

/// Many copies of one registration, then of one promotion, at once: on SQLite they share
/// batches, where the build goes in with the commit and a duplicate is the commit's error.
/// Each copy is answered with the one build stored, once, with one audit entry; a different
/// image under the same external id is a conflict that stores nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_same_registration_or_promotion_sent_at_once_is_stored_once() {
    use support::client::{Api, saas};
    let (server, _data) = support::start_shop().await;
    let api = Api::new(server.url());
    let body = saas("main", "GIT_REF", "run-77", "r.example/shop/api:77");
    let answers = all_at_once(24, |_| {
        let (api, body) = (api.clone(), body.clone());
        async move { api.register(body).await }
    })
    .await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, reqwest::StatusCode::OK, "{:?}", a.body);
            a.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let build = ids.into_iter().next().unwrap();

    let conflict = api
        .register(saas("main", "GIT_REF", "run-77", "r.example/shop/api:78"))
        .await;
    assert_eq!(conflict.status, reqwest::StatusCode::CONFLICT);
    assert!(
        conflict.message().contains("already registered"),
        "{}",
        conflict.message()
    );

    let answers = all_at_once(24, |_| {
        let (api, build) = (api.clone(), build.clone());
        async move { api.promote("shop", "api", &build).await }
    })
    .await;
    let promoted: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, reqwest::StatusCode::OK, "{:?}", a.body);
            a.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(promoted.len(), 1, "{promoted:?}");

    let actions = api.audit_actions("ARTIFACT").await;
    let count = |action: &str| actions.iter().filter(|a| *a == action).count();
    assert_eq!(count("ARTIFACT_REGISTER"), 1, "{actions:?}");
    assert_eq!(count("ARTIFACT_PROMOTE"), 1, "{actions:?}");
    let (status, events) = api.get("/wharf/v1/events?project=shop").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{events}");
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    let count = |kind: &str| kinds.iter().filter(|k| **k == kind).count();
    assert_eq!(count("build.registered"), 1, "{kinds:?}");
    assert_eq!(count("build.promoted"), 1, "{kinds:?}");
    server.stop().await.unwrap();
}

/// Runs `count` calls of `call` at once; answers their answers.
async fn all_at_once<F, Fut>(count: usize, call: F) -> Vec<support::client::Answer>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = support::client::Answer> + Send + 'static,
{
    let tasks: Vec<_> = (0..count).map(|i| tokio::spawn(call(i))).collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}
