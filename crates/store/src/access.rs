//! Users, tokens, roles and role bindings.

use crate::{NewToken, Result, RoleRow, Store, TokenInfo, Tx, UserRow, UserToken, new_id, now};

const SELECT_TOKEN_INFO: &str = "SELECT t.id, u.username, t.name, t.created_at, t.expires_at
     FROM tokens t JOIN users u ON u.id = t.user_id";

impl Store {
    /// Every token of `username`, with the user's flags.
    pub async fn tokens_of(&self, username: &str) -> Result<Vec<UserToken>> {
        Ok(on!(&self.reader, |e| {
            sqlx::query_as(
            "SELECT t.id AS token_id, u.id AS user_id, u.username, u.admin, t.token_hash, t.expires_at
             FROM users u JOIN tokens t ON t.user_id = u.id WHERE u.username = $1",
        )
        .bind(username)
        .fetch_all(e)
        .await
        })?)
    }

    pub async fn user_count(&self) -> Result<i64> {
        Ok(on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users"
        )
        .fetch_one(e)
        .await)?)
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT username, admin, created_at FROM users ORDER BY username"
        )
        .fetch_all(e)
        .await)?)
    }

    pub async fn user_exists(&self, username: &str) -> Result<bool> {
        let found: i64 = on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE username = $1"
        )
        .bind(username)
        .fetch_one(e)
        .await)?;
        Ok(found > 0)
    }

    pub async fn roles(&self) -> Result<Vec<RoleRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT name, permissions, built_in FROM roles ORDER BY name"
        )
        .fetch_all(e)
        .await)?)
    }

    /// The roles `username` holds on `project` (or on every project, `*`).
    pub async fn roles_held(&self, username: &str, project: &str) -> Result<Vec<RoleRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT r.name, r.permissions, r.built_in FROM role_bindings b
             JOIN roles r ON r.name = b.role
             WHERE b.username = $1 AND (b.project = $2 OR b.project = '*') ORDER BY r.name",
        )
        .bind(username)
        .bind(project)
        .fetch_all(e)
        .await)?)
    }

    /// Tokens, of one user when given, oldest first.
    pub async fn tokens_list(&self, username: Option<&str>) -> Result<Vec<TokenInfo>> {
        let sql = format!(
            "{SELECT_TOKEN_INFO} WHERE $1 IS NULL OR u.username = $1 ORDER BY t.created_at"
        );
        Ok(on!(&self.reader, |e| sqlx::query_as(sqlx::AssertSqlSafe(
            sql
        ))
        .bind(username)
        .fetch_all(e)
        .await)?)
    }

    pub async fn token_info(&self, id: &str) -> Result<Option<TokenInfo>> {
        let sql = format!("{SELECT_TOKEN_INFO} WHERE t.id = $1");
        Ok(on!(&self.reader, |e| sqlx::query_as(sqlx::AssertSqlSafe(
            sql
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }
}

impl Store {
    /// Whether `username` is a server admin (`false` when there is no such user).
    pub async fn is_admin(&self, username: &str) -> Result<bool> {
        let admin: Option<bool> = on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT admin FROM users WHERE username = $1"
        )
        .bind(username)
        .fetch_optional(e)
        .await)?;
        Ok(admin.unwrap_or(false))
    }

    /// `(user, role, project)` of every binding on `project` or on every project (`*`).
    pub async fn role_bindings_of(&self, project: &str) -> Result<Vec<(String, String, String)>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT username, role, project FROM role_bindings WHERE project = $1 OR project = '*'
             ORDER BY username, project"
        )
        .bind(project)
        .fetch_all(e)
        .await)?)
    }

    /// `(user, role)` of every member of `project`, with those holding a role on every
    /// project (`*`).
    pub async fn members_of(&self, project: &str) -> Result<Vec<(String, String)>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT username, role FROM role_bindings WHERE project = $1 OR project = '*'
             ORDER BY username, role"
        )
        .bind(project)
        .fetch_all(e)
        .await)?)
    }
}

impl Tx {
    /// `(user, role)` of the bindings on every project (`*`).
    pub async fn bindings_on_every_project(&mut self) -> Result<Vec<(String, String)>> {
        Ok(in_tx!(self, |e| sqlx::query_as(
            "SELECT username, role FROM role_bindings WHERE project = '*' ORDER BY username"
        )
        .fetch_all(e)
        .await)?)
    }

