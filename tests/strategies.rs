//! Every image strategy of a service, end to end: `api` follows the project, `web` has its own
//! branch rules and promotion order, `docs` is attached to each environment by hand. Each is
//! held against register, preview, promote, protection, attach and resolve, and switching one
//! with builds in place. Runs on SQLite and, in `.ci/run`'s second pass, on PostgreSQL.

use crate::support::client::Api;
use crate::support::{self, TestServer, run, wharf};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The shop example with `web` on its own CI/CD, `docs` attached by hand, and a protected
/// prod: the worked example of docs/control-plane.md.
pub fn shop_with_strategies() -> String {
    let shop = std::fs::read_to_string(support::shop_file()).unwrap();
    let web = "[[ci]]\nname = \"web\"\ndescription = \"The shop's web front end\"\n";
    assert!(shop.contains(web), "the shop example still declares web");
    shop.replace(
        web,
        r#"[[ci]]
name = "web"
description = "The shop's web front end"
strategy = "service"
registration_type = "ENVIRONMENT"
[[ci.routing.criteria]]
value = "release/"
operator = "STARTS_WITH"
route_to = "staging"
[ci.promotion]
order = ["staging", "prod"]

[[ci]]
name = "docs"
strategy = "manual"

[protection.prod]
approvals = 1
approvers = ["release-manager"]
"#,
    )
}

fn server() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wharf.toml");
    std::fs::write(&file, shop_with_strategies()).unwrap();
    (TestServer::with_file(Some(file)), dir)
}

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn image(service: &str, n: u8) -> String {
    format!("registry.example.com/shop/{service}@{}", digest(n))
}

fn cli(server: &TestServer, dir: &std::path::Path, args: &[&str]) -> support::Run {
    let mut command = wharf(&server.url(), dir);
    command.args(args);
    run(&mut command)
}

fn register(
    server: &TestServer,
    dir: &std::path::Path,
    service: &str,
    n: u8,
    git_ref: &str,
    extra: &[&str],
) -> support::Run {
    let image = image(service, n);
    let mut args = vec![
        "register",
        "--project",
        "shop",
        "--service",
        service,
        "--image",
        &image,
        "--git-ref",
        git_ref,
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    cli(server, dir, &args)
}

fn resolve(server: &TestServer, service: &str, environment: &str) -> (StatusCode, Value) {
    let api = Api::new(server.url());
    let path =
        format!("/wharf/v1/resolve?stackName=shop&environment={environment}&ciName={service}");
    server.runtime.block_on(api.get(&path))
}

#[test]
fn each_strategy_is_shown_with_what_it_follows() {
    let (server, dir) = server();
    let api = Api::new(server.url());
    let (status, web) = server
        .runtime
        .block_on(api.get("/wharf/v1/projects/shop/services/web/strategy"));
    assert_eq!(status, StatusCode::OK, "{web}");
    assert_eq!(web["strategy"], "service");
    assert_eq!(web["registrationType"], "ENVIRONMENT");
    assert_eq!(web["routingRules"][0]["routeTo"], "staging");
    assert_eq!(web["promotionOrder"], json!(["staging", "prod"]));
    assert_eq!(
        web["projectPromotionOrder"],
        json!(["dev", "staging", "prod"])
    );

    let shown = cli(
        &server,
        dir.path(),
        &["strategy", "--project", "shop", "--service", "api"],
    );
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains("strategy project"),
        "{}",
        shown.stdout
    );
    assert!(
        shown
            .stdout
            .contains("promotion order (the project's): dev → staging → prod"),
        "{}",
        shown.stdout
    );
    let docs = cli(
        &server,
        dir.path(),
        &[
            "strategy",
            "--project",
            "shop",
            "--service",
            "docs",
            "--output",
            "json",
        ],
    );
    assert_eq!(docs.code, 0, "{}", docs.stderr);
    assert_eq!(docs.json()["strategy"], "manual");
    assert_eq!(docs.json()["routingRules"], json!([]));
}

