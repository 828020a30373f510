//! Places builds go: release streams and environments (clusters).

use crate::lenient;
use serde::{Deserialize, Serialize};

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
