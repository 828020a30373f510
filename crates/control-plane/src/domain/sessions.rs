//! Web UI sessions: signing in with a username and a personal token opens a server-side
//! session, kept in the store (so every replica knows it) under the SHA-256 of its id only.
//! A session lasts [`SESSION_HOURS`] at most, and ends earlier when its user signs out or the
//! token it was opened with is revoked or expires. Each carries a synchronizer token that every
//! form of the session must send back (CSRF).

use super::auth::{AuthUser, hash_token, same_hash};
use super::{Identity, commit};
use crate::error::{Error, Result};
use rand::RngCore;
use wharf_store::{Audit, NewSession, format_time, now};

/// The longest a UI session lasts, in hours, whatever happens in it.
pub const SESSION_HOURS: i64 = 8;

/// A signed-in browser: who it is, and its forms' CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: AuthUser,
    pub csrf: String,
    pub expires_at: String,
}

/// A session just opened, with its id: the only time the id exists outside the browser.
pub struct Opened {
    pub id: String,
    pub session: Session,
}

/// 32 random bytes as hex.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Session {
    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        !presented.is_empty() && same_hash(&self.csrf, presented)
    }
}

impl Identity {
    /// Checks the token as the API does, then opens a session for it, audited. Any failure of
    /// the credentials is the same bare `Unauthorized`.
    pub async fn sign_in(&self, username: &str, token: &str) -> Result<Opened> {
        let user = self.authenticate(username.trim(), token.trim()).await?;
        let token_id = user.token_id.clone().ok_or_else(|| {
            Error::bad_request(
                "this admin lives only in memory (the embedded control plane's per-run admin) \
                 and cannot open a web session; sign in with a stored user's token",
            )
        })?;
        let id = random_secret();
        let csrf = random_secret();
        let at = now();
        let expires_at =
            format_time(time::OffsetDateTime::now_utc() + time::Duration::hours(SESSION_HOURS));
        let id_hash = hash_token(&id);
        let audit = Audit::new(&user.username, "SESSION", "SESSION_SIGN_IN")
            .target(&user.username)
            .meta("expiresAt", &expires_at);
        let mut tx = self.store.begin().await?;
        tx.delete_expired_ui_sessions(&at).await?;
        tx.insert_ui_session(&NewSession {
            id_hash: &id_hash,
            username: &user.username,
            token_id: &token_id,
            csrf: &csrf,
            created_at: &at,
            expires_at: &expires_at,
        })
        .await?;
        commit(tx, &audit).await?;
        Ok(Opened {
            id,
            session: Session {
                user,
                csrf,
                expires_at,
            },
        })
    }

    /// The live session whose id is `id`, if any.
    pub async fn session(&self, id: &str) -> Result<Option<Session>> {
        if id.is_empty() || id.len() > 128 {
            return Ok(None);
        }
        let row = self.store.ui_session(&hash_token(id), &now()).await?;
        Ok(row.map(|row| Session {
            user: AuthUser {
                id: row.user_id,
                username: row.username,
                admin: row.admin,
                token_id: Some(row.token_id),
            },
            csrf: row.csrf,
            expires_at: row.expires_at,
        }))
    }

    /// Ends the session `id`, audited.
    pub async fn sign_out(&self, id: &str, user: &AuthUser) -> Result<()> {
        let audit =
            Audit::new(&user.username, "SESSION", "SESSION_SIGN_OUT").target(&user.username);
        let mut tx = self.store.begin().await?;
        if tx.delete_ui_session(&hash_token(id)).await? {
            commit(tx, &audit).await?;
        }
        Ok(())
    }
}
