//! Keyless CI login: trades a CI's OIDC identity token for a wharf token that lasts at most
//! [`TOKEN_LIFETIME`] and holds one role on one project (`POST /wharf/v1/oidc/token`).
//!
//! The identity token is verified with `jsonwebtoken` (RS256 or ES256 only; `none` and HMAC
//! are refused before any key is touched) against the issuer's keys, found through its
//! `/.well-known/openid-configuration` and cached ([`IssuerKeys`]): a key id the cache does
//! not hold makes it fetch the keys again (at most [`FORCED_REFRESHES`] times a minute per
//! issuer), so a rotated key works at once. `iss`, `aud`, `exp`, `nbf` and `iat` are checked
//! with [`SKEW`] of clock skew; a token already exchanged (its `jti`, or its hash when it has
//! none) is refused, on every replica, through the store. A policy of the project
//! ([`super::trust`]) must match the claims.
//!
//! The token issued belongs to the policy's user (`oidc+<project>+<policy>`), who is never a
//! server admin and holds a role on that project only: each exchange takes any other role it
//! was given away. The audit entry names the policy and the claims that matched, never a
//! token. A refusal names the check that failed, never the token.

use super::auth::AuthUser;
use super::auth::hash_token;
use super::trust::{self, check_issuer_url, matched_claims, policy_user, unmatched_claim};
use super::{Identity, commit};
use crate::error::{Error, Result};
use crate::validate::quoted;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::RngCore;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wharf_api::oidc::OidcTokenResponse;
use wharf_api::project_file::TrustPolicy;
use wharf_store::{Audit, NewToken, format_time};

/// Longest an exchanged token lasts.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const SKEW: Duration = Duration::from_secs(60);

/// How long an issuer's keys are trusted without fetching them again.
const KEYS_TTL: Duration = Duration::from_secs(10 * 60);

/// Fetches forced by an unknown key id, per issuer, within [`FORCED_WINDOW`].
const FORCED_REFRESHES: usize = 5;
const FORCED_WINDOW: Duration = Duration::from_secs(60);

/// How long an issuer whose keys could not be read is not asked again.
const FAILURE_TTL: Duration = Duration::from_secs(10);

/// Discoveries in flight at once, across issuers.
const FETCHES_AT_ONCE: usize = 4;

/// Largest discovery document or key set read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Largest identity token accepted.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why an exchange failed: a refusal (401, naming the check), or the server's own failure.
#[derive(Debug)]
pub enum ExchangeError {
    Refused(String),
    Failed(Error),
}

impl From<Error> for ExchangeError {
    fn from(error: Error) -> Self {
        Self::Failed(error)
    }
}

impl From<wharf_store::Error> for ExchangeError {
    fn from(error: wharf_store::Error) -> Self {
        Self::Failed(error.into())
    }
}

/// A verified token and the policy it matched.
struct Matched {
    name: String,
    policy: TrustPolicy,
    claims: serde_json::Map<String, serde_json::Value>,
}

/// What `wharf trust test` answers: the policy a token would log in by, or why none.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustTest {
    pub matches: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The user a login by it acts as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn refused(message: impl Into<String>) -> ExchangeError {
    ExchangeError::Refused(message.into())
}

/// One issuer's keys and when they were fetched.
struct Cached {
    keys: Vec<Jwk>,
    fetched: Instant,
    /// When unknown key ids made us fetch again, within the last [`FORCED_WINDOW`].
    forced: Vec<Instant>,
}

/// The keys of every issuer asked about, with the HTTP client that fetches them. Fetches are
/// single-flight per issuer (concurrent exchanges wait for the one fetch), at most
/// [`FETCHES_AT_ONCE`] across issuers, and an issuer that failed is not asked again for
/// [`FAILURE_TTL`]: unauthenticated exchanges cannot make the server fetch at will.
pub struct IssuerKeys {
    http: Option<reqwest::Client>,
    cache: Mutex<HashMap<String, Cached>>,
    flights: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    failed: Mutex<HashMap<String, Instant>>,
    fetching: tokio::sync::Semaphore,
}

impl Default for IssuerKeys {
    fn default() -> Self {
        wharf_http::install_tls_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            // A redirect could lead off HTTPS: issuers answer where they are asked.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
            .build()
            .ok();
        Self {
            http,
            cache: Mutex::default(),
            flights: Mutex::default(),
            failed: Mutex::default(),
            fetching: tokio::sync::Semaphore::new(FETCHES_AT_ONCE),
        }
    }
}

