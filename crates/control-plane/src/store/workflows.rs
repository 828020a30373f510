//! Promotion workflows: ordered stages (environments or release streams).

use super::{Store, WorkflowRow, new_id, now};
use crate::audit::Audit;
use crate::error::{Error, Result};
use wharf_api::{RegistrationType, WorkflowHierarchy};

/// A workflow to create or replace.
#[derive(Debug, Clone)]
pub struct NewWorkflow {
    pub project: String,
    pub name: String,
    pub registration_type: RegistrationType,
    pub stages: Vec<WorkflowHierarchy>,
    pub is_default: bool,
}

impl Store {
    pub async fn workflow(&self, id: &str) -> Result<Option<WorkflowRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT id, project, name, registration_type, is_default, hierarchies FROM workflows
             WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// Workflows, of one project and one registration type when given.
    pub async fn workflows(
        &self,
        project: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Vec<WorkflowRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT id, project, name, registration_type, is_default, hierarchies FROM workflows
             WHERE ($1 IS NULL OR project = $1) AND ($2 IS NULL OR registration_type = $2)
             ORDER BY project, is_default DESC, name",
        )
        .bind(project)
        .bind(kind)
        .fetch_all(e)
        .await)?)
    }

    pub async fn insert_workflow(&self, workflow: &NewWorkflow, audit: Audit) -> Result<String> {
        let id = new_id();
        let mut tx = self.begin().await?;
        in_tx!(&mut tx, |e| sqlx::query(
            "INSERT INTO workflows (id, project, name, registration_type, is_default, hierarchies,
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&workflow.project)
        .bind(&workflow.name)
        .bind(workflow.registration_type.as_str())
        .bind(workflow.is_default)
        .bind(serde_json::to_string(&workflow.stages).unwrap_or_else(|_| "[]".into()))
        .bind(now())
        .execute(e)
        .await
        .map(|r| r.rows_affected()))
        .map_err(default_taken)?;
        audit.target(&id).record(&mut tx).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn update_workflow(
        &self,
        id: &str,
        workflow: &NewWorkflow,
        audit: Audit,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        in_tx!(&mut tx, |e| sqlx::query(
            "UPDATE workflows SET name = $1, hierarchies = $2, is_default = $3 WHERE id = $4",
        )
        .bind(&workflow.name)
        .bind(serde_json::to_string(&workflow.stages).unwrap_or_else(|_| "[]".into()))
        .bind(workflow.is_default)
        .bind(id)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))
        .map_err(default_taken)?;
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a workflow no CI integration uses as its own.
    pub async fn delete_workflow(&self, id: &str, audit: Audit) -> Result<bool> {
        let mut tx = self.begin().await?;
        let users: Vec<(String,)> = in_tx!(&mut tx, |e| sqlx::query_as(
            "SELECT name FROM ci_integrations WHERE workflow_id = $1 ORDER BY name"
        )
        .bind(id)
        .fetch_all(e)
        .await)?;
        if !users.is_empty() {
            let names: Vec<_> = users.into_iter().map(|(n,)| n).collect();
            return Err(Error::bad_request(format!(
                "Cannot delete: workflow is used by CI integrations {}",
                names.join(", ")
            )));
        }
        let done = in_tx!(&mut tx, |e| sqlx::query(
            "DELETE FROM workflows WHERE id = $1"
        )
        .bind(id)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Ok(false);
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets how a CI integration routes and promotes: `NONE`, `INHERITED`, or `CUSTOM` with its
    /// own rule and workflow.
    pub async fn set_ci_mode(
        &self,
        ci_id: &str,
        mode: &str,
        rule_id: Option<&str>,
        workflow_id: Option<&str>,
        audit: Audit,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        in_tx!(&mut tx, |e| {
            sqlx::query(
            "UPDATE ci_integrations SET mode = $1, routing_rule_id = $2, workflow_id = $3 WHERE id = $4",
        )
        .bind(mode)
        .bind(rule_id)
        .bind(workflow_id)
        .bind(ci_id)
        .execute(e)
        .await.map(|r| r.rows_affected())
        })?;
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn default_taken(error: sqlx::Error) -> Error {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::conflict(
            "a default workflow already exists for this project and registration type",
        ),
        _ => error.into(),
    }
}
