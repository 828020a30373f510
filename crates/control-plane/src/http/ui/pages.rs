//! The UI's pages as maud templates: every value is escaped by maud; nothing here reads the
//! store or decides a permission (the handlers pass what the domain answered).

use super::{CSRF_FIELD, enc};
use crate::domain::overview::{BuildStory, Cell, Flow, Listing, RegistryChoice};
use crate::domain::sessions::Session;
use crate::domain::views::{ArtifactRow, AuditRow, CiRow, Origin, TagRow};
use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};
use wharf_api::{AuditEntry, BRANCH_NAME, Page as AuditPage, PromotionRequest};

/// What the flow page may offer: `None` allowed, `Some(why)` not.
pub struct FlowGates {
    /// Promote, roll back, attach, reclassify (`ARTIFACTS_WRITE`).
    pub write: Option<String>,
    /// For each pending request (in `Flow::pending`'s order): approve, reject.
    pub decisions: Vec<(Option<String>, Option<String>)>,
}

pub struct ServiceView<'a> {
    pub project: &'a str,
    pub ci: &'a CiRow,
    pub builds: &'a [ArtifactRow],
    pub stages: &'a [String],
    pub branches: &'a [String],
    pub stage: Option<&'a str>,
    pub branch: Option<&'a str>,
}

pub struct AuditQuery {
    pub project: Option<String>,
    pub user: Option<String>,
    pub entity: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub page: i64,
}

pub struct AttachView<'a> {
    pub project: &'a str,
    pub services: Vec<String>,
    pub stages: Vec<String>,
    pub service: Option<String>,
    pub stage: Option<String>,
    pub registries: &'a [RegistryChoice],
    pub registry: Option<String>,
    pub repositories: Option<Listing<String>>,
    pub repository: Option<String>,
    pub tags: Option<Listing<TagRow>>,
    pub write: Option<&'a str>,
}

/// Marker type so `Page` reads as a page in signatures.
pub type Page = Markup;

// ---------------------------------------------------------------------------------------------
// Small pieces

/// `sha256:0123456789ab…` → `0123456789ab`.
fn short_digest(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
    hex.chars().take(12).collect()
}

/// The tag an image URI names (after the last `:` of its last path part), or "by digest".
fn tag_of(build: &ArtifactRow) -> String {
    if let Some(tag) = &build.tag {
        return tag.clone();
    }
    let uri = build.artifact_uri.split('@').next().unwrap_or_default();
    let last = uri.rsplit('/').next().unwrap_or_default();
    last.split_once(':')
        .map(|(_, tag)| tag.to_string())
        .unwrap_or_else(|| "by digest".into())
}

/// "5 min ago", from a stored time (`…T…Z`).
fn age(at: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(then) = time::OffsetDateTime::parse(at, &Rfc3339) else {
        return at.to_string();
    };
    let seconds = (time::OffsetDateTime::now_utc() - then)
        .whole_seconds()
        .max(0);
    match seconds {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

fn when(at: &str) -> Markup {
    html! { time datetime=(at) title=(at) { (age(at)) } }
}

/// How a build came to sit where it sits.
fn how(build: &ArtifactRow) -> String {
    match build.origin {
        Origin::Promote => "promoted".into(),
        Origin::Attach => "attached by hand".into(),
        Origin::Rollback => "rolled back".into(),
        Origin::Register => match &build.bucket.applied_rule_name {
            Some(rule) => format!("routed by rule {rule}"),
            None if build.bucket.classified => "registered straight to it".into(),
            None => "matched no rule".into(),
        },
    }
}

fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf); }
}

/// An action's submit button: enabled, or disabled with the reason beside it (read by screen
/// readers through `aria-describedby`, shown on hover and in the page).
fn button(label: &str, refused: Option<&str>, id: &str) -> Markup {
    html! {
        @match refused {
            None => button.action type="submit" { (label) },
            Some(why) => {
                button.action type="submit" disabled aria-describedby=(id) title=(why) { (label) }
                span.reason id=(id) { "Not allowed: " (why) }
            }
        }
    }
}

