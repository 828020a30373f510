//! A registry client: the distribution endpoints a copy needs, with the auth challenge
//! answered (Basic, or a Bearer token fetched from the realm and cached per scope), and
//! retries of 408, 429, 5xx and dropped connections for requests that can be sent again, by the
//! [`RetryPolicy`] the control-plane client uses too.

use crate::digest::Digest;
use crate::media::ACCEPTED;
use crate::reference::is_loopback_registry;
use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use reqwest::{Method, RequestBuilder, Response, StatusCode, header};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wharf_http::{
    Attempt, Replay, RetryPolicy, describe_transport, encode, is_retryable, retry_after,
};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry {host}: {message}")]
    Refused {
        host: String,
        status: u16,
        message: String,
    },
    #[error("registry {host}: the credentials were refused (401); check the username and password")]
    Unauthorized { host: String },
    #[error("registry {host}: {message}")]
    Transport { host: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// A username and password (or token) for a registry; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

impl RegistryError {
    /// Another attempt may succeed: the registry was unreachable or answered a 5xx (a 503
    /// says it did nothing). A blob upload is content-addressed, so it is safe to repeat.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Refused { status, .. } => {
                StatusCode::from_u16(*status).is_ok_and(|status| is_retryable(status, Replay::Safe))
            }
            _ => false,
        }
    }
}

/// How to reach a registry: three separate, explicit choices, never implied by one another.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    /// Trust this PEM bundle besides the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// Skip TLS verification entirely.
    pub insecure_skip_tls_verify: bool,
    /// Speak plain HTTP (always allowed for loopback registries, as Docker allows).
    pub plain_http: bool,
}

pub struct RegistryClient {
    http: reqwest::Client,
    host: String,
    base: String,
    credentials: Option<Credentials>,
    tokens: Mutex<HashMap<String, String>>,
    retry: RetryPolicy,
}

/// Most pages of one subject's referrers a copy reads.
const MAX_REFERRER_PAGES: usize = 64;

/// The path of a `Link: <…>; rel="next"` header (same host only).
fn next_link(value: &str) -> Option<String> {
    let (target, params) = value.split_once(';')?;
    if !params.replace(' ', "").contains("rel=\"next\"") {
        return None;
    }
    let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
    target.starts_with('/').then(|| target.to_string())
}

