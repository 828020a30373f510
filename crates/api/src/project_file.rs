//! *extension*: the declarative project file (`wharf.toml`), also the JSON body of
//! `PUT /wharf/v1/projects/{name}`. Facets configures these through its UI and cloud calls;
//! wharf's reference server takes the whole project in one document.
//!
//! Unlike the Facets types, unknown keys are refused here: a typo in a hand-written file must
//! fail loudly, not be ignored.

use crate::{CiSystem, Operator, RegistrationType, Strategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// Protected stages, by environment or release stream name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub protection: BTreeMap<String, Protection>,
    /// Keyless CI login (`[[trust]]`): which CI identity tokens may trade for a short-lived
    /// token with a role on this project.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trust: Vec<TrustPolicy>,
    /// `[[webhooks]]`: who is told of which changes (docs/events.md). The file's list is the
    /// project's whole list: applying removes the subscriptions it no longer names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<crate::WebhookEntry>,
}

/// `[[trust]]`: an OIDC issuer whose identity tokens, when every listed claim matches, are
/// traded (`POST /wharf/v1/oidc/token`) for a wharf token with `role` on this project that
/// lasts at most 15 minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    /// Names the policy in audit entries and in the user its tokens belong to
    /// (`oidc+<project>+<name>`); default `trust-<position>` (1, 2, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The token's `iss`, exactly: `https://…` (plain HTTP only on loopback, for tests).
    pub issuer: String,
    /// A value the token's `aud` must hold.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// The role the token gets on this project.
    pub role: String,
    /// Claim name → the value it must have; `*` matches any run of characters. Every listed
    /// claim must match. Numbers and booleans are compared as their text.
    #[serde(default, deserialize_with = "claim_conditions")]
    pub claims: BTreeMap<String, String>,
}

/// The audience wharf's clients ask for unless `WHARF_OIDC_AUDIENCE` says otherwise.
pub const DEFAULT_AUDIENCE: &str = "wharf";

fn default_audience() -> String {
    DEFAULT_AUDIENCE.to_string()
}

/// `[trust.claims]` values: text, or a number or boolean written bare (kept as its text).
fn claim_conditions<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Integer(i64),
        Boolean(bool),
    }
    let raw = BTreeMap::<String, Scalar>::deserialize(deserializer)?;
    Ok(raw
        .into_iter()
        .map(|(claim, value)| {
            let text = match value {
                Scalar::Text(text) => text,
                Scalar::Integer(n) => n.to_string(),
                Scalar::Boolean(b) => b.to_string(),
            };
            (claim, text)
        })
        .collect())
}

/// `[protection.<stage>]`: who may write straight into a stage, and what a promotion into it
/// needs. A stage without one is unprotected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protection {
    /// Distinct approvals a promotion into the stage needs (0: none).
    #[serde(default)]
    pub approvals: u32,
    /// Roles whose members may approve.
    #[serde(default = "only_admins")]
    pub approvers: Vec<String>,
    /// Roles that may register or attach straight into the stage.
    #[serde(default = "only_admins")]
    pub direct: Vec<String>,
    /// Roles that may ask for a promotion into the stage; none given: any role that may
    /// promote (`ARTIFACTS_WRITE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoters: Option<Vec<String>>,
    /// Whether whoever asked for the promotion may approve it.
    #[serde(default)]
    pub requester_may_approve: bool,
    /// Whether whoever registered the build may approve its promotion.
    #[serde(default)]
    pub registrant_may_approve: bool,
    /// How long an approval counts.
    #[serde(default = "day")]
    pub approval_ttl_hours: u32,
    /// What a build must carry to enter the stage: any of `signature`, `sbom`, `provenance`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<Evidence>,
    /// `enforce` refuses a build without what `require` names; `warn` records and shows it.
    #[serde(default, skip_serializing_if = "GateMode::is_enforce")]
    pub mode: GateMode,
    /// Builder ids (globs, `*` any run of characters) whose verified provenance counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_builders: Vec<String>,
    /// Cosign public keys (PEM, ECDSA P-256) a signature must verify with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signature_keys: Vec<String>,
}

/// What a protected stage may require a build to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// A cosign signature (a `.sig` tag or a sigstore bundle referrer) by one of the keys.
    Signature,
    /// An SBOM referrer (SPDX or CycloneDX).
    Sbom,
    /// SLSA provenance recorded at registration and verified by the CI's identity token.
    Provenance,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Signature => "signature",
            Evidence::Sbom => "sbom",
            Evidence::Provenance => "provenance",
        }
    }
}

/// Whether a stage's `require` refuses or only warns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateMode {
    #[default]
    Enforce,
    Warn,
}

impl GateMode {
    pub fn is_enforce(&self) -> bool {
        *self == GateMode::Enforce
    }
}

impl Default for Protection {
    fn default() -> Self {
        Self {
            approvals: 0,
            approvers: only_admins(),
            direct: only_admins(),
            promoters: None,
            requester_may_approve: false,
            registrant_may_approve: false,
            approval_ttl_hours: day(),
            require: Vec::new(),
            mode: GateMode::Enforce,
            trusted_builders: Vec::new(),
            signature_keys: Vec::new(),
        }
    }
}

fn only_admins() -> Vec<String> {
    vec!["admin".into()]
}

fn day() -> u32 {
    24
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiEntry {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `project` (a new service's default), `service` (its own rules and order below) or
    /// `manual`; left out, an existing service keeps the strategy it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// `service` only: the service's own registration type (default: the project's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<RegistrationType>,
    /// `service` only: `SIMPLE` or `ADVANCED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<CiSystem>,
    /// `service` only: `[[ci.routing.criteria]]`, as `[[routing.criteria]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<CiRouting>,
    /// `service` only: `[ci.promotion] order = [...]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<PromotionSection>,
}

/// `[ci.routing]`: a service's own criteria.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiRouting {
    #[serde(default)]
    pub criteria: Vec<CriterionEntry>,
}

impl CriterionEntry {
    /// The wire criterion; a missing priority is the position (1, 2, …).
    pub fn criterion(&self, position: usize) -> crate::Criterion {
        crate::Criterion {
            metadata_key: self.metadata_key.clone(),
            operator: self.operator,
            value: self.value.clone(),
            route_to: self.route_to.clone(),
            priority: self.priority.unwrap_or(position as i64 + 1),
        }
    }
}

/// What applying a project file changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplySummary {
    pub project: String,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    /// What the file no longer lists and the apply took away (members).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    pub unchanged: usize,
    /// What applies but may not work as meant (approvals only others than the requester can
    /// give, …), one sentence each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What the changes mean, one sentence each (a service's strategy switched, and that
    /// its builds stay where they are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// A dry run: what the file would change; nothing was changed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}
