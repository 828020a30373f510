//! *extension*: the declarative project file (`wharf.toml`), also the JSON body of
//! `PUT /wharf/v1/projects/{name}`. Facets configures these through its UI and cloud calls;
//! wharf's reference server takes the whole project in one document.
//!
//! Unlike the Facets types, unknown keys are refused here: a typo in a hand-written file must
//! fail loudly, not be ignored.

use crate::{CiSystem, Operator, RegistrationType};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    pub project: ProjectSection,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub release_streams: Vec<StreamEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<EnvironmentEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<PromotionSection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ci: Vec<CiEntry>,
    /// Who may do what in the project; users are created when missing (without a token).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    pub user: String,
    /// `admin`, `release-manager`, `ci`, `viewer`, or a role defined on the server.
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    pub name: String,
    pub registration_type: RegistrationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<CiSystem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamEntry {
    pub name: String,
    #[serde(default)]
    pub prod: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentEntry {
    pub name: String,
    pub release_stream: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSection {
    #[serde(default = "default_rule_name")]
    pub rule_name: String,
    #[serde(default)]
    pub criteria: Vec<CriterionEntry>,
}

fn default_rule_name() -> String {
    "default".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionEntry {
    #[serde(default = "default_metadata_key")]
    pub metadata_key: String,
    pub operator: Operator,
    pub value: String,
    pub route_to: String,
    /// Lower wins; defaults to the criterion's position (1, 2, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

fn default_metadata_key() -> String {
    crate::BRANCH_NAME.to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionSection {
    pub order: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiEntry {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What applying a project file changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplySummary {
    pub project: String,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: usize,
}
