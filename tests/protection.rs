//! Protected environments (issue 13): who may write straight into a protected stage, promotion
//! requests pinned to a digest and completed by approvals, the ways an approval lapses,
//! concurrent approvals completing once, and rollback.

use crate::support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::client::{Answer, Api, saas};
use support::ui::Ui;
use wharf_control_plane::RunningServer;

/// `prod` needs two approvals from release managers; only admins write straight into it.
const PROTECTION: &str = r#"
[protection.prod]
approvals = 2
approvers = ["release-manager"]
direct = ["admin"]
approval_ttl_hours = 24
"#;

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn image(n: u8) -> String {
    format!("r.example/shop/api@{}", digest(n))
}

/// The shop project with `prod` protected, on `database`.
async fn start_protected(
    database: &wharf_control_plane::Database,
    data: &std::path::Path,
) -> RunningServer {
    let file = data.join("wharf.toml");
    let shop = std::fs::read_to_string(support::shop_file()).unwrap();
    std::fs::write(&file, shop + PROTECTION).unwrap();
    let options = support::serve_options(database, data, Some(file));
    wharf_control_plane::start(options).await.unwrap()
}

struct Shop {
    server: RunningServer,
    api: Api,
    _data: tempfile::TempDir,
}

async fn shop() -> Shop {
    let data = tempfile::tempdir().unwrap();
    let database = support::test_database(data.path()).await;
    let server = start_protected(&database, data.path()).await;
    let api = Api::new(server.url());
    Shop {
        server,
        api,
        _data: data,
    }
}

/// Allowed: 200. Refused: exactly 403 with a message saying why (a 500 is never a refusal).
fn allowed_or_forbidden(answer: &Answer, allowed: bool, case: &str) {
    let wanted = if allowed {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    assert_eq!(answer.status, wanted, "{case}");
    if !allowed {
        let message = answer.body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("is required on project 'shop'")
                || (message.contains("is protected") && message.contains("needs role")),
            "{case}: the refusal says what is needed: {message}"
        );
    }
}

/// A build of image `n` in staging, registered by the admin; answers its id.
async fn staging_build(api: &Api, n: u8) -> String {
    let answer = build_in(api, "staging", n).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["id"].as_str().unwrap().to_string()
}

