//! Build endpoints beyond registration: promote, reclassify, delete, per-environment views,
//! manual attach, and resolve.

use super::{AppState, Body, Path, Query, promoted};
use crate::domain::auth::AuthUser;
use crate::domain::lookups::CiKey;
use crate::domain::promotion::{
    Attach, EnvironmentBuilds, Reclassified, Resolved, parse_expression,
};
use crate::error::{Error, Result};
use crate::validate::require;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use wharf_api::{Artifact, ArtifactRegisterType, ImageOverrideRequest, RegistrationType};

/// `POST /cc-ui/v1/artifacts/{ciId}/promote/{artifactId}`.
pub async fn promote_by_ci_id(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path((ci_id, artifact_id)): Path<(String, String)>,
) -> Result<Response> {
    let promoted_build = state
        .cp
        .delivery
        .promote(&user, CiKey::Id(&ci_id), &artifact_id)
        .await?;
    Ok(promoted(promoted_build))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromoteQuery {
    ci_name: Option<String>,
    artifact_id: Option<String>,
    stack_name: Option<String>,
}

/// `POST /cc-ui/v1/artifacts/promote?ciName=&artifactId=[&stackName=]`.
pub async fn promote_by_name(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Query(query): Query<PromoteQuery>,
) -> Result<Response> {
    let ci_name = require("ciName", query.ci_name.as_deref())?;
    let artifact_id = require("artifactId", query.artifact_id.as_deref())?;
    let ci = CiKey::Named(&ci_name, query.stack_name.as_deref());
    Ok(promoted(
        state.cp.delivery.promote(&user, ci, &artifact_id).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReclassifyQuery {
    artifact_ci_id: Option<String>,
}

/// `PUT /cc-ui/v1/artifacts/reclassify?artifactCiId=`.
pub async fn reclassify(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Query(query): Query<ReclassifyQuery>,
) -> Result<Json<Reclassified>> {
    let id = require("artifactCiId", query.artifact_ci_id.as_deref())?;
    Ok(Json(state.cp.delivery.reclassify(&user, &id).await?))
}

/// `DELETE /cc-ui/v1/artifacts/{artifactId}`: the record only; the image stays in its registry.
/// Deleting the build a protected stage deploys waits for approvals: 202 with the request,
/// and its id in the request header, as a promotion's.
pub async fn delete(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<Response> {
    match state.cp.delivery.delete_build(&user, &id).await? {
        None => Ok(StatusCode::OK.into_response()),
        Some(request) => Ok(super::pending_request(request)),
    }
}

/// `GET /cc-ui/v1/artifacts/{clusterId}`: the newest build of each application in an
/// environment's own bucket.
pub async fn of_cluster(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EnvironmentBuilds>> {
    Ok(Json(state.cp.delivery.builds_in_environment(&id).await?))
}

/// `GET /cc-ui/v1/artifacts/cluster/{clusterId}/application/{name}`.
pub async fn of_cluster_application(
    State(state): State<AppState>,
    Path((id, application)): Path<(String, String)>,
) -> Result<Json<Artifact>> {
    Ok(Json(
        state
            .cp
            .delivery
            .build_in_environment(&id, &application)
            .await?,
    ))
}

/// `GET /cc-ui/v1/artifacts/cluster/{clusterId}/resourceType/{type}/resourceName/{name}`: every
/// build is a `service` here, named after its application.
pub async fn of_cluster_resource(
    State(state): State<AppState>,
    Path((id, _kind, name)): Path<(String, String, String)>,
) -> Result<Json<Artifact>> {
    Ok(Json(
        state.cp.delivery.build_in_environment(&id, &name).await?,
    ))
}

/// `POST /cc-ui/v1/artifacts/attach-image-via-register`.
pub async fn attach(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<ImageOverrideRequest>,
) -> Result<Json<Artifact>> {
    require("resourceName", body.resource_name.as_deref())?;
    require("resourceType", body.resource_type.as_deref())?;
    let project = require("blueprintName", body.blueprint_name.as_deref())?;
    let ci_name = body
        .ci_name
        .clone()
        .or(body.resource_name.clone())
        .unwrap_or_default();
    let kind = match body.registration_type {
        Some(ArtifactRegisterType::Environment) => RegistrationType::Environment,
        Some(ArtifactRegisterType::ReleaseStream) => RegistrationType::ReleaseStream,
        Some(ArtifactRegisterType::GitRef) | None => {
            return Err(Error::bad_request(
                "field `registrationType` must be ENVIRONMENT (or RELEASE_STREAM): an attach pins \
                 an image to one named bucket",
            ));
        }
    };
    let value = require("registrationValue", body.registration_value.as_deref())?;
    let artifact_uri = match (&body.artifact_uri, &body.repository_name, &body.tag) {
        (Some(uri), _, _) if !uri.trim().is_empty() => uri.trim().to_string(),
        (_, Some(repository), Some(tag)) => format!("{repository}:{tag}"),
        _ => {
            return Err(Error::bad_request(
                "missing field `artifactUri`: give artifactUri, or repositoryName and tag",
            ));
        }
    };
    let request = Attach {
        project,
        ci_name,
        artifact_uri,
        artifactory: body
            .artifactory
            .unwrap_or_else(|| wharf_api::BUILT_IN_ARTIFACTORY.into()),
        repository_name: body.repository_name,
        tag: body.tag,
        kind,
        value,
    };
    Ok(Json(state.cp.delivery.attach(&user, request).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolveQuery {
    stack_name: Option<String>,
    environment: Option<String>,
    ci_name: Option<String>,
    expression: Option<String>,
}

/// `GET /wharf/v1/resolve?stackName=&environment=&(ciName=|expression=)`.
pub async fn resolve(
    State(state): State<AppState>,
    Query(query): Query<ResolveQuery>,
) -> Result<Json<Resolved>> {
    let project = require("stackName", query.stack_name.as_deref())?;
    let environment = require("environment", query.environment.as_deref())?;
    let ci_name = match (&query.ci_name, &query.expression) {
        (Some(name), _) if !name.trim().is_empty() => name.trim().to_string(),
        (_, Some(expression)) => parse_expression(expression)?,
        _ => {
            return Err(Error::bad_request(
                "missing field `ciName`: give ciName or expression",
            ));
        }
    };
    Ok(Json(
        state
            .cp
            .delivery
            .resolve(&project, &environment, &ci_name)
            .await?,
    ))
}

/// `GET /wharf/v1/projects/{project}/environments/{environment}/overrides`.
pub async fn overrides(
    State(state): State<AppState>,
    Path((project, environment)): Path<(String, String)>,
) -> Result<Json<wharf_api::EnvironmentOverrides>> {
    Ok(Json(
        state.cp.delivery.overrides(&project, &environment).await?,
    ))
}

/// `GET /wharf/v1/builds/{id}`: the build, its image's provenance and referrers.
pub async fn details(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<wharf_api::provenance::BuildDetails>> {
    Ok(Json(state.cp.delivery.build_details(&id).await?))
}
