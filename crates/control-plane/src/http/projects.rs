//! *wharf extension*: the declarative project file, applied whole.

use super::{AppState, Body, Path};
use crate::domain::auth::AuthUser;
use crate::error::{Error, Result};
use axum::extract::State;
use axum::{Extension, Json};
use wharf_api::project_file::{ApplySummary, ProjectFile};

/// `PUT /wharf/v1/projects/{name}` with the project file as JSON.
pub async fn apply_project_file(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(name): Path<String>,
    Body(file): Body<ProjectFile>,
) -> Result<Json<ApplySummary>> {
    if file.project.name != name {
        return Err(Error::bad_request(format!(
            "field `project.name` ('{}') differs from the path ('{name}')",
            file.project.name
        )));
    }
    Ok(Json(
        state.cp.catalog.apply_project_file(&user, &file).await?,
    ))
}
