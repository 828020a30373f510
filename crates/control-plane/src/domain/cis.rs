//! CI integrations: create, change how they route and promote (their mode, rule and workflow),
//! delete, find, and list their builds.

use super::auth::AuthUser;
use super::strategy::new_ci;
use super::wire::{ci_artifact_view, ci_view};
use super::{Routing, commit, permissions};
use crate::error::{Error, Result};
use crate::validate::{require, valid_component};
use wharf_api::{
    ArtifactCI, BulkEditWorkflowRequest, CiArtifactResponse, CiAttachRequest, CiMode,
    RegistrationType,
};
use wharf_store::{Audit, BuildFilter, CiRow, Tx};

/// Inserts a CI integration with its audit entry, inside `tx`.
async fn insert_ci(tx: &mut Tx, ci: &CiRow, user: &str) -> Result<()> {
    tx.insert_ci(ci).await?;
    let audit = Audit::new(user, "CI_INTEGRATION", "CI_INTEGRATION_CREATE")
        .target(&ci.name)
        .stack(&ci.project)
        .meta("registrationType", ci.registration_type);
    tx.record(&audit).await?;
    Ok(())
}

/// Refuses a rule or workflow of another project or registration type than the CI's.
fn check_same_scope(ci: &CiRow, project: &str, kind: RegistrationType, what: &str) -> Result<()> {
    if ci.project != project {
        return Err(Error::bad_request(format!(
            "the {what} belongs to project '{project}', the CI integration to '{}'",
            ci.project
        )));
    }
    if ci.registration_type != kind {
        return Err(Error::bad_request(format!(
            "the {what} is for {} buckets, the CI integration keeps {} buckets",
            kind.as_str(),
            ci.registration_type.as_str()
        )));
    }
    Ok(())
}

impl Routing {
    /// Every CI integration, of one project when given.
    pub async fn cis(&self, project: Option<&str>) -> Result<Vec<ArtifactCI>> {
        Ok(self.store.cis(project).await?.iter().map(ci_view).collect())
    }

    /// The CI integrations of a project, which must exist.
    pub async fn cis_of_project(&self, project: &str) -> Result<Vec<ArtifactCI>> {
        self.lookups.project(project).await?;
        self.cis(Some(project)).await
    }

    /// A CI integration's builds, newest first.
    pub async fn builds_of_ci(
        &self,
        name: &str,
        stack: Option<&str>,
        filter: &BuildFilter,
    ) -> Result<Vec<CiArtifactResponse>> {
        let ci = self.lookups.ci_named(name, stack).await?;
        let rows = self.store.artifacts_of(&ci.id, filter).await?;
        Ok(rows.iter().map(ci_artifact_view).collect())
    }

    /// Creates a CI integration (its registration type defaults to the project's), audited.
    pub async fn create_ci(&self, user: &AuthUser, body: ArtifactCI) -> Result<ArtifactCI> {
        let project = require("stackName", body.stack_name.as_deref())?;
        let name = valid_component("ciName", body.ci_name())?;
        let project_row = self.lookups.project(&project).await?;
        self.identity
            .require(user, &project, permissions::ARTIFACT_CI_WRITE)
            .await?;
        if self.store.ci(&project, &name).await?.is_some() {
            return Err(Error::conflict(format!(
                "CI integration '{name}' already exists in project '{project}'"
            )));
        }
        let kind = body
            .registration_type
            .or(project_row.registration_type)
            .ok_or_else(|| {
                Error::bad_request(
                    "missing field `registrationType`: the project has no CI/CD configured yet",
                )
            })?;
        let ci = CiRow {
            description: body.description,
            artifactory: body.artifactory,
            ..new_ci(&project, &name, kind, &user.username)
        };
        let mut tx = self.store.begin().await?;
        insert_ci(&mut tx, &ci, &user.username).await?;
        tx.commit().await?;
        Ok(ci_view(&ci))
    }

    /// Changes a CI's description, artifactory, and what it follows, in one transaction with
    /// one audit entry: its own rule and workflow (`routingRuleId`/`workflowId`: mode
    /// `CUSTOM`), or `mode` `NONE` or `INHERITED`.
    pub async fn update_ci(
        &self,
        user: &AuthUser,
        id: &str,
        body: ArtifactCI,
    ) -> Result<ArtifactCI> {
        let mut ci = self.lookups.ci_by_id(id).await?;
        self.identity
            .require(user, &ci.project, permissions::ARTIFACT_CI_WRITE)
            .await?;
        if body.ci_name() != ci.name {
            return Err(Error::bad_request(format!(
                "field `ciName` cannot change (is '{}', asked '{}'); create a new CI integration",
                ci.name,
                body.ci_name()
            )));
        }
        if body
            .registration_type
            .is_some_and(|kind| kind != ci.registration_type)
        {
            return Err(Error::conflict(format!(
                "the registration type of CI integration '{}' is fixed at creation ({})",
                ci.name,
                ci.registration_type.as_str()
            )));
        }
        let (own_rule, own_workflow) = (body.own_rule(), body.own_workflow());
        if own_rule.is_some() || own_workflow.is_some() {
            self.check_own_rule_and_workflow(&ci, own_rule, own_workflow)
                .await?;
            ci.mode = CiMode::Custom;
            ci.routing_rule_id = own_rule.map(str::to_string);
            ci.workflow_id = own_workflow.map(str::to_string);
        } else if let Some(mode) = body.mode
            && mode != ci.mode
        {
            if mode == CiMode::Custom {
                return Err(Error::bad_request(
                    "field `mode` CUSTOM comes with routingRuleId or workflowId",
                ));
            }
            ci.mode = mode;
            ci.routing_rule_id = None;
            ci.workflow_id = None;
        }
        ci.description = body.description;
        ci.artifactory = body.artifactory.or(ci.artifactory);
        let audit = Audit::new(&user.username, "CI_INTEGRATION", "CI_INTEGRATION_UPDATE")
            .target(&ci.name)
            .stack(&ci.project)
            .meta("mode", ci.mode)
            .meta("routingRuleId", &ci.routing_rule_id)
            .meta("workflowId", &ci.workflow_id);
        let mut tx = self.store.begin().await?;
        tx.update_ci(&ci).await?;
        commit(tx, &audit).await?;
        Ok(ci_view(&ci))
    }

