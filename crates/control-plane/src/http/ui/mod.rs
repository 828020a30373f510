//! The web UI under `/ui/`: server-rendered HTML (maud), a little CSS and progressive
//! enhancement JS embedded in the binary, nothing fetched from elsewhere.
//!
//! Authentication is its own: signing in with a username and a personal token opens a
//! server-side session (`domain::sessions`), carried by an `HttpOnly`, `SameSite=Strict`
//! cookie (`Secure` when the server serves TLS). The API's Basic-auth layer does not cover
//! these routes. Every form carries the session's synchronizer CSRF token, and every action
//! calls the same domain function as its API endpoint, so the permissions are the API's.
//! The token is only ever in the sign-in form's POST body: never in a URL, a cookie or a page.

mod pages;

use super::{AppState, LoggedUser};
use crate::domain::auth::AuthUser;
use crate::domain::lookups::CiKey;
use crate::domain::permissions::ARTIFACTS_WRITE;
use crate::domain::promotion::{Attach, Promoted};
use crate::domain::sessions::{SESSION_HOURS, Session, random_secret};
use crate::domain::views::AuditFilter;
use crate::error::{Error, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use wharf_api::RegistrationType;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "wharf_session";
/// The sign-in form's own CSRF cookie (there is no session yet to tie a token to).
pub const LOGIN_COOKIE: &str = "wharf_login";
/// The form field every POST must carry.
pub const CSRF_FIELD: &str = "csrf";
/// Largest form accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// Audit entries per page.
const AUDIT_PAGE_SIZE: i64 = 25;

const CSS: &str = include_str!("assets/ui.css");
const JS: &str = include_str!("assets/ui.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/projects") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/assets/ui.css", get(css))
        .route("/assets/ui.js", get(js))
        .route("/projects", get(projects))
        .route("/projects/{project}", get(flow))
        .route("/projects/{project}/services/{service}", get(service))
        .route("/projects/{project}/attach", get(attach_page).post(attach))
        .route("/projects/{project}/promote", post(promote))
        .route("/projects/{project}/reclassify", post(reclassify))
        .route("/projects/{project}/rollback", post(rollback))
        .route("/approvals/{id}/approve", post(approve))
        .route("/approvals/{id}/reject", post(reject))
        .route("/builds/{id}", get(build))
        .route("/audit", get(audit))
        .fallback(|| async { error_page(None, &Error::not_found("no such page")) })
        .layer(middleware::from_fn(headers))
}

/// Security headers on every UI answer: nothing but this origin may load or frame anything,
/// and pages are not cached (they show who is signed in).
async fn headers(request: Request, next: Next) -> Response {
    let asset = request.uri().path().starts_with("/ui/assets/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Cookies, sessions, forms

/// The value of cookie `name` in the request, if sent.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, `Secure` over TLS.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

fn secure(state: &AppState) -> bool {
    state.tls
}

/// The signed-in session, if the request carries a live one.
async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<(String, Session)>> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(state.cp.identity.session(&id).await?.map(|s| (id, s)))
}

/// A page that needs a session: the session, or a redirect to the sign-in page.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> std::result::Result<Session, Response> {
    match current(state, headers).await {
        Ok(Some((_, session))) => Ok(session),
        Ok(None) => Err(Redirect::to("/ui/login").into_response()),
        Err(error) => Err(error_page(None, &error)),
    }
}

/// A submitted form's fields.
pub struct Form(Vec<(String, String)>);

impl Form {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self> {
        let kind = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !kind.starts_with("application/x-www-form-urlencoded") {
            return Err(Error::bad_request(
                "forms are sent as application/x-www-form-urlencoded",
            ));
        }
        if body.len() > MAX_FORM_BYTES {
            return Err(Error::PayloadTooLarge(MAX_FORM_BYTES));
        }
        Ok(Self(form_urlencoded::parse(body).into_owned().collect()))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, key: &str) -> Result<String> {
        self.get(key)
            .map(str::to_string)
            .ok_or_else(|| Error::bad_request(format!("the form lacks `{key}`")))
    }
}

