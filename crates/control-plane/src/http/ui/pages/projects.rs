//! The projects the viewer can open.

use super::{Page, layout};
use crate::domain::sessions::Session;
use crate::http::AppState;
use crate::http::ui::enc;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;

pub(in crate::http::ui) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    page!(state, headers, |session| {
        let names = state.cp.overview.project_names().await?;
        Ok(render(&session, &names))
    })
}

fn render(session: &Session, names: &[String]) -> Page {
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
