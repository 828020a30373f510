//! The audit trail: who changed what, when. Entries are written in the same transaction as
//! the change they describe, and never edited or deleted (the store's triggers refuse it).

use crate::error::Result;
use crate::store::{Store, Tx, new_id, now};
use serde::Serialize;
use serde_json::Value;
use sqlx::QueryBuilder;

pub use wharf_api::AuditEntry;

/// A page of audit entries.
pub type AuditPage = wharf_api::Page<AuditEntry>;

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: String,
    performed_by: String,
    performed_at: String,
    entity: String,
    entity_action: String,
    target: Option<String>,
    metadata: String,
    cluster_id: Option<String>,
    cluster_name: Option<String>,
    stack_name: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        Self {
            entity_label: label(&row.entity),
            entity_action_label: label(&row.entity_action),
            metadata: serde_json::from_str(&row.metadata).unwrap_or(Value::Null),
            id: row.id,
            performed_by: row.performed_by,
            performed_at: row.performed_at,
            entity: row.entity,
            entity_action: row.entity_action,
            target: row.target,
            cluster_id: row.cluster_id,
            cluster_name: row.cluster_name,
            stack_name: row.stack_name,
        }
    }
}

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

/// One page of the entries matching `filter`, newest first.
pub async fn page(store: &Store, filter: &AuditFilter) -> Result<AuditPage> {
    let (total, rows): (i64, Vec<AuditRow>) = on!(store.reader(), |e| {
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
            .push_bind(filter.number * filter.size);
        let rows: Vec<AuditRow> = select.build_query_as().fetch_all(e).await?;
        (total, rows)
    });
    let total_pages = (total + filter.size - 1) / filter.size;
    Ok(AuditPage {
        empty: rows.is_empty(),
        content: rows.into_iter().map(AuditEntry::from).collect(),
        total_elements: total,
        total_pages,
        number: filter.number,
        size: filter.size,
        first: filter.number == 0,
        last: filter.number + 1 >= total_pages,
    })
}

/// What happened, before it is written.
#[derive(Debug, Clone)]
pub struct Audit {
    performed_by: String,
    entity: &'static str,
    action: &'static str,
    target: Option<String>,
    metadata: Value,
    stack_name: Option<String>,
    cluster: Option<(String, String)>,
}

impl Audit {
    /// `entity` is e.g. `CI_RULE`, `action` e.g. `CI_RULE_CREATE`.
    pub fn new(performed_by: &str, entity: &'static str, action: &'static str) -> Self {
        Self {
            performed_by: performed_by.to_string(),
            entity,
            action,
            target: None,
            metadata: Value::Object(Default::default()),
            stack_name: None,
            cluster: None,
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn stack(mut self, stack: impl Into<String>) -> Self {
        self.stack_name = Some(stack.into());
        self
    }

    pub fn cluster(mut self, id: Option<&str>, name: Option<&str>) -> Self {
        if let (Some(id), Some(name)) = (id, name) {
            self.cluster = Some((id.to_string(), name.to_string()));
        }
        self
    }

    pub fn meta(mut self, key: &str, value: impl Serialize) -> Self {
        if let (Value::Object(map), Ok(value)) = (&mut self.metadata, serde_json::to_value(value)) {
            map.insert(key.to_string(), value);
        }
        self
    }

    /// Appends the entry inside `tx`.
    pub async fn record(self, tx: &mut Tx) -> Result<()> {
        let (cluster_id, cluster_name) = self.cluster.unzip();
        in_tx!(tx, |e| sqlx::query(
            "INSERT INTO audit_log (id, performed_by, performed_at, entity, entity_action, target,
             metadata, cluster_id, cluster_name, stack_name)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(new_id())
        .bind(&self.performed_by)
        .bind(now())
        .bind(self.entity)
        .bind(self.action)
        .bind(&self.target)
        .bind(self.metadata.to_string())
        .bind(cluster_id)
        .bind(cluster_name)
        .bind(&self.stack_name)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}

/// Human labels for the entity and action names.
pub fn label(name: &str) -> String {
    let lower = name.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
