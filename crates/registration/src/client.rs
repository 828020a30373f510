//! The control-plane client: HTTP Basic, JSON, and retries that never duplicate a write.

use crate::error::{Error, Result};
use crate::secret::Secret;
use reqwest::{Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;
use wharf_api::project_file::{ApplySummary, ProjectFile};
use wharf_api::{
    Artifact, ArtifactCI, AuditEntry, CiArtifactResponse, ErrorDetails, Page, RegistrationType,
    Resolved, RoutingRuleResponse, SaasArtifactRequest, User,
};
use wharf_http_client::{
    Attempt, Replay, RetryPolicy, describe_transport, encode, is_retryable, retry_after,
};

/// Filters of `wharf builds`.
#[derive(Debug, Clone, Default)]
pub struct BuildQuery {
    pub routed_to: Option<String>,
    pub external_id: Option<String>,
    pub classified: Option<bool>,
    pub promoted: Option<bool>,
    pub limit: u32,
}

/// Header with which wharf's control plane says a registration already existed.
const REPLAYED_HEADER: &str = "wharf-replayed";

pub struct Client {
    http: reqwest::Client,
    base: String,
    username: String,
    token: Secret,
    retry: RetryPolicy,
}

impl Client {
    pub fn new(base: &str, username: &str, token: Secret, retry: RetryPolicy) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            username: username.to_string(),
            token,
            retry,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub async fn whoami(&self) -> Result<User> {
        self.get_json("/api/me").await
    }

    /// Registers; answers the stored build (`None` from a Facets server, which answers an empty
    /// 200) and whether the server already had it.
    pub async fn register(
        &self,
        request: &SaasArtifactRequest,
    ) -> Result<(Option<Artifact>, bool)> {
        let replay = if request.external_id.is_some() {
            Replay::Safe
        } else {
            Replay::Unsafe
        };
        let response = self
            .send(
                Method::POST,
                "/cc-ui/v1/ci-cd/register",
                Some(request),
                replay,
            )
            .await?;
        let replayed = response
            .headers()
            .get(REPLAYED_HEADER)
            .is_some_and(|v| v.as_bytes() == b"true");
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Error::Unavailable(format!("reading the registration answer: {e}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok((None, replayed));
        }
        let artifact = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Internal(format!("unreadable registration answer: {e}")))?;
        Ok((Some(artifact), replayed))
    }

    pub async fn builds(
        &self,
        project: &str,
        ci_name: &str,
        filter: &BuildQuery,
    ) -> Result<Vec<CiArtifactResponse>> {
        let mut path = format!(
            "/cc-ui/v1/artifacts-ci/{}/artifacts?stackName={}&limit={}",
            encode(ci_name),
            encode(project),
            filter.limit
        );
        let extra = [
            ("routedTo", filter.routed_to.clone()),
            ("externalId", filter.external_id.clone()),
            ("classified", filter.classified.map(|b| b.to_string())),
            ("promoted", filter.promoted.map(|b| b.to_string())),
        ];
        for (key, value) in extra {
            if let Some(value) = value {
                path.push_str(&format!("&{key}={}", encode(&value)));
            }
        }
        self.get_json(&path).await
    }

    /// Promotes one build to the next stage (the server promotes each build once, so a retry
    /// answers the same promotion).
    pub async fn promote(
        &self,
        project: &str,
        ci_name: &str,
        artifact_id: &str,
    ) -> Result<(Artifact, bool)> {
        let path = format!(
            "/cc-ui/v1/artifacts/promote?ciName={}&stackName={}&artifactId={}",
            encode(ci_name),
            encode(project),
            encode(artifact_id)
        );
        let response = self
            .send::<()>(Method::POST, &path, None, Replay::Safe)
            .await?;
        let replayed = response
            .headers()
            .get(REPLAYED_HEADER)
            .is_some_and(|v| v.as_bytes() == b"true");
        Ok((decode(response).await?, replayed))
    }

    /// Short-lived credentials for the project's registry repository of `application`.
    pub async fn push_credentials(
        &self,
        request: &wharf_api::PushCredentialsRequest,
    ) -> Result<wharf_api::PushCredentialsResponse> {
        let response = self
            .send(
                Method::POST,
                "/cc-ui/v1/ci-cd/pushCredentials",
                Some(request),
                Replay::Safe,
            )
            .await?;
        decode(response).await
    }

    /// `GET /cc-ui/v1/audit-logs` with these query pairs.
    pub async fn audit(&self, query: &[(&str, String)]) -> Result<Page<AuditEntry>> {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let page: Page<AuditEntry> = self
            .get_json(&format!("/cc-ui/v1/audit-logs?{}", pairs.join("&")))
            .await?;
        Ok(Page {
            content: page
                .content
                .into_iter()
                .map(AuditEntry::with_wharf_names)
                .collect(),
            ..page
        })
    }

    /// Creates a personal token (for `username` when given: server admins only); the answer
    /// is the only place the token ever appears.
    pub async fn create_token(
        &self,
        name: Option<&str>,
        username: Option<&str>,
        expires_in_days: Option<u32>,
    ) -> Result<serde_json::Value> {
        let body = serde_json::json!({"name": name, "username": username, "expiresInDays": expires_in_days});
        let response = self
            .send(
                Method::POST,
                "/wharf/v1/tokens",
                Some(&body),
                Replay::Unsafe,
            )
            .await?;
        decode(response).await
    }

    pub async fn list_tokens(&self, username: Option<&str>) -> Result<serde_json::Value> {
        let path = match username {
            Some(user) => format!("/wharf/v1/tokens?username={}", encode(user)),
            None => "/wharf/v1/tokens".to_string(),
        };
        self.get_json(&path).await
    }

    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        let path = format!("/wharf/v1/tokens/{}", encode(id));
        self.send::<()>(Method::DELETE, &path, None, Replay::Safe)
            .await?;
        Ok(())
    }

    pub async fn resolve(
        &self,
        project: &str,
        environment: &str,
        ci_name: &str,
    ) -> Result<Resolved> {
        let path = format!(
            "/wharf/v1/resolve?stackName={}&environment={}&ciName={}",
            encode(project),
            encode(environment),
            encode(ci_name)
        );
        self.get_json(&path).await
    }

    pub async fn ci(&self, project: &str, ci_name: &str) -> Result<ArtifactCI> {
        let path = format!(
            "/cc-ui/v1/artifacts-ci/name/{}?stackName={}",
            encode(ci_name),
            encode(project)
        );
        self.get_json(&path).await
    }

    pub async fn rules(
        &self,
        project: &str,
        kind: RegistrationType,
    ) -> Result<Vec<RoutingRuleResponse>> {
        let path = format!(
            "/cc-ui/v1/artifact-routing-rule?stackName={}&registrationType={}",
            encode(project),
            kind.as_str()
        );
        self.get_json(&path).await
    }

    pub async fn apply(&self, file: &ProjectFile) -> Result<ApplySummary> {
        let path = format!("/wharf/v1/projects/{}", encode(&file.project.name));
        let response = self
            .send(Method::PUT, &path, Some(file), Replay::Safe)
            .await?;
        decode(response).await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self
            .send::<()>(Method::GET, path, None, Replay::Safe)
            .await?;
        decode(response).await
    }

    /// The retry policy this client was built with; a push to the control plane's registry
    /// retries by it too.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Sends with retries; answers the first success or a classified error.
    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        replay: Replay,
    ) -> Result<reqwest::Response> {
        let url = format!("{}{path}", self.base);
        self.retry
            .run(|made| self.attempt(method.clone(), &url, body, replay, made))
            .await
    }

    /// Attempt number `made`: its answer, a classified error, or why to try again.
    async fn attempt<B: Serialize>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        replay: Replay,
        made: u32,
    ) -> Attempt<reqwest::Response, Error> {
        let retry = |why: String, after| Attempt::Retry {
            last: Err(Error::Unavailable(format!(
                "control plane {} failed {made} times; last: {why}",
                self.base
            ))),
            why,
            after,
        };
        let mut request = self
            .http
            .request(method, url)
            .basic_auth(&self.username, Some(self.token.expose()))
            .header(header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return match transport_failure(&error, replay) {
                    Ok(why) => retry(why, None),
                    Err(error) => Attempt::Done(Err(error)),
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            return Attempt::Done(Ok(response));
        }
        let after = retry_after(response.headers());
        let message = error_message(response).await;
        if is_retryable(status, replay) {
            return retry(format!("HTTP {status}: {message}"), after);
        }
        Attempt::Done(Err(classify(status, message)))
    }
}

