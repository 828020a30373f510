//! Secrets at rest: the passwords of registries an admin added are stored sealed with
//! XChaCha20-Poly1305 under a key the operator holds (`WHARF_SECRET_KEY` or
//! `WHARF_SECRET_KEY_FILE`), never in clear text.
//!
//! A stored password is one of:
//! - `""`: an anonymous registry, nothing to protect;
//! - `v1:<key id>:<nonce>:<ciphertext>`: sealed; the key id is the first four bytes of the
//!   key's SHA-256 in hex (`base64 -d key | sha256sum | cut -c1-8`), the nonce (24 random bytes,
//!   one per value) and the ciphertext with its tag in standard base64; the registry's name is
//!   authenticated with it, so a sealed value moved to another row does not open;
//! - `plain:<password>`: a password stored before encryption existed (migration 0009 tagged
//!   them); sealed on the first start with a key.
//!
//! Rotation: the key in use is the current one; `WHARF_SECRET_KEY_PREVIOUS` (or `_FILE`) is
//! accepted for opening only, and on start every value under it is sealed again under the
//! current key, in one transaction, with an audit entry that counts them.
//!
//! Nothing here ever formats a key or a secret: errors name the registry and the key id.

use super::{Identity, commit};
use crate::error::{Error, Result};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use wharf_store::{ArtifactoryRow, Audit};

/// The variables the keys come from (read by `wharf serve`).
pub const KEY_VAR: &str = "WHARF_SECRET_KEY";
pub const KEY_FILE_VAR: &str = "WHARF_SECRET_KEY_FILE";
pub const PREVIOUS_VAR: &str = "WHARF_SECRET_KEY_PREVIOUS";
pub const PREVIOUS_FILE_VAR: &str = "WHARF_SECRET_KEY_PREVIOUS_FILE";

/// How to make a key, for every message that needs one.
pub const HOW_TO_MAKE_A_KEY: &str = "make a key with `openssl rand -base64 32 > key` and start \
     wharf serve with WHARF_SECRET_KEY_FILE=key (or the key itself in WHARF_SECRET_KEY)";

const VERSION: &str = "v1";
const LEGACY_PREFIX: &str = "plain:";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const KEY_ID_BYTES: usize = 4;

/// Why a sealed value does not open. Never holds the value or the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("it is not a sealed value (expected v1:<key id>:<nonce>:<ciphertext>)")]
    Malformed,
    #[error(
        "it was sealed with key {key_id}, which this server does not hold (current key {current}); \
         start it with that key as {KEY_VAR} or {PREVIOUS_VAR}"
    )]
    UnknownKey { key_id: String, current: String },
    #[error("it does not open under key {key_id}: it was altered, or belongs to another record")]
    Tampered { key_id: String },
    #[error("no secret key is set to open it; {HOW_TO_MAKE_A_KEY}")]
    NoKey,
}

/// Why a key could not be read. Names the variable, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{var} is not a secret key: give 32 bytes as base64 or hex ({HOW_TO_MAKE_A_KEY})")]
    Invalid { var: String },
    #[error("{var}: cannot read {path}: {reason}")]
    File {
        var: String,
        path: String,
        reason: String,
    },
    #[error("set {a} or {b}, not both")]
    Both { a: String, b: String },
    #[error(
        "{PREVIOUS_VAR} is only for opening values during a rotation: set the new key in \
         {KEY_VAR} or {KEY_FILE_VAR} too"
    )]
    PreviousAlone,
}

