//! Promotion: workflows, and requests into protected stages with their approvals.

use crate::RegistrationType;
use crate::lenient;
use serde::{Deserialize, Serialize};

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

/// *extension*: what each stage of a project deploys now, per service, and the requests that
/// wait for approvals (`GET /wharf/v1/projects/{project}/status`, `wharf status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectStatus {
    pub project: String,
    /// The default workflow's stages in order, then the project's other buckets.
    pub stages: Vec<String>,
    pub services: Vec<ServiceStatus>,
    pub pending: Vec<PromotionRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    pub service: String,
    /// Only the stages that deploy a build of it.
    pub stages: Vec<StageStatus>,
}

/// The build one stage deploys for one service, and how it got there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageStatus {
    pub stage: String,
    pub artifact_id: String,
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// When it got there.
    pub since: String,
    pub by: String,
    /// "routed by rule shop-branches", "promoted", "rolled back", "attached by hand", …
    pub how: String,
    /// The bucket it comes from: the environment itself or its release stream.
    pub via: String,
}
