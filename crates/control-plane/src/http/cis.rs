//! CI integration endpoints, and how a CI follows the project's rule and workflow
//! (`/ci-cd/attach`, `/ci-cd/detach`, bulk workflow edits).

use super::{AppState, Body, Path, Query};
use crate::domain::auth::AuthUser;
use crate::domain::wire::BuildFilter;
use crate::domain::wire::ci_view;
use crate::error::Result;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use wharf_api::{
    ArtifactCI, BulkEditWorkflowRequest, CiArtifactResponse, CiAttachRequest, CiCustomCiCdRequest,
    CiCustomCiCdResponse, CiMode, ServiceStrategy, StrategyChange, StrategyChanged,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiQuery {
    stack_name: Option<String>,
    limit: Option<i64>,
    routed_to: Option<String>,
    external_id: Option<String>,
    classified: Option<bool>,
    promoted: Option<bool>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<CiQuery>,
) -> Result<Json<Vec<ArtifactCI>>> {
    Ok(Json(
        state.cp.routing.cis(query.stack_name.as_deref()).await?,
    ))
}

pub async fn of_project(
    State(state): State<AppState>,
    Path(stack): Path<String>,
) -> Result<Json<Vec<ArtifactCI>>> {
    Ok(Json(state.cp.routing.cis_of_project(&stack).await?))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<ArtifactCI>,
) -> Result<(StatusCode, Json<ArtifactCI>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.cp.routing.create_ci(&user, body).await?),
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ArtifactCI>> {
    Ok(Json(ci_view(&state.cp.lookups.ci_by_id(&id).await?)))
}

pub async fn by_name(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<CiQuery>,
) -> Result<Json<ArtifactCI>> {
    let ci = state
        .cp
        .lookups
        .ci_named(&name, query.stack_name.as_deref())
        .await?;
    Ok(Json(ci_view(&ci)))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
    Body(body): Body<ArtifactCI>,
) -> Result<Json<ArtifactCI>> {
    Ok(Json(state.cp.routing.update_ci(&user, &id, body).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<Json<ArtifactCI>> {
    Ok(Json(state.cp.routing.delete_ci(&user, &id).await?))
}

pub async fn builds(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<CiQuery>,
) -> Result<Json<Vec<CiArtifactResponse>>> {
    let limit = super::list_limit(query.limit, 100)?;
    let filter = BuildFilter {
        routed_to: query.routed_to,
        external_id: query.external_id,
        classified: query.classified,
        promoted: query.promoted,
        limit,
    };
    let builds = state
        .cp
        .routing
        .builds_of_ci(&name, query.stack_name.as_deref(), &filter)
        .await?;
    Ok(Json(builds))
}

/// `PUT /ci-cd/attach`: the CI follows the project's default rule and workflow; created when
/// missing.
pub async fn attach(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<CiAttachRequest>,
) -> Result<Json<ArtifactCI>> {
    Ok(Json(
        state
            .cp
            .routing
            .follow(&user, &body, CiMode::Inherited)
            .await?,
    ))
}

/// `PUT /ci-cd/detach`: the CI follows no rule (its builds stay unclassified) and no workflow.
pub async fn detach(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<CiAttachRequest>,
) -> Result<Json<ArtifactCI>> {
    Ok(Json(
        state.cp.routing.follow(&user, &body, CiMode::None).await?,
    ))
}

/// `POST /artifacts-ci/bulk-edit-workflow`: these CIs promote along this workflow.
pub async fn bulk_edit(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<BulkEditWorkflowRequest>,
) -> Result<Json<Vec<ArtifactCI>>> {
    Ok(Json(
        state.cp.routing.bulk_edit_workflow(&user, &body).await?,
    ))
}

/// `GET /wharf/v1/projects/{project}/services/{service}/strategy`.
pub async fn strategy(
    State(state): State<AppState>,
    Path((project, service)): Path<(String, String)>,
) -> Result<Json<ServiceStrategy>> {
    Ok(Json(state.cp.routing.strategy(&project, &service).await?))
}

/// `PUT /wharf/v1/projects/{project}/services/{service}/strategy`.
pub async fn set_strategy(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path((project, service)): Path<(String, String)>,
    Body(body): Body<StrategyChange>,
) -> Result<Json<StrategyChanged>> {
    let changed = state
        .cp
        .routing
        .set_strategy(&user, &project, &service, &body)
        .await?;
    Ok(Json(changed))
}

/// Facets' `POST /cc-ui/v1/ci-cd/ci/{ciName}/custom`.
pub async fn save_custom(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(name): Path<String>,
    Body(body): Body<CiCustomCiCdRequest>,
) -> Result<Json<CiCustomCiCdResponse>> {
    Ok(Json(
        state
            .cp
            .routing
            .save_custom_ci_cd(&user, &name, &body)
            .await?,
    ))
}

/// Facets' `GET /cc-ui/v1/ci-cd/ci/{ciName}` (`?stackName=` when the name is in several
/// projects).
pub async fn custom(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<CiQuery>,
) -> Result<Json<CiCustomCiCdResponse>> {
    Ok(Json(
        state
            .cp
            .routing
            .custom_ci_cd(&name, query.stack_name.as_deref())
            .await?,
    ))
}

/// Facets' `DELETE /cc-ui/v1/ci-cd/ci/{ciName}`: deletes the CI integration (refused while it
/// has builds) with the rule and workflow it owned; answers 200 with no body, as Facets does.
pub async fn delete_by_name(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(name): Path<String>,
    Query(query): Query<CiQuery>,
) -> Result<StatusCode> {
    let ci = state
        .cp
        .lookups
        .ci_named(&name, query.stack_name.as_deref())
        .await?;
    state.cp.routing.delete_ci(&user, &ci.id).await?;
    Ok(StatusCode::OK)
}
