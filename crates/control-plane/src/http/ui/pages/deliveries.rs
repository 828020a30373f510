//! A project's webhooks and their deliveries: status, attempts, the last answer and when, and
//! a Redeliver button.

use super::{Page, button, csrf, layout, notice, when};
use crate::domain::sessions::Session;
use crate::domain::ui_pages::DeliveriesPage;
use crate::http::AppState;
use crate::http::ui::{enc, query_get, query_pairs};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;

pub(in crate::http::ui) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let pairs = query_pairs(query);
        let page = state
            .cp
            .overview
            .deliveries_page(&session.user, &project)
            .await?;
        Ok(render(
            &session,
            &project,
            &page,
            query_get(&pairs, "done").as_deref(),
        ))
    })
}

fn render(session: &Session, project: &str, page: &DeliveriesPage, done: Option<&str>) -> Page {
    let back = format!("/ui/projects/{}/deliveries", enc(project));
    layout(
        Some(session),
        &format!("Webhook deliveries of {project}"),
        html! {
            nav.crumbs aria-label="Breadcrumb" {
                a href="/ui/projects" { "Projects" } " / "
                a href={ "/ui/projects/" (enc(project)) } { (project) } " / "
                span aria-current="page" { "deliveries" }
            }
            (notice(done))
            h1 { "Webhook deliveries of " (project) }
            @if page.webhooks.is_empty() {
                p { "No webhooks: declare them under " code { "[[webhooks]]" } " in wharf.toml (docs/events.md)." }
            }
            ul #webhooks { @for hook in &page.webhooks {
                li {
                    strong { (hook.name) } " → " code { (hook.url) } " · " (hook.events.join(", "))
                    @if let Some(why) = &hook.disabled_reason { " · " span.badge { "disabled" } " " (why) }
                }
            } }
            @if page.deliveries.is_empty() {
                p { "No deliveries yet." }
            } @else {
                div.scroll { table.list #deliveries {
                    caption.sr { "Deliveries, newest first" }
                    thead { tr {
                        th scope="col" { "Event" } th scope="col" { "Webhook" } th scope="col" { "Status" }
                        th scope="col" { "Attempts" } th scope="col" { "Last answer" } th scope="col" { "When" } th scope="col" { "" }
                    } }
                    tbody { @for delivery in &page.deliveries {
                        tr data-delivery=(delivery.id) {
                            td { (delivery.event_type) br; span.small { code { (delivery.event_id.chars().take(12).collect::<String>()) } } }
                            td { (delivery.webhook) }
                            td.status { (delivery.status) }
                            td { (delivery.attempts) }
                            td { @match (delivery.last_status, &delivery.last_error) {
                                (Some(status), _) => { "HTTP " (status) },
                                (None, Some(error)) => { (error) },
                                (None, None) => { "not sent yet" },
                            } }
                            td { @match &delivery.last_attempt_at { Some(at) => (when(at)), None => "—" } }
                            td {
                                form method="post" action={ "/ui/deliveries/" (enc(&delivery.id)) "/redeliver" } {
                                    (csrf(session))
                                    input type="hidden" name="back" value=(back);
                                    input type="hidden" name="project" value=(project);
                                    (button("Redeliver", page.redeliver.as_deref(), &format!("why-redeliver-{}", delivery.id)))
                                }
                            }
                        }
                    } }
                } }
            }
        },
    )
}
