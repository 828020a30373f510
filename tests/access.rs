//! Permissions, roles and tokens: a CI token that may only register cannot reconfigure rules,
//! tokens are shown once, stored hashed, revocable and expiring.

use crate::support;

use reqwest::StatusCode;
use serde_json::json;
use support::client::Api;
use support::{TOKEN, TestServer, register, run, wharf};

/// Creates a token for `user` through the CLI as the admin; answers (id, token).
fn token_for(server: &TestServer, dir: &std::path::Path, user: &str) -> (String, String) {
    let mut create = wharf(&server.url(), dir);
    create.args([
        "token", "create", "--user", user, "--name", "pipeline", "--output", "json",
    ]);
    let created = run(&mut create);
    assert_eq!(created.code, 0, "{}", created.stderr);
    let json = created.json();
    (
        json["id"].as_str().unwrap().to_string(),
        json["token"].as_str().unwrap().to_string(),
    )
}

fn as_user(
    server: &TestServer,
    dir: &std::path::Path,
    user: &str,
    token: &str,
) -> std::process::Command {
    let mut command = wharf(&server.url(), dir);
    command
        .env("WHARF_USERNAME", user)
        .env("WHARF_TOKEN", token);
    command
}

#[test]
fn a_ci_token_registers_and_promotes_but_cannot_reconfigure() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let (_, ci_token) = token_for(&server, dir.path(), "ci-bot");
    assert!(ci_token.starts_with("wharf_") && ci_token.len() > 40);

    let mut register = as_user(&server, dir.path(), "ci-bot", &ci_token);
    register.args([
        "register",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        "r/a:1",
        "--git-ref",
        "main",
        "--external-id",
        "9",
        "--output",
        "json",
    ]);
    let registered = run(&mut register);
    assert_eq!(registered.code, 0, "{}", registered.stderr);
    assert!(!registered.stdout.contains(&ci_token) && !registered.stderr.contains(&ci_token));

    let mut promote = as_user(&server, dir.path(), "ci-bot", &ci_token);
    promote.args([
        "promote",
        "--project",
        "shop",
        "--service",
        "api",
        "--external-id",
        "9",
    ]);
    assert_eq!(run(&mut promote).code, 0);

    let mut apply = as_user(&server, dir.path(), "ci-bot", &ci_token);
    apply.arg("apply").arg(support::shop_file());
    let refused = run(&mut apply);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("PROJECT_ADMIN") && refused.stderr.contains("'ci'"),
        "{}",
        refused.stderr
    );

    let (status, body) = server.runtime.block_on(async {
        let api = Api::new(server.url());
        let rule = json!({"ruleName": "x", "registrationType": "ENVIRONMENT", "stackName": "shop", "criteria": []});
        let response = api.http.post(format!("{}/cc-ui/v1/artifact-routing-rule", api.base))
            .basic_auth("ci-bot", Some(&ci_token)).json(&rule).send().await.unwrap();
        (response.status(), response.json::<serde_json::Value>().await.unwrap())
    });
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "FORBIDDEN");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("ARTIFACT_ROUTING_RULE_WRITE"),
        "{body}"
    );
}

