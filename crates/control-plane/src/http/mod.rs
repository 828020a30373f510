//! The HTTP API: Facets paths under `/cc-ui/v1` and `/api/me`, wharf's own under `/wharf/v1`,
//! and the built-in registry under `/v2/`. Each handler parses its request and calls one
//! domain function; the domain checks permissions, writes, audits. Handler modules never
//! import each other: what they share is here.

mod access;
mod approvals;
mod artifactories;
mod audit;
mod builds;
mod cis;
mod events;
mod files;
#[cfg(test)]
mod fuzz;
mod oidc;
mod places;
mod projects;
mod push;
mod register;
mod registry;
mod rules;
mod ui;
mod workflows;

use crate::domain::ControlPlane;
use crate::domain::auth::AuthUser;
use crate::domain::promotion::Promoted;
use crate::domain::registration::StoredBuild;
use crate::error::Error;
use crate::registry::BuiltInRegistry;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, put};
use axum::{Extension, Json, Router};
use base64::Engine;
use serde::de::DeserializeOwned;
use wharf_api::{ErrorDetails, User};

/// Largest request body accepted; registrations are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Header telling the client the build already existed and nothing was written.
pub const REPLAYED_HEADER: &str = "wharf-replayed";

/// What every handler reads, behind one `Arc`: axum clones the state for each request, and
/// cloning the control plane itself (each part holds the store and its pools) cost about a
/// tenth of a registration's CPU (`perf`, issue 29).
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Served>);

pub struct Served {
    pub cp: ControlPlane,
    pub registry: BuiltInRegistry,
    /// The server serves TLS itself (the web UI's cookies are then `Secure`).
    pub tls: bool,
}

