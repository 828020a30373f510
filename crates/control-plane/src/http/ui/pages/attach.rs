//! The attach dialog: an image by URI, or picked from a registry's repositories and tags.

use super::{Page, age, button, csrf, layout, short_digest};
use crate::domain::sessions::Session;
use crate::domain::ui_pages::{AttachPage, Picked};
use crate::http::AppState;
use crate::http::ui::{enc, query_get, query_pairs};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};

pub(in crate::http::ui) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    page!(state, headers, |session| {
        let pairs = query_pairs(query);
        let registry = query_get(&pairs, "registry");
        let repository = query_get(&pairs, "repository");
        let host = crate::http::host(&headers)?;
        let picked = Picked {
            registry: registry.as_deref(),
            repository: repository.as_deref(),
        };
        let page = state
            .cp
            .overview
            .attach_page(&session.user, &project, &host, picked)
            .await?;
        Ok(render(
            &session,
            &AttachView {
                project: &project,
                page: &page,
                service: query_get(&pairs, "service"),
                stage: query_get(&pairs, "stage"),
                registry,
                repository,
            },
        ))
    })
}

/// The page's model, and what the viewer had chosen.
struct AttachView<'a> {
    project: &'a str,
    page: &'a AttachPage,
    service: Option<String>,
    stage: Option<String>,
    registry: Option<String>,
    repository: Option<String>,
}

fn render(session: &Session, view: &AttachView<'_>) -> Page {
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
    let registry_names: Vec<String> = view
        .page
        .registries
        .iter()
        .map(|r| r.name.clone())
        .collect();
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
            @if let Some(why) = view.page.write.as_deref() {
                p.error role="alert" { "Not allowed: " (why) }
            }
            form.steps method="get" {
                (choose("service", "Service", &view.page.services, &view.service))
                (choose("stage", "Stage", &view.page.stages, &view.stage))
                (choose("registry", "Registry", &registry_names, &view.registry))
                @if let Some(listing) = &view.page.repositories {
                    @match listing {
                        Ok(names) if names.is_empty() => p { "This registry holds no tagged repository yet." },
                        Ok(names) => (choose("repository", "Repository", names, &view.repository)),
                        Err(why) => p.error role="alert" { (why) },
                    }
                }
                p { button type="submit" { "Next" } }
            }
            @if let Some(listing) = &view.page.tags {
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
                            p { (button("Attach", view.page.write.as_deref(), "why-attach-tag")) }
                        }
                    },
                    Err(why) => p.error role="alert" { (why) },
                }
            }
            h2 { "Or type the image's URI" }
            form method="post" action=(action) {
                (csrf(session))
                (choose_plain("uri-service", "service", "Service", &view.page.services, &view.service))
                (choose_plain("uri-stage", "stage", "Stage", &view.page.stages, &view.stage))
                p {
                    label for="uri-registry" { "Registry it lives in" }
                    select #uri-registry name="registry" {
                        @for registry in &view.page.registries {
                            option value=(registry.name) selected[view.registry.as_deref() == Some(registry.name.as_str())] { (registry.name) " (" (registry.uri) ")" }
                        }
                    }
                }
                p {
                    label for="uri" { "Image URI" }
                    input #uri name="uri" type="text" required placeholder="registry.example.com/team/api:1.4.2" spellcheck="false";
                }
                p { (button("Attach", view.page.write.as_deref(), "why-attach-uri")) }
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