/// Refuses a request whose `Origin` (when sent) is not this server: a form posted from
/// another site.
fn same_origin(headers: &HeaderMap) -> Result<()> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "this form was posted from another site; open the page on this server and try again"
                .into(),
        ))
    }
}

/// An action's POST: the session, and its form once the CSRF token checked out.
async fn action(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> std::result::Result<(Session, Form), Response> {
    let Some((_, session)) = current(state, headers)
        .await
        .map_err(|e| error_page(None, &e))?
    else {
        return Err(error_page(
            None,
            &Error::Forbidden(
                "you are not signed in (or your session ended): sign in again".into(),
            ),
        ));
    };
    let form = Form::parse(headers, body).map_err(|e| error_page(Some(&session), &e))?;
    same_origin(headers).map_err(|e| error_page(Some(&session), &e))?;
    let presented = form.get(CSRF_FIELD).unwrap_or_default();
    if !session.csrf_matches(presented) {
        return Err(error_page(
            Some(&session),
            &Error::Forbidden(
                "the form's CSRF token is missing or wrong: reload the page and submit it again"
                    .into(),
            ),
        ));
    }
    Ok((session, form))
}

/// The page at `path`, or an error page naming why the action was refused.
fn after(session: &Session, outcome: Result<String>) -> Response {
    match outcome {
        Ok(location) => logged(Redirect::to(&location).into_response(), &session.user),
        Err(error) => logged(error_page(Some(session), &error), &session.user),
    }
}

fn logged(mut response: Response, user: &AuthUser) -> Response {
    response
        .extensions_mut()
        .insert(LoggedUser(user.username.clone()));
    response
}

fn html(status: StatusCode, page: maud::Markup) -> Response {
    (status, Html(page.into_string())).into_response()
}

fn status_of(error: &Error) -> StatusCode {
    super::status(error)
}

/// An error as a page (the API answers JSON; the UI answers HTML with the same status).
fn error_page(session: Option<&Session>, error: &Error) -> Response {
    if let Error::Internal(detail) = error {
        tracing::error!(%detail, "UI request failed");
    }
    let message = match error {
        Error::Internal(_) => "internal error: see the server's log".to_string(),
        Error::Unauthorized => "authentication required".to_string(),
        other => other.to_string(),
    };
    html(
        status_of(error),
        pages::error(session, status_of(error), &message),
    )
}

/// `?key=value&…` of a page.
fn query_pairs(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn query_get(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn enc(text: &str) -> String {
    wharf_http_client::encode(text)
}

// ---------------------------------------------------------------------------------------------
// Sign-in and sign-out

async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = current(&state, &headers).await {
        return Redirect::to("/ui/projects").into_response();
    }
    login_form(&state, StatusCode::OK, None)
}

fn login_form(state: &AppState, status: StatusCode, problem: Option<&str>) -> Response {
    let token = random_secret();
    let mut response = html(status, pages::login(&token, problem));
    let value = set_cookie(LOGIN_COOKIE, &token, "/ui/login", 600, secure(state));
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn login(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match Form::parse(&headers, &body) {
        Ok(form) => form,
        Err(error) => return error_page(None, &error),
    };
    if let Err(error) = same_origin(&headers) {
        return error_page(None, &error);
    }
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let presented = form.get(CSRF_FIELD).unwrap_or_default();
    if expected.is_empty() || !crate::domain::auth::same_hash(&expected, presented) {
        return login_form(
            &state,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired or was not sent from this page. Please try again."),
        );
    }
    let username = form.get("username").unwrap_or_default().to_string();
    let token = form.get("token").unwrap_or_default().to_string();
    if username.is_empty() || token.is_empty() {
        return login_form(
            &state,
            StatusCode::BAD_REQUEST,
            Some("Enter your username and a personal token."),
        );
    }
    match state.cp.identity.sign_in(&username, &token).await {
        Ok(opened) => {
            let mut response = Redirect::to("/ui/projects").into_response();
            let max_age = SESSION_HOURS * 3600;
            let session = set_cookie(SESSION_COOKIE, &opened.id, "/ui", max_age, secure(&state));
            let cleared = set_cookie(LOGIN_COOKIE, "", "/ui/login", 0, secure(&state));
            for value in [session, cleared] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            logged(response, &opened.session.user)
        }
        Err(Error::Unauthorized) => login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("Sign-in failed: unknown user, or a wrong, revoked or expired token."),
        ),
        Err(Error::BadRequest(why)) => login_form(&state, StatusCode::BAD_REQUEST, Some(&why)),
        Err(error) => error_page(None, &error),
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (session, _) = match action(&state, &headers, &body).await {
        Ok(done) => done,
        Err(response) => return response,
    };
    let id = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    if let Err(error) = state.cp.identity.sign_out(&id, &session.user).await {
        return error_page(Some(&session), &error);
    }
    let mut response = Redirect::to("/ui/login").into_response();
    let cleared = set_cookie(SESSION_COOKIE, "", "/ui", 0, secure(&state));
    if let Ok(value) = HeaderValue::from_str(&cleared) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    logged(response, &session.user)
}

// ---------------------------------------------------------------------------------------------
// Pages

/// Runs a page's body with the session, turning its error into an error page.
macro_rules! page {
    ($state:expr, $headers:expr, |$session:ident| $body:expr) => {{
        let $session = match signed_in(&$state, &$headers).await {
            Ok(session) => session,
            Err(response) => return response,
        };
        let result: Result<maud::Markup> = async { $body }.await;
        let response = match result {
            Ok(markup) => html(StatusCode::OK, markup),
            Err(error) => error_page(Some(&$session), &error),
        };
        logged(response, &$session.user)
    }};
}

async fn projects(State(state): State<AppState>, headers: HeaderMap) -> Response {
    page!(state, headers, |session| {
        let names = state.cp.overview.project_names().await?;
        Ok(pages::projects(&session, &names))
    })
}

async fn flow(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let flow = state.cp.overview.flow(&project).await?;
        let user = &session.user;
        let write = state
            .cp
            .overview
            .refusal(user, &project, ARTIFACTS_WRITE)
            .await?;
        let mut decisions = Vec::new();
        for request in &flow.pending {
            decisions.push((
                state.cp.approvals.approval_refusal(user, request).await?,
                state.cp.overview.rejection_refusal(user, request).await?,
            ));
        }
        let done = query_get(&query_pairs(query), "done");
        Ok(pages::flow(
            &session,
            &pages::FlowGates { write, decisions },
            &flow,
            done.as_deref(),
        ))
    })
}

async fn service(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project, service)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let pairs = query_pairs(query);
        let stage = query_get(&pairs, "stage");
        let branch = query_get(&pairs, "branch");
        let flow = state.cp.overview.flow(&project).await?;
        let (ci, builds, branches) = state
            .cp
            .overview
            .service_builds(&project, &service, stage.as_deref(), branch.as_deref())
            .await?;
        let mut stages = flow.stages.clone();
        stages.extend(flow.others.iter().cloned());
        Ok(pages::service(
            &session,
            &pages::ServiceView {
                project: &project,
                ci: &ci,
                builds: &builds,
                stages: &stages,
                branches: &branches,
                stage: stage.as_deref(),
                branch: branch.as_deref(),
            },
        ))
    })
}

