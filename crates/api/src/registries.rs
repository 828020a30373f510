//! Registries (artifactories) and push credentials.

use serde::{Deserialize, Serialize};

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

/// The name of the control plane's own registry (Facets' fallback artifactory): the one home
/// of the literal, for client and server.
pub const BUILT_IN_ARTIFACTORY: &str = "default";
