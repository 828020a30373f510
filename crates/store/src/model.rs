//! The rows the store reads and writes. Closed sets are enums (an unknown stored value is an
//! error when read), JSON columns are typed ([`JsonText`]), and where a build sits is one
//! [`Bucket`] with the one rule for its name ([`Bucket::routed_to`]).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use wharf_api::{
    ArtifactRegisterType, ArtifactType, CiMode, CiSystem, ClosedSet, Criterion, Metadata,
    RegistrationType, WorkflowHierarchy,
};

/// A JSON document kept in a TEXT column (the same on both databases); unreadable JSON is an
/// error when read, never a silent default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonText<T>(pub T);

macro_rules! json_text_on {
    ($db:ty) => {
        impl<T> sqlx::Type<$db> for JsonText<T> {
            fn type_info() -> <$db as sqlx::Database>::TypeInfo {
                <str as sqlx::Type<$db>>::type_info()
            }

            fn compatible(ty: &<$db as sqlx::Database>::TypeInfo) -> bool {
                <str as sqlx::Type<$db>>::compatible(ty)
            }
        }

        impl<'q, T: Serialize> sqlx::Encode<'q, $db> for JsonText<T> {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, $db>>::encode(serde_json::to_string(&self.0)?, buf)
            }
        }

        impl<'r, T: DeserializeOwned> sqlx::Decode<'r, $db> for JsonText<T> {
            fn decode(
                value: <$db as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, $db>>::decode(value)?;
                Ok(JsonText(serde_json::from_str(text)?))
            }
        }
    };
}

json_text_on!(sqlx::Sqlite);
json_text_on!(sqlx::Postgres);

/// How a build came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Registered by a CI run.
    Register,
    /// Registered again at the next stage of a workflow.
    Promote,
    /// Pinned to one environment or stream by hand.
    Attach,
    /// An environment pointed back at an earlier build.
    Rollback,
}

impl ClosedSet for Origin {
    const FIELD: &'static str = "origin";
    const ALL: &'static [Self] = &[Self::Register, Self::Promote, Self::Attach, Self::Rollback];
    const NAMES: &'static [&'static str] = &["register", "promote", "attach", "rollback"];

    fn name(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Promote => "promote",
            Self::Attach => "attach",
            Self::Rollback => "rollback",
        }
    }
}

wharf_api::stored_as_text!(Origin);

/// What a promotion request changes in its stage: the next stage of a workflow, an earlier
/// build again, a build moved by its CI's rule, or the build the stage deploys removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestKind {
    Promote,
    Rollback,
    Reclassify,
    Delete,
}

impl ClosedSet for RequestKind {
    const FIELD: &'static str = "kind";
    const ALL: &'static [Self] = &[
        Self::Promote,
        Self::Rollback,
        Self::Reclassify,
        Self::Delete,
    ];
    const NAMES: &'static [&'static str] = &["PROMOTE", "ROLLBACK", "RECLASSIFY", "DELETE"];

    fn name(self) -> &'static str {
        match self {
            Self::Promote => "PROMOTE",
            Self::Rollback => "ROLLBACK",
            Self::Reclassify => "RECLASSIFY",
            Self::Delete => "DELETE",
        }
    }
}

wharf_api::stored_as_text!(RequestKind);

/// Where a promotion request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestStatus {
    Pending,
    Completed,
    Rejected,
    Lapsed,
}

impl ClosedSet for RequestStatus {
    const FIELD: &'static str = "status";
    const ALL: &'static [Self] = &[Self::Pending, Self::Completed, Self::Rejected, Self::Lapsed];
    const NAMES: &'static [&'static str] = &["PENDING", "COMPLETED", "REJECTED", "LAPSED"];

    fn name(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Completed => "COMPLETED",
            Self::Rejected => "REJECTED",
            Self::Lapsed => "LAPSED",
        }
    }
}

wharf_api::stored_as_text!(RequestStatus);