fn notice(done: Option<&str>) -> Markup {
    let text = match done {
        Some("promoted") => "Promoted.",
        Some("requested") => "Asked for approval: the stage is protected.",
        Some("rolled-back") => "Rolled back.",
        Some("reclassified") => "Reclassified.",
        Some("attached") => "Image attached.",
        Some("approved") => "Approved; more approvals are needed.",
        Some("approved-completed") => "Approved; the promotion is done.",
        Some("rejected") => "Rejected.",
        _ => return html! {},
    };
    html! { p.notice role="status" { (text) } }
}

// ---------------------------------------------------------------------------------------------
// Layout

fn layout(session: Option<&Session>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · wharf" }
                link rel="stylesheet" href="/ui/assets/ui.css";
                script src="/ui/assets/ui.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/ui/projects" { "wharf" }
                    @if let Some(session) = session {
                        nav aria-label="Main" {
                            a href="/ui/projects" { "Projects" }
                            a href="/ui/audit" { "Audit trail" }
                        }
                        form.signout method="post" action="/ui/logout" {
                            (csrf(session))
                            span.who { "Signed in as " strong { (session.user.username) } }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

pub fn error(session: Option<&Session>, status: StatusCode, message: &str) -> Page {
    let title = status.canonical_reason().unwrap_or("Error");
    layout(
        session,
        title,
        html! {
            h1 { (title) }
            p.error role="alert" { (message) }
            p {
                @if session.is_some() {
                    a href="/ui/projects" { "Back to the projects" }
                } @else {
                    a href="/ui/login" { "Sign in" }
                }
            }
        },
    )
}

pub fn login(form_token: &str, problem: Option<&str>) -> Page {
    layout(
        None,
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if let Some(problem) = problem {
                p.error role="alert" { (problem) }
            }
            form.login method="post" action="/ui/login" autocomplete="off" {
                input type="hidden" name=(CSRF_FIELD) value=(form_token);
                p {
                    label for="username" { "Username" }
                    input #username name="username" type="text" required autocomplete="username" autocapitalize="none" spellcheck="false";
                }
                p {
                    label for="token" { "Personal token" }
                    input #token name="token" type="password" required autocomplete="current-password";
                }
                p { button type="submit" { "Sign in" } }
            }
            p.hint {
                "Create a token with " code { "wharf token create" } ". The session lasts "
                (crate::domain::sessions::SESSION_HOURS) " hours at most and ends when you sign "
                "out or the token is revoked."
            }
        },
    )
}

pub fn projects(session: &Session, names: &[String]) -> Page {
    layout(
        Some(session),
        "Projects",
        html! {
            h1 { "Projects" }
            @if names.is_empty() {
                p { "No projects yet: apply a project file with " code { "wharf apply wharf.toml" } "." }
            } @else {
                ul.cards {
                    @for name in names {
                        li { a href={ "/ui/projects/" (enc(name)) } { (name) } }
                    }
                }
            }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The flow

fn cell(
    session: &Session,
    flow: &Flow,
    gates: &FlowGates,
    service: &str,
    stage: &str,
    cell: Option<&Cell>,
) -> Markup {
    let project = &flow.project;
    let next = flow.next(stage);
    let write = gates.write.as_deref();
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
                    form method="post" action={ "/ui/projects/" (enc(project)) "/promote" } {
                        (csrf(session))
                        input type="hidden" name="service" value=(service);
                        input type="hidden" name="build" value=(build.id);
                        @let protected = flow.protections.get(next).is_some_and(|p| p.approvals > 0);
                        @let label = if protected { format!("Request promotion to {next}") } else { format!("Promote to {next}") };
                        (button(&label, write, &id("promote")))
                    }
                }
            }
            form method="post" action={ "/ui/projects/" (enc(project)) "/rollback" } {
                (csrf(session))
                input type="hidden" name="service" value=(service);
                input type="hidden" name="stage" value=(stage);
                (button("Roll back", write, &id("rollback")))
            }
        } @else {
            p.empty { "Nothing deployed" }
        }
        @match write {
            None => a.action.attach href={ "/ui/projects/" (enc(project)) "/attach?service=" (enc(service)) "&stage=" (enc(stage)) } { "Attach image…" },
            Some(why) => (button("Attach image…", Some(why), &id("attach"))),
        }
    }
}

fn arrow(session: &Session, flow: &Flow, gates: &FlowGates, service: &str, to: &str) -> Markup {
    let pending = flow
        .pending
        .iter()
        .enumerate()
        .find(|(_, r)| r.ci_name == service && r.stage == to);
    html! {
        span.arrowhead aria-hidden="true" { "→" }
        @if let Some((index, request)) = pending {
            @let (approve, reject) = gates.decisions.get(index).cloned().unwrap_or_default();
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

pub fn flow(session: &Session, gates: &FlowGates, flow: &Flow, done: Option<&str>) -> Page {
    let project = &flow.project;
    let columns: Vec<&String> = flow.stages.iter().chain(flow.others.iter()).collect();
    let write = gates.write.as_deref();
    html! {
        (layout(Some(session), project, html! {
            nav.crumbs aria-label="Breadcrumb" { a href="/ui/projects" { "Projects" } " / " span aria-current="page" { (project) } }
            h1 { "Delivery flow of " (project) }
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

// ---------------------------------------------------------------------------------------------
// A service's builds, one build

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

pub fn service(session: &Session, view: &ServiceView<'_>) -> Page {
    let project = view.project;
    let name = &view.ci.name;
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
            @if let Some(description) = &view.ci.description { p { (shown(description)) } }
            form.filters method="get" {
                p {
                    label for="stage" { "Environment" }
                    select #stage name="stage" data-autosubmit {
                        option value="" { "Any" }
                        @for stage in view.stages {
                            option value=(stage) selected[view.stage == Some(stage.as_str())] { (stage) }
                        }
                    }
                }
                p {
                    label for="branch" { "Branch" }
                    select #branch name="branch" data-autosubmit {
                        option value="" { "Any" }
                        @for branch in view.branches {
                            option value=(branch) selected[view.branch == Some(branch.as_str())] { (branch) }
                        }
                    }
                }
                p { button type="submit" { "Filter" } }
            }
            @if view.builds.is_empty() {
                p { "No builds match." }
            } @else {
                (builds_table(view.builds))
            }
        },
    )
}

/// Text from a CI or a user, with control characters, ESC and bidirectional overrides shown
/// as escapes, as the CLI shows them (HTML escaping alone leaves them to reorder the page).
fn shown(text: &str) -> String {
    wharf_api::printable::printable(text).into_owned()
}

fn provenance(build: &ArtifactRow, digest: Option<&str>) -> Markup {
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
                            td.meta { (shown(&row.metadata.0.to_string())) }
                        }
                    }
                }
            }
        }
    }
}

