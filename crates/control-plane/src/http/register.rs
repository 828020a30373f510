//! The registration endpoints, current and older; all end in `Delivery::register`.

use super::{AppState, Body, Query, registered};
use crate::domain::auth::AuthUser;
use crate::domain::registration::{Registration, Target};
use crate::error::{Error, Result};
use crate::validate::require;
use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use wharf_api::{
    ArtifactRequest, RegisterByEnvRequest, RegisterByReleaseStreamRequest, RoutePreview,
    SaasArtifactRequest,
};

async fn respond(state: &AppState, request: Registration, user: &AuthUser) -> Result<Response> {
    Ok(registered(state.cp.delivery.register(user, request).await?))
}

/// `POST /cc-ui/v1/ci-cd/register`.
/// `?requireRoute=true` on `POST /cc-ui/v1/ci-cd/register` (a wharf extension; Facets ignores
/// it): refuse an unclassified build with 422 `NOT_ROUTED`, storing nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterQuery {
    require_route: Option<bool>,
}

pub async fn saas_register(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Query(query): Query<RegisterQuery>,
    Body(body): Body<SaasArtifactRequest>,
) -> Result<Response> {
    let mut request = saas_registration(body)?;
    request.require_route = query.require_route.unwrap_or(false);
    let statement = request.provenance.clone();
    let mut stored = state.cp.delivery.register(&user, request).await?;
    if let Some(statement) = statement
        && !stored.replayed
        && let Some(warning) = keep_statement(&state, &user, &stored, statement).await
    {
        stored.artifact.warnings.push(warning);
    }
    Ok(registered(stored))
}

/// Stores a registration's statement as an (unsigned) in-toto referrer of its image when the
/// image is in the built-in registry; what went wrong, as a warning (the build is registered
/// and its statement recorded with it either way).
async fn keep_statement(
    state: &AppState,
    user: &AuthUser,
    stored: &crate::domain::registration::StoredBuild,
    statement: serde_json::Value,
) -> Option<String> {
    let uri = stored.artifact.artifact_uri.as_deref()?;
    let reference: wharf_oci::ImageReference = uri.parse().ok()?;
    let digest = reference.digest.clone()?;
    if !state.cp.door.is_own_registry(&reference.registry) {
        return None;
    }
    let caller = crate::domain::push::RegistryCaller::User(user.clone());
    let kind = wharf_api::provenance::IN_TOTO_ARTIFACT_TYPE;
    let bytes = statement.to_string().into_bytes();
    let stored = state
        .registry
        .store_referrer(&caller, &reference.repository, &digest, kind, bytes)
        .await;
    stored.err().map(|e| {
        format!(
            "the provenance was recorded with the build, but not stored as a referrer of {uri}: {}",
            e.message
        )
    })
}

/// `POST /wharf/v1/register/preview`: the body of `POST /cc-ui/v1/ci-cd/register`, answered
/// with where the server would put it and by which rule, writing nothing.
pub async fn saas_preview(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<SaasArtifactRequest>,
) -> Result<Json<RoutePreview>> {
    let request = saas_registration(body)?;
    Ok(Json(
        state
            .cp
            .delivery
            .preview_registration(&user, request)
            .await?,
    ))
}

fn saas_registration(body: SaasArtifactRequest) -> Result<Registration> {
    let ci_name = body
        .ci_name
        .clone()
        .or_else(|| body.application_name.clone())
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            Error::bad_request("missing field `applicationName`: set applicationName or ciName")
        })?;
    let value = require("artifactRegisterValue", Some(&body.artifact_register_value))?;
    let target = Target::addressed(body.artifact_register_type, value);
    Ok(Registration {
        project: body.blueprint_name,
        ci_name,
        application_name: body.application_name,
        artifact_uri: body.artifact_uri,
        artifactory: Some(body.artifactory).filter(|a| !a.trim().is_empty()),
        target,
        external_id: body.external_id,
        description: body.description,
        metadata: body.metadata.unwrap_or_default(),
        repository_name: body.repository_name,
        tag: body.tag,
        require_route: false,
        file: None,
        provenance: body.provenance,
    })
}

fn legacy(
    stack: Option<String>,
    application: Option<String>,
    artifact_uri: Option<String>,
    artifactory: Option<String>,
    target: Target,
) -> Result<Registration> {
    let application = require("applicationName", application.as_deref())?;
    Ok(Registration {
        project: require("stackName", stack.as_deref())?,
        ci_name: application.clone(),
        application_name: Some(application),
        artifact_uri: require("artifactUri", artifact_uri.as_deref())?,
        artifactory,
        target,
        external_id: None,
        description: None,
        metadata: Default::default(),
        repository_name: None,
        tag: None,
        require_route: false,
        file: None,
        provenance: None,
    })
}

/// `POST /cc-ui/v1/artifacts/push`: routed by the metadata's `BRANCH_NAME` and friends.
pub async fn push_by_metadata(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<ArtifactRequest>,
) -> Result<Response> {
    let mut request = legacy(
        body.stack_name,
        body.application_name,
        body.artifact_uri,
        body.artifactory,
        Target::Metadata,
    )?;
    request.metadata = body.metadata.unwrap_or_default();
    request.external_id = body.external_id;
    request.description = body.description;
    request.tag = body.tag;
    respond(&state, request, &user).await
}

/// `POST /cc-ui/v1/artifacts/registerV2`: an explicit environment id or release stream.
pub async fn register_v2(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<ArtifactRequest>,
) -> Result<Response> {
    let target = match (&body.cluster_id, &body.release_stream) {
        (Some(id), _) if !id.trim().is_empty() => {
            Target::Environment(state.cp.lookups.environment_by_id(id).await?.name)
        }
        (_, Some(stream)) if !stream.trim().is_empty() => Target::ReleaseStream(stream.clone()),
        _ => {
            return Err(Error::bad_request(
                "missing field `clusterId`: set clusterId or releaseStream",
            ));
        }
    };
    let mut request = legacy(
        body.stack_name,
        body.application_name,
        body.artifact_uri,
        body.artifactory,
        target,
    )?;
    request.metadata = body.metadata.unwrap_or_default();
    request.external_id = body.external_id;
    request.description = body.description;
    request.tag = body.tag;
    respond(&state, request, &user).await
}

/// `POST /cc-ui/v1/artifacts/register-by-env`.
pub async fn register_by_env(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<RegisterByEnvRequest>,
) -> Result<Response> {
    let env = require("clusterName", body.cluster_name.as_deref())?;
    let mut request = legacy(
        body.stack_name,
        body.application_name,
        body.artifact_uri,
        body.artifactory,
        Target::Environment(env),
    )?;
    request.external_id = body.external_id;
    request.description = body.description;
    respond(&state, request, &user).await
}

/// `POST /cc-ui/v1/artifacts/register-by-release-stream`.
pub async fn register_by_stream(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<RegisterByReleaseStreamRequest>,
) -> Result<Response> {
    let stream = require("releaseStream", body.release_stream.as_deref())?;
    let mut request = legacy(
        body.stack_name,
        body.application_name,
        body.artifact_uri,
        body.artifactory,
        Target::ReleaseStream(stream),
    )?;
    request.external_id = body.external_id;
    request.description = body.description;
    respond(&state, request, &user).await
}
