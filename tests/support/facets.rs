//! A Facets-shaped control plane on loopback: a test double (Facets is a hosted service; no real
//! one can run here), built from the shapes of Facets' published SDK models and the behaviour
//! Facets documents: `POST /cc-ui/v1/ci-cd/register` answers an empty 200; a CI's build list
//! names an environment bucket by the environment's **id** in `registrationValue`; times are
//! epoch milliseconds, as Jackson writes them by default (or ISO-8601, by choice); ids are
//! numbers; `pushCredentials` answers ECR-style credentials (`AWS` and a token) for a
//! repository under an `….dkr.ecr.….amazonaws.com` host; there is no `/wharf/v1`.
//!
//! One project (`shop`), one CI (`api`), environments dev → staging → prod, and one rule:
//! `main` routes to `dev`. A registration missing a field the SDK's `SaasArtifactRequest`
//! requires is refused (400), as Facets' strict model refuses it, so every test through the
//! double also checks the body wharf sends.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const USER: &str = "ci-bot";
pub const TOKEN: &str = "facets-token-SECRET-8d1e";
pub const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const ENVIRONMENTS: [(&str, &str, &str); 3] = [
    ("e-101", "dev", "QA"),
    ("e-102", "staging", "STAGING"),
    ("e-103", "prod", "PRODUCTION"),
];
const NOW_MILLIS: i64 = 1_764_495_330_123;

/// How the double answers; each switch makes one documented Facets behaviour (or failure)
/// happen.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Times as ISO-8601 strings instead of epoch milliseconds.
    pub iso_dates: bool,
    /// `GET /cc-ui/v1/clusters/{id}` fails with a 500: names cannot be learned.
    pub clusters_fail: bool,
    /// Clusters carry only `id` and `name` (no `releaseStream`, `stackName`, ...).
    pub sparse_clusters: bool,
    /// The registration answers 200 with a body no client can read.
    pub unreadable_register: bool,
    /// The CI's build list fails with a 500 (after the registration was made).
    pub builds_fail: bool,
    /// The password `pushCredentials` hands out.
    pub registry_password: String,
}

#[derive(Debug, Clone)]
struct Build {
    id: i64,
    external_id: Option<String>,
    uri: String,
    environment: Option<usize>,
    promoted: bool,
}

struct Double {
    behaviour: Behaviour,
    builds: Mutex<Vec<Build>>,
}

impl Double {
    fn time(&self, offset: i64) -> Value {
        let millis = NOW_MILLIS + offset;
        if self.behaviour.iso_dates {
            json!(wharf_api::lenient::iso_from_millis(millis))
        } else {
            json!(millis)
        }
    }

    fn cluster(&self, at: usize) -> Value {
        let (id, name, stream) = ENVIRONMENTS[at];
        if self.behaviour.sparse_clusters {
            return json!({"id": id, "name": name});
        }
        json!({"id": id, "name": name, "stackName": "shop", "releaseStream": stream,
               "tz": "UTC", "cloud": "AWS", "creationDate": self.time(0)})
    }

    fn build_answer(&self, build: &Build) -> Value {
        let id = build.environment.map(|at| ENVIRONMENTS[at].0);
        json!({
            "artifactId": build.id, "externalId": build.external_id, "artifactName": "api",
            "artifactUri": build.uri, "artifactory": "default", "createdOn": self.time(build.id),
            "registrationType": "ENVIRONMENT", "registrationValue": id,
            "classified": build.environment.is_some(), "promoted": build.promoted,
            "appliedRuleName": build.environment.map(|_| "branches"), "metadata": {},
        })
    }

    fn artifact_answer(&self, build: &Build) -> Value {
        let id = build.environment.map(|at| ENVIRONMENTS[at].0);
        json!({
            "id": build.id, "buildId": build.external_id, "applicationName": "api",
            "artifactUri": build.uri, "clusterId": id, "registrationType": "ENVIRONMENT",
            "registrationValue": id, "classified": build.environment.is_some(),
            "promoted": build.promoted, "createdOn": self.time(build.id),
            "creationDate": self.time(build.id), "metadata": {},
        })
    }
}

type Shared = Arc<Double>;

/// A Facets-shaped server running on `runtime` until the runtime ends.
pub struct FacetsServer {
    pub url: String,
    double: Shared,
}

impl FacetsServer {
    pub fn start(runtime: &tokio::runtime::Runtime, behaviour: Behaviour) -> Self {
        runtime.block_on(Self::serve(behaviour))
    }

    /// Serves on the current runtime until it ends.
    pub async fn serve(behaviour: Behaviour) -> Self {
        let double = Arc::new(Double {
            behaviour,
            builds: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/api/me", get(me))
            .route("/cc-ui/v1/artifacts-ci/name/{name}", get(ci))
            .route("/cc-ui/v1/artifact-routing-rule", get(rules))
            .route("/cc-ui/v1/ci-cd/register", post(register))
            .route("/cc-ui/v1/artifacts-ci/{name}/artifacts", get(builds))
            .route("/cc-ui/v1/clusters/{id}", get(cluster))
            .route("/cc-ui/v1/stacks/{stack}/clusters", get(clusters))
            .route("/cc-ui/v1/artifacts/promote", post(promote))
            .route(
                "/cc-ui/v1/artifacts/cluster/{id}/application/{name}",
                get(newest_in),
            )
            .route("/cc-ui/v1/ci-cd/pushCredentials", post(push_credentials))
            .fallback(|| async {
                (
                    StatusCode::NOT_FOUND,
                    Json(json!({"status": 404, "error": "Not Found"})),
                )
            })
            .with_state(double.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, double }
    }

    /// The builds the double holds, as (uri, environment name, promoted).
    pub fn builds(&self) -> Vec<(String, Option<&'static str>, bool)> {
        let builds = self.double.builds.lock().unwrap();
        builds
            .iter()
            .map(|b| {
                (
                    b.uri.clone(),
                    b.environment.map(|at| ENVIRONMENTS[at].1),
                    b.promoted,
                )
            })
            .collect()
    }
}

/// Facets answers 401 to anything but the right Basic credentials.
fn authorized(headers: &HeaderMap) -> bool {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{TOKEN}"))
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

async fn me(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"name": USER, "userId": "u-7", "grantedAuthorities": []})).into_response()
}

