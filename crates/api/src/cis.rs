//! CI integrations: a service's CI, its mode and system, attaching and bulk edits.

use crate::lenient;
use crate::{Criterion, RegistrationType, WorkflowHierarchy};
use serde::{Deserialize, Serialize};

/// Which rule and workflow a CI integration follows: none (its builds stay unclassified), the
/// project's defaults, or its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", try_from = "String")]
pub enum CiMode {
    None,
    Inherited,
    Custom,
}

/// The UI shape of a project's CI/CD; one model underneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CiSystem {
    BranchPerEnvironment,
    SingleBranchPromotion,
    Advanced,
}

/// A CI integration (artifact CI).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactCI {
    #[serde(
        default,
        deserialize_with = "lenient::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// wharf's key for the CI's name; Facets' is `ciName`. Read either with [`Self::ci_name`];
    /// `wharf serve` answers both.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<RegistrationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifactory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified_date: Option<String>,
    /// wharf's key for the CI's own rule; Facets' is `ruleId` (see [`Self::own_rule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_rule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// wharf's key for the CI's own workflow; Facets' is `promotionWorkflowId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_workflow_id: Option<String>,
    /// `NONE`, `INHERITED` (the project's default rule and workflow) or `CUSTOM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<CiMode>,
}

impl ArtifactCI {
    /// The CI's name, under Facets' key or wharf's.
    pub fn ci_name(&self) -> &str {
        self.ci_name
            .as_deref()
            .filter(|name| !name.is_empty())
            .unwrap_or(&self.name)
    }

    /// The CI's own routing rule, under either key.
    pub fn own_rule(&self) -> Option<&str> {
        self.routing_rule_id.as_deref().or(self.rule_id.as_deref())
    }

    /// The CI's own promotion workflow, under either key.
    pub fn own_workflow(&self) -> Option<&str> {
        self.workflow_id
            .as_deref()
            .or(self.promotion_workflow_id.as_deref())
    }
}

/// `PUT /ci-cd/attach` and `/ci-cd/detach`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiAttachRequest {
    pub ci_name: String,
    pub registration_type: RegistrationType,
    pub blueprint_name: String,
}

/// `POST /artifacts-ci/bulk-edit-workflow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkEditWorkflowRequest {
    pub workflow_id: String,
    pub artifact_ci_ids: Vec<String>,
}

/// `POST /cc-ui/v1/ci-cd`: a project's routing and promotion in one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiCdDto {
    pub registration_type: RegistrationType,
    pub stack_name: String,
    pub routing_rules: Vec<Criterion>,
    pub promotion_hierarchies: Vec<WorkflowHierarchy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<CiSystem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_to_all_cis: Option<bool>,
}
