//! Promotion workflows, and how CI integrations follow rules and workflows (attach, detach,
//! their own).

use super::{AppState, Body};
use crate::audit::Audit;
use crate::auth::AuthUser;
use crate::error::{Error, Result, require};
use crate::permissions;
use crate::store::NewWorkflow;
use crate::views::{ci_view, workflow_view};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use wharf_api::{ArtifactCI, BulkEditWorkflowRequest, CiAttachRequest, PromotionWorkflow};

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
    let rows = state
        .store
        .workflows(
            query.stack_name.as_deref(),
            query.registration_type.as_deref(),
        )
        .await?;
    Ok(Json(rows.iter().map(workflow_view).collect()))
}

pub async fn of_project(
    State(state): State<AppState>,
    Path(stack): Path<String>,
) -> Result<Json<Vec<PromotionWorkflow>>> {
    state.store.project(&stack).await?;
    let rows = state.store.workflows(Some(&stack), None).await?;
    Ok(Json(rows.iter().map(workflow_view).collect()))
}

/// `GET /workflow/registration-specific?registrationType=&stackName=`.
pub async fn registration_specific(
    State(state): State<AppState>,
    Query(query): Query<WorkflowQuery>,
) -> Result<Json<Vec<PromotionWorkflow>>> {
    let stack = require("stackName", query.stack_name.as_deref())?;
    let kind = require("registrationType", query.registration_type.as_deref())?;
    let rows = state.store.workflows(Some(&stack), Some(&kind)).await?;
    Ok(Json(rows.iter().map(workflow_view).collect()))
}

/// `GET /workflow/default-workflow/registration-type/{type}?stackName=`.
pub async fn default_of(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(query): Query<WorkflowQuery>,
) -> Result<Json<PromotionWorkflow>> {
    let stack = require("stackName", query.stack_name.as_deref())?;
    let row = state
        .store
        .default_workflow(&stack, &kind)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!("project '{stack}' has no default {kind} workflow"))
        })?;
    Ok(Json(workflow_view(&row)))
}

pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PromotionWorkflow>> {
    let row = state
        .store
        .workflow(&id)
        .await?
        .ok_or_else(|| Error::not_found(format!("workflow '{id}' not found")))?;
    Ok(Json(workflow_view(&row)))
}

/// Checks the stages name buckets of the project, once each.
async fn checked(state: &AppState, body: &PromotionWorkflow) -> Result<NewWorkflow> {
    let project = require("stackName", Some(&body.stack_name))?;
    state.store.project(&project).await?;
    if body.hierarchies.is_empty() {
        return Err(Error::bad_request(
            "field `hierarchies` must list at least one stage",
        ));
    }
    let mut stages = body.hierarchies.clone();
    stages.sort_by_key(|s| s.sequence);
    let mut seen = std::collections::BTreeSet::new();
    for (i, stage) in stages.iter().enumerate() {
        if !seen.insert(stage.registration_value.as_str()) {
            return Err(Error::bad_request(format!(
                "hierarchies[{i}]: stage '{}' is listed twice",
                stage.registration_value
            )));
        }
        super::config::check_bucket(
            state,
            &project,
            body.registration_type,
            &stage.registration_value,
        )
        .await
        .map_err(|e| Error::bad_request(format!("hierarchies[{i}]: {e}")))?;
    }
    Ok(NewWorkflow {
        project,
        name: body.name.clone().unwrap_or_else(|| "workflow".into()),
        registration_type: body.registration_type,
        stages,
        is_default: body.default,
    })
}