#[test]
fn a_service_with_its_own_rules_routes_previews_promotes_and_is_protected_by_them() {
    let (server, dir) = server();
    let api = Api::new(server.url());

    let release = register(&server, dir.path(), "web", 1, "release/2.0", &[]);
    assert_eq!(release.code, 0, "{}", release.stderr);
    assert_eq!(release.json()["routedTo"], "staging", "web's own rule");
    assert_eq!(release.json()["ruleName"], "web (service)");
    let main = register(&server, dir.path(), "web", 2, "main", &[]);
    assert_eq!(main.code, 0, "{}", main.stderr);
    assert_eq!(
        main.json()["classified"],
        false,
        "the project routes main to dev; web's own rule does not: {}",
        main.stdout
    );
    let api_main = register(&server, dir.path(), "api", 3, "main", &[]);
    assert_eq!(
        api_main.json()["routedTo"],
        "dev",
        "api still follows the project"
    );

    let preview = register(&server, dir.path(), "web", 4, "release/3.0", &["--dry-run"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    assert_eq!(
        preview.json()["predictedRoute"],
        "staging",
        "{}",
        preview.stdout
    );

    // Promotion follows web's order (staging → prod), into the protected prod: a request.
    let build = release.json()["artifactId"].as_str().unwrap().to_string();
    let asked = server.runtime.block_on(api.promote("shop", "web", &build));
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{:?}", asked.body);
    let request = asked.request_id.expect("a promotion request");
    let lead = server
        .runtime
        .block_on(api.member("shop", "lead", "release-manager"));
    let approved = server.runtime.block_on(lead.approve(&request));
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let (status, prod) = resolve(&server, "web", "prod");
    assert_eq!(status, StatusCode::OK, "{prod}");
    assert_eq!(prod["artifact"]["artifactUri"], image("web", 1));

    // And straight into prod by a ci member: the door asks as for any service.
    let pipeline = server
        .runtime
        .block_on(api.member("shop", "pipeline", "ci"));
    let straight = server.runtime.block_on(pipeline.register(json!({
        "blueprintName": "shop", "applicationName": "web", "artifactory": "default",
        "artifactUri": image("web", 5),
        "artifactRegisterType": "ENVIRONMENT", "artifactRegisterValue": "prod"
    })));
    assert_eq!(
        straight.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        straight.body
    );
    assert!(
        straight.message().contains("protected"),
        "{}",
        straight.message()
    );
}

#[test]
fn a_manual_service_keeps_ci_builds_routed_nowhere_and_deploys_what_is_attached() {
    let (server, dir) = server();
    let api = Api::new(server.url());

    let registered = register(&server, dir.path(), "docs", 1, "main", &[]);
    assert_eq!(registered.code, 0, "{}", registered.stderr);
    assert_eq!(registered.json()["classified"], false);
    assert!(
        registered.stderr.contains("uses the manual strategy"),
        "the warning names the strategy: {}",
        registered.stderr
    );
    let by_environment = cli(
        &server,
        dir.path(),
        &[
            "register",
            "--project",
            "shop",
            "--service",
            "docs",
            "--image",
            &image("docs", 2),
            "--environment",
            "dev",
            "--output",
            "json",
        ],
    );
    assert_eq!(by_environment.code, 0, "{}", by_environment.stderr);
    assert_eq!(
        by_environment.json()["classified"],
        false,
        "a CI registration naming an environment is routed nowhere too"
    );

    let required = register(&server, dir.path(), "docs", 3, "main", &["--require-route"]);
    assert_eq!(required.code, 6, "{}", required.stderr);
    assert!(
        required.stderr.contains("uses the manual strategy")
            && required.stderr.contains("nothing was registered"),
        "{}",
        required.stderr
    );

    let build = registered.json()["artifactId"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = server.runtime.block_on(api.promote("shop", "docs", &build));
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        refused.body
    );
    assert!(
        refused
            .message()
            .contains("uses the manual strategy, so it has no promotion order"),
        "{}",
        refused.message()
    );

    let attached = cli(
        &server,
        dir.path(),
        &[
            "attach",
            "--project",
            "shop",
            "--service",
            "docs",
            "--environment",
            "dev",
            "--image",
            &image("docs", 4),
            "--output",
            "json",
        ],
    );
    assert_eq!(attached.code, 0, "{}", attached.stderr);
    let (status, dev) = resolve(&server, "docs", "dev");
    assert_eq!(status, StatusCode::OK, "{dev}");
    assert_eq!(dev["artifact"]["artifactUri"], image("docs", 4));
    let (status, staging) = resolve(&server, "docs", "staging");
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "attaching to dev leaves staging alone: {staging}"
    );

    // A file uploaded for the manual service, attached to staging by its URI: still a file.
    let site = dir.path().join("site.zip");
    std::fs::write(&site, b"PK docs site").unwrap();
    let uploaded = cli(
        &server,
        dir.path(),
        &[
            "upload",
            "--project",
            "shop",
            "--service",
            "docs",
            "--file",
            site.to_str().unwrap(),
            "--git-ref",
            "main",
            "--output",
            "json",
        ],
    );
    assert_eq!(uploaded.code, 0, "{}", uploaded.stderr);
    assert_eq!(
        uploaded.json()["classified"],
        false,
        "a manual service's upload goes nowhere"
    );
    let file_uri = uploaded.json()["artifactUri"].as_str().unwrap().to_string();
    let attached = cli(
        &server,
        dir.path(),
        &[
            "attach",
            "--project",
            "shop",
            "--service",
            "docs",
            "--environment",
            "staging",
            "--image",
            &file_uri,
            "--output",
            "json",
        ],
    );
    assert_eq!(attached.code, 0, "{}", attached.stderr);
    assert_eq!(
        attached.json()["artifactType"],
        "freestyle",
        "{}",
        attached.stdout
    );
    let override_of_staging = cli(
        &server,
        dir.path(),
        &[
            "resolve",
            "--project",
            "shop",
            "--service",
            "docs",
            "--environment",
            "staging",
            "--output",
            "override",
        ],
    );
    assert_eq!(
        override_of_staging.json()["spec"]["release"]["artifact"]["digest"],
        sha256(b"PK docs site")
    );

    // Protection still applies to attach: a ci member may not attach into protected prod.
    let pipeline = server
        .runtime
        .block_on(api.member("shop", "pipeline", "ci"));
    let body = json!({
        "resourceName": "docs", "resourceType": "service", "blueprintName": "shop",
        "ciName": "docs", "artifactUri": image("docs", 5),
        "registrationType": "ENVIRONMENT", "registrationValue": "prod"
    });
    let into_prod = server.runtime.block_on(pipeline.answer(
        reqwest::Method::POST,
        "/cc-ui/v1/artifacts/attach-image-via-register",
        Some(body),
    ));
    assert_eq!(
        into_prod.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        into_prod.body
    );
    let (status, prod) = resolve(&server, "docs", "prod");
    assert_eq!(status, StatusCode::NOT_FOUND, "{prod}");
}

#[test]
fn switching_a_strategy_with_builds_in_place_is_shown_first_audited_and_moves_nothing() {
    let (server, dir) = server();
    let api = Api::new(server.url());
    let placed = register(&server, dir.path(), "api", 1, "main", &[]);
    assert_eq!(placed.json()["routedTo"], "dev");

    let dry = cli(
        &server,
        dir.path(),
        &[
            "strategy",
            "--project",
            "shop",
            "--service",
            "api",
            "--set",
            "manual",
            "--dry-run",
        ],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.contains("dry run: nothing was changed")
            && dry.stdout.contains("strategy project → manual")
            && dry
                .stdout
                .contains("1 build(s) already placed stay where they are"),
        "{}",
        dry.stdout
    );
    let (_, still) = server
        .runtime
        .block_on(api.get("/wharf/v1/projects/shop/services/api/strategy"));
    assert_eq!(still["strategy"], "project", "a dry run changes nothing");

    let set = cli(
        &server,
        dir.path(),
        &[
            "strategy",
            "--project",
            "shop",
            "--service",
            "api",
            "--set",
            "manual",
            "--output",
            "json",
        ],
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    assert_eq!(set.json()["after"]["strategy"], "manual");
    let (status, dev) = resolve(&server, "api", "dev");
    assert_eq!(status, StatusCode::OK, "{dev}");
    assert_eq!(
        dev["artifact"]["artifactUri"],
        image("api", 1),
        "the build stays where it is"
    );
    let (_, ci) = server
        .runtime
        .block_on(api.get("/cc-ui/v1/artifacts-ci/name/api?stackName=shop"));
    let path = format!(
        "/cc-ui/v1/artifacts/reclassify?artifactCiId={}",
        ci["id"].as_str().unwrap()
    );
    let (status, refused) = server.runtime.block_on(api.put(&path, json!({})));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("nothing to reclassify by"),
        "reclassifying would unplace what stays: {refused}"
    );
    let next = register(&server, dir.path(), "api", 2, "main", &[]);
    assert_eq!(
        next.json()["classified"],
        false,
        "new CI builds now go nowhere"
    );

    let entries = server.runtime.block_on(api.audit_entries("CI_INTEGRATION"));
    let switch = entries
        .iter()
        .find(|e| e["entityAction"] == "CI_STRATEGY_CHANGE" && e["target"] == "api")
        .expect("the switch is audited");
    assert_eq!(switch["performedBy"], support::ADMIN);
    assert!(
        switch["metadata"].to_string().contains("manual"),
        "{switch}"
    );

    // Back to service, with rules of its own given on the command line.
    let own = cli(
        &server,
        dir.path(),
        &[
            "strategy",
            "--project",
            "shop",
            "--service",
            "api",
            "--set",
            "service",
            "--route",
            "EQUALS:main=staging",
            "--order",
            "staging,prod",
        ],
    );
    assert_eq!(own.code, 0, "{}", own.stderr);
    let routed = register(&server, dir.path(), "api", 3, "main", &[]);
    assert_eq!(routed.json()["routedTo"], "staging", "{}", routed.stdout);
}

#[test]
fn a_service_registration_type_changes_only_with_a_reset() {
    let (server, dir) = server();
    let api = Api::new(server.url());
    let change = json!({"strategy": "service", "registrationType": "RELEASE_STREAM"});
    let (status, refused) = server.runtime.block_on(api.put(
        "/wharf/v1/projects/shop/services/web/strategy",
        change.clone(),
    ));
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("without a reset"),
        "{refused}"
    );
    let mut with_reset = change;
    with_reset["reset"] = json!(true);
    with_reset["routingRules"] = json!([{
        "metadataKey": "BRANCH_NAME", "operator": "EQUALS", "value": "main", "routeTo": "QA"
    }]);
    with_reset["promotionOrder"] = json!(["QA", "PRODUCTION"]);
    let (status, changed) = server
        .runtime
        .block_on(api.put("/wharf/v1/projects/shop/services/web/strategy", with_reset));
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["after"]["registrationType"], "RELEASE_STREAM");
    let registered = register(&server, dir.path(), "web", 1, "main", &[]);
    assert_eq!(registered.json()["routedTo"], "QA", "{}", registered.stdout);

    // A stage that is not a bucket of the new type is refused, naming it.
    let wrong = json!({"strategy": "service", "promotionOrder": ["dev"]});
    let (status, refused) = server
        .runtime
        .block_on(api.put("/wharf/v1/projects/shop/services/web/strategy", wrong));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("'dev' is not a release stream"),
        "{refused}"
    );
}

