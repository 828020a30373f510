//! *wharf extension*: the declarative project file, applied whole.

use super::{AppState, Body, Path, Query};
use crate::domain::auth::AuthUser;
use crate::error::{Error, Result};
use axum::extract::State;
use axum::{Extension, Json};
use wharf_api::project_file::{ApplySummary, ProjectFile};

/// `GET /wharf/v1/projects/{project}/status`: what each stage deploys now.
pub async fn status(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<wharf_api::ProjectStatus>> {
    Ok(Json(state.cp.overview.status(&project).await?))
}

/// `GET /wharf/v1/projects`: every project's name.
pub async fn list_projects(State(state): State<AppState>) -> Result<Json<Vec<String>>> {
    Ok(Json(state.cp.overview.project_names().await?))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyQuery {
    /// Work out every change and make none.
    #[serde(default)]
    dry_run: bool,
}

/// `PUT /wharf/v1/projects/{name}[?dryRun=true]` with the project file as JSON.
pub async fn apply_project_file(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(name): Path<String>,
    Query(query): Query<ApplyQuery>,
    Body(file): Body<ProjectFile>,
) -> Result<Json<ApplySummary>> {
    if file.project.name != name {
        return Err(Error::bad_request(format!(
            "field `project.name` ('{}') differs from the path ('{name}')",
            file.project.name
        )));
    }
    Ok(Json(
        state
            .cp
            .catalog
            .apply_project_file(&user, &file, query.dry_run)
            .await?,
    ))
}
