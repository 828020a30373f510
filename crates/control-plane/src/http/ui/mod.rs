//! The web UI under `/ui/`: server-rendered HTML (maud), a little CSS and progressive
//! enhancement JS embedded in the binary, nothing fetched from elsewhere.
//!
//! Authentication is its own: signing in with a username and a personal token opens a
//! server-side session (`domain::sessions`), carried by an `HttpOnly`, `SameSite=Strict`
//! cookie (`Secure` when the server serves TLS). The API's Basic-auth layer does not cover
//! these routes. Every form carries the session's synchronizer CSRF token, and every action
//! calls the same domain function as its API endpoint, so the permissions are the API's.
//! The token is only ever in the sign-in form's POST body: never in a URL, a cookie or a page.
//!
//! `session` signs in and out and checks forms; `pages` holds one file per page, each a handler
//! that makes one domain call (`domain::ui_pages`) and the template that renders its model;
//! `actions` holds the forms' POST handlers. This file wires them and answers errors.

/// Runs a page's body with the session, turning its error into an error page.
macro_rules! page {
    ($state:expr, $headers:expr, |$session:ident| $body:expr) => {{
        let $session = match $crate::http::ui::signed_in(&$state, &$headers).await {
            Ok(session) => session,
            Err(response) => return response,
        };
        let result: $crate::error::Result<maud::Markup> = async { $body }.await;
        let response = match result {
            Ok(markup) => $crate::http::ui::html(axum::http::StatusCode::OK, markup),
            Err(error) => $crate::http::ui::error_page(Some(&$session), &error),
        };
        $crate::http::ui::logged(response, &$session.user)
    }};
}

mod actions;
mod pages;
mod session;

use session::signed_in;

use super::{AppState, LoggedUser};
use crate::domain::auth::AuthUser;
use crate::domain::sessions::Session;
use crate::error::Error;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

/// The form field every POST must carry.
pub const CSRF_FIELD: &str = "csrf";

const CSS: &str = include_str!("assets/ui.css");
const JS: &str = include_str!("assets/ui.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/projects") }))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/assets/ui.css", get(css))
        .route("/assets/ui.js", get(js))
        .route("/projects", get(pages::projects::show))
        .route("/projects/{project}", get(pages::flow::show))
        .route(
            "/projects/{project}/services/{service}",
            get(pages::service::show),
        )
        .route(
            "/projects/{project}/services/{service}/images",
            get(pages::images::show),
        )
        .route(
            "/projects/{project}/services/{service}/strategy",
            post(actions::strategy),
        )
        .route(
            "/projects/{project}/attach",
            get(pages::attach::show).post(actions::attach),
        )
        .route("/projects/{project}/promote", post(actions::promote))
        .route("/projects/{project}/reclassify", post(actions::reclassify))
        .route("/projects/{project}/rollback", post(actions::rollback))
        .route(
            "/projects/{project}/deliveries",
            get(pages::deliveries::show),
        )
        .route("/deliveries/{id}/redeliver", post(actions::redeliver))
        .route("/approvals/{id}/approve", post(actions::approve))
        .route("/approvals/{id}/reject", post(actions::reject))
        .route("/builds/{id}", get(pages::build::show))
        .route("/audit", get(pages::audit::show))
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

pub(super) fn logged(mut response: Response, user: &AuthUser) -> Response {
    response
        .extensions_mut()
        .insert(LoggedUser(user.username.clone()));
    response
}

pub(super) fn html(status: StatusCode, page: maud::Markup) -> Response {
    (status, Html(page.into_string())).into_response()
}

fn status_of(error: &Error) -> StatusCode {
    super::status(error)
}

/// An error as a page (the API answers JSON; the UI answers HTML with the same status).
/// A `/ui/` path of plain URL characters only, so it always makes a valid `Location` or link.
pub(super) fn plain_ui_path(path: &str) -> bool {
    path.starts_with("/ui/")
        && !path.starts_with("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'))
}

/// The UI page of this server that sent the request (its `Referer`), if it was one.
pub(super) fn referring_ui_page(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let rest = referer
        .strip_prefix("https://")
        .or_else(|| referer.strip_prefix("http://"))?;
    let path = rest.strip_prefix(host)?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    plain_ui_path(path).then(|| path.to_string())
}

pub(super) fn error_page(session: Option<&Session>, error: &Error) -> Response {
    error_page_back(session, error, None)
}

/// An error page that leads back to `back`, the page the user was on, when known.
pub(super) fn error_page_back(
    session: Option<&Session>,
    error: &Error,
    back: Option<&str>,
) -> Response {
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
        pages::error(session, status_of(error), &message, back),
    )
}

/// `?key=value&…` of a page.
pub(super) fn query_pairs(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

pub(super) fn query_get(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub(super) fn enc(text: &str) -> String {
    wharf_http::encode(text)
}
