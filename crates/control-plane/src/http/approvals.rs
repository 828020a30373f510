//! *wharf extension*: promotion requests waiting for approvals, approving and rejecting them,
//! rollback, and a project's protected stages.

use super::{AppState, Body, Path, Query, promoted};
use crate::domain::auth::AuthUser;
use crate::error::Result;
use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use std::collections::BTreeMap;
use wharf_api::PromotionRequest;
use wharf_api::project_file::Protection;

#[derive(Debug, Deserialize)]
pub struct ProjectQuery {
    project: Option<String>,
}

/// `GET /wharf/v1/approvals[?project=]`: pending requests.
pub async fn pending(
    State(state): State<AppState>,
    Query(query): Query<ProjectQuery>,
) -> Result<Json<Vec<PromotionRequest>>> {
    let project = query.project.as_deref();
    Ok(Json(state.cp.approvals.pending_requests(project).await?))
}

/// `GET /wharf/v1/approvals/{id}`: one request, in whatever state.
pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PromotionRequest>> {
    Ok(Json(state.cp.approvals.promotion_request(&id).await?))
}

/// `POST /wharf/v1/approvals/{id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<Json<PromotionRequest>> {
    Ok(Json(state.cp.approvals.approve(&user, &id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    reason: String,
}

/// `POST /wharf/v1/approvals/{id}/reject` with `{"reason": …}`.
pub async fn reject(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
    Body(body): Body<Rejection>,
) -> Result<Json<PromotionRequest>> {
    Ok(Json(
        state.cp.approvals.reject(&user, &id, &body.reason).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    project: String,
    service: String,
    environment: String,
    /// A build id; none: the environment's previous image.
    to: Option<String>,
}

/// `POST /wharf/v1/rollback`: the build made (200), or 202 with the pending request's id in
/// `wharf-promotion-request`, as a promotion answers.
pub async fn rollback(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<RollbackBody>,
) -> Result<Response> {
    let done = state
        .cp
        .approvals
        .rollback(
            &user,
            &body.project,
            &body.service,
            &body.environment,
            body.to.as_deref(),
        )
        .await?;
    Ok(promoted(done))
}

/// `GET /wharf/v1/projects/{project}/protection`: its protected stages and their rules.
pub async fn protection(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<BTreeMap<String, Protection>>> {
    Ok(Json(state.cp.approvals.protections(&project).await?))
}
