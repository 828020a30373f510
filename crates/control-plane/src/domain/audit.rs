//! Reading the audit trail. Entries are written by each change, in its own transaction.

use super::Overview;
use super::wire::{audit_view, facets_audit_view};
use crate::error::Result;
use wharf_api::{AuditEntry, Page};
pub use wharf_store::AuditFilter;

/// A page of audit entries.
pub type AuditPage = Page<AuditEntry>;

impl Overview {
    /// One page of the entries matching `filter`, newest first: as wharf wrote them, or
    /// (`facets`) in the form Facets' clients accept.
    pub async fn audit_page(&self, filter: &AuditFilter, facets: bool) -> Result<AuditPage> {
        let (total, rows) = self.store.audit_page(filter).await?;
        let size = filter.size.max(1);
        let total_pages = total.saturating_add(size - 1) / size;
        Ok(AuditPage {
            empty: rows.is_empty(),
            content: match facets {
                true => rows.into_iter().map(facets_audit_view).collect(),
                false => rows.into_iter().map(audit_view).collect(),
            },
            total_elements: total,
            total_pages,
            number: filter.number,
            size: filter.size,
            first: filter.number == 0,
            last: filter.number.saturating_add(1) >= total_pages,
        })
    }
}
