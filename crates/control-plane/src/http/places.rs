//! Release streams (Facets paths), environments (*wharf extension*, since Facets creates
//! environments through its cloud calls) and Facets' cluster reads.

use super::{AppState, Body, Path, Query};
use crate::domain::auth::AuthUser;
use crate::error::Result;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use wharf_api::{Cluster, ReleaseStream};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackQuery {
    stack_name: Option<String>,
}

pub async fn list_streams(
    State(state): State<AppState>,
    Query(query): Query<StackQuery>,
) -> Result<Json<Vec<ReleaseStream>>> {
    Ok(Json(
        state
            .cp
            .catalog
            .streams(query.stack_name.as_deref())
            .await?,
    ))
}

/// `POST /cc-ui/v1/release-stream?stackName=` (or `stackName` in the body).
pub async fn create_stream(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Query(query): Query<StackQuery>,
    Body(body): Body<ReleaseStream>,
) -> Result<(StatusCode, Json<ReleaseStream>)> {
    let stream = state
        .cp
        .catalog
        .create_stream(&user, query.stack_name.as_deref(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(stream)))
}

/// `DELETE /cc-ui/v1/release-stream/{name}?stackName=`.
pub async fn delete_stream(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(name): Path<String>,
    Query(query): Query<StackQuery>,
) -> Result<StatusCode> {
    state
        .cp
        .catalog
        .delete_stream(&user, query.stack_name.as_deref(), &name)
        .await?;
    Ok(StatusCode::OK)
}

pub async fn get_cluster(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Cluster>> {
    Ok(Json(state.cp.catalog.cluster(&id).await?))
}

pub async fn clusters_of_project(
    State(state): State<AppState>,
    Path(stack): Path<String>,
) -> Result<Json<Vec<Cluster>>> {
    Ok(Json(state.cp.catalog.clusters(&stack).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct EnvironmentBody {
    release_stream: String,
}

/// `PUT /wharf/v1/projects/{project}/environments/{name}` with `{"releaseStream": …}`.
pub async fn save_environment(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path((project, name)): Path<(String, String)>,
    Body(body): Body<EnvironmentBody>,
) -> Result<(StatusCode, Json<Cluster>)> {
    let (created, cluster) = state
        .cp
        .catalog
        .save_environment(&user, &project, &name, &body.release_stream)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(cluster)))
}

pub async fn delete_environment(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path((project, name)): Path<(String, String)>,
) -> Result<StatusCode> {
    state
        .cp
        .catalog
        .delete_environment(&user, &project, &name)
        .await?;
    Ok(StatusCode::OK)
}
