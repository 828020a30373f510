//! *wharf extension*: users, roles, project members and personal tokens, under `/wharf/v1`.

use super::{AppState, Body, Path, Query};
use crate::domain::access::{CreatedToken, MemberView, RoleView, UserView};
use crate::domain::auth::AuthUser;
use crate::domain::wire::TokenInfo;
use crate::error::Result;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    #[serde(default)]
    admin: bool,
}

pub async fn list_users(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
) -> Result<Json<Vec<UserView>>> {
    Ok(Json(state.cp.identity.users(&user).await?))
}

pub async fn create_user(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<NewUser>,
) -> Result<StatusCode> {
    state
        .cp
        .identity
        .create_user(&user, &body.username, body.admin)
        .await?;
    Ok(StatusCode::CREATED)
}

pub async fn list_roles(State(state): State<AppState>) -> Result<Json<Vec<RoleView>>> {
    Ok(Json(state.cp.identity.roles().await?))
}

pub async fn save_role(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<RoleView>,
) -> Result<StatusCode> {
    state.cp.identity.save_role(&user, &body).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    role: String,
}

/// `GET /wharf/v1/projects/{project}/members`.
pub async fn list_members(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<Vec<MemberView>>> {
    Ok(Json(state.cp.identity.members(&project).await?))
}

/// `PUT /wharf/v1/projects/{project}/members/{username}` with `{"role": …}`.
pub async fn set_member(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path((project, username)): Path<(String, String)>,
    Body(body): Body<Membership>,
) -> Result<StatusCode> {
    state
        .cp
        .identity
        .set_member(&user, &project, &username, Some(&body.role))
        .await?;
    Ok(StatusCode::OK)
}

pub async fn remove_member(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path((project, username)): Path<(String, String)>,
) -> Result<StatusCode> {
    state
        .cp
        .identity
        .set_member(&user, &project, &username, None)
        .await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: Option<String>,
    /// Another user's token (server admins only).
    username: Option<String>,
    expires_in_days: Option<u64>,
}

pub async fn create_token(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    let created = state
        .cp
        .identity
        .create_token(
            &user,
            body.username.as_deref(),
            body.name.as_deref(),
            body.expires_in_days,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    username: Option<String>,
}

pub async fn list_tokens(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Query(query): Query<TokenQuery>,
) -> Result<Json<Vec<TokenInfo>>> {
    Ok(Json(
        state
            .cp
            .identity
            .tokens(&user, query.username.as_deref())
            .await?,
    ))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.cp.identity.revoke_token(&user, &id).await?;
    Ok(StatusCode::OK)
}
