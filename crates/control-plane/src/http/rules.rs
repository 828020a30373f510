//! Routing rules and a project's CI/CD endpoints.

use super::{AppState, Body, Path, Query};
use crate::domain::auth::AuthUser;
use crate::domain::rules::test_route;
use crate::error::Result;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use std::collections::HashMap;
use wharf_api::{
    CiCdDto, Criterion, Operator, RoutingRuleRequest, RoutingRuleResponse, RoutingTestResponse,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleQuery {
    stack_name: Option<String>,
    registration_type: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<RuleQuery>,
) -> Result<Json<Vec<RoutingRuleResponse>>> {
    let rules = state
        .cp
        .routing
        .rules(
            query.stack_name.as_deref(),
            query.registration_type.as_deref(),
        )
        .await?;
    Ok(Json(rules))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<RoutingRuleRequest>,
) -> Result<(StatusCode, Json<RoutingRuleResponse>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.cp.routing.create_rule(&user, body).await?),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<RoutingRuleRequest>,
) -> Result<Json<RoutingRuleResponse>> {
    Ok(Json(state.cp.routing.update_rule(&user, body).await?))
}

pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RoutingRuleResponse>> {
    Ok(Json(crate::domain::wire::rule_view(
        &state.cp.lookups.rule(&id).await?,
    )))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.cp.routing.delete_rule(&user, &id).await?;
    Ok(StatusCode::OK)
}

pub async fn operators() -> Json<Vec<&'static str>> {
    Json(Operator::ALL.iter().map(|op| op.as_str()).collect())
}

/// `POST /artifact-routing-rule/test?metadata=…`.
pub async fn test(
    Query(query): Query<HashMap<String, String>>,
    Body(criteria): Body<Vec<Criterion>>,
) -> Result<Json<RoutingTestResponse>> {
    Ok(Json(test_route(
        query.get("metadata").map(String::as_str),
        &criteria,
    )?))
}

pub async fn configure_ci_cd(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(dto): Body<CiCdDto>,
) -> Result<Json<CiCdDto>> {
    Ok(Json(state.cp.routing.configure_ci_cd(&user, dto).await?))
}

pub async fn get_ci_cd(
    State(state): State<AppState>,
    Path(stack): Path<String>,
) -> Result<Json<CiCdDto>> {
    Ok(Json(state.cp.routing.ci_cd(&stack).await?))
}

pub async fn reset_ci_cd(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(stack): Path<String>,
) -> Result<StatusCode> {
    state.cp.routing.reset_ci_cd(&user, &stack).await?;
    Ok(StatusCode::OK)
}
