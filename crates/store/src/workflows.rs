//! Promotion workflows: ordered stages (environments or release streams).

use crate::{JsonText, Result, Store, Table, Tx, WorkflowRow};
use wharf_api::{RegistrationType, WorkflowHierarchy};

/// `SELECT <every workflow column> FROM workflows <rest>`, as one literal.
macro_rules! select_workflows {
    ($rest:literal) => {
        concat!(
            "SELECT id, project, name, registration_type, is_default, hierarchies, created_at
             FROM workflows ",
            $rest
        )
    };
}

impl Store {
    pub async fn workflow(&self, id: &str) -> Result<Option<WorkflowRow>> {
        let key = format!("workflow\0{id}");
        self.cached(key, &[Table::Workflows], async {
            Ok(on!(&self.reader, |e| sqlx::query_as(select_workflows!(
                "WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(e)
            .await)?)
        })
        .await
    }

    /// Workflows, of one project and one registration type when given.
    pub async fn workflows(
        &self,
        project: Option<&str>,
        kind: Option<RegistrationType>,
    ) -> Result<Vec<WorkflowRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_workflows!(
            "WHERE ($1 IS NULL OR project = $1) AND ($2 IS NULL OR registration_type = $2)
             ORDER BY project, is_default DESC, name"
        ))
        .bind(project)
        .bind(kind)
        .fetch_all(e)
        .await)?)
    }

    pub async fn default_workflow(
        &self,
        project: &str,
        kind: RegistrationType,
    ) -> Result<Option<WorkflowRow>> {
        let key = format!("default-workflow\0{project}\0{kind:?}");
        self.cached(key, &[Table::Workflows], async {
            Ok(on!(&self.reader, |e| sqlx::query_as(select_workflows!(
                "WHERE project = $1 AND registration_type = $2 AND is_default = TRUE"
            ))
            .bind(project)
            .bind(kind)
            .fetch_optional(e)
            .await)?)
        })
        .await
    }
}

impl Tx {
    pub async fn workflow(&mut self, id: &str) -> Result<Option<WorkflowRow>> {
        Ok(in_tx!(self, |e| sqlx::query_as(select_workflows!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// The default workflow, read inside the transaction that will replace it.
    pub async fn default_workflow(
        &mut self,
        project: &str,
        kind: RegistrationType,
    ) -> Result<Option<WorkflowRow>> {
        Ok(in_tx!(self, |e| sqlx::query_as(select_workflows!(
            "WHERE project = $1 AND registration_type = $2 AND is_default = TRUE"
        ))
        .bind(project)
        .bind(kind)
        .fetch_optional(e)
        .await)?)
    }

    /// Inserts a workflow; a second default for one project and type is a duplicate.
    pub async fn insert_workflow(&mut self, workflow: &WorkflowRow) -> Result<()> {
        execute!(
            self,
            "INSERT INTO workflows (id, project, name, registration_type, is_default, hierarchies,
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &workflow.id,
            &workflow.project,
            &workflow.name,
            workflow.registration_type,
            workflow.is_default,
            &workflow.hierarchies,
            &workflow.created_at,
        )?;
        Ok(())
    }

    pub async fn update_workflow(
        &mut self,
        id: &str,
        name: &str,
        stages: &[WorkflowHierarchy],
        is_default: bool,
    ) -> Result<()> {
        execute!(
            self,
            "UPDATE workflows SET name = $1, hierarchies = $2, is_default = $3 WHERE id = $4",
            name,
            JsonText(stages),
            is_default,
            id,
        )?;
        Ok(())
    }

    pub async fn delete_workflow(&mut self, id: &str) -> Result<bool> {
        Ok(execute!(self, "DELETE FROM workflows WHERE id = $1", id)? > 0)
    }

    pub async fn delete_default_workflows(&mut self, project: &str) -> Result<()> {
        execute!(
            self,
            "DELETE FROM workflows WHERE project = $1 AND is_default = TRUE",
            project,
        )?;
        Ok(())
    }
}