/// One 32-byte key, known by its id.
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; KEY_LEN],
    id: String,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let hash = Sha256::digest(bytes);
        let id = hex::encode(&hash[..KEY_ID_BYTES]);
        Self { bytes, id }
    }

    /// A key as text: 32 bytes in standard or URL-safe base64 (padded or not), or in hex;
    /// surrounding whitespace (a file's newline) is ignored. `var` names where it came from.
    pub fn parse(text: &str, var: &str) -> Result<Self, KeyError> {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let text = text.trim();
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .filter(|bytes| bytes.len() == KEY_LEN)
            .or_else(|| hex::decode(text).ok());
        match decoded.map(<[u8; KEY_LEN]>::try_from) {
            Some(Ok(bytes)) => Ok(Self::from_bytes(bytes)),
            _ => Err(KeyError::Invalid { var: var.into() }),
        }
    }

    /// The first four bytes of the key's SHA-256, in hex: tells which key sealed a value.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.bytes.into())
    }

    /// Seals `secret` for the record named by `context`, under a fresh random nonce.
    pub fn seal(&self, context: &str, secret: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = aad(context);
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 seals any message shorter than 256 GiB");
        let b64 = base64::engine::general_purpose::STANDARD;
        format!(
            "{VERSION}:{}:{}:{}",
            self.id,
            b64.encode(nonce),
            b64.encode(sealed)
        )
    }

    fn open(&self, context: &str, nonce: &[u8], sealed: &[u8]) -> Result<String, SecretError> {
        let tampered = || SecretError::Tampered {
            key_id: self.id.clone(),
        };
        let nonce = <[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| SecretError::Malformed)?;
        let aad = aad(context);
        let opened = self
            .cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| tampered())?;
        String::from_utf8(opened).map_err(|_| tampered())
    }
}

/// What a sealed value is bound to besides its key: the format and the record it belongs to.
fn aad(context: &str) -> Vec<u8> {
    format!("wharf-secret-{VERSION}\0{context}").into_bytes()
}

/// A sealed value's parts: key id, nonce, ciphertext.
fn parts(value: &str) -> Result<(&str, Vec<u8>, Vec<u8>), SecretError> {
    let mut fields = value.split(':');
    let (Some(VERSION), Some(key_id), Some(nonce), Some(sealed), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(SecretError::Malformed);
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let nonce = b64.decode(nonce).map_err(|_| SecretError::Malformed)?;
    let sealed = b64.decode(sealed).map_err(|_| SecretError::Malformed)?;
    Ok((key_id, nonce, sealed))
}

/// The key id a sealed value names, when it is one.
pub fn sealed_with(value: &str) -> Option<&str> {
    parts(value).ok().map(|(key_id, _, _)| key_id)
}

/// The keys of a running control plane: the current one seals and opens, the previous one
/// (during a rotation) only opens.
#[derive(Debug, Clone)]
pub struct SecretKeys {
    current: SecretKey,
    previous: Option<SecretKey>,
}

impl SecretKeys {
    pub fn new(current: SecretKey, previous: Option<SecretKey>) -> Self {
        let previous = previous.filter(|p| p.id != current.id);
        Self { current, previous }
    }

    pub fn current(&self) -> &SecretKey {
        &self.current
    }

    pub fn previous(&self) -> Option<&SecretKey> {
        self.previous.as_ref()
    }

    /// The keys named by `WHARF_SECRET_KEY`/`_FILE` and `WHARF_SECRET_KEY_PREVIOUS`/`_FILE`, as
    /// `var` answers them (empty counts as unset); `None` when no key is set.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, KeyError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let current = read_key(&var, KEY_VAR, KEY_FILE_VAR)?;
        let previous = read_key(&var, PREVIOUS_VAR, PREVIOUS_FILE_VAR)?;
        match (current, previous) {
            (Some(current), previous) => Ok(Some(Self::new(current, previous))),
            (None, Some(_)) => Err(KeyError::PreviousAlone),
            (None, None) => Ok(None),
        }
    }

    /// Opens a value sealed by [`SecretKey::seal`] with the same `context`, under whichever of
    /// the keys sealed it.
    pub fn open(&self, context: &str, value: &str) -> Result<String, SecretError> {
        let (key_id, nonce, sealed) = parts(value)?;
        let key = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|key| key.id == key_id)
            .ok_or_else(|| SecretError::UnknownKey {
                key_id: key_id.into(),
                current: self.current.id.clone(),
            })?;
        key.open(context, &nonce, &sealed)
    }
}

