//! Stored rows as the Facets wire types; pure, no reads.

use wharf_api::{
    Artifact, ArtifactCI, AuditEntry, CiArtifactResponse, ClosedSet, Cluster, PromotionWorkflow,
    ReleaseStream, RoutingRuleResponse,
};
use wharf_store::{ArtifactRow, AuditRow, CiRow, EnvironmentRow, RuleRow, StreamRow, WorkflowRow};

pub fn artifact_view(row: &ArtifactRow, ci_name: &str) -> Artifact {
    let bucket = &row.bucket;
    Artifact {
        id: row.id.clone(),
        created_by: Some(row.created_by.clone()),
        creation_date: Some(row.created_at.clone()),
        last_modified_date: Some(row.created_at.clone()),
        last_modified_by: Some(row.created_by.clone()),
        build_id: row.external_id.clone(),
        application_name: Some(row.application_name.clone()),
        artifact_uri: Some(row.artifact_uri.clone()),
        cluster_id: bucket.cluster_id.clone(),
        release_stream: bucket.release_stream.clone(),
        artifactory: Some(row.artifactory.clone()),
        build_description: row.description.clone(),
        created_on: Some(row.created_at.clone()),
        metadata: row.metadata.0.clone(),
        applied_rule_id: bucket.applied_rule_id.clone(),
        applied_rule_name: bucket.applied_rule_name.clone(),
        applied_rule_version_id: bucket.applied_rule_id.as_ref().map(|_| "1".to_string()),
        repository_name: row.repository_name.clone(),
        tag: row.tag.clone(),
        registration_type: Some(row.registration_type),
        registration_value: bucket.registration_value().map(str::to_string),
        promoted: row.promoted,
        classified: bucket.classified,
        versioning_key: None,
        ci_name: Some(ci_name.to_string()),
        stack_name: Some(row.project.clone()),
        cluster_name: bucket.cluster_name.clone(),
    }
}

pub fn ci_artifact_view(row: &ArtifactRow) -> CiArtifactResponse {
    let bucket = &row.bucket;
    CiArtifactResponse {
        artifact_id: row.id.clone(),
        external_id: row.external_id.clone(),
        artifact_name: Some(row.application_name.clone()),
        artifact_uri: Some(row.artifact_uri.clone()),
        artifactory: Some(row.artifactory.clone()),
        build_description: row.description.clone(),
        created_on: Some(row.created_at.clone()),
        registration_type: Some(row.registration_type),
        registration_value: bucket.registration_value().map(str::to_string),
        created_by: Some(row.created_by.clone()),
        metadata: row.metadata.0.clone(),
        repository_name: row.repository_name.clone(),
        tag: row.tag.clone(),
        promoted: row.promoted,
        classified: bucket.classified,
        applied_rule_name: bucket.applied_rule_name.clone(),
        routed_to: bucket.routed_to().map(str::to_string),
    }
}

pub fn ci_view(row: &CiRow) -> ArtifactCI {
    ArtifactCI {
        id: Some(row.id.clone()),
        name: row.name.clone(),
        stack_name: Some(row.project.clone()),
        registration_type: Some(row.registration_type),
        description: row.description.clone(),
        artifactory: row.artifactory.clone(),
        created_by: row.created_by.clone(),
        creation_date: Some(row.created_at.clone()),
        routing_rule_id: row.routing_rule_id.clone(),
        workflow_id: row.workflow_id.clone(),
        mode: Some(row.mode.name().to_string()),
    }
}

pub fn rule_view(row: &RuleRow) -> RoutingRuleResponse {
    RoutingRuleResponse {
        id: row.id.clone(),
        rule_name: row.rule_name.clone(),
        registration_type: row.registration_type,
        criteria: row.criteria.0.clone(),
        stack_name: row.project.clone(),
        default: row.is_default,
        ci_system: row.ci_system,
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

pub fn workflow_view(row: &WorkflowRow) -> PromotionWorkflow {
    PromotionWorkflow {
        id: Some(row.id.clone()),
        name: Some(row.name.clone()),
        stack_name: row.project.clone(),
        registration_type: row.registration_type,
        hierarchies: row.hierarchies.0.clone(),
        default: row.is_default,
    }
}

pub fn audit_view(row: AuditRow) -> AuditEntry {
    AuditEntry {
        entity_label: label(&row.entity),
        entity_action_label: label(&row.entity_action),
        metadata: row.metadata.0,
        id: row.id,
        performed_by: row.performed_by,
        performed_at: row.performed_at,
        entity: row.entity,
        entity_action: row.entity_action,
        target: row.target,
        cluster_id: row.cluster_id,
        cluster_name: row.cluster_name,
        stack_name: row.stack_name,
    }
}

/// Human labels for the entity and action names: `CI_RULE_CREATE` → `Ci rule create`.
fn label(name: &str) -> String {
    let lower = name.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
