//! HTTP Basic authentication against personal tokens stored as SHA-256 hashes.

use crate::error::{Error, Result};
use crate::store::Store;
use base64::Engine;
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
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Splits an `Authorization: Basic …` header into username and token.
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, token) = text.split_once(':')?;
    (!user.is_empty() && !token.is_empty()).then(|| (user.to_string(), token.to_string()))
}

/// How long a verified credential is trusted without asking the store again.
const CACHE_TTL: Duration = Duration::from_secs(5);

pub struct Authenticator {
    store: Store,
    /// An admin that lives only in memory: the embedded control plane's per-run credential.
    ephemeral_admin: Option<(String, String)>,
    cache: Mutex<HashMap<(String, String), (AuthUser, Instant)>>,
}

impl Authenticator {
    pub fn new(store: Store, ephemeral_admin: Option<(String, String)>) -> Self {
        let ephemeral_admin = ephemeral_admin.map(|(user, token)| (user, hash_token(&token)));
        Self {
            store,
            ephemeral_admin,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the `Authorization` header; any failure is the same bare 401.
    pub async fn verify(&self, header: Option<&str>) -> Result<AuthUser> {
        let (username, token) = header.and_then(parse_basic).ok_or(Error::Unauthorized)?;
        let presented = hash_token(&token);
        if let Some((admin, hash)) = &self.ephemeral_admin
            && *admin == username
            && bool::from(hash.as_bytes().ct_eq(presented.as_bytes()))
        {
            return Ok(AuthUser {
                id: "ephemeral".into(),
                username,
                admin: true,
            });
        }
        let key = (username.clone(), presented.clone());
        if let Some(user) = self.cached(&key) {
            return Ok(user);
        }
        let now = crate::store::now();
        let mut found = None;
        for candidate in self.store.tokens_of(&username).await? {
            let matches = bool::from(candidate.token_hash.as_bytes().ct_eq(presented.as_bytes()));
            let expired = candidate
                .expires_at
                .as_deref()
                .is_some_and(|at| at <= now.as_str());
            if matches && !expired {
                found = Some(AuthUser {
                    id: candidate.user_id,
                    username: candidate.username,
                    admin: candidate.admin,
                });
            }
        }
        let user = found.ok_or(Error::Unauthorized)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, (user.clone(), Instant::now()));
        }
        Ok(user)
    }

    /// Forgets every verified credential, so a revoked token stops working at once here
    /// (other replicas forget within the cache's lifetime).
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_parses_and_rejects_garbage() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("ci-bot:s3cret:with:colons")
        );
        assert_eq!(
            parse_basic(&header),
            Some(("ci-bot".into(), "s3cret:with:colons".into()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        let empty = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(":x")
        );
        assert_eq!(parse_basic(&empty), None);
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
