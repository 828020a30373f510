//! The server played against as an attacker would: an outsider, a `viewer`, a `ci` member and
//! a user of another project. Each finding of the adversarial review (issue 12) is one test
//! here, over real loopback HTTP against a control plane on the test's runtime.

use crate::support;
use crate::support::registry::{Registry, credentials, manifest};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::client::{Api, saas};
use support::start_shop;
use wharf_oci::Digest;

/// Applies a project file (TOML, sent as the API's JSON) to `path_name` as `user`.
async fn apply(
    api: &Api,
    path_name: &str,
    file: &str,
    user: &str,
    token: &str,
) -> reqwest::Response {
    let parsed: toml::Value = toml::from_str(file).unwrap();
    api.http
        .put(format!("{}/wharf/v1/projects/{path_name}", api.base))
        .basic_auth(user, Some(token))
        .json(&parsed)
        .send()
        .await
        .unwrap()
}

/// A second project, `other`, with a CI named `api` like shop's.
async fn other_project(api: &Api) {
    let file = "[project]\nname = \"other\"\nregistration_type = \"ENVIRONMENT\"\n\n\
                [[environments]]\nname = \"dev\"\nrelease_stream = \"QA\"\n\n[[ci]]\nname = \"api\"\n";
    let response = apply(api, "other", file, support::ADMIN, support::TOKEN).await;
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );
}

fn registry_as(base: &str, user: &str, password: &str) -> Registry {
    Registry {
        http: support::http(),
        base: base.to_string(),
        user: user.to_string(),
        password: password.to_string(),
    }
}