impl AppState {
    pub fn new(cp: ControlPlane, registry: BuiltInRegistry, tls: bool) -> Self {
        Self(std::sync::Arc::new(Served { cp, registry, tls }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.0
    }
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
        .route("/artifacts/register-by-env", post(register::register_by_env))
        .route("/artifacts/register-by-release-stream", post(register::register_by_stream))
        .route("/artifacts-ci", get(cis::list).post(cis::create))
        .route("/artifacts-ci/{ci_id}", get(cis::get_one).put(cis::update).delete(cis::delete))
        .route("/artifacts-ci/name/{ci_name}", get(cis::by_name))
        .route("/artifacts-ci/blueprint/{stack}", get(cis::of_project))
        .route("/artifacts-ci/{ci_name}/artifacts", get(cis::builds))
        .route("/artifacts-ci/bulk-edit-workflow", post(cis::bulk_edit))
        .route("/ci-cd/attach", put(cis::attach))
        .route("/ci-cd/detach", put(cis::detach))
        .route("/ci-cd/ci/{ci_name}/custom", post(cis::save_custom))
        .route("/ci-cd/ci/{ci_name}", get(cis::custom).delete(cis::delete_by_name))
        .route(
            "/artifact-routing-rule",
            get(rules::list).post(rules::create).put(rules::update),
        )
        .route("/artifact-routing-rule/operators", get(rules::operators))
        .route("/artifact-routing-rule/test", post(rules::test))
        .route("/artifact-routing-rule/{rule_id}", get(rules::get_one).delete(rules::delete))
        .route("/ci-cd", post(rules::configure_ci_cd))
        .route("/ci-cd/{stack}", get(rules::get_ci_cd).delete(rules::reset_ci_cd))
        .route("/artifacts/promote", post(builds::promote_by_name))
        .route("/artifacts/reclassify", put(builds::reclassify))
        .route("/artifacts/attach-image-via-register", post(builds::attach))
        .route(
            "/artifacts/upload",
            post(files::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/artifacts/{id}", get(builds::of_cluster).delete(builds::delete))
        .route("/artifacts/{id}/promote/{artifact_id}", post(builds::promote_by_ci_id))
        .route(
            "/artifacts/cluster/{cluster_id}/application/{name}",
            get(builds::of_cluster_application),
        )
        .route(
            "/artifacts/cluster/{cluster_id}/resourceType/{kind}/resourceName/{name}",
            get(builds::of_cluster_resource),
        )
        .route("/workflow", get(workflows::list).post(workflows::create))
        .route(
            "/workflow/{workflow_id}",
            get(workflows::get_one).put(workflows::update).delete(workflows::delete),
        )
        .route("/workflow/blueprint/{stack}", get(workflows::of_project))
        .route("/workflow/registration-specific", get(workflows::registration_specific))
        .route(
            "/workflow/default-workflow/registration-type/{kind}",
            get(workflows::default_of),
        )
        .route("/release-stream", get(places::list_streams).post(places::create_stream))
        .route("/release-stream/{name}", delete(places::delete_stream))
        .route("/audit-logs", get(audit::facets_audit_logs))
        .route("/clusters/{cluster_id}", get(places::get_cluster))
        .route("/stacks/{stack}/clusters", get(places::clusters_of_project));

    let authenticated = Router::new()
        .nest("/cc-ui/v1", facets)
        .route("/api/me", get(me))
        .route(
            "/wharf/v1/projects/{name}",
            put(projects::apply_project_file),
        )
        .route("/wharf/v1/resolve", get(builds::resolve))
        .route("/wharf/v1/builds/{id}", get(builds::details))
        .route("/wharf/v1/register/preview", post(register::saas_preview))
        .route("/wharf/v1/audit-logs", get(audit::wharf_audit_logs))
        .route(
            "/wharf/v1/users",
            get(access::list_users).post(access::create_user),
        )
        .route(
            "/wharf/v1/roles",
            get(access::list_roles).post(access::save_role),
        )
        .route("/wharf/v1/projects", get(projects::list_projects))
        .route("/wharf/v1/projects/{project}/status", get(projects::status))
        .route("/wharf/v1/events", get(events::events))
        .route(
            "/wharf/v1/projects/{project}/webhooks",
            get(events::webhooks),
        )
        .route(
            "/wharf/v1/projects/{project}/deliveries",
            get(events::deliveries),
        )
        .route(
            "/wharf/v1/projects/{project}/webhooks/{name}/test",
            post(events::test),
        )
        .route(
            "/wharf/v1/deliveries/{id}/redeliver",
            post(events::redeliver),
        )
        .route(
            "/wharf/v1/projects/{project}/environments/{environment}/overrides",
            get(builds::overrides),
        )
        .route(
            "/wharf/v1/projects/{project}/services/{service}/strategy",
            get(cis::strategy).put(cis::set_strategy),
        )
        .route(
            "/wharf/v1/projects/{project}/members",
            get(access::list_members),
        )
        .route(
            "/wharf/v1/projects/{project}/members/{username}",
            put(access::set_member).delete(access::remove_member),
        )
        .route(
            "/wharf/v1/tokens",
            get(access::list_tokens).post(access::create_token),
        )
        .route("/wharf/v1/tokens/{id}", delete(access::revoke_token))
        .route("/wharf/v1/gc", post(registry::gc))
        .route("/wharf/v1/approvals", get(approvals::pending))
        .route("/wharf/v1/approvals/{id}", get(approvals::one))
        .route("/wharf/v1/approvals/{id}/approve", post(approvals::approve))
        .route("/wharf/v1/approvals/{id}/reject", post(approvals::reject))
        .route("/wharf/v1/rollback", post(approvals::rollback))
        .route(
            "/wharf/v1/projects/{project}/protection",
            get(approvals::protection),
        )
        .route("/wharf/v1/projects/{project}/trust", get(oidc::policies))
        .route(
            "/wharf/v1/projects/{project}/trust/test",
            post(oidc::test_token),
        )
        .route(
            "/wharf/v1/push-credentials",
            get(push::list).delete(push::revoke_all),
        )
        .route(
            "/wharf/v1/push-credentials/{username}",
            delete(push::revoke_one),
        )
        .route(
            "/wharf/v1/projects/{project}/environments/{name}",
            put(places::save_environment).delete(places::delete_environment),
        )
        .layer(middleware::from_fn_with_state(state.clone(), require_auth));

    Router::new()
        .route("/wharf/v1/health", get(health))
        // Keyless CI login: how a job without a token gets one.
        .route(wharf_api::oidc::OIDC_TOKEN_PATH, post(oidc::exchange))
        .route("/v2", any(registry::handle))
        .route("/v2/", any(registry::handle))
        .route("/v2/{*path}", any(registry::handle))
        .route(
            "/ui/",
            get(|| async { axum::response::Redirect::to("/ui/projects") }),
        )
        // A browser that opens the control plane's address lands in the UI.
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/ui/projects") }),
        )
        .nest("/ui", ui::router())
        .merge(authenticated)
        .fallback(|| async { Error::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            Error::MethodNotAllowed("this endpoint does not answer that method".into())
        })
        .with_state(state)
}

/// A list query's `limit`: `default` when none, more than 1,000 taken as 1,000, below 1
/// refused naming the query.
pub fn list_limit(limit: Option<i64>, default: i64) -> Result<i64, Error> {
    match limit {
        None => Ok(default),
        Some(n) if n >= 1 => Ok(n.min(1000)),
        Some(n) => Err(Error::bad_request(format!(
            "query `limit` is {n}: give how many to list, 1 to 1000"
        ))),
    }
}

/// A query string whose errors are `{"message","code"}`, like every other error.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|e| Error::bad_request(format!("invalid query string: {}", e.body_text())))
    }
}

/// Path parameters whose errors are `{"message","code"}`.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|e| Error::bad_request(format!("invalid path: {}", e.body_text())))
    }
}

/// Username and secret of an `Authorization: Basic …` header, when it holds both.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let header = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, token) = text.split_once(':')?;
    (!user.is_empty() && !token.is_empty()).then(|| (user.to_string(), token.to_string()))
}

/// The registry's host as the caller reached it (`Host`), e.g. `cp.example.com:8080`.
pub fn host(headers: &HeaderMap) -> Result<String, Error> {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::bad_request("the request has no Host header to address the registry by")
        })
}