async fn build(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let story = state.cp.overview.build_story(&id).await?;
        let flow = state.cp.overview.flow(&story.build.project).await?;
        let next = story
            .build
            .bucket
            .routed_to()
            .and_then(|at| flow.next(at))
            .map(str::to_string);
        let write = state
            .cp
            .overview
            .refusal(&session.user, &story.build.project, ARTIFACTS_WRITE)
            .await?;
        let done = query_get(&query_pairs(query), "done");
        Ok(pages::build(
            &session,
            &story,
            next.as_deref(),
            &flow,
            write.as_deref(),
            done.as_deref(),
        ))
    })
}

async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let pairs = query_pairs(query);
        let page: i64 = query_get(&pairs, "page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .clamp(1, 1_000_000);
        let filter = pages::AuditQuery {
            project: query_get(&pairs, "project"),
            user: query_get(&pairs, "user"),
            entity: query_get(&pairs, "entity"),
            action: query_get(&pairs, "action"),
            target: query_get(&pairs, "target"),
            page,
        };
        let store_filter = AuditFilter {
            start: "1970-01-01T00:00:00.000Z".into(),
            end: None,
            stack_name: filter.project.clone(),
            cluster_name: None,
            target: filter.target.clone(),
            performed_by: filter.user.clone(),
            entities: filter.entity.iter().map(|e| e.to_uppercase()).collect(),
            actions: filter.action.iter().map(|a| a.to_uppercase()).collect(),
            number: page - 1,
            size: AUDIT_PAGE_SIZE,
        };
        let entries = state.cp.overview.audit_page(&store_filter, false).await?;
        let projects = state.cp.overview.project_names().await?;
        Ok(pages::audit(&session, &filter, &entries, &projects))
    })
}

