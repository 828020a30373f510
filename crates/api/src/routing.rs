//! Routing: how a build is addressed and which criterion routes it. The one rule client and server
//! must agree on lives here ([`classify`]), beside [`routed_to`].

use crate::lenient;
use crate::{CiMode, CiSystem, ClosedSet};
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

    /// How people say it: "branch" (a git ref, which rules read as `BRANCH_NAME`),
    /// "environment", "release stream".
    pub fn in_words(self) -> &'static str {
        match self {
            Self::GitRef => "branch",
            Self::Environment => "environment",
            Self::ReleaseStream => "release stream",
        }
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

impl Criterion {
    /// How messages and pages show it: `BRANCH_NAME STARTS_WITH 'release/' → staging`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} '{}' → {}",
            self.metadata_key,
            self.operator.as_str(),
            self.value,
            self.route_to
        )
    }

    /// As [`Self::from_rule`] reads it back: `STARTS_WITH:release/=staging`.
    pub fn rule(&self) -> String {
        format!(
            "{}:{}={}",
            self.operator.as_str(),
            self.value,
            self.route_to
        )
    }

    /// A branch criterion written `OPERATOR:VALUE=STAGE` (`STARTS_WITH:release/=staging`), as
    /// `wharf strategy --route` and the UI's Images tab take it; `position` (0-based) is its
    /// priority less one. The error says how to write it.
    pub fn from_rule(text: &str, position: usize) -> Result<Self, String> {
        let usage = || {
            format!(
                "{:?} is not a branch rule: write OPERATOR:VALUE=STAGE, e.g. \
                 STARTS_WITH:release/=staging (OPERATOR is EQUALS, STARTS_WITH, ENDS_WITH or \
                 CONTAINS)",
                crate::printable::printable(text)
            )
        };
        let (operator, rest) = text.trim().split_once(':').ok_or_else(usage)?;
        let (value, stage) = rest.rsplit_once('=').ok_or_else(usage)?;
        let operator = Operator::ALL
            .into_iter()
            .find(|o| o.as_str() == operator.trim())
            .ok_or_else(usage)?;
        let (value, stage) = (value, stage.trim());
        if value.is_empty() || stage.is_empty() {
            return Err(usage());
        }
        Ok(Self {
            metadata_key: BRANCH_NAME.to_string(),
            operator,
            value: value.to_string(),
            route_to: stage.to_string(),
            priority: position as i64 + 1,
        })
    }
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
    /// *extension*: the service's strategy (`manual` routes every CI registration nowhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<crate::Strategy>,
    /// *extension*: what the registration would be warned of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