pub async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<PromotionWorkflow>,
) -> Result<(StatusCode, Json<PromotionWorkflow>)> {
    let workflow = checked(&state, &body).await?;
    permissions::require(
        &state.store,
        &user,
        &workflow.project,
        permissions::PROMOTIONAL_WORKFLOW_WRITE,
    )
    .await?;
    let audit = Audit::new(
        &user.username,
        "PROMOTION_WORKFLOW",
        "PROMOTION_WORKFLOW_CREATE",
    )
    .stack(&workflow.project)
    .meta("name", &workflow.name)
    .meta("hierarchies", &workflow.stages);
    let id = state.store.insert_workflow(&workflow, audit).await?;
    let row = state
        .store
        .workflow(&id)
        .await?
        .ok_or_else(|| Error::Internal("workflow vanished".into()))?;
    Ok((StatusCode::CREATED, Json(workflow_view(&row))))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
    Body(body): Body<PromotionWorkflow>,
) -> Result<Json<PromotionWorkflow>> {
    let current = state
        .store
        .workflow(&id)
        .await?
        .ok_or_else(|| Error::not_found(format!("workflow '{id}' not found")))?;
    if current.project != body.stack_name
        || current.registration_type != body.registration_type.as_str()
    {
        return Err(Error::bad_request(
            "fields `stackName` and `registrationType` of a workflow cannot change",
        ));
    }
    let workflow = checked(&state, &body).await?;
    permissions::require(
        &state.store,
        &user,
        &workflow.project,
        permissions::PROMOTIONAL_WORKFLOW_WRITE,
    )
    .await?;
    let audit = Audit::new(
        &user.username,
        "PROMOTION_WORKFLOW",
        "PROMOTION_WORKFLOW_UPDATE",
    )
    .target(&id)
    .stack(&workflow.project)
    .meta("hierarchies", &workflow.stages);
    state.store.update_workflow(&id, &workflow, audit).await?;
    let row = state
        .store
        .workflow(&id)
        .await?
        .ok_or_else(|| Error::Internal("workflow vanished".into()))?;
    Ok(Json(workflow_view(&row)))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let current = state.store.workflow(&id).await?;
    if let Some(workflow) = &current {
        permissions::require(
            &state.store,
            &user,
            &workflow.project,
            permissions::PROMOTIONAL_WORKFLOW_DELETE,
        )
        .await?;
    }
    let audit = Audit::new(
        &user.username,
        "PROMOTION_WORKFLOW",
        "PROMOTION_WORKFLOW_DELETE",
    )
    .target(&id)
    .stack(current.map(|w| w.project).unwrap_or_default());
    if !state.store.delete_workflow(&id, audit).await? {
        return Err(Error::not_found(format!("workflow '{id}' not found")));
    }
    Ok(StatusCode::OK)
}

/// `PUT /ci-cd/attach`: the CI follows the project's default rule and workflow; created when
/// missing.
pub async fn attach(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<CiAttachRequest>,
) -> Result<Json<ArtifactCI>> {
    set_following(&state, &user, &body, "INHERITED").await
}

/// `PUT /ci-cd/detach`: the CI follows no rule (its builds stay unclassified) and no workflow.
pub async fn detach(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<CiAttachRequest>,
) -> Result<Json<ArtifactCI>> {
    set_following(&state, &user, &body, "NONE").await
}

async fn set_following(
    state: &AppState,
    user: &AuthUser,
    body: &CiAttachRequest,
    mode: &str,
) -> Result<Json<ArtifactCI>> {
    let project = require("blueprintName", Some(&body.blueprint_name))?;
    let name = require("ciName", Some(&body.ci_name))?;
    state.store.project(&project).await?;
    permissions::require(&state.store, user, &project, permissions::CI_CD_CONFIGURE).await?;
    let ci = match state.store.ci(&project, &name).await? {
        Some(ci) => ci,
        None if mode == "INHERITED" => {
            let created = ArtifactCI {
                name: name.clone(),
                stack_name: Some(project.clone()),
                registration_type: Some(body.registration_type),
                ..Default::default()
            };
            super::config::insert_ci(state, user, created).await?
        }
        None => {
            return Err(Error::not_found(format!(
                "CI integration '{name}' not found in project '{project}'"
            )));
        }
    };
    if ci.registration_type != body.registration_type.as_str() {
        return Err(Error::conflict(format!(
            "CI integration '{name}' keeps {} buckets; it cannot follow {} rules",
            ci.registration_type,
            body.registration_type.as_str()
        )));
    }
    let action = if mode == "NONE" {
        "CI_INTEGRATION_DETACH"
    } else {
        "CI_INTEGRATION_ATTACH"
    };
    let audit = Audit::new(&user.username, "CI_INTEGRATION", action)
        .target(&name)
        .stack(&project);
    state
        .store
        .set_ci_mode(&ci.id, mode, None, None, audit)
        .await?;
    let ci = state
        .store
        .ci_by_id(&ci.id)
        .await?
        .ok_or_else(|| Error::Internal("CI vanished".into()))?;
    Ok(Json(ci_view(&ci)))
}

