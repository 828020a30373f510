//! `GET /cc-ui/v1/audit-logs`.

use super::AppState;
use crate::domain::audit::{AuditFilter, AuditPage};
use crate::error::{Error, Result};
use crate::validate::require;
use axum::Json;
use axum::extract::{RawQuery, State};

/// `GET /cc-ui/v1/audit-logs`: entries in Facets' enums, wharf's own names in `metadata`.
pub async fn facets_audit_logs(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>> {
    audit_logs(&state, query, true).await
}

/// `GET /wharf/v1/audit-logs`: entries as wharf wrote them.
pub async fn wharf_audit_logs(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>> {
    audit_logs(&state, query, false).await
}

/// `start` and `end` are ISO-8601 times or epoch milliseconds; `entity` and `entityAction` may
/// repeat (also as `entity[]`) and filter on wharf's own names.
async fn audit_logs(
    state: &AppState,
    query: Option<String>,
    facets: bool,
) -> Result<Json<AuditPage>> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let one = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let many = |key: &str| -> Vec<String> {
        let bracketed = format!("{key}[]");
        pairs
            .iter()
            .filter(|(k, _)| k == key || *k == bracketed)
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let start = require("start", one("start").as_deref())?;
    let number = parse_number("number", one("number"), 0)?;
    let size = parse_number("size", one("size"), 20)?;
    if !(1..=1000).contains(&size) {
        return Err(Error::bad_request("`size` must be between 1 and 1000"));
    }
    let filter = AuditFilter {
        start: parse_time("start", &start)?,
        end: one("end").map(|end| parse_time("end", &end)).transpose()?,
        stack_name: one("stackName"),
        cluster_name: one("clusterName"),
        target: one("target"),
        performed_by: one("performedBy"),
        entities: many("entity"),
        actions: many("entityAction"),
        number: number.max(0),
        size,
    };
    Ok(Json(state.cp.overview.audit_page(&filter, facets).await?))
}

fn parse_number(field: &str, value: Option<String>, default: i64) -> Result<i64> {
    value.map_or(Ok(default), |v| {
        v.trim()
            .parse()
            .map_err(|_| Error::bad_request(format!("`{field}` must be a whole number, not '{v}'")))
    })
}

/// A query time as [`wharf_api::lenient::query_time`] reads it (the one time grammar of every
/// query), or a refusal naming the field.
fn parse_time(field: &str, value: &str) -> Result<String> {
    wharf_api::lenient::query_time(value).ok_or_else(|| {
        Error::bad_request(format!(
            "`{field}` '{}' is not a time: use ISO-8601 (2026-11-23T10:00:00Z) or epoch \
             milliseconds",
            value.trim()
        ))
    })
}