#[test]
fn a_user_without_a_role_cannot_register_and_a_release_manager_can_edit_rules() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    server.runtime.block_on(async {
        let api = Api::new(server.url());
        let (status, _) = api
            .post("/wharf/v1/users", json!({"username": "outsider"}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = api
            .post("/wharf/v1/users", json!({"username": "outsider"}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
    });
    let (_, outsider) = token_for(&server, dir.path(), "outsider");
    let mut command = as_user(&server, dir.path(), "outsider", &outsider);
    command.args([
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
    let refused = run(&mut command);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("ARTIFACTS_WRITE") && refused.stderr.contains("no role"),
        "{}",
        refused.stderr
    );
    assert_eq!(server.stored_builds(), 0);

    let mut other = as_user(&server, dir.path(), "outsider", &outsider);
    other.args(["token", "create", "--user", "ci-bot"]);
    assert_eq!(
        run(&mut other).code,
        3,
        "only admins make tokens for others"
    );

    let (_, lead) = token_for(&server, dir.path(), "release-lead");
    server.runtime.block_on(async {
        let api = Api::new(server.url());
        let rules = api
            .get("/cc-ui/v1/artifact-routing-rule?stackName=shop")
            .await
            .1;
        let mut rule = rules[0].clone();
        rule["isDefault"] = json!(true);
        let response = api
            .http
            .put(format!("{}/cc-ui/v1/artifact-routing-rule", api.base))
            .basic_auth("release-lead", Some(&lead))
            .json(&rule)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let members = api
            .http
            .put(format!(
                "{}/wharf/v1/projects/shop/members/outsider",
                api.base
            ))
            .basic_auth("release-lead", Some(&lead))
            .json(&json!({"role": "ci"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            members.status(),
            StatusCode::FORBIDDEN,
            "membership needs PROJECT_ADMIN"
        );
        let (status, _) = api
            .put(
                "/wharf/v1/projects/shop/members/outsider",
                json!({"role": "ci"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, bad) = api
            .put(
                "/wharf/v1/projects/shop/members/outsider",
                json!({"role": "wizard"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(bad["message"].as_str().unwrap().contains("wizard"), "{bad}");
    });
    let mut now_allowed = as_user(&server, dir.path(), "outsider", &outsider);
    now_allowed.args([
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
    assert_eq!(run(&mut now_allowed).code, 0);
}

#[test]
fn tokens_are_listed_without_secrets_revoked_at_once_and_expire() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = token_for(&server, dir.path(), "ci-bot");

    let mut whoami = as_user(&server, dir.path(), "ci-bot", &token);
    whoami.arg("whoami");
    assert_eq!(run(&mut whoami).code, 0);

    let mut list = wharf(&server.url(), dir.path());
    list.args(["token", "list", "--user", "ci-bot", "--output", "json"]);
    let listed = run(&mut list);
    assert!(
        listed.stdout.contains(&id) && !listed.stdout.contains(&token),
        "{}",
        listed.stdout
    );

    let mut revoke = wharf(&server.url(), dir.path());
    revoke.args(["token", "revoke", &id]);
    assert_eq!(run(&mut revoke).code, 0);
    let after = run(&mut whoami);
    assert_eq!(
        after.code, 3,
        "a revoked token stops working at once: {}",
        after.stderr
    );

    let stored_hashes = server.runtime.block_on(async {
        let store = server.server.as_ref().unwrap().store().clone();
        store
            .raw_strings("SELECT token_hash FROM tokens")
            .await
            .unwrap()
    });
    assert!(
        stored_hashes
            .iter()
            .all(|h| h.len() == 64 && !h.contains(TOKEN)),
        "only hashes are stored"
    );

    let expired = "wharf_expired_0123456789abcdef0123";
    server.runtime.block_on(async {
        let store = server.server.as_ref().unwrap().store().clone();
        let hash = wharf_control_plane::auth::hash_token(expired);
        let token = wharf_control_plane::store::NewToken {
            username: "ci-bot",
            token_hash: &hash,
            name: Some("old"),
            expires_at: Some("2001-01-01T00:00:00.000Z"),
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_token(&token).await.unwrap();
        tx.commit().await.unwrap();
    });
    let mut old = as_user(&server, dir.path(), "ci-bot", expired);
    old.arg("whoami");
    assert_eq!(run(&mut old).code, 3, "an expired token is refused");

    let mut audit = wharf(&server.url(), dir.path());
    audit.args(["audit", "--entity", "TOKEN", "--output", "json"]);
    let entries = run(&mut audit);
    assert!(entries.stdout.contains("TOKEN_REVOKE") && entries.stdout.contains("TOKEN_CREATE"));
    assert!(
        !entries.stdout.contains(&token),
        "the audit never holds a token"
    );
}

#[test]
fn registration_still_works_for_the_admin_and_records_who() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let out = register(&server.url(), dir.path(), "r/a:1", &["--git-ref", "main"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut builds = wharf(&server.url(), dir.path());
    builds.args([
        "builds",
        "--project",
        "shop",
        "--service",
        "api",
        "--output",
        "json",
    ]);
    assert_eq!(run(&mut builds).json()[0]["createdBy"], "admin");
}
