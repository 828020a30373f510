//! Authentication: personal tokens, stored only as SHA-256 hashes, checked in constant time.

use super::Identity;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: String,
    pub username: String,
    pub admin: bool,
    /// The token presented; `None` for the in-memory admin. What it obtains (push
    /// credentials) ends with it.
    pub token_id: Option<String>,
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two hashes without leaking where they differ.
pub fn same_hash(stored: &str, presented: &str) -> bool {
    bool::from(stored.as_bytes().ct_eq(presented.as_bytes()))
}

/// How long a verified credential is trusted without asking the store again.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// Verified credentials, and the in-memory admin.
pub struct Authenticator {
    ephemeral_admin: Option<(String, String)>,
    cache: Mutex<HashMap<(String, String), (AuthUser, Instant)>>,
}

impl Authenticator {
    pub fn new(ephemeral_admin: Option<(String, String)>) -> Self {
        Self {
            ephemeral_admin: ephemeral_admin.map(|(user, token)| (user, hash_token(&token))),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn forget_all(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    fn cached(&self, key: &(String, String)) -> Option<AuthUser> {
        let cache = self.cache.lock().ok()?;
        let (user, at) = cache.get(key)?;
        (at.elapsed() < CACHE_TTL).then(|| user.clone())
    }

    fn remember(&self, key: (String, String), user: &AuthUser) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, (user.clone(), Instant::now()));
        }
    }
}

impl Identity {
    /// The user `username` if `token` is one of its unexpired tokens; any failure is the same
    /// bare `Unauthorized`.
    pub async fn authenticate(&self, username: &str, token: &str) -> Result<AuthUser> {
        let presented = hash_token(token);
        if let Some((admin, hash)) = &self.auth.ephemeral_admin
            && admin == username
            && same_hash(hash, &presented)
        {
            return Ok(AuthUser {
                id: "ephemeral".into(),
                username: username.to_string(),
                admin: true,
                token_id: None,
            });
        }
        let key = (username.to_string(), presented.clone());
        if let Some(user) = self.auth.cached(&key) {
            return Ok(user);
        }
        let now = wharf_store::now();
        let found = self
            .store
            .tokens_of(username)
            .await?
            .into_iter()
            .filter(|t| t.expires_at.as_deref().is_none_or(|at| at > now.as_str()))
            .find(|t| same_hash(&t.token_hash, &presented))
            .map(|t| AuthUser {
                id: t.user_id,
                username: t.username,
                admin: t.admin,
                token_id: Some(t.token_id),
            });
        let user = found.ok_or(Error::Unauthorized)?;
        self.auth.remember(key, &user);
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hashes_compare_whole() {
        assert!(same_hash("abc", "abc"));
        assert!(!same_hash("abc", "abd"));
        assert!(!same_hash("abc", "ab"));
    }
}
