//! The audit trail, filtered and paged.

use super::{Page, details, layout};
use crate::domain::sessions::Session;
use crate::domain::ui_pages::AuditTrailPage;
use crate::domain::wire::AuditFilter;
use crate::http::AppState;
use crate::http::ui::{query_get, query_pairs};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;

pub(in crate::http::ui) async fn show(
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
        let filter = AuditQuery {
            project: query_get(&pairs, "project"),
            user: query_get(&pairs, "user"),
            entity: query_get(&pairs, "entity"),
            action: query_get(&pairs, "action"),
            target: query_get(&pairs, "target"),
            page,
        };
        let trail = state
            .cp
            .overview
            .audit_trail_page(&filter.store_filter())
            .await?;
        Ok(render(&session, &filter, &trail))
    })
}

/// Audit entries per page.
const AUDIT_PAGE_SIZE: i64 = 25;

/// The filters the page was opened with.
struct AuditQuery {
    project: Option<String>,
    user: Option<String>,
    entity: Option<String>,
    action: Option<String>,
    target: Option<String>,
    page: i64,
}

impl AuditQuery {
    fn store_filter(&self) -> AuditFilter {
        AuditFilter {
            start: "1970-01-01T00:00:00.000Z".into(),
            end: None,
            stack_name: self.project.clone(),
            cluster_name: None,
            target: self.target.clone(),
            performed_by: self.user.clone(),
            entities: self.entity.iter().map(|e| e.to_uppercase()).collect(),
            actions: self.action.iter().map(|a| a.to_uppercase()).collect(),
            number: self.page - 1,
            size: AUDIT_PAGE_SIZE,
        }
    }
}

fn audit_link(filter: &AuditQuery, page: i64) -> String {
    let mut url = form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("project", &filter.project),
        ("user", &filter.user),
        ("entity", &filter.entity),
        ("action", &filter.action),
        ("target", &filter.target),
    ] {
        if let Some(value) = value {
            url.append_pair(key, value);
        }
    }
    url.append_pair("page", &page.to_string());
    format!("/ui/audit?{}", url.finish())
}

fn render(session: &Session, filter: &AuditQuery, trail: &AuditTrailPage) -> Page {
    let (entries, projects) = (&trail.entries, &trail.projects);
    let text = |id: &str, label: &str, value: &Option<String>| {
        html! {
            p {
                label for=(id) { (label) }
                input id=(id) name=(id) type="text" value=[value.as_deref()];
            }
        }
    };
    layout(
        Some(session),
        "Audit trail",
        html! {
            h1 { "Audit trail" }
            form.filters method="get" {
                p {
                    label for="project" { "Project" }
                    select #project name="project" {
                        option value="" { "Any" }
                        @for name in projects {
                            option value=(name) selected[filter.project.as_deref() == Some(name.as_str())] { (name) }
                        }
                    }
                }
                (text("user", "Who", &filter.user))
                (text("entity", "Entity (e.g. ARTIFACT)", &filter.entity))
                (text("action", "Action (e.g. ARTIFACT_PROMOTE)", &filter.action))
                (text("target", "Target id", &filter.target))
                p { button type="submit" { "Filter" } }
            }
            p role="status" { (entries.total_elements) " entries · page " (filter.page) " of " (entries.total_pages.max(1)) }
            @if entries.content.is_empty() {
                p { "No entries match." }
            } @else {
                div.scroll {
                    table.list {
                        caption.sr { "Audit entries, newest first" }
                        thead { tr {
                            th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Entity" }
                            th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "Project" } th scope="col" { "Details" }
                        } }
                        tbody {
                            @for entry in &entries.content {
                                tr {
                                    td { time datetime=(entry.performed_at) { (entry.performed_at) } }
                                    td { (entry.performed_by) }
                                    td { (entry.entity) }
                                    td { code { (entry.entity_action) } }
                                    td { @if let Some(target) = &entry.target { code { (target) } } }
                                    td { (entry.stack_name.as_deref().unwrap_or("")) }
                                    td.meta { (details(&entry.metadata)) }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages" {
                @if filter.page > 1 { a rel="prev" href=(audit_link(filter, filter.page - 1)) { "← Newer" } }
                @if !entries.last { a rel="next" href=(audit_link(filter, filter.page + 1)) { "Older →" } }
            }
        },
    )
}