#[test]
fn facets_service_ci_cd_calls_save_read_and_delete_a_service_own_rules() {
    let (server, _dir) = server();
    let api = Api::new(server.url());
    let body = json!({
        "stackName": "shop", "registrationType": "ENVIRONMENT",
        "routingRules": [{"metadataKey": "BRANCH_NAME", "operator": "STARTS_WITH", "value": "hotfix/", "routeTo": "prod"}],
        "promotionHierarchies": [{"sequence": 2, "registrationValue": "prod"}, {"sequence": 1, "registrationValue": "staging"}],
        "ciSystem": "ADVANCED"
    });
    let (status, saved) = server
        .runtime
        .block_on(api.post("/cc-ui/v1/ci-cd/ci/admin-ui/custom", body));
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["mode"], "CUSTOM");
    assert_eq!(
        saved["ciName"], "admin-ui",
        "the CI is created when missing"
    );
    assert_eq!(
        saved["promotionHierarchies"][0]["registrationValue"],
        "staging"
    );
    let (status, read) = server
        .runtime
        .block_on(api.get("/cc-ui/v1/ci-cd/ci/admin-ui?stackName=shop"));
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["routingRules"][0]["value"], "hotfix/");
    assert_eq!(read["ciSystem"], "ADVANCED");
    assert_eq!(read["ruleId"], saved["ruleId"]);

    let (status, _) = server
        .runtime
        .block_on(api.delete("/cc-ui/v1/ci-cd/ci/admin-ui?stackName=shop"));
    assert_eq!(status, StatusCode::OK);
    let (status, gone) = server
        .runtime
        .block_on(api.get("/cc-ui/v1/ci-cd/ci/admin-ui?stackName=shop"));
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    let (_, rules) = server.runtime.block_on(
        api.get("/cc-ui/v1/artifact-routing-rule?stackName=shop&registrationType=ENVIRONMENT"),
    );
    assert!(
        !rules.to_string().contains("admin-ui (service)"),
        "its own rule went with it: {rules}"
    );
}

