//! A project's delivery flow: services × stages, what each deploys, pending requests, and the
//! actions the viewer may take on each.

use super::{
    Page, button, csrf, how, layout, notice, secondary, short_digest, shown, tag_of, when,
};
use crate::domain::sessions::Session;
use crate::domain::ui_pages::{CellActions, Decision, FlowPage};
use crate::domain::ui_reads::{Cell, DeliveryFlow};
use crate::http::AppState;
use crate::http::ui::{enc, query_get, query_pairs};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};
use wharf_api::{BRANCH_NAME, PromotionRequest};

pub(in crate::http::ui) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let page = state.cp.overview.flow_page(&session.user, &project).await?;
        let done = query_get(&query_pairs(query), "done");
        Ok(render(&session, &page, done.as_deref()))
    })
}

fn cell(
    session: &Session,
    flow: &DeliveryFlow,
    gates: &FlowPage,
    service: &str,
    stage: &str,
    cell: Option<&Cell>,
) -> Markup {
    let project = &flow.project;
    let next = flow.next(stage);
    let none = CellActions::default();
    let actions = gates
        .cells
        .get(&(service.to_string(), stage.to_string()))
        .unwrap_or(&none);
    let id = |what: &str| format!("why-{what}-{service}-{stage}");
    html! {
        @if let Some(cell) = cell {
            @let build = &cell.build;
            div.image {
                a.tag href={ "/ui/builds/" (enc(&build.id)) } title=(build.artifact_uri) {
                    span.sr { "Image tag " }
                    (tag_of(build))
                }
                @if let Some(digest) = &cell.digest {
                    code.digest title=(digest) { (short_digest(digest)) }
                }
            }
            dl.facts {
                dt { "Age" } dd { (when(&build.created_at)) }
                dt { "By" } dd { (build.created_by) }
                dt { "How" } dd { (how(build)) }
                @if !cell.via.ends_with(stage) {
                    dt { "From" } dd { (cell.via) }
                }
            }
            @if let Some(next) = next {
                @if build.bucket.routed_to() == Some(stage) {
                    @let protected = flow.protections.get(next).is_some_and(|p| p.approvals > 0);
                    @let confirm = flow.protections.contains_key(next).then(|| format!(
                        "Ask to deploy {} to the protected stage {next}?", build.artifact_uri));
                    form method="post" action={ "/ui/projects/" (enc(project)) "/promote" } data-confirm=[confirm] {
                        (csrf(session))
                        input type="hidden" name="service" value=(service);
                        input type="hidden" name="build" value=(build.id);
                        @let label = if protected { format!("Request promotion to {next}") } else { format!("Promote to {next}") };
                        (button(&label, actions.promote.as_deref(), &id("promote")))
                    }
                }
            }
            @let confirm = format!(
                "Roll back {service} in {stage}? {stage} would deploy {} again, instead of {}.",
                actions.rollback_to.as_deref().unwrap_or("its earlier image"), build.artifact_uri);
            form method="post" action={ "/ui/projects/" (enc(project)) "/rollback" } data-confirm=(confirm) {
                (csrf(session))
                input type="hidden" name="service" value=(service);
                input type="hidden" name="stage" value=(stage);
                (secondary("Roll back", actions.rollback.as_deref(), &id("rollback")))
            }
        } @else {
            p.empty { "Nothing deployed" }
        }
        @match actions.attach.as_deref() {
            None => a.action.secondary.attach href={ "/ui/projects/" (enc(project)) "/attach?service=" (enc(service)) "&stage=" (enc(stage)) } { "Attach image…" },
            Some(why) => (secondary("Attach image…", Some(why), &id("attach"))),
        }
    }
}

fn arrow(
    session: &Session,
    flow: &DeliveryFlow,
    gates: &FlowPage,
    service: &str,
    to: &str,
) -> Markup {
    let pending = flow
        .pending
        .iter()
        .enumerate()
        .find(|(_, r)| r.ci_name == service && r.stage == to);
    html! {
        span.arrowhead aria-hidden="true" { "→" }
        @if let Some((index, request)) = pending {
            @let Decision { approve, reject } = gates.decisions.get(index).cloned().unwrap_or_default();
            (pending_box(session, request, approve.as_deref(), reject.as_deref()))
        }
    }
}

