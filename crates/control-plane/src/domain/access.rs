//! Users, roles, project members and personal tokens (*wharf extension*), and the admin of a
//! server's first start.

use super::auth::{AuthUser, hash_token};
use super::permissions::{self, require_admin};
use super::{Identity, commit};
use crate::error::{Error, Result};
use crate::validate::{require, valid_username};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use wharf_store::{Audit, NewToken, TokenInfo, format_time};

/// The name of the token `WHARF_ADMIN_TOKEN` brings.
const BOOTSTRAP: &str = "bootstrap";

/// Longest a personal token may last, in days.
pub const MAX_TOKEN_DAYS: u64 = 3650;

/// Shortest admin token accepted from the environment.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub username: String,
    pub admin: bool,
    pub created_at: String,
}

/// One member of a project: who, with which role, and whether the binding is the project's own
/// or one on every project (`*`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub username: String,
    pub role: String,
    pub every_project: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct RoleView {
    pub name: String,
    pub permissions: Vec<String>,
    #[serde(default)]
    pub built_in: bool,
}

/// The one answer that carries a token itself.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

impl Identity {
    /// The admin from `WHARF_ADMIN_USERNAME`/`WHARF_ADMIN_TOKEN`: created on first start, and
    /// its token added if missing on later starts. Without one, a store with no users refuses.
    pub async fn bootstrap_admin(
        &self,
        admin: Option<&(String, String)>,
        has_ephemeral_admin: bool,
    ) -> Result<()> {
        let Some((username, token)) = admin else {
            if !has_ephemeral_admin && self.store.user_count().await? == 0 {
                return Err(Error::bad_request(
                    "no users yet: set WHARF_ADMIN_USERNAME and WHARF_ADMIN_TOKEN for the first \
                     start",
                ));
            }
            return Ok(());
        };
        if username.trim().is_empty() {
            return Err(Error::bad_request(
                "WHARF_ADMIN_USERNAME is empty; set it to a login",
            ));
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err(Error::bad_request(format!(
                "WHARF_ADMIN_TOKEN is too short: use at least {MIN_TOKEN_LEN} random characters"
            )));
        }
        let mut tx = self.store.begin().await?;
        if tx.user_admin(username).await? == Some(false) {
            return Err(Error::bad_request(format!(
                "WHARF_ADMIN_USERNAME names '{username}', a user who is not a server admin: name \
                 an admin or a new user (an existing user is never made admin by a restart)"
            )));
        }
        tx.insert_user(username, true).await?;
        let hash = hash_token(token);
        if let Some(holder) = tx.token_holder(&hash).await?
            && holder != *username
        {
            return Err(Error::bad_request(
                "WHARF_ADMIN_TOKEN is already another user's token: generate a new random one \
                 (e.g. `openssl rand -hex 32`)",
            ));
        }
        let bootstrap = NewToken {
            username,
            token_hash: &hash,
            name: Some(BOOTSTRAP),
            expires_at: None,
        };
        tx.insert_token(&bootstrap).await?;
        // Rotation: a new WHARF_ADMIN_TOKEN replaces the one the last start brought.
        let rotated = tx
            .delete_named_tokens_except(username, BOOTSTRAP, &hash)
            .await?;
        if rotated > 0 {
            let audit = Audit::new(username, "TOKEN", "TOKEN_REVOKE")
                .target(username.as_str())
                .meta("reason", "WHARF_ADMIN_TOKEN rotated");
            tx.record(&audit).await?;
        }
        tx.commit().await?;
        self.forget_cached();
        Ok(())
    }

    pub async fn users(&self, user: &AuthUser) -> Result<Vec<UserView>> {
        require_admin(user, "listing users")?;
        let users = self.store.users().await?;
        Ok(users
            .into_iter()
            .map(|u| UserView {
                username: u.username,
                admin: u.admin,
                created_at: u.created_at,
            })
            .collect())
    }

    pub async fn create_user(&self, user: &AuthUser, username: &str, admin: bool) -> Result<()> {
        require_admin(user, "creating a user")?;
        let username = valid_username("username", username)?;
        let mut tx = self.store.begin().await?;
        if !tx.insert_user(&username, admin).await? {
            return Err(Error::conflict(format!("user '{username}' already exists")));
        }
        let audit = Audit::new(&user.username, "USER", "USER_CREATE")
            .target(&username)
            .meta("admin", admin);
        commit(tx, &audit).await
    }

    pub async fn roles(&self) -> Result<Vec<RoleView>> {
        let roles = self.store.roles().await?;
        Ok(roles
            .into_iter()
            .map(|r| RoleView {
                name: r.name,
                permissions: r.permissions.0,
                built_in: r.built_in,
            })
            .collect())
    }

    /// Defines or redefines a custom role; built-in roles cannot change.
    pub async fn save_role(&self, user: &AuthUser, role: &RoleView) -> Result<()> {
        require_admin(user, "defining a role")?;
        let name = require("name", Some(&role.name))?;
        if let Some(unknown) = role
            .permissions
            .iter()
            .find(|p| !permissions::ALL.contains(&p.as_str()))
        {
            return Err(Error::bad_request(format!(
                "permissions: '{unknown}' is not a permission; use any of {}",
                permissions::ALL.join(", ")
            )));
        }
        let mut tx = self.store.begin().await?;
        if !tx.save_role(&name, &role.permissions, false).await? {
            return Err(Error::conflict(format!(
                "role '{name}' is built in and cannot change"
            )));
        }
        let audit = Audit::new(&user.username, "ROLE", "ROLE_SAVE")
            .target(&name)
            .meta("permissions", &role.permissions);
        commit(tx, &audit).await?;
        self.forget_cached();
        Ok(())
    }

