//! Routing rules, and a project's CI/CD (its registration type, default rule and default
//! workflow, set and reset together).

use super::auth::AuthUser;
use super::wire::rule_view;
use super::workflows::replace_default_workflow;
use super::{Routing, commit, permissions};
use crate::error::{Error, Result};
use crate::validate::require;
use wharf_api::{
    BRANCH_NAME, CiCdDto, CiSystem, ClosedSet, Criterion, Metadata, RegistrationType,
    RoutingRuleRequest, RoutingRuleResponse, RoutingTestResponse, classify,
};
use wharf_store::{Audit, Change, JsonText, RuleChange, RuleRow, Tx, new_id, now};

/// The project's default rule for one registration type, as the project file or `/ci-cd`
/// states it.
pub struct DefaultRule<'a> {
    pub project: &'a str,
    pub registration_type: RegistrationType,
    pub rule_name: &'a str,
    pub criteria: &'a [Criterion],
    pub ci_system: Option<CiSystem>,
}

/// Replaces the default rule's name and criteria, keeping its id, or creates it.
pub async fn replace_default_rule(
    tx: &mut Tx,
    rule: &DefaultRule<'_>,
    user: &str,
) -> Result<Change> {
    let current = tx
        .default_rule(rule.project, rule.registration_type)
        .await?;
    match current {
        Some(current)
            if current.rule_name == rule.rule_name && current.criteria.0 == rule.criteria =>
        {
            Ok(Change::Unchanged)
        }
        Some(current) => {
            let change = RuleChange {
                rule_name: rule.rule_name,
                criteria: rule.criteria,
                ci_system: rule.ci_system,
                is_default: true,
            };
            tx.update_rule(&current.id, &change).await?;
            Ok(Change::Updated)
        }
        None => {
            tx.insert_rule(&RuleRow {
                id: new_id(),
                project: rule.project.to_string(),
                rule_name: rule.rule_name.to_string(),
                registration_type: rule.registration_type,
                is_default: true,
                ci_system: rule.ci_system,
                criteria: JsonText(rule.criteria.to_vec()),
                created_by: Some(user.to_string()),
                created_at: now(),
            })
            .await?;
            Ok(Change::Created)
        }
    }
}

/// `POST /artifact-routing-rule/test?metadata=…`: `metadata` is a JSON object of build
/// metadata, or a plain value taken as `BRANCH_NAME`.
pub fn test_route(
    raw_metadata: Option<&str>,
    criteria: &[Criterion],
) -> Result<RoutingTestResponse> {
    let raw = require("metadata", raw_metadata)?;
    let metadata: Metadata = serde_json::from_str(&raw)
        .unwrap_or_else(|_| Metadata::from([(BRANCH_NAME.to_string(), raw.clone())]));
    let route_to = classify(criteria, &metadata).map(|c| c.route_to.clone());
    Ok(RoutingTestResponse { route_to })
}

fn duplicate_default(error: wharf_store::Error) -> Error {
    if error.is_duplicate() {
        return Error::conflict(
            "a default rule already exists for this project and registration type",
        );
    }
    error.into()
}