/// The one answer for any issuer whose keys could not be read, whatever went wrong (closed
/// port, timeout, an error status, not JSON, no key set): different answers would make the
/// issuer URL a port scanner for whoever writes a trust policy. The detail goes to the log.
fn issuer_unreadable() -> ExchangeError {
    refused(
        "issuer: the issuer's keys could not be read (its discovery document or key set is \
         unreachable or malformed); the server's log says why; retry in a minute",
    )
}

/// Whether a key may check a token signed with `alg`.
fn key_fits(key: &Jwk, alg: Algorithm) -> bool {
    match (&key.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        _ => false,
    }
}

impl IssuerKeys {
    fn cached(&self, issuer: &str) -> Option<(Vec<Jwk>, Instant)> {
        let cache = self.cache.lock().ok()?;
        let entry = cache.get(issuer)?;
        Some((entry.keys.clone(), entry.fetched))
    }

    /// Whether an unknown key id may make us fetch `issuer`'s keys again now (and counts it).
    fn may_force(&self, issuer: &str) -> bool {
        let Ok(mut cache) = self.cache.lock() else {
            return false;
        };
        let Some(entry) = cache.get_mut(issuer) else {
            return true;
        };
        entry.forced.retain(|at| at.elapsed() < FORCED_WINDOW);
        if entry.forced.len() >= FORCED_REFRESHES {
            return false;
        }
        entry.forced.push(Instant::now());
        true
    }

    fn store(&self, issuer: &str, keys: Vec<Jwk>) {
        if let Ok(mut cache) = self.cache.lock() {
            let forced = cache
                .remove(issuer)
                .map(|old| old.forced)
                .unwrap_or_default();
            cache.insert(
                issuer.to_string(),
                Cached {
                    keys,
                    fetched: Instant::now(),
                    forced,
                },
            );
        }
    }

