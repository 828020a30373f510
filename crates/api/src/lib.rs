//! The Facets control-plane wire types, shared by the wharf client and the reference server.
//!
//! This crate owns the JSON shapes of `shared/reference/facets-api.md` with their exact
//! camelCase names, and the one rule client and server must agree on ([`classify`]: which
//! criterion routes a build). No HTTP, no storage, no validation beyond what serde does.
//! Every struct ignores unknown fields so a newer server never breaks an older client, and
//! every optional field is skipped when absent so requests stay minimal.
//!
//! Fields that only wharf's reference server sends (marked *extension*) are optional, so a
//! client reading a real Facets answer without them still works.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Build metadata sent with a registration; `BRANCH_NAME` is what routing rules usually read.
pub type Metadata = BTreeMap<String, String>;

/// The metadata key routing rules read the git ref from.
pub const BRANCH_NAME: &str = "BRANCH_NAME";

/// How the buckets of a CI integration are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegistrationType {
    Environment,
    ReleaseStream,
    Hybrid,
}

impl RegistrationType {
    pub fn as_str(self) -> &'static str {
        ClosedSet::name(self)
    }
}

/// What `artifactRegisterValue` names in a `SaasArtifactRequest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ArtifactRegisterType {
    GitRef,
    Environment,
    ReleaseStream,
}

impl ArtifactRegisterType {
    pub fn as_str(self) -> &'static str {
        ClosedSet::name(self)
    }
}

/// The older `registeredFor` flag of `ArtifactRequest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegisteredFor {
    Cluster,
    ReleaseStream,
}

/// A routing criterion operator. Facets has no regex and no glob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    Equals,
    StartsWith,
    EndsWith,
    Contains,
}

impl Operator {
    pub const ALL: [Operator; 4] = [
        Operator::Equals,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::Contains,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equals => "EQUALS",
            Self::StartsWith => "STARTS_WITH",
            Self::EndsWith => "ENDS_WITH",
            Self::Contains => "CONTAINS",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str() == text.trim().to_ascii_uppercase())
    }

    /// Whether `actual` satisfies this operator against the rule's `expected` value.
    pub fn matches(self, actual: &str, expected: &str) -> bool {
        match self {
            Self::Equals => actual == expected,
            Self::StartsWith => actual.starts_with(expected),
            Self::EndsWith => actual.ends_with(expected),
            Self::Contains => actual.contains(expected),
        }
    }
}

/// Where a build sits, by name: its environment, else its release stream; nothing while it is
/// unclassified. The one rule for "routed to", on both sides of the wire.
pub fn routed_to<'a>(
    classified: bool,
    cluster_name: Option<&'a str>,
    release_stream: Option<&'a str>,
) -> Option<&'a str> {
    classified
        .then_some(cluster_name.or(release_stream))
        .flatten()
}

/// The first criterion, by ascending priority then position, whose metadata key is present and
/// whose operator matches; `None` leaves the build unclassified.
pub fn classify<'a>(criteria: &'a [Criterion], metadata: &Metadata) -> Option<&'a Criterion> {
    let mut ordered: Vec<&Criterion> = criteria.iter().collect();
    ordered.sort_by_key(|c| c.priority);
    ordered.into_iter().find(|criterion| {
        metadata
            .get(&criterion.metadata_key)
            .is_some_and(|actual| criterion.operator.matches(actual, &criterion.value))
    })
}

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

/// `POST /cc-ui/v1/ci-cd/register`: the current registration call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaasArtifactRequest {
    pub blueprint_name: String,
    pub artifact_uri: String,
    pub artifactory: String,
    pub artifact_register_type: ArtifactRegisterType,
    pub artifact_register_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// *extension*: free text shown with the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// *extension*: build metadata (commit, tag, PR…) that rules may match besides the ref.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// The older `ArtifactRequest` of `/artifacts/push` and `/artifacts/registerV2`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_stream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifactory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_for: Option<RegisteredFor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<RegistrationType>,
}

/// `POST /cc-ui/v1/artifacts/register-by-env`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterByEnvRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifactory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
}

/// `POST /cc-ui/v1/artifacts/register-by-release-stream`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterByReleaseStreamRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifactory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_stream: Option<String>,
}