fn read_key(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    file_name: &str,
) -> Result<Option<SecretKey>, KeyError> {
    match (var(name), var(file_name)) {
        (Some(_), Some(_)) => Err(KeyError::Both {
            a: name.into(),
            b: file_name.into(),
        }),
        (Some(text), None) => SecretKey::parse(&text, name).map(Some),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(Path::new(&path)).map_err(|e| KeyError::File {
                var: file_name.into(),
                path: path.clone(),
                reason: e.kind().to_string(),
            })?;
            SecretKey::parse(&text, file_name).map(Some)
        }
        (None, None) => Ok(None),
    }
}

/// The record a registry's password is bound to.
fn password_context(registry: &str) -> String {
    format!("artifactories/{registry}/password")
}

/// What the start found and did to the stored passwords.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SecretsReport {
    /// Sealed under the previous key, now under the current one.
    pub rotated: usize,
    /// Stored in clear text before encryption existed, now sealed.
    pub sealed: usize,
    /// Left in clear text because no key is set.
    pub plaintext: usize,
    /// Registries whose password this server cannot open (another key, or altered).
    pub unreadable: Vec<String>,
}

impl Identity {
    /// Takes the keys (`None`: no key set) and brings every stored password under the current
    /// key, in one transaction with one audit entry per kind of change; called once, on start,
    /// before the first request.
    pub async fn open_secrets(&self, keys: Option<SecretKeys>) -> Result<SecretsReport> {
        if let Some(keys) = keys {
            // Only the first start of this control plane sets them.
            let _ = self.secrets.set(keys);
        }
        let report = self.reseal_stored_secrets().await?;
        if report.rotated > 0 {
            tracing::info!(
                count = report.rotated,
                "registry passwords sealed again under the current secret key"
            );
        }
        if report.sealed > 0 {
            tracing::info!(
                count = report.sealed,
                "registry passwords stored in clear text are now encrypted"
            );
        }
        if report.plaintext > 0 {
            tracing::warn!(
                count = report.plaintext,
                "registry passwords are stored in clear text because no secret key is set; {HOW_TO_MAKE_A_KEY}"
            );
        }
        for registry in &report.unreadable {
            tracing::warn!(
                artifactory = %registry,
                "the password of this registry does not open under the secret keys given: it \
                 was sealed with another key (give it as {PREVIOUS_VAR}), or none is set"
            );
        }
        Ok(report)
    }

    async fn reseal_stored_secrets(&self) -> Result<SecretsReport> {
        let keys = self.secrets.get();
        let mut report = SecretsReport::default();
        let mut tx = self.store.begin().await?;
        for row in tx.artifactories_with_password().await? {
            let context = password_context(&row.name);
            let legacy = row.password.strip_prefix(LEGACY_PREFIX);
            let Some(keys) = keys else {
                match legacy {
                    Some(_) => report.plaintext += 1,
                    None => report.unreadable.push(row.name.clone()),
                }
                continue;
            };
            let (plain, rotated) = match legacy {
                Some(plain) => (plain.to_string(), false),
                None if sealed_with(&row.password) == Some(keys.current.id()) => continue,
                None => match keys.open(&context, &row.password) {
                    Ok(plain) => (plain, true),
                    Err(_) => {
                        report.unreadable.push(row.name.clone());
                        continue;
                    }
                },
            };
            let sealed = keys.current.seal(&context, &plain);
            // Conditional on the value read: a replica that changed it first wins.
            if tx
                .replace_artifactory_password(&row.name, &row.password, &sealed)
                .await?
            {
                match rotated {
                    true => report.rotated += 1,
                    false => report.sealed += 1,
                }
            }
        }
        let Some(keys) = keys else {
            return Ok(report);
        };
        report.rotated += reseal_webhook_secrets(&mut tx, keys).await?;
        let mut audits = Vec::new();
        if report.rotated > 0 {
            audits.push(
                Audit::new("wharf serve", "CONTAINER_REGISTRY", "SECRET_KEY_ROTATE")
                    .target(keys.current.id())
                    .meta("count", report.rotated)
                    .meta(
                        "previousKeyId",
                        keys.previous
                            .as_ref()
                            .map(SecretKey::id)
                            .unwrap_or_default(),
                    ),
            );
        }
        if report.sealed > 0 {
            audits.push(
                Audit::new(
                    "wharf serve",
                    "CONTAINER_REGISTRY",
                    "SECRET_KEY_ENCRYPT_PLAINTEXT",
                )
                .target(keys.current.id())
                .meta("count", report.sealed),
            );
        }
        let Some(last) = audits.pop() else {
            return Ok(report);
        };
        for audit in &audits {
            tx.record(audit).await?;
        }
        commit(tx, &last).await?;
        Ok(report)
    }