fn scoped(base: &str, issued: &Value) -> Registry {
    registry_as(
        base,
        issued["username"].as_str().unwrap(),
        issued["password"].as_str().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mount_from_a_repository_the_credential_may_not_read_is_a_plain_upload() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    other_project(&api).await;
    let admin = registry_as(&server.url(), support::ADMIN, support::TOKEN);
    let secret = admin.push_blob("shop/api", b"shop's private layer").await;

    let (status, issued) = api
        .post(
            "/cc-ui/v1/ci-cd/pushCredentials",
            json!({"blueprintName": "other", "artifactory": "default", "applicationName": "api"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let other = scoped(&server.url(), &issued);
    for query in [
        format!("mount={secret}&from=shop/api"),
        format!("mount={secret}"),
    ] {
        let mount = other
            .request(
                Method::POST,
                &format!("/v2/other/api/blobs/uploads/?{query}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            mount.status(),
            StatusCode::ACCEPTED,
            "{query}: a plain upload session, which says nothing about shop's blobs"
        );
    }
    let read = other
        .request(Method::GET, &format!("/v2/other/api/blobs/{secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::NOT_FOUND, "nothing was mounted");
    let direct = other
        .request(Method::GET, &format!("/v2/shop/api/blobs/{secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::FORBIDDEN);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_credential_ends_with_its_token_its_role_or_an_admin() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let base = server.url();
    let pusher = api.member("shop", "pusher", "ci").await.user.token;
    let as_pusher = api.as_user("pusher", &pusher);
    let issue = || async {
        let (status, issued) = as_pusher
            .call(
                Method::POST,
                "/cc-ui/v1/ci-cd/pushCredentials",
                Some(json!({"blueprintName": "shop", "artifactory": "default", "applicationName": "api"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{issued}");
        scoped(&base, &issued)
    };
    let works = |registry: Registry| async move {
        registry
            .request(Method::POST, "/v2/shop/api/blobs/uploads/")
            .send()
            .await
            .unwrap()
            .status()
    };

    // The token that obtained it is revoked.
    let credential = issue().await;
    let same = registry_as(&base, &credential.user, &credential.password);
    assert_eq!(works(credential).await, StatusCode::ACCEPTED);
    let (_, tokens) = api.get("/wharf/v1/tokens?username=pusher").await;
    let id = tokens[0]["id"].as_str().unwrap();
    let (status, _) = api.delete(&format!("/wharf/v1/tokens/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(works(same).await, StatusCode::UNAUTHORIZED, "token revoked");

    // The membership that allowed it is removed.
    let pusher = api.token_for("pusher").await;
    let as_pusher = api.as_user("pusher", &pusher);
    let (status, issued) = as_pusher
        .call(
            Method::POST,
            "/cc-ui/v1/ci-cd/pushCredentials",
            Some(json!({"blueprintName": "shop", "artifactory": "default", "applicationName": "api"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(works(scoped(&base, &issued)).await, StatusCode::ACCEPTED);
    let (status, _) = api.delete("/wharf/v1/projects/shop/members/pusher").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        works(scoped(&base, &issued)).await,
        StatusCode::UNAUTHORIZED,
        "membership removed"
    );

    // An admin revokes push credentials: one by name, or all of a user.
    let (status, _) = api
        .put(
            "/wharf/v1/projects/shop/members/pusher",
            json!({"role": "ci"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, first) = as_pusher
        .call(
            Method::POST,
            "/cc-ui/v1/ci-cd/pushCredentials",
            Some(json!({"blueprintName": "shop", "artifactory": "default", "applicationName": "api"})),
        )
        .await;
    let (_, second) = as_pusher
        .call(
            Method::POST,
            "/cc-ui/v1/ci-cd/pushCredentials",
            Some(json!({"blueprintName": "shop", "artifactory": "default", "applicationName": "web"})),
        )
        .await;
    let (status, listed) = api.get("/wharf/v1/push-credentials?owner=pusher").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&first["username"].as_str().unwrap()),
        "{listed}"
    );
    assert!(
        !listed
            .to_string()
            .contains(first["password"].as_str().unwrap())
    );
    let (status, not_admin) = as_pusher
        .call(Method::GET, "/wharf/v1/push-credentials", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{not_admin}");
    let (status, revoked) = api
        .delete(&format!(
            "/wharf/v1/push-credentials/{}",
            first["username"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["revoked"], 1);
    assert_eq!(works(scoped(&base, &first)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        works(scoped(&base, &second)).await,
        StatusCode::FORBIDDEN,
        "web's: alive"
    );
    let (status, revoked) = api.delete("/wharf/v1/push-credentials?owner=pusher").await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revoked"].as_u64().unwrap() >= 1);
    let web = scoped(&base, &second);
    let status = web
        .request(Method::POST, "/v2/shop/web/blobs/uploads/")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "all of pusher's revoked");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_deletes_and_tag_moves_are_audited_with_who_and_digests() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let issued = credentials(&api, "api").await;
    let registry = scoped(&server.url(), &issued);
    let config = registry.push_blob("shop/api", b"{}").await;
    let one = registry.push_blob("shop/api", b"layer one").await;
    let two = registry.push_blob("shop/api", b"layer two!").await;
    let first = manifest(&config, &one, (2, 9));
    let second = manifest(&config, &two, (2, 10));
    for body in [&first, &second] {
        let put = registry
            .put_manifest("shop/api", "v1", wharf_oci::OCI_MANIFEST, body)
            .await;
        assert_eq!(put.status(), StatusCode::CREATED);
    }
    let first_digest = Digest::sha256_of(first.as_bytes()).to_string();
    let second_digest = Digest::sha256_of(second.as_bytes()).to_string();
    let delete = registry
        .request(
            Method::DELETE,
            &format!("/v2/shop/api/manifests/{second_digest}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::ACCEPTED);
    let blob = registry
        .request(Method::DELETE, &format!("/v2/shop/api/blobs/{two}"))
        .send()
        .await
        .unwrap();
    assert_eq!(blob.status(), StatusCode::ACCEPTED);

    let entries = api.audit_entries("CONTAINER_REGISTRY").await;
    let find = |action: &str| {
        entries
            .iter()
            .find(|e| e["entityAction"] == action)
            .unwrap_or_else(|| panic!("no {action} in {entries:?}"))
            .clone()
    };
    let moved = find("REGISTRY_TAG_MOVE");
    assert_eq!(
        moved["performedBy"],
        support::ADMIN,
        "the credential's owner"
    );
    assert_eq!(moved["target"], "shop/api");
    assert_eq!(moved["metadata"]["tag"], "v1");
    assert_eq!(moved["metadata"]["previousDigest"], first_digest.as_str());
    assert_eq!(moved["metadata"]["digest"], second_digest.as_str());
    assert_eq!(moved["metadata"]["credential"], issued["username"]);
    let deleted = find("REGISTRY_MANIFEST_DELETE");
    assert_eq!(deleted["metadata"]["digest"], second_digest.as_str());
    assert_eq!(deleted["metadata"]["tags"], json!(["v1"]));
    assert_eq!(
        find("REGISTRY_BLOB_DELETE")["metadata"]["digest"],
        two.to_string()
    );
    let pushes = entries
        .iter()
        .filter(|e| e["entityAction"] == "REGISTRY_MANIFEST_PUSH")
        .count();
    assert_eq!(pushes, 1, "the first push; the second moved the tag");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn names_outside_their_rule_are_refused_naming_the_field() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let long = "u".repeat(100_000);
    let users = ["a:b", "nul\u{0}byte", long.as_str(), "-dash", ""];
    for username in users {
        let (status, body) = api
            .post("/wharf/v1/users", json!({"username": username}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{username:.20}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("username"), "{message}");
        assert!(message.len() < 600, "the value is not echoed whole");
        assert!(!message.contains('\u{0}'), "no raw control characters");
    }
    let shop = "[project]\nname = \"Shop\"\nregistration_type = \"ENVIRONMENT\"\n";
    let response = apply(&api, "Shop", shop, support::ADMIN, support::TOKEN).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("project.name") && text.contains("lowercase"),
        "{text}"
    );
    // `..` cannot travel in a URL path (clients fold it), so the file's own check is asked.
    let dir = tempfile::tempdir().unwrap();
    let dots = dir.path().join("wharf.toml");
    std::fs::write(
        &dots,
        "[project]\nname = \"..\"\nregistration_type = \"ENVIRONMENT\"\n",
    )
    .unwrap();
    let refused = wharf_control_plane::project_file::load(&dots)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("project.name"), "{refused}");
    for ci in ["API", "..", "a/b"] {
        let (status, body) = api
            .post(
                "/cc-ui/v1/artifacts-ci",
                json!({"ciName": ci, "registrationType": "ENVIRONMENT", "stackName": "shop"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ci}: {body}");
    }
    let (status, body) = api
        .post(
            "/cc-ui/v1/artifacts-ci",
            json!({"ciName": "API", "registrationType": "ENVIRONMENT", "stackName": "shop"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("ciName"),
        "{body}"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_outside_the_grammar_and_wrong_descriptor_sizes_are_refused() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let registry = scoped(&server.url(), &credentials(&api, "api").await);
    let config = registry.push_blob("shop/api", b"{}").await;
    let layer = registry.push_blob("shop/api", b"layer").await;
    let good = manifest(&config, &layer, (2, 5));
    let long = "t".repeat(300);
    for tag in ["", "a/b", "-dash", ".dot", long.as_str()] {
        let put = registry
            .put_manifest("shop/api", tag, wharf_oci::OCI_MANIFEST, &good)
            .await;
        assert_eq!(put.status(), StatusCode::BAD_REQUEST, "tag {tag:.20}");
        let body: Value = put.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "TAG_INVALID", "{body}");
    }
    let lying = manifest(&config, &layer, (2, 999));
    let put = registry
        .put_manifest("shop/api", "v1", wharf_oci::OCI_MANIFEST, &lying)
        .await;
    assert_eq!(put.status(), StatusCode::BAD_REQUEST);
    let body: Value = put.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "MANIFEST_INVALID");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("size"),
        "{body}"
    );
    let put = registry
        .put_manifest("shop/api", "v1", wharf_oci::OCI_MANIFEST, &good)
        .await;
    assert_eq!(
        put.status(),
        StatusCode::CREATED,
        "the honest one is stored"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn image_uris_with_control_characters_are_refused_on_every_write_path() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    for uri in [
        "r.example/a:1\u{0}",
        "r.example/\u{1b}[31ma:1",
        "r.example/a:1\nforged: yes",
        "http://r.example/a:1",
    ] {
        let (status, body) = api
            .post(
                "/cc-ui/v1/ci-cd/register",
                saas("dev", "ENVIRONMENT", "x1", uri),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri:?}: {body}");
        assert!(body["message"].as_str().unwrap().contains("artifactUri"));
        assert!(!body["message"].as_str().unwrap().contains('\u{1b}'));
        let (status, body) = api
            .post(
                "/cc-ui/v1/artifacts/attach-image-via-register",
                json!({"resourceName": "api", "resourceType": "service", "blueprintName": "shop",
                       "ciName": "api", "artifactUri": uri, "registrationType": "ENVIRONMENT",
                       "registrationValue": "dev"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "attach {uri:?}: {body}");
    }
    assert_eq!(
        server.store().total_artifacts().await.unwrap(),
        0,
        "nothing stored"
    );
    server.stop().await.unwrap();
}

/// Each role of the shop project against each write path: allowed means anything but 403 (and
/// success for the build writes), refused means 403.
#[tokio::test(flavor = "multi_thread")]
async fn each_role_against_each_write_path() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let (status, dev_build) = api
        .post(
            "/cc-ui/v1/ci-cd/register",
            saas("dev", "ENVIRONMENT", "seed", "r.example/shop/api:seed"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dev_build}");
    let dev_id = dev_build["id"].as_str().unwrap().to_string();

    type Path = (&'static str, &'static [&'static str]);
    let writers: &[&str] = &["admin", "release-manager", "ci"];
    let managers: &[&str] = &["admin", "release-manager"];
    let pushers: &[&str] = &["admin", "ci"];
    let admins: &[&str] = &["admin"];
    let paths: [Path; 11] = [
        ("register by branch rules", writers),
        ("register straight into prod", writers),
        ("attach an image to prod", writers),
        ("promote", writers),
        ("delete a build", managers),
        ("push credentials", pushers),
        ("create a CI integration", managers),
        ("create a release stream", admins),
        ("save an environment", admins),
        ("set a member", admins),
        ("create a server user", &[]),
    ];
    for role in ["admin", "release-manager", "ci", "viewer"] {
        let user = format!("as-{role}");
        let token = api.member("shop", &user, role).await.user.token;
        let caller = api.as_user(&user, &token);
        let (_, own_build) = api
            .post(
                "/cc-ui/v1/ci-cd/register",
                saas(
                    "dev",
                    "ENVIRONMENT",
                    &format!("del-{role}"),
                    &format!("r.example/shop/api:{role}"),
                ),
            )
            .await;
        for (path, allowed) in paths {
            let tag = format!("{role}-{}", path.len());
            let (method, url, body) = match path {
                "register by branch rules" => (
                    Method::POST,
                    "/cc-ui/v1/ci-cd/register".to_string(),
                    Some(saas(
                        "main",
                        "GIT_REF",
                        &tag,
                        &format!("r.example/shop/api:{tag}"),
                    )),
                ),
                "register straight into prod" => (
                    Method::POST,
                    "/cc-ui/v1/ci-cd/register".to_string(),
                    Some(saas(
                        "prod",
                        "ENVIRONMENT",
                        &tag,
                        &format!("r.example/shop/api:p{tag}"),
                    )),
                ),
                "attach an image to prod" => (
                    Method::POST,
                    "/cc-ui/v1/artifacts/attach-image-via-register".to_string(),
                    Some(
                        json!({"resourceName": "api", "resourceType": "service", "blueprintName": "shop",
                        "ciName": "api", "artifactUri": format!("r.example/shop/api:a{tag}"),
                        "registrationType": "ENVIRONMENT", "registrationValue": "prod"}),
                    ),
                ),
                "promote" => (
                    Method::POST,
                    format!(
                        "/cc-ui/v1/artifacts/promote?ciName=api&artifactId={dev_id}&stackName=shop"
                    ),
                    None,
                ),
                "delete a build" => (
                    Method::DELETE,
                    format!("/cc-ui/v1/artifacts/{}", own_build["id"].as_str().unwrap()),
                    None,
                ),
                "push credentials" => (
                    Method::POST,
                    "/cc-ui/v1/ci-cd/pushCredentials".to_string(),
                    Some(
                        json!({"blueprintName": "shop", "artifactory": "default", "applicationName": "api"}),
                    ),
                ),
                "create a CI integration" => (
                    Method::POST,
                    "/cc-ui/v1/artifacts-ci".to_string(),
                    Some(
                        json!({"ciName": format!("svc-{}", role.replace('-', "")), "registrationType": "ENVIRONMENT", "stackName": "shop"}),
                    ),
                ),
                "create a release stream" => (
                    Method::POST,
                    "/cc-ui/v1/release-stream".to_string(),
                    Some(json!({"name": format!("RS-{role}"), "stackName": "shop"})),
                ),
                "save an environment" => (
                    Method::PUT,
                    format!("/wharf/v1/projects/shop/environments/env-{role}"),
                    Some(json!({"releaseStream": "QA"})),
                ),
                "set a member" => (
                    Method::PUT,
                    "/wharf/v1/projects/shop/members/ci-bot".to_string(),
                    Some(json!({"role": "ci"})),
                ),
                "create a server user" => (
                    Method::POST,
                    "/wharf/v1/users".to_string(),
                    Some(json!({"username": format!("made-by-{role}")})),
                ),
                other => unreachable!("{other}"),
            };
            let (status, answer) = caller.call(method, &url, body).await;
            if allowed.contains(&role) {
                // Allowed means done: a 4xx or a 500 is never counted as allowed.
                assert!(status.is_success(), "{role} may {path}: {status} {answer}");
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} may not {path}: {answer}"
                );
            }
        }
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_admin_names_existing_users_only_a_server_admin_creates_them() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let token = api.member("shop", "shop-owner", "admin").await.user.token;
    let file = std::fs::read_to_string(support::shop_file()).unwrap()
        + "\n[[members]]\nuser = \"stranger\"\nrole = \"viewer\"\n";
    let response = apply(&api, "shop", &file, "shop-owner", &token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("stranger") && text.contains("server admin"),
        "{text}"
    );
    let (_, users) = api.get("/wharf/v1/users").await;
    assert!(
        !users.to_string().contains("stranger"),
        "nothing half-written"
    );
    let response = apply(&api, "shop", &file, support::ADMIN, support::TOKEN).await;
    assert!(response.status().is_success(), "a server admin creates it");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_pushes_only_to_the_repository_of_a_ci() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let token = api.member("shop", "builder", "ci").await.user.token;
    let builder = registry_as(&server.url(), "builder", &token);
    for repository in ["shop/not-a-ci", "shop/api/deeper/x", "shop"] {
        let status = builder
            .request(Method::POST, &format!("/v2/{repository}/blobs/uploads/"))
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
            "{repository}: {status}"
        );
    }
    let status = builder
        .request(Method::POST, "/v2/shop/api/blobs/uploads/")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::ACCEPTED);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_range_numbers_are_400s_and_the_server_lives_on() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    for days in [0_u64, 3651, 4_294_967_295, 18_446_744_073_709_551_615] {
        let (status, body) = api
            .post(
                "/wharf/v1/tokens",
                json!({"username": "admin", "expiresInDays": days}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{days}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("expiresInDays"),
            "{body}"
        );
    }
    for number in ["9223372036854775807", "-1", "99999999999999999999999"] {
        let (status, body) = api
            .get(&format!(
                "/wharf/v1/audit-logs?start=2000-01-01&number={number}"
            ))
            .await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{number}: {status} {body}"
        );
        assert!(body.is_object(), "a JSON answer: {body}");
    }
    let (status, _) = api.get("/api/me").await;
    assert_eq!(status, StatusCode::OK, "still serving");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn query_path_and_method_errors_have_the_one_error_shape() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    for (method, path) in [
        (
            Method::GET,
            "/cc-ui/v1/artifacts-ci/some-ci/artifacts?limit=lots",
        ),
        (Method::GET, "/cc-ui/v1/artifacts-ci?limit=%ZZ"),
        (Method::PATCH, "/cc-ui/v1/artifacts-ci"),
    ] {
        let (status, body) = api.call(method.clone(), path, None).await;
        assert!(status.is_client_error(), "{method} {path}: {status}");
        assert!(
            body["message"].is_string() && body["code"].is_string(),
            "{method} {path}: {body}"
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_push_credentials_honour_stack_name() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    other_project(&api).await;
    let path = "/cc-ui/v1/artifacts/pushCredentialsV3/artifactName/api";
    let (status, body) = api.post(path, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "ambiguous: {body}");
    assert!(body["message"].as_str().unwrap().contains("stackName"));
    for project in ["shop", "other"] {
        let (status, body) = api
            .post(&format!("{path}?stackName={project}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body["repositoryUri"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/{project}/api"))
        );
        let v2 = format!(
            "/cc-ui/v1/artifacts/pushCredentialsV2/artifactName/api/registrationType/ENVIRONMENT/value/dev?stackName={project}"
        );
        let (status, body) = api.post(&v2, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body["repositoryUri"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/{project}/api"))
        );
    }
    server.stop().await.unwrap();
}

/// The shop's options on `database` and `data`, with `admin` as the bootstrap admin.
fn shop_options(
    database: &wharf_control_plane::Database,
    data: &std::path::Path,
    admin: (&str, &str),
) -> wharf_control_plane::ServeOptions {
    wharf_control_plane::ServeOptions {
        admin: Some((admin.0.into(), admin.1.into())),
        ..support::serve_options(database, data, Some(support::shop_file()))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_never_makes_an_admin_of_a_user_or_of_another_users_token() {
    let data = tempfile::tempdir().unwrap();
    let database = support::test_database(data.path()).await;
    let admin = (support::ADMIN, support::TOKEN);
    let server = wharf_control_plane::start(shop_options(&database, data.path(), admin))
        .await
        .unwrap();
    server.stop().await.unwrap();

    let ci_bot = ("ci-bot", "a-long-enough-bootstrap-token");
    let refused = wharf_control_plane::start(shop_options(&database, data.path(), ci_bot)).await;
    let message = refused.err().expect("refused").to_string();
    assert!(
        message.contains("'ci-bot'") && message.contains("not a server admin"),
        "{message}"
    );

    let borrowed = ("root", support::TOKEN);
    let refused = wharf_control_plane::start(shop_options(&database, data.path(), borrowed)).await;
    let message = refused.err().expect("refused").to_string();
    assert!(message.contains("another user's token"), "{message}");
    assert!(
        !message.contains(support::TOKEN),
        "the token is never echoed"
    );

    let server = wharf_control_plane::start(shop_options(&database, data.path(), admin))
        .await
        .unwrap();
    let (status, users) = Api::new(server.url()).get("/wharf/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    let admins: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["admin"] == true)
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        admins,
        [support::ADMIN],
        "neither refused start made an admin"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn abandoned_upload_sessions_are_swept_on_start() {
    let data = tempfile::tempdir().unwrap();
    let database = support::test_database(data.path()).await;
    let admin = (support::ADMIN, support::TOKEN);
    let server = wharf_control_plane::start(shop_options(&database, data.path(), admin))
        .await
        .unwrap();
    let registry = registry_as(&server.url(), support::ADMIN, support::TOKEN);
    let started = registry
        .request(Method::POST, "/v2/shop/api/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let location = started.headers()["location"].to_str().unwrap().to_string();
    let patched = registry
        .request(Method::PATCH, &location)
        .body(vec![7u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::ACCEPTED);
    let id = location.rsplit('/').next().unwrap().to_string();
    let upload_file = data.path().join("registry/uploads").join(&id);
    assert!(upload_file.exists());
    server.stop().await.unwrap();

    support::age_upload_sessions(&database).await;
    let server = wharf_control_plane::start(shop_options(&database, data.path(), admin))
        .await
        .unwrap();
    assert!(!upload_file.exists(), "its bytes are gone");
    let registry = registry_as(&server.url(), support::ADMIN, support::TOKEN);
    let status = registry
        .request(Method::GET, &location)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::NOT_FOUND, "the session is gone");
    server.stop().await.unwrap();
}

/// Issue 26, finding 8: wharf's own endpoints refuse a field they do not know, so a misnamed
/// field can never silently act on the caller (`{"user": "ci2"}` made a token for the
/// admin); Facets' endpoints keep Facets' leniency.
#[tokio::test(flavor = "multi_thread")]
async fn wharf_endpoints_refuse_unknown_fields_facets_endpoints_do_not() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    for (path, body) in [
        ("/wharf/v1/tokens", json!({"user": "ci-bot"})),
        (
            "/wharf/v1/users",
            json!({"username": "x1", "isAdmin": true}),
        ),
        (
            "/wharf/v1/rollback",
            json!({"project": "shop", "service": "api", "environment": "dev", "force": true}),
        ),
    ] {
        let (status, answer) = api.post(path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains("unknown field"), "{path}: {message}");
    }
    let (status, answer) = api
        .put(
            "/wharf/v1/projects/shop/members/ci-bot",
            json!({"role": "ci", "expires": "never"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let mut facets = saas("dev", "ENVIRONMENT", "lenient-1", "r.example/shop/api:1");
    facets["somethingFacetsAddsLater"] = json!(true);
    let (status, answer) = api.post("/cc-ui/v1/ci-cd/register", facets).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    server.stop().await.unwrap();
}

/// Issue 26, finding 10: a build list with `limit` 0 or below is refused, naming the field.
#[tokio::test(flavor = "multi_thread")]
async fn a_build_list_limit_of_zero_or_less_is_refused() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    for limit in ["0", "-1", "-9223372036854775808"] {
        let path = format!("/cc-ui/v1/artifacts-ci/api/artifacts?stackName=shop&limit={limit}");
        let (status, answer) = api.get(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{limit}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("query `limit` is {limit}: ")),
            "{answer}"
        );
    }
    let (status, _) = api
        .get("/cc-ui/v1/artifacts-ci/api/artifacts?stackName=shop&limit=1")
        .await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await.unwrap();
}