async fn resolve_prod(api: &Api) -> (StatusCode, Value) {
    api.get("/wharf/v1/resolve?stackName=shop&environment=prod&ciName=api")
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_against_each_write_path_into_protected_and_unprotected_stages() {
    let shop = shop().await;
    let api = &shop.api;
    let writers = ["admin", "release-manager", "ci"];
    for role in ["admin", "release-manager", "ci", "viewer"] {
        let caller = api.member("shop", &format!("as-{role}"), role).await;
        let n = 10 + writers.iter().position(|r| *r == role).unwrap_or(3) as u8 * 10;
        let writes = writers.contains(&role);

        let answer = build_in(&caller, "dev", n).await;
        allowed_or_forbidden(&answer, writes, &format!("{role} → dev: {:?}", answer.body));

        let answer = build_in(&caller, "prod", n + 1).await;
        let direct = role == "admin";
        allowed_or_forbidden(
            &answer,
            direct,
            &format!("{role} → prod: {:?}", answer.body),
        );
        if writes && !direct {
            assert_eq!(answer.status, StatusCode::FORBIDDEN);
            let message = answer.body["message"].as_str().unwrap();
            assert!(
                message.contains("'prod'") && message.contains("'admin'"),
                "names the stage and who may: {message}"
            );
        }

        let attach = |stage: &str, n: u8| {
            json!({"resourceName": "api", "resourceType": "service", "blueprintName": "shop",
                   "ciName": "api", "artifactUri": image(n), "registrationType": "ENVIRONMENT",
                   "registrationValue": stage})
        };
        let path = "/cc-ui/v1/artifacts/attach-image-via-register";
        let answer = caller
            .answer(Method::POST, path, Some(attach("dev", n + 2)))
            .await;
        allowed_or_forbidden(
            &answer,
            writes,
            &format!("{role} attach dev: {:?}", answer.body),
        );
        let answer = caller
            .answer(Method::POST, path, Some(attach("prod", n + 3)))
            .await;
        allowed_or_forbidden(
            &answer,
            direct,
            &format!("{role} attach prod: {:?}", answer.body),
        );

        let to_staging = build_in(api, "dev", n + 4).await;
        let answer = caller
            .promote("shop", "api", to_staging.body["id"].as_str().unwrap())
            .await;
        allowed_or_forbidden(
            &answer,
            writes,
            &format!("{role} dev→staging: {:?}", answer.body),
        );

        let build = staging_build(api, n + 5).await;
        let answer = caller.promote("shop", "api", &build).await;
        if writes {
            assert_eq!(
                answer.status,
                StatusCode::ACCEPTED,
                "{role} staging→prod: {:?}",
                answer.body
            );
            assert!(
                answer.request_id.is_some(),
                "the request's id in the header"
            );
            assert_eq!(
                answer.body["id"],
                build.as_str(),
                "Facets' clients see the source build"
            );
        } else {
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role} staging→prod");
        }
    }
    shop.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_approvals_from_release_managers_complete_a_promotion_once() {
    let shop = shop().await;
    let api = &shop.api;
    let pipeline = api.member("shop", "pipeline", "ci").await;
    let lead = api.member("shop", "lead", "release-manager").await;
    let second = api.member("shop", "second", "release-manager").await;
    let build = staging_build(api, 1).await;

    let asked = pipeline.promote("shop", "api", &build).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    let id = asked.request_id.unwrap();
    let (status, listed) = api.get("/wharf/v1/approvals?project=shop").await;
    assert_eq!(status, StatusCode::OK);
    let request = &listed[0];
    assert_eq!(request["id"], id.as_str());
    assert_eq!(request["requestId"], id.as_str());
    assert_eq!(request["status"], "PENDING");
    assert_eq!(request["digest"], digest(1));
    assert_eq!(request["required"], 2);
    assert_eq!(request["approvers"], json!(["release-manager"]));
    // `release-lead` is a release manager in examples/shop/wharf.toml.
    assert_eq!(
        request["eligibleApprovers"],
        json!(["lead", "release-lead", "second"])
    );
    let again = pipeline.promote("shop", "api", &build).await;
    assert_eq!(
        again.request_id.as_deref(),
        Some(id.as_str()),
        "asking twice: one request"
    );

    let refused = pipeline.approve(&id).await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "a ci member is no approver"
    );
    let one = lead.approve(&id).await;
    assert_eq!(one.status, StatusCode::OK, "{:?}", one.body);
    assert_eq!(one.body["status"], "PENDING");
    let twice = lead.approve(&id).await;
    assert_eq!(
        twice.body["approvals"].as_array().unwrap().len(),
        1,
        "twice counts once"
    );
    assert_eq!(
        resolve_prod(api).await.0,
        StatusCode::NOT_FOUND,
        "nothing in prod yet"
    );

    let done = second.approve(&id).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["status"], "COMPLETED");
    let result = done.body["resultId"].as_str().unwrap();
    let (status, resolved) = resolve_prod(api).await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["artifact"]["id"], result);
    assert_eq!(resolved["artifact"]["artifactUri"], image(1));
    let late = lead.approve(&id).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "closed: {:?}", late.body);
    let replay = pipeline.promote("shop", "api", &build).await;
    assert_eq!(
        replay.status,
        StatusCode::OK,
        "promoting again answers the promotion"
    );
    assert_eq!(replay.body["id"], result);

    let actions = api.audit_actions("PROMOTION_REQUEST").await;
    for action in [
        "PROMOTION_REQUESTED",
        "PROMOTION_APPROVED",
        "PROMOTION_COMPLETED",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "PROMOTION_APPROVED")
            .count(),
        2
    );
    shop.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_requester_and_the_registrant_may_not_approve() {
    let shop = shop().await;
    let api = &shop.api;
    let lead = api.member("shop", "lead", "release-manager").await;
    let author = api.member("shop", "author", "release-manager").await;
    let answer = build_in(&author, "staging", 2).await;
    let build = answer.body["id"].as_str().unwrap().to_string();
    let asked = lead.promote("shop", "api", &build).await;
    let id = asked.request_id.unwrap();
    let own = lead.approve(&id).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert!(
        own.body["message"]
            .as_str()
            .unwrap()
            .contains("asked for this promotion")
    );
    let registrant = author.approve(&id).await;
    assert_eq!(registrant.status, StatusCode::FORBIDDEN);
    assert!(
        registrant.body["message"]
            .as_str()
            .unwrap()
            .contains("registrant")
    );
    let (_, request) = api.get(&format!("/wharf/v1/approvals/{id}")).await;
    assert_eq!(
        request["eligibleApprovers"],
        json!(["release-lead", support::ADMIN]),
        "neither the requester nor the registrant; the server admin, who may: {request}"
    );
    shop.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn approvals_lapse_on_expiry_a_lost_role_and_a_new_digest() {
    let shop = shop().await;
    let api = &shop.api;
    let lead = api.member("shop", "lead", "release-manager").await;
    let second = api.member("shop", "second", "release-manager").await;
    let third = api.member("shop", "third", "release-manager").await;
    let pipeline = api.member("shop", "pipeline", "ci").await;

    // Expiry: an approval older than approval_ttl_hours no longer counts.
    let first_build = staging_build(api, 3).await;
    let id = pipeline
        .promote("shop", "api", &first_build)
        .await
        .request_id
        .unwrap();
    assert_eq!(lead.approve(&id).await.status, StatusCode::OK);
    shop.server
        .store()
        .raw_execute("UPDATE approvals SET approved_at = '2000-01-01T00:00:00.000Z'")
        .await
        .unwrap();
    let after = second.approve(&id).await;
    assert_eq!(
        after.body["status"], "PENDING",
        "the expired one lapsed: {:?}",
        after.body
    );
    assert_eq!(after.body["approvals"].as_array().unwrap().len(), 1);

    // A lost role: second's approval stops counting when second leaves the project.
    let (status, _) = api.delete("/wharf/v1/projects/shop/members/second").await;
    assert_eq!(status, StatusCode::OK);
    let after = third.approve(&id).await;
    assert_eq!(after.body["status"], "PENDING", "{:?}", after.body);
    assert_eq!(after.body["approvals"][0]["username"], "third");

    // A new digest: promoting another build supersedes the request and its approvals.
    let newer = staging_build(api, 4).await;
    let asked = pipeline.promote("shop", "api", &newer).await;
    let new_id = asked.request_id.unwrap();
    assert_ne!(new_id, id);
    let (_, old) = api.get(&format!("/wharf/v1/approvals/{id}")).await;
    assert_eq!(old["status"], "LAPSED");
    assert!(
        old["reason"].as_str().unwrap().contains("superseded"),
        "{old}"
    );
    let (_, new) = api.get(&format!("/wharf/v1/approvals/{new_id}")).await;
    assert_eq!(new["digest"], digest(4));
    assert_eq!(
        new["approvals"],
        json!([]),
        "no approval carries to another digest"
    );
    assert_eq!(resolve_prod(api).await.0, StatusCode::NOT_FOUND);

    let actions = api.audit_actions("PROMOTION_REQUEST").await;
    assert!(
        actions.iter().filter(|a| *a == "APPROVAL_LAPSED").count() >= 2,
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "PROMOTION_LAPSED"),
        "{actions:?}"
    );
    shop.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejection_closes_the_request_and_a_tag_only_image_waits_for_its_digest() {
    let shop = shop().await;
    let api = &shop.api;
    let lead = api.member("shop", "lead", "release-manager").await;
    let pipeline = api.member("shop", "pipeline", "ci").await;
    let build = staging_build(api, 5).await;
    let id = pipeline
        .promote("shop", "api", &build)
        .await
        .request_id
        .unwrap();
    let path = format!("/wharf/v1/approvals/{id}/reject");
    let empty = lead
        .answer(Method::POST, &path, Some(json!({"reason": " "})))
        .await;
    assert_eq!(
        empty.status,
        StatusCode::BAD_REQUEST,
        "a reason is required"
    );
    let rejected = lead
        .answer(
            Method::POST,
            &path,
            Some(json!({"reason": "fails the load test"})),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{:?}", rejected.body);
    assert_eq!(rejected.body["status"], "REJECTED");
    assert_eq!(rejected.body["reason"], "fails the load test");
    assert_eq!(lead.approve(&id).await.status, StatusCode::CONFLICT);
    assert!(
        api.audit_actions("PROMOTION_REQUEST")
            .await
            .contains(&"PROMOTION_REJECTED".to_string())
    );

    // A registry that cannot be reached (nothing listens on loopback port 1): the digest
    // cannot be read, so nothing is pinned and nothing is asked.
    let body = saas(
        "staging",
        "ENVIRONMENT",
        "tagged",
        "127.0.0.1:1/shop/api:1.0",
    );
    let (_, tagged) = api.post("/cc-ui/v1/ci-cd/register", body).await;
    let answer = pipeline
        .promote("shop", "api", tagged["id"].as_str().unwrap())
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{:?}", answer.body);
    let message = answer.body["message"].as_str().unwrap();
    assert!(
        message.contains("by digest") && message.contains("wharf push"),
        "{message}"
    );
    shop.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_approvals_on_two_replicas_complete_once() {
    let data = tempfile::tempdir().unwrap();
    let database = support::test_database(data.path()).await;
    let one = start_protected(&database, data.path()).await;
    let two = start_protected(&database, data.path()).await;
    let api = Api::new(one.url());
    let pipeline = api.member("shop", "pipeline", "ci").await;
    let mut leads = Vec::new();
    for (i, name) in ["l1", "l2", "l3"].into_iter().enumerate() {
        let mut lead = api.member("shop", name, "release-manager").await;
        if i % 2 == 1 {
            lead.base = two.url();
        }
        leads.push(lead);
    }
    for round in 0..3u8 {
        let build = staging_build(&api, 20 + round).await;
        let id = pipeline
            .promote("shop", "api", &build)
            .await
            .request_id
            .unwrap();
        let (a, b, c) = tokio::join!(
            leads[0].approve(&id),
            leads[1].approve(&id),
            leads[2].approve(&id)
        );
        let answers = [a, b, c];
        let completed = answers
            .iter()
            .filter(|a| a.body["status"] == "COMPLETED")
            .count();
        assert!(completed >= 1, "{answers:?}");
        for answer in &answers {
            assert!(
                answer.status == StatusCode::OK || answer.status == StatusCode::CONFLICT,
                "{answer:?}"
            );
        }
        let (_, request) = api.get(&format!("/wharf/v1/approvals/{id}")).await;
        assert_eq!(request["status"], "COMPLETED");
        let (_, builds) = api
            .get("/cc-ui/v1/artifacts-ci/api/artifacts?stackName=shop&limit=1000")
            .await;
        let in_prod = builds
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["artifactUri"] == image(20 + round) && b["promoted"] == true)
            .count();
        assert_eq!(in_prod, 1, "round {round}: placed in prod exactly once");
    }
    two.stop().await.unwrap();
    one.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_points_an_environment_back_audited_and_protected_like_a_promotion() {
    let shop = shop().await;
    let api = &shop.api;
    let admin = api.clone();
    for n in [30, 31] {
        assert_eq!(build_in(&admin, "dev", n).await.status, StatusCode::OK);
    }
    let resolve_dev = || api.get("/wharf/v1/resolve?stackName=shop&environment=dev&ciName=api");
    assert_eq!(resolve_dev().await.1["artifact"]["artifactUri"], image(31));
    let back = admin
        .answer(
            Method::POST,
            "/wharf/v1/rollback",
            Some(json!({"project": "shop", "service": "api", "environment": "dev"})),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{:?}", back.body);
    assert_eq!(resolve_dev().await.1["artifact"]["artifactUri"], image(30));
    let (_, page) = api
        .get("/wharf/v1/audit-logs?start=2000-01-01&entityAction=ARTIFACT_ROLLBACK")
        .await;
    let entry = &page["content"][0];
    assert_eq!(entry["performedBy"], support::ADMIN);
    assert_eq!(entry["metadata"]["artifactUri"], image(30));
    assert_eq!(entry["metadata"]["fromUri"], image(31));

    let viewer = api.member("shop", "watcher", "viewer").await;
    let refused = viewer
        .answer(
            Method::POST,
            "/wharf/v1/rollback",
            Some(json!({"project": "shop", "service": "api", "environment": "dev"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    for n in [32, 33] {
        assert_eq!(
            build_in(&admin, "prod", n).await.status,
            StatusCode::OK,
            "admins: direct"
        );
    }
    let pipeline = api.member("shop", "pipeline", "ci").await;
    let pending = pipeline
        .answer(
            Method::POST,
            "/wharf/v1/rollback",
            Some(json!({"project": "shop", "service": "api", "environment": "prod"})),
        )
        .await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{:?}", pending.body);
    let id = pending.request_id.unwrap();
    let (_, request) = api.get(&format!("/wharf/v1/approvals/{id}")).await;
    assert_eq!(request["kind"], "ROLLBACK");
    assert_eq!(request["artifactUri"], image(32));
    let l1 = api.member("shop", "l1", "release-manager").await;
    let l2 = api.member("shop", "l2", "release-manager").await;
    l1.approve(&id).await;
    let done = l2.approve(&id).await;
    assert_eq!(done.body["status"], "COMPLETED", "{:?}", done.body);
    assert_eq!(
        resolve_prod(api).await.1["artifact"]["artifactUri"],
        image(32)
    );
    let (_, page) = api
        .get("/wharf/v1/audit-logs?start=2000-01-01&entityAction=ARTIFACT_ROLLBACK")
        .await;
    let entry = &page["content"][0];
    assert_eq!(
        entry["metadata"]["artifactUri"],
        image(32),
        "an approved rollback is audited as one: {page}"
    );
    assert_eq!(entry["performedBy"], "pipeline");

    let mut web = saas("dev", "ENVIRONMENT", "web-1", "r.example/shop/web:1");
    web["applicationName"] = "web".into();
    let web = admin.register(web).await;
    assert_eq!(web.status, StatusCode::OK, "{:?}", web.body);
    let web = web.body["id"].as_str().unwrap().to_string();
    let foreign = admin
        .answer(
            Method::POST,
            "/wharf/v1/rollback",
            Some(json!({"project": "shop", "service": "api", "environment": "dev", "to": web})),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{:?}", foreign.body);
    assert!(
        foreign
            .message()
            .contains(&format!("build '{web}' of 'api' not found")),
        "{}",
        foreign.message()
    );
    shop.server.stop().await.unwrap();
}

/// Runs the real `wharf` as `user` off the test's runtime; answers the run.
async fn cli(server: &str, user: &Api, args: &[&str]) -> support::Run {
    let dir = tempfile::tempdir().unwrap();
    let mut command = support::wharf(server, dir.path());
    command
        .env("WHARF_USERNAME", &user.user.username)
        .env("WHARF_TOKEN", &user.user.token)
        .args(args);
    let run = tokio::task::spawn_blocking(move || support::run(&mut command))
        .await
        .unwrap();
    assert!(!run.stdout.contains(&user.user.token) && !run.stderr.contains(&user.user.token));
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_asks_lists_approves_rejects_and_rolls_back() {
    let shop = shop().await;
    let api = &shop.api;
    let url = shop.server.url();
    let pipeline = api.member("shop", "pipeline", "ci").await;
    let lead = api.member("shop", "lead", "release-manager").await;
    let second = api.member("shop", "second", "release-manager").await;

    let refused = cli(
        &url,
        &pipeline,
        &[
            "register",
            "--project",
            "shop",
            "--service",
            "api",
            "--image",
            &image(40),
            "--environment",
            "prod",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(
        refused.code, 3,
        "a write the role may not make: {}",
        refused.stdout
    );
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
        + &refused.stdout;
    assert!(
        message.contains("'prod'") && message.contains("'admin'"),
        "{message}"
    );

    let build = staging_build(api, 41).await;
    let asked = cli(
        &url,
        &pipeline,
        &[
            "promote",
            "--project",
            "shop",
            "--service",
            "api",
            "--artifact-id",
            &build,
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(asked.code, 0, "{}{}", asked.stdout, asked.stderr);
    let asked = asked.json();
    let id = asked["requestId"].as_str().unwrap().to_string();
    assert_eq!(asked["pending"], true);
    assert_eq!(asked["stage"], "prod");

    let human = cli(
        &url,
        &pipeline,
        &[
            "promote",
            "--project",
            "shop",
            "--service",
            "api",
            "--artifact-id",
            &build,
        ],
    )
    .await;
    assert!(
        human.stdout.contains("waits for 2 approval(s)"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("lead"),
        "who may approve: {}",
        human.stdout
    );
    assert!(human.stdout.contains(&format!("wharf approve {id}")));

    let listed = cli(
        &url,
        &lead,
        &["approvals", "--project", "shop", "--output", "json"],
    )
    .await;
    assert_eq!(listed.code, 0);
    assert_eq!(listed.json()[0]["id"], id.as_str());

    let not_approver = cli(&url, &pipeline, &["approve", &id]).await;
    assert_eq!(not_approver.code, 3, "{}", not_approver.stderr);
    let one = cli(&url, &lead, &["approve", &id, "--output", "json"]).await;
    assert_eq!(one.json()["status"], "PENDING");
    let two = cli(&url, &second, &["approve", &id]).await;
    assert_eq!(two.code, 0, "{}", two.stderr);
    assert!(two.stdout.contains("completed"), "{}", two.stdout);

    let newer = staging_build(api, 42).await;
    let asked = cli(
        &url,
        &pipeline,
        &[
            "promote",
            "--project",
            "shop",
            "--service",
            "api",
            "--artifact-id",
            &newer,
            "--output",
            "json",
        ],
    )
    .await;
    let id = asked.json()["requestId"].as_str().unwrap().to_string();
    let rejected = cli(
        &url,
        &lead,
        &[
            "reject",
            &id,
            "--reason",
            "breaks checkout",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(rejected.code, 0, "{}", rejected.stderr);
    assert_eq!(rejected.json()["status"], "REJECTED");
    let again = cli(&url, &second, &["approve", &id]).await;
    assert_eq!(
        again.code, 5,
        "a closed request is a conflict: {}",
        again.stderr
    );

    let admin = api.clone();
    for n in [43, 44] {
        build_in(&admin, "dev", n).await;
    }
    let back = cli(
        &url,
        &pipeline,
        &[
            "rollback",
            "--project",
            "shop",
            "--service",
            "api",
            "--environment",
            "dev",
        ],
    )
    .await;
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert!(back.stdout.contains(&image(43)), "{}", back.stdout);
    let resolved = cli(
        &url,
        &pipeline,
        &[
            "resolve",
            "--project",
            "shop",
            "--environment",
            "dev",
            "--service",
            "api",
        ],
    )
    .await;
    assert!(resolved.stdout.contains(&image(43)), "{}", resolved.stdout);
    shop.server.stop().await.unwrap();
}

/// Facets' registration of image `n` into `stage`, by `who`.
async fn build_in(who: &Api, stage: &str, n: u8) -> Answer {
    who.register(saas(
        stage,
        "ENVIRONMENT",
        &format!("{stage}-{n}"),
        &image(n),
    ))
    .await
}

/// A request answers again for the same build, and lapses for another build, even one of the
/// same image: approvals are given to a build, not only to its digest.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_build_of_the_same_image_supersedes_the_first_builds_request() {
    let shop = shop().await;
    let api = &shop.api;
    let pipeline = api.member("shop", "pipeline", "ci").await;
    let first = staging_build(api, 9).await;
    let twin = api
        .register(saas("staging", "ENVIRONMENT", "staging-9-twin", &image(9)))
        .await;
    assert_eq!(twin.status, StatusCode::OK, "{:?}", twin.body);
    let twin = twin.body["id"].as_str().unwrap().to_string();
    assert_ne!(first, twin);

    let id = pipeline.promote("shop", "api", &first).await.request_id;
    let id = id.unwrap();
    let again = pipeline.promote("shop", "api", &first).await.request_id;
    assert_eq!(
        again.unwrap(),
        id,
        "the same build again answers its open request"
    );
    let other = pipeline.promote("shop", "api", &twin).await.request_id;
    let other = other.unwrap();
    assert_ne!(
        other, id,
        "another build of the same image is another request"
    );
    let (_, old) = api.get(&format!("/wharf/v1/approvals/{id}")).await;
    assert_eq!(old["status"], "LAPSED", "{old}");
    let (_, new) = api.get(&format!("/wharf/v1/approvals/{other}")).await;
    assert_eq!(new["status"], "PENDING", "{new}");
    assert_eq!(new["digest"], digest(9));
    shop.server.stop().await.unwrap();
}

/// The flow page's Approve button, per viewer: enabled for an approver who has not approved
/// yet; disabled, with the reason, once they have, and for the requester.
#[tokio::test(flavor = "multi_thread")]
async fn the_flow_page_offers_approval_only_to_who_may_give_it_now() {
    let shop = shop().await;
    let api = &shop.api;
    let lead = api.member("shop", "lead", "release-manager").await;
    let pipeline = api.member("shop", "pipeline", "ci").await;
    let build = staging_build(api, 11).await;
    let id = pipeline.promote("shop", "api", &build).await.request_id;
    let id = id.unwrap();
    let secrets = [support::TOKEN, &lead.user.token, &pipeline.user.token];
    let approve_refusal = |user: Api| {
        let (url, id) = (shop.server.url(), id.clone());
        let secrets = secrets.map(str::to_string);
        async move {
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let mut ui = Ui::new(url, &secrets);
            let signed_in = ui.sign_in(&user.user.username, &user.user.token).await;
            assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
            let flow = ui.get("/ui/projects/shop").await;
            assert!(
                flow.body.contains(&format!("/ui/approvals/{id}/approve")),
                "{}",
                flow.body
            );
            let reason = flow
                .body
                .split(&format!(r#"id="why-approve-{id}">"#))
                .nth(1);
            reason.map(|rest| rest[..rest.find("</span>").unwrap()].to_string())
        }
    };
    assert_eq!(
        approve_refusal(lead.clone()).await,
        None,
        "an approver may approve"
    );
    let (_, asked) = api.get(&format!("/wharf/v1/approvals/{id}")).await;
    assert_eq!(
        asked["eligibleApprovers"],
        json!(["lead", "release-lead"]),
        "{asked}"
    );
    let refusal = approve_refusal(pipeline.clone()).await.unwrap();
    assert!(refusal.contains("needs role"), "{refusal}");
    assert_eq!(lead.approve(&id).await.status, StatusCode::OK);
    let refusal = approve_refusal(lead.clone()).await.unwrap();
    assert!(refusal.contains("approved already"), "{refusal}");
    let (_, asked) = api.get(&format!("/wharf/v1/approvals/{id}")).await;
    assert_eq!(
        asked["eligibleApprovers"],
        json!(["release-lead"]),
        "{asked}"
    );
    shop.server.stop().await.unwrap();
}

/// In a release-stream project an environment's builds live in its stream: a rollback of the
/// environment moves its stream back.
#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_in_a_release_stream_project_moves_the_environments_stream_back() {
    let data = tempfile::tempdir().unwrap();
    let database = support::test_database(data.path()).await;
    let file = data.path().join("wharf.toml");
    std::fs::write(
        &file,
        r#"
[project]
name = "streams"
registration_type = "RELEASE_STREAM"

[[environments]]
name = "dev"
release_stream = "QA"

[[ci]]
name = "api"
"#,
    )
    .unwrap();
    let options = support::serve_options(&database, data.path(), Some(file));
    let server = wharf_control_plane::start(options).await.unwrap();
    let api = Api::new(server.url());
    for n in [40, 41] {
        let mut body = saas("QA", "RELEASE_STREAM", &format!("qa-{n}"), &image(n));
        body["blueprintName"] = "streams".into();
        let answer = api.register(body).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    }
    let back = api
        .answer(
            Method::POST,
            "/wharf/v1/rollback",
            Some(json!({"project": "streams", "service": "api", "environment": "dev"})),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{:?}", back.body);
    assert_eq!(back.body["artifactUri"], image(40));
    server.stop().await.unwrap();
}