/// A promotion's answer: the build it made, or (a protected stage) 202 with the source build,
/// unchanged, and the pending request's id in a header.
pub fn promoted(promoted: Promoted) -> Response {
    match promoted {
        Promoted::Done(done) => registered(done),
        Promoted::Pending(request, source) => {
            let mut response = (StatusCode::ACCEPTED, Json(source)).into_response();
            if let Ok(id) = HeaderValue::from_str(&request.request_id) {
                response
                    .headers_mut()
                    .insert(wharf_api::PROMOTION_REQUEST_HEADER, id);
            }
            response
        }
    }
}

/// 202 with a pending request as the body and its id in the request header.
pub fn pending_request(request: wharf_api::PromotionRequest) -> Response {
    let id = HeaderValue::from_str(&request.request_id).ok();
    let mut response = (StatusCode::ACCEPTED, Json(request)).into_response();
    if let Some(id) = id {
        response
            .headers_mut()
            .insert(wharf_api::PROMOTION_REQUEST_HEADER, id);
    }
    response
}

/// A registered or promoted build, with the header that says whether it already existed.
pub fn registered(registered: StoredBuild) -> Response {
    let mut response = Json(registered.artifact).into_response();
    let replayed = if registered.replayed { "true" } else { "false" };
    response
        .headers_mut()
        .insert(REPLAYED_HEADER, HeaderValue::from_static(replayed));
    response
}

/// Who a request authenticated as, for the request's log line (on the response).
#[derive(Clone)]
pub struct LoggedUser(pub String);

async fn require_auth(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some((username, token)) = basic_credentials(request.headers()) else {
        return Error::Unauthorized.into_response();
    };
    match state.cp.identity.authenticate(&username, &token).await {
        Ok(user) => {
            request.extensions_mut().insert(user);
            let mut response = next.run(request).await;
            response.extensions_mut().insert(LoggedUser(username));
            response
        }
        Err(error) => error.into_response(),
    }
}

/// 200 `ok` while the database answers; 503 naming why when it does not.
async fn health(State(state): State<AppState>) -> Result<&'static str, Error> {
    state.cp.health().await?;
    Ok("ok")
}

async fn me(Extension(user): Extension<AuthUser>) -> Json<User> {
    Json(User {
        name: Some(user.username.clone()),
        username: user.username,
        user_id: Some(user.id.clone()),
        id: Some(user.id),
        admin: user.admin,
    })
}

fn status(error: &Error) -> StatusCode {
    match error {
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::Unauthorized => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        Error::NotRouted(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The status and wire code of each registry error (the distribution spec's codes).
pub fn registry_status(code: crate::registry::RegistryCode) -> (StatusCode, &'static str) {
    use crate::registry::RegistryCode as C;
    match code {
        C::Unauthorized => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
        C::Denied => (StatusCode::FORBIDDEN, "DENIED"),
        C::Held => (StatusCode::CONFLICT, "DENIED"),
        C::NameInvalid => (StatusCode::NOT_FOUND, "NAME_INVALID"),
        C::NameUnknown => (StatusCode::NOT_FOUND, "NAME_UNKNOWN"),
        C::BlobUnknown => (StatusCode::NOT_FOUND, "BLOB_UNKNOWN"),
        C::BlobUploadInvalid => (StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID"),
        C::BlobUploadUnknown => (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN"),
        C::RangeInvalid => (StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID"),
        C::DigestInvalid => (StatusCode::BAD_REQUEST, "DIGEST_INVALID"),
        C::ManifestInvalid => (StatusCode::BAD_REQUEST, "MANIFEST_INVALID"),
        C::ManifestUnknown => (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"),
        C::ManifestBlobUnknown => (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN"),
        C::IndexChildUnknown => (StatusCode::BAD_REQUEST, "MANIFEST_UNKNOWN"),
        C::TagInvalid => (StatusCode::BAD_REQUEST, "TAG_INVALID"),
        C::SizeInvalid => (StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID"),
        C::Timeout => (StatusCode::REQUEST_TIMEOUT, "BLOB_UPLOAD_INVALID"),
        C::Unsupported => (StatusCode::BAD_REQUEST, "UNSUPPORTED"),
        C::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED"),
        C::Unknown => (StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN"),
        C::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "UNKNOWN"),
    }
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
        let mut response = (status(&self), Json(body)).into_response();
        if matches!(self, Error::PayloadTooLarge(_) | Error::RequestTimeout(_)) {
            // The body was not read: tell the client not to reuse this connection.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Error::Unavailable(detail) = &self {
            tracing::warn!(%detail, "request refused: the database is unavailable");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
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

/// Why a body could not be read: it stalled past the body timeout (408), it is larger than
/// the limit (413), or the client's stream failed (400).
fn body_unread(error: axum::Error) -> Error {
    let inner = error.into_inner();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return Error::RequestTimeout(
                "the request body stalled past the server's body timeout; send it without \
                 pausing"
                    .into(),
            );
        }
        if error.to_string().contains("length limit exceeded") {
            return Error::PayloadTooLarge(MAX_BODY_BYTES);
        }
        cause = error.source();
    }
    Error::bad_request(format!("the request body could not be read: {inner}"))
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
            .map_err(body_unread)?;
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
