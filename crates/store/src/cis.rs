//! CI integrations. Which rule and workflow a CI follows is the domain's to decide
//! (`ControlPlane::rule_of`, `workflow_of`), from the CI's mode and its own ids read here.

use crate::{CiRow, Result, Store, Table, Tx};

/// `SELECT <every CI integration column> FROM ci_integrations <rest>`, as one literal.
macro_rules! select_cis {
    ($rest:literal) => {
        concat!(
            "SELECT id, project, name, registration_type, description, artifactory, created_by,
             created_at, mode, routing_rule_id, workflow_id FROM ci_integrations ",
            $rest
        )
    };
}

impl Store {
    pub async fn ci(&self, project: &str, name: &str) -> Result<Option<CiRow>> {
        let key = format!("ci\0{project}\0{name}");
        self.cached(key, &[Table::CiIntegrations], async {
            Ok(on!(&self.reader, |e| {
                sqlx::query_as(select_cis!("WHERE project = $1 AND name = $2"))
                    .bind(project)
                    .bind(name)
                    .fetch_optional(e)
                    .await
            })?)
        })
        .await
    }

    pub async fn ci_by_id(&self, id: &str) -> Result<Option<CiRow>> {
        let key = format!("ci-by-id\0{id}");
        self.cached(key, &[Table::CiIntegrations], async {
            Ok(on!(&self.reader, |e| sqlx::query_as(select_cis!(
                "WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(e)
            .await)?)
        })
        .await
    }

    /// CI integrations named `name` in any project (names are unique per project only).
    pub async fn cis_named(&self, name: &str) -> Result<Vec<CiRow>> {
        let key = format!("cis-named\0{name}");
        self.cached(key, &[Table::CiIntegrations], async {
            Ok(on!(&self.reader, |e| {
                sqlx::query_as(select_cis!("WHERE name = $1 ORDER BY project"))
                    .bind(name)
                    .fetch_all(e)
                    .await
            })?)
        })
        .await
    }

    /// Every CI integration, of one project when given.
    pub async fn cis(&self, project: Option<&str>) -> Result<Vec<CiRow>> {
        Ok(on!(&self.reader, |e| {
            sqlx::query_as(select_cis!(
                "WHERE $1 IS NULL OR project = $1 ORDER BY project, name"
            ))
            .bind(project)
            .fetch_all(e)
            .await
        })?)
    }
}

impl Tx {
    pub async fn insert_ci(&mut self, ci: &CiRow) -> Result<()> {
        execute!(
            self,
            "INSERT INTO ci_integrations (id, project, name, registration_type, description,
             artifactory, created_by, created_at, mode, routing_rule_id, workflow_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &ci.id,
            &ci.project,
            &ci.name,
            ci.registration_type,
            &ci.description,
            &ci.artifactory,
            &ci.created_by,
            &ci.created_at,
            ci.mode,
            &ci.routing_rule_id,
            &ci.workflow_id,
        )?;
        Ok(())
    }

    /// The CI `name` of `project`, read inside the transaction.
    pub async fn ci_in_tx(&mut self, project: &str, name: &str) -> Result<Option<CiRow>> {
        Ok(in_tx!(self, |e| sqlx::query_as(select_cis!(
            "WHERE project = $1 AND name = $2"
        ))
        .bind(project)
        .bind(name)
        .fetch_optional(e)
        .await)?)
    }

    /// Writes the CI's description, artifactory, mode, rule, workflow and registration type
    /// (the domain allows the last to change only with a reset).
    pub async fn update_ci(&mut self, ci: &CiRow) -> Result<()> {
        execute!(
            self,
            "UPDATE ci_integrations SET description = $1, artifactory = $2, mode = $3,
             routing_rule_id = $4, workflow_id = $5, registration_type = $6 WHERE id = $7",
            &ci.description,
            &ci.artifactory,
            ci.mode,
            &ci.routing_rule_id,
            &ci.workflow_id,
            ci.registration_type,
            &ci.id,
        )?;
        Ok(())
    }

    /// The names of the CI integrations that promote along workflow `id`.
    pub async fn cis_using_workflow(&mut self, id: &str) -> Result<Vec<String>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT name FROM ci_integrations WHERE workflow_id = $1 ORDER BY name"
        )
        .bind(id)
        .fetch_all(e)
        .await)?)
    }

    pub async fn delete_ci(&mut self, id: &str) -> Result<()> {
        execute!(self, "DELETE FROM ci_integrations WHERE id = $1", id)?;
        Ok(())
    }
}
