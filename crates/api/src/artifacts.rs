//! Builds (artifacts): the registration requests in every form Facets accepts, the build as
//! answered, and what an environment resolves to.

use crate::lenient;
use crate::{ArtifactRegisterType, Metadata, RegisteredFor, RegistrationType, routed_to};
use serde::{Deserialize, Serialize};

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
    /// *extension*: the build's in-toto statement with SLSA provenance v1
    /// ([`crate::provenance`]), stored with the build and checked against a keyless login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<serde_json::Value>,
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
    /// *extension*: what the control plane saw that the registrant should know now (a path
    /// into a protected stage that a tag cannot take, …), one sentence each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// *extension*: `docker_image` or `freestyle` (a file; see `file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<crate::ArtifactType>,
    /// *extension*: a freestyle build's file: its download URI (the built-in registry's blob
    /// URL, read with a wharf token), digest, name and size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<OverrideFile>,
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
    /// *extension*: the environment override for this build (`wharf resolve --output
    /// override`).
    #[serde(rename = "override", default, skip_serializing_if = "Option::is_none")]
    pub service_override: Option<ServiceOverride>,
}

/// *extension*: one service's environment override, as the seed describes it: the image under
/// `spec.release.image` (a file's URI and digest under `spec.release.artifact` for freestyle
/// builds) and where it comes from under `metadata.labels`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOverride {
    pub spec: OverrideSpec,
    pub metadata: OverrideMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverrideSpec {
    pub release: OverrideRelease,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverrideRelease {
    /// The image, by digest when known (`registry/repository@sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A freestyle build's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<OverrideFile>,
}

/// A freestyle build's file: where to download it (authenticated) and its digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverrideFile {
    pub uri: String,
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverrideMetadata {
    /// `registry`, `repository`, `tag`, `digest` (those known), `artifactType`, `buildId`.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// *extension*: `GET /wharf/v1/projects/{p}/environments/{e}/overrides`: every service's
/// override for one environment; services that deploy nothing there are listed apart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentOverrides {
    pub project: String,
    pub environment: String,
    pub overrides: std::collections::BTreeMap<String, ServiceOverride>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deploys_nothing: Vec<String>,
}

/// The `artifactRequest` part of `POST /cc-ui/v1/artifacts/upload` (multipart, before the
/// `file` part): Facets' `ArtifactRequest` fields, and where the file goes named as in a
/// registration (`artifactRegisterType`/`artifactRegisterValue`, or facetsctl's
/// `registrationType`/`registrationValue`), by `clusterId` or `releaseStream`, or by
/// `metadata.BRANCH_NAME`. Lenient, like every Facets body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blueprint_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_register_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_register_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_stream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// *extension*: refuse (storing nothing) a file that would be unclassified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_route: Option<bool>,
}
