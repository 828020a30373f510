//! The control plane beyond registration, over real loopback HTTP: promotion along workflows,
//! reclassification, deletion, per-environment views, manual attach, resolve, and the audit
//! trail that records all of it.

use crate::support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::client::{Api, saas};
use support::start_shop;

async fn register(api: &Api, git_ref: &str, external_id: &str, image: &str) -> Value {
    let (status, body) = api
        .post(
            "/cc-ui/v1/ci-cd/register",
            saas(git_ref, "GIT_REF", external_id, image),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn ci_id(api: &Api, name: &str) -> String {
    let (_, ci) = api
        .get(&format!(
            "/cc-ui/v1/artifacts-ci/name/{name}?stackName=shop"
        ))
        .await;
    ci["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_build_is_promoted_along_the_ladder_and_refused_past_its_end() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let dev = register(&api, "main", "r1", "r/shop/api:1").await;
    let ci = ci_id(&api, "api").await;

    let (status, staging) = api
        .post(
            &format!(
                "/cc-ui/v1/artifacts/{ci}/promote/{}",
                dev["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{staging}");
    assert_eq!(staging["clusterName"], "staging");
    assert_eq!(staging["promoted"], true);
    assert_eq!(staging["artifactUri"], "r/shop/api:1");
    assert_eq!(staging["createdBy"], "admin");
    assert_ne!(
        staging["id"], dev["id"],
        "promotion registers the build again"
    );

    let (_, prod) = api
        .post(
            &format!(
                "/cc-ui/v1/artifacts/promote?ciName=api&stackName=shop&artifactId={}",
                staging["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(prod["clusterName"], "prod");

    let (status, refused) = api
        .post(
            &format!(
                "/cc-ui/v1/artifacts/{ci}/promote/{}",
                prod["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["message"].as_str().unwrap().contains("last stage"),
        "{refused}"
    );

    let (_, again) = api
        .post(
            &format!(
                "/cc-ui/v1/artifacts/{ci}/promote/{}",
                dev["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        again["id"], staging["id"],
        "a build is promoted once; asking again answers that promotion"
    );
    assert_eq!(server.store().total_artifacts().await.unwrap(), 3);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn promotion_is_refused_with_a_reason() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let ci = ci_id(&api, "api").await;
    let unclassified = register(&api, "feature/x", "u1", "r/a:1").await;
    let (status, body) = api
        .post(
            &format!(
                "/cc-ui/v1/artifacts/{ci}/promote/{}",
                unclassified["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("unclassified"),
        "{body}"
    );

    let (status, _) = api
        .post(&format!("/cc-ui/v1/artifacts/{ci}/promote/nope"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let dev = register(&api, "main", "u2", "r/a:2").await;
    let (status, _) = api
        .put(
            "/cc-ui/v1/ci-cd/detach",
            json!({"ciName": "api", "registrationType": "ENVIRONMENT", "blueprintName": "shop"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .post(
            &format!(
                "/cc-ui/v1/artifacts/{ci}/promote/{}",
                dev["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("uses the manual strategy, so it has no promotion order"),
        "detach leaves the service attached by hand: {body}"
    );
    let detached = register(&api, "main", "u3", "r/a:3").await;
    assert_eq!(
        detached["classified"], false,
        "a detached CI follows no rule"
    );

    let (_, attached) = api
        .put(
            "/cc-ui/v1/ci-cd/attach",
            json!({"ciName": "api", "registrationType": "ENVIRONMENT", "blueprintName": "shop"}),
        )
        .await;
    assert_eq!(attached["mode"], "INHERITED");
    let (status, _) = api
        .put(
            "/cc-ui/v1/ci-cd/attach",
            json!({"ciName": "api", "registrationType": "RELEASE_STREAM", "blueprintName": "shop"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "type mismatch");
    let (_, created) = api
        .put(
            "/cc-ui/v1/ci-cd/attach",
            json!({"ciName": "jobs", "registrationType": "ENVIRONMENT", "blueprintName": "shop"}),
        )
        .await;
    assert_eq!(created["name"], "jobs", "attach creates a missing CI");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_promotions_of_one_build_create_one_record() {
    let (server, _data) = start_shop().await;
    let api = std::sync::Arc::new(Api::new(server.url()));
    let dev = register(&api, "main", "c1", "r/a:1").await;
    let ci = ci_id(&api, "api").await;
    let path = format!(
        "/cc-ui/v1/artifacts/{ci}/promote/{}",
        dev["id"].as_str().unwrap()
    );
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (api, path) = (api.clone(), path.clone());
            tokio::spawn(async move { api.post(&path, json!({})).await })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.insert(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(server.store().total_artifacts().await.unwrap(), 2);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn workflows_are_managed_and_a_ci_can_have_its_own() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let (_, default) = api
        .get("/cc-ui/v1/workflow/default-workflow/registration-type/ENVIRONMENT?stackName=shop")
        .await;
    assert_eq!(default["default"], true);
    assert_eq!(default["hierarchies"].as_array().unwrap().len(), 3);

    let (status, bad) = api
        .post("/cc-ui/v1/workflow", json!({"name": "x", "stackName": "shop", "registrationType": "ENVIRONMENT",
            "hierarchies": [{"sequence": 1, "registrationValue": "dev"}, {"sequence": 2, "registrationValue": "moon"}]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad["message"].as_str().unwrap().contains("hierarchies[1]"),
        "{bad}"
    );

    let (status, fast) = api
        .post("/cc-ui/v1/workflow", json!({"name": "fast", "stackName": "shop", "registrationType": "ENVIRONMENT",
            "hierarchies": [{"sequence": 1, "registrationValue": "dev"}, {"sequence": 2, "registrationValue": "prod"}]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{fast}");
    let (_, listed) = api.get("/cc-ui/v1/workflow/blueprint/shop").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let web = ci_id(&api, "web").await;
    let (status, edited) = api
        .post(
            "/cc-ui/v1/artifacts-ci/bulk-edit-workflow",
            json!({"workflowId": fast["id"], "artifactCiIds": [web]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited[0]["mode"], "CUSTOM");

    let (_, built) = api
        .post("/cc-ui/v1/ci-cd/register", json!({"blueprintName": "shop", "applicationName": "web", "artifactory": "default",
            "artifactUri": "r/web:1", "artifactRegisterType": "ENVIRONMENT", "artifactRegisterValue": "dev", "externalId": "w1"}))
        .await;
    let (_, promoted) = api
        .post(
            &format!(
                "/cc-ui/v1/artifacts/{web}/promote/{}",
                built["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        promoted["clusterName"], "prod",
        "the CI's own workflow skips staging"
    );

    let (status, refused) = api
        .delete(&format!(
            "/cc-ui/v1/workflow/{}",
            fast["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["message"].as_str().unwrap().contains("web"),
        "{refused}"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn reclassify_delete_views_attach_and_resolve() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let hotfix = register(&api, "hotfix/1", "h1", "r/shop/api:h1").await;
    assert_eq!(hotfix["classified"], false);

    let (_, rules) = api
        .get("/cc-ui/v1/artifact-routing-rule?stackName=shop&registrationType=ENVIRONMENT")
        .await;
    let mut rule = rules[0].clone();
    rule["criteria"].as_array_mut().unwrap().push(json!({"metadataKey": "BRANCH_NAME", "operator": "STARTS_WITH", "value": "hotfix/", "routeTo": "prod", "priority": 9}));
    rule["isDefault"] = json!(true);
    api.put("/cc-ui/v1/artifact-routing-rule", rule).await;
    let ci = ci_id(&api, "api").await;
    let (status, reclassified) = api
        .put(
            &format!("/cc-ui/v1/artifacts/reclassify?artifactCiId={ci}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reclassified}");
    assert_eq!(reclassified["moved"][0]["clusterName"], "prod");
    assert_eq!(reclassified["unchanged"], 0);

    let (_, clusters) = api.get("/cc-ui/v1/stacks/shop/clusters").await;
    let id_of = |name: &str| {
        clusters
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (_, in_prod) = api
        .get(&format!("/cc-ui/v1/artifacts/{}", id_of("prod")))
        .await;
    assert_eq!(
        in_prod["service"].as_object().unwrap().len(),
        1,
        "resource type → application → newest build: {in_prod}"
    );
    assert_eq!(in_prod["service"]["api"]["artifactUri"], "r/shop/api:h1");
    let (_, resolved) = api.get("/wharf/v1/resolve?stackName=shop&environment=prod&expression=%24%7Bblueprint.self.artifacts.api%7D").await;
    assert_eq!(resolved["artifact"]["artifactUri"], "r/shop/api:h1");
    assert_eq!(resolved["resolvedFrom"], "ENVIRONMENT");

    let (status, attached) = api
        .post(
            "/cc-ui/v1/artifacts/attach-image-via-register",
            json!({"resourceName": "api", "resourceType": "service",
            "blueprintName": "shop", "ciName": "api", "artifactUri": "r/shop/api:pinned",
            "registrationType": "ENVIRONMENT", "registrationValue": "staging"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{attached}");
    let (_, in_staging) = api
        .get(&format!(
            "/cc-ui/v1/artifacts/cluster/{}/application/api",
            id_of("staging")
        ))
        .await;
    assert_eq!(in_staging["artifactUri"], "r/shop/api:pinned");
    let (_, in_dev) = api
        .get(&format!("/cc-ui/v1/artifacts/{}", id_of("dev")))
        .await;
    assert!(
        in_dev["service"].as_object().unwrap().is_empty(),
        "attach touches one environment only: {in_dev}"
    );

    let (status, missing) = api
        .get("/wharf/v1/resolve?stackName=shop&environment=dev&ciName=api")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let message = missing["message"].as_str().unwrap();
    assert!(
        message.contains("prod (1)") && message.contains("staging (1)"),
        "{message}"
    );

    let (status, _) = api
        .delete(&format!(
            "/cc-ui/v1/artifacts/{}",
            hotfix["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .delete(&format!(
            "/cc-ui/v1/artifacts/{}",
            hotfix["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_trail_records_who_did_what_and_pages_and_filters() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let dev = register(&api, "main", "a1", "r/a:1").await;
    let ci = ci_id(&api, "api").await;
    api.post(
        &format!(
            "/cc-ui/v1/artifacts/{ci}/promote/{}",
            dev["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    api.post(
        "/cc-ui/v1/artifacts-ci",
        json!({"name": "cron", "stackName": "shop"}),
    )
    .await;

    let (status, page) = api
        .get("/cc-ui/v1/audit-logs?start=2000-01-01&entity=ARTIFACT&size=1")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["totalElements"], 2);
    assert_eq!(page["totalPages"], 2);
    assert_eq!(page["first"], true);
    assert_eq!(page["last"], false);
    let newest = &page["content"][0];
    assert_eq!(
        (newest["entity"].as_str(), newest["entityAction"].as_str()),
        (Some("CI_INTEGRATION"), Some("UNKNOWN")),
        "Facets' clients get Facets' enums: {newest}"
    );
    assert_eq!(newest["metadata"]["wharfAction"], "ARTIFACT_PROMOTE");
    assert_eq!(newest["performedBy"], "admin");
    assert_eq!(newest["clusterName"], "staging");
    assert_eq!(newest["metadata"]["from"], "dev");
    assert!(newest["performedAt"].as_str().unwrap().ends_with('Z'));

    let (_, second) = api
        .get("/wharf/v1/audit-logs?start=2000-01-01&entity=ARTIFACT&size=1&number=1")
        .await;
    assert_eq!(
        second["content"][0]["entity"], "ARTIFACT",
        "wharf's own view"
    );
    assert_eq!(second["content"][0]["entityAction"], "ARTIFACT_REGISTER");
    assert_eq!(second["last"], true);

    let (_, config) = api
        .get("/cc-ui/v1/audit-logs?start=0&entityAction[]=CI_INTEGRATION_CREATE&stackName=shop")
        .await;
    let targets: Vec<_> = config["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect();
    assert!(
        targets.contains(&"cron".to_string()) && targets.contains(&"api".to_string()),
        "{targets:?}"
    );

    let (_, future) = api
        .get("/cc-ui/v1/audit-logs?start=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(future["empty"], true);
    let (status, bad) = api.get("/cc-ui/v1/audit-logs?start=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad["message"].as_str().unwrap().contains("start"), "{bad}");
    let (status, _) = api.get("/cc-ui/v1/audit-logs").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "start is required");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_cannot_be_edited_or_deleted_even_in_the_store() {
    let (server, _data) = start_shop().await;
    let store = server.store().clone();
    let update = store
        .raw_execute("UPDATE audit_log SET performed_by = 'mallory'")
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = store.raw_execute("DELETE FROM audit_log").await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    let entries = store
        .raw_strings("SELECT performed_by FROM audit_log")
        .await
        .unwrap();
    assert!(!entries.is_empty() && entries.iter().all(|who| who != "mallory"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_and_environments_are_managed_one_at_a_time() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let (status, stream) = api
        .post(
            "/cc-ui/v1/release-stream?stackName=shop",
            json!({"name": "HOTFIX", "prod": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stream}");
    assert_eq!(stream["prod"], true);
    let (status, _) = api
        .post(
            "/cc-ui/v1/release-stream?stackName=shop",
            json!({"name": "HOTFIX"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, env) = api
        .put(
            "/wharf/v1/projects/shop/environments/hotfix",
            json!({"releaseStream": "HOTFIX"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{env}");
    assert_eq!(env["releaseStream"], "HOTFIX");
    let (status, bad) = api
        .put(
            "/wharf/v1/projects/shop/environments/hotfix",
            json!({"releaseStream": "NOPE"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad["message"].as_str().unwrap().contains("releaseStream"),
        "{bad}"
    );

    let (status, refused) = api
        .delete("/cc-ui/v1/release-stream/HOTFIX?stackName=shop")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["message"].as_str().unwrap().contains("hotfix"),
        "{refused}"
    );

    let (_, built) = api
        .post("/cc-ui/v1/ci-cd/register", json!({"blueprintName": "shop", "applicationName": "api", "artifactory": "default",
            "artifactUri": "r/a:hf", "artifactRegisterType": "ENVIRONMENT", "artifactRegisterValue": "hotfix"}))
        .await;
    assert_eq!(built["clusterName"], "hotfix");
    let (status, refused) = api
        .delete("/wharf/v1/projects/shop/environments/hotfix")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    api.delete(&format!(
        "/cc-ui/v1/artifacts/{}",
        built["id"].as_str().unwrap()
    ))
    .await;
    let (status, _) = api
        .delete("/wharf/v1/projects/shop/environments/hotfix")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .delete("/cc-ui/v1/release-stream/HOTFIX?stackName=shop")
        .await;
    assert_eq!(status, StatusCode::OK);

    let (_, log) = api
        .get("/cc-ui/v1/audit-logs?start=0&entity=RELEASE_STREAM&entity=ENVIRONMENT&size=50")
        .await;
    let actions: Vec<_> = log["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entityAction"].as_str().unwrap().to_string())
        .collect();
    for action in [
        "RELEASE_STREAM_CREATE",
        "RELEASE_STREAM_DELETE",
        "ENVIRONMENT_CREATE",
        "ENVIRONMENT_DELETE",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing from {actions:?}"
        );
    }
    server.stop().await.unwrap();
}
