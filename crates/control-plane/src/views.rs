//! Stored rows as the Facets wire types.

use crate::registration::parse_type;
use crate::store::{ArtifactRow, CiRow, EnvironmentRow, RuleRow, StreamRow};
use wharf_api::{
    Artifact, ArtifactCI, CiArtifactResponse, CiSystem, Cluster, Metadata, ReleaseStream,
    RoutingRuleResponse,
};

fn metadata_of(row: &ArtifactRow) -> Metadata {
    serde_json::from_str(&row.metadata).unwrap_or_default()
}

/// The bucket's key: the environment id for environment buckets, else the stream name.
fn registration_value(row: &ArtifactRow) -> Option<String> {
    row.cluster_id
        .clone()
        .or_else(|| row.release_stream.clone())
}

/// The environment or stream name a classified build sits in.
pub fn routed_to(row: &ArtifactRow) -> Option<String> {
    if !row.classified {
        return None;
    }
    row.cluster_name
        .clone()
        .or_else(|| row.release_stream.clone())
}

pub fn artifact_view(row: &ArtifactRow, ci_name: &str) -> Artifact {
    Artifact {
        id: row.id.clone(),
        created_by: Some(row.created_by.clone()),
        creation_date: Some(row.created_at.clone()),
        last_modified_date: Some(row.created_at.clone()),
        last_modified_by: Some(row.created_by.clone()),
        build_id: row.external_id.clone(),
        application_name: Some(row.application_name.clone()),
        artifact_uri: Some(row.artifact_uri.clone()),
        cluster_id: row.cluster_id.clone(),
        release_stream: row.release_stream.clone(),
        artifactory: Some(row.artifactory.clone()),
        build_description: row.description.clone(),
        created_on: Some(row.created_at.clone()),
        metadata: metadata_of(row),
        applied_rule_id: row.applied_rule_id.clone(),
        applied_rule_name: row.applied_rule_name.clone(),
        applied_rule_version_id: row.applied_rule_id.as_ref().map(|_| "1".to_string()),
        repository_name: row.repository_name.clone(),
        tag: row.tag.clone(),
        registration_type: Some(parse_type(&row.registration_type)),
        registration_value: registration_value(row),
        promoted: row.promoted,
        classified: row.classified,
        versioning_key: None,
        ci_name: Some(ci_name.to_string()),
        stack_name: Some(row.project.clone()),
        cluster_name: row.cluster_name.clone(),
    }
}

pub fn ci_artifact_view(row: &ArtifactRow) -> CiArtifactResponse {
    CiArtifactResponse {
        artifact_id: row.id.clone(),
        external_id: row.external_id.clone(),
        artifact_name: Some(row.application_name.clone()),
        artifact_uri: Some(row.artifact_uri.clone()),
        artifactory: Some(row.artifactory.clone()),
        build_description: row.description.clone(),
        created_on: Some(row.created_at.clone()),
        registration_type: Some(parse_type(&row.registration_type)),
        registration_value: registration_value(row),
        created_by: Some(row.created_by.clone()),
        metadata: metadata_of(row),
        repository_name: row.repository_name.clone(),
        tag: row.tag.clone(),
        promoted: row.promoted,
        classified: row.classified,
        applied_rule_name: row.applied_rule_name.clone(),
        routed_to: routed_to(row),
    }
}

pub fn ci_view(row: &CiRow) -> ArtifactCI {
    ArtifactCI {
        id: Some(row.id.clone()),
        name: row.name.clone(),
        stack_name: Some(row.project.clone()),
        registration_type: Some(parse_type(&row.registration_type)),
        description: row.description.clone(),
        artifactory: row.artifactory.clone(),
        created_by: row.created_by.clone(),
        creation_date: Some(row.created_at.clone()),
        routing_rule_id: row.routing_rule_id.clone(),
        workflow_id: row.workflow_id.clone(),
        mode: Some(row.mode.clone()),
    }
}

pub fn rule_view(row: &RuleRow) -> RoutingRuleResponse {
    RoutingRuleResponse {
        id: row.id.clone(),
        rule_name: row.rule_name.clone(),
        registration_type: parse_type(&row.registration_type),
        criteria: serde_json::from_str(&row.criteria).unwrap_or_default(),
        stack_name: row.project.clone(),
        default: row.is_default,
        ci_system: row.ci_system.as_deref().and_then(parse_ci_system),
        created_by: row.created_by.clone(),
        creation_date: Some(row.created_at.clone()),
    }
}

pub fn stream_view(row: &StreamRow) -> ReleaseStream {
    ReleaseStream {
        name: row.name.clone(),
        description: row.description.clone(),
        created_by: row.created_by.clone(),
        creation_date: Some(row.created_at.clone()),
        prod: row.prod,
        stack_name: Some(row.project.clone()),
    }
}

pub fn cluster_view(row: &EnvironmentRow) -> Cluster {
    Cluster {
        id: row.id.clone(),
        name: row.name.clone(),
        stack_name: row.project.clone(),
        release_stream: row.release_stream.clone(),
    }
}

pub fn ci_system_name(system: CiSystem) -> String {
    serde_json::to_value(system)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

pub fn parse_ci_system(text: &str) -> Option<CiSystem> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

pub fn workflow_view(row: &crate::store::WorkflowRow) -> wharf_api::PromotionWorkflow {
    wharf_api::PromotionWorkflow {
        id: Some(row.id.clone()),
        name: Some(row.name.clone()),
        stack_name: row.project.clone(),
        registration_type: parse_type(&row.registration_type),
        hierarchies: crate::promotion::stages_of(row),
        default: row.is_default,
    }
}
