//! What the web UI (`/ui/`) keeps and reads beyond the API's rows: its sessions, and the
//! built-in registry's repositories and tags as the attach dialog lists them.

use crate::{Result, Store, Tx};
use sqlx::FromRow;

/// A live UI session, with the user its token belongs to.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub username: String,
    pub user_id: String,
    pub admin: bool,
    pub token_id: String,
    pub csrf: String,
    pub expires_at: String,
}

/// A new session; only the hash of its id is stored.
#[derive(Debug)]
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub username: &'a str,
    pub token_id: &'a str,
    pub csrf: &'a str,
    pub created_at: &'a str,
    pub expires_at: &'a str,
}

/// A tag of a built-in repository.
#[derive(Debug, Clone, FromRow)]
pub struct TagRow {
    pub tag: String,
    pub digest: String,
    pub updated_at: String,
}

impl Store {
    /// The session whose id hashes to `id_hash`, when it has not expired at `now` and the
    /// token it was opened with still exists and has not expired either.
    pub async fn ui_session(&self, id_hash: &str, now: &str) -> Result<Option<SessionRow>> {
        Ok(on_writer!(self, |e| sqlx::query_as(
            "SELECT s.username, u.id AS user_id, u.admin, s.token_id, s.csrf, s.expires_at
             FROM ui_sessions s
             JOIN tokens t ON t.id = s.token_id
             JOIN users u ON u.id = t.user_id AND u.username = s.username
             WHERE s.id_hash = $1 AND s.expires_at > $2
               AND (t.expires_at IS NULL OR t.expires_at > $2)"
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(e)
        .await)?)
    }

    /// The repositories of the built-in registry that have at least one tag.
    pub async fn registry_repositories(&self) -> Result<Vec<String>> {
        Ok(on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT DISTINCT repository FROM registry_tags ORDER BY repository LIMIT 1000"
        )
        .fetch_all(e)
        .await)?)
    }

    /// A built-in repository's tags, most recently moved first.
    pub async fn registry_tag_rows(&self, repository: &str) -> Result<Vec<TagRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT tag, digest, updated_at FROM registry_tags WHERE repository = $1
             ORDER BY updated_at DESC, tag LIMIT 1000"
        )
        .bind(repository)
        .fetch_all(e)
        .await)?)
    }
}

impl Tx {
    pub async fn insert_ui_session(&mut self, session: &NewSession<'_>) -> Result<()> {
        execute!(
            self,
            "INSERT INTO ui_sessions (id_hash, username, token_id, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            session.id_hash,
            session.username,
            session.token_id,
            session.csrf,
            session.created_at,
            session.expires_at,
        )?;
        Ok(())
    }

    /// Ends one session; answers whether it existed.
    pub async fn delete_ui_session(&mut self, id_hash: &str) -> Result<bool> {
        Ok(execute!(self, "DELETE FROM ui_sessions WHERE id_hash = $1", id_hash)? > 0)
    }

    /// Removes the sessions that expired before `now`; answers how many.
    pub async fn delete_expired_ui_sessions(&mut self, now: &str) -> Result<u64> {
        Ok(execute!(
            self,
            "DELETE FROM ui_sessions WHERE expires_at <= $1",
            now
        )?)
    }
}
