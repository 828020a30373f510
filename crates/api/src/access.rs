//! Users, errors, the audit trail and paging.

use crate::lenient;
use serde::{Deserialize, Serialize};

/// The error body of every failed call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// `GET /api/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// wharf's key for the login; Facets' is `name` (see [`Self::login`]).
    #[serde(default)]
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
    #[serde(default)]
    pub admin: bool,
}

impl User {
    /// The login, under either key.
    pub fn login(&self) -> &str {
        match self.username.as_str() {
            "" => self.name.as_deref().unwrap_or_default(),
            username => username,
        }
    }
}

/// One audit entry (`GET /cc-ui/v1/audit-logs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    pub performed_by: String,
    #[serde(deserialize_with = "lenient::required_time")]
    pub performed_at: String,
    pub entity: String,
    #[serde(default)]
    pub entity_label: String,
    pub entity_action: String,
    #[serde(default)]
    pub entity_action_label: String,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub metadata: serde_json::Value,
    #[serde(default)]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub stack_name: Option<String>,
}

impl AuditEntry {
    /// The entry under wharf's own names: `wharf serve` answers Facets-shaped clients within
    /// Facets' enums and keeps its own entity and action in `metadata` (`wharfEntity`,
    /// `wharfAction`); this puts them back. Entries without them are unchanged.
    pub fn with_wharf_names(mut self) -> Self {
        let original = |key: &str| {
            self.metadata
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        if let Some(entity) = original("wharfEntity") {
            self.entity = entity;
        }
        if let Some(action) = original("wharfAction") {
            self.entity_action = action;
        }
        self
    }
}

/// A page of results, shaped as Facets pages are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub content: Vec<T>,
    pub total_elements: i64,
    pub total_pages: i64,
    pub number: i64,
    pub size: i64,
    pub first: bool,
    pub last: bool,
    pub empty: bool,
}