pub fn build(
    session: &Session,
    story: &BuildStory,
    next: Option<&str>,
    flow: &Flow,
    write: Option<&str>,
    done: Option<&str>,
) -> Page {
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
            (provenance(build, story.digest.as_deref()))
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

// ---------------------------------------------------------------------------------------------
// The audit trail

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

pub fn audit(
    session: &Session,
    filter: &AuditQuery,
    entries: &AuditPage<AuditEntry>,
    projects: &[String],
) -> Page {
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
                                    td.meta { (shown(&entry.metadata.to_string())) }
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

// ---------------------------------------------------------------------------------------------
// Attach an image

pub fn attach(session: &Session, view: &AttachView<'_>) -> Page {
    let project = view.project;
    let action = format!("/ui/projects/{}/attach", enc(project));
    let choose = |name: &str, label: &str, options: &[String], chosen: &Option<String>| {
        html! {
            p {
                label for=(name) { (label) }
                select id=(name) name=(name) required data-autosubmit {
                    option value="" { "Choose…" }
                    @for option in options {
                        option value=(option) selected[chosen.as_deref() == Some(option.as_str())] { (option) }
                    }
                }
            }
        }
    };
    let hidden = |name: &str, value: &Option<String>| {
        html! { @if let Some(value) = value { input type="hidden" name=(name) value=(value); } }
    };
    let registry_names: Vec<String> = view.registries.iter().map(|r| r.name.clone()).collect();
    layout(
        Some(session),
        "Attach an image",
        html! {
            nav.crumbs aria-label="Breadcrumb" {
                a href="/ui/projects" { "Projects" } " / "
                a href={ "/ui/projects/" (enc(project)) } { (project) } " / "
                span aria-current="page" { "attach an image" }
            }
            h1 { "Attach an image" }
            p { "Pins an image to one stage of one service; no other stage changes." }
            @if let Some(why) = view.write {
                p.error role="alert" { "Not allowed: " (why) }
            }
            form.steps method="get" {
                (choose("service", "Service", &view.services, &view.service))
                (choose("stage", "Stage", &view.stages, &view.stage))
                (choose("registry", "Registry", &registry_names, &view.registry))
                @if let Some(listing) = &view.repositories {
                    @match listing {
                        Ok(names) if names.is_empty() => p { "This registry holds no tagged repository yet." },
                        Ok(names) => (choose("repository", "Repository", names, &view.repository)),
                        Err(why) => p.error role="alert" { (why) },
                    }
                }
                p { button type="submit" { "Next" } }
            }
            @if let Some(listing) = &view.tags {
                @match listing {
                    Ok(tags) if tags.is_empty() => p { "This repository has no tags." },
                    Ok(tags) => {
                        form method="post" action=(action) {
                            (csrf(session))
                            (hidden("service", &view.service))
                            (hidden("stage", &view.stage))
                            (hidden("registry", &view.registry))
                            (hidden("repository", &view.repository))
                            p {
                                label for="tag" { "Tag" }
                                select #tag name="tag" required {
                                    @for tag in tags {
                                        option value=(tag.tag) {
                                            (tag.tag)
                                            @if !tag.digest.is_empty() { " · " (short_digest(&tag.digest)) }
                                            @if !tag.updated_at.is_empty() { " · " (age(&tag.updated_at)) }
                                        }
                                    }
                                }
                            }
                            p { (button("Attach", view.write, "why-attach-tag")) }
                        }
                    },
                    Err(why) => p.error role="alert" { (why) },
                }
            }
            h2 { "Or type the image's URI" }
            form method="post" action=(action) {
                (csrf(session))
                (choose_plain("uri-service", "service", "Service", &view.services, &view.service))
                (choose_plain("uri-stage", "stage", "Stage", &view.stages, &view.stage))
                p {
                    label for="uri-registry" { "Registry it lives in" }
                    select #uri-registry name="registry" {
                        @for registry in view.registries {
                            option value=(registry.name) selected[view.registry.as_deref() == Some(registry.name.as_str())] { (registry.name) " (" (registry.uri) ")" }
                        }
                    }
                }
                p {
                    label for="uri" { "Image URI" }
                    input #uri name="uri" type="text" required placeholder="registry.example.com/team/api:1.4.2" spellcheck="false";
                }
                p { (button("Attach", view.write, "why-attach-uri")) }
            }
        },
    )
}

fn choose_plain(
    id: &str,
    name: &str,
    label: &str,
    options: &[String],
    chosen: &Option<String>,
) -> Markup {
    html! {
        p {
            label for=(id) { (label) }
            select id=(id) name=(name) required {
                option value="" { "Choose…" }
                @for option in options {
                    option value=(option) selected[chosen.as_deref() == Some(option.as_str())] { (option) }
                }
            }
        }
    }
}
