//! `pushCredentials` (and its older V2/V3 forms).

use super::{AppState, Body, Path, Query, host};
use crate::domain::auth::AuthUser;
use crate::domain::push::{LegacyCredentials, PushCredentialInfo};
use crate::error::Result;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde::Deserialize;
use wharf_api::{PushCredentialsRequest, PushCredentialsResponse};

/// `POST /cc-ui/v1/ci-cd/pushCredentials`.
pub async fn credentials(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    headers: HeaderMap,
    Body(body): Body<PushCredentialsRequest>,
) -> Result<Json<PushCredentialsResponse>> {
    let host = host(&headers)?;
    Ok(Json(
        state.cp.push.push_credentials(&user, &body, &host).await?,
    ))
}

/// `POST /cc-ui/v1/artifacts/pushCredentialsV2/artifactName/{name}/registrationType/{t}/value/{v}`.
pub async fn credentials_v2(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    headers: HeaderMap,
    Path((name, _kind, _value)): Path<(String, String, String)>,
    query: Query<StackQuery>,
) -> Result<Json<LegacyCredentials>> {
    credentials_v3(State(state), Extension(user), headers, Path(name), query).await
}

/// `POST /cc-ui/v1/artifacts/pushCredentialsV3/artifactName/{name}?branch_name=`.
pub async fn credentials_v3(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<StackQuery>,
) -> Result<Json<LegacyCredentials>> {
    let host = host(&headers)?;
    let stack = query.stack_name.as_deref();
    Ok(Json(
        state
            .cp
            .push
            .legacy_push_credentials(&user, &name, stack, &host)
            .await?,
    ))
}

/// `?stackName=`: which project's CI, when two projects have one of that name.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackQuery {
    stack_name: Option<String>,
}

/// `GET /wharf/v1/push-credentials?owner=`: unexpired push credentials (server admins).
pub async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Query(query): Query<OwnerQuery>,
) -> Result<Json<Vec<PushCredentialInfo>>> {
    let owner = query.owner.as_deref();
    Ok(Json(
        state.cp.push.push_credentials_list(&user, owner).await?,
    ))
}

/// `DELETE /wharf/v1/push-credentials?owner=`: all of one user, or every one.
pub async fn revoke_all(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Query(query): Query<OwnerQuery>,
) -> Result<Json<serde_json::Value>> {
    let owner = query.owner.as_deref();
    let revoked = state
        .cp
        .push
        .revoke_push_credentials(&user, None, owner)
        .await?;
    Ok(Json(serde_json::json!({ "revoked": revoked })))
}

/// `DELETE /wharf/v1/push-credentials/{username}`: one.
pub async fn revoke_one(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(username): Path<String>,
) -> Result<Json<serde_json::Value>> {
    let revoked = state
        .cp
        .push
        .revoke_push_credentials(&user, Some(&username), None)
        .await?;
    Ok(Json(serde_json::json!({ "revoked": revoked })))
}

#[derive(Debug, Deserialize)]
pub struct OwnerQuery {
    owner: Option<String>,
}