/// Why to try again after a failed request, or the error when a retry could apply a write
/// twice.
fn transport_failure(error: &reqwest::Error, replay: Replay) -> Result<String> {
    // Never echo the URL's query or anything else from reqwest beyond its kind and cause.
    let why = describe_transport(error);
    if error.is_connect() || replay == Replay::Safe {
        Ok(why)
    } else {
        Err(Error::Unavailable(format!(
            "{why}; not retried because the request may have reached the control plane and it \
             carries no external id to deduplicate it (pass --external-id to make it safe)"
        )))
    }
}

async fn error_message(response: reqwest::Response) -> String {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorDetails>(&text) {
        Ok(details) => details.message,
        Err(_) if !text.trim().is_empty() && text.len() < 500 => text.trim().to_string(),
        Err(_) => status.canonical_reason().unwrap_or("error").to_string(),
    }
}

fn classify(status: StatusCode, message: String) -> Error {
    match status.as_u16() {
        401 => Error::Auth(
            "the control plane refused the credentials (401): check WHARF_USERNAME and the \
             token in WHARF_TOKEN or --token-file"
                .into(),
        ),
        403 => Error::Auth(format!("permission denied (403): {message}")),
        404 => Error::NotFound(message),
        409 => Error::Conflict(message),
        500..=599 => Error::Unavailable(format!("control plane error ({status}): {message}")),
        _ => Error::Rejected(format!(
            "control plane refused the request ({status}): {message}"
        )),
    }
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::Unavailable(format!("reading the answer: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Internal(format!("unreadable answer from the control plane: {e}")))
}
