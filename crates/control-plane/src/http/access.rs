//! *wharf extension*: users, roles, project members and personal tokens, under `/wharf/v1`.

use super::{AppState, Body};
use crate::audit::Audit;
use crate::auth::{AuthUser, hash_token};
use crate::error::{Error, Result, require};
use crate::permissions;
use crate::store::{TokenInfo, format_time};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use rand::RngCore;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    username: String,
    admin: bool,
    created_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    username: String,
    #[serde(default)]
    admin: bool,
}

pub async fn list_users(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
) -> Result<Json<Vec<UserView>>> {
    permissions::require_admin(&user, "listing users")?;
    let users = state.store.users().await?;
    Ok(Json(
        users
            .into_iter()
            .map(|(username, admin, created_at)| UserView {
                username,
                admin,
                created_at,
            })
            .collect(),
    ))
}

pub async fn create_user(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<NewUser>,
) -> Result<StatusCode> {
    permissions::require_admin(&user, "creating a user")?;
    let username = require("username", Some(&body.username))?;
    let audit = Audit::new(&user.username, "USER", "USER_CREATE")
        .target(&username)
        .meta("admin", body.admin);
    state
        .store
        .create_user(&username, body.admin, audit)
        .await?;
    Ok(StatusCode::CREATED)
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    name: String,
    permissions: Vec<String>,
    #[serde(default)]
    built_in: bool,
}

pub async fn list_roles(State(state): State<AppState>) -> Result<Json<Vec<RoleView>>> {
    let roles = state.store.roles().await?;
    Ok(Json(
        roles
            .into_iter()
            .map(|(name, permissions, built_in)| RoleView {
                name,
                permissions,
                built_in,
            })
            .collect(),
    ))
}

pub async fn save_role(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<RoleView>,
) -> Result<StatusCode> {
    permissions::require_admin(&user, "defining a role")?;
    let name = require("name", Some(&body.name))?;
    if let Some(unknown) = body
        .permissions
        .iter()
        .find(|p| !permissions::ALL.contains(&p.as_str()))
    {
        return Err(Error::bad_request(format!(
            "permissions: '{unknown}' is not a permission; use any of {}",
            permissions::ALL.join(", ")
        )));
    }
    let audit = Audit::new(&user.username, "ROLE", "ROLE_SAVE")
        .target(&name)
        .meta("permissions", &body.permissions);
    state
        .store
        .insert_role(&name, &body.permissions, audit)
        .await?;
    state.store.roles_cache().forget_all();
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct Membership {
    role: String,
}

/// `PUT /wharf/v1/projects/{project}/members/{username}` with `{"role": …}`.
pub async fn set_member(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path((project, username)): Path<(String, String)>,
    Body(body): Body<Membership>,
) -> Result<StatusCode> {
    member_change(&state, &user, &project, &username, Some(&body.role)).await
}

pub async fn remove_member(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path((project, username)): Path<(String, String)>,
) -> Result<StatusCode> {
    member_change(&state, &user, &project, &username, None).await
}

async fn member_change(
    state: &AppState,
    user: &AuthUser,
    project: &str,
    username: &str,
    role: Option<&str>,
) -> Result<StatusCode> {
    if project == "*" {
        permissions::require_admin(user, "a role on every project")?;
    } else {
        state.store.project(project).await?;
        permissions::require(&state.store, user, project, permissions::PROJECT_ADMIN).await?;
    }
    if !state.store.user_exists(username).await? {
        return Err(Error::not_found(format!(
            "user '{username}' not found; create it first"
        )));
    }
    let action = if role.is_some() {
        "MEMBER_SET"
    } else {
        "MEMBER_REMOVE"
    };
    let audit = Audit::new(&user.username, "MEMBER", action)
        .target(username)
        .stack(project)
        .meta("role", role);
    state
        .store
        .set_member(username, project, role, audit)
        .await?;
    state.store.roles_cache().forget_all();
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    name: Option<String>,
    /// Another user's token (server admins only).
    username: Option<String>,
    expires_in_days: Option<u32>,
}

/// The one answer that carries the token itself.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    #[serde(flatten)]
    info: TokenInfo,
    token: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    let owner = body
        .username
        .clone()
        .unwrap_or_else(|| user.username.clone());
    if owner != user.username {
        permissions::require_admin(&user, "a token for another user")?;
    }
    if body.expires_in_days == Some(0) {
        return Err(Error::bad_request("`expiresInDays` must be at least 1"));
    }
    let expires_at = body.expires_in_days.map(|days| {
        format_time(time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(days)))
    });
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("wharf_{}", hex::encode(bytes));
    let audit = Audit::new(&user.username, "TOKEN", "TOKEN_CREATE")
        .meta("owner", &owner)
        .meta("name", &body.name)
        .meta("expiresAt", &expires_at);
    let id = state
        .store
        .insert_token(
            &owner,
            &hash_token(&token),
            body.name.as_deref(),
            expires_at.as_deref(),
            audit,
        )
        .await?;
    let info = state
        .store
        .token_info(&id)
        .await?
        .ok_or_else(|| Error::Internal("token vanished".into()))?;
    Ok((StatusCode::CREATED, Json(CreatedToken { info, token })))
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
    let whose = match query.username {
        Some(other) if other != user.username => {
            permissions::require_admin(&user, "listing another user's tokens")?;
            Some(other)
        }
        Some(own) => Some(own),
        None if user.admin => None,
        None => Some(user.username.clone()),
    };
    Ok(Json(state.store.tokens_list(whose.as_deref()).await?))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let info = state
        .store
        .token_info(&id)
        .await?
        .ok_or_else(|| Error::not_found(format!("token '{id}' not found")))?;
    if info.username != user.username {
        permissions::require_admin(&user, "revoking another user's token")?;
    }
    let audit = Audit::new(&user.username, "TOKEN", "TOKEN_REVOKE")
        .target(&id)
        .meta("owner", &info.username);
    state.store.delete_token(&id, audit).await?;
    state.auth.forget_all();
    Ok(StatusCode::OK)
}
