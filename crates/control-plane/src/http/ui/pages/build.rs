//! One build: its provenance, where it came from and went, its requests and audit entries.

use super::{Page, button, csrf, details, how, layout, notice, shown, tag_of, when};
use crate::domain::sessions::Session;
use crate::domain::ui_pages::BuildPage;
use crate::domain::wire::{ArtifactRow, AuditRow};
use crate::http::AppState;
use crate::http::ui::{enc, query_get, query_pairs};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};
use wharf_api::BRANCH_NAME;

pub(in crate::http::ui) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let page = state.cp.overview.build_page(&session.user, &id).await?;
        let done = query_get(&query_pairs(query), "done");
        Ok(render(&session, &page, done.as_deref()))
    })
}

/// What was recorded about the image's build (SLSA provenance), and whether the job's identity
/// token confirmed it.
fn statement(recorded: Option<&wharf_api::provenance::BuildProvenance>) -> Markup {
    html! {
        @match recorded {
            None => { dt { "Provenance" } dd { "none recorded" } }
            Some(p) => {
                dt { "Provenance" } dd { "SLSA v1, " strong { (p.verification.as_str()) }
                    @if !p.checked.is_empty() { " (" (p.checked.join(", ")) ")" } }
                @if let Some(builder) = &p.builder_id { dt { "Builder" } dd { code { (shown(builder)) } } }
            }
        }
    }
}

fn provenance(
    build: &ArtifactRow,
    digest: Option<&str>,
    recorded: Option<&wharf_api::provenance::BuildProvenance>,
) -> Markup {
    let meta = &build.metadata.0;
    let url = meta
        .get("BUILD_URL")
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    html! {
        dl.props {
            dt { "Image" } dd.uri { (shown(&build.artifact_uri)) }
            @if let Some(digest) = digest { dt { "Digest" } dd { code { (digest) } } }
            dt { "Registry" } dd { (shown(&build.artifactory)) }
            dt { "Where" } dd { (build.bucket.routed_to().unwrap_or("unclassified")) " (" (how(build)) ")" }
            dt { "By" } dd { (build.created_by) " · " (when(&build.created_at)) }
            @if let Some(external) = &build.external_id { dt { "CI run" } dd { code { (shown(external)) } } }
            @if let Some(branch) = meta.get(BRANCH_NAME) { dt { "Branch" } dd { code { (shown(branch)) } } }
            @if let Some(commit) = meta.get("COMMIT_SHA") { dt { "Commit" } dd { code { (shown(commit)) } } }
            @if let Some(pr) = meta.get("PR_NUMBER") { dt { "Pull request" } dd { "#" (shown(pr)) } }
            @if let Some(tag) = meta.get("TAG") { dt { "Git tag" } dd { code { (shown(tag)) } } }
            @if let Some(url) = url { dt { "Build" } dd { a href=(url) rel="noopener noreferrer" { (shown(url)) } } }
            @if let Some(provider) = meta.get("CI_PROVIDER") { dt { "CI" } dd { (shown(provider)) } }
            @if let Some(description) = &build.description { dt { "Description" } dd { (shown(description)) } }
            (statement(recorded))
        }
    }
}

fn audit_rows(rows: &[AuditRow]) -> Markup {
    html! {
        div.scroll {
            table.list {
                thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Action" } th scope="col" { "Details" } } }
                tbody {
                    @for row in rows {
                        tr {
                            td { (when(&row.performed_at)) }
                            td { (row.performed_by) }
                            td { code { (row.entity_action) } }
                            td.meta { (details(&row.metadata.0)) }
                        }
                    }
                }
            }
        }
    }
}

fn render(session: &Session, page: &BuildPage, done: Option<&str>) -> Page {
    let (story, flow) = (&page.story, &page.flow);
    let (next, write) = (page.next.as_deref(), page.write.as_deref());
    let build = &story.build;
    let project = &build.project;
    let service = &story.ci.name;
    let back = format!("/ui/builds/{}", enc(&build.id));
    layout(
        Some(session),
        &format!("Build {}", build.id),
        html! {
            nav.crumbs aria-label="Breadcrumb" {
                a href="/ui/projects" { "Projects" } " / "
                a href={ "/ui/projects/" (enc(project)) } { (project) } " / "
                a href={ "/ui/projects/" (enc(project)) "/services/" (enc(service)) } { (service) } " / "
                span aria-current="page" { "build " (build.id.chars().take(8).collect::<String>()) }
            }
            h1 { "Build of " (service) ": " (tag_of(build)) }
            (notice(done))
            h2 { "Provenance" }
            (provenance(build, story.digest.as_deref(), story.provenance.as_ref()))
            @if let Some(next) = next {
                form method="post" action={ "/ui/projects/" (enc(project)) "/promote" } {
                    (csrf(session))
                    input type="hidden" name="service" value=(service);
                    input type="hidden" name="build" value=(build.id);
                    input type="hidden" name="back" value=(back);
                    @let protected = flow.protections.get(next).is_some_and(|p| p.approvals > 0);
                    @let label = if protected { format!("Request promotion to {next}") } else { format!("Promote to {next}") };
                    (button(&label, write, "why-promote"))
                }
            }
            h2 { "Promotion history" }
            ol.history {
                @for row in story.ancestors.iter().rev() {
                    li { a href={ "/ui/builds/" (enc(&row.id)) } { (row.bucket.routed_to().unwrap_or("unclassified")) } " · " (how(row)) " by " (row.created_by) " " (when(&row.created_at)) }
                }
                li aria-current="true" { strong { (build.bucket.routed_to().unwrap_or("unclassified")) } " · " (how(build)) " by " (build.created_by) " " (when(&build.created_at)) " (this build)" }
                @for row in &story.descendants {
                    li { a href={ "/ui/builds/" (enc(&row.id)) } { (row.bucket.routed_to().unwrap_or("unclassified")) } " · " (how(row)) " by " (row.created_by) " " (when(&row.created_at)) }
                }
            }
            @if !story.requests.is_empty() {
                h2 { "Promotion requests" }
                ul {
                    @for request in &story.requests {
                        li { (request.kind.to_lowercase()) " to " (request.stage) ": " strong { (request.status.to_lowercase()) }
                            " · asked by " (request.requested_by) " " (when(&request.requested_at))
                            @if let Some(reason) = &request.reason { " · " (reason) } }
                    }
                }
            }
            h2 { "Audit entries" }
            @if story.audit.is_empty() { p { "None." } } @else { (audit_rows(&story.audit)) }
            p { a href={ "/ui/audit?target=" (enc(&build.id)) } { "In the audit trail" } }
        },
    )
}