/// The parameters of a `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge.
fn challenge_params(value: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    let rest = value.split_once(' ').map_or("", |(_, rest)| rest);
    let mut remaining = rest;
    while let Some((key, after)) = remaining.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (val, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (&quoted[..end], &quoted[(end + 1).min(quoted.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.insert(key, val.to_string());
        remaining = next;
    }
    params
}

impl RegistryClient {
    pub fn new(
        host: &str,
        transport: &Transport,
        credentials: Option<Credentials>,
    ) -> Result<Self, RegistryError> {
        wharf_http::install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &transport.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                RegistryError::Invalid(format!("cannot read --ca-file {}: {e}", path.display()))
            })?;
            for certificate in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| RegistryError::Invalid(format!("--ca-file {}: {e}", path.display())))?
            {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if transport.insecure_skip_tls_verify {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let scheme = if transport.plain_http || is_loopback_registry(host) {
            "http"
        } else {
            "https"
        };
        let http = builder
            .build()
            .map_err(|e| RegistryError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            host: host.to_string(),
            base: format!("{scheme}://{host}"),
            credentials,
            tokens: Mutex::new(HashMap::new()),
            retry: RetryPolicy::default(),
        })
    }

    /// Retries by `policy` instead of the default one (`WHARF_RETRIES` reaches a push here).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// How hard this client tries.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn transport_error(&self, error: reqwest::Error) -> RegistryError {
        RegistryError::Transport {
            host: self.host.clone(),
            message: describe_transport(&error),
        }
    }

    fn authorize(&self, request: RequestBuilder, scope: &str) -> RequestBuilder {
        if let Some(token) = self.tokens.lock().ok().and_then(|t| t.get(scope).cloned()) {
            return request.bearer_auth(token);
        }
        match &self.credentials {
            Some(c) if self.tokens.lock().map(|t| t.is_empty()).unwrap_or(true) => {
                request.basic_auth(&c.username, Some(&c.password))
            }
            _ => request,
        }
    }

    /// Fetches a Bearer token for `scope` from the challenge's realm.
    async fn fetch_token(&self, challenge: &str, scope: &str) -> Result<(), RegistryError> {
        let params = challenge_params(challenge);
        let realm = params.get("realm").ok_or_else(|| {
            RegistryError::Invalid(format!(
                "registry {}: Bearer challenge without a realm",
                self.host
            ))
        })?;
        let mut url = format!(
            "{realm}{}scope={}",
            if realm.contains('?') { '&' } else { '?' },
            encode(scope)
        );
        if let Some(service) = params.get("service") {
            url.push_str(&format!("&service={}", encode(service)));
        }
        let mut request = self.http.get(url);
        if let Some(c) = &self.credentials {
            request = request.basic_auth(&c.username, Some(&c.password));
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        if !response.status().is_success() {
            return Err(RegistryError::Unauthorized {
                host: self.host.clone(),
            });
        }
        let body: serde_json::Value = response.json().await.map_err(|e| self.transport_error(e))?;
        let token = body["token"]
            .as_str()
            .or(body["access_token"].as_str())
            .ok_or_else(|| {
                RegistryError::Invalid(format!(
                    "registry {}: the token answer has no token",
                    self.host
                ))
            })?;
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(scope.to_string(), token.to_string());
        }
        Ok(())
    }

    /// Sends a request that can be sent again (no streaming body), answering the auth
    /// challenge once and retrying 408, 429, 5xx and dropped connections by the retry policy.
    /// When the attempts are spent on error answers, the last answer is returned.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let challenged = AtomicBool::new(false);
        self.retry
            .run(|_| self.attempt(&method, path, scope, &build, &challenged))
            .await
    }

    /// One attempt of [`Registry::send`]; a 401 is answered (once per send) within it.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        scope: &str,
        build: &impl Fn(RequestBuilder) -> RequestBuilder,
        challenged: &AtomicBool,
    ) -> Attempt<Response, RegistryError> {
        let request =
            || build(self.authorize(self.http.request(method.clone(), self.url(path)), scope));
        let dropped = |error: reqwest::Error| Attempt::Retry {
            why: describe_transport(&error),
            after: None,
            last: Err(self.transport_error(error)),
        };
        let mut response = match request().send().await {
            Ok(response) => response,
            Err(error) => return dropped(error),
        };
        if response.status() == StatusCode::UNAUTHORIZED && !challenged.swap(true, Ordering::SeqCst)
        {
            let challenge = response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let bearer = challenge.to_ascii_lowercase().starts_with("bearer");
            if bearer && let Err(error) = self.fetch_token(&challenge, scope).await {
                return Attempt::Done(Err(error));
            }
            if self.credentials.is_some() || bearer {
                response = match request().send().await {
                    Ok(response) => response,
                    Err(error) => return dropped(error),
                };
            }
        }
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Attempt::Done(Err(RegistryError::Unauthorized {
                host: self.host.clone(),
            }));
        }
        if is_retryable(status, Replay::Safe) {
            return Attempt::Retry {
                why: format!("registry {}: HTTP {status}", self.host),
                after: retry_after(response.headers()),
                last: Ok(response),
            };
        }
        Attempt::Done(Ok(response))
    }

    async fn refused(&self, response: Response) -> RegistryError {
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                let error = &v["errors"][0];
                Some(format!(
                    "{} ({})",
                    error["message"].as_str()?,
                    error["code"].as_str().unwrap_or("?")
                ))
            })
            .unwrap_or_else(|| format!("HTTP {status}"));
        RegistryError::Refused {
            host: self.host.clone(),
            status,
            message,
        }
    }

    fn pull_scope(repository: &str) -> String {
        format!("repository:{repository}:pull")
    }

    fn push_scope(repository: &str) -> String {
        format!("repository:{repository}:pull,push")
    }

    /// Checks the registry answers and the credentials are accepted.
    pub async fn ping(&self) -> Result<(), RegistryError> {
        let response = self.send(Method::GET, "/v2/", "", |r| r).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.refused(response).await)
        }
    }

    /// A manifest's media type and bytes, or `None` when absent.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<(String, Bytes)>, RegistryError> {
        let scope = Self::pull_scope(repository);
        let found = self.fetch_manifest(repository, reference, &scope).await?;
        Ok(found.map(|(media_type, bytes, _)| (media_type, bytes)))
    }

    /// A manifest's media type, bytes and `ETag`, read with `scope`; `None` when absent.
    async fn fetch_manifest(
        &self,
        repository: &str,
        reference: &str,
        scope: &str,
    ) -> Result<Option<(String, Bytes, Option<String>)>, RegistryError> {
        let path = format!("/v2/{repository}/manifests/{reference}");
        let response = self
            .send(Method::GET, &path, scope, |r| {
                r.header(header::ACCEPT, ACCEPTED.join(", "))
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(self.refused(response).await);
        }
        let header_text = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let media_type = header_text(header::CONTENT_TYPE).unwrap_or_default();
        let etag = header_text(header::ETAG);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        Ok(Some((media_type, bytes, etag)))
    }

    /// The digest a destination holds under `reference`, when it has one.
    pub async fn manifest_digest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Digest>, RegistryError> {
        let path = format!("/v2/{repository}/manifests/{reference}");
        let response = self
            .send(Method::HEAD, &path, &Self::push_scope(repository), |r| {
                r.header(header::ACCEPT, ACCEPTED.join(", "))
            })
            .await?;
        if !response.status().is_success() {
            return Ok(None);
        }
        Ok(response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()))
    }

    /// Stores a manifest under `reference`; answers the `OCI-Subject` the registry sent back
    /// (a registry with the referrers API names the subject it indexed the manifest under).
    pub async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &Bytes,
    ) -> Result<Option<String>, RegistryError> {
        self.put_manifest_if(repository, reference, media_type, bytes, None)
            .await
            .map(|(subject, _)| subject)
    }

    /// [`Self::put_manifest`], sent only if the registry's current manifest under `reference`
    /// still has `etag` (`If-Match`), or there is none (`If-None-Match: *`) when `etag` is
    /// `Some("")`. The second value is `false` when the registry answered 412: another
    /// writer changed it first.
    pub async fn put_manifest_if(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &Bytes,
        etag: Option<&str>,
    ) -> Result<(Option<String>, bool), RegistryError> {
        let path = format!("/v2/{repository}/manifests/{reference}");
        let response = self
            .send(Method::PUT, &path, &Self::push_scope(repository), |r| {
                let r = match etag {
                    Some("") => r.header(header::IF_NONE_MATCH, "*"),
                    Some(etag) => r.header(header::IF_MATCH, etag),
                    None => r,
                };
                r.header(header::CONTENT_TYPE, media_type)
                    .body(bytes.clone())
            })
            .await?;
        if response.status() == StatusCode::PRECONDITION_FAILED {
            return Ok((None, false));
        }
        if !response.status().is_success() {
            return Err(self.refused(response).await);
        }
        let subject = response
            .headers()
            .get("oci-subject")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok((subject, true))
    }

    /// A manifest with its `ETag` (for a conditional update, so read with push rights), or
    /// `None` when absent.
    pub async fn manifest_with_etag(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<(String, Bytes, Option<String>)>, RegistryError> {
        let scope = Self::push_scope(repository);
        self.fetch_manifest(repository, reference, &scope).await
    }

    /// The pages of the referrers API's index of `digest`'s referrers (its `Link` followed),
    /// or `None` when the registry does not serve the API (it answers 404, or something that
    /// is not an image index).
    pub async fn referrers(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<Vec<Bytes>>, RegistryError> {
        let mut path = format!("/v2/{repository}/referrers/{digest}");
        let mut pages = Vec::new();
        for _ in 0..MAX_REFERRER_PAGES {
            let response = self
                .send(Method::GET, &path, &Self::pull_scope(repository), |r| {
                    r.header(header::ACCEPT, crate::media::OCI_INDEX)
                })
                .await?;
            let is_index = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(crate::media::OCI_INDEX));
            if !response.status().is_success() || !is_index {
                return Ok((!pages.is_empty()).then_some(pages));
            }
            let next = response
                .headers()
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            pages.push(
                response
                    .bytes()
                    .await
                    .map_err(|e| self.transport_error(e))?,
            );
            match next {
                Some(next) => path = next,
                None => break,
            }
        }
        Ok(Some(pages))
    }

    /// The size of a blob in a repository, when it is there.
    pub async fn blob_size(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<u64>, RegistryError> {
        let path = format!("/v2/{repository}/blobs/{digest}");
        let response = self
            .send(Method::HEAD, &path, &Self::push_scope(repository), |r| r)
            .await?;
        if !response.status().is_success() {
            return Ok(None);
        }
        Ok(response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()))
    }

    /// A blob's bytes as a stream.
    pub async fn blob(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static, RegistryError>
    {
        let path = format!("/v2/{repository}/blobs/{digest}");
        let response = self
            .send(Method::GET, &path, &Self::pull_scope(repository), |r| r)
            .await?;
        if !response.status().is_success() {
            return Err(self.refused(response).await);
        }
        Ok(response.bytes_stream().map_err(std::io::Error::other))
    }

    /// Asks the registry to mount `digest` from `from`; `true` when it did (no bytes needed).
    pub async fn mount(
        &self,
        repository: &str,
        digest: &Digest,
        from: &str,
    ) -> Result<bool, RegistryError> {
        let path = format!("/v2/{repository}/blobs/uploads/?mount={digest}&from={from}");
        let scope = format!("{} repository:{from}:pull", Self::push_scope(repository));
        let response = self.send(Method::POST, &path, &scope, |r| r).await?;
        match response.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                // A session was opened instead: cancel it, the caller uploads.
                if let Some(location) = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                {
                    let location = self.resolve_location(location);
                    let _ = self
                        .send(
                            Method::DELETE,
                            &location,
                            &Self::push_scope(repository),
                            |r| r,
                        )
                        .await;
                }
                Ok(false)
            }
            _ => Err(self.refused(response).await),
        }
    }

    fn resolve_location(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{}", self.base, location)
        }
    }

    /// Uploads a blob: opens a session, then streams the whole body in one `PUT ?digest=`.
    /// A failed upload cancels its session.
    pub async fn upload<S>(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        body: S,
    ) -> Result<(), RegistryError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let scope = Self::push_scope(repository);
        let (location, _) = self.open_upload(repository, &scope).await?;
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={digest}");
        let request = self
            .authorize(self.http.put(&url), &scope)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(body));
        let outcome = match request.send().await {
            Ok(response) if response.status() == StatusCode::CREATED => return Ok(()),
            Ok(response) => self.refused(response).await,
            Err(error) => self.transport_error(error),
        };
        let _ = self.send(Method::DELETE, &location, &scope, |r| r).await;
        Err(outcome)
    }
}