fn pending_box(
    session: &Session,
    request: &PromotionRequest,
    approve: Option<&str>,
    reject: Option<&str>,
) -> Markup {
    let id = &request.request_id;
    html! {
        div.pending role="group" aria-label={ "Pending promotion of " (request.ci_name) " to " (request.stage) } {
            p {
                strong { "Waiting for approval" } br;
                (request.approvals.len()) " of " (request.required) " approvals · asked by "
                (request.requested_by) " " (when(&request.requested_at))
            }
            p.small {
                "Image " span.uri { (shown(&request.artifact_uri)) } br;
                "Digest " code.digest title=(request.digest) { (short_digest(&request.digest)) }
            }
            @if !request.eligible_approvers.is_empty() {
                p.small { "May approve: " (request.eligible_approvers.join(", ")) }
            }
            form method="post" action={ "/ui/approvals/" (enc(id)) "/approve" } {
                (csrf(session))
                (button("Approve", approve, &format!("why-approve-{id}")))
            }
            form.reject method="post" action={ "/ui/approvals/" (enc(id)) "/reject" } {
                (csrf(session))
                label for={ "reason-" (id) } { "Reason to reject" }
                input id={ "reason-" (id) } name="reason" type="text" required maxlength="1024" disabled[reject.is_some()];
                (button("Reject", reject, &format!("why-reject-{id}")))
            }
        }
    }
}

fn render(session: &Session, gates: &FlowPage, done: Option<&str>) -> Page {
    let flow = &gates.flow;
    let project = &flow.project;
    let columns: Vec<&String> = flow.stages.iter().chain(flow.others.iter()).collect();
    let write = gates.write.as_deref();
    html! {
        (layout(Some(session), project, html! {
            nav.crumbs aria-label="Breadcrumb" { a href="/ui/projects" { "Projects" } " / " span aria-current="page" { (project) } }
            h1 { "Delivery flow of " (project) }
            p.small { a href={ "/ui/projects/" (enc(project)) "/deliveries" } { "Webhook deliveries" } }
            (notice(done))
            @if let Some(why) = write {
                p.readonly { "You can look, not act here: " (why) }
            }
            @if flow.stages.is_empty() {
                p { "This project has no promotion workflow: stages are shown without arrows." }
            }
            @if flow.services.is_empty() {
                p { "No services yet: add a " code { "[[ci]]" } " to the project file." }
            } @else {
                div.scroll {
                    table.flow {
                        caption { "Services by promotion stage: the image each stage deploys now" }
                        thead {
                            tr {
                                th scope="col" { "Service" }
                                @for (i, stage) in columns.iter().enumerate() {
                                    @if i > 0 && i < flow.stages.len() {
                                        th.arrowcol scope="col" { span.sr { "Promotion from " (columns[i - 1]) " to " (stage) } }
                                    } @else if i > 0 {
                                        th.gap scope="col" { span.sr { "Not a stage of the workflow" } }
                                    }
                                    th scope="col" {
                                        (stage)
                                        @if let Some(rules) = flow.protections.get(stage.as_str()) {
                                            span.badge title="Protected stage" {
                                                "protected"
                                                @if rules.approvals > 0 { " · " (rules.approvals) " approval(s)" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        tbody {
                            @for service in &flow.services {
                                @let name = &service.ci.name;
                                tr {
                                    th scope="row" {
                                        a href={ "/ui/projects/" (enc(project)) "/services/" (enc(name)) } { (name) }
                                        form method="post" action={ "/ui/projects/" (enc(project)) "/reclassify" } {
                                            (csrf(session))
                                            input type="hidden" name="service" value=(name);
                                            (button("Reclassify", write, &format!("why-reclassify-{name}")))
                                        }
                                    }
                                    @for (i, stage) in columns.iter().enumerate() {
                                        @if i > 0 && i < flow.stages.len() {
                                            td.arrowcol { (arrow(session, flow, gates, name, stage)) }
                                        } @else if i > 0 {
                                            td.gap {}
                                        }
                                        td.cell data-stage=(stage) {
                                            span.sr { (name) " in " (stage) ": " }
                                            (cell(session, flow, gates, name, stage, service.cells.get(stage.as_str())))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                section aria-labelledby="unclassified" {
                    h2 #unclassified { "Unclassified builds" }
                    @let any = flow.services.iter().any(|s| !s.unclassified.is_empty());
                    @if !any {
                        p { "None: every build matched a rule or was registered straight to a stage." }
                    } @else {
                        ul {
                            @for service in &flow.services {
                                @for build in &service.unclassified {
                                    li {
                                        (service.ci.name) ": "
                                        a href={ "/ui/builds/" (enc(&build.id)) } { (build.artifact_uri) }
                                        " · " (build.created_by) " · " (when(&build.created_at))
                                        @if let Some(branch) = build.metadata.0.get(BRANCH_NAME) { " · branch " code { (shown(branch)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }))
    }
}