async fn ci(
    State(double): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(
        json!({"id": 501, "ciName": name, "registrationType": "ENVIRONMENT",
                "stackName": "shop", "creationDate": double.time(0)}),
    )
    .into_response()
}

async fn rules(State(double): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(
        json!([{"id": 601, "ruleName": "branches", "registrationType": "ENVIRONMENT",
        "stackName": "shop", "default": true, "creationDate": double.time(0),
        "criteria": [{"metadataKey": "BRANCH_NAME", "operator": "EQUALS", "value": "main",
                      "routeTo": "dev", "priority": 1}]}]),
    )
    .into_response()
}

/// The fields Facets' published SDK (`facets-control-plane-sdk`, `SaasArtifactRequest`)
/// requires of a registration; Facets refuses a body without them.
const REGISTER_REQUIRES: [&str; 5] = [
    "blueprintName",
    "artifactUri",
    "artifactory",
    "artifactRegisterType",
    "artifactRegisterValue",
];

async fn register(
    State(double): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let missing: Vec<&str> = REGISTER_REQUIRES
        .into_iter()
        .filter(|field| !body[*field].is_string())
        .collect();
    let kind_known = matches!(
        body["artifactRegisterType"].as_str(),
        Some("GIT_REF" | "ENVIRONMENT" | "RELEASE_STREAM")
    );
    if !missing.is_empty() || !kind_known {
        let message = format!("Facets' model refuses this body: missing or invalid {missing:?}");
        return (StatusCode::BAD_REQUEST, Json(json!({"message": message}))).into_response();
    }
    let value = body["artifactRegisterValue"].as_str().unwrap_or_default();
    let environment = match body["artifactRegisterType"].as_str() {
        Some("GIT_REF") => (value == "main").then_some(0),
        Some("ENVIRONMENT") => ENVIRONMENTS.iter().position(|(_, name, _)| *name == value),
        _ => None,
    };
    let uri = body["artifactUri"].as_str().unwrap_or_default().to_string();
    let external_id = body["externalId"].as_str().map(str::to_string);
    {
        let mut builds = double.builds.lock().unwrap();
        let known = builds
            .iter()
            .any(|b| b.uri == uri && external_id.is_some() && b.external_id == external_id);
        if !known {
            let id = 1001 + builds.len() as i64;
            builds.push(Build {
                id,
                external_id,
                uri,
                environment,
                promoted: false,
            });
        }
    }
    if double.behaviour.unreadable_register {
        return (StatusCode::OK, "<html>registered</html>").into_response();
    }
    StatusCode::OK.into_response()
}

async fn builds(State(double): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if double.behaviour.builds_fail {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let builds = double.builds.lock().unwrap().clone();
    let answers: Vec<Value> = builds
        .iter()
        .rev()
        .map(|b| double.build_answer(b))
        .collect();
    Json(Value::Array(answers)).into_response()
}

async fn cluster(
    State(double): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if double.behaviour.clusters_fail {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    match ENVIRONMENTS.iter().position(|(known, _, _)| *known == id) {
        Some(at) => Json(double.cluster(at)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn clusters(State(double): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(Value::Array(
        (0..ENVIRONMENTS.len())
            .map(|at| double.cluster(at))
            .collect(),
    ))
    .into_response()
}

async fn promote(
    State(double): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let source: Option<i64> = query.get("artifactId").and_then(|id| id.parse().ok());
    let mut builds = double.builds.lock().unwrap();
    let Some(from) = builds.iter().find(|b| Some(b.id) == source).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "artifact not found"})),
        )
            .into_response();
    };
    let Some(next) = from
        .environment
        .map(|at| at + 1)
        .filter(|at| *at < ENVIRONMENTS.len())
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "no next stage"})),
        )
            .into_response();
    };
    let promoted = Build {
        id: 1001 + builds.len() as i64,
        environment: Some(next),
        promoted: true,
        ..from
    };
    builds.push(promoted.clone());
    Json(double.artifact_answer(&promoted)).into_response()
}

async fn newest_in(
    State(double): State<Shared>,
    headers: HeaderMap,
    Path((id, _name)): Path<(String, String)>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let at = ENVIRONMENTS.iter().position(|(known, _, _)| *known == id);
    let builds = double.builds.lock().unwrap();
    match builds
        .iter()
        .rev()
        .find(|b| b.environment.is_some() && b.environment == at)
    {
        Some(build) => Json(double.artifact_answer(build)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "no artifact"})),
        )
            .into_response(),
    }
}

async fn push_credentials(
    State(double): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let repository = format!(
        "{}/{}",
        body["blueprintName"].as_str().unwrap_or_default(),
        body["applicationName"].as_str().unwrap_or_default()
    );
    Json(
        json!({"username": "AWS", "password": double.behaviour.registry_password,
                "artifactoryUri": ECR_HOST, "repositoryUri": format!("{ECR_HOST}/{repository}")}),
    )
    .into_response()
}
