//! The HTTP API: Facets paths under `/cc-ui/v1` and `/api/me`, wharf's own under `/wharf/v1`.

mod access;
mod artifactories;
mod artifacts;
mod config;
mod places;
mod push;
mod register;
mod workflows;

use crate::auth::{AuthUser, Authenticator};
use crate::error::Error;
use crate::store::Store;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use wharf_api::{ErrorDetails, User};

/// Largest request body accepted; registrations are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<Authenticator>,
    pub blobs: crate::registry::BlobStore,
}

pub fn router(state: AppState) -> Router {
    let facets = Router::new()
        .route("/ci-cd/register", post(register::saas_register))
        .route("/ci-cd/pushCredentials", post(push::credentials))
        .route("/artifactories", get(artifactories::list))
        .route("/artifactories/others", post(artifactories::create_other))
        .route("/artifactories/name/{name}", get(artifactories::by_name))
        .route("/artifactories/stack/{stack}", get(artifactories::of_project))
        .route(
            "/artifacts/pushCredentialsV2/artifactName/{name}/registrationType/{kind}/value/{value}",
            post(push::credentials_v2),
        )
        .route("/artifacts/pushCredentialsV3/artifactName/{name}", post(push::credentials_v3))
        .route("/artifacts/push", post(register::push_by_metadata))
        .route("/artifacts/registerV2", post(register::register_v2))
        .route(
            "/artifacts/register-by-env",
            post(register::register_by_env),
        )
        .route(
            "/artifacts/register-by-release-stream",
            post(register::register_by_stream),
        )
        .route(
            "/artifacts-ci",
            get(config::list_cis).post(config::create_ci),
        )
        .route(
            "/artifacts-ci/{ci_id}",
            get(config::get_ci)
                .put(config::update_ci)
                .delete(config::delete_ci),
        )
        .route("/artifacts-ci/name/{ci_name}", get(config::ci_by_name))
        .route(
            "/artifacts-ci/blueprint/{stack}",
            get(config::cis_of_project),
        )
        .route(
            "/artifacts-ci/{ci_name}/artifacts",
            get(config::builds_of_ci),
        )
        .route(
            "/artifact-routing-rule",
            get(config::list_rules)
                .post(config::create_rule)
                .put(config::update_rule),
        )
        .route("/artifact-routing-rule/operators", get(config::operators))
        .route("/artifact-routing-rule/test", post(config::test_rule))
        .route(
            "/artifact-routing-rule/{rule_id}",
            get(config::get_rule).delete(config::delete_rule),
        )
        .route("/ci-cd", post(config::configure_ci_cd))
        .route(
            "/ci-cd/{stack}",
            get(config::get_ci_cd).delete(config::reset_ci_cd),
        )
        .route("/artifacts/promote", post(artifacts::promote_by_name))
        .route("/artifacts/reclassify", put(artifacts::reclassify))
        .route(
            "/artifacts/attach-image-via-register",
            post(artifacts::attach),
        )
        .route(
            "/artifacts/{id}",
            get(artifacts::of_cluster).delete(artifacts::delete),
        )
        .route(
            "/artifacts/{id}/promote/{artifact_id}",
            post(artifacts::promote_by_ci_id),
        )
        .route(
            "/artifacts/cluster/{cluster_id}/application/{name}",
            get(artifacts::of_cluster_application),
        )
        .route(
            "/artifacts-ci/bulk-edit-workflow",
            post(workflows::bulk_edit),
        )
        .route("/workflow", get(workflows::list).post(workflows::create))
        .route(
            "/workflow/{workflow_id}",
            get(workflows::get_one)
                .put(workflows::update)
                .delete(workflows::delete),
        )
        .route("/workflow/blueprint/{stack}", get(workflows::of_project))
        .route(
            "/workflow/registration-specific",
            get(workflows::registration_specific),
        )
        .route(
            "/workflow/default-workflow/registration-type/{kind}",
            get(workflows::default_of),
        )
        .route("/ci-cd/attach", put(workflows::attach))
        .route("/ci-cd/detach", put(workflows::detach))
        .route(
            "/release-stream",
            get(config::list_streams).post(places::create_stream),
        )
        .route(
            "/release-stream/{name}",
            axum::routing::delete(places::delete_stream),
        )
        .route("/audit-logs", get(config::audit_logs))
        .route("/clusters/{cluster_id}", get(config::get_cluster))
        .route("/stacks/{stack}/clusters", get(config::clusters_of_project));

    let authenticated = Router::new()
        .nest("/cc-ui/v1", facets)
        .route("/api/me", get(me))
        .route("/wharf/v1/projects/{name}", put(config::apply_project_file))
        .route("/wharf/v1/resolve", get(artifacts::resolve))
        .route(
            "/wharf/v1/users",
            get(access::list_users).post(access::create_user),
        )
        .route(
            "/wharf/v1/roles",
            get(access::list_roles).post(access::save_role),
        )
        .route(
            "/wharf/v1/projects/{project}/members/{username}",
            put(access::set_member).delete(access::remove_member),
        )
        .route(
            "/wharf/v1/tokens",
            get(access::list_tokens).post(access::create_token),
        )
        .route(
            "/wharf/v1/tokens/{id}",
            axum::routing::delete(access::revoke_token),
        )
        .route(
            "/wharf/v1/projects/{project}/environments/{name}",
            put(places::save_environment).delete(places::delete_environment),
        )
        .layer(middleware::from_fn_with_state(state.clone(), require_auth));

    Router::new()
        .route("/wharf/v1/health", get(|| async { "ok" }))
        .route("/v2", axum::routing::any(crate::registry::handle))
        .route("/v2/", axum::routing::any(crate::registry::handle))
        .route("/v2/{*path}", axum::routing::any(crate::registry::handle))
        .merge(authenticated)
        .fallback(|| async { Error::not_found("no such endpoint") })
        .with_state(state)
}

async fn require_auth(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.auth.verify(header).await {
        Ok(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

async fn me(Extension(user): Extension<AuthUser>) -> Json<User> {
    Json(User {
        username: user.username,
        id: Some(user.id),
        admin: user.admin,
    })
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let body = ErrorDetails {
            message: self.to_string(),
            code: Some(self.code().into()),
        };
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(self, Error::PayloadTooLarge(_)) {
            // The body was not read: tell the client not to reuse this connection.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if matches!(self, Error::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"wharf\""),
            );
        }
        response
    }
}

/// A JSON request body whose errors are `{"message","code"}`: 400 naming what is wrong, 413
/// when too large.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Error> {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
            return Err(Error::PayloadTooLarge(MAX_BODY_BYTES));
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| Error::PayloadTooLarge(MAX_BODY_BYTES))?;
        serde_json::from_slice(&bytes).map(Body).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Syntax | Category::Eof | Category::Io => {
                    Error::bad_request(format!("malformed JSON body: {e}"))
                }
                Category::Data => Error::bad_request(format!("invalid request body: {e}")),
            }
        })
    }
}
