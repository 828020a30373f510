//! Users, roles, role bindings and tokens.

use super::{Store, Tx, new_id, now};
use crate::audit::Audit;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A token as listed: never its secret, which exists only in the answer that created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: String,
    pub username: String,
    pub name: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
}

impl Store {
    /// Writes the built-in roles (their permissions follow the code's list).
    pub(super) async fn seed_roles(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        for (name, permissions) in crate::permissions::built_in_roles() {
            in_tx!(&mut tx, |e| {
                sqlx::query(
                "INSERT INTO roles (name, permissions, built_in) VALUES ($1, $2, TRUE)
                 ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, built_in = TRUE",
            )
            .bind(name)
            .bind(serde_json::to_string(&permissions).unwrap_or_default())
            .execute(e)
            .await.map(|r| r.rows_affected())
            })?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The roles `username` holds on `project` (or on every project), with their permissions.
    pub async fn permissions_of(
        &self,
        username: &str,
        project: &str,
    ) -> Result<Vec<(String, Vec<String>)>> {
        let rows: Vec<(String, String)> = on!(&self.reader, |e| sqlx::query_as(
            "SELECT r.name, r.permissions FROM role_bindings b JOIN roles r ON r.name = b.role
             WHERE b.username = $1 AND (b.project = $2 OR b.project = '*') ORDER BY r.name",
        )
        .bind(username)
        .bind(project)
        .fetch_all(e)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(role, json)| (role, serde_json::from_str(&json).unwrap_or_default()))
            .collect())
    }

    pub async fn roles(&self) -> Result<Vec<(String, Vec<String>, bool)>> {
        let rows: Vec<(String, String, bool)> = on!(&self.reader, |e| sqlx::query_as(
            "SELECT name, permissions, built_in FROM roles ORDER BY name"
        )
        .fetch_all(e)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(name, json, built_in)| {
                (
                    name,
                    serde_json::from_str(&json).unwrap_or_default(),
                    built_in,
                )
            })
            .collect())
    }

    pub async fn insert_role(
        &self,
        name: &str,
        permissions: &[String],
        audit: Audit,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = in_tx!(&mut tx, |e| sqlx::query(
            "INSERT INTO roles (name, permissions, built_in) VALUES ($1, $2, FALSE)
             ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions
             WHERE NOT roles.built_in",
        )
        .bind(name)
        .bind(serde_json::to_string(permissions).unwrap_or_default())
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(Error::conflict(format!(
                "role '{name}' is built in and cannot change"
            )));
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn users(&self) -> Result<Vec<(String, bool, String)>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT username, admin, created_at FROM users ORDER BY username"
        )
        .fetch_all(e)
        .await)?)
    }

    pub async fn user_exists(&self, username: &str) -> Result<bool> {
        let found: Option<(String,)> = on!(&self.reader, |e| sqlx::query_as(
            "SELECT id FROM users WHERE username = $1"
        )
        .bind(username)
        .fetch_optional(e)
        .await)?;
        Ok(found.is_some())
    }

    pub async fn create_user(&self, username: &str, admin: bool, audit: Audit) -> Result<()> {
        let mut tx = self.begin().await?;
        if !insert_user(&mut tx, username, admin).await? {
            return Err(Error::conflict(format!("user '{username}' already exists")));
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_member(
        &self,
        username: &str,
        project: &str,
        role: Option<&str>,
        audit: Audit,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        match role {
            Some(role) => bind_role(&mut tx, username, project, role).await?,
            None => {
                in_tx!(&mut tx, |e| sqlx::query(
                    "DELETE FROM role_bindings WHERE username = $1 AND project = $2"
                )
                .bind(username)
                .bind(project)
                .execute(e)
                .await
                .map(|r| r.rows_affected()))?;
            }
        }
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a new token's hash; answers its id.
    pub async fn insert_token(
        &self,
        username: &str,
        token_hash: &str,
        name: Option<&str>,
        expires_at: Option<&str>,
        audit: Audit,
    ) -> Result<String> {
        let id = new_id();
        let mut tx = self.begin().await?;
        let done = in_tx!(&mut tx, |e| sqlx::query(
            "INSERT INTO tokens (id, user_id, token_hash, name, created_at, expires_at)
             SELECT $1, id, $2, $3, $4, $5 FROM users WHERE username = $6",
        )
        .bind(&id)
        .bind(token_hash)
        .bind(name)
        .bind(now())
        .bind(expires_at)
        .bind(username)
        .execute(e)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(Error::not_found(format!("user '{username}' not found")));
        }
        audit.target(&id).record(&mut tx).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn tokens_list(&self, username: Option<&str>) -> Result<Vec<TokenInfo>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT t.id, u.username, t.name, t.created_at, t.expires_at
             FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE $1 IS NULL OR u.username = $1 ORDER BY t.created_at",
        )
        .bind(username)
        .fetch_all(e)
        .await)?)
    }

    pub async fn token_info(&self, id: &str) -> Result<Option<TokenInfo>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT t.id, u.username, t.name, t.created_at, t.expires_at
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1",
        )
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn delete_token(&self, id: &str, audit: Audit) -> Result<()> {
        let mut tx = self.begin().await?;
        in_tx!(&mut tx, |e| sqlx::query("DELETE FROM tokens WHERE id = $1")
            .bind(id)
            .execute(e)
            .await
            .map(|r| r.rows_affected()))?;
        audit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Creates the user unless it exists; `true` when created.
pub async fn insert_user(tx: &mut Tx, username: &str, admin: bool) -> Result<bool> {
    let done = in_tx!(tx, |e| sqlx::query(
        "INSERT INTO users (id, username, admin, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (username) DO NOTHING",
    )
    .bind(new_id())
    .bind(username)
    .bind(admin)
    .bind(now())
    .execute(e)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done > 0)
}

/// Gives `username` the role `role` on `project` (replacing the one it had there).
pub async fn bind_role(tx: &mut Tx, username: &str, project: &str, role: &str) -> Result<()> {
    let known: Option<(String,)> = in_tx!(tx, |e| sqlx::query_as(
        "SELECT name FROM roles WHERE name = $1"
    )
    .bind(role)
    .fetch_optional(e)
    .await)?;
    if known.is_none() {
        return Err(Error::bad_request(format!(
            "role '{role}' does not exist; built-in roles are admin, release-manager, ci, viewer"
        )));
    }
    in_tx!(tx, |e| sqlx::query(
        "INSERT INTO role_bindings (username, project, role) VALUES ($1, $2, $3)
         ON CONFLICT (username, project) DO UPDATE SET role = excluded.role",
    )
    .bind(username)
    .bind(project)
    .bind(role)
    .execute(e)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