    /// Seals a registry's password for storing; refused (naming the field and how to make a
    /// key) when no key is set. An empty password (an anonymous registry) stays empty.
    pub(super) fn seal_registry_password(&self, registry: &str, password: &str) -> Result<String> {
        if password.is_empty() {
            return Ok(String::new());
        }
        let keys = self.secrets.get().ok_or_else(|| {
            Error::bad_request(format!(
                "field `password`: this server has no secret key to encrypt registry passwords \
                 with, so it stores none; {HOW_TO_MAKE_A_KEY}"
            ))
        })?;
        Ok(keys.current.seal(&password_context(registry), password))
    }

    /// A registry's password as stored, opened for handing out; an error names the registry
    /// and the key, never the value.
    pub(super) fn registry_password(&self, row: &ArtifactoryRow) -> Result<String> {
        if row.password.is_empty() {
            return Ok(String::new());
        }
        if let Some(plain) = row.password.strip_prefix(LEGACY_PREFIX) {
            return Ok(plain.to_string());
        }
        let opened = match self.secrets.get() {
            Some(keys) => keys.open(&password_context(&row.name), &row.password),
            None => Err(SecretError::NoKey),
        };
        opened.map_err(|e| {
            Error::Internal(format!(
                "the password of artifactory '{}' cannot be read: {e}",
                row.name
            ))
        })
    }
}

impl Identity {
    /// Seals a webhook's signing secret for storing; refused, naming the subscription and how
    /// to make a key, when the server has none.
    pub(super) fn seal_webhook_secret(
        &self,
        project: &str,
        name: &str,
        secret: &str,
    ) -> Result<String> {
        let keys = self.secrets.get().ok_or_else(|| {
            Error::bad_request(format!(
                "webhooks '{name}': this server has no secret key to encrypt webhook secrets \
                 with; {HOW_TO_MAKE_A_KEY}"
            ))
        })?;
        Ok(keys.current.seal(&webhook_context(project, name), secret))
    }

    /// A webhook's signing secret, opened for signing; an error names the subscription,
    /// never the value.
    pub(super) fn webhook_secret(&self, project: &str, name: &str, sealed: &str) -> Result<String> {
        let opened = match self.secrets.get() {
            Some(keys) => keys.open(&webhook_context(project, name), sealed),
            None => Err(SecretError::NoKey),
        };
        opened.map_err(|e| {
            Error::Internal(format!(
                "the secret of webhook '{name}' of project '{project}' cannot be read: {e}"
            ))
        })
    }
}

/// Brings every webhook secret (and a rotated one still in grace) under the current key;
/// answers how many were sealed again. One that opens under no key given is left as it is
/// (its deliveries then fail, naming the subscription).
async fn reseal_webhook_secrets(tx: &mut wharf_store::Tx, keys: &SecretKeys) -> Result<usize> {
    let mut resealed = 0;
    for row in tx.all_webhooks_in_tx().await? {
        let context = webhook_context(&row.project, &row.name);
        let sealed = [
            ("secret", Some(&row.secret)),
            ("previous_secret", row.previous_secret.as_ref()),
        ];
        for (column, value) in sealed {
            let Some(value) = value else { continue };
            if sealed_with(value) == Some(keys.current.id()) {
                continue;
            }
            let Ok(plain) = keys.open(&context, value) else {
                tracing::warn!(webhook = %row.name, project = %row.project,
                    "this webhook's secret does not open under the secret keys given");
                continue;
            };
            let again = keys.current.seal(&context, &plain);
            if tx
                .replace_webhook_secret(&row.id, column, value, &again)
                .await?
            {
                resealed += 1;
            }
        }
    }
    Ok(resealed)
}

