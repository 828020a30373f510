//! `wharf promote`, `wharf resolve`, `wharf audit` and `wharf builds` filters, end to end with
//! the real binary.

use crate::support;

use support::{TestServer, register, run, wharf};

#[test]
fn promote_by_external_id_up_to_a_stage_then_resolve_and_audit() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let registered = register(
        &server.url(),
        dir.path(),
        "r/shop/api:7",
        &["--git-ref", "main", "--external-id", "run-7"],
    );
    assert_eq!(registered.json()["routedTo"], "dev");

    let mut promote = wharf(&server.url(), dir.path());
    promote.args([
        "promote",
        "--project",
        "shop",
        "--service",
        "api",
        "--external-id",
        "run-7",
        "--to",
        "prod",
        "--output",
        "json",
    ]);
    let promoted = run(&mut promote);
    assert_eq!(promoted.code, 0, "{}", promoted.stderr);
    let json = promoted.json();
    assert_eq!(json["routedTo"], "prod");
    assert_eq!(json["from"], "dev");
    assert_eq!(json["steps"], serde_json::json!(["staging", "prod"]));
    assert_eq!(json["replayed"], false);

    let again = run(&mut promote);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        again.json()["replayed"],
        true,
        "already at prod: nothing written"
    );
    assert_eq!(server.stored_builds(), 3);

    let mut past_the_end = wharf(&server.url(), dir.path());
    past_the_end.args([
        "promote",
        "--project",
        "shop",
        "--service",
        "api",
        "--external-id",
        "run-7",
    ]);
    let refused = run(&mut past_the_end);
    assert_eq!(refused.code, 8, "{}", refused.stderr);
    assert!(refused.stderr.contains("last stage"), "{}", refused.stderr);

    let mut resolve = wharf(&server.url(), dir.path());
    resolve.args([
        "resolve",
        "--project",
        "shop",
        "--environment",
        "prod",
        "--expression",
        "${blueprint.self.artifacts.api}",
    ]);
    let resolved = run(&mut resolve);
    assert_eq!(resolved.code, 0, "{}", resolved.stderr);
    assert_eq!(
        resolved.stdout.trim(),
        "r/shop/api:7",
        "stdout is the image alone, for scripts"
    );

    let mut unresolved = wharf(&server.url(), dir.path());
    unresolved.args([
        "resolve",
        "--project",
        "shop",
        "--environment",
        "dev",
        "--service",
        "web",
    ]);
    let missing = run(&mut unresolved);
    assert_eq!(missing.code, 4, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("no classified builds"),
        "{}",
        missing.stderr
    );

    let mut audit = wharf(&server.url(), dir.path());
    audit.args([
        "audit",
        "--project",
        "shop",
        "--entity",
        "ARTIFACT",
        "--output",
        "json",
    ]);
    let page = run(&mut audit).json();
    let actions: Vec<_> = page["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entityAction"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["ARTIFACT_PROMOTE", "ARTIFACT_PROMOTE", "ARTIFACT_REGISTER"]
    );

    let mut human = wharf(&server.url(), dir.path());
    human.args(["audit", "--action", "ARTIFACT_REGISTER"]);
    let table = run(&mut human);
    assert!(
        table.stdout.contains("ARTIFACT_REGISTER") && !table.stdout.contains("ARTIFACT_PROMOTE"),
        "{}",
        table.stdout
    );
}

#[test]
fn builds_can_be_filtered() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    register(
        &server.url(),
        dir.path(),
        "r/a:1",
        &["--git-ref", "main", "--external-id", "1"],
    );
    register(
        &server.url(),
        dir.path(),
        "r/a:2",
        &["--git-ref", "feature/z", "--external-id", "2"],
    );
    register(
        &server.url(),
        dir.path(),
        "r/a:3",
        &["--git-ref", "release/1", "--external-id", "3"],
    );
    let list = |extra: &[&str]| {
        let mut command = wharf(&server.url(), dir.path());
        command
            .args([
                "builds",
                "--project",
                "shop",
                "--service",
                "api",
                "--output",
                "json",
            ])
            .args(extra);
        let out = run(&mut command);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["artifactUri"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(&[]), ["r/a:3", "r/a:2", "r/a:1"]);
    assert_eq!(list(&["--routed-to", "staging"]), ["r/a:3"]);
    assert_eq!(list(&["--unclassified"]), ["r/a:2"]);
    assert_eq!(list(&["--external-id", "1"]), ["r/a:1"]);
    assert_eq!(list(&["--limit", "1"]), ["r/a:3"]);
    assert!(list(&["--promoted"]).is_empty());
}
