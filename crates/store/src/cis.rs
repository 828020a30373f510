//! CI integrations, and the read a registration starts with: a CI and the rule it follows.

use crate::{CiRow, JsonText, Result, RuleRow, Store, Tx};
use sqlx::FromRow;
use wharf_api::Criterion;

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
        Ok(on!(&self.reader, |e| {
            sqlx::query_as(select_cis!("WHERE project = $1 AND name = $2"))
                .bind(project)
                .bind(name)
                .fetch_optional(e)
                .await
        })?)
    }

    pub async fn ci_by_id(&self, id: &str) -> Result<Option<CiRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_cis!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// CI integrations named `name` in any project (names are unique per project only).
    pub async fn cis_named(&self, name: &str) -> Result<Vec<CiRow>> {
        Ok(on!(&self.reader, |e| {
            sqlx::query_as(select_cis!("WHERE name = $1 ORDER BY project"))
                .bind(name)
                .fetch_all(e)
                .await
        })?)
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

    /// A CI integration with the rule it follows (its own, or the project's default for its
    /// registration type, or none), in one read: the hot path of every registration.
    pub async fn ci_with_rule(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<(CiRow, Option<RuleRow>)>> {
        let row: Option<CiWithRule> = on!(&self.reader, |e| sqlx::query_as(
            "SELECT c.id, c.project, c.name, c.registration_type, c.description, c.artifactory,
                    c.created_by, c.created_at, c.mode, c.routing_rule_id, c.workflow_id,
                    r.id AS rule_id, r.rule_name, r.criteria, r.is_default
             FROM ci_integrations c
             LEFT JOIN routing_rules r ON (c.mode = 'CUSTOM' AND r.id = c.routing_rule_id)
                 OR (c.mode = 'INHERITED' AND r.project = c.project
                     AND r.registration_type = c.registration_type AND r.is_default = TRUE)
             WHERE c.project = $1 AND c.name = $2",
        )
        .bind(project)
        .bind(name)
        .fetch_optional(e)
        .await)?;
        Ok(row.map(CiWithRule::split))
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

    pub async fn ci_exists(&mut self, project: &str, name: &str) -> Result<bool> {
        let found: i64 = in_tx!(self, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM ci_integrations WHERE project = $1 AND name = $2"
        )
        .bind(project)
        .bind(name)
        .fetch_one(e)
        .await)?;
        Ok(found > 0)
    }

    /// Writes the CI's description, artifactory, mode, rule and workflow.
    pub async fn update_ci(&mut self, ci: &CiRow) -> Result<()> {
        execute!(
            self,
            "UPDATE ci_integrations SET description = $1, artifactory = $2, mode = $3,
             routing_rule_id = $4, workflow_id = $5 WHERE id = $6",
            &ci.description,
            &ci.artifactory,
            ci.mode,
            &ci.routing_rule_id,
            &ci.workflow_id,
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

#[derive(FromRow)]
struct CiWithRule {
    #[sqlx(flatten)]
    ci: CiRow,
    rule_id: Option<String>,
    rule_name: Option<String>,
    criteria: Option<JsonText<Vec<Criterion>>>,
    is_default: Option<bool>,
}

impl CiWithRule {
    fn split(self) -> (CiRow, Option<RuleRow>) {
        let rule = match (self.rule_id, self.rule_name, self.criteria) {
            (Some(id), Some(rule_name), Some(criteria)) => Some(RuleRow {
                id,
                project: self.ci.project.clone(),
                rule_name,
                registration_type: self.ci.registration_type,
                is_default: self.is_default.unwrap_or_default(),
                ci_system: None,
                criteria,
                created_by: None,
                created_at: String::new(),
            }),
            _ => None,
        };
        (self.ci, rule)
    }
}