async fn attach_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let pairs = query_pairs(query);
        let flow = state.cp.overview.flow(&project).await?;
        let host = super::host(&headers)?;
        let registries = state.cp.overview.registry_choices(&host).await?;
        let registry = query_get(&pairs, "registry");
        let repository = query_get(&pairs, "repository");
        let repositories = match &registry {
            Some(name) => Some(state.cp.overview.registry_repositories(name).await?),
            None => None,
        };
        let tags = match (&registry, &repository) {
            (Some(name), Some(repository)) => {
                Some(state.cp.overview.registry_tags(name, repository).await?)
            }
            _ => None,
        };
        let write = state
            .cp
            .overview
            .refusal(&session.user, &project, ARTIFACTS_WRITE)
            .await?;
        let mut stages = flow.stages.clone();
        stages.extend(flow.others.iter().cloned());
        Ok(pages::attach(
            &session,
            &pages::AttachView {
                project: &project,
                services: flow.services.iter().map(|s| s.ci.name.clone()).collect(),
                stages,
                service: query_get(&pairs, "service"),
                stage: query_get(&pairs, "stage"),
                registries: &registries,
                registry,
                repositories,
                repository,
                tags,
                write: write.as_deref(),
            },
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Actions: each the API's own domain call.

/// Runs an action: CSRF checked, then `$body` (a `Result<String>`, the page to go to).
macro_rules! act {
    ($state:expr, $headers:expr, $body:expr, |$session:ident, $form:ident| $run:expr) => {{
        let ($session, $form) = match action(&$state, &$headers, &$body).await {
            Ok(done) => done,
            Err(response) => return response,
        };
        let outcome: Result<String> = async { $run }.await;
        after(&$session, outcome)
    }};
}

fn flow_url(project: &str, done: &str) -> String {
    format!("/ui/projects/{}?done={done}", enc(project))
}

/// Where to go after an action: the page named in the form (a `/ui/` path of plain URL
/// characters, so it always makes a valid `Location`), else the flow.
fn back(form: &Form, project: &str, done: &str) -> String {
    let plain = |path: &str| {
        path.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'))
    };
    match form.get("back") {
        Some(path) if path.starts_with("/ui/") && !path.starts_with("//") && plain(path) => {
            format!("{path}?done={done}")
        }
        _ => flow_url(project, done),
    }
}

async fn promote(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
    body: Bytes,
) -> Response {
    act!(state, headers, body, |session, form| {
        let service = form.required("service")?;
        let build = form.required("build")?;
        let ci = CiKey::Named(&service, Some(&project));
        let done = match state.cp.delivery.promote(&session.user, ci, &build).await? {
            Promoted::Done(_) => "promoted",
            Promoted::Pending(..) => "requested",
        };
        Ok(back(&form, &project, done))
    })
}

async fn rollback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
    body: Bytes,
) -> Response {
    act!(state, headers, body, |session, form| {
        let service = form.required("service")?;
        let stage = form.required("stage")?;
        let done = match state
            .cp
            .approvals
            .rollback(&session.user, &project, &service, &stage, form.get("to"))
            .await?
        {
            Promoted::Done(_) => "rolled-back",
            Promoted::Pending(..) => "requested",
        };
        Ok(back(&form, &project, done))
    })
}

async fn reclassify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
    body: Bytes,
) -> Response {
    act!(state, headers, body, |session, form| {
        let service = form.required("service")?;
        let ci = state.cp.lookups.ci(&project, &service).await?;
        state.cp.delivery.reclassify(&session.user, &ci.id).await?;
        Ok(flow_url(&project, "reclassified"))
    })
}

