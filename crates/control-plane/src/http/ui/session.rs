//! Signing in and out, the session cookie, and the checks every form passes (same origin, the
//! CSRF token, a size limit).

use crate::domain::sessions::{SESSION_HOURS, Session, random_secret};
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::ui::pages;
use crate::http::ui::{CSRF_FIELD, error_page, html, logged};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "wharf_session";

/// The sign-in form's own CSRF cookie (there is no session yet to tie a token to).
pub const LOGIN_COOKIE: &str = "wharf_login";

/// Largest form accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The value of cookie `name` in the request, if sent.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
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

pub(super) fn secure(state: &AppState) -> bool {
    state.tls
}

/// The signed-in session, if the request carries a live one.
pub(super) async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, Session)>> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(state.cp.identity.session(&id).await?.map(|s| (id, s)))
}

/// A page that needs a session: the session, or a redirect to the sign-in page.
pub(super) async fn signed_in(
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
pub(super) struct Form(pub(super) Vec<(String, String)>);

impl Form {
    pub(super) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self> {
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

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn required(&self, key: &str) -> Result<String> {
        self.get(key)
            .map(str::to_string)
            .ok_or_else(|| Error::bad_request(format!("the form lacks `{key}`")))
    }
}

/// Refuses a request whose `Origin` (when sent) is not this server: a form posted from
/// another site.
pub(super) fn same_origin(headers: &HeaderMap) -> Result<()> {
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

pub(super) async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
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

pub(super) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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

pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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

/// An action's POST: the session, and its form once the CSRF token checked out.
pub(super) async fn action(
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
}