    async fn check_own_rule_and_workflow(
        &self,
        ci: &CiRow,
        rule_id: Option<&str>,
        workflow_id: Option<&str>,
    ) -> Result<()> {
        if let Some(id) = rule_id {
            let rule = self.lookups.rule(id).await?;
            check_same_scope(ci, &rule.project, rule.registration_type, "rule")?;
        }
        if let Some(id) = workflow_id {
            let workflow = self.lookups.workflow(id).await?;
            check_same_scope(
                ci,
                &workflow.project,
                workflow.registration_type,
                "workflow",
            )?;
        }
        Ok(())
    }

    /// Deletes a CI integration that has no builds (checked inside the transaction), with the
    /// rule and workflow it owned as a service; answers what was deleted, as Facets does.
    pub async fn delete_ci(&self, user: &AuthUser, id: &str) -> Result<ArtifactCI> {
        let ci = self.lookups.ci_by_id(id).await?;
        self.identity
            .require(user, &ci.project, permissions::ARTIFACT_CI_DELETE)
            .await?;
        let mut tx = self.store.begin().await?;
        let builds = tx.builds_of_ci(&ci.id).await?;
        if builds > 0 {
            return Err(Error::bad_request(format!(
                "Cannot delete: artifacts still registered ({builds} builds in this CI integration)"
            )));
        }
        super::strategy::delete_own_rows(&mut tx, &ci).await?;
        tx.delete_ci(&ci.id).await?;
        let audit = Audit::new(&user.username, "CI_INTEGRATION", "CI_INTEGRATION_DELETE")
            .target(&ci.name)
            .stack(&ci.project);
        commit(tx, &audit).await?;
        Ok(ci_view(&ci))
    }

    /// `PUT /ci-cd/attach` (`mode` INHERITED: the project's default rule and workflow; the CI
    /// is created when missing) and `PUT /ci-cd/detach` (`mode` NONE: no rule, no workflow).
    pub async fn follow(
        &self,
        user: &AuthUser,
        body: &CiAttachRequest,
        mode: CiMode,
    ) -> Result<ArtifactCI> {
        let project = require("blueprintName", Some(&body.blueprint_name))?;
        let name = valid_component("ciName", &body.ci_name)?;
        self.lookups.project(&project).await?;
        self.identity
            .require(user, &project, permissions::CI_CD_CONFIGURE)
            .await?;
        let mut tx = self.store.begin().await?;
        let mut ci = match self.store.ci(&project, &name).await? {
            Some(ci) => ci,
            None if mode == CiMode::Inherited => {
                let ci = new_ci(&project, &name, body.registration_type, &user.username);
                insert_ci(&mut tx, &ci, &user.username).await?;
                ci
            }
            None => {
                return Err(Error::not_found(format!(
                    "CI integration '{name}' not found in project '{project}'"
                )));
            }
        };
        if ci.registration_type != body.registration_type {
            return Err(Error::conflict(format!(
                "CI integration '{name}' keeps {} buckets; it cannot follow {} rules",
                ci.registration_type.as_str(),
                body.registration_type.as_str()
            )));
        }
        ci.mode = mode;
        ci.routing_rule_id = None;
        ci.workflow_id = None;
        tx.update_ci(&ci).await?;
        let action = match mode {
            CiMode::None => "CI_INTEGRATION_DETACH",
            _ => "CI_INTEGRATION_ATTACH",
        };
        let audit = Audit::new(&user.username, "CI_INTEGRATION", action)
            .target(&name)
            .stack(&project);
        commit(tx, &audit).await?;
        Ok(ci_view(&ci))
    }

    /// `POST /artifacts-ci/bulk-edit-workflow`: these CIs promote along this workflow (keeping
    /// their own rule when they have one), in one transaction.
    pub async fn bulk_edit_workflow(
        &self,
        user: &AuthUser,
        body: &BulkEditWorkflowRequest,
    ) -> Result<Vec<ArtifactCI>> {
        let workflow = self.lookups.workflow(&body.workflow_id).await?;
        self.identity
            .require(user, &workflow.project, permissions::ARTIFACT_CI_WRITE)
            .await?;
        let mut cis = Vec::new();
        for id in &body.artifact_ci_ids {
            let ci = self.lookups.ci_by_id(id).await?;
            check_same_scope(
                &ci,
                &workflow.project,
                workflow.registration_type,
                "workflow",
            )?;
            cis.push(ci);
        }
        let mut tx = self.store.begin().await?;
        for ci in &mut cis {
            if ci.mode != CiMode::Custom {
                ci.routing_rule_id = None;
            }
            ci.mode = CiMode::Custom;
            ci.workflow_id = Some(workflow.id.clone());
            tx.update_ci(ci).await?;
            let audit = Audit::new(&user.username, "CI_INTEGRATION", "CI_INTEGRATION_UPDATE")
                .target(&ci.name)
                .stack(&ci.project)
                .meta("workflowId", &workflow.id);
            tx.record(&audit).await?;
        }
        tx.commit().await?;
        Ok(cis.iter().map(ci_view).collect())
    }
}