/// A stored build, as the control plane returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_date: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_stream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifactory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_description: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_on: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_rule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_rule_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_rule_version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<RegistrationType>,
    #[serde(
        default,
        deserialize_with = "lenient::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub registration_value: Option<String>,
    #[serde(default)]
    pub promoted: bool,
    #[serde(default)]
    pub classified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning_key: Option<String>,
    /// *extension*: the CI integration the build belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_name: Option<String>,
    /// *extension*: the project (stack) the build belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    /// *extension*: the environment's name when the bucket is an environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
}

impl Artifact {
    /// The environment or stream the build sits in (see [`routed_to`]).
    pub fn routed_to(&self) -> Option<&str> {
        routed_to(
            self.classified,
            self.cluster_name.as_deref(),
            self.release_stream.as_deref(),
        )
    }
}

/// One build in the per-CI listing `GET /artifacts-ci/{ciName}/artifacts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiArtifactResponse {
    #[serde(deserialize_with = "lenient::id")]
    pub artifact_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifactory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_description: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<RegistrationType>,
    #[serde(
        default,
        deserialize_with = "lenient::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub registration_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default)]
    pub promoted: bool,
    #[serde(default)]
    pub classified: bool,
    /// *extension*: the rule that routed the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_rule_name: Option<String>,
    /// *extension*: the environment or stream name of the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed_to: Option<String>,
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

/// `POST /artifacts/attach-image-via-register`: pin an image to one environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageOverrideRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifactory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<ArtifactRegisterType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blueprint_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_name: Option<String>,
}

/// One routing criterion; lower `priority` wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Criterion {
    pub metadata_key: String,
    pub operator: Operator,
    pub value: String,
    pub route_to: String,
    #[serde(default)]
    pub priority: i64,
}

/// `POST`/`PUT /artifact-routing-rule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRuleRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub rule_name: String,
    pub registration_type: RegistrationType,
    pub criteria: Vec<Criterion>,
    pub stack_name: String,
    #[serde(default)]
    pub is_default: bool,
    /// The default flag as a rule is read back (`default`): a rule written back as read keeps
    /// it. Either key, or both, may be sent; see [`Self::wants_default`].
    #[serde(default, rename = "default", skip_serializing_if = "Option::is_none")]
    pub default_flag: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<CiSystem>,
}

impl RoutingRuleRequest {
    /// Whether the rule is to be its project's default, by either key.
    pub fn wants_default(&self) -> bool {
        self.is_default || self.default_flag == Some(true)
    }
}

/// A stored routing rule; responses call the default flag `default`, and `isDefault` too, so
/// it reads back under the key a request writes it with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRuleResponse {
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    pub rule_name: String,
    pub registration_type: RegistrationType,
    pub criteria: Vec<Criterion>,
    pub stack_name: String,
    #[serde(default)]
    pub default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<CiSystem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_date: Option<String>,
}

/// `POST /artifact-routing-rule/test` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingTestResponse {
    pub route_to: Option<String>,
}

/// One stage of a promotion workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowHierarchy {
    pub sequence: i64,
    pub registration_value: String,
}

/// An ordered list of buckets a build is promoted along.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionWorkflow {
    #[serde(
        default,
        deserialize_with = "lenient::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// wharf's key for the workflow's name; Facets' is `workflowName` (see
    /// [`Self::workflow_name`]). `wharf serve` answers both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    pub stack_name: String,
    pub registration_type: RegistrationType,
    #[serde(default)]
    pub hierarchies: Vec<WorkflowHierarchy>,
    /// wharf's key; Facets' is `defaultWorkflow` (see [`Self::is_default`]).
    #[serde(default)]
    pub default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_workflow: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_date: Option<String>,
}

impl PromotionWorkflow {
    /// The workflow's name, under Facets' key or wharf's.
    pub fn workflow_name(&self) -> Option<&str> {
        self.workflow_name.as_deref().or(self.name.as_deref())
    }

    /// Whether this is the project's default workflow, under either key.
    pub fn is_default(&self) -> bool {
        self.default || self.default_workflow == Some(true)
    }
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

/// A release stream (QA, STAGING, PRODUCTION, custom…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseStream {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_date: Option<String>,
    #[serde(default)]
    pub prod: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    /// The environments of the stream (in lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapped_cluster_names: Option<Vec<String>>,
    /// QA, STAGING and PRODUCTION come with every project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_in: Option<bool>,
}

