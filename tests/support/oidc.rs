//! A loopback OIDC issuer for keyless login (a test double: no CI vendor's issuer can run
//! here): discovery and JWKS on loopback, RSA keys from `tests/fixtures/oidc/`, ECDSA keys
//! made at run time, and GitHub Actions' documented claims.
#![allow(dead_code)]

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Json};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// GitHub's request token: a secret, checked absent from every output.
pub const GITHUB_REQUEST_TOKEN: &str = "ghs-request-SECRET-7c1d";

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn fixture(name: &str) -> PathBuf {
    super::repo_root().join("tests/fixtures/oidc").join(name)
}

/// A signing key and its public JWK.
pub struct Key {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

/// Test-only RSA key number `n` from the fixtures.
pub fn rsa_key(n: u32, kid: &str) -> Key {
    let pem = std::fs::read_to_string(fixture(&format!("rsa-{n}.pem"))).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let mut jwk: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("rsa-{n}.jwk.json"))).unwrap(),
    )
    .unwrap();
    jwk["kid"] = kid.into();
    jwk["alg"] = "RS256".into();
    jwk["use"] = "sig".into();
    Key {
        kid: kid.into(),
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_der(&der),
        jwk,
    }
}

/// A P-256 key made now.
pub fn ec_key(kid: &str) -> Key {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let raw = pair.public_key_raw();
    assert_eq!(raw.len(), 65, "an uncompressed P-256 point");
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&raw[1..33]), "y": b64(&raw[33..]),
        "kid": kid, "alg": "ES256", "use": "sig"});
    Key {
        kid: kid.into(),
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk,
    }
}

pub fn sign(key: &Key, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

/// The issuer's keys: what the JWKS publishes and what signs.
pub struct Keys {
    pub rsa: Key,
    pub ec: Key,
}

/// A loopback OIDC issuer. Every path prefix is an issuer of its own
/// (`http://127.0.0.1:P/github`, `…/gitlab`, …): each answers its discovery document and
/// the one JWKS. `/github/token-request` plays GitHub's ACTIONS_ID_TOKEN_REQUEST_URL.
///
/// Two prefixes misbehave: `/broken` answers its discovery with 500 after a pause (a slow,
/// failing issuer), and `/html` with an HTML page; both count their discovery requests.
pub struct Issuer {
    pub base: String,
    keys: Arc<Mutex<Keys>>,
    jwks_fetches: Arc<AtomicUsize>,
    bad_discoveries: Arc<AtomicUsize>,
}

#[derive(Clone)]
pub struct IssuerState {
    base: String,
    keys: Arc<Mutex<Keys>>,
    jwks_fetches: Arc<AtomicUsize>,
    bad_discoveries: Arc<AtomicUsize>,
}

pub async fn issuer_route(
    State(state): State<IssuerState>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let path = uri.path();
    if path == "/broken/.well-known/openid-configuration" {
        state.bad_discoveries.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    if path == "/html/.well-known/openid-configuration" {
        state.bad_discoveries.fetch_add(1, Ordering::SeqCst);
        return axum::response::Html("<html><body>not an issuer</body></html>").into_response();
    }
    if let Some(prefix) = path.strip_suffix("/.well-known/openid-configuration") {
        let issuer = format!("{}{prefix}", state.base);
        return Json(json!({
            "issuer": issuer,
            "jwks_uri": format!("{}/jwks", state.base),
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }))
        .into_response();
    }
    if path == "/jwks" {
        state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
        let keys = state.keys.lock().unwrap();
        // Besides the signing keys, one the server must skip: an encryption key of a type
        // wharf does not use.
        return Json(json!({"keys": [keys.rsa.jwk, keys.ec.jwk,
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}]}))
        .into_response();
    }
    if path == "/github/token-request" {
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if bearer != format!("Bearer {GITHUB_REQUEST_TOKEN}")
            || query.get("api-version").map(String::as_str) != Some("2.0")
        {
            return StatusCode::FORBIDDEN.into_response();
        }
        let audience = query.get("audience").cloned().unwrap_or_default();
        let issuer = format!("{}/github", state.base);
        let claims = github_claims(&issuer, &audience, "acme/shop", "refs/heads/main");
        let keys = state.keys.lock().unwrap();
        return Json(json!({"count": 1, "value": sign(&keys.rsa, &claims)})).into_response();
    }
    StatusCode::NOT_FOUND.into_response()
}

impl Issuer {
    /// Serves on `runtime` (for tests that drive it from outside).
    pub fn start(runtime: &tokio::runtime::Runtime) -> Self {
        runtime.block_on(Self::serve())
    }

    /// Serves on the current runtime.
    pub async fn serve() -> Self {
        let keys = Arc::new(Mutex::new(Keys {
            rsa: rsa_key(1, "rsa-1"),
            ec: ec_key("ec-1"),
        }));
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let bad_discoveries = Arc::new(AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = IssuerState {
            base: base.clone(),
            keys: keys.clone(),
            jwks_fetches: jwks_fetches.clone(),
            bad_discoveries: bad_discoveries.clone(),
        };
        let app = Router::new().fallback(issuer_route).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base,
            keys,
            jwks_fetches,
            bad_discoveries,
        }
    }

    pub fn url(&self, ci: &str) -> String {
        format!("{}/{ci}", self.base)
    }

    /// Replaces both keys with new ones (new key ids); the old ones leave the JWKS.
    pub fn rotate(&self) {
        let mut keys = self.keys.lock().unwrap();
        *keys = Keys {
            rsa: rsa_key(2, "rsa-2"),
            ec: ec_key("ec-2"),
        };
    }

    pub fn sign_rsa(&self, claims: &Value) -> String {
        sign(&self.keys.lock().unwrap().rsa, claims)
    }

    pub fn sign_ec(&self, claims: &Value) -> String {
        sign(&self.keys.lock().unwrap().ec, claims)
    }

    /// Discovery requests to `/broken` and `/html`.
    pub fn bad_discoveries(&self) -> usize {
        self.bad_discoveries.load(Ordering::SeqCst)
    }

    pub fn fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }
}

pub fn unique() -> String {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", now(), N.fetch_add(1, Ordering::SeqCst))
}

/// GitHub Actions' claims (docs.github.com, "OpenID Connect reference").
pub fn github_claims(issuer: &str, audience: &str, repository: &str, git_ref: &str) -> Value {
    let t = now();
    json!({
        "jti": format!("gh-{}", unique()),
        "sub": format!("repo:{repository}:ref:{git_ref}"),
        "aud": audience,
        "ref": git_ref,
        "sha": "d6f1c4e0b6b5a7c1e9d2f3a4b5c6d7e8f9a0b1c2",
        "repository": repository,
        "repository_owner": "acme",
        "repository_owner_id": "65",
        "repository_id": "35",
        "repository_visibility": "private",
        "run_id": "12345678",
        "run_number": "42",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        "actor_id": "12",
        "actor": "octocat",
        "workflow": "build",
        "workflow_ref": format!("{repository}/.github/workflows/build.yml@{git_ref}"),
        "workflow_sha": "d6f1c4e0b6b5a7c1e9d2f3a4b5c6d7e8f9a0b1c2",
        "job_workflow_ref": format!("{repository}/.github/workflows/build.yml@{git_ref}"),
        "job_workflow_sha": "d6f1c4e0b6b5a7c1e9d2f3a4b5c6d7e8f9a0b1c2",
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_type": "branch",
        "ref_protected": "true",
        "environment": "production",
        "iss": issuer,
        "nbf": t - 5,
        "exp": t + 300,
        "iat": t - 5,
    })
}