fn webhook_context(project: &str, name: &str) -> String {
    format!("webhooks/{project}/{name}/secret")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_bytes([byte; KEY_LEN])
    }

    #[test]
    fn a_sealed_value_opens_under_its_key_and_never_shows_the_secret() {
        let keys = SecretKeys::new(key(1), None);
        let sealed = keys
            .current()
            .seal("artifactories/r/password", "hunter2-secret");
        assert!(
            sealed.starts_with(&format!("v1:{}:", key(1).id())),
            "{sealed}"
        );
        assert!(!sealed.contains("hunter2"));
        assert_eq!(sealed_with(&sealed), Some(key(1).id()));
        assert_eq!(
            keys.open("artifactories/r/password", &sealed).unwrap(),
            "hunter2-secret"
        );
        // A fresh nonce each time: the same secret seals differently.
        let again = keys
            .current()
            .seal("artifactories/r/password", "hunter2-secret");
        assert_ne!(sealed, again);
        assert_eq!(
            keys.open("artifactories/r/password", &again).unwrap(),
            "hunter2-secret"
        );
        assert_eq!(keys.open("c", &keys.current().seal("c", "")).unwrap(), "");
    }

    #[test]
    fn key_ids_are_the_first_bytes_of_the_keys_sha256() {
        let id = hex::encode(&Sha256::digest([1u8; KEY_LEN])[..4]);
        assert_eq!(key(1).id(), id);
        assert_eq!(key(1).id().len(), 8);
        assert_ne!(key(1).id(), key(2).id());
        assert_eq!(format!("{:?}", key(1)), format!("SecretKey({id})"));
    }

    #[test]
    fn a_value_under_another_key_is_an_unknown_key_naming_both_ids() {
        let sealed = key(1).seal("c", "secret");
        let error = SecretKeys::new(key(2), None)
            .open("c", &sealed)
            .unwrap_err();
        assert_eq!(
            error,
            SecretError::UnknownKey {
                key_id: key(1).id().into(),
                current: key(2).id().into()
            }
        );
        let message = error.to_string();
        assert!(message.contains(key(1).id()) && message.contains(PREVIOUS_VAR));
        assert!(!message.contains("secret\""));
    }

    #[test]
    fn the_previous_key_opens_but_does_not_seal() {
        let sealed = key(1).seal("c", "old-secret");
        let keys = SecretKeys::new(key(2), Some(key(1)));
        assert_eq!(keys.open("c", &sealed).unwrap(), "old-secret");
        assert_eq!(
            sealed_with(&keys.current().seal("c", "x")),
            Some(key(2).id())
        );
        assert!(SecretKeys::new(key(2), Some(key(2))).previous().is_none());
    }

    #[test]
    fn a_wrong_key_under_a_forged_id_or_a_tampered_value_does_not_open() {
        let keys = SecretKeys::new(key(1), None);
        let sealed = keys.current().seal("c", "secret");
        let (_, nonce, mut ciphertext) = parts(&sealed).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD;
        let tampered_id = SecretError::Tampered {
            key_id: key(1).id().into(),
        };
        // A flipped bit anywhere in the ciphertext or its tag.
        for i in 0..ciphertext.len() {
            ciphertext[i] ^= 0x01;
            let forged = format!(
                "v1:{}:{}:{}",
                key(1).id(),
                b64.encode(&nonce),
                b64.encode(&ciphertext)
            );
            assert_eq!(
                keys.open("c", &forged),
                Err(tampered_id.clone()),
                "byte {i}"
            );
            ciphertext[i] ^= 0x01;
        }
        // Another nonce.
        let mut other = nonce.clone();
        other[0] ^= 0x80;
        let forged = format!(
            "v1:{}:{}:{}",
            key(1).id(),
            b64.encode(&other),
            b64.encode(&ciphertext)
        );
        assert_eq!(keys.open("c", &forged), Err(tampered_id.clone()));
        // Moved to another record.
        assert_eq!(keys.open("d", &sealed), Err(tampered_id));
        // Another key presenting this key's id.
        let wrong = SecretKey {
            bytes: [9; KEY_LEN],
            id: key(1).id().into(),
        };
        assert!(matches!(
            SecretKeys::new(wrong, None).open("c", &sealed),
            Err(SecretError::Tampered { .. })
        ));
    }

    #[test]
    fn malformed_values_are_refused_as_such() {
        let keys = SecretKeys::new(key(1), None);
        let good = keys.current().seal("c", "s");
        for bad in [
            "",
            "secret",
            "v1:",
            "v1:abcd",
            "v2:abcd:AAAA:AAAA",
            "v1:abcd:!!:AAAA",
            "v1:abcd:AAAA:AAAA:AAAA",
            &format!("{good}:x"),
            &good.replace("v1:", "v2:"),
        ] {
            assert_eq!(keys.open("c", bad), Err(SecretError::Malformed), "{bad}");
        }
        // A nonce of the wrong length.
        let short = format!("v1:{}:AAAA:AAAAAAAAAAAAAAAAAAAAAA==", key(1).id());
        assert_eq!(keys.open("c", &short), Err(SecretError::Malformed));
    }

    #[test]
    fn keys_parse_from_base64_or_hex_and_errors_never_show_them() {
        let bytes = [7u8; KEY_LEN];
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let from_b64 = SecretKey::parse(&format!("{b64}\n"), KEY_VAR).unwrap();
        let from_hex = SecretKey::parse(&hex::encode(bytes), KEY_VAR).unwrap();
        assert_eq!(from_b64.id(), from_hex.id());
        assert_eq!(from_b64.id(), SecretKey::from_bytes(bytes).id());
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        for bad in [short.as_str(), "not a key", "", &hex::encode([1u8; 31])] {
            let error = SecretKey::parse(bad, KEY_VAR).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(KEY_VAR) && message.contains("openssl rand -base64 32"));
            assert!(bad.is_empty() || !message.contains(bad), "{message}");
        }
    }

    #[test]
    fn keys_come_from_a_variable_or_a_file_and_the_previous_needs_a_current() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        let b64 = base64::engine::general_purpose::STANDARD.encode([3u8; KEY_LEN]);
        std::fs::write(&file, format!("{b64}\n")).unwrap();
        let file = file.to_string_lossy().into_owned();
        let previous = hex::encode([4u8; KEY_LEN]);
        let vars = |pairs: Vec<(&'static str, String)>| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
            }
        };
        assert!(SecretKeys::from_vars(vars(vec![])).unwrap().is_none());
        assert!(
            SecretKeys::from_vars(vars(vec![(KEY_VAR, " ".into())]))
                .unwrap()
                .is_none()
        );
        let keys = SecretKeys::from_vars(vars(vec![
            (KEY_FILE_VAR, file.clone()),
            (PREVIOUS_VAR, previous.clone()),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(keys.current().id(), key(3).id());
        assert_eq!(keys.previous().unwrap().id(), key(4).id());
        assert_eq!(
            SecretKeys::from_vars(vars(vec![(PREVIOUS_VAR, previous.clone())])).unwrap_err(),
            KeyError::PreviousAlone
        );
        assert!(matches!(
            SecretKeys::from_vars(vars(vec![(KEY_VAR, b64.clone()), (KEY_FILE_VAR, file)])),
            Err(KeyError::Both { .. })
        ));
        let missing = SecretKeys::from_vars(vars(vec![(KEY_FILE_VAR, "/nonexistent/k".into())]))
            .unwrap_err()
            .to_string();
        assert!(missing.contains(KEY_FILE_VAR) && missing.contains("/nonexistent/k"));
    }
}