impl Routing {
    pub async fn rules(
        &self,
        stack: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Vec<RoutingRuleResponse>> {
        let stack = require("stackName", stack)?;
        let kind = kind.map(RegistrationType::from_name).transpose()?;
        Ok(self
            .store
            .rules(&stack, kind)
            .await?
            .iter()
            .map(rule_view)
            .collect())
    }

    /// Refuses criteria that route to a bucket the project does not have.
    async fn check_criteria(
        &self,
        project: &str,
        kind: RegistrationType,
        criteria: &[Criterion],
    ) -> Result<()> {
        for (i, criterion) in criteria.iter().enumerate() {
            if criterion.metadata_key.trim().is_empty() {
                return Err(Error::bad_request(format!(
                    "criteria[{i}].metadataKey must not be empty"
                )));
            }
            self.lookups
                .require_bucket(project, kind, &criterion.route_to)
                .await
                .map_err(|e| Error::bad_request(format!("criteria[{i}].routeTo: {e}")))?;
        }
        Ok(())
    }

    pub async fn create_rule(
        &self,
        user: &AuthUser,
        body: RoutingRuleRequest,
    ) -> Result<RoutingRuleResponse> {
        let project = require("stackName", Some(&body.stack_name))?;
        require("ruleName", Some(&body.rule_name))?;
        self.lookups.project(&project).await?;
        self.identity
            .require(user, &project, permissions::ARTIFACT_ROUTING_RULE_WRITE)
            .await?;
        self.check_criteria(&project, body.registration_type, &body.criteria)
            .await?;
        if body.wants_default()
            && let Some(existing) = self
                .store
                .default_rule(&project, body.registration_type)
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
        let row = RuleRow {
            id: new_id(),
            project: project.clone(),
            rule_name: body.rule_name.clone(),
            registration_type: body.registration_type,
            is_default: body.wants_default(),
            ci_system: body.ci_system,
            criteria: JsonText(body.criteria.clone()),
            created_by: Some(user.username.clone()),
            created_at: now(),
        };
        let audit = Audit::new(&user.username, "CI_RULE", "CI_RULE_CREATE")
            .target(&row.id)
            .stack(&project)
            .meta("ruleName", &body.rule_name)
            .meta("criteria", &body.criteria);
        let mut tx = self.store.begin().await?;
        tx.insert_rule(&row).await.map_err(duplicate_default)?;
        commit(tx, &audit).await?;
        Ok(rule_view(&row))
    }

    pub async fn update_rule(
        &self,
        user: &AuthUser,
        body: RoutingRuleRequest,
    ) -> Result<RoutingRuleResponse> {
        let id = require("id", body.id.as_deref())?;
        let current = self.lookups.rule(&id).await?;
        self.identity
            .require(
                user,
                &current.project,
                permissions::ARTIFACT_ROUTING_RULE_WRITE,
            )
            .await?;
        if current.project != body.stack_name || current.registration_type != body.registration_type
        {
            return Err(Error::bad_request(
                "fields `stackName` and `registrationType` of a rule cannot change",
            ));
        }
        self.check_criteria(&current.project, body.registration_type, &body.criteria)
            .await?;
        let change = RuleChange {
            rule_name: &body.rule_name,
            criteria: &body.criteria,
            ci_system: body.ci_system,
            is_default: body.wants_default(),
        };
        let audit = Audit::new(&user.username, "CI_RULE", "CI_RULE_UPDATE")
            .target(&id)
            .stack(&current.project)
            .meta("ruleName", &body.rule_name)
            .meta("criteria", &body.criteria);
        let mut tx = self.store.begin().await?;
        tx.update_rule(&id, &change)
            .await
            .map_err(duplicate_default)?;
        commit(tx, &audit).await?;
        Ok(rule_view(&self.lookups.rule(&id).await?))
    }

    pub async fn delete_rule(&self, user: &AuthUser, id: &str) -> Result<()> {
        let rule = self.lookups.rule(id).await?;
        self.identity
            .require(
                user,
                &rule.project,
                permissions::ARTIFACT_ROUTING_RULE_DELETE,
            )
            .await?;
        let audit = Audit::new(&user.username, "CI_RULE", "CI_RULE_DELETE")
            .target(id)
            .stack(&rule.project);
        let mut tx = self.store.begin().await?;
        if !tx.delete_rule(id).await? {
            return Err(Error::not_found(format!("routing rule '{id}' not found")));
        }
        commit(tx, &audit).await
    }

    /// `POST /ci-cd`: the project's registration type, default rule and default workflow, in
    /// one transaction.
    pub async fn configure_ci_cd(&self, user: &AuthUser, dto: CiCdDto) -> Result<CiCdDto> {
        let project = self.lookups.project(&dto.stack_name).await?;
        self.identity
            .require(user, &project.name, permissions::CI_CD_CONFIGURE)
            .await?;
        let kind = dto.registration_type;
        if let Some(current) = project.registration_type
            && current != kind
        {
            return Err(Error::conflict(format!(
                "project '{}' is configured for registration type {}; reset it first \
                 (DELETE /cc-ui/v1/ci-cd/{}) to change to {}",
                project.name,
                current.as_str(),
                project.name,
                kind.as_str()
            )));
        }
        self.check_criteria(&project.name, kind, &dto.routing_rules)
            .await?;
        for (i, stage) in dto.promotion_hierarchies.iter().enumerate() {
            self.lookups
                .require_bucket(&project.name, kind, &stage.registration_value)
                .await
                .map_err(|e| Error::bad_request(format!("promotionHierarchies[{i}]: {e}")))?;
        }
        let mut stages = dto.promotion_hierarchies.clone();
        stages.sort_by_key(|stage| stage.sequence);
        let mut tx = self.store.begin().await?;
        tx.set_project_type(&project.name, Some(kind), dto.ci_system)
            .await?;
        let rule = DefaultRule {
            project: &project.name,
            registration_type: kind,
            rule_name: "default",
            criteria: &dto.routing_rules,
            ci_system: dto.ci_system,
        };
        replace_default_rule(&mut tx, &rule, &user.username).await?;
        replace_default_workflow(&mut tx, &project.name, kind, &stages).await?;
        let audit = Audit::new(&user.username, "CI_CD", "CI_CD_CONFIGURE")
            .target(&project.name)
            .stack(&project.name)
            .meta("registrationType", kind)
            .meta("routingRules", &dto.routing_rules)
            .meta("promotionHierarchies", &stages);
        commit(tx, &audit).await?;
        Ok(dto)
    }

    pub async fn ci_cd(&self, stack: &str) -> Result<CiCdDto> {
        let project = self.lookups.project(stack).await?;
        let kind = project.registration_type.ok_or_else(|| {
            Error::not_found(format!("project '{stack}' has no CI/CD configured"))
        })?;
        let rule = self.store.default_rule(stack, kind).await?;
        let workflow = self.store.default_workflow(stack, kind).await?;
        Ok(CiCdDto {
            registration_type: kind,
            stack_name: stack.to_string(),
            routing_rules: rule.map(|r| r.criteria.0).unwrap_or_default(),
            promotion_hierarchies: workflow.map(|w| w.hierarchies.0).unwrap_or_default(),
            ci_system: project.ci_system,
            map_to_all_cis: None,
        })
    }

    /// Deletes the project's default rule and workflow and forgets its registration type.
    pub async fn reset_ci_cd(&self, user: &AuthUser, stack: &str) -> Result<()> {
        self.lookups.project(stack).await?;
        self.identity
            .require(user, stack, permissions::CI_CD_CONFIGURE)
            .await?;
        let mut tx = self.store.begin().await?;
        tx.delete_default_rules(stack).await?;
        tx.delete_default_workflows(stack).await?;
        tx.clear_project_type(stack).await?;
        let audit = Audit::new(&user.username, "CI_CD", "CI_CD_RESET")
            .target(stack)
            .stack(stack);
        commit(tx, &audit).await
    }
}
