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

/// The UI shape of a project's or a service's CI/CD; one model underneath. (Facets' UI calls
/// the first two "simple".)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CiSystem {
    BranchPerEnvironment,
    SingleBranchPromotion,
    Advanced,
}

/// How a service gets its images (Facets' Images tab): by the project's CI/CD, by its own
/// (rules, promotion order, registration type), or attached to each environment by hand.
/// A view of the CI's mode: `project` is `INHERITED`, `service` `CUSTOM`, `manual` `NONE`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Strategy {
    #[default]
    Project,
    Service,
    Manual,
}

impl Strategy {
    pub fn of_mode(mode: CiMode) -> Self {
        match mode {
            CiMode::Inherited => Strategy::Project,
            CiMode::Custom => Strategy::Service,
            CiMode::None => Strategy::Manual,
        }
    }

    pub fn mode(self) -> CiMode {
        match self {
            Strategy::Project => CiMode::Inherited,
            Strategy::Service => CiMode::Custom,
            Strategy::Manual => CiMode::None,
        }
    }

    /// What the strategy means, one clause, for messages and the UI.
    pub fn meaning(self) -> &'static str {
        match self {
            Strategy::Project => "follows the project's branch rules and promotion order",
            Strategy::Service => "follows its own branch rules and promotion order",
            Strategy::Manual => {
                "takes images attached to each environment by hand; builds registered by CI \
                 are kept but routed nowhere"
            }
        }
    }
}

/// What kind of thing a build is: a container image, or a file (WAR, JAR, ZIP…) kept in the
/// control plane's blob store (Facets' attach modal and `facetsctl artifact upload`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ArtifactType {
    #[default]
    DockerImage,
    Freestyle,
}

/// *extension*: a service's image strategy, with the rules and promotion order it follows
/// and, for `service`, the project's beside them (`GET|PUT
/// /wharf/v1/projects/{p}/services/{s}/strategy`, `GET /cc-ui/v1/ci-cd/ci/{ciName}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStrategy {
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub service: String,
    pub strategy: Strategy,
    /// The service's registration type (its own under `service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<RegistrationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<CiSystem>,
    /// The criteria the service routes by (its own under `service`, the project's under
    /// `project`, none under `manual`).
    #[serde(default)]
    pub routing_rules: Vec<Criterion>,
    /// The stages it promotes along, in order.
    #[serde(default)]
    pub promotion_order: Vec<String>,
    /// Under `service`: the project's criteria and order, to compare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_routing_rules: Option<Vec<Criterion>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_promotion_order: Option<Vec<String>>,
    /// What the strategy means, one sentence.
    #[serde(default)]
    pub meaning: String,
}

/// *extension*: `PUT /wharf/v1/projects/{p}/services/{s}/strategy`, and Facets'
/// `POST /cc-ui/v1/ci-cd/ci/{ciName}/custom` (there `strategy` is `service`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StrategyChange {
    pub strategy: Strategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<RegistrationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<CiSystem>,
    /// `service` only: the criteria (none given: the ones it has, or none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_rules: Option<Vec<Criterion>>,
    /// `service` only: the stages, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_order: Option<Vec<String>>,
    /// Change the service's registration type, deleting its own rule and workflow (the
    /// reset a project's registration type needs too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    /// Say what would change; change nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// *extension*: what a strategy change did (or, dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StrategyChanged {
    pub before: ServiceStrategy,
    pub after: ServiceStrategy,
    /// One sentence per change, builds staying where they are among them.
    pub changes: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
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

/// Facets' `POST /cc-ui/v1/ci-cd/ci/{ciName}/custom`: a service's own CI/CD (the CI is created
/// when missing; its registration type cannot change once it has its own rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiCustomCiCdRequest {
    pub stack_name: String,
    pub registration_type: RegistrationType,
    pub routing_rules: Vec<Criterion>,
    pub promotion_hierarchies: Vec<WorkflowHierarchy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<CiSystem>,
}

/// Facets' answer of `GET /cc-ui/v1/ci-cd/ci/{ciName}` and of the `custom` call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiCustomCiCdResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_workflow_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<RegistrationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<CiMode>,
    #[serde(default)]
    pub routing_rules: Vec<Criterion>,
    #[serde(default)]
    pub promotion_hierarchies: Vec<WorkflowHierarchy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<CiSystem>,
}