#[test]
fn the_project_file_refuses_own_rules_without_the_service_strategy_and_foreign_stages() {
    let (server, dir) = server();
    let apply = |text: String| {
        std::fs::write(dir.path().join("bad.toml"), text).unwrap();
        cli(&server, dir.path(), &["apply", "bad.toml"])
    };
    let own_without_service = shop_with_strategies().replace(
        "name = \"docs\"\nstrategy = \"manual\"\n",
        "name = \"docs\"\nstrategy = \"manual\"\n[ci.promotion]\norder = [\"dev\"]\n",
    );
    let refused = apply(own_without_service);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("ci[2].promotion: only a service with strategy = \"service\" has its own"),
        "{}",
        refused.stderr
    );
    let foreign = shop_with_strategies().replace(
        "route_to = \"staging\"\n[ci.promotion]",
        "route_to = \"QA\"\n[ci.promotion]",
    );
    let refused = apply(foreign);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("ci[1].routing.criteria[0].route_to 'QA' is not an environment"),
        "{}",
        refused.stderr
    );
    let dry = {
        let switched = shop_with_strategies().replace(
            "name = \"docs\"\nstrategy = \"manual\"",
            "name = \"docs\"\nstrategy = \"project\"",
        );
        std::fs::write(dir.path().join("switch.toml"), switched).unwrap();
        cli(
            &server,
            dir.path(),
            &["apply", "switch.toml", "--dry-run", "--output", "json"],
        )
    };
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(
        dry.json()["updated"],
        json!(["CI integration docs strategy"])
    );
    assert!(
        dry.json()["changes"][0]
            .as_str()
            .unwrap()
            .contains("strategy manual → project"),
        "{}",
        dry.stdout
    );
}

