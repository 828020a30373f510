//! `pushCredentials` (and its older V2/V3 forms): short-lived credentials for one repository of
//! the built-in registry, `<project>/<ciName>`, push and pull only.

use super::{AppState, Body};
use crate::audit::Audit;
use crate::auth::{AuthUser, hash_token};
use crate::error::{Error, Result, require};
use crate::permissions;
use crate::registry::CREDENTIAL_PREFIX;
use crate::store::{CiRow, format_time};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::{Extension, Json};
use base64::Engine;
use rand::RngCore;
use serde::Serialize;
use wharf_api::{PushCredentialsRequest, PushCredentialsResponse};

/// How long a push credential works.
const CREDENTIAL_LIFETIME: time::Duration = time::Duration::hours(1);
/// The built-in registry's name, Facets' fallback artifactory name.
pub const BUILT_IN_ARTIFACTORY: &str = "default";

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// The registry's host as the caller reached it (`Host`), e.g. `cp.example.com:8080`.
pub fn registry_host(headers: &HeaderMap) -> Result<String> {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::bad_request("the request has no Host header to address the registry by")
        })
}

/// Issues a credential for `ci`'s repository after checking `CLI_ARTIFACT_PUSH`; answers
/// (username, password, repository).
async fn issue(
    state: &AppState,
    user: &AuthUser,
    ci: &CiRow,
    artifactory: &str,
) -> Result<(String, String, String)> {
    debug_assert_eq!(artifactory, BUILT_IN_ARTIFACTORY);
    permissions::require(
        &state.store,
        user,
        &ci.project,
        permissions::CLI_ARTIFACT_PUSH,
    )
    .await?;
    let repository = format!("{}/{}", ci.project, ci.name);
    let username = format!("{CREDENTIAL_PREFIX}{}", random_hex(8));
    let password = random_hex(32);
    let expires_at = format_time(time::OffsetDateTime::now_utc() + CREDENTIAL_LIFETIME);
    state
        .store
        .insert_registry_credential(
            &username,
            &hash_token(&password),
            &repository,
            &user.username,
            &expires_at,
        )
        .await?;
    let audit = issue_audit(user, ci, &repository)
        .meta("username", &username)
        .meta("expiresAt", &expires_at);
    record(state, audit).await?;
    Ok((username, password, repository))
}

/// The audit entry of a push credential handed out, for `repository`.
fn issue_audit(user: &AuthUser, ci: &CiRow, repository: &str) -> Audit {
    Audit::new(
        &user.username,
        "CONTAINER_REGISTRY",
        "CONTAINER_REGISTRY_CREDENTIALS_ISSUE",
    )
    .target(repository)
    .stack(&ci.project)
}

async fn record(state: &AppState, audit: Audit) -> Result<()> {
    let mut tx = state.store.begin().await?;
    audit.record(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// `POST /cc-ui/v1/ci-cd/pushCredentials`.
pub async fn credentials(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    headers: HeaderMap,
    Body(body): Body<PushCredentialsRequest>,
) -> Result<Json<PushCredentialsResponse>> {
    let project = require("blueprintName", Some(&body.blueprint_name))?;
    let application = require("applicationName", Some(&body.application_name))?;
    state.store.project(&project).await?;
    let ci = state
        .store
        .ci(&project, &application)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "CI integration '{application}' not found in project '{project}'"
            ))
        })?;
    let artifactory = body.artifactory.trim();
    if artifactory != BUILT_IN_ARTIFACTORY {
        return other_registry(&state, &user, &ci, artifactory)
            .await
            .map(Json);
    }
    let (username, password, repository) = issue(&state, &user, &ci, artifactory).await?;
    let host = registry_host(&headers)?;
    Ok(Json(PushCredentialsResponse {
        username,
        password,
        repository_uri: format!("{host}/{repository}"),
        artifactory_uri: host,
    }))
}

/// Credentials of a registry an admin added: the registry's own, handed to pipelines that may
/// push for the project, for the repository `<prefix>/<project>/<ciName>`.
async fn other_registry(
    state: &AppState,
    user: &AuthUser,
    ci: &CiRow,
    name: &str,
) -> Result<PushCredentialsResponse> {
    let registry = state
        .store
        .artifactory(name)
        .await?
        .ok_or_else(|| super::artifactories::not_found(name))?;
    permissions::require(
        &state.store,
        user,
        &ci.project,
        permissions::CLI_ARTIFACT_PUSH,
    )
    .await?;
    let repository_uri = format!("{}/{}/{}", registry.uri, ci.project, ci.name);
    record(
        state,
        issue_audit(user, ci, &repository_uri).meta("artifactory", name),
    )
    .await?;
    Ok(PushCredentialsResponse {
        username: registry.username,
        password: registry.password,
        artifactory_uri: registry.uri.split('/').next().unwrap_or_default().into(),
        repository_uri,
    })
}

/// The older answer: a Docker-style token and the registry's endpoint.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyCredentials {
    authorization_token: String,
    proxy_endpoint: String,
    repository_uri: String,
}

async fn legacy(
    state: &AppState,
    user: &AuthUser,
    headers: &HeaderMap,
    name: &str,
) -> Result<Json<LegacyCredentials>> {
    let ci = super::config::ci_named(state, name, None).await?;
    let (username, password, repository) = issue(state, user, &ci, BUILT_IN_ARTIFACTORY).await?;
    let host = registry_host(headers)?;
    Ok(Json(LegacyCredentials {
        authorization_token: base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{password}")),
        proxy_endpoint: format!("http://{host}"),
        repository_uri: format!("{host}/{repository}"),
    }))
}

/// `POST /cc-ui/v1/artifacts/pushCredentialsV2/artifactName/{name}/registrationType/{t}/value/{v}`.
pub async fn credentials_v2(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    headers: HeaderMap,
    Path((name, _kind, _value)): Path<(String, String, String)>,
) -> Result<Json<LegacyCredentials>> {
    legacy(&state, &user, &headers, &name).await
}

/// `POST /cc-ui/v1/artifacts/pushCredentialsV3/artifactName/{name}?branch_name=`.
pub async fn credentials_v3(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<LegacyCredentials>> {
    legacy(&state, &user, &headers, &name).await
}