    /// The key `kid` (or, without one, the keys that fit `alg`) of `issuer`: from the cache,
    /// or fetched when the cache is old or does not hold it.
    async fn keys_for(
        &self,
        issuer: &str,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<Jwk>, ExchangeError> {
        let pick = |keys: &[Jwk]| -> Vec<Jwk> {
            keys.iter()
                .filter(|k| key_fits(k, alg))
                .filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
                .cloned()
                .collect()
        };
        let cached = self.cached(issuer);
        if let Some((keys, fetched)) = &cached
            && fetched.elapsed() < KEYS_TTL
        {
            let found = pick(keys);
            if !found.is_empty() {
                return Ok(found);
            }
            if !self.may_force(issuer) {
                return Err(refused(format!(
                    "key id: the issuer's keys hold no {} key {}, and they were fetched again \
                     too often in the last minute to fetch them once more; retry in a minute",
                    alg_name(alg),
                    kid.map(quoted)
                        .unwrap_or_else(|| "(the token names none)".into())
                )));
            }
        }
        let keys = self.fetch_once(issuer).await?;
        let found = pick(&keys);
        if found.is_empty() {
            return Err(refused(format!(
                "key id: the issuer's keys (fetched just now) hold no {} key {}",
                alg_name(alg),
                kid.map(quoted)
                    .unwrap_or_else(|| "(the token names none)".into())
            )));
        }
        Ok(found)
    }

    /// The issuer's keys, fetched by one request at a time: a caller that waited for another's
    /// fetch takes its keys; a recent failure is answered without fetching.
    async fn fetch_once(&self, issuer: &str) -> Result<Vec<Jwk>, ExchangeError> {
        let waiting_since = Instant::now();
        let flight = {
            let mut flights = self.flights.lock().map_err(|_| issuer_unreadable())?;
            flights.entry(issuer.to_string()).or_default().clone()
        };
        let _turn = flight.lock().await;
        if let Some((keys, fetched)) = self.cached(issuer)
            && fetched >= waiting_since
        {
            return Ok(keys);
        }
        let failed_recently = self
            .failed
            .lock()
            .ok()
            .and_then(|failed| failed.get(issuer).copied())
            .is_some_and(|at| at.elapsed() < FAILURE_TTL);
        if failed_recently {
            return Err(issuer_unreadable());
        }
        let _permit = self
            .fetching
            .acquire()
            .await
            .map_err(|_| issuer_unreadable())?;
        match self.fetch(issuer).await {
            Ok(keys) => {
                self.store(issuer, keys.clone());
                if let Ok(mut failed) = self.failed.lock() {
                    failed.remove(issuer);
                }
                Ok(keys)
            }
            Err(error) => {
                let detail = match &error {
                    ExchangeError::Refused(why) => why.clone(),
                    ExchangeError::Failed(e) => e.to_string(),
                };
                tracing::warn!(%issuer, %detail, "an OIDC issuer's keys could not be read");
                if let Ok(mut failed) = self.failed.lock() {
                    failed.insert(issuer.to_string(), Instant::now());
                }
                Err(issuer_unreadable())
            }
        }
    }

    /// Discovery, then the key set it names; keys of types wharf does not use are skipped.
    async fn fetch(&self, issuer: &str) -> Result<Vec<Jwk>, ExchangeError> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery = self.get_json(&discovery_url).await?;
        if discovery.get("issuer").and_then(|v| v.as_str()) != Some(issuer) {
            return Err(refused(format!(
                "issuer: the discovery document at {discovery_url} names another issuer than {}",
                quoted(issuer)
            )));
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                refused(format!(
                    "issuer: the discovery document at {discovery_url} has no jwks_uri"
                ))
            })?
            .to_string();
        check_issuer_url(&jwks_uri).map_err(|e| refused(format!("issuer's jwks_uri: {e}")))?;
        let set = self.get_json(&jwks_uri).await?;
        let keys = set
            .get("keys")
            .and_then(|v| v.as_array())
            .ok_or_else(|| refused(format!("issuer: {jwks_uri} holds no \"keys\" list")))?;
        Ok(keys
            .iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
            .collect())
    }

    async fn get_json(&self, url: &str) -> Result<serde_json::Value, ExchangeError> {
        let http = self.http.as_ref().ok_or_else(|| {
            ExchangeError::Failed(Error::Internal("no HTTP client for OIDC issuers".into()))
        })?;
        let unreachable = |why: String| refused(format!("issuer: cannot read {url}: {why}"));
        let response = http
            .get(url)
            .send()
            .await
            .map_err(|e| unreachable(wharf_http::describe_transport(&e)))?;
        if !response.status().is_success() {
            return Err(unreachable(format!("it answered {}", response.status())));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(unreachable("it is too large".into()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(unreachable("it is too large".into()));
        }
        serde_json::from_slice(&body).map_err(|e| unreachable(format!("not JSON: {e}")))
    }
}

fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "ES256",
        _ => "RS256",
    }
}

/// The parts of an unverified token wharf reads before verifying it: which algorithm and key
/// it claims, and its issuer (to know whose keys verify it).
struct Unverified {
    alg: Algorithm,
    kid: Option<String>,
    issuer: String,
}

fn decode_part(
    part: &str,
    what: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, ExchangeError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| refused(format!("malformed token: its {what} is not base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| refused(format!("malformed token: its {what} is not a JSON object")))
}

fn read_unverified(token: &str) -> Result<Unverified, ExchangeError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(refused(format!(
            "malformed token: longer than {MAX_TOKEN_BYTES} bytes"
        )));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        return Err(refused(
            "malformed token: an identity token is a JWT, three base64url parts joined by '.'",
        ));
    };
    let header = decode_part(header, "header")?;
    let alg = match header.get("alg").and_then(|v| v.as_str()) {
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        Some(other) => {
            return Err(refused(format!(
                "algorithm: the token is signed with {}, which wharf refuses; identity tokens \
                 must be signed with RS256 or ES256",
                quoted(other)
            )));
        }
        None => return Err(refused("algorithm: the token's header names no alg")),
    };
    let kid = header
        .get("kid")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let claims = decode_part(payload, "payload")?;
    let issuer = claims
        .get("iss")
        .and_then(|v| v.as_str())
        .ok_or_else(|| refused("issuer: the token has no iss claim"))?
        .to_string();
    Ok(Unverified { alg, kid, issuer })
}

