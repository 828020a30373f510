//! Release streams (Facets paths) and environments (*wharf extension*, since Facets creates
//! environments through its cloud calls).

use super::{AppState, Body};
use crate::audit::Audit;
use crate::auth::AuthUser;
use crate::error::{Error, Result, require};
use crate::permissions;
use crate::views::{cluster_view, stream_view};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use wharf_api::{Cluster, ReleaseStream};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackQuery {
    stack_name: Option<String>,
}

fn valid_name(field: &str, name: &str) -> Result<String> {
    let name = require(field, Some(name))?;
    let ok = name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(Error::bad_request(format!(
            "field `{field}` '{name}' is not a valid name: use letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(name)
}

/// `POST /cc-ui/v1/release-stream?stackName=` (or `stackName` in the body).
pub async fn create_stream(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Query(query): Query<StackQuery>,
    Body(body): Body<ReleaseStream>,
) -> Result<(StatusCode, Json<ReleaseStream>)> {
    let project = require(
        "stackName",
        query.stack_name.as_deref().or(body.stack_name.as_deref()),
    )?;
    state.store.project(&project).await?;
    permissions::require(
        &state.store,
        &user,
        &project,
        permissions::RELEASE_STREAM_WRITE,
    )
    .await?;
    let name = valid_name("name", &body.name)?;
    let audit = Audit::new(&user.username, "RELEASE_STREAM", "RELEASE_STREAM_CREATE")
        .target(&name)
        .stack(&project)
        .meta("prod", body.prod);
    state
        .store
        .insert_stream(
            &project,
            &name,
            body.description.as_deref(),
            body.prod,
            &user.username,
            audit,
        )
        .await?;
    let stream = state
        .store
        .streams(&project)
        .await?
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::Internal("stream vanished".into()))?;
    Ok((StatusCode::CREATED, Json(stream_view(&stream))))
}

/// `DELETE /cc-ui/v1/release-stream/{name}?stackName=`.
pub async fn delete_stream(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(name): Path<String>,
    Query(query): Query<StackQuery>,
) -> Result<StatusCode> {
    let project = require("stackName", query.stack_name.as_deref())?;
    state.store.project(&project).await?;
    permissions::require(
        &state.store,
        &user,
        &project,
        permissions::RELEASE_STREAM_DELETE,
    )
    .await?;
    let audit = Audit::new(&user.username, "RELEASE_STREAM", "RELEASE_STREAM_DELETE")
        .target(&name)
        .stack(&project);
    state.store.delete_stream(&project, &name, audit).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    state.store.project(&project).await?;
    permissions::require(
        &state.store,
        &user,
        &project,
        permissions::ENVIRONMENT_WRITE,
    )
    .await?;
    let name = valid_name("name", &name)?;
    let stream = require("releaseStream", Some(&body.release_stream))?;
    if !state.store.stream_exists(&project, &stream).await? {
        return Err(Error::bad_request(format!(
            "field `releaseStream` '{stream}' is not a release stream of project '{project}'"
        )));
    }
    let existed = state.store.environment(&project, &name).await?.is_some();
    let action = if existed {
        "ENVIRONMENT_UPDATE"
    } else {
        "ENVIRONMENT_CREATE"
    };
    let audit = Audit::new(&user.username, "ENVIRONMENT", action)
        .target(&name)
        .stack(&project)
        .meta("releaseStream", &stream);
    let created = state
        .store
        .save_environment(&project, &name, &stream, audit)
        .await?;
    let env = state
        .store
        .environment(&project, &name)
        .await?
        .ok_or_else(|| Error::Internal("environment vanished".into()))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(cluster_view(&env))))
}

pub async fn delete_environment(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path((project, name)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.store.project(&project).await?;
    permissions::require(
        &state.store,
        &user,
        &project,
        permissions::ENVIRONMENT_DELETE,
    )
    .await?;
    let env = state
        .store
        .environment(&project, &name)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "environment '{name}' not found in project '{project}'"
            ))
        })?;
    let audit = Audit::new(&user.username, "ENVIRONMENT", "ENVIRONMENT_DELETE")
        .target(&name)
        .stack(&project);
    state.store.delete_environment(&env.id, audit).await?;
    Ok(StatusCode::OK)
}