    /// Every server admin's name.
    pub async fn server_admins(&mut self) -> Result<Vec<String>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT username FROM users WHERE admin ORDER BY username"
        )
        .fetch_all(e)
        .await)?)
    }

    /// Who holds a role on `project` itself (not those bound on every project, `*`).
    pub async fn members_of_project(&mut self, project: &str) -> Result<Vec<String>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT username FROM role_bindings WHERE project = $1 ORDER BY username"
        )
        .bind(project)
        .fetch_all(e)
        .await)?)
    }

    /// Whether `username` is a server admin; `None` when there is no such user.
    pub async fn user_admin(&mut self, username: &str) -> Result<Option<bool>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT admin FROM users WHERE username = $1"
        )
        .bind(username)
        .fetch_optional(e)
        .await)?)
    }

    /// Who holds the token with hash `token_hash`, if anyone.
    pub async fn token_holder(&mut self, token_hash: &str) -> Result<Option<String>> {
        Ok(in_tx!(self, |e| sqlx::query_scalar(
            "SELECT u.username FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1"
        )
        .bind(token_hash)
        .fetch_optional(e)
        .await)?)
    }

    /// Creates the user unless it exists; `true` when created.
    pub async fn insert_user(&mut self, username: &str, admin: bool) -> Result<bool> {
        let done = execute!(
            self,
            "INSERT INTO users (id, username, admin, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (username) DO NOTHING",
            new_id(),
            username,
            admin,
            now(),
        )?;
        Ok(done > 0)
    }

    /// Stores a token's hash for an existing user; answers its id, or `None` when the user
    /// does not exist or the hash is stored already.
    pub async fn insert_token(&mut self, token: &NewToken<'_>) -> Result<Option<String>> {
        let id = new_id();
        let done = execute!(
            self,
            "INSERT INTO tokens (id, user_id, token_hash, name, created_at, expires_at)
             SELECT $1, id, $2, $3, $4, $5 FROM users WHERE username = $6
             ON CONFLICT (token_hash) DO NOTHING",
            &id,
            token.token_hash,
            token.name,
            now(),
            token.expires_at,
            token.username,
        )?;
        Ok((done > 0).then_some(id))
    }

    /// Deletes `username`'s tokens named `name` except the one with hash `keep`; answers how
    /// many went.
    pub async fn delete_named_tokens_except(
        &mut self,
        username: &str,
        name: &str,
        keep: &str,
    ) -> Result<u64> {
        Ok(execute!(
            self,
            "DELETE FROM tokens WHERE name = $1 AND token_hash <> $2
             AND user_id IN (SELECT id FROM users WHERE username = $3)",
            name,
            keep,
            username,
        )?)
    }

    pub async fn delete_token(&mut self, id: &str) -> Result<bool> {
        Ok(execute!(self, "DELETE FROM tokens WHERE id = $1", id)? > 0)
    }

    /// Writes a role; a built-in role is rewritten only when `built_in` is set (the server's
    /// own list at start). `false` when a custom write met a built-in role.
    pub async fn save_role(
        &mut self,
        name: &str,
        permissions: &[String],
        built_in: bool,
    ) -> Result<bool> {
        let done = execute!(
            self,
            "INSERT INTO roles (name, permissions, built_in) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions,
                 built_in = excluded.built_in
             WHERE excluded.built_in OR NOT roles.built_in",
            name,
            crate::JsonText(permissions),
            built_in,
        )?;
        Ok(done > 0)
    }

    pub async fn role_exists(&mut self, name: &str) -> Result<bool> {
        let found: i64 = in_tx!(self, |e| sqlx::query_scalar(
            "SELECT COUNT(*) FROM roles WHERE name = $1"
        )
        .bind(name)
        .fetch_one(e)
        .await)?;
        Ok(found > 0)
    }

    /// Gives `username` the role `role` on `project` (replacing the one it had there).
    pub async fn bind_role(&mut self, username: &str, project: &str, role: &str) -> Result<()> {
        execute!(
            self,
            "INSERT INTO role_bindings (username, project, role) VALUES ($1, $2, $3)
             ON CONFLICT (username, project) DO UPDATE SET role = excluded.role",
            username,
            project,
            role,
        )?;
        Ok(())
    }

    pub async fn unbind_role(&mut self, username: &str, project: &str) -> Result<()> {
        execute!(
            self,
            "DELETE FROM role_bindings WHERE username = $1 AND project = $2",
            username,
            project,
        )?;
        Ok(())
    }
}
