//! `pushCredentials` (and its older V2/V3 forms).

use super::{AppState, Body, host};
use crate::domain::auth::AuthUser;
use crate::domain::push::LegacyCredentials;
use crate::error::Result;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use wharf_api::{PushCredentialsRequest, PushCredentialsResponse};

/// `POST /cc-ui/v1/ci-cd/pushCredentials`.
pub async fn credentials(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    headers: HeaderMap,
    Body(body): Body<PushCredentialsRequest>,
) -> Result<Json<PushCredentialsResponse>> {
    let host = host(&headers)?;
    Ok(Json(state.cp.push_credentials(&user, &body, &host).await?))
}

/// `POST /cc-ui/v1/artifacts/pushCredentialsV2/artifactName/{name}/registrationType/{t}/value/{v}`.
pub async fn credentials_v2(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    headers: HeaderMap,
    Path((name, _kind, _value)): Path<(String, String, String)>,
) -> Result<Json<LegacyCredentials>> {
    credentials_v3(State(state), Extension(user), headers, Path(name)).await
}

/// `POST /cc-ui/v1/artifacts/pushCredentialsV3/artifactName/{name}?branch_name=`.
pub async fn credentials_v3(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<LegacyCredentials>> {
    let host = host(&headers)?;
    Ok(Json(
        state
            .cp
            .legacy_push_credentials(&user, &name, &host)
            .await?,
    ))
}