async fn attach(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
    body: Bytes,
) -> Response {
    act!(state, headers, body, |session, form| {
        let service = form.required("service")?;
        let stage = form.required("stage")?;
        let registry = form
            .get("registry")
            .unwrap_or(crate::domain::push::BUILT_IN_ARTIFACTORY)
            .to_string();
        let kind = match state.cp.overview.flow(&project).await?.kind {
            RegistrationType::ReleaseStream => RegistrationType::ReleaseStream,
            _ => RegistrationType::Environment,
        };
        let (artifact_uri, repository, tag) = match form.get("uri") {
            Some(uri) => (uri.to_string(), None, None),
            None => {
                let repository = form.required("repository")?;
                let tag = form.required("tag")?;
                let host = state
                    .cp
                    .overview
                    .registry_choices(&super::host(&headers)?)
                    .await?
                    .into_iter()
                    .find(|r| r.name == registry)
                    .map(|r| r.uri.split('/').next().unwrap_or_default().to_string())
                    .ok_or_else(|| Error::bad_request(format!("no registry '{registry}'")))?;
                (
                    format!("{host}/{repository}:{tag}"),
                    Some(repository),
                    Some(tag),
                )
            }
        };
        let request = Attach {
            project: project.clone(),
            ci_name: service,
            artifact_uri,
            artifactory: registry,
            repository_name: repository,
            tag,
            kind,
            value: stage,
        };
        state.cp.delivery.attach(&session.user, request).await?;
        Ok(flow_url(&project, "attached"))
    })
}

async fn approve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    act!(state, headers, body, |session, form| {
        let request = state.cp.approvals.approve(&session.user, &id).await?;
        let done = if request.status == "COMPLETED" {
            "approved-completed"
        } else {
            "approved"
        };
        Ok(back(&form, &request.project, done))
    })
}

async fn reject(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    act!(state, headers, body, |session, form| {
        let reason = form.required("reason")?;
        let request = state
            .cp
            .approvals
            .reject(&session.user, &id, &reason)
            .await?;
        Ok(back(&form, &request.project, "rejected"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_tls() {
        let plain = set_cookie(SESSION_COOKIE, "abc", "/ui", 60, false);
        assert_eq!(
            plain,
            "wharf_session=abc; Path=/ui; Max-Age=60; HttpOnly; SameSite=Strict"
        );
        assert!(set_cookie(SESSION_COOKIE, "abc", "/ui", 60, true).ends_with("; Secure"));
    }

    #[test]
    fn a_cookie_is_found_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; wharf_session=xyz; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn another_origin_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("cp.example:8080"));
        assert!(same_origin(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://cp.example:8080"),
        );
        assert!(same_origin(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(same_origin(&headers).is_err());
    }

    #[test]
    fn back_goes_only_to_ui_paths() {
        let form = Form(vec![("back".into(), "https://evil.example/".into())]);
        assert_eq!(back(&form, "shop", "x"), "/ui/projects/shop?done=x");
        let form = Form(vec![("back".into(), "//evil.example/ui/".into())]);
        assert_eq!(back(&form, "shop", "x"), "/ui/projects/shop?done=x");
        let form = Form(vec![("back".into(), "/ui/builds/1".into())]);
        assert_eq!(back(&form, "shop", "x"), "/ui/builds/1?done=x");
        // Issue 26, finding 6: a control character (from `%7F`) cannot make a Location.
        for bad in ["/ui/x\u{7f}", "/ui/a b", "/ui/x?y=1", "/ui/é"] {
            let form = Form(vec![("back".into(), bad.into())]);
            assert_eq!(
                back(&form, "shop", "x"),
                "/ui/projects/shop?done=x",
                "{bad:?}"
            );
        }
    }
}
