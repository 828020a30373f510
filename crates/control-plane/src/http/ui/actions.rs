//! The forms' actions: each checks the session and its CSRF token, then calls the same domain
//! function as its API endpoint, and goes back to the page it came from with what was done.

use crate::domain::lookups::CiKey;
use crate::domain::promotion::Promoted;
use crate::domain::sessions::Session;
use crate::domain::ui_pages::AttachChoice;
use crate::error::Result;
use crate::http::ui::session::{Form, action};
use crate::http::ui::{enc, error_page_back, logged, plain_ui_path, referring_ui_page};
use crate::http::{AppState, host};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

/// Runs an action: CSRF checked, then `$body` (a `Result<String>`, the page to go to).
macro_rules! act {
    ($state:expr, $headers:expr, $body:expr, |$session:ident, $form:ident| $run:expr) => {{
        let ($session, $form) = match action(&$state, &$headers, &$body).await {
            Ok(done) => done,
            Err(response) => return response,
        };
        let outcome: Result<String> = async { $run }.await;
        let came_from = came_from(&$form, &$headers);
        after(&$session, outcome, came_from)
    }};
}

/// The page at `path`, or an error page naming why the action was refused.
/// Where the action's error page leads back: the form's own page, else the page that sent it.
fn came_from(form: &Form, headers: &HeaderMap) -> Option<String> {
    form.get("back")
        .filter(|path| plain_ui_path(path))
        .map(str::to_string)
        .or_else(|| referring_ui_page(headers))
}

fn after(session: &Session, outcome: Result<String>, came_from: Option<String>) -> Response {
    match outcome {
        Ok(location) => logged(Redirect::to(&location).into_response(), &session.user),
        Err(error) => logged(
            error_page_back(Some(session), &error, came_from.as_deref()),
            &session.user,
        ),
    }
}

fn flow_url(project: &str, done: &str) -> String {
    format!("/ui/projects/{}?done={done}", enc(project))
}

/// Where to go after an action: the page named in the form (a `/ui/` path of plain URL
/// characters, so it always makes a valid `Location`), else the flow.
fn back(form: &Form, project: &str, done: &str) -> String {
    match form.get("back") {
        Some(path) if plain_ui_path(path) => format!("{path}?done={done}"),
        _ => flow_url(project, done),
    }
}

pub(super) async fn promote(
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

pub(super) async fn rollback(
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

pub(super) async fn reclassify(
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

pub(super) async fn attach(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
    body: Bytes,
) -> Response {
    act!(state, headers, body, |session, form| {
        let choice = AttachChoice {
            service: form.required("service")?,
            stage: form.required("stage")?,
            registry: form.get("registry").map(str::to_string),
            uri: form.get("uri").map(str::to_string),
            repository: form.get("repository").map(str::to_string),
            tag: form.get("tag").map(str::to_string),
        };
        let request = state
            .cp
            .overview
            .attach_request(&project, &host(&headers)?, choice)
            .await?;
        state.cp.delivery.attach(&session.user, request).await?;
        Ok(flow_url(&project, "attached"))
    })
}

pub(super) async fn approve(
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

pub(super) async fn reject(
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

pub(super) async fn redeliver(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    act!(state, headers, body, |session, form| {
        state.cp.events.redeliver(&session.user, &id).await?;
        let project = form.required("project")?;
        Ok(back(&form, &project, "redelivered"))
    })
}

/// The Images tab's strategy form: without `confirm`, a dry run shown for confirmation; with
/// it, the change.
pub(super) async fn strategy(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project, service)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (session, form) = match action(&state, &headers, &body).await {
        Ok(done) => done,
        Err(response) => return response,
    };
    let outcome: Result<Response> = async {
        let strategy = form.required("strategy")?;
        let mut change = wharf_api::StrategyChange {
            strategy: strategy.parse().map_err(|e: wharf_api::UnknownValue| {
                crate::error::Error::bad_request(e.to_string())
            })?,
            ..Default::default()
        };
        let routes = form.get("routes").unwrap_or_default().to_string();
        let order = form.get("order").unwrap_or_default().to_string();
        if change.strategy == wharf_api::Strategy::Service {
            let rules = routes
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .enumerate()
                .map(|(i, line)| wharf_api::Criterion::from_rule(line, i))
                .collect::<std::result::Result<Vec<_>, String>>()
                .map_err(crate::error::Error::bad_request)?;
            change.routing_rules = Some(rules);
            change.promotion_order = Some(
                order
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            );
        }
        let confirmed = form.get("confirm") == Some("yes");
        change.dry_run = !confirmed;
        let changed = state
            .cp
            .routing
            .set_strategy(&session.user, &project, &service, &change)
            .await?;
        if !confirmed {
            let fields = [("strategy", strategy), ("routes", routes), ("order", order)];
            let page =
                super::pages::images::confirm(&session, &project, &service, &changed, &fields);
            return Ok(crate::http::ui::html(axum::http::StatusCode::OK, page));
        }
        let to = format!(
            "/ui/projects/{}/services/{}/images?done=strategy",
            enc(&project),
            enc(&service)
        );
        Ok(Redirect::to(&to).into_response())
    }
    .await;
    match outcome {
        Ok(response) => logged(response, &session.user),
        Err(error) => logged(
            error_page_back(
                Some(&session),
                &error,
                came_from(&form, &headers).as_deref(),
            ),
            &session.user,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
