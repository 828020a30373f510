//! Promotion workflows: ordered stages, each a bucket of the project.

use super::auth::AuthUser;
use super::wire::workflow_view;
use super::{Routing, commit, permissions};
use crate::error::{Error, Result};
use crate::validate::require;
use std::collections::BTreeSet;
use wharf_api::{ClosedSet, PromotionWorkflow, RegistrationType, WorkflowHierarchy};
use wharf_store::{Audit, Change, JsonText, Tx, WorkflowRow, new_id, now};

/// Replaces the default workflow's stages, keeping its id, or creates it.
pub async fn replace_default_workflow(
    tx: &mut Tx,
    project: &str,
    kind: RegistrationType,
    stages: &[WorkflowHierarchy],
) -> Result<Change> {
    match tx.default_workflow(project, kind).await? {
        Some(current) if current.hierarchies.0 == stages => Ok(Change::Unchanged),
        Some(current) => {
            tx.update_workflow(&current.id, &current.name, stages, true)
                .await?;
            Ok(Change::Updated)
        }
        None => {
            tx.insert_workflow(&WorkflowRow {
                id: new_id(),
                project: project.to_string(),
                name: "default".into(),
                registration_type: kind,
                is_default: true,
                hierarchies: JsonText(stages.to_vec()),
                created_at: now(),
            })
            .await?;
            Ok(Change::Created)
        }
    }
}

/// Stages in sequence order, as given by a list of names.
pub fn stages_named(order: &[String]) -> Vec<WorkflowHierarchy> {
    order
        .iter()
        .zip(1..)
        .map(|(stage, sequence)| WorkflowHierarchy {
            sequence,
            registration_value: stage.clone(),
        })
        .collect()
}

fn duplicate_default(error: wharf_store::Error) -> Error {
    if error.is_duplicate() {
        return Error::conflict(
            "a default workflow already exists for this project and registration type",
        );
    }
    error.into()
}

impl Routing {
    /// Workflows, of one project and type when given.
    pub async fn workflows(
        &self,
        stack: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Vec<PromotionWorkflow>> {
        let kind = kind.map(RegistrationType::from_name).transpose()?;
        let rows = self.store.workflows(stack, kind).await?;
        Ok(rows.iter().map(workflow_view).collect())
    }

    pub async fn workflows_of_project(&self, stack: &str) -> Result<Vec<PromotionWorkflow>> {
        self.lookups.project(stack).await?;
        self.workflows(Some(stack), None).await
    }

    pub async fn default_workflow(&self, stack: &str, kind: &str) -> Result<PromotionWorkflow> {
        let kind = RegistrationType::from_name(kind)?;
        let row = self.store.default_workflow(stack, kind).await?;
        let row = row.ok_or_else(|| {
            Error::not_found(format!(
                "project '{stack}' has no default {} workflow",
                kind.as_str()
            ))
        })?;
        Ok(workflow_view(&row))
    }

    /// Checks the stages name buckets of the project, once each; answers them in order.
    async fn checked_stages(&self, body: &PromotionWorkflow) -> Result<Vec<WorkflowHierarchy>> {
        if body.hierarchies.is_empty() {
            return Err(Error::bad_request(
                "field `hierarchies` must list at least one stage",
            ));
        }
        let mut stages = body.hierarchies.clone();
        stages.sort_by_key(|s| s.sequence);
        let mut seen = BTreeSet::new();
        for (i, stage) in stages.iter().enumerate() {
            if !seen.insert(stage.registration_value.as_str()) {
                return Err(Error::bad_request(format!(
                    "hierarchies[{i}]: stage '{}' is listed twice",
                    stage.registration_value
                )));
            }
            self.lookups
                .require_bucket(
                    &body.stack_name,
                    body.registration_type,
                    &stage.registration_value,
                )
                .await
                .map_err(|e| Error::bad_request(format!("hierarchies[{i}]: {e}")))?;
        }
        Ok(stages)
    }

    pub async fn create_workflow(
        &self,
        user: &AuthUser,
        body: PromotionWorkflow,
    ) -> Result<PromotionWorkflow> {
        let project = require("stackName", Some(&body.stack_name))?;
        self.lookups.project(&project).await?;
        let stages = self.checked_stages(&body).await?;
        self.identity
            .require(user, &project, permissions::PROMOTIONAL_WORKFLOW_WRITE)
            .await?;
        let row = WorkflowRow {
            id: new_id(),
            project,
            name: body.workflow_name().unwrap_or("workflow").to_string(),
            registration_type: body.registration_type,
            is_default: body.is_default(),
            hierarchies: JsonText(stages),
            created_at: now(),
        };
        let audit = Audit::new(
            &user.username,
            "PROMOTION_WORKFLOW",
            "PROMOTION_WORKFLOW_CREATE",
        )
        .target(&row.id)
        .stack(&row.project)
        .meta("name", &row.name)
        .meta("hierarchies", &row.hierarchies.0);
        let mut tx = self.store.begin().await?;
        tx.insert_workflow(&row).await.map_err(duplicate_default)?;
        commit(tx, &audit).await?;
        Ok(workflow_view(&row))
    }

    pub async fn update_workflow(
        &self,
        user: &AuthUser,
        id: &str,
        body: PromotionWorkflow,
    ) -> Result<PromotionWorkflow> {
        let current = self.lookups.workflow(id).await?;
        if current.project != body.stack_name || current.registration_type != body.registration_type
        {
            return Err(Error::bad_request(
                "fields `stackName` and `registrationType` of a workflow cannot change",
            ));
        }
        let stages = self.checked_stages(&body).await?;
        self.identity
            .require(
                user,
                &current.project,
                permissions::PROMOTIONAL_WORKFLOW_WRITE,
            )
            .await?;
        let name = body.workflow_name().unwrap_or("workflow").to_string();
        let audit = Audit::new(
            &user.username,
            "PROMOTION_WORKFLOW",
            "PROMOTION_WORKFLOW_UPDATE",
        )
        .target(id)
        .stack(&current.project)
        .meta("hierarchies", &stages);
        let mut tx = self.store.begin().await?;
        tx.update_workflow(id, &name, &stages, body.is_default())
            .await
            .map_err(duplicate_default)?;
        commit(tx, &audit).await?;
        Ok(workflow_view(&self.lookups.workflow(id).await?))
    }

    /// Deletes a workflow no CI integration uses as its own (checked inside the transaction);
    /// answers what was deleted, as Facets does.
    pub async fn delete_workflow(&self, user: &AuthUser, id: &str) -> Result<PromotionWorkflow> {
        let workflow = self.lookups.workflow(id).await?;
        self.identity
            .require(
                user,
                &workflow.project,
                permissions::PROMOTIONAL_WORKFLOW_DELETE,
            )
            .await?;
        let mut tx = self.store.begin().await?;
        let users = tx.cis_using_workflow(id).await?;
        if !users.is_empty() {
            return Err(Error::bad_request(format!(
                "Cannot delete: workflow is used by CI integrations {}",
                users.join(", ")
            )));
        }
        if !tx.delete_workflow(id).await? {
            return Err(Error::not_found(format!("workflow '{id}' not found")));
        }
        let audit = Audit::new(
            &user.username,
            "PROMOTION_WORKFLOW",
            "PROMOTION_WORKFLOW_DELETE",
        )
        .target(id)
        .stack(&workflow.project);
        commit(tx, &audit).await?;
        Ok(workflow_view(&workflow))
    }
}
