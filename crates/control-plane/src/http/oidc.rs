//! *wharf extension*: keyless CI login. `POST /wharf/v1/oidc/token` trades a CI's identity
//! token for a short-lived wharf token; it is served without authentication (it is how a job
//! gets a token). `GET /wharf/v1/projects/{project}/trust` lists a project's trust policies.

use super::{AppState, Body, Path};
use crate::domain::auth::AuthUser;
use crate::domain::oidc::{ExchangeError, TrustTest};
use crate::domain::trust::TrustView;
use crate::error::Result;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use wharf_api::ErrorDetails;
use wharf_api::oidc::{OidcTokenRequest, OidcTokenResponse};

/// A refusal is 401 with the check that failed; anything else answers as every error does.
impl IntoResponse for ExchangeError {
    fn into_response(self) -> Response {
        match self {
            ExchangeError::Refused(message) => {
                let body = ErrorDetails {
                    message: format!("keyless login refused: {message}"),
                    code: Some("UNAUTHORIZED".into()),
                };
                (StatusCode::UNAUTHORIZED, Json(body)).into_response()
            }
            ExchangeError::Failed(error) => error.into_response(),
        }
    }
}

/// `POST /wharf/v1/oidc/token` with `{project, token}`.
pub async fn exchange(
    State(state): State<AppState>,
    Body(request): Body<OidcTokenRequest>,
) -> Result<Json<OidcTokenResponse>, ExchangeError> {
    match state
        .cp
        .identity
        .exchange_identity_token(&request.project, &request.token)
        .await
    {
        Ok(answer) => Ok(Json(answer)),
        Err(ExchangeError::Refused(reason)) => {
            tracing::info!(project = %request.project, %reason, "keyless login refused");
            Err(ExchangeError::Refused(reason))
        }
        Err(other) => Err(other),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenToTest {
    token: String,
}

/// `POST /wharf/v1/projects/{project}/trust/test` with `{"token"}`: which policy the identity
/// token would log in by, or why none (project admins; nothing issued, nothing used up).
pub async fn test_token(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(project): Path<String>,
    Body(body): Body<TokenToTest>,
) -> Result<Json<TrustTest>> {
    Ok(Json(
        state
            .cp
            .identity
            .test_identity_token(&user, &project, &body.token)
            .await?,
    ))
}

/// `GET /wharf/v1/projects/{project}/trust`.
pub async fn policies(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<Vec<TrustView>>> {
    Ok(Json(state.cp.identity.trust_policies(&project).await?))
}
