//! Stored rows as the Facets wire types; pure, no reads.

/// The rows and filters the HTTP layer reads, as the domain hands them over: handlers name
/// them from here, never from the store (the UI's pages still render some rows whole; page
/// models of their own are to replace them).
pub use wharf_store::{
    ArtifactRow, AuditFilter, AuditRow, BuildFilter, CiRow, FileInfo, Origin, TagRow, TokenInfo,
    format_time,
};

use crate::domain::lookups::BUILT_IN_STREAMS;
use wharf_api::{
    Artifact, ArtifactCI, AuditEntry, CiArtifactResponse, Cluster, PromotionWorkflow,
    ReleaseStream, RoutingRuleResponse,
};
use wharf_store::{EnvironmentRow, RuleRow, StreamRow, WorkflowRow};

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
        warnings: Vec::new(),
        artifact_type: Some(row.artifact_type),
        file: row
            .file
            .as_ref()
            .map(|f| file_view(&f.0, &row.artifact_uri)),
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
        ci_name: Some(row.name.clone()),
        stack_name: Some(row.project.clone()),
        registration_type: Some(row.registration_type),
        description: row.description.clone(),
        artifactory: row.artifactory.clone(),
        created_by: row.created_by.clone(),
        creation_date: Some(row.created_at.clone()),
        last_modified_by: None,
        last_modified_date: None,
        routing_rule_id: row.routing_rule_id.clone(),
        rule_id: row.routing_rule_id.clone(),
        workflow_id: row.workflow_id.clone(),
        promotion_workflow_id: row.workflow_id.clone(),
        mode: Some(row.mode),
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
        is_default: Some(row.is_default),
        ci_system: row.ci_system,
        created_by: row.created_by.clone(),
        creation_date: Some(row.created_at.clone()),
    }
}

/// A release stream; `environments` are the names of those that belong to it.
pub fn stream_view(row: &StreamRow, environments: Vec<String>) -> ReleaseStream {
    ReleaseStream {
        name: row.name.clone(),
        description: row.description.clone(),
        created_by: row.created_by.clone(),
        creation_date: Some(row.created_at.clone()),
        prod: row.prod,
        stack_name: Some(row.project.clone()),
        mapped_cluster_names: Some(environments),
        built_in: Some(BUILT_IN_STREAMS.iter().any(|(name, _)| *name == row.name)),
    }
}

pub fn cluster_view(row: &EnvironmentRow) -> Cluster {
    Cluster {
        id: row.id.clone(),
        name: row.name.clone(),
        stack_name: row.project.clone(),
        release_stream: row.release_stream.clone(),
        tz: Some("UTC".into()),
        cloud: Some("NO_CLOUD".into()),
    }
}

pub fn workflow_view(row: &WorkflowRow) -> PromotionWorkflow {
    PromotionWorkflow {
        id: Some(row.id.clone()),
        name: Some(row.name.clone()),
        workflow_name: Some(row.name.clone()),
        stack_name: row.project.clone(),
        registration_type: row.registration_type,
        hierarchies: row.hierarchies.0.clone(),
        default: row.is_default,
        default_workflow: Some(row.is_default),
        created_by: None,
        creation_date: Some(row.created_at.clone()),
    }
}

/// An audit entry as wharf wrote it (`/wharf/v1/audit-logs`).
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

/// Facets' audit entities (its SDK refuses any other).
const FACETS_ENTITIES: [&str; 28] = [
    "BLUEPRINT",
    "ENVIRONMENT",
    "RESOURCE",
    "CI_INTEGRATION",
    "CI_RULE",
    "CI_CD",
    "PROMOTION_WORKFLOW",
    "RELEASE_STREAM",
    "DELIVERY_PIPELINE",
    "TRASH",
    "RELEASE_SCHEDULE",
    "AVAILABILITY_RULES",
    "TEMPLATE_INPUT",
    "SETTINGS",
    "ACCOUNT",
    "CONTAINER_REGISTRY",
    "NOTIFICATION_CHANNEL",
    "NOTIFICATION_SUBSCRIPTION",
    "OAUTH_INTEGRATION",
    "GUARDRAIL_POLICY",
    "USER",
    "USER_GROUP",
    "CUSTOM_ROLE",
    "RESOURCE_GROUP",
    "PROJECT_TYPE",
    "MODULE",
    "WEB_COMPONENT",
    "UNKNOWN",
];

/// The actions wharf writes under the names Facets' enum has for them.
const FACETS_ACTIONS: [&str; 22] = [
    "CI_INTEGRATION_CREATE",
    "CI_INTEGRATION_UPDATE",
    "CI_INTEGRATION_DELETE",
    "CI_CD_CONFIGURE",
    "CI_RULE_CREATE",
    "CI_RULE_UPDATE",
    "CI_RULE_DELETE",
    "PROMOTION_WORKFLOW_CREATE",
    "PROMOTION_WORKFLOW_UPDATE",
    "PROMOTION_WORKFLOW_DELETE",
    "RELEASE_STREAM_CREATE",
    "RELEASE_STREAM_DELETE",
    "ENVIRONMENT_CREATE",
    "ENVIRONMENT_UPDATE",
    "ENVIRONMENT_DELETE",
    "CONTAINER_REGISTRY_CREATE",
    "CONTAINER_REGISTRY_UPDATE",
    "CONTAINER_REGISTRY_DELETE",
    "USER_CREATE",
    "USER_UPDATE",
    "USER_DELETE",
    "CUSTOM_ROLE_UPDATE",
];

