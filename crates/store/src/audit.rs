//! The audit trail (`audit_log`): appended inside the transaction of the change it describes,
//! never edited or deleted (the store's triggers refuse it).

use crate::{Audit, AuditRow, Result, Store, Tx, new_id, now};
use sqlx::QueryBuilder;

/// Which entries to list; every filter optional but `start`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub start: String,
    pub end: Option<String>,
    pub stack_name: Option<String>,
    pub cluster_name: Option<String>,
    pub target: Option<String>,
    pub performed_by: Option<String>,
    pub entities: Vec<String>,
    pub actions: Vec<String>,
    pub number: i64,
    pub size: i64,
}

/// Appends the WHERE clause of `$filter` to `$query` (a macro, so it serves both databases).
macro_rules! push_filters {
    ($query:ident, $filter:expr) => {{
        let query = &mut $query;
        let filter: &AuditFilter = $filter;
        query
            .push(" WHERE performed_at >= ")
            .push_bind(&filter.start);
        if let Some(end) = &filter.end {
            query.push(" AND performed_at <= ").push_bind(end);
        }
        let exact = [
            ("stack_name", &filter.stack_name),
            ("cluster_name", &filter.cluster_name),
            ("target", &filter.target),
            ("performed_by", &filter.performed_by),
        ];
        for (column, value) in exact {
            if let Some(value) = value {
                query
                    .push(format_args!(" AND {column} = "))
                    .push_bind(value);
            }
        }
        for (column, values) in [
            ("entity", &filter.entities),
            ("entity_action", &filter.actions),
        ] {
            if !values.is_empty() {
                query.push(format_args!(" AND {column} IN ("));
                let mut list = query.separated(", ");
                for value in values {
                    list.push_bind(value);
                }
                list.push_unseparated(")");
            }
        }
    }};
}

impl Store {
    /// How many entries match `filter`, and one page of them, newest first.
    pub async fn audit_page(&self, filter: &AuditFilter) -> Result<(i64, Vec<AuditRow>)> {
        let offset = filter.number.saturating_mul(filter.size);
        Ok(on!(&self.reader, |e| {
            let mut count = QueryBuilder::new("SELECT COUNT(*) FROM audit_log");
            push_filters!(count, filter);
            let total: i64 = count.build_query_scalar().fetch_one(e).await?;
            let mut select = QueryBuilder::new(
                "SELECT id, performed_by, performed_at, entity, entity_action, target, metadata,
                 cluster_id, cluster_name, stack_name FROM audit_log",
            );
            push_filters!(select, filter);
            select
                .push(" ORDER BY performed_at DESC, id DESC LIMIT ")
                .push_bind(filter.size)
                .push(" OFFSET ")
                .push_bind(offset);
            let rows: Vec<AuditRow> = select.build_query_as().fetch_all(e).await?;
            (total, rows)
        }))
    }
}

impl Tx {
    /// Appends `audit` and commits: the audit entry of the transaction's change.
    pub async fn commit_audited(mut self, audit: &Audit) -> Result<()> {
        self.record(audit).await?;
        self.commit().await
    }

    /// Appends one entry.
    pub async fn record(&mut self, audit: &Audit) -> Result<()> {
        let (cluster_id, cluster_name) = audit.cluster.clone().unzip();
        execute_deferred!(
            self,
            "INSERT INTO audit_log (id, performed_by, performed_at, entity, entity_action, target,
             metadata, cluster_id, cluster_name, stack_name)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            new_id(),
            &audit.performed_by,
            now(),
            audit.entity,
            audit.action,
            &audit.target,
            audit.metadata.to_string(),
            cluster_id,
            cluster_name,
            &audit.stack_name,
        )?;
        Ok(())
    }
}
