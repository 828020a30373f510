//! The UI's pages, one file each: a handler that makes one domain call and renders the model it
//! answers, as a maud template (every value is escaped by maud). Here: the layout and the small
//! pieces every page uses. Nothing in `pages` reads the store or decides a permission.

use crate::domain::sessions::Session;
use crate::domain::wire::ArtifactRow;
use crate::http::ui::CSRF_FIELD;
use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

pub(super) mod attach;
pub(super) mod audit;
pub(super) mod build;
pub(super) mod deliveries;
pub(super) mod flow;
pub(super) mod images;
pub(super) mod projects;
pub(super) mod service;

/// Marker type so `Page` reads as a page in signatures.
pub type Page = Markup;

/// `sha256:0123456789ab…` → `0123456789ab`.
pub(super) fn short_digest(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
    hex.chars().take(12).collect()
}

/// The tag an image URI names (after the last `:` of its last path part), or "by digest".
pub(super) fn tag_of(build: &ArtifactRow) -> String {
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
pub(super) fn age(at: &str) -> String {
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

pub(super) fn when(at: &str) -> Markup {
    html! { time datetime=(at) title=(at) { (age(at)) } }
}

/// How a build came to sit where it sits.
pub(super) fn how(build: &ArtifactRow) -> String {
    crate::domain::ui_reads::how_it_got_there(build)
}

/// An audit entry's details as a small table of names and values, never raw JSON: nested
/// values are shown compactly, every value escaped as the CLI shows it.
pub(super) fn details(metadata: &serde_json::Value) -> Markup {
    let Some(fields) = metadata.as_object().filter(|f| !f.is_empty()) else {
        return html! {};
    };
    html! {
        dl.details {
            @for (name, value) in fields {
                @if !value.is_null() {
                    dt { (name) }
                    dd {
                        @match value {
                            serde_json::Value::String(text) => (shown(text)),
                            serde_json::Value::Array(items) => {
                                (shown(&items.iter().map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string())).collect::<Vec<_>>().join(", ")))
                            }
                            other => (shown(&other.to_string())),
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf); }
}

/// An action's submit button: enabled, or disabled with the reason beside it (read by screen
/// readers through `aria-describedby`, shown on hover and in the page).
pub(super) fn button(label: &str, refused: Option<&str>, id: &str) -> Markup {
    button_of(label, refused, id, true)
}

/// A secondary action's button: the same, drawn quieter than the cell's one primary action.
pub(super) fn secondary(label: &str, refused: Option<&str>, id: &str) -> Markup {
    button_of(label, refused, id, false)
}

fn button_of(label: &str, refused: Option<&str>, id: &str, primary: bool) -> Markup {
    html! {
        @match refused {
            None => button.action.primary[primary].secondary[!primary] type="submit" { (label) },
            Some(why) => {
                button.action.primary[primary].secondary[!primary] type="submit" disabled aria-describedby=(id) title=(why) { (label) }
                span.reason id=(id) { "Not now: " (why) }
            }
        }
    }
}

pub(super) fn notice(done: Option<&str>) -> Markup {
    let text = match done {
        Some("promoted") => "Promoted.",
        Some("requested") => "Asked for approval: the stage is protected.",
        Some("rolled-back") => "Rolled back.",
        Some("reclassified") => "Reclassified.",
        Some("attached") => "Image attached.",
        Some("approved") => "Approved; more approvals are needed.",
        Some("approved-completed") => "Approved; the promotion is done.",
        Some("rejected") => "Rejected.",
        Some("redelivered") => "Queued to be sent again.",
        _ => return html! {},
    };
    html! { p.notice role="status" { (text) } }
}

pub(super) fn layout(session: Option<&Session>, title: &str, body: Markup) -> Markup {
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

/// Text from a CI or a user, with control characters, ESC and bidirectional overrides shown
/// as escapes, as the CLI shows them (HTML escaping alone leaves them to reorder the page).
pub(super) fn shown(text: &str) -> String {
    wharf_api::printable::printable(text).into_owned()
}

pub(crate) fn error(
    session: Option<&Session>,
    status: StatusCode,
    message: &str,
    back: Option<&str>,
) -> Page {
    let title = status.canonical_reason().unwrap_or("Error");
    layout(
        session,
        title,
        html! {
            h1 { (title) }
            p.error role="alert" { (message) }
            p {
                @if let (Some(_), Some(back)) = (session, back) {
                    a href=(back) { "Back to where you were" }
                    " · "
                    a href="/ui/projects" { "the projects" }
                } @else if session.is_some() {
                    a href="/ui/projects" { "Back to the projects" }
                } @else {
                    a href="/ui/login" { "Sign in" }
                }
            }
        },
    )
}

pub(crate) fn login(form_token: &str, problem: Option<&str>) -> Page {
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
