//! Container registries (Facets' artifactories).

use super::{AppState, Body, Path, host};
use crate::domain::auth::AuthUser;
use crate::error::Result;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use wharf_api::{Artifactory, OtherArtifactoryRequest};

/// `GET /cc-ui/v1/artifactories`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<Artifactory>>> {
    Ok(Json(
        state
            .cp
            .artifactories
            .artifactories(&host(&headers)?, None)
            .await?,
    ))
}

/// `GET /cc-ui/v1/artifactories/stack/{stack}`: every registry serves every project here.
pub async fn of_project(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(stack): Path<String>,
) -> Result<Json<Vec<Artifactory>>> {
    let all = state
        .cp
        .artifactories
        .artifactories(&host(&headers)?, Some(&stack))
        .await?;
    Ok(Json(all))
}

/// `GET /cc-ui/v1/artifactories/name/{name}`.
pub async fn by_name(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Artifactory>> {
    Ok(Json(
        state
            .cp
            .artifactories
            .artifactory(&host(&headers)?, &name)
            .await?,
    ))
}

/// `POST /cc-ui/v1/artifactories/others` (server admins).
pub async fn create_other(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<OtherArtifactoryRequest>,
) -> Result<(StatusCode, Json<Artifactory>)> {
    let created = state
        .cp
        .artifactories
        .create_artifactory(&user, body)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}
