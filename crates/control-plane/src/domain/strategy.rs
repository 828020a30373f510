//! A service's image strategy (Facets' Images tab): `project` follows the project's rules and
//! workflow, `service` its own (rule, workflow, registration type), `manual` none (images are
//! attached to each environment by hand). A strategy is a view of the CI's mode; this module
//! is the one place that changes it together with the service's own rule and workflow, for the
//! API, the CLI, the UI and the project file alike.
//!
//! Switching never moves a build: builds already placed stay where they are, and what each
//! environment deploys changes only when a new build lands.

use super::auth::AuthUser;
use super::lookups::kind_name;
use super::workflows::stages_named;
use super::{Routing, permissions};
use crate::error::{Error, Result};
use wharf_api::{
    CiCustomCiCdRequest, CiCustomCiCdResponse, CiMode, CiSystem, ClosedSet, Criterion,
    RegistrationType, ServiceStrategy, Strategy, StrategyChange, StrategyChanged,
};
use wharf_store::{Audit, CiRow, JsonText, RuleChange, RuleRow, Tx, WorkflowRow, new_id, now};

/// A new CI integration following the project's defaults.
pub fn new_ci(project: &str, name: &str, kind: RegistrationType, user: &str) -> CiRow {
    CiRow {
        id: new_id(),
        project: project.to_string(),
        name: name.to_string(),
        registration_type: kind,
        description: None,
        artifactory: None,
        created_by: Some(user.to_string()),
        created_at: now(),
        mode: CiMode::Inherited,
        routing_rule_id: None,
        workflow_id: None,
    }
}

/// The name of a service's own rule and workflow (created and deleted with its strategy).
pub fn own_name(service: &str) -> String {
    format!("{service} (service)")
}

/// What a strategy change asks for, whoever asks.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub strategy: Strategy,
    /// `service`: the registration type it keeps (none: the one it has).
    pub registration_type: Option<RegistrationType>,
    pub ci_system: Option<CiSystem>,
    /// `service`: its criteria (none: keep its own, if any).
    pub criteria: Option<Vec<Criterion>>,
    /// `service`: its stages in order (none: keep its own, if any).
    pub order: Option<Vec<String>>,
    /// Allow the registration type to change (its own rule and workflow are deleted first).
    pub reset: bool,
}

impl From<&StrategyChange> for Wanted {
    fn from(change: &StrategyChange) -> Self {
        Self {
            strategy: change.strategy,
            registration_type: change.registration_type,
            ci_system: change.ci_system,
            criteria: change.routing_rules.clone(),
            order: change.promotion_order.clone(),
            reset: change.reset,
        }
    }
}

/// A service's strategy as the project and its own rows say it, read inside `tx`.
pub async fn strategy_in(tx: &mut Tx, ci: &CiRow) -> Result<ServiceStrategy> {
    let strategy = Strategy::of_mode(ci.mode);
    let project_rule = tx.default_rule(&ci.project, ci.registration_type).await?;
    let project_workflow = tx
        .default_workflow(&ci.project, ci.registration_type)
        .await?;
    let project_criteria = project_rule
        .as_ref()
        .map(|r| r.criteria.0.clone())
        .unwrap_or_default();
    let project_order = order_of(project_workflow.as_ref());
    let (own_rule, own_workflow) = own_rows(tx, ci).await?;
    let mut view = ServiceStrategy {
        project: ci.project.clone(),
        service: ci.name.clone(),
        strategy,
        registration_type: Some(ci.registration_type),
        meaning: format!("service '{}' {}", ci.name, strategy.meaning()),
        ..Default::default()
    };
    match strategy {
        Strategy::Project => {
            view.ci_system = project_rule.as_ref().and_then(|r| r.ci_system);
            view.routing_rules = project_criteria;
            view.promotion_order = project_order;
        }
        Strategy::Service => {
            view.ci_system = own_rule.as_ref().and_then(|r| r.ci_system);
            view.routing_rules = own_rule.map(|r| r.criteria.0).unwrap_or_default();
            view.promotion_order = order_of(own_workflow.as_ref());
            view.project_routing_rules = Some(project_criteria);
            view.project_promotion_order = Some(project_order);
        }
        Strategy::Manual => {}
    }
    Ok(view)
}