/// What makes a token without `jti` the same token, whatever its signature: the verified
/// issuer, subject, issue and expiry times, and the hash of the payload as sent. (An ECDSA
/// signature has a twin, `s` and `n - s`, that verifies as well; hashing the whole token
/// would let that twin be exchanged again.)
fn claims_fingerprint(token: &str, claims: &serde_json::Map<String, serde_json::Value>) -> String {
    let claim = |name: &str| claims.get(name).map(|v| v.to_string()).unwrap_or_default();
    let payload = token.split('.').nth(1).unwrap_or_default();
    hash_token(&format!(
        "{}\n{}\n{}\n{}\n{}",
        claim("iss"),
        claim("sub"),
        claim("iat"),
        claim("exp"),
        hash_token(payload)
    ))
}

/// The token's audiences (`aud` is one string or a list).
fn audiences(claims: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        Some(serde_json::Value::Array(many)) => many
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Until when a used identity token is remembered: until it could no longer pass `exp`, skew
/// included. An `exp` past what a time can say (year 9999) is remembered for good, not for the
/// skew alone, which would let the token be replayed a minute later.
fn remembered_until(identity_expires: u64) -> time::OffsetDateTime {
    let skew = time::Duration::seconds(SKEW.as_secs() as i64);
    i64::try_from(identity_expires)
        .ok()
        .and_then(|exp| time::OffsetDateTime::from_unix_timestamp(exp).ok())
        .and_then(|exp| exp.checked_add(skew))
        .unwrap_or(time::macros::datetime!(9999-12-31 23:59:59.999 UTC))
}

fn time_of(seconds: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).unwrap_or(i64::MAX))
        .map(format_time)
        .unwrap_or_else(|_| seconds.to_string())
}

fn claim_seconds(claims: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<u64> {
    claims.get(name).and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
    })
}

/// Verifies signature, `iss`, `exp` and `nbf` (jsonwebtoken), and `iat` (here); answers the
/// claims.
fn verify(
    token: &str,
    unverified: &Unverified,
    keys: &[Jwk],
) -> Result<serde_json::Map<String, serde_json::Value>, ExchangeError> {
    let mut validation = Validation::new(unverified.alg);
    validation.leeway = SKEW.as_secs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    // Policies may want different audiences: each is checked against the policy.
    validation.validate_aud = false;
    validation.set_issuer(&[&unverified.issuer]);
    validation.set_required_spec_claims(&["exp", "iss"]);
    let mut last = None;
    for key in keys {
        let Ok(decoding) = DecodingKey::from_jwk(key) else {
            continue;
        };
        match jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &decoding,
            &validation,
        ) {
            Ok(data) => {
                let claims = data.claims;
                let now = jsonwebtoken::get_current_timestamp();
                if let Some(iat) = claim_seconds(&claims, "iat")
                    && iat > now + SKEW.as_secs()
                {
                    return Err(refused(format!(
                        "iat: the token says it was issued at {}, in the future (beyond {} s of \
                         clock skew)",
                        time_of(iat),
                        SKEW.as_secs()
                    )));
                }
                return Ok(claims);
            }
            Err(error) => last = Some(error),
        }
    }
    use jsonwebtoken::errors::ErrorKind;
    let payload = token.split('.').nth(1).unwrap_or_default();
    let claims = decode_part(payload, "payload").unwrap_or_default();
    let message = match last.as_ref().map(|e| e.kind()) {
        Some(ErrorKind::ExpiredSignature) => format!(
            "exp: the token expired at {} (with {} s of clock skew allowed)",
            claim_seconds(&claims, "exp")
                .map(time_of)
                .unwrap_or_default(),
            SKEW.as_secs()
        ),
        Some(ErrorKind::ImmatureSignature) => format!(
            "nbf: the token is not valid before {} (with {} s of clock skew allowed)",
            claim_seconds(&claims, "nbf")
                .map(time_of)
                .unwrap_or_default(),
            SKEW.as_secs()
        ),
        Some(ErrorKind::InvalidIssuer) => "issuer: the token's iss does not match".into(),
        Some(ErrorKind::MissingRequiredClaim(claim)) => {
            format!("{claim}: the token has no {claim} claim")
        }
        Some(ErrorKind::InvalidSignature) | Some(ErrorKind::InvalidEcdsaKey) => format!(
            "signature: the token's signature does not verify against the issuer's key {}",
            unverified
                .kid
                .as_deref()
                .map(quoted)
                .unwrap_or_else(|| "(none named)".into())
        ),
        Some(other) => format!("the token does not verify: {other:?}"),
        None => "signature: no usable key of the issuer verifies the token".into(),
    };
    Err(refused(message))
}

