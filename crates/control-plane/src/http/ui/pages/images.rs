//! A service's Images tab: its strategy (project, service, manual) with an edit control, what
//! it follows beside the project's, and every environment with the image it deploys now and
//! an Attach action.

use super::{Page, age, button, csrf, layout, short_digest, shown};
use crate::domain::sessions::Session;
use crate::domain::ui_pages::ImagesPage;
use crate::http::AppState;
use crate::http::ui::{enc, query_get, query_pairs};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};
use wharf_api::{ClosedSet, Criterion, Strategy, StrategyChanged};

pub(in crate::http::ui) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project, service)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let pairs = query_pairs(query);
        let page = state
            .cp
            .overview
            .images_page(&session.user, &project, &service)
            .await?;
        Ok(render(
            &session,
            &project,
            &page,
            query_get(&pairs, "done").as_deref(),
        ))
    })
}

fn criteria(criteria: &[Criterion]) -> Markup {
    html! {
        @if criteria.is_empty() { p { "No branch rules: every build it registers stays unclassified." } }
        @else {
            ul { @for c in criteria {
                li { code { (shown(&c.describe())) } }
            } }
        }
    }
}

fn order(stages: &[String]) -> Markup {
    html! {
        @if stages.is_empty() { p { "No promotion order." } }
        @else { p { (stages.join(" → ")) } }
    }
}

fn render(session: &Session, project: &str, page: &ImagesPage, done: Option<&str>) -> Page {
    let service = &page.ci.name;
    let view = &page.strategy;
    let action = format!(
        "/ui/projects/{}/services/{}/strategy",
        enc(project),
        enc(service)
    );
    let routes: Vec<String> = view.routing_rules.iter().map(Criterion::rule).collect();
    layout(
        Some(session),
        &format!("Images of {service}"),
        html! {
            nav.crumbs aria-label="Breadcrumb" {
                a href="/ui/projects" { "Projects" } " / "
                a href={ "/ui/projects/" (enc(project)) } { (project) } " / "
                a href={ "/ui/projects/" (enc(project)) "/services/" (enc(service)) } { (service) } " / "
                span aria-current="page" { "images" }
            }
            @if done == Some("strategy") { p.notice role="status" { "Strategy changed." } }
            @if done == Some("attached") { p.notice role="status" { "Image attached." } }
            h1 { "Images of " (service) }
            h2 { "Strategy: " span #strategy { (view.strategy.name()) } }
            p { (view.meaning) "." }
            form method="post" action=(action) {
                (csrf(session))
                p {
                    label for="strategy-choice" { "Strategy" }
                    select #strategy-choice name="strategy" {
                        @for choice in Strategy::ALL {
                            option value=(choice.name()) selected[*choice == view.strategy] {
                                (choice.name()) " — " (choice.meaning())
                            }
                        }
                    }
                }
                p {
                    label for="routes" { "Its own branch rules (service only), one per line: OPERATOR:VALUE=STAGE" }
                    textarea #routes name="routes" rows="3" spellcheck="false" { (routes.join("\n")) }
                }
                p {
                    label for="order" { "Its own promotion order (service only), stages separated by commas" }
                    input #order name="order" type="text" spellcheck="false" value=(view.promotion_order.join(","));
                }
                p { (button("Review the change", page.configure.as_deref(), "why-strategy")) }
            }
            @if view.strategy == Strategy::Service {
                div.columns {
                    section { h3 { "Its own branch rules" } (criteria(&view.routing_rules)) h3 { "Its own promotion order" } (order(&view.promotion_order)) }
                    section {
                        h3 { "The project's branch rules" } (criteria(view.project_routing_rules.as_deref().unwrap_or_default()))
                        h3 { "The project's promotion order" } (order(view.project_promotion_order.as_deref().unwrap_or_default()))
                    }
                }
            } @else if view.strategy == Strategy::Project {
                h3 { "The project's branch rules" } (criteria(&view.routing_rules))
                h3 { "The project's promotion order" } (order(&view.promotion_order))
            }
            h2 { "Environments" }
            div.scroll { table.list #environments {
                caption.sr { "Each environment and the image it deploys" }
                thead { tr { th scope="col" { "Environment" } th scope="col" { "Image now" } th scope="col" { "" } } }
                tbody { @for env in &page.environments {
                    tr data-environment=(env.environment) {
                        td { (env.environment) @if env.protected { " " span.badge { "protected" } } br; span.small { "stream " (env.release_stream) } }
                        td {
                            @match &env.deployed {
                                Some((build, from)) => {
                                    code.uri { (build.artifact_uri) }
                                    br; span.small { (short_digest(build.artifact_uri.rsplit('@').next().unwrap_or_default())) " · " (age(&build.created_at)) " · " (from) }
                                },
                                None => span.small { "nothing attached" },
                            }
                        }
                        td {
                            @match env.attach.as_deref() {
                                None => a.button href={ "/ui/projects/" (enc(project)) "/attach?service=" (enc(service)) "&stage=" (enc(&env.environment)) } { "Attach" },
                                Some(why) => { button type="button" disabled aria-describedby={ "why-attach-" (env.environment) } { "Attach" } " " span.small id={ "why-attach-" (env.environment) } { (why) } },
                            }
                        }
                    }
                } }
            } }
        },
    )
}

/// The confirmation of a strategy change: what would change (a dry run), and the button that
/// makes it.
pub(in crate::http::ui) fn confirm(
    session: &Session,
    project: &str,
    service: &str,
    changed: &StrategyChanged,
    fields: &[(&str, String)],
) -> Page {
    let action = format!(
        "/ui/projects/{}/services/{}/strategy",
        enc(project),
        enc(service)
    );
    layout(
        Some(session),
        "Confirm the strategy change",
        html! {
            h1 { "Switch " (service) " to " (changed.after.strategy.name()) "?" }
            p { "Nothing has changed yet. This is what the switch does:" }
            ul #changes { @for change in &changed.changes { li { (change) } } }
            form method="post" action=(action) {
                (csrf(session))
                @for (name, value) in fields { input type="hidden" name=(name) value=(value); }
                input type="hidden" name="confirm" value="yes";
                p { button type="submit" #confirm-strategy { "Switch to " (changed.after.strategy.name()) } " "
                    a href={ "/ui/projects/" (enc(project)) "/services/" (enc(service)) "/images" } { "Cancel" } }
            }
        },
    )
}