/// The smallest chunk a chunked upload halves down to after 413 answers.
const SMALLEST_CHUNK: usize = 64 * 1024;

impl RegistryClient {
    /// Opens an upload session; answers its location and the registry's smallest chunk.
    async fn open_upload(
        &self,
        repository: &str,
        scope: &str,
    ) -> Result<(String, usize), RegistryError> {
        let path = format!("/v2/{repository}/blobs/uploads/");
        let opened = self
            .send(Method::POST, &path, scope, |r| {
                r.header(header::CONTENT_LENGTH, "0")
            })
            .await?;
        if opened.status() != StatusCode::ACCEPTED {
            return Err(self.refused(opened).await);
        }
        let min_chunk = opened
            .headers()
            .get("oci-chunk-min-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let location = self.location_of(&opened)?;
        Ok((location, min_chunk))
    }

    fn location_of(&self, response: &Response) -> Result<String, RegistryError> {
        response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| self.resolve_location(l))
            .ok_or_else(|| {
                RegistryError::Invalid(format!("registry {}: upload without a Location", self.host))
            })
    }

    /// Uploads a blob in `PATCH` chunks of about `chunk_size` bytes, for a registry (or a proxy
    /// in front of it) that refuses a whole blob in one request. A chunk refused as too large
    /// (413) is halved and sent again, down to 64 KiB or the registry's minimum. At most one
    /// chunk is held in memory. A failed session is cancelled.
    pub async fn upload_chunked<S>(
        &self,
        repository: &str,
        digest: &Digest,
        body: S,
        chunk_size: usize,
    ) -> Result<(), RegistryError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let scope = Self::push_scope(repository);
        let (mut location, min_chunk) = self.open_upload(repository, &scope).await?;
        let result = self
            .send_chunks(
                &mut location,
                &scope,
                body,
                chunk_size.max(min_chunk),
                min_chunk,
            )
            .await;
        let result = match result {
            Ok(()) => self.close_upload(&location, &scope, digest).await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            let _ = self.send(Method::DELETE, &location, &scope, |r| r).await;
        }
        result
    }

    async fn send_chunks<S>(
        &self,
        location: &mut String,
        scope: &str,
        body: S,
        mut chunk_size: usize,
        min_chunk: usize,
    ) -> Result<(), RegistryError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let mut body = Box::pin(body);
        let mut pending = bytes::BytesMut::new();
        let mut offset = 0u64;
        let mut ended = false;
        while !ended || !pending.is_empty() {
            while !ended && pending.len() < chunk_size {
                match body.try_next().await {
                    Ok(Some(bytes)) => pending.extend_from_slice(&bytes),
                    Ok(None) => ended = true,
                    Err(e) => {
                        return Err(RegistryError::Transport {
                            host: self.host.clone(),
                            message: format!("reading the source: {e}"),
                        });
                    }
                }
            }
            let take = pending.len().min(chunk_size);
            let chunk = pending.split_to(take).freeze();
            let end = offset + chunk.len() as u64 - 1;
            let response = self
                .send(Method::PATCH, location, scope, |r| {
                    r.header(header::CONTENT_TYPE, "application/octet-stream")
                        .header(header::CONTENT_LENGTH, chunk.len())
                        .header(header::CONTENT_RANGE, format!("{offset}-{end}"))
                        .body(chunk.clone())
                })
                .await?;
            match response.status() {
                StatusCode::ACCEPTED => {
                    *location = self.location_of(&response)?;
                    offset = end + 1;
                }
                StatusCode::PAYLOAD_TOO_LARGE
                    if chunk_size / 2 >= SMALLEST_CHUNK.max(min_chunk) =>
                {
                    chunk_size /= 2;
                    let mut again = bytes::BytesMut::from(chunk.as_ref());
                    again.extend_from_slice(&pending);
                    pending = again;
                }
                _ => return Err(self.refused(response).await),
            }
        }
        Ok(())
    }

    async fn close_upload(
        &self,
        location: &str,
        scope: &str,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={digest}");
        let closed = self
            .send(Method::PUT, &url, scope, |r| {
                r.header(header::CONTENT_LENGTH, "0")
            })
            .await?;
        if closed.status() == StatusCode::CREATED {
            Ok(())
        } else {
            Err(self.refused(closed).await)
        }
    }
}