    /// Gives `username` a role on `project` (`*`: every project, server admins only), or
    /// takes its role there away (`role` `None`).
    /// The project's members, with those bound on every project (`*`). A read: any signed-in
    /// user, as every read.
    pub async fn members(&self, project: &str) -> Result<Vec<MemberView>> {
        self.lookups.project(project).await?;
        Ok(self
            .store
            .role_bindings_of(project)
            .await?
            .into_iter()
            .map(|(username, role, bound_on)| MemberView {
                username,
                role,
                every_project: bound_on == "*",
            })
            .collect())
    }

    pub async fn set_member(
        &self,
        user: &AuthUser,
        project: &str,
        username: &str,
        role: Option<&str>,
    ) -> Result<()> {
        if project == "*" {
            require_admin(user, "a role on every project")?;
        } else {
            self.lookups.project(project).await?;
            self.require(user, project, permissions::PROJECT_ADMIN)
                .await?;
        }
        if !self.store.user_exists(username).await? {
            return Err(Error::not_found(format!(
                "user '{username}' not found; create it first"
            )));
        }
        let mut tx = self.store.begin().await?;
        let action = match role {
            Some(role) => {
                bind_known_role(&mut tx, username, project, role).await?;
                "MEMBER_SET"
            }
            None => {
                tx.unbind_role(username, project).await?;
                "MEMBER_REMOVE"
            }
        };
        let audit = Audit::new(&user.username, "MEMBER", action)
            .target(username)
            .stack(project)
            .meta("role", role);
        commit(tx, &audit).await?;
        self.forget_cached();
        Ok(())
    }

    /// A new token for `user` (or, for a server admin, for `owner`); the answer is the only
    /// place the token itself ever appears.
    pub async fn create_token(
        &self,
        user: &AuthUser,
        owner: Option<&str>,
        name: Option<&str>,
        expires_in_days: Option<u64>,
    ) -> Result<CreatedToken> {
        let owner = owner.unwrap_or(&user.username);
        if super::trust::is_keyless_user(&user.username) || super::trust::is_keyless_user(owner) {
            return Err(Error::Forbidden(
                "a keyless login (OIDC) cannot create tokens, and no one creates tokens for its \
                 user: it gets a new short-lived one from POST /wharf/v1/oidc/token"
                    .into(),
            ));
        }
        if owner != user.username {
            require_admin(user, "a token for another user")?;
        }
        if let Some(days) = expires_in_days
            && !(1..=MAX_TOKEN_DAYS).contains(&days)
        {
            return Err(Error::bad_request(format!(
                "`expiresInDays` must be between 1 and {MAX_TOKEN_DAYS} (ten years), not {days}"
            )));
        }
        let expires_at = expires_in_days.map(|days| {
            format_time(
                time::OffsetDateTime::now_utc()
                    + time::Duration::days(i64::try_from(days).unwrap_or_default()),
            )
        });
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("wharf_{}", hex::encode(bytes));
        let hash = hash_token(&token);
        let new = NewToken {
            username: owner,
            token_hash: &hash,
            name,
            expires_at: expires_at.as_deref(),
        };
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_token(&new)
            .await?
            .ok_or_else(|| Error::not_found(format!("user '{owner}' not found")))?;
        let audit = Audit::new(&user.username, "TOKEN", "TOKEN_CREATE")
            .target(&id)
            .meta("owner", owner)
            .meta("name", name)
            .meta("expiresAt", &expires_at);
        commit(tx, &audit).await?;
        let info = self
            .store
            .token_info(&id)
            .await?
            .ok_or_else(|| Error::Internal("token vanished".into()))?;
        Ok(CreatedToken { info, token })
    }

    /// Tokens: the caller's own, another user's (server admins), or all (admins, no name).
    pub async fn tokens(&self, user: &AuthUser, username: Option<&str>) -> Result<Vec<TokenInfo>> {
        let whose = match username {
            Some(other) if other != user.username => {
                require_admin(user, "listing another user's tokens")?;
                Some(other)
            }
            Some(own) => Some(own),
            None if user.admin => None,
            None => Some(user.username.as_str()),
        };
        Ok(self.store.tokens_list(whose).await?)
    }

    /// Revokes a token; it stops working here at once.
    pub async fn revoke_token(&self, user: &AuthUser, id: &str) -> Result<()> {
        let info = self
            .store
            .token_info(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("token '{id}' not found")))?;
        if info.username != user.username {
            require_admin(user, "revoking another user's token")?;
        }
        let mut tx = self.store.begin().await?;
        tx.delete_token(id).await?;
        let audit = Audit::new(&user.username, "TOKEN", "TOKEN_REVOKE")
            .target(id)
            .meta("owner", &info.username);
        commit(tx, &audit).await?;
        self.forget_cached();
        Ok(())
    }
}

/// Binds `role` after checking it exists, inside the caller's transaction.
pub async fn bind_known_role(
    tx: &mut wharf_store::Tx,
    username: &str,
    project: &str,
    role: &str,
) -> Result<()> {
    super::oidc::refuse_keyless_member(username)?;
    if !tx.role_exists(role).await? {
        return Err(Error::bad_request(format!(
            "role '{role}' does not exist; built-in roles are admin, release-manager, ci, viewer"
        )));
    }
    tx.bind_role(username, project, role).await?;
    Ok(())
}