/// wharf's entity as Facets' enum names it: builds belong to a CI integration, a project is a
/// blueprint, tokens and memberships are a user's, roles are custom roles.
fn facets_entity(entity: &str) -> &str {
    match entity {
        "ARTIFACT" => "CI_INTEGRATION",
        "PROJECT" => "BLUEPRINT",
        "TOKEN" | "MEMBER" => "USER",
        "ROLE" => "CUSTOM_ROLE",
        known if FACETS_ENTITIES.contains(&known) => known,
        _ => "UNKNOWN",
    }
}

/// wharf's action as Facets' enum names it, `UNKNOWN` where it has no name for it.
fn facets_action(action: &str) -> &str {
    match action {
        "CI_INTEGRATION_ATTACH" | "CI_INTEGRATION_DETACH" => "CI_INTEGRATION_UPDATE",
        "PROJECT_CREATE" => "BLUEPRINT_CREATE",
        "PROJECT_UPDATE" | "PROJECT_APPLY" => "BLUEPRINT_UPDATE",
        "MEMBER_SET"
        | "MEMBER_REMOVE"
        | "TOKEN_CREATE"
        | "TOKEN_REVOKE"
        | "OIDC_TOKEN_EXCHANGE" => "USER_UPDATE",
        "ROLE_SAVE" => "CUSTOM_ROLE_UPDATE",
        "REGISTRY_MANIFEST_PUSH" | "REGISTRY_TAG_MOVE" => "CONTAINER_REGISTRY_UPDATE",
        "REGISTRY_MANIFEST_DELETE" | "REGISTRY_BLOB_DELETE" => "CONTAINER_REGISTRY_DELETE",
        known if FACETS_ACTIONS.contains(&known) => known,
        _ => "UNKNOWN",
    }
}

/// An audit entry in the form Facets' clients accept (`/cc-ui/v1/audit-logs`): entity and
/// action within Facets' enums; where wharf's differ, the originals in `metadata` as
/// `wharfEntity` and `wharfAction`, and in the labels.
pub fn facets_audit_view(row: AuditRow) -> AuditEntry {
    let mut entry = audit_view(row);
    let entity = facets_entity(&entry.entity).to_string();
    let action = facets_action(&entry.entity_action).to_string();
    if let serde_json::Value::Object(metadata) = &mut entry.metadata {
        if entity != entry.entity {
            metadata.insert("wharfEntity".into(), entry.entity.clone().into());
        }
        if action != entry.entity_action {
            metadata.insert("wharfAction".into(), entry.entity_action.clone().into());
        }
    }
    entry.entity = entity;
    entry.entity_action = action;
    entry
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

/// A freestyle build's file as the wire shows it: its download URI is the blob's URL in the
/// built-in registry the build's URI names (`http://` only for a loopback host).
pub fn file_view(file: &wharf_store::FileInfo, artifact_uri: &str) -> wharf_api::OverrideFile {
    let host = super::artifactories::registry_host(artifact_uri);
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name);
    let scheme = if wharf_http::is_loopback_host(name) {
        "http"
    } else {
        "https"
    };
    wharf_api::OverrideFile {
        uri: format!(
            "{scheme}://{host}/v2/{}/blobs/{}",
            file.repository, file.digest
        ),
        digest: file.digest.clone(),
        name: Some(file.name.clone()),
        size: Some(file.size),
    }
}

/// The environment override of a deployed build, as the seed describes it: the image under
/// `spec.release.image` (for a file, its URI and digest under `spec.release.artifact`), and
/// its registry, repository, tag and digest under `metadata.labels`.
pub fn service_override(row: &ArtifactRow) -> wharf_api::ServiceOverride {
    use wharf_api::{ClosedSet, OverrideMetadata, OverrideRelease, OverrideSpec, ServiceOverride};
    let mut labels = std::collections::BTreeMap::new();
    labels.insert(
        "artifactType".to_string(),
        row.artifact_type.name().to_string(),
    );
    labels.insert("buildId".to_string(), row.id.clone());
    if let Ok(reference) = row.artifact_uri.parse::<wharf_oci::ImageReference>() {
        labels.insert("registry".into(), reference.registry.clone());
        labels.insert("repository".into(), reference.repository.clone());
        if let Some(digest) = &reference.digest {
            labels.insert("digest".into(), digest.to_string());
        }
    }
    if let Some(tag) = row.tag.clone().or_else(|| {
        row.artifact_uri
            .parse::<wharf_oci::ImageReference>()
            .ok()
            .and_then(|r| r.tag)
    }) {
        labels.insert("tag".into(), tag);
    }
    let file = row
        .file
        .as_ref()
        .map(|f| file_view(&f.0, &row.artifact_uri));
    let release = match file {
        Some(file) => OverrideRelease {
            image: None,
            artifact: Some(file),
        },
        None => OverrideRelease {
            image: Some(row.artifact_uri.clone()),
            artifact: None,
        },
    };
    ServiceOverride {
        spec: OverrideSpec { release },
        metadata: OverrideMetadata { labels },
    }
}
