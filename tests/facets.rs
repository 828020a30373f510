//! `wharf` against a Facets-shaped control plane (`support::facets`, a double: Facets is a
//! hosted service): `register`, `push`, `promote`, `builds` and `resolve` read only what they
//! need, in every form Facets sends it, name the environment a build went to from its id, and
//! never fail a step whose write succeeded.

use crate::support;
use support::oci_layout::{image, index_json};

use std::path::Path;
use std::process::Command;
use support::facets::{self, Behaviour, FacetsServer};
use support::{run, wharf};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// `wharf` pointed at the double, with the double's credentials.
fn wharf_on(facets: &FacetsServer, dir: &Path) -> Command {
    let mut command = wharf(&facets.url, dir);
    command
        .env("WHARF_USERNAME", facets::USER)
        .env("WHARF_TOKEN", facets::TOKEN);
    command
}

fn register(facets: &FacetsServer, dir: &Path, image: &str, git_ref: &str) -> support::Run {
    let mut command = wharf_on(facets, dir);
    command.args([
        "register",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        image,
        "--git-ref",
        git_ref,
        "--output",
        "json",
    ]);
    let out = run(&mut command);
    assert!(!out.stderr.contains(facets::TOKEN), "{}", out.stderr);
    out
}

#[test]
fn register_names_the_environment_whatever_the_date_format() {
    let runtime = runtime();
    for iso_dates in [false, true] {
        let facets = FacetsServer::start(
            &runtime,
            Behaviour {
                iso_dates,
                ..Default::default()
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let out = register(&facets, dir.path(), "r.example/shop/api:1", "main");
        assert_eq!(out.code, 0, "iso_dates={iso_dates}: {}", out.stderr);
        let outcome = out.json();
        assert_eq!(
            outcome["routedTo"], "dev",
            "the id in registrationValue, named: {outcome}"
        );
        assert_eq!(outcome["classified"], true);
        assert_eq!(outcome["artifactId"], "1001", "a numeric id read as text");
        assert_eq!(outcome["ruleName"], "branches");
        assert!(outcome.get("warnings").is_none(), "{outcome}");

        let unrouted = register(&facets, dir.path(), "r.example/shop/api:2", "feature/x");
        assert_eq!(unrouted.code, 0, "{}", unrouted.stderr);
        assert_eq!(unrouted.json()["classified"], false);
        assert_eq!(unrouted.json()["routedTo"], serde_json::Value::Null);
    }
}

#[test]
fn a_read_that_fails_after_the_write_is_a_warning_not_a_failure() {
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();

    let no_names = FacetsServer::start(
        &runtime,
        Behaviour {
            clusters_fail: true,
            ..Default::default()
        },
    );
    let out = register(&no_names, dir.path(), "r.example/shop/api:1", "main");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let outcome = out.json();
    assert_eq!(outcome["routedTo"], serde_json::Value::Null);
    assert_eq!(
        outcome["routedToId"], "e-101",
        "the id, said as an id: {outcome}"
    );
    assert!(
        outcome["warnings"][0].as_str().unwrap().contains("e-101"),
        "{outcome}"
    );

    let mut human = wharf_on(&no_names, dir.path());
    human.args([
        "register",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        "r.example/shop/api:1b",
        "--git-ref",
        "main",
    ]);
    let human = run(&mut human);
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human.stdout.contains("environment id e-101"),
        "{}",
        human.stdout
    );
    assert!(human.stderr.contains("warning: "), "{}", human.stderr);

    let garbled = FacetsServer::start(
        &runtime,
        Behaviour {
            unreadable_register: true,
            ..Default::default()
        },
    );
    let out = register(&garbled, dir.path(), "r.example/shop/api:2", "main");
    assert_eq!(
        out.code, 0,
        "an unreadable answer to a registration made: {}",
        out.stderr
    );
    let outcome = out.json();
    assert_eq!(
        outcome["routedTo"], "dev",
        "found in the build list instead: {outcome}"
    );
    assert!(
        outcome["warnings"][0]
            .as_str()
            .unwrap()
            .contains("unreadable"),
        "{outcome}"
    );

    let no_list = FacetsServer::start(
        &runtime,
        Behaviour {
            builds_fail: true,
            ..Default::default()
        },
    );
    let out = register(&no_list, dir.path(), "r.example/shop/api:3", "main");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let outcome = out.json();
    assert_eq!(outcome["artifactUri"], "r.example/shop/api:3");
    assert!(
        outcome["warnings"][0]
            .as_str()
            .unwrap()
            .contains("was registered"),
        "{outcome}"
    );
    assert_eq!(no_list.builds().len(), 1, "the registration was made once");
}

#[test]
fn promote_builds_and_resolve_speak_facets() {
    let runtime = runtime();
    let facets = FacetsServer::start(&runtime, Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let first = register(&facets, dir.path(), "r.example/shop/api:7", "main");
    let id = first.json()["artifactId"].as_str().unwrap().to_string();

    let mut promote = wharf_on(&facets, dir.path());
    promote.args([
        "promote",
        "--project",
        "shop",
        "--service",
        "api",
        "--artifact-id",
        &id,
        "--to",
        "prod",
        "--output",
        "json",
    ]);
    let promoted = run(&mut promote);
    assert_eq!(promoted.code, 0, "{}", promoted.stderr);
    let promoted = promoted.json();
    assert_eq!(promoted["routedTo"], "prod", "{promoted}");
    assert_eq!(promoted["steps"], serde_json::json!(["staging", "prod"]));

    let mut builds = wharf_on(&facets, dir.path());
    builds.args([
        "builds",
        "--project",
        "shop",
        "--service",
        "api",
        "--output",
        "json",
    ]);
    let listed = run(&mut builds);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let routed: Vec<_> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["routedTo"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        routed,
        ["prod", "staging", "dev"],
        "named from ids, newest first"
    );

    let mut resolve = wharf_on(&facets, dir.path());
    resolve.args([
        "resolve",
        "--project",
        "shop",
        "--environment",
        "prod",
        "--service",
        "api",
        "--output",
        "json",
    ]);
    let resolved = run(&mut resolve);
    assert_eq!(resolved.code, 0, "{}", resolved.stderr);
    assert_eq!(
        resolved.json()["artifact"]["artifactUri"],
        "r.example/shop/api:7"
    );
    assert_eq!(resolved.json()["resolvedFrom"], "ENVIRONMENT");
}

#[test]
fn push_goes_to_the_ecr_repository_facets_names() {
    // The repository Facets names is on an ECR host; a real registry (wharf serve's built-in
    // one) stands in for it behind a forward proxy, which the standard variables name.
    let registry = support::TestServer::shop();
    let api = support::client::Api::new(registry.url());
    let password = registry.runtime.block_on(async {
        api.post("/wharf/v1/users", serde_json::json!({"username": "AWS"}))
            .await;
        api.put(
            "/wharf/v1/projects/shop/members/AWS",
            serde_json::json!({"role": "ci"}),
        )
        .await;
        let (_, token) = api
            .post("/wharf/v1/tokens", serde_json::json!({"username": "AWS"}))
            .await;
        token["token"].as_str().unwrap().to_string()
    });
    let proxy = support::proxy::Proxy::start(&registry.runtime, &registry.url(), vec![]);
    let facets = FacetsServer::start(
        &registry.runtime,
        Behaviour {
            registry_password: password.clone(),
            ..Default::default()
        },
    );
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let (digest, descriptor, _) = image(&layout, "facets", "");
    index_json(&layout, &descriptor, "v1");
    let mut command = wharf_on(&facets, work.path());
    command
        .env("HTTP_PROXY", proxy.url())
        .env("NO_PROXY", "127.0.0.1")
        .args([
            "push",
            "--project",
            "shop",
            "--service",
            "api",
            "--git-ref",
            "main",
            "--plain-http",
            "--output",
            "json",
            "--image",
        ])
        .arg(format!("oci:{}:v1", layout.display()));
    let out = run(&mut command);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains(&password) && !out.stdout.contains(&password));
    let outcome = out.json();
    let pushed = format!("{}/shop/api@{digest}", facets::ECR_HOST);
    assert_eq!(outcome["artifactUri"], pushed, "{outcome}");
    assert_eq!(outcome["routedTo"], "dev");
    assert_eq!(facets.builds(), [(pushed, Some("dev"), false)]);
    let seen = proxy.seen();
    assert!(
        seen.iter().any(|(_, path)| path.starts_with(&format!("http://{}/v2/shop/api/", facets::ECR_HOST))),
        "the blobs went to the repository Facets named: {seen:?}"
    );
}

/// Issue 26, finding 12: the client reads of a Facets cluster only what it uses (its id and
/// name): an answer without `releaseStream` still names the environment.
#[test]
fn a_cluster_answer_with_only_id_and_name_still_names_the_environment() {
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let sparse = FacetsServer::start(
        &runtime,
        Behaviour {
            sparse_clusters: true,
            ..Default::default()
        },
    );
    let out = register(&sparse, dir.path(), "r.example/shop/api:1", "main");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let outcome = out.json();
    assert_eq!(outcome["routedTo"], "dev", "{outcome}");
    assert_eq!(
        outcome["warnings"],
        serde_json::Value::Null,
        "no warning: {outcome}"
    );
}

/// The double refuses a registration body without a field Facets' SDK requires, as Facets
/// does; wharf's own bodies always carry them (every test above goes through that check).
#[test]
fn the_facets_double_refuses_a_body_facets_would_refuse() {
    let runtime = runtime();
    let double = FacetsServer::start(&runtime, Behaviour::default());
    let status = runtime.block_on(async {
        support::http()
            .post(format!("{}/cc-ui/v1/ci-cd/register", double.url))
            .basic_auth(facets::USER, Some(facets::TOKEN))
            .json(&serde_json::json!({"blueprintName": "shop", "artifactUri": "r.example/a:1"}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 400);
}