/// An environment (cluster) of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    pub name: String,
    pub stack_name: String,
    pub release_stream: String,
    /// Facets' clusters carry a time zone and a cloud; `wharf serve`'s are `UTC` and
    /// `NO_CLOUD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<String>,
}

/// `POST /cc-ui/v1/ci-cd/pushCredentials`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushCredentialsRequest {
    pub blueprint_name: String,
    pub artifactory: String,
    pub application_name: String,
}

/// Short-lived registry credentials for one repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushCredentialsResponse {
    pub username: String,
    pub password: String,
    pub artifactory_uri: String,
    pub repository_uri: String,
}

/// A container registry the control plane knows (`GET /cc-ui/v1/artifactories`). Passwords are
/// never listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifactory {
    pub name: String,
    /// `host[:port][/path prefix]`, without a scheme.
    pub uri: String,
    /// One of Facets' types (`ECR`, `DOCKER_HUB`, `OTHERS`, …); `wharf serve` answers `OTHERS`
    /// for every registry, its own built-in one marked by `systemDefined`.
    pub artifactory_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_defined: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Never the password: a fixed mask where Facets' model requires the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<String>,
}

/// `POST /cc-ui/v1/artifactories/others`: a plain registry reached with a username and password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherArtifactoryRequest {
    pub name: String,
    pub uri: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

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

/// The name of the control plane's own registry (Facets' fallback artifactory): the one home
/// of the literal, for client and server.
pub const BUILT_IN_ARTIFACTORY: &str = "default";

/// *extension*: `POST /wharf/v1/register/preview`: where the server would put a registration
/// (the same body as `POST /cc-ui/v1/ci-cd/register`), by the same code, writing nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutePreview {
    /// Whether the build would be classified (routed to a bucket).
    pub classified: bool,
    /// The environment or release stream it would land in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed_to: Option<String>,
    /// The rule that would route it (a registration by ref or metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    /// The CI integration's registration type.
    pub registration_type: RegistrationType,
    /// What the CI follows: `INHERITED` (the project's default rule), `CUSTOM` (its own) or
    /// `NONE`.
    pub ci_mode: CiMode,
}

/// *extension*: what `${blueprint.self.artifacts.<ciName>}` resolves to in an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolved {
    pub expression: String,
    pub environment: String,
    /// `ENVIRONMENT` when the environment's own bucket had a build, `RELEASE_STREAM` otherwise.
    pub resolved_from: String,
    pub bucket: String,
    pub artifact: Artifact,
}

#[cfg(test)]
mod tests;

pub mod duration;
pub mod oidc;
pub mod printable;
pub mod project_file;

mod names;
pub use names::{ClosedSet, UnknownValue};
pub mod lenient;

/// *extension*: a promotion (or rollback) into a protected stage, waiting for approvals
/// (`GET /wharf/v1/approvals`), or closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionRequest {
    /// The request's id (also `id`, as listings name it).
    pub request_id: String,
    pub id: String,
    pub project: String,
    pub ci_name: String,
    /// `PROMOTE` or `ROLLBACK`.
    pub kind: String,
    /// The build the request places in `stage`.
    pub source_id: String,
    pub artifact_uri: String,
    /// The image digest the request is pinned to; approvals given for another lapse.
    pub digest: String,
    pub stage: String,
    /// `PENDING`, `COMPLETED`, `REJECTED` or `LAPSED`.
    pub status: String,
    /// Distinct approvals needed.
    pub required: u32,
    /// Approvals that count now.
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// Roles whose members may approve.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Members who may still approve (not the requester or the registrant unless allowed,
    /// nor those who approved already).
    #[serde(default)]
    pub eligible_approvers: Vec<String>,
    pub requested_by: String,
    pub requested_at: String,
    pub updated_at: String,
    /// Why it was rejected or lapsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The build it made, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_id: Option<String>,
}

/// One approval that counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub username: String,
    pub approved_at: String,
    pub digest: String,
}

/// Header of a promotion answered 202: the id of the request it made (Facets' clients see the
/// source build, unchanged, in the body).
pub const PROMOTION_REQUEST_HEADER: &str = "wharf-promotion-request";
