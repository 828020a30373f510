//! Routing rules.

use crate::{JsonText, Result, RuleRow, Store, Table, Tx};
use wharf_api::{CiSystem, Criterion, RegistrationType};

/// `SELECT <every routing rule column> FROM routing_rules <rest>`, as one literal.
macro_rules! select_rules {
    ($rest:literal) => {
        concat!(
            "SELECT id, project, rule_name, registration_type, is_default, ci_system, criteria,
             created_by, created_at FROM routing_rules ",
            $rest
        )
    };
}

/// What a rule update may change.
#[derive(Debug, Clone)]
pub struct RuleChange<'a> {
    pub rule_name: &'a str,
    pub criteria: &'a [Criterion],
    pub ci_system: Option<CiSystem>,
    pub is_default: bool,
}

impl Store {
    pub async fn default_rule(
        &self,
        project: &str,
        registration_type: RegistrationType,
    ) -> Result<Option<RuleRow>> {
        let key = format!("default-rule\0{project}\0{registration_type:?}");
        self.cached(key, &[Table::RoutingRules], async {
            Ok(on!(&self.reader, |e| sqlx::query_as(select_rules!(
                "WHERE project = $1 AND registration_type = $2 AND is_default = TRUE"
            ))
            .bind(project)
            .bind(registration_type)
            .fetch_optional(e)
            .await)?)
        })
        .await
    }

    pub async fn rule(&self, id: &str) -> Result<Option<RuleRow>> {
        let key = format!("rule\0{id}");
        self.cached(key, &[Table::RoutingRules], async {
            Ok(on!(&self.reader, |e| sqlx::query_as(select_rules!(
                "WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(e)
            .await)?)
        })
        .await
    }

    /// A project's rules, of one registration type when given; the default first.
    pub async fn rules(
        &self,
        project: &str,
        registration_type: Option<RegistrationType>,
    ) -> Result<Vec<RuleRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_rules!(
            "WHERE project = $1 AND ($2 IS NULL OR registration_type = $2)
             ORDER BY is_default DESC, rule_name"
        ))
        .bind(project)
        .bind(registration_type)
        .fetch_all(e)
        .await)?)
    }
}

impl Tx {
    pub async fn rule(&mut self, id: &str) -> Result<Option<RuleRow>> {
        Ok(in_tx!(self, |e| sqlx::query_as(select_rules!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// The default rule, read inside the transaction that will replace it.
    pub async fn default_rule(
        &mut self,
        project: &str,
        registration_type: RegistrationType,
    ) -> Result<Option<RuleRow>> {
        Ok(in_tx!(self, |e| sqlx::query_as(select_rules!(
            "WHERE project = $1 AND registration_type = $2 AND is_default = TRUE"
        ))
        .bind(project)
        .bind(registration_type)
        .fetch_optional(e)
        .await)?)
    }

    /// Inserts a rule; a second default for one project and type is a duplicate.
    pub async fn insert_rule(&mut self, rule: &RuleRow) -> Result<()> {
        execute!(
            self,
            "INSERT INTO routing_rules (id, project, rule_name, registration_type, is_default,
             ci_system, criteria, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &rule.id,
            &rule.project,
            &rule.rule_name,
            rule.registration_type,
            rule.is_default,
            rule.ci_system,
            &rule.criteria,
            &rule.created_by,
            &rule.created_at,
        )?;
        Ok(())
    }

    pub async fn update_rule(&mut self, id: &str, change: &RuleChange<'_>) -> Result<()> {
        execute!(
            self,
            "UPDATE routing_rules SET rule_name = $1, criteria = $2, ci_system = $3,
             is_default = $4 WHERE id = $5",
            change.rule_name,
            JsonText(change.criteria),
            change.ci_system,
            change.is_default,
            id,
        )?;
        Ok(())
    }

    pub async fn delete_rule(&mut self, id: &str) -> Result<bool> {
        Ok(execute!(self, "DELETE FROM routing_rules WHERE id = $1", id)? > 0)
    }

    pub async fn delete_default_rules(&mut self, project: &str) -> Result<()> {
        execute!(
            self,
            "DELETE FROM routing_rules WHERE project = $1 AND is_default = TRUE",
            project,
        )?;
        Ok(())
    }
}