impl Identity {
    /// Trades an identity token for a wharf token on `project` (see the module's doc).
    pub async fn exchange_identity_token(
        &self,
        project: &str,
        token: &str,
    ) -> Result<OidcTokenResponse, ExchangeError> {
        let matched = self.match_policy(project, token).await?;
        let expires = claim_seconds(&matched.claims, "exp").unwrap_or_default();
        let jti = match matched.claims.get("jti").and_then(|v| v.as_str()) {
            Some(jti) if !jti.is_empty() => jti.to_string(),
            _ => format!(
                "sha256:{}",
                claims_fingerprint(token.trim(), &matched.claims)
            ),
        };
        self.issue_keyless_token(
            project.trim(),
            &matched.name,
            &matched.policy,
            &matched.claims,
            &jti,
            expires,
        )
        .await
    }

    /// Which policy of `project` a verified identity token would log in by, issuing nothing and
    /// using up nothing (`wharf trust test`): a project admin's check of a policy against a
    /// real token, with the reason when none matches.
    pub async fn test_identity_token(
        &self,
        user: &AuthUser,
        project: &str,
        token: &str,
    ) -> Result<TrustTest> {
        self.lookups.project(project.trim()).await?;
        self.require(user, project.trim(), super::permissions::PROJECT_ADMIN)
            .await?;
        match self.match_policy(project, token).await {
            Ok(matched) => Ok(TrustTest {
                matches: true,
                user: Some(policy_user(project.trim(), &matched.name)),
                role: Some(matched.policy.role.clone()),
                policy: Some(matched.name),
                reason: None,
            }),
            Err(ExchangeError::Refused(reason)) => Ok(TrustTest {
                matches: false,
                policy: None,
                user: None,
                role: None,
                reason: Some(reason),
            }),
            Err(ExchangeError::Failed(error)) => Err(error),
        }
    }