/// Whether a refused monolithic upload may go through in chunks: the body was too large for
/// the registry or a proxy in front of it, or the registry does not take a blob in one PUT.
pub fn wants_chunks(error: &RegistryError) -> bool {
    matches!(
        error,
        RegistryError::Refused {
            status: 405 | 411 | 413 | 501,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_read() {
        let params = challenge_params(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull""#,
        );
        assert_eq!(params["realm"], "https://auth.example.com/token");
        assert_eq!(params["service"], "registry.example.com");
        assert_eq!(params["scope"], "repository:a/b:pull");
    }

    #[test]
    fn loopback_registries_use_plain_http_others_https() {
        let transport = Transport::default();
        assert_eq!(
            RegistryClient::new("127.0.0.1:5000", &transport, None)
                .unwrap()
                .base,
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            RegistryClient::new("localhost:5000", &transport, None)
                .unwrap()
                .base,
            "http://localhost:5000"
        );
        assert_eq!(
            RegistryClient::new("ghcr.io", &transport, None)
                .unwrap()
                .base,
            "https://ghcr.io"
        );
        let plain = Transport {
            plain_http: true,
            ..Default::default()
        };
        assert_eq!(
            RegistryClient::new("10.0.0.5:5000", &plain, None)
                .unwrap()
                .base,
            "http://10.0.0.5:5000"
        );
        let secret = Credentials {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    /// A registry on loopback that answers the n-th request with the n-th of `statuses` (the
    /// last one from then on), each with `Retry-After: 0`, and counts the requests.
    async fn scripted_registry(
        statuses: Vec<u16>,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let status = statuses[n.min(statuses.len() - 1)];
                let answer = format!(
                    "HTTP/1.1 {status} Scripted\r\nContent-Length: 0\r\nRetry-After: 0\r\n\
                     Connection: close\r\n\r\n"
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (host, count)
    }

    #[tokio::test]
    async fn the_registry_client_makes_the_shared_policys_attempts() {
        let (host, count) = scripted_registry(vec![503]).await;
        let env = [("WHARF_RETRIES".to_string(), "3".to_string())].into();
        let policy = RetryPolicy {
            // A backoff this long would stall the test: Retry-After: 0 must win.
            base_delay: Duration::from_secs(20),
            ..RetryPolicy::from_env(&env)
        };
        let registry = RegistryClient::new(&host, &Transport::default(), None)
            .unwrap()
            .with_retry(policy);
        let started = std::time::Instant::now();
        let error = registry.ping().await.unwrap_err();
        assert!(
            matches!(error, RegistryError::Refused { status: 503, .. }),
            "{error}"
        );
        assert_eq!(count.load(Ordering::SeqCst), 3, "WHARF_RETRIES=3 attempts");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "Retry-After: 0 is honoured"
        );
    }

    #[tokio::test]
    async fn the_registry_client_stops_retrying_at_the_first_answer() {
        let (host, count) = scripted_registry(vec![503, 429, 200]).await;
        let registry = RegistryClient::new(&host, &Transport::default(), None).unwrap();
        registry.ping().await.unwrap();
        assert_eq!(count.load(Ordering::SeqCst), 3);
    }
}
