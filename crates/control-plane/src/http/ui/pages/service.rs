//! A service's builds, filtered by stage and branch.

use super::{Page, how, layout, shown, when};
use crate::domain::sessions::Session;
use crate::domain::ui_pages::ServicePage;
use crate::domain::wire::ArtifactRow;
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
    Path((project, service)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let pairs = query_pairs(query);
        let stage = query_get(&pairs, "stage");
        let branch = query_get(&pairs, "branch");
        let page = state
            .cp
            .overview
            .service_page(&project, &service, stage.as_deref(), branch.as_deref())
            .await?;
        Ok(render(
            &session,
            &ServiceView {
                project: &project,
                page: &page,
                stage: stage.as_deref(),
                branch: branch.as_deref(),
            },
        ))
    })
}

/// The page's model, and the filters it was opened with.
struct ServiceView<'a> {
    project: &'a str,
    page: &'a ServicePage,
    stage: Option<&'a str>,
    branch: Option<&'a str>,
}

fn builds_table(builds: &[ArtifactRow]) -> Markup {
    html! {
        div.scroll {
            table.list {
                caption.sr { "Builds, newest first" }
                thead { tr {
                    th scope="col" { "Build" } th scope="col" { "Image" } th scope="col" { "Where" }
                    th scope="col" { "Branch" } th scope="col" { "Commit" } th scope="col" { "By" } th scope="col" { "When" }
                } }
                tbody {
                    @for build in builds {
                        tr {
                            td { a href={ "/ui/builds/" (enc(&build.id)) } { code { (build.id.chars().take(8).collect::<String>()) } } }
                            td.uri { (build.artifact_uri) }
                            td { (build.bucket.routed_to().unwrap_or("unclassified")) br; span.small { (how(build)) } }
                            td { (shown(build.metadata.0.get(BRANCH_NAME).map(String::as_str).unwrap_or("—"))) }
                            td { code { (shown(&build.metadata.0.get("COMMIT_SHA").map(|c| c.chars().take(10).collect::<String>()).unwrap_or_else(|| "—".into()))) } }
                            td { (build.created_by) }
                            td { (when(&build.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

fn render(session: &Session, view: &ServiceView<'_>) -> Page {
    let project = view.project;
    let name = &view.page.ci.name;
    layout(
        Some(session),
        name,
        html! {
            nav.crumbs aria-label="Breadcrumb" {
                a href="/ui/projects" { "Projects" } " / "
                a href={ "/ui/projects/" (enc(project)) } { (project) } " / "
                span aria-current="page" { (name) }
            }
            h1 { "Builds of " (name) }
            p { a href={ "/ui/projects/" (enc(project)) "/services/" (enc(name)) "/images" } { "Images: its strategy, and the image each environment deploys" } }
            @if let Some(description) = &view.page.ci.description { p { (shown(description)) } }
            form.filters method="get" {
                p {
                    label for="stage" { "Environment" }
                    select #stage name="stage" data-autosubmit {
                        option value="" { "Any" }
                        @for stage in &view.page.stages {
                            option value=(stage) selected[view.stage == Some(stage.as_str())] { (stage) }
                        }
                    }
                }
                p {
                    label for="branch" { "Branch" }
                    select #branch name="branch" data-autosubmit {
                        option value="" { "Any" }
                        @for branch in &view.page.branches {
                            option value=(branch) selected[view.branch == Some(branch.as_str())] { (branch) }
                        }
                    }
                }
                p { button type="submit" { "Filter" } }
            }
            @if view.page.builds.is_empty() {
                p { "No builds match." }
            } @else {
                (builds_table(&view.page.builds))
            }
        },
    )
}
