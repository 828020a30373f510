//! Promotion workflow endpoints.

use super::{AppState, Body, Path, Query};
use crate::domain::auth::AuthUser;
use crate::domain::wire::workflow_view;
use crate::error::Result;
use crate::validate::require;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use wharf_api::PromotionWorkflow;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowQuery {
    stack_name: Option<String>,
    registration_type: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<WorkflowQuery>,
) -> Result<Json<Vec<PromotionWorkflow>>> {
    let workflows = state
        .cp
        .routing
        .workflows(
            query.stack_name.as_deref(),
            query.registration_type.as_deref(),
        )
        .await?;
    Ok(Json(workflows))
}

pub async fn of_project(
    State(state): State<AppState>,
    Path(stack): Path<String>,
) -> Result<Json<Vec<PromotionWorkflow>>> {
    Ok(Json(state.cp.routing.workflows_of_project(&stack).await?))
}

/// `GET /workflow/registration-specific?registrationType=&stackName=`.
pub async fn registration_specific(
    State(state): State<AppState>,
    Query(query): Query<WorkflowQuery>,
) -> Result<Json<Vec<PromotionWorkflow>>> {
    let stack = require("stackName", query.stack_name.as_deref())?;
    let kind = require("registrationType", query.registration_type.as_deref())?;
    Ok(Json(
        state
            .cp
            .routing
            .workflows(Some(&stack), Some(&kind))
            .await?,
    ))
}

/// `GET /workflow/default-workflow/registration-type/{type}?stackName=`.
pub async fn default_of(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(query): Query<WorkflowQuery>,
) -> Result<Json<PromotionWorkflow>> {
    let stack = require("stackName", query.stack_name.as_deref())?;
    Ok(Json(
        state.cp.routing.default_workflow(&stack, &kind).await?,
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PromotionWorkflow>> {
    Ok(Json(workflow_view(&state.cp.lookups.workflow(&id).await?)))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<PromotionWorkflow>,
) -> Result<(StatusCode, Json<PromotionWorkflow>)> {
    let created = state.cp.routing.create_workflow(&user, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
    Body(body): Body<PromotionWorkflow>,
) -> Result<Json<PromotionWorkflow>> {
    Ok(Json(
        state.cp.routing.update_workflow(&user, &id, body).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<Json<PromotionWorkflow>> {
    Ok(Json(state.cp.routing.delete_workflow(&user, &id).await?))
}