/// The bytes of a small "WAR" file, written to `dir`.
fn war(dir: &std::path::Path, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join("app.war");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn sha256(bytes: &[u8]) -> String {
    wharf_oci::Digest::sha256_of(bytes).to_string()
}

#[test]
fn a_freestyle_file_is_uploaded_routed_promoted_into_protected_prod_by_digest_and_resolved() {
    let (server, dir) = server();
    let api = Api::new(server.url());
    let bytes = b"PK\x03\x04 a web archive".repeat(1000);
    let path = war(dir.path(), &bytes);
    let uploaded = cli(
        &server,
        dir.path(),
        &[
            "upload",
            "--project",
            "shop",
            "--service",
            "api",
            "--file",
            path.to_str().unwrap(),
            "--git-ref",
            "main",
            "--external-id",
            "run-1",
            "--output",
            "json",
        ],
    );
    assert_eq!(uploaded.code, 0, "{}", uploaded.stderr);
    let build = uploaded.json();
    assert_eq!(build["artifactType"], "freestyle");
    assert_eq!(build["routedTo"], "dev", "{build}");
    assert_eq!(build["file"]["digest"], sha256(&bytes));
    assert_eq!(build["file"]["name"], "app.war");
    assert_eq!(build["file"]["size"], bytes.len());
    assert_eq!(build["replayed"], false);
    let uri = build["artifactUri"].as_str().unwrap();
    assert!(uri.contains("/shop/api@sha256:"), "pinned by digest: {uri}");
    assert!(
        build["summary"].as_str().unwrap().contains("routed to dev"),
        "the one report every front end prints: {build}"
    );

    // The same upload again is a replay (same external id, same stored manifest).
    let again = cli(
        &server,
        dir.path(),
        &[
            "register",
            "--project",
            "shop",
            "--service",
            "api",
            "--file",
            path.to_str().unwrap(),
            "--git-ref",
            "main",
            "--external-id",
            "run-1",
            "--output",
            "json",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["artifactId"], build["artifactId"]);
    assert_eq!(again.json()["replayed"], true);

    // The download is the registry's blob, for an authenticated caller only.
    let download = build["file"]["uri"].as_str().unwrap().to_string();
    let anonymous = server.runtime.block_on(async {
        support::http()
            .get(&download)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(anonymous, StatusCode::UNAUTHORIZED);
    let body = server.runtime.block_on(async {
        let response = support::http()
            .get(&download)
            .basic_auth(support::ADMIN, Some(support::TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap()
    });
    assert_eq!(&body[..], &bytes[..]);

    // Promoted dev → staging → prod; prod is protected: a request, approved, by digest.
    let id = build["artifactId"].as_str().unwrap().to_string();
    let staged = server.runtime.block_on(api.promote("shop", "api", &id));
    assert_eq!(staged.status, StatusCode::OK, "{:?}", staged.body);
    let staging_id = staged.body["id"].as_str().unwrap().to_string();
    let asked = server
        .runtime
        .block_on(api.promote("shop", "api", &staging_id));
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{:?}", asked.body);
    let lead = server
        .runtime
        .block_on(api.member("shop", "lead", "release-manager"));
    let approved = server
        .runtime
        .block_on(lead.approve(&asked.request_id.unwrap()));
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);

    let resolved = cli(
        &server,
        dir.path(),
        &[
            "resolve",
            "--project",
            "shop",
            "--service",
            "api",
            "--environment",
            "prod",
            "--output",
            "override",
        ],
    );
    assert_eq!(resolved.code, 0, "{}", resolved.stderr);
    let entry = resolved.json();
    assert_eq!(
        entry["spec"]["release"]["artifact"]["digest"],
        sha256(&bytes)
    );
    assert_eq!(
        entry["spec"]["release"]["artifact"]["uri"],
        download.as_str()
    );
    assert_eq!(entry["metadata"]["labels"]["artifactType"], "freestyle");
    assert!(entry["spec"]["release"].get("image").is_none(), "{entry}");
}

#[test]
fn the_override_of_every_service_names_image_registry_repository_tag_and_digest() {
    let (server, dir) = server();
    let api = Api::new(server.url());
    register(&server, dir.path(), "api", 1, "main", &[]);
    let tagged = cli(
        &server,
        dir.path(),
        &[
            "register",
            "--project",
            "shop",
            "--service",
            "web",
            "--image",
            "registry.example.com:5000/shop/web:2.0",
            "--git-ref",
            "release/2",
            "--output",
            "json",
        ],
    );
    assert_eq!(tagged.code, 0, "{}", tagged.stderr);
    let (status, dev) = server
        .runtime
        .block_on(api.get("/wharf/v1/projects/shop/environments/dev/overrides"));
    assert_eq!(status, StatusCode::OK, "{dev}");
    let labels = &dev["overrides"]["api"]["metadata"]["labels"];
    assert_eq!(
        dev["overrides"]["api"]["spec"]["release"]["image"],
        image("api", 1)
    );
    assert_eq!(labels["registry"], "registry.example.com");
    assert_eq!(labels["repository"], "shop/api");
    assert_eq!(labels["digest"], digest(1));
    assert_eq!(dev["deploysNothing"], json!(["docs", "web"]));
    let (_, staging) = server
        .runtime
        .block_on(api.get("/wharf/v1/projects/shop/environments/staging/overrides"));
    let labels = &staging["overrides"]["web"]["metadata"]["labels"];
    assert_eq!(labels["registry"], "registry.example.com:5000");
    assert_eq!(labels["tag"], "2.0");
    let (status, missing) = server
        .runtime
        .block_on(api.get("/wharf/v1/projects/shop/environments/nowhere/overrides"));
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
}

/// The multipart body Facets' clients send (parts `artifactRequest` then `file`, as the SDK's
/// `ArtifactsUploadBody` names them), and each way it can be wrong.
#[test]
fn facets_multipart_upload_is_taken_and_each_mistake_is_named() {
    let (server, _dir) = server();
    let url = format!("{}/cc-ui/v1/artifacts/upload", server.url());
    let send = |parts: Vec<(&str, reqwest::multipart::Part)>, user: (&str, &str)| {
        let mut form = reqwest::multipart::Form::new();
        for (name, part) in parts {
            form = form.part(name.to_string(), part);
        }
        server.runtime.block_on(async {
            let response = support::http()
                .post(&url)
                .basic_auth(user.0, Some(user.1))
                .multipart(form)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        })
    };
    let request = |json: Value| reqwest::multipart::Part::text(json.to_string());
    let file = || reqwest::multipart::Part::bytes(b"zip bytes".to_vec()).file_name("site.zip");
    let admin = (support::ADMIN, support::TOKEN);

    let facetsctl_body = json!({
        "stackName": "shop", "applicationName": "docs", "registrationType": "ENVIRONMENT",
        "registrationValue": "dev", "externalId": "facetsctl-42"
    });
    let (status, taken) = send(
        vec![
            ("artifactRequest", request(facetsctl_body.clone())),
            ("file", file()),
        ],
        admin,
    );
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["artifactType"], "freestyle");
    assert_eq!(
        taken["classified"], false,
        "docs is attached by hand: {taken}"
    );
    assert!(
        taken["warnings"][0]
            .as_str()
            .unwrap()
            .contains("manual strategy"),
        "{taken}"
    );

    // wharf's client asks for a route: a manual service's upload is refused before the file
    // is stored.
    let stored = || server.stored_builds();
    let before = stored();
    let mut required = facetsctl_body.clone();
    required["requireRoute"] = json!(true);
    required["externalId"] = json!("facetsctl-43");
    let (status, body) = send(
        vec![("artifactRequest", request(required)), ("file", file())],
        admin,
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "NOT_ROUTED", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("manual strategy"),
        "{body}"
    );
    assert_eq!(stored(), before, "nothing registered");

    let (status, body) = send(
        vec![
            ("file", file()),
            ("artifactRequest", request(facetsctl_body.clone())),
        ],
        admin,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("before the `file` part"),
        "{body}"
    );

    let (status, body) = send(
        vec![
            (
                "artifactRequest",
                request(json!({"applicationName": "docs"})),
            ),
            ("file", file()),
        ],
        admin,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("missing field `stackName`"),
        "{body}"
    );

    let (status, body) = send(
        vec![
            (
                "artifactRequest",
                request(json!({"stackName": "shop", "applicationName": "api"})),
            ),
            ("file", file()),
        ],
        admin,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("say where the file goes"),
        "{body}"
    );

    let (status, body) = send(
        vec![("artifactRequest", request(facetsctl_body.clone()))],
        admin,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("missing part `file`"),
        "{body}"
    );

    // A viewer may not upload: refused before a byte of the file is stored.
    let viewer = server.member("reader", "shop", "viewer");
    let (status, body) = send(
        vec![
            ("artifactRequest", request(facetsctl_body)),
            ("file", file()),
        ],
        ("reader", &viewer),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

/// Who may change how a service gets its images: the refusals an attacker meets, pinned to
/// their status and message, and nothing changed behind them.
#[test]
fn changing_a_strategy_needs_its_permission_and_the_cli_names_each_mistake() {
    let (server, dir) = server();
    let api = Api::new(server.url());
    let pipeline = server
        .runtime
        .block_on(api.member("shop", "pipeline", "ci"));
    let (status, refused) = server.runtime.block_on(pipeline.put(
        "/wharf/v1/projects/shop/services/docs/strategy",
        json!({"strategy": "project"}),
    ));
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("CI_CD_CONFIGURE"),
        "{refused}"
    );
    let (_, docs) = server
        .runtime
        .block_on(api.get("/wharf/v1/projects/shop/services/docs/strategy"));
    assert_eq!(docs["strategy"], "manual", "nothing changed");

    let viewer = server
        .runtime
        .block_on(api.member("shop", "auditor", "viewer"));
    let (status, refused) = server.runtime.block_on(viewer.post(
        "/cc-ui/v1/ci-cd/ci/sneaky/custom",
        json!({"stackName": "shop", "registrationType": "ENVIRONMENT",
               "routingRules": [], "promotionHierarchies": []}),
    ));
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("ARTIFACT_CI_WRITE"),
        "{refused}"
    );
    let (status, _) = server
        .runtime
        .block_on(api.get("/cc-ui/v1/ci-cd/ci/sneaky?stackName=shop"));
    assert_eq!(status, StatusCode::NOT_FOUND, "no CI was created");

    let mistakes: [(&[&str], &str); 5] = [
        (
            &[
                "strategy",
                "--project",
                "shop",
                "--service",
                "web",
                "--set",
                "service",
                "--route",
                "release/=staging",
            ],
            "write OPERATOR:VALUE=STAGE",
        ),
        (
            &[
                "strategy",
                "--project",
                "shop",
                "--service",
                "web",
                "--set",
                "manual",
                "--order",
                "dev",
            ],
            "use them with --set service, not --set manual",
        ),
        (
            &["upload", "--project", "shop", "--service", "api"],
            "wharf upload needs the file",
        ),
        (
            &[
                "upload",
                "--project",
                "shop",
                "--service",
                "api",
                "--file",
                "missing.war",
                "--git-ref",
                "main",
            ],
            "--file missing.war",
        ),
        (
            &[
                "register",
                "--project",
                "shop",
                "--service",
                "api",
                "--file",
                "a.war",
                "--image",
                "r/a:1",
            ],
            "cannot be used with",
        ),
    ];
    for (args, message) in mistakes {
        let refused = cli(&server, dir.path(), args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(message),
            "{args:?}: {}",
            refused.stderr
        );
    }
    assert_eq!(server.stored_builds(), 0, "no mistake registered anything");
}