fn order_of(workflow: Option<&WorkflowRow>) -> Vec<String> {
    workflow
        .map(|w| {
            w.hierarchies
                .0
                .iter()
                .map(|h| h.registration_value.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The CI's own rule and workflow rows, when it has them.
async fn own_rows(tx: &mut Tx, ci: &CiRow) -> Result<(Option<RuleRow>, Option<WorkflowRow>)> {
    let rule = match &ci.routing_rule_id {
        Some(id) => tx.rule(id).await?,
        None => None,
    };
    let workflow = match &ci.workflow_id {
        Some(id) => tx.workflow(id).await?,
        None => None,
    };
    Ok((rule, workflow))
}

/// Changes `ci`'s strategy inside `tx` (with its audit entry when anything changed); answers
/// the CI as it now is and one sentence per change. Criteria and stages are checked to be
/// buckets of the project of the service's registration type.
pub async fn change_strategy(
    tx: &mut Tx,
    ci: &CiRow,
    wanted: &Wanted,
    user: &str,
) -> Result<(CiRow, Vec<String>)> {
    let before = Strategy::of_mode(ci.mode);
    let mut after = ci.clone();
    let mut changes = Vec::new();
    let kind = match wanted.strategy {
        Strategy::Service => wanted.registration_type.unwrap_or(ci.registration_type),
        _ => ci.registration_type,
    };
    if kind == RegistrationType::Hybrid {
        return Err(Error::bad_request(
            "field `registrationType` HYBRID is not supported; use ENVIRONMENT or RELEASE_STREAM",
        ));
    }
    if kind != ci.registration_type {
        if !wanted.reset {
            return Err(Error::conflict(format!(
                "service '{}' keeps {} buckets; it cannot change to {} without a reset, which \
                 deletes its own rule and workflow (its builds stay where they are): run `wharf \
                 strategy --project {} --service {} --set service --registration-type {} \
                 --reset` (API: \"reset\": true)",
                ci.name,
                ci.registration_type.as_str(),
                kind.as_str(),
                ci.project,
                ci.name,
                kind.as_str(),
            )));
        }
        delete_own_rows(tx, ci).await?;
        after.routing_rule_id = None;
        after.workflow_id = None;
        after.registration_type = kind;
        changes.push(format!(
            "service '{}': registration type {} → {} (reset: its own rule and workflow deleted)",
            ci.name,
            ci.registration_type.as_str(),
            kind.as_str()
        ));
    }
    match wanted.strategy {
        Strategy::Service => {
            check_stages(tx, &ci.project, kind, wanted).await?;
            let (rule, workflow) = own_rows(tx, &after).await?;
            let was = (
                rule.as_ref().map(|r| (r.criteria.0.clone(), r.ci_system)),
                order_of(workflow.as_ref()),
            );
            let rule = save_own_rule(tx, &after, rule, wanted, user).await?;
            let workflow = save_own_workflow(tx, &after, workflow, wanted).await?;
            let is = (
                Some((rule.criteria.0.clone(), rule.ci_system)),
                order_of(Some(&workflow)),
            );
            if was != is || before != Strategy::Service {
                describe_own(&mut changes, &after.name, &rule.criteria.0, &workflow);
            }
            after.mode = CiMode::Custom;
            after.routing_rule_id = Some(rule.id);
            after.workflow_id = Some(workflow.id);
        }
        Strategy::Project | Strategy::Manual => {
            if before == Strategy::Service || ci.mode == CiMode::Custom {
                delete_own_rows(tx, &after).await?;
            }
            after.mode = wanted.strategy.mode();
            after.routing_rule_id = None;
            after.workflow_id = None;
        }
    }
    if before != wanted.strategy {
        changes.insert(
            0,
            format!(
                "service '{}': strategy {} → {}: it {}",
                ci.name,
                before.name(),
                wanted.strategy.name(),
                wanted.strategy.meaning()
            ),
        );
        let placed = tx.builds_of_ci(&ci.id).await?;
        changes.push(format!(
            "its {placed} build(s) already placed stay where they are; what each environment \
             deploys changes only when a new build lands"
        ));
    }
    if after.mode != ci.mode
        || after.registration_type != ci.registration_type
        || after.routing_rule_id != ci.routing_rule_id
        || after.workflow_id != ci.workflow_id
        || !changes.is_empty()
    {
        tx.update_ci(&after).await?;
        let audit = Audit::new(user, "CI_INTEGRATION", "CI_STRATEGY_CHANGE")
            .target(&ci.name)
            .stack(&ci.project)
            .meta("from", before.name())
            .meta("to", wanted.strategy.name())
            .meta("registrationType", after.registration_type)
            .meta("changes", &changes)
            .meta("ciName", &ci.name);
        tx.record(&audit).await?;
        if before != wanted.strategy {
            super::events::emit_audited(tx, "strategy.changed", &audit).await?;
        }
    }
    Ok((after, changes))
}

fn describe_own(
    changes: &mut Vec<String>,
    service: &str,
    criteria: &[Criterion],
    workflow: &WorkflowRow,
) {
    let order = order_of(Some(workflow));
    let routes = if criteria.is_empty() {
        "no criteria (every build it registers stays unclassified until it has some)".to_string()
    } else {
        criteria
            .iter()
            .map(Criterion::describe)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let promotes = if order.is_empty() {
        "nowhere (no promotion order)".to_string()
    } else {
        order.join(" → ")
    };
    changes.push(format!(
        "service '{service}' routes by its own rule: {routes}; and promotes along {promotes}"
    ));
}

/// Refuses criteria and stages that are not buckets of the project for `kind`.
async fn check_stages(
    tx: &mut Tx,
    project: &str,
    kind: RegistrationType,
    wanted: &Wanted,
) -> Result<()> {
    let route_tos = wanted
        .criteria
        .iter()
        .flatten()
        .map(|c| ("routing", &c.route_to));
    let stages = wanted
        .order
        .iter()
        .flatten()
        .map(|s| ("promotion order", s));
    for (field, name) in route_tos.chain(stages) {
        if !tx.bucket_exists(project, kind, name).await? {
            return Err(Error::bad_request(format!(
                "{field}: '{name}' is not a {} of project '{project}' (the service keeps {} \
                 buckets)",
                kind_name(kind),
                kind.as_str()
            )));
        }
    }
    if let Some(order) = &wanted.order {
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = order.iter().find(|s| !seen.insert(s.as_str())) {
            return Err(Error::bad_request(format!(
                "promotion order: stage '{twice}' is listed twice"
            )));
        }
    }
    for criterion in wanted.criteria.iter().flatten() {
        if criterion.metadata_key.trim().is_empty() || criterion.value.is_empty() {
            return Err(Error::bad_request(
                "routing: a criterion's metadataKey and value must not be empty",
            ));
        }
    }
    Ok(())
}

async fn save_own_rule(
    tx: &mut Tx,
    ci: &CiRow,
    current: Option<RuleRow>,
    wanted: &Wanted,
    user: &str,
) -> Result<RuleRow> {
    match current {
        Some(mut rule) if rule.rule_name == own_name(&ci.name) => {
            if let Some(criteria) = &wanted.criteria {
                rule.criteria = JsonText(criteria.clone());
            }
            rule.ci_system = wanted.ci_system.or(rule.ci_system);
            let change = RuleChange {
                rule_name: &rule.rule_name,
                criteria: &rule.criteria.0,
                ci_system: rule.ci_system,
                is_default: false,
            };
            tx.update_rule(&rule.id, &change).await?;
            Ok(rule)
        }
        // A rule shared with others (set through the Facets API) is not the service's to
        // change: it gets its own, starting from that rule's criteria.
        current => {
            let criteria = wanted
                .criteria
                .clone()
                .or(current.map(|r| r.criteria.0))
                .unwrap_or_default();
            let rule = RuleRow {
                id: new_id(),
                project: ci.project.clone(),
                rule_name: own_name(&ci.name),
                registration_type: ci.registration_type,
                is_default: false,
                ci_system: wanted.ci_system,
                criteria: JsonText(criteria),
                created_by: Some(user.to_string()),
                created_at: now(),
            };
            tx.insert_rule(&rule).await?;
            Ok(rule)
        }
    }
}

async fn save_own_workflow(
    tx: &mut Tx,
    ci: &CiRow,
    current: Option<WorkflowRow>,
    wanted: &Wanted,
) -> Result<WorkflowRow> {
    match current {
        Some(mut workflow) if workflow.name == own_name(&ci.name) => {
            if let Some(order) = &wanted.order {
                workflow.hierarchies = JsonText(stages_named(order));
                tx.update_workflow(&workflow.id, &workflow.name, &workflow.hierarchies.0, false)
                    .await?;
            }
            Ok(workflow)
        }
        current => {
            let stages = match &wanted.order {
                Some(order) => stages_named(order),
                None => current.map(|w| w.hierarchies.0).unwrap_or_default(),
            };
            let workflow = WorkflowRow {
                id: new_id(),
                project: ci.project.clone(),
                name: own_name(&ci.name),
                registration_type: ci.registration_type,
                is_default: false,
                hierarchies: JsonText(stages),
                created_at: now(),
            };
            tx.insert_workflow(&workflow).await?;
            Ok(workflow)
        }
    }
}

/// Deletes the rule and workflow the service owns (named [`own_name`]); shared ones stay.
pub(super) async fn delete_own_rows(tx: &mut Tx, ci: &CiRow) -> Result<()> {
    let (rule, workflow) = own_rows(tx, ci).await?;
    if let Some(rule) = rule.filter(|r| r.rule_name == own_name(&ci.name)) {
        tx.delete_rule(&rule.id).await?;
    }
    if let Some(workflow) = workflow.filter(|w| w.name == own_name(&ci.name)) {
        tx.delete_workflow(&workflow.id).await?;
    }
    Ok(())
}

impl Routing {
    /// A service's strategy, with the rules and order it follows.
    pub async fn strategy(&self, project: &str, service: &str) -> Result<ServiceStrategy> {
        let ci = self.lookups.ci(project, service).await?;
        let mut tx = self.store.begin().await?;
        let view = strategy_in(&mut tx, &ci).await?;
        tx.rollback().await?;
        Ok(view)
    }

    /// Changes a service's strategy in one transaction, audited; `dry_run` says what would
    /// change and changes nothing. Needs `CI_CD_CONFIGURE` on the project.
    pub async fn set_strategy(
        &self,
        user: &AuthUser,
        project: &str,
        service: &str,
        change: &StrategyChange,
    ) -> Result<StrategyChanged> {
        let ci = self.lookups.ci(project, service).await?;
        self.identity
            .require(user, project, permissions::CI_CD_CONFIGURE)
            .await?;
        let mut tx = self.store.begin().await?;
        let before = strategy_in(&mut tx, &ci).await?;
        let (now_ci, mut changes) =
            change_strategy(&mut tx, &ci, &Wanted::from(change), &user.username).await?;
        let after = strategy_in(&mut tx, &now_ci).await?;
        if changes.is_empty() {
            changes.push(format!(
                "service '{service}' already {}",
                change.strategy.meaning()
            ));
        }
        if change.dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(StrategyChanged {
            before,
            after,
            changes,
            dry_run: change.dry_run,
        })
    }
}

impl Routing {
    /// Facets' `POST /cc-ui/v1/ci-cd/ci/{ciName}/custom`: the service gets its own rule and
    /// workflow (created, or updated in place), the CI created when missing. As in Facets, the
    /// registration type may change only while the CI has no rule of its own.
    pub async fn save_custom_ci_cd(
        &self,
        user: &AuthUser,
        ci_name: &str,
        body: &CiCustomCiCdRequest,
    ) -> Result<CiCustomCiCdResponse> {
        let project = crate::validate::require("stackName", Some(&body.stack_name))?;
        let name = crate::validate::valid_component("ciName", ci_name)?;
        self.lookups.project(&project).await?;
        self.identity
            .require(user, &project, permissions::ARTIFACT_CI_WRITE)
            .await?;
        let mut hierarchies = body.promotion_hierarchies.clone();
        hierarchies.sort_by_key(|h| h.sequence);
        let mut tx = self.store.begin().await?;
        let ci = match tx.ci_in_tx(&project, &name).await? {
            Some(ci) => ci,
            None => {
                let ci = new_ci(&project, &name, body.registration_type, &user.username);
                tx.insert_ci(&ci).await?;
                let audit = Audit::new(&user.username, "CI_INTEGRATION", "CI_INTEGRATION_CREATE")
                    .target(&ci.name)
                    .stack(&ci.project)
                    .meta("registrationType", ci.registration_type);
                tx.record(&audit).await?;
                ci
            }
        };
        let wanted = Wanted {
            strategy: Strategy::Service,
            registration_type: Some(body.registration_type),
            ci_system: body.ci_system,
            criteria: Some(body.routing_rules.clone()),
            order: Some(
                hierarchies
                    .into_iter()
                    .map(|h| h.registration_value)
                    .collect(),
            ),
            reset: ci.mode != CiMode::Custom,
        };
        let (ci, _) = change_strategy(&mut tx, &ci, &wanted, &user.username).await?;
        let view = strategy_in(&mut tx, &ci).await?;
        tx.commit().await?;
        Ok(custom_view(&ci, view))
    }

    /// Facets' `GET /cc-ui/v1/ci-cd/ci/{ciName}`: what the service follows.
    pub async fn custom_ci_cd(
        &self,
        ci_name: &str,
        stack: Option<&str>,
    ) -> Result<CiCustomCiCdResponse> {
        let ci = self.lookups.ci_named(ci_name, stack).await?;
        let view = self.strategy(&ci.project, &ci.name).await?;
        Ok(custom_view(&ci, view))
    }
}

fn custom_view(ci: &CiRow, view: ServiceStrategy) -> CiCustomCiCdResponse {
    CiCustomCiCdResponse {
        ci_name: Some(ci.name.clone()),
        stack_name: Some(ci.project.clone()),
        rule_id: ci.routing_rule_id.clone(),
        promotion_workflow_id: ci.workflow_id.clone(),
        registration_type: Some(ci.registration_type),
        mode: Some(ci.mode),
        routing_rules: view.routing_rules,
        promotion_hierarchies: stages_named(&view.promotion_order),
        ci_system: view.ci_system,
    }
}