    /// The policy a verified identity token matches: the token checked against the project's
    /// policies in turn (issuer, signature, audience, claims), or the refusal saying where it
    /// failed.
    async fn match_policy(&self, project: &str, token: &str) -> Result<Matched, ExchangeError> {
        let project = project.trim();
        let token = token.trim();
        if project.is_empty() {
            return Err(ExchangeError::Failed(Error::bad_request(
                "missing field `project`: the project to log in to",
            )));
        }
        if token.is_empty() {
            return Err(ExchangeError::Failed(Error::bad_request(
                "missing field `token`: the CI's identity token",
            )));
        }
        let policies: Vec<(String, TrustPolicy)> = self
            .store
            .trust_policies(project)
            .await?
            .into_iter()
            .map(|row| (row.name, row.policy.0))
            .collect();
        if policies.is_empty() {
            return Err(refused(format!(
                "policy: project {} has no trust policy ([[trust]] in its project file), or \
                 does not exist",
                quoted(project)
            )));
        }
        let unverified = read_unverified(token)?;
        let issuer = unverified.issuer.clone();
        check_issuer_url(&issuer).map_err(|e| refused(format!("issuer: {e}")))?;
        let from_issuer: Vec<&(String, TrustPolicy)> = policies
            .iter()
            .filter(|(_, policy)| policy.issuer == issuer)
            .collect();
        if from_issuer.is_empty() {
            return Err(refused(format!(
                "issuer: project {} trusts no tokens from {}",
                quoted(project),
                quoted(&issuer)
            )));
        }
        let keys = self
            .oidc
            .keys_for(&issuer, unverified.kid.as_deref(), unverified.alg)
            .await?;
        let claims = verify(token, &unverified, &keys)?;
        let token_audiences = audiences(&claims);
        let for_audience: Vec<&&(String, TrustPolicy)> = from_issuer
            .iter()
            .filter(|(_, policy)| token_audiences.contains(&policy.audience))
            .collect();
        if for_audience.is_empty() {
            let wanted: Vec<String> = from_issuer
                .iter()
                .map(|(_, p)| quoted(&p.audience))
                .collect();
            return Err(refused(format!(
                "audience: the token is for {}, but project {} takes tokens of this issuer only \
                 for {}",
                if token_audiences.is_empty() {
                    "no audience".to_string()
                } else {
                    token_audiences
                        .iter()
                        .map(|a| quoted(a))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                quoted(project),
                wanted.join(" or ")
            )));
        }
        let mut reasons = Vec::new();
        let mut chosen = None;
        for (name, policy) in for_audience.iter().map(|p| (&p.0, &p.1)) {
            match unmatched_claim(policy, &claims) {
                None => {
                    chosen = Some((name.clone(), policy.clone()));
                    break;
                }
                Some(why) => reasons.push(format!("policy '{name}': {why}")),
            }
        }
        let Some((name, policy)) = chosen else {
            return Err(refused(format!(
                "claims: no trust policy of project {} matches the token ({})",
                quoted(project),
                reasons.join("; ")
            )));
        };
        Ok(Matched {
            name,
            policy,
            claims,
        })
    }

    /// Records the token as used, and issues the wharf token, in one transaction.
    async fn issue_keyless_token(
        &self,
        project: &str,
        name: &str,
        policy: &TrustPolicy,
        claims: &serde_json::Map<String, serde_json::Value>,
        jti: &str,
        identity_expires: u64,
    ) -> Result<OidcTokenResponse, ExchangeError> {
        let now = time::OffsetDateTime::now_utc();
        let username = policy_user(project, name);
        let mut tx = self.store.begin().await?;
        // Tokens that expired (beyond the skew) can never be presented again.
        tx.sweep_identity_tokens(&format_time(now - SKEW)).await?;
        let remember_until = format_time(remembered_until(identity_expires));
        if !tx
            .remember_identity_token(&policy.issuer, jti, &remember_until)
            .await?
        {
            return Err(refused(format!(
                "jti: this identity token ({}) was exchanged already; identity tokens are \
                 single-use, so ask the CI for a new one",
                if jti.starts_with("sha256:") {
                    "it has no jti; by its hash".to_string()
                } else {
                    format!("jti {}", quoted(jti))
                }
            )));
        }
        tx.insert_user(&username, false).await?;
        if tx.user_admin(&username).await? == Some(true) {
            return Err(ExchangeError::Failed(Error::Internal(format!(
                "user '{username}' is a server admin; a keyless login's user never is: rename \
                 trust policy '{name}' of project '{project}'"
            ))));
        }
        if !tx.role_exists(&policy.role).await? {
            return Err(ExchangeError::Failed(Error::Internal(format!(
                "trust policy '{name}' of project '{project}' names role '{}', which no longer \
                 exists; apply the project file again",
                policy.role
            ))));
        }
        tx.unbind_other_projects(&username, project).await?;
        tx.bind_role(&username, project, &policy.role).await?;
        tx.delete_expired_tokens(&username, &format_time(now))
            .await?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("wharf_{}", hex::encode(bytes));
        let hash = hash_token(&token);
        let expires_at = format_time(now + TOKEN_LIFETIME);
        let token_name = format!("oidc {name}");
        let new = NewToken {
            username: &username,
            token_hash: &hash,
            name: Some(&token_name),
            expires_at: Some(&expires_at),
        };
        let id = tx
            .insert_token(&new)
            .await?
            .ok_or_else(|| Error::Internal("the new token was not stored".into()))?;
        // Kept with the token: a registration made with it is checked against them
        // (its provenance, `super::provenance`).
        let verified_claims = serde_json::Value::Object(claims.clone()).to_string();
        tx.set_token_claims(&id, &verified_claims).await?;
        let audit = Audit::new(&username, "TOKEN", "OIDC_TOKEN_EXCHANGE")
            .target(&id)
            .stack(project)
            .meta("policy", name)
            .meta("issuer", &policy.issuer)
            .meta("role", &policy.role)
            .meta("subject", claims.get("sub"))
            .meta("claims", matched_claims(policy, claims))
            .meta("expiresAt", &expires_at);
        commit(tx, &audit).await?;
        self.forget_cached();
        tracing::info!(project, policy = name, user = %username, "keyless login");
        Ok(OidcTokenResponse {
            token,
            username,
            expires_at,
        })
    }
}

/// Refuses to make a keyless login's user a member anywhere: its one role comes from its
/// trust policy.
pub fn refuse_keyless_member(username: &str) -> Result<()> {
    if trust::is_keyless_user(username) {
        return Err(Error::bad_request(format!(
            "user '{username}' belongs to a keyless login ([[trust]]); its role comes from its \
             trust policy and it cannot be a member elsewhere"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(value: serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: serde_json::Value, claims: serde_json::Value) -> String {
        format!("{}.{}.c2ln", part(header), part(claims))
    }

    fn refusal(result: Result<Unverified, ExchangeError>) -> String {
        match result {
            Err(ExchangeError::Refused(message)) => message,
            Err(ExchangeError::Failed(e)) => panic!("failed, not refused: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn only_rs256_and_es256_are_read() {
        let claims = serde_json::json!({"iss": "https://x"});
        for alg in ["none", "HS256", "HS512", "RS512", "PS256", "EdDSA"] {
            let message = refusal(read_unverified(&token(
                serde_json::json!({"alg": alg}),
                claims.clone(),
            )));
            assert!(message.starts_with("algorithm:"), "{message}");
            assert!(message.contains(alg), "{message}");
        }
        for alg in ["RS256", "ES256"] {
            let read = read_unverified(&token(
                serde_json::json!({"alg": alg, "kid": "k"}),
                claims.clone(),
            ));
            assert!(read.is_ok(), "{alg}");
        }
    }

    #[test]
    fn malformed_tokens_are_refused_without_echoing_them() {
        for bad in ["", "abc", "a.b", "a.b.c.d", "!!.!!.!!"] {
            let message = refusal(read_unverified(bad));
            assert!(message.starts_with("malformed token"), "{message}");
        }
        let secret = token(
            serde_json::json!({"alg": "RS256"}),
            serde_json::json!({"sub": "x"}),
        );
        let message = refusal(read_unverified(&secret));
        assert!(message.starts_with("issuer:"), "{message}");
        assert!(!message.contains(&secret[..10]), "{message}");
    }

    #[test]
    fn audiences_are_one_or_many() {
        let one = serde_json::json!({"aud": "wharf"});
        assert_eq!(audiences(one.as_object().unwrap()), ["wharf"]);
        let many = serde_json::json!({"aud": ["a", "wharf"]});
        assert_eq!(audiences(many.as_object().unwrap()), ["a", "wharf"]);
        let none = serde_json::json!({});
        assert!(audiences(none.as_object().unwrap()).is_empty());
    }

    #[test]
    fn the_key_cache_and_size_limits_keep_their_values() {
        assert_eq!(KEYS_TTL, Duration::from_secs(600));
        assert_eq!(MAX_DOCUMENT_BYTES, 262_144);
        assert_eq!(MAX_TOKEN_BYTES, 16_384);
    }

    #[test]
    fn a_token_may_be_16_kib_and_no_longer() {
        let claims = serde_json::json!({"iss": "https://x", "pad": ""});
        let short = token(serde_json::json!({"alg": "RS256"}), claims.clone());
        let padded = |length: usize| {
            let mut claims = claims.clone();
            // base64url: 4 characters per 3 bytes of padding.
            let pad = (length - short.len()) * 3 / 4;
            claims["pad"] = "x".repeat(pad).into();
            let mut text = token(serde_json::json!({"alg": "RS256"}), claims);
            while text.len() < length {
                text.push('A');
            }
            text
        };
        let at_limit = padded(MAX_TOKEN_BYTES);
        assert_eq!(at_limit.len(), MAX_TOKEN_BYTES);
        assert!(read_unverified(&at_limit).is_ok(), "16 KiB is allowed");
        let over = padded(MAX_TOKEN_BYTES + 1);
        assert_eq!(over.len(), MAX_TOKEN_BYTES + 1);
        assert_eq!(
            refusal(read_unverified(&over)),
            "malformed token: longer than 16384 bytes"
        );
    }

    #[test]
    fn a_key_fits_only_its_own_algorithm_and_curve() {
        let jwk = |json: serde_json::Value| serde_json::from_value::<Jwk>(json).unwrap();
        let rsa = jwk(serde_json::json!({"kty": "RSA", "n": "sXch", "e": "AQAB"}));
        let p256 = jwk(serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}));
        let p384 = jwk(serde_json::json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}));
        assert!(key_fits(&rsa, Algorithm::RS256));
        assert!(!key_fits(&rsa, Algorithm::ES256));
        assert!(key_fits(&p256, Algorithm::ES256));
        assert!(!key_fits(&p256, Algorithm::RS256));
        assert!(!key_fits(&p384, Algorithm::ES256));
        assert_eq!(alg_name(Algorithm::ES256), "ES256");
        assert_eq!(alg_name(Algorithm::RS256), "RS256");
    }

    /// Serves one answer on loopback, `head` then `body`, and holds the connection open.
    async fn answer_once(head: String, body: Vec<u8>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let (mut seen, mut buffer) = (Vec::new(), [0u8; 1024]);
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buffer).await.unwrap();
                if n == 0 {
                    return;
                }
                seen.extend_from_slice(&buffer[..n]);
            }
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(&body).await.unwrap();
            std::future::pending::<()>().await;
        });
        url
    }

    #[tokio::test]
    async fn documents_over_256_kib_are_not_read() {
        let json_string = |length: usize| {
            let mut text = vec![b'"'; length];
            text[1..length - 1].fill(b'x');
            text
        };
        let with_length = |length: usize| {
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
            )
        };
        let chunked = |body: Vec<u8>| {
            let mut framed = format!("{:x}\r\n", body.len()).into_bytes();
            framed.extend(body);
            framed.extend(b"\r\n0\r\n\r\n");
            framed
        };
        let chunked_head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_string();
        let too_large = |result: Result<serde_json::Value, ExchangeError>| match result {
            Err(ExchangeError::Refused(message)) => message.ends_with("it is too large"),
            _ => false,
        };
        let keys = IssuerKeys::default();

        let exact = json_string(MAX_DOCUMENT_BYTES);
        let url = answer_once(with_length(exact.len()), exact.clone()).await;
        assert!(keys.get_json(&url).await.is_ok(), "256 KiB with its length");
        let url = answer_once(chunked_head.clone(), chunked(exact)).await;
        assert!(keys.get_json(&url).await.is_ok(), "256 KiB, chunked");

        // Refused on the length alone: the body is never sent.
        let url = answer_once(with_length(MAX_DOCUMENT_BYTES + 1), Vec::new()).await;
        assert!(
            too_large(keys.get_json(&url).await),
            "a length over the limit"
        );
        let over = json_string(MAX_DOCUMENT_BYTES + 1);
        let url = answer_once(chunked_head, chunked(over)).await;
        assert!(
            too_large(keys.get_json(&url).await),
            "a chunked body over the limit"
        );
    }

    #[test]
    fn a_used_token_is_remembered_until_its_exp_and_the_skew_or_for_good() {
        let shown = |exp| format_time(remembered_until(exp));
        assert_eq!(shown(1_764_495_330), "2025-11-30T09:36:30.000Z");
        for beyond in [253_402_300_800, i64::MAX as u64, u64::MAX] {
            assert_eq!(shown(beyond), "9999-12-31T23:59:59.999Z", "{beyond}");
        }
    }

    #[test]
    fn claimed_seconds_are_whole_or_fractional_and_never_negative() {
        let claims =
            serde_json::json!({"a": 1_764_495_330, "b": 1_764_495_330.7, "c": -5.0, "d": "1"});
        let claims = claims.as_object().unwrap();
        assert_eq!(claim_seconds(claims, "a"), Some(1_764_495_330));
        assert_eq!(claim_seconds(claims, "b"), Some(1_764_495_330));
        assert_eq!(claim_seconds(claims, "c"), None);
        assert_eq!(claim_seconds(claims, "d"), None);
        assert_eq!(claim_seconds(claims, "missing"), None);
    }

    #[test]
    fn claimed_times_are_shown_as_utc_or_as_given_when_out_of_range() {
        assert_eq!(time_of(1_764_495_330), "2025-11-30T09:35:30.000Z");
        assert_eq!(time_of(u64::MAX), u64::MAX.to_string());
    }

    #[test]
    fn forced_refreshes_are_limited_per_issuer() {
        let keys = IssuerKeys::default();
        keys.store("https://a", Vec::new());
        for _ in 0..FORCED_REFRESHES {
            assert!(keys.may_force("https://a"));
        }
        assert!(!keys.may_force("https://a"));
        // A new fetch keeps the count: rotation does not reset the limit.
        keys.store("https://a", Vec::new());
        assert!(!keys.may_force("https://a"));
        assert!(keys.may_force("https://b"));
    }

    #[test]
    fn members_cannot_be_keyless_users() {
        assert!(refuse_keyless_member("oidc+shop+gh").is_err());
        assert!(refuse_keyless_member("ci-bot").is_ok());
    }
}
