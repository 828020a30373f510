//! The control plane's HTTP API over real loopback HTTP: every path the foundation serves, and
//! its errors.

use crate::support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::client::{Api, saas};
use support::{ADMIN, TOKEN, start_shop};

#[tokio::test(flavor = "multi_thread")]
async fn authentication_is_basic_on_every_call_and_401_says_nothing_more() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let (status, me) = api.get("/api/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], ADMIN);

    for auth in [
        None,
        Some(("admin", "wrong-token-000000")),
        Some(("nobody", TOKEN)),
    ] {
        let mut request = api.http.get(format!("{}/cc-ui/v1/artifacts-ci", api.base));
        if let Some((user, token)) = auth {
            request = request.basic_auth(user, Some(token));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key("www-authenticate"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"message": "authentication required", "code": "UNAUTHORIZED"})
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_400_413_404_with_message_and_code() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let url = format!("{}/cc-ui/v1/ci-cd/register", api.base);
    let send_raw = |body: Vec<u8>| {
        api.http
            .post(&url)
            .basic_auth(ADMIN, Some(TOKEN))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let response = send_raw(b"{not json".to_vec()).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "BAD_REQUEST");
    assert!(
        body["message"].as_str().unwrap().contains("malformed JSON"),
        "{body}"
    );

    let mut missing = saas("main", "GIT_REF", "1", "r/a:1");
    missing.as_object_mut().unwrap().remove("artifactUri");
    let (status, body) = api.post("/cc-ui/v1/ci-cd/register", missing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("artifactUri"),
        "{body}"
    );

    let (status, body) = api
        .post(
            "/cc-ui/v1/ci-cd/register",
            saas("main", "GIT_REF", "1", "  "),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("artifactUri"),
        "{body}"
    );

    let (status, body) = api
        .post(
            "/cc-ui/v1/ci-cd/register",
            saas("main", "REGEX", "1", "r/a:1"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("REGEX"),
        "{body}"
    );

    let huge = vec![b' '; wharf_control_plane::MAX_BODY_BYTES + 10];
    let response = send_raw(huge).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE");

    let mut unknown_project = saas("main", "GIT_REF", "1", "r/a:1");
    unknown_project["blueprintName"] = json!("nope");
    let (status, body) = api.post("/cc-ui/v1/ci-cd/register", unknown_project).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "NOT_FOUND");

    let mut unknown_ci = saas("main", "GIT_REF", "1", "r/a:1");
    unknown_ci["applicationName"] = json!("cart");
    let (status, body) = api.post("/cc-ui/v1/ci-cd/register", unknown_ci).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["message"].as_str().unwrap().contains("'cart'"),
        "{body}"
    );

    let (status, _) = api.get("/cc-ui/v1/no/such/path").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.store().total_artifacts().await.unwrap(),
        0,
        "nothing half-written"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_request_fields_from_newer_clients_are_ignored() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let mut body = saas("main", "GIT_REF", "u1", "r/a:1");
    body["someFutureField"] = json!({"x": 1});
    let (status, artifact) = api.post("/cc-ui/v1/ci-cd/register", body).await;
    assert_eq!(status, StatusCode::OK, "{artifact}");
    assert_eq!(artifact["clusterName"], "dev");
    assert_eq!(artifact["classified"], true);
    assert_eq!(artifact["buildId"], "u1");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_older_registration_endpoints_route_the_same_way() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let (_, clusters) = api.get("/cc-ui/v1/stacks/shop/clusters").await;
    let prod_id = clusters
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "prod")
        .unwrap()["id"]
        .clone();
    let (status, cluster) = api
        .get(&format!("/cc-ui/v1/clusters/{}", prod_id.as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cluster["releaseStream"], "PRODUCTION");

    let (status, pushed) = api
        .post(
            "/cc-ui/v1/artifacts/push",
            json!({
                "applicationName": "api", "artifactUri": "r/a:1", "artifactory": "default",
                "externalId": "p1", "metadata": {"BRANCH_NAME": "release/9"},
                "registrationType": "ENVIRONMENT", "stackName": "shop"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    assert_eq!(pushed["clusterName"], "staging");

    let (_, v2) = api
        .post("/cc-ui/v1/artifacts/registerV2", json!({
            "applicationName": "api", "artifactUri": "r/a:2", "stackName": "shop", "clusterId": prod_id
        }))
        .await;
    assert_eq!(v2["clusterName"], "prod");
    assert_eq!(
        v2["registrationValue"], prod_id,
        "environment buckets are keyed by id"
    );

    let (_, by_env) = api
        .post("/cc-ui/v1/artifacts/register-by-env", json!({
            "applicationName": "web", "artifactUri": "r/w:1", "stackName": "shop", "clusterName": "dev"
        }))
        .await;
    assert_eq!(by_env["clusterName"], "dev");

    let (status, by_stream) = api
        .post("/cc-ui/v1/artifacts/register-by-release-stream", json!({
            "applicationName": "web", "artifactUri": "r/w:2", "stackName": "shop", "releaseStream": "QA"
        }))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an environment CI may register into a stream: {by_stream}"
    );
    assert_eq!(by_stream["releaseStream"], "QA");
    assert_eq!(by_stream["registrationValue"], "QA");
    let resolve = "/wharf/v1/resolve?stackName=shop&environment=dev&ciName=web";
    let (_, resolved) = api.get(resolve).await;
    assert_eq!(
        (
            resolved["artifact"]["artifactUri"].as_str(),
            resolved["resolvedFrom"].as_str()
        ),
        (Some("r/w:2"), Some("RELEASE_STREAM")),
        "every environment of QA takes the stream's build, newer than dev's own: {resolved}"
    );
    api.post("/cc-ui/v1/artifacts/register-by-env", json!({
        "applicationName": "web", "artifactUri": "r/w:3", "stackName": "shop", "clusterName": "dev"
    }))
    .await;
    let (_, resolved) = api.get(resolve).await;
    assert_eq!(
        (
            resolved["artifact"]["artifactUri"].as_str(),
            resolved["resolvedFrom"].as_str()
        ),
        (Some("r/w:3"), Some("ENVIRONMENT")),
        "until the environment has a newer build of its own: {resolved}"
    );

    let (_, builds) = api
        .get("/cc-ui/v1/artifacts-ci/api/artifacts?stackName=shop")
        .await;
    let builds = builds.as_array().unwrap();
    assert_eq!(builds.len(), 2);
    assert_eq!(builds[0]["artifactUri"], "r/a:2", "newest first");
    assert_eq!(builds[1]["metadata"]["BRANCH_NAME"], "release/9");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn routing_rules_are_managed_tested_and_applied() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let (_, operators) = api.get("/cc-ui/v1/artifact-routing-rule/operators").await;
    assert_eq!(
        operators,
        json!(["EQUALS", "STARTS_WITH", "ENDS_WITH", "CONTAINS"])
    );

    let (_, rules) = api
        .get("/cc-ui/v1/artifact-routing-rule?stackName=shop&registrationType=ENVIRONMENT")
        .await;
    let rule = rules[0].clone();
    assert_eq!(rule["default"], true);
    assert_eq!(rule["ruleName"], "shop-branches");

    let criteria = json!([{"metadataKey": "BRANCH_NAME", "operator": "CONTAINS", "value": "hot", "routeTo": "prod", "priority": 1}]);
    let (_, tested) = api
        .post(
            "/cc-ui/v1/artifact-routing-rule/test?metadata=hotfix%2F1",
            criteria.clone(),
        )
        .await;
    assert_eq!(tested["routeTo"], "prod");
    let (_, tested) = api
        .post(
            "/cc-ui/v1/artifact-routing-rule/test?metadata=main",
            criteria,
        )
        .await;
    assert!(tested["routeTo"].is_null());

    let (status, conflict) = api
        .post(
            "/cc-ui/v1/artifact-routing-rule",
            json!({
                "ruleName": "second", "registrationType": "ENVIRONMENT", "stackName": "shop",
                "isDefault": true, "criteria": []
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        conflict["message"]
            .as_str()
            .unwrap()
            .contains("shop-branches"),
        "{conflict}"
    );

    let (status, bad) = api
        .post("/cc-ui/v1/artifact-routing-rule", json!({
            "ruleName": "x", "registrationType": "ENVIRONMENT", "stackName": "shop",
            "criteria": [{"metadataKey": "BRANCH_NAME", "operator": "EQUALS", "value": "a", "routeTo": "moon"}]
        }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("criteria[0].routeTo"),
        "{bad}"
    );

    let mut updated = rule.clone();
    updated["criteria"].as_array_mut().unwrap().push(json!({
        "metadataKey": "BRANCH_NAME", "operator": "STARTS_WITH", "value": "hotfix/", "routeTo": "prod", "priority": 0
    }));
    updated["isDefault"] = json!(true);
    let (status, saved) = api.put("/cc-ui/v1/artifact-routing-rule", updated).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["id"], rule["id"]);

    let (_, hotfix) = api
        .post(
            "/cc-ui/v1/ci-cd/register",
            saas("hotfix/1", "GIT_REF", "h1", "r/a:h"),
        )
        .await;
    assert_eq!(hotfix["clusterName"], "prod");
    assert_eq!(hotfix["appliedRuleId"], rule["id"]);

    let (status, _) = api
        .delete(&format!(
            "/cc-ui/v1/artifact-routing-rule/{}",
            rule["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, unrouted) = api
        .post(
            "/cc-ui/v1/ci-cd/register",
            saas("main", "GIT_REF", "h2", "r/a:m"),
        )
        .await;
    assert_eq!(unrouted["classified"], false, "no rule: kept, unclassified");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn ci_integrations_are_created_found_and_deleted_only_when_empty() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let (status, created) = api
        .post(
            "/cc-ui/v1/artifacts-ci",
            json!({"name": "worker", "stackName": "shop"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["registrationType"], "ENVIRONMENT",
        "inherits the project's type"
    );
    let id = created["id"].as_str().unwrap().to_string();

    let (status, _) = api
        .post(
            "/cc-ui/v1/artifacts-ci",
            json!({"name": "worker", "stackName": "shop"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, by_id) = api.get(&format!("/cc-ui/v1/artifacts-ci/{id}")).await;
    assert_eq!(by_id["name"], "worker");
    let (_, by_name) = api.get("/cc-ui/v1/artifacts-ci/name/worker").await;
    assert_eq!(by_name["id"], id.as_str());
    let (_, of_project) = api.get("/cc-ui/v1/artifacts-ci/blueprint/shop").await;
    assert_eq!(of_project.as_array().unwrap().len(), 3);

    let (status, _) = api.delete(&format!("/cc-ui/v1/artifacts-ci/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.get(&format!("/cc-ui/v1/artifacts-ci/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    api.post(
        "/cc-ui/v1/ci-cd/register",
        saas("main", "GIT_REF", "d1", "r/a:1"),
    )
    .await;
    let (_, api_ci) = api
        .get("/cc-ui/v1/artifacts-ci/name/api?stackName=shop")
        .await;
    let (status, refused) = api
        .delete(&format!(
            "/cc-ui/v1/artifacts-ci/{}",
            api_ci["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("Cannot delete: artifacts still registered")
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn project_ci_cd_keeps_its_registration_type_until_reset() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let (_, current) = api.get("/cc-ui/v1/ci-cd/shop").await;
    assert_eq!(current["registrationType"], "ENVIRONMENT");
    assert_eq!(
        current["promotionHierarchies"][2],
        json!({"sequence": 3, "registrationValue": "prod"})
    );

    let streams = json!({
        "registrationType": "RELEASE_STREAM", "stackName": "shop",
        "routingRules": [{"metadataKey": "BRANCH_NAME", "operator": "EQUALS", "value": "main", "routeTo": "QA", "priority": 1}],
        "promotionHierarchies": [{"sequence": 1, "registrationValue": "QA"}, {"sequence": 2, "registrationValue": "PRODUCTION"}]
    });
    let (status, refused) = api.post("/cc-ui/v1/ci-cd", streams.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        refused["message"].as_str().unwrap().contains("reset"),
        "{refused}"
    );

    let (status, _) = api.delete("/cc-ui/v1/ci-cd/shop").await;
    assert_eq!(status, StatusCode::OK);
    let (status, saved) = api.post("/cc-ui/v1/ci-cd", streams).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, streams) = api.get("/cc-ui/v1/release-stream?stackName=shop").await;
    let prod: Vec<_> = streams
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["prod"] == true)
        .collect();
    assert_eq!(prod.len(), 1);
    assert_eq!(prod[0]["name"], "PRODUCTION");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_registrations_of_one_external_id_store_one_build() {
    let (server, _data) = start_shop().await;
    let api = std::sync::Arc::new(Api::new(server.url()));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                api.post(
                    "/cc-ui/v1/ci-cd/register",
                    saas("main", "GIT_REF", "same", "r/a:1"),
                )
                .await
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for task in tasks {
        let (status, artifact) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        ids.insert(artifact["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "every answer names the one build");
    assert_eq!(server.store().total_artifacts().await.unwrap(), 1);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_file_with_a_mistake_is_refused_whole() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let (status, body) = api
        .put("/wharf/v1/projects/shop", json!({
            "project": {"name": "shop", "registration_type": "ENVIRONMENT"},
            "environments": [{"name": "qa2", "release_stream": "QA"}],
            "routing": {"criteria": [{"operator": "EQUALS", "value": "x", "route_to": "nowhere"}]}
        }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("routing.criteria[0].route_to 'nowhere'"),
        "{body}"
    );
    let (_, clusters) = api.get("/cc-ui/v1/stacks/shop/clusters").await;
    assert!(
        clusters
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "qa2"),
        "nothing half-written"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_sets_and_account_wide_calls_refuse_what_they_cannot_take() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let message = |body: &Value| body["message"].as_str().unwrap_or_default().to_string();

    for path in [
        "/cc-ui/v1/artifact-routing-rule?stackName=shop&registrationType=CLUSTER",
        "/cc-ui/v1/workflow?stackName=shop&registrationType=CLUSTER",
        "/cc-ui/v1/workflow/default-workflow/registration-type/CLUSTER?stackName=shop",
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(
            message(&body).contains("`registrationType` 'CLUSTER' is not one of ENVIRONMENT"),
            "{path}: {body}"
        );
    }

    let (_, api_ci) = api
        .get("/cc-ui/v1/artifacts-ci/name/api?stackName=shop")
        .await;
    let id = api_ci["id"].as_str().unwrap();
    let (status, body) = api
        .put(
            &format!("/cc-ui/v1/artifacts-ci/{id}"),
            json!({"ciName": "api", "stackName": "shop", "mode": "SOMETIMES"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).contains("`mode` 'SOMETIMES' is not one of NONE"),
        "{body}"
    );
    let (status, body) = api
        .put(
            &format!("/cc-ui/v1/artifacts-ci/{id}"),
            json!({"ciName": "api", "stackName": "shop", "mode": "CUSTOM"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).contains("routingRuleId or workflowId"),
        "{body}"
    );

    // Without stackName a stream call acts on every project: a server admin's call only.
    api.post("/wharf/v1/users", json!({"username": "lead"}))
        .await;
    api.put(
        "/wharf/v1/projects/shop/members/lead",
        json!({"role": "admin"}),
    )
    .await;
    let (_, token) = api
        .post("/wharf/v1/tokens", json!({"username": "lead"}))
        .await;
    let lead = reqwest_json(
        &api,
        "lead",
        token["token"].as_str().unwrap(),
        "/cc-ui/v1/release-stream",
        json!({"name": "EVERYWHERE"}),
    )
    .await;
    assert_eq!(lead.0, StatusCode::FORBIDDEN, "{}", lead.1);
    assert!(message(&lead.1).contains("every project"), "{}", lead.1);
    let (status, body) = api
        .post(
            "/cc-ui/v1/release-stream?stackName=shop",
            json!({"name": "bad name"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("field `name`"), "{body}");
    server.stop().await.unwrap();
}

/// A POST as another user.
async fn reqwest_json(
    api: &Api,
    user: &str,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = api
        .http
        .post(format!("{}{path}", api.base))
        .basic_auth(user, Some(token))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}
