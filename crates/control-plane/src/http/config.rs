//! Configuration endpoints: CI integrations, routing rules, project CI/CD, streams,
//! environments, and the declarative project file.

use super::{AppState, Body};
use crate::audit::{self, Audit, AuditFilter, AuditPage};
use crate::auth::AuthUser;
use crate::error::{Error, Result, require};
use crate::permissions;
use crate::project_file;
use crate::registration::parse_type;
use crate::routing::classify;
use crate::store::{self, BuildFilter, CiRow, DefaultRule, new_id, now};
use crate::views::{
    ci_artifact_view, ci_view, cluster_view, parse_ci_system, rule_view, stream_view,
};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use std::collections::HashMap;
use wharf_api::project_file::{ApplySummary, ProjectFile};
use wharf_api::{
    ArtifactCI, BRANCH_NAME, CiArtifactResponse, CiCdDto, Cluster, Criterion, Metadata, Operator,
    RegistrationType, ReleaseStream, RoutingRuleRequest, RoutingRuleResponse, RoutingTestResponse,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackQuery {
    stack_name: Option<String>,
    registration_type: Option<String>,
    limit: Option<i64>,
    routed_to: Option<String>,
    external_id: Option<String>,
    classified: Option<bool>,
    promoted: Option<bool>,
}

// ---- CI integrations ----

pub async fn list_cis(
    State(state): State<AppState>,
    Query(query): Query<StackQuery>,
) -> Result<Json<Vec<ArtifactCI>>> {
    let rows = state.store.cis(query.stack_name.as_deref()).await?;
    Ok(Json(rows.iter().map(ci_view).collect()))
}

pub async fn create_ci(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<ArtifactCI>,
) -> Result<(StatusCode, Json<ArtifactCI>)> {
    let row = insert_ci(&state, &user, body).await?;
    Ok((StatusCode::CREATED, Json(ci_view(&row))))
}

/// Creates a CI integration (its registration type defaults to the project's), audited.
pub(super) async fn insert_ci(
    state: &AppState,
    user: &AuthUser,
    body: ArtifactCI,
) -> Result<CiRow> {
    let project = require("stackName", body.stack_name.as_deref())?;
    let name = require("name", Some(&body.name))?;
    let project_row = state.store.project(&project).await?;
    permissions::require(&state.store, user, &project, permissions::ARTIFACT_CI_WRITE).await?;
    if state.store.ci(&project, &name).await?.is_some() {
        return Err(Error::conflict(format!(
            "CI integration '{name}' already exists in project '{project}'"
        )));
    }
    let registration_type = body
        .registration_type
        .map(|t| t.as_str().to_string())
        .or(project_row.registration_type)
        .ok_or_else(|| {
            Error::bad_request(
                "missing field `registrationType`: the project has no CI/CD configured yet",
            )
        })?;
    let row = CiRow {
        id: new_id(),
        project,
        name,
        registration_type,
        description: body.description,
        artifactory: body.artifactory,
        created_by: Some(user.username.clone()),
        created_at: now(),
        mode: "INHERITED".into(),
        routing_rule_id: None,
        workflow_id: None,
    };
    let mut tx = state.store.begin().await?;
    store::insert_ci(&mut tx, &row).await?;
    Audit::new(&user.username, "CI_INTEGRATION", "CI_INTEGRATION_CREATE")
        .target(&row.name)
        .stack(&row.project)
        .meta("registrationType", &row.registration_type)
        .record(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(row)
}

async fn ci_or_404(state: &AppState, id: &str) -> Result<CiRow> {
    state
        .store
        .ci_by_id(id)
        .await?
        .ok_or_else(|| Error::not_found(format!("CI integration id '{id}' not found")))
}

pub async fn get_ci(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ArtifactCI>> {
    Ok(Json(ci_view(&ci_or_404(&state, &id).await?)))
}

pub async fn update_ci(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
    Body(body): Body<ArtifactCI>,
) -> Result<Json<ArtifactCI>> {
    let mut row = ci_or_404(&state, &id).await?;
    permissions::require(
        &state.store,
        &user,
        &row.project,
        permissions::ARTIFACT_CI_WRITE,
    )
    .await?;
    if body.name != row.name {
        return Err(Error::bad_request(format!(
            "field `name` cannot change (is '{}', asked '{}'); create a new CI integration",
            row.name, body.name
        )));
    }
    if body
        .registration_type
        .is_some_and(|t| t.as_str() != row.registration_type)
    {
        return Err(Error::conflict(format!(
            "the registration type of CI integration '{}' is fixed at creation ({})",
            row.name, row.registration_type
        )));
    }
    if body.routing_rule_id.is_some() || body.workflow_id.is_some() {
        super::workflows::set_custom(
            &state,
            &user,
            &row,
            body.routing_rule_id.as_deref(),
            body.workflow_id.as_deref(),
        )
        .await?;
    } else if let Some(mode) = body.mode.as_deref().filter(|m| *m != row.mode) {
        if !matches!(mode, "NONE" | "INHERITED") {
            return Err(Error::bad_request(format!(
                "field `mode` '{mode}' is not NONE or INHERITED (CUSTOM comes with routingRuleId \
                 or workflowId)"
            )));
        }
        let audit = Audit::new(&user.username, "CI_INTEGRATION", "CI_INTEGRATION_UPDATE")
            .target(&row.name)
            .stack(&row.project)
            .meta("mode", mode);
        state
            .store
            .set_ci_mode(&row.id, mode, None, None, audit)
            .await?;
    }
    row = ci_or_404(&state, &id).await?;
    row.description = body.description;
    row.artifactory = body.artifactory.or(row.artifactory);
    let audit = Audit::new(&user.username, "CI_INTEGRATION", "CI_INTEGRATION_UPDATE")
        .target(&row.name)
        .stack(&row.project);
    state.store.update_ci(&row, audit).await?;
    Ok(Json(ci_view(&row)))
}

pub async fn delete_ci(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let row = ci_or_404(&state, &id).await?;
    permissions::require(
        &state.store,
        &user,
        &row.project,
        permissions::ARTIFACT_CI_DELETE,
    )
    .await?;
    let audit = Audit::new(&user.username, "CI_INTEGRATION", "CI_INTEGRATION_DELETE")
        .target(&row.name)
        .stack(&row.project);
    state.store.delete_ci(&row.id, audit).await?;
    Ok(StatusCode::OK)
}

/// Finds a CI by name; names are unique per project, so `stackName` settles ambiguity.
pub(super) async fn ci_named(state: &AppState, name: &str, stack: Option<&str>) -> Result<CiRow> {
    let mut matches = state.store.cis_named(name).await?;
    if let Some(stack) = stack {
        matches.retain(|ci| ci.project == stack);
    }
    match matches.len() {
        0 => Err(Error::not_found(format!(
            "CI integration '{name}' not found"
        ))),
        1 => Ok(matches.remove(0)),
        _ => Err(Error::bad_request(format!(
            "CI integration '{name}' exists in several projects ({}); add ?stackName=",
            matches
                .iter()
                .map(|c| c.project.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub async fn ci_by_name(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<StackQuery>,
) -> Result<Json<ArtifactCI>> {
    Ok(Json(ci_view(
        &ci_named(&state, &name, query.stack_name.as_deref()).await?,
    )))
}

pub async fn cis_of_project(
    State(state): State<AppState>,
    Path(stack): Path<String>,
) -> Result<Json<Vec<ArtifactCI>>> {
    state.store.project(&stack).await?;
    let rows = state.store.cis(Some(&stack)).await?;
    Ok(Json(rows.iter().map(ci_view).collect()))
}

pub async fn builds_of_ci(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<StackQuery>,
) -> Result<Json<Vec<CiArtifactResponse>>> {
    let ci = ci_named(&state, &name, query.stack_name.as_deref()).await?;
    let filter = BuildFilter {
        routed_to: query.routed_to,
        external_id: query.external_id,
        classified: query.classified,
        promoted: query.promoted,
        limit: query.limit.unwrap_or(100).clamp(1, 1000),
    };
    let rows = state.store.artifacts_of(&ci.id, &filter).await?;
    Ok(Json(rows.iter().map(ci_artifact_view).collect()))
}

// ---- routing rules ----

/// Refuses criteria that route to a bucket the project does not have.
async fn check_criteria(
    state: &AppState,
    project: &str,
    registration_type: RegistrationType,
    criteria: &[Criterion],
) -> Result<()> {
    for (i, criterion) in criteria.iter().enumerate() {
        if criterion.metadata_key.trim().is_empty() {
            return Err(Error::bad_request(format!(
                "criteria[{i}].metadataKey must not be empty"
            )));
        }
        check_bucket(state, project, registration_type, &criterion.route_to)
            .await
            .map_err(|e| Error::bad_request(format!("criteria[{i}].routeTo: {e}")))?;
    }
    Ok(())
}

pub(super) async fn check_bucket(
    state: &AppState,
    project: &str,
    registration_type: RegistrationType,
    name: &str,
) -> Result<()> {
    let exists = match registration_type {
        RegistrationType::ReleaseStream => state.store.stream_exists(project, name).await?,
        _ => state.store.environment(project, name).await?.is_some(),
    };
    if exists {
        return Ok(());
    }
    let kind = match registration_type {
        RegistrationType::ReleaseStream => "release stream",
        _ => "environment",
    };
    Err(Error::bad_request(format!(
        "'{name}' is not a {kind} of project '{project}'"
    )))
}

pub async fn list_rules(
    State(state): State<AppState>,
    Query(query): Query<StackQuery>,
) -> Result<Json<Vec<RoutingRuleResponse>>> {
    let stack = require("stackName", query.stack_name.as_deref())?;
    let rows = state
        .store
        .rules(&stack, query.registration_type.as_deref())
        .await?;
    Ok(Json(rows.iter().map(rule_view).collect()))
}

pub async fn create_rule(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<RoutingRuleRequest>,
) -> Result<(StatusCode, Json<RoutingRuleResponse>)> {
    let project = require("stackName", Some(&body.stack_name))?;
    require("ruleName", Some(&body.rule_name))?;
    state.store.project(&project).await?;
    permissions::require(
        &state.store,
        &user,
        &project,
        permissions::ARTIFACT_ROUTING_RULE_WRITE,
    )
    .await?;
    check_criteria(&state, &project, body.registration_type, &body.criteria).await?;
    if body.is_default
        && let Some(existing) = state
            .store
            .default_rule(&project, body.registration_type.as_str())
            .await?
    {
        return Err(Error::conflict(format!(
            "project '{project}' already has a default {} rule ('{}', id {}); update it \
                 with PUT instead",
            body.registration_type.as_str(),
            existing.rule_name,
            existing.id
        )));
    }
    let audit = Audit::new(&user.username, "CI_RULE", "CI_RULE_CREATE")
        .stack(&project)
        .meta("ruleName", &body.rule_name)
        .meta("criteria", &body.criteria);
    let id = state
        .store
        .insert_rule(&body, &user.username, audit)
        .await?;
    let row = state
        .store
        .rule(&id)
        .await?
        .ok_or_else(|| Error::Internal("rule vanished".into()))?;
    Ok((StatusCode::CREATED, Json(rule_view(&row))))
}

pub async fn update_rule(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<RoutingRuleRequest>,
) -> Result<Json<RoutingRuleResponse>> {
    let id = require("id", body.id.as_deref())?;
    let current = state
        .store
        .rule(&id)
        .await?
        .ok_or_else(|| Error::not_found(format!("routing rule '{id}' not found")))?;
    permissions::require(
        &state.store,
        &user,
        &current.project,
        permissions::ARTIFACT_ROUTING_RULE_WRITE,
    )
    .await?;
    if current.project != body.stack_name
        || current.registration_type != body.registration_type.as_str()
    {
        return Err(Error::bad_request(
            "fields `stackName` and `registrationType` of a rule cannot change",
        ));
    }
    check_criteria(
        &state,
        &current.project,
        body.registration_type,
        &body.criteria,
    )
    .await?;
    let audit = Audit::new(&user.username, "CI_RULE", "CI_RULE_UPDATE")
        .target(&id)
        .stack(&current.project)
        .meta("ruleName", &body.rule_name)
        .meta("criteria", &body.criteria);
    state.store.update_rule(&id, &body, audit).await?;
    let row = state
        .store
        .rule(&id)
        .await?
        .ok_or_else(|| Error::Internal("rule vanished".into()))?;
    Ok(Json(rule_view(&row)))
}

pub async fn get_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RoutingRuleResponse>> {
    let row = state
        .store
        .rule(&id)
        .await?
        .ok_or_else(|| Error::not_found(format!("routing rule '{id}' not found")))?;
    Ok(Json(rule_view(&row)))
}

pub async fn delete_rule(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let current = state.store.rule(&id).await?;
    if let Some(rule) = &current {
        permissions::require(
            &state.store,
            &user,
            &rule.project,
            permissions::ARTIFACT_ROUTING_RULE_DELETE,
        )
        .await?;
    }
    let audit = Audit::new(&user.username, "CI_RULE", "CI_RULE_DELETE")
        .target(&id)
        .stack(current.map(|r| r.project).unwrap_or_default());
    if !state.store.delete_rule(&id, audit).await? {
        return Err(Error::not_found(format!("routing rule '{id}' not found")));
    }
    Ok(StatusCode::OK)
}

pub async fn operators() -> Json<Vec<&'static str>> {
    Json(Operator::ALL.iter().map(|op| op.as_str()).collect())
}

/// `POST /artifact-routing-rule/test?metadata=…`: `metadata` is a JSON object of build
/// metadata, or a plain value taken as `BRANCH_NAME`.
pub async fn test_rule(
    Query(query): Query<HashMap<String, String>>,
    Body(criteria): Body<Vec<Criterion>>,
) -> Result<Json<RoutingTestResponse>> {
    let raw = require("metadata", query.get("metadata").map(String::as_str))?;
    let metadata: Metadata = serde_json::from_str(&raw)
        .unwrap_or_else(|_| Metadata::from([(BRANCH_NAME.to_string(), raw.clone())]));
    let route_to = classify(&criteria, &metadata).map(|c| c.route_to.clone());
    Ok(Json(RoutingTestResponse { route_to }))
}

// ---- project CI/CD ----

pub async fn configure_ci_cd(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(dto): Body<CiCdDto>,
) -> Result<Json<CiCdDto>> {
    let project = state.store.project(&dto.stack_name).await?;
    permissions::require(
        &state.store,
        &user,
        &project.name,
        permissions::CI_CD_CONFIGURE,
    )
    .await?;
    if let Some(current) = &project.registration_type
        && current != dto.registration_type.as_str()
    {
        return Err(Error::conflict(format!(
            "project '{}' is configured for registration type {current}; reset it first \
                 (DELETE /cc-ui/v1/ci-cd/{}) to change to {}",
            project.name,
            project.name,
            dto.registration_type.as_str()
        )));
    }
    check_criteria(
        &state,
        &project.name,
        dto.registration_type,
        &dto.routing_rules,
    )
    .await?;
    for (i, stage) in dto.promotion_hierarchies.iter().enumerate() {
        check_bucket(
            &state,
            &project.name,
            dto.registration_type,
            &stage.registration_value,
        )
        .await
        .map_err(|e| Error::bad_request(format!("promotionHierarchies[{i}]: {e}")))?;
    }
    let mut tx = state.store.begin().await?;
    store::set_project_type(&mut tx, &project.name, dto.registration_type, dto.ci_system).await?;
    let rule = DefaultRule {
        project: &project.name,
        registration_type: dto.registration_type,
        rule_name: "default",
        criteria: &dto.routing_rules,
        ci_system: dto.ci_system,
    };
    store::set_default_rule(&mut tx, &rule, &user.username).await?;
    let mut stages = dto.promotion_hierarchies.clone();
    stages.sort_by_key(|stage| stage.sequence);
    store::set_default_workflow(&mut tx, &project.name, dto.registration_type, &stages).await?;
    Audit::new(&user.username, "CI_CD", "CI_CD_CONFIGURE")
        .target(&project.name)
        .stack(&project.name)
        .meta("registrationType", dto.registration_type)
        .meta("routingRules", &dto.routing_rules)
        .meta("promotionHierarchies", &stages)
        .record(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(Json(dto))
}

pub async fn get_ci_cd(
    State(state): State<AppState>,
    Path(stack): Path<String>,
) -> Result<Json<CiCdDto>> {
    let project = state.store.project(&stack).await?;
    let kind = project
        .registration_type
        .clone()
        .ok_or_else(|| Error::not_found(format!("project '{stack}' has no CI/CD configured")))?;
    let rule = state.store.default_rule(&stack, &kind).await?;
    let workflow = state.store.default_workflow(&stack, &kind).await?;
    Ok(Json(CiCdDto {
        registration_type: parse_type(&kind),
        stack_name: stack,
        routing_rules: rule
            .map(|r| serde_json::from_str(&r.criteria).unwrap_or_default())
            .unwrap_or_default(),
        promotion_hierarchies: workflow
            .map(|w| serde_json::from_str(&w.hierarchies).unwrap_or_default())
            .unwrap_or_default(),
        ci_system: project.ci_system.as_deref().and_then(parse_ci_system),
        map_to_all_cis: None,
    }))
}

pub async fn reset_ci_cd(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(stack): Path<String>,
) -> Result<StatusCode> {
    state.store.project(&stack).await?;
    permissions::require(&state.store, &user, &stack, permissions::CI_CD_CONFIGURE).await?;
    let audit = Audit::new(&user.username, "CI_CD", "CI_CD_RESET")
        .target(&stack)
        .stack(&stack);
    state.store.reset_ci_cd(&stack, audit).await?;
    Ok(StatusCode::OK)
}

// ---- release streams and environments ----

pub async fn list_streams(
    State(state): State<AppState>,
    Query(query): Query<StackQuery>,
) -> Result<Json<Vec<ReleaseStream>>> {
    let stack = require("stackName", query.stack_name.as_deref())?;
    state.store.project(&stack).await?;
    Ok(Json(
        state
            .store
            .streams(&stack)
            .await?
            .iter()
            .map(stream_view)
            .collect(),
    ))
}

pub async fn get_cluster(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Cluster>> {
    let env = state
        .store
        .environment_by_id(&id)
        .await?
        .ok_or_else(|| Error::not_found(format!("environment id '{id}' not found")))?;
    Ok(Json(cluster_view(&env)))
}

pub async fn clusters_of_project(
    State(state): State<AppState>,
    Path(stack): Path<String>,
) -> Result<Json<Vec<Cluster>>> {
    state.store.project(&stack).await?;
    Ok(Json(
        state
            .store
            .environments(&stack)
            .await?
            .iter()
            .map(cluster_view)
            .collect(),
    ))
}

// ---- the declarative project file (extension) ----

pub async fn apply_project_file(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(name): Path<String>,
    Body(file): Body<ProjectFile>,
) -> Result<Json<ApplySummary>> {
    if file.project.name != name {
        return Err(Error::bad_request(format!(
            "field `project.name` ('{}') differs from the path ('{name}')",
            file.project.name
        )));
    }
    match state.store.project(&name).await {
        Ok(_) => {
            permissions::require(&state.store, &user, &name, permissions::PROJECT_ADMIN).await?
        }
        Err(Error::NotFound(_)) => permissions::require_admin(&user, "creating a project")?,
        Err(other) => return Err(other),
    }
    Ok(Json(
        project_file::apply(&state.store, &file, &user.username).await?,
    ))
}

// ---- audit ----

/// `GET /cc-ui/v1/audit-logs?start=…`: `start` and `end` are ISO-8601 times or epoch
/// milliseconds; `entity` and `entityAction` may repeat (also as `entity[]`).
pub async fn audit_logs(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let one = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let many = |key: &str| -> Vec<String> {
        let bracketed = format!("{key}[]");
        pairs
            .iter()
            .filter(|(k, _)| k == key || *k == bracketed)
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let start = require("start", one("start").as_deref())?;
    let number = parse_number("number", one("number"), 0)?;
    let size = parse_number("size", one("size"), 20)?;
    if !(1..=1000).contains(&size) {
        return Err(Error::bad_request("`size` must be between 1 and 1000"));
    }
    let filter = AuditFilter {
        start: parse_time("start", &start)?,
        end: one("end").map(|end| parse_time("end", &end)).transpose()?,
        stack_name: one("stackName"),
        cluster_name: one("clusterName"),
        target: one("target"),
        performed_by: one("performedBy"),
        entities: many("entity"),
        actions: many("entityAction"),
        number: number.max(0),
        size,
    };
    Ok(Json(audit::page(&state.store, &filter).await?))
}

fn parse_number(field: &str, value: Option<String>, default: i64) -> Result<i64> {
    value.map_or(Ok(default), |v| {
        v.trim()
            .parse()
            .map_err(|_| Error::bad_request(format!("`{field}` must be a whole number, not '{v}'")))
    })
}

/// Accepts ISO-8601 (`2026-11-23T10:00:00Z`, `2026-11-23`) or epoch milliseconds; answers the
/// stored form (`…T…​.mmmZ`), which sorts as text.
fn parse_time(field: &str, value: &str) -> Result<String> {
    use time::format_description::well_known::Rfc3339;
    let value = value.trim();
    let parsed = if let Ok(millis) = value.parse::<i64>() {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
    } else if value.len() == 10 {
        time::OffsetDateTime::parse(&format!("{value}T00:00:00Z"), &Rfc3339).ok()
    } else {
        time::OffsetDateTime::parse(value, &Rfc3339).ok()
    };
    parsed.map(store::format_time).ok_or_else(|| {
        Error::bad_request(format!(
            "`{field}` '{value}' is not a time: use ISO-8601 (2026-11-23T10:00:00Z) or epoch \
             milliseconds"
        ))
    })
}