/// `POST /artifacts-ci/bulk-edit-workflow`: these CIs promote along this workflow.
pub async fn bulk_edit(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<BulkEditWorkflowRequest>,
) -> Result<Json<Vec<ArtifactCI>>> {
    let workflow = state
        .store
        .workflow(&body.workflow_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("workflow '{}' not found", body.workflow_id)))?;
    permissions::require(
        &state.store,
        &user,
        &workflow.project,
        permissions::ARTIFACT_CI_WRITE,
    )
    .await?;
    let mut cis = Vec::new();
    for id in &body.artifact_ci_ids {
        let ci = state
            .store
            .ci_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("CI integration id '{id}' not found")))?;
        check_same_scope(
            &ci.project,
            &ci.registration_type,
            &workflow.project,
            &workflow.registration_type,
            "workflow",
        )?;
        cis.push(ci);
    }
    let mut answers = Vec::new();
    for ci in cis {
        let audit = Audit::new(&user.username, "CI_INTEGRATION", "CI_INTEGRATION_UPDATE")
            .target(&ci.name)
            .stack(&ci.project)
            .meta("workflowId", &workflow.id);
        let rule = if ci.mode == "CUSTOM" {
            ci.routing_rule_id.clone()
        } else {
            None
        };
        state
            .store
            .set_ci_mode(&ci.id, "CUSTOM", rule.as_deref(), Some(&workflow.id), audit)
            .await?;
        let updated = state
            .store
            .ci_by_id(&ci.id)
            .await?
            .ok_or_else(|| Error::Internal("CI vanished".into()))?;
        answers.push(ci_view(&updated));
    }
    Ok(Json(answers))
}

pub fn check_same_scope(
    ci_project: &str,
    ci_type: &str,
    project: &str,
    kind: &str,
    what: &str,
) -> Result<()> {
    if ci_project != project {
        return Err(Error::bad_request(format!(
            "the {what} belongs to project '{project}', the CI integration to '{ci_project}'"
        )));
    }
    if ci_type != kind {
        return Err(Error::bad_request(format!(
            "the {what} is for {kind} buckets, the CI integration keeps {ci_type} buckets"
        )));
    }
    Ok(())
}

/// A CI integration's own rule and workflow, set through `PUT /artifacts-ci/{id}`.
pub async fn set_custom(
    state: &AppState,
    user: &AuthUser,
    ci: &crate::store::CiRow,
    rule_id: Option<&str>,
    workflow_id: Option<&str>,
) -> Result<()> {
    if let Some(id) = rule_id {
        let rule = state
            .store
            .rule(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("routing rule '{id}' not found")))?;
        check_same_scope(
            &ci.project,
            &ci.registration_type,
            &rule.project,
            &rule.registration_type,
            "rule",
        )?;
    }
    if let Some(id) = workflow_id {
        let workflow = state
            .store
            .workflow(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("workflow '{id}' not found")))?;
        check_same_scope(
            &ci.project,
            &ci.registration_type,
            &workflow.project,
            &workflow.registration_type,
            "workflow",
        )?;
    }
    let audit = Audit::new(&user.username, "CI_INTEGRATION", "CI_INTEGRATION_UPDATE")
        .target(&ci.name)
        .stack(&ci.project)
        .meta("routingRuleId", rule_id)
        .meta("workflowId", workflow_id);
    state
        .store
        .set_ci_mode(&ci.id, "CUSTOM", rule_id, workflow_id, audit)
        .await
}