#[derive(Debug, Clone, FromRow)]
pub struct UserToken {
    pub token_id: String,
    pub user_id: String,
    pub username: String,
    pub admin: bool,
    pub token_hash: String,
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub username: String,
    pub admin: bool,
    pub created_at: String,
}

/// A token as listed: never its secret, which exists only in the answer that created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromRow)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: String,
    pub username: String,
    pub name: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
}

/// A token to store: only its hash.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub username: &'a str,
    pub token_hash: &'a str,
    pub name: Option<&'a str>,
    pub expires_at: Option<&'a str>,
}

#[derive(Debug, Clone, FromRow)]
pub struct RoleRow {
    pub name: String,
    pub permissions: JsonText<Vec<String>>,
    pub built_in: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct ProjectRow {
    pub name: String,
    pub registration_type: Option<RegistrationType>,
    pub ci_system: Option<CiSystem>,
}

#[derive(Debug, Clone, FromRow)]
pub struct EnvironmentRow {
    pub id: String,
    pub project: String,
    pub name: String,
    pub release_stream: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct StreamRow {
    pub project: String,
    pub name: String,
    pub description: Option<String>,
    pub prod: bool,
    pub created_by: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct CiRow {
    pub id: String,
    pub project: String,
    pub name: String,
    pub registration_type: RegistrationType,
    pub description: Option<String>,
    pub artifactory: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub mode: CiMode,
    pub routing_rule_id: Option<String>,
    pub workflow_id: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct RuleRow {
    pub id: String,
    pub project: String,
    pub rule_name: String,
    pub registration_type: RegistrationType,
    pub is_default: bool,
    pub ci_system: Option<CiSystem>,
    pub criteria: JsonText<Vec<Criterion>>,
    pub created_by: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct WorkflowRow {
    pub id: String,
    pub project: String,
    pub name: String,
    pub registration_type: RegistrationType,
    pub is_default: bool,
    /// Stored in sequence order.
    pub hierarchies: JsonText<Vec<WorkflowHierarchy>>,
    pub created_at: String,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

/// The bucket a build sits in: an environment's own, a release stream's, or none
/// (unclassified), and the rule that put it there.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromRow)]
pub struct Bucket {
    pub classified: bool,
    pub cluster_id: Option<String>,
    pub cluster_name: Option<String>,
    pub release_stream: Option<String>,
    pub applied_rule_id: Option<String>,
    pub applied_rule_name: Option<String>,
}

impl Bucket {
    /// No bucket: the build is kept, unclassified.
    pub fn unclassified() -> Self {
        Self::default()
    }

    pub fn environment(environment: &EnvironmentRow) -> Self {
        Self {
            classified: true,
            cluster_id: Some(environment.id.clone()),
            cluster_name: Some(environment.name.clone()),
            ..Self::default()
        }
    }

    pub fn stream(name: &str) -> Self {
        Self {
            classified: true,
            release_stream: Some(name.to_string()),
            ..Self::default()
        }
    }

    /// The same bucket, chosen by `rule`.
    pub fn by_rule(self, rule: &RuleRow) -> Self {
        Self {
            applied_rule_id: Some(rule.id.clone()),
            applied_rule_name: Some(rule.rule_name.clone()),
            ..self
        }
    }

    /// The environment or stream name a classified build sits in (`wharf_api::routed_to`).
    /// The store writes it beside the bucket, so queries filter and group by it without a copy.
    pub fn routed_to(&self) -> Option<&str> {
        wharf_api::routed_to(
            self.classified,
            self.cluster_name.as_deref(),
            self.release_stream.as_deref(),
        )
    }

    /// Facets' `registrationValue`: the environment id for environment buckets, else the
    /// stream name.
    pub fn registration_value(&self) -> Option<&str> {
        self.cluster_id
            .as_deref()
            .or(self.release_stream.as_deref())
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct ArtifactRow {
    pub id: String,
    pub ci_id: String,
    pub project: String,
    pub application_name: String,
    pub artifact_uri: String,
    pub artifactory: String,
    pub external_id: Option<String>,
    pub description: Option<String>,
    pub metadata: JsonText<Metadata>,
    pub register_type: ArtifactRegisterType,
    pub register_value: String,
    pub registration_type: RegistrationType,
    #[sqlx(flatten)]
    pub bucket: Bucket,
    pub promoted: bool,
    pub origin: Origin,
    pub repository_name: Option<String>,
    pub tag: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub promoted_from: Option<String>,
    pub artifact_type: ArtifactType,
    /// A freestyle build's file.
    pub file: Option<JsonText<FileInfo>>,
}

/// A freestyle build's file, as stored: its name, size and SHA-256 digest, and the OCI
/// artifact that holds it in the built-in registry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    pub name: String,
    pub size: u64,
    pub digest: String,
    /// The registry repository (`project/service`) that holds it.
    pub repository: String,
}

/// Which of a CI integration's builds to list.
#[derive(Debug, Clone, Default)]
pub struct BuildFilter {
    /// The environment or stream name the build sits in.
    pub routed_to: Option<String>,
    pub external_id: Option<String>,
    pub classified: Option<bool>,
    pub promoted: Option<bool>,
    pub limit: i64,
}

/// A registry other than the built-in one.
#[derive(Debug, Clone, FromRow)]
pub struct ArtifactoryRow {
    pub name: String,
    /// `host[:port][/path prefix]`.
    pub uri: String,
    pub username: String,
    pub password: String,
    pub created_by: String,
    pub created_at: String,
}

/// A short-lived push credential of the built-in registry.
#[derive(Debug, Clone, FromRow)]
pub struct RegistryCredential {
    pub username: String,
    pub password_hash: String,
    pub repository: String,
    pub owner: String,
    pub expires_at: String,
    /// The token that obtained it; `None` for the in-memory admin.
    pub token_id: Option<String>,
}

/// A push credential as checked: its row, and whether its owner is a server admin. Found
/// only while the token that obtained it still works.
#[derive(Debug, Clone, FromRow)]
pub struct LiveCredential {
    #[sqlx(flatten)]
    pub credential: RegistryCredential,
    pub owner_admin: bool,
}

/// An upload session of the built-in registry.
#[derive(Debug, Clone, FromRow)]
pub struct UploadRow {
    pub repository: String,
    pub created_at: String,
}

/// A manifest of the built-in registry, as stored.
#[derive(Debug, Clone)]
pub struct NewManifest<'a> {
    pub repository: &'a str,
    pub digest: &'a str,
    pub media_type: &'a str,
    pub size: i64,
    pub children: &'a [String],
    pub tag: Option<&'a str>,
    /// The subjects it refers to (its own `subject`, or what a tag-scheme index lists).
    pub referrers: &'a [Referrer],
}

/// One entry of a subject's referrers: a manifest that refers to it, as the referrers API
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Referrer {
    pub subject: String,
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub artifact_type: Option<String>,
    /// A JSON object, when the manifest has annotations.
    pub annotations: Option<String>,
}

/// One audit entry, before it is written: who did what, to what, where.
#[derive(Debug, Clone)]
pub struct Audit {
    pub performed_by: String,
    pub entity: &'static str,
    pub action: &'static str,
    pub target: Option<String>,
    pub metadata: serde_json::Value,
    pub stack_name: Option<String>,
    pub cluster: Option<(String, String)>,
}

impl Audit {
    /// `entity` is e.g. `CI_RULE`, `action` e.g. `CI_RULE_CREATE`.
    pub fn new(performed_by: &str, entity: &'static str, action: &'static str) -> Self {
        Self {
            performed_by: performed_by.to_string(),
            entity,
            action,
            target: None,
            metadata: serde_json::Value::Object(Default::default()),
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

    /// The environment the entry concerns, when the bucket is one.
    pub fn bucket(mut self, bucket: &Bucket) -> Self {
        if let (Some(id), Some(name)) = (&bucket.cluster_id, &bucket.cluster_name) {
            self.cluster = Some((id.clone(), name.clone()));
        }
        self
    }

    pub fn meta(mut self, key: &str, value: impl Serialize) -> Self {
        if let (serde_json::Value::Object(map), Ok(value)) =
            (&mut self.metadata, serde_json::to_value(value))
        {
            map.insert(key.to_string(), value);
        }
        self
    }
}

/// An audit entry as stored.
#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub id: String,
    pub performed_by: String,
    pub performed_at: String,
    pub entity: String,
    pub entity_action: String,
    pub target: Option<String>,
    pub metadata: JsonText<serde_json::Value>,
    pub cluster_id: Option<String>,
    pub cluster_name: Option<String>,
    pub stack_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment() -> EnvironmentRow {
        EnvironmentRow {
            id: "e1".into(),
            project: "shop".into(),
            name: "dev".into(),
            release_stream: "QA".into(),
        }
    }

    #[test]
    fn routed_to_names_the_environment_then_the_stream_and_nothing_unclassified() {
        assert_eq!(Bucket::environment(&environment()).routed_to(), Some("dev"));
        assert_eq!(Bucket::stream("QA").routed_to(), Some("QA"));
        assert_eq!(Bucket::unclassified().routed_to(), None);
        let odd = Bucket {
            classified: false,
            cluster_name: Some("dev".into()),
            ..Bucket::default()
        };
        assert_eq!(odd.routed_to(), None);
    }

    #[test]
    fn registration_value_is_the_environment_id_or_the_stream() {
        assert_eq!(
            Bucket::environment(&environment()).registration_value(),
            Some("e1")
        );
        assert_eq!(Bucket::stream("QA").registration_value(), Some("QA"));
    }
}

/// A protected stage of a project and its rules.
#[derive(Debug, Clone, FromRow)]
pub struct ProtectionRow {
    pub project: String,
    pub stage: String,
    pub rules: JsonText<wharf_api::project_file::Protection>,
}

/// A promotion (or rollback) into a protected stage, as stored.
#[derive(Debug, Clone, FromRow)]
pub struct RequestRow {
    pub id: String,
    pub project: String,
    pub ci_id: String,
    pub kind: RequestKind,
    /// The build to place in `stage`.
    pub source_id: String,
    pub stage: String,
    pub digest: String,
    pub required: i64,
    pub status: RequestStatus,
    pub requested_by: String,
    pub requested_at: String,
    pub updated_at: String,
    pub reason: Option<String>,
    pub result_id: Option<String>,
}

/// One approval of a request.
#[derive(Debug, Clone, FromRow)]
pub struct ApprovalRow {
    pub request_id: String,
    pub username: String,
    pub digest: String,
    pub approved_at: String,
}

/// An upload session's whole state (issue 15): any replica can continue it from here.
#[derive(Debug, Clone, Default, FromRow)]
pub struct UploadSession {
    pub id: String,
    pub repository: String,
    pub created_at: String,
    /// Bytes received and accounted for (hashed, and written or held in `pending`).
    pub size: i64,
    /// The running SHA-256 state, hex; `None` before the first byte.
    pub hash_state: Option<String>,
    /// Where the bytes go in the blob store (object storage: the multipart upload's key).
    pub object_key: Option<String>,
    /// The object store's multipart upload, once the first part is due.
    pub multipart_id: Option<String>,
    /// The parts sent so far, as a JSON list of the store's part ids.
    pub parts: String,
    /// Bytes received but not yet sent as a part (under the store's minimum part size).
    pub pending: Option<Vec<u8>>,
    pub updated_at: Option<String>,
}

/// A blob's bytes in the blob store, by digest.
#[derive(Debug, Clone, FromRow)]
pub struct StoredObject {
    pub digest: String,
    pub object_key: String,
    pub size: i64,
}

/// A repository's blob that no manifest there references.
#[derive(Debug, Clone, FromRow)]
pub struct LooseBlob {
    pub repository: String,
    pub digest: String,
    pub size: i64,
}
