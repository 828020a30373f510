//! The control-plane client: HTTP Basic, JSON, and retries that never duplicate a write.

use crate::error::{Error, Result};
use crate::secret::Secret;
use reqwest::{Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use wharf_api::project_file::{ApplySummary, ProjectFile};
use wharf_api::{
    Artifact, ArtifactCI, AuditEntry, CiArtifactResponse, ErrorDetails, Page, PromotionRequest,
    RegistrationType, Resolved, RoutePreview, SaasArtifactRequest, User,
};
use wharf_http::{
    Attempt, Replay, RetryPolicy, describe_transport, encode, is_retryable, retry_after,
};

/// Filters of `wharf builds`.
#[derive(Debug, Clone, Default)]
pub struct BuildQuery {
    pub routed_to: Option<String>,
    pub external_id: Option<String>,
    pub classified: Option<bool>,
    pub promoted: Option<bool>,
    /// How many to list; 0: the control plane's default.
    pub limit: u32,
}

/// Header with which wharf's control plane says a registration already existed.
const REPLAYED_HEADER: &str = "wharf-replayed";

/// What a promotion or rollback call answered.
#[derive(Debug, Clone)]
pub enum PromoteAnswer {
    /// The build placed, and whether it already was.
    Placed(Box<Artifact>, bool),
    /// A protected stage: the request waiting for approvals.
    Pending(Box<PromotionRequest>),
}

/// What a registration call answered.
#[derive(Debug, Clone)]
pub struct RegisterAnswer {
    pub artifact: Option<Artifact>,
    /// The control plane already had this build and wrote nothing.
    pub replayed: bool,
    /// Why the answer of a registration that was made could not be read.
    pub unreadable: Option<String>,
}

/// Where a build sits: its bucket's name, or, when only an environment's id is known, the id
/// and why its name is not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub name: Option<String>,
    pub environment_id: Option<String>,
    pub unreadable: Option<String>,
}

impl Placement {
    fn named(name: &str) -> Self {
        Self {
            name: Some(name.to_string()),
            ..Self::default()
        }
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    username: String,
    token: Secret,
    retry: RetryPolicy,
    /// Environment id → name, read once per run.
    environment_names: Mutex<HashMap<String, String>>,
}

impl Client {
    pub fn new(base: &str, username: &str, token: Secret, retry: RetryPolicy) -> Result<Self> {
        wharf_http::install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")));
        if base.starts_with("http://") {
            // No TLS on this connection: skip reading the system's CA certificates, which
            // took 8 of the 11 ms a `wharf whoami` spent against a loopback server.
            builder = builder.tls_certs_only(Vec::<reqwest::Certificate>::new());
        }
        let http = builder
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            username: username.to_string(),
            token,
            retry,
            environment_names: Mutex::default(),
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
    /// Sends a registration. A 2xx is a registration made, whatever its body: an empty 200
    /// (Facets) or an answer this client cannot read leaves `artifact` empty, and an unreadable
    /// one says why in `unreadable`, so the caller can still report the build as registered.
    /// With `require_route` (`wharf serve` only), the server refuses an unclassified build
    /// with `NOT_ROUTED` and stores nothing.
    pub async fn register(
        &self,
        request: &SaasArtifactRequest,
        require_route: bool,
    ) -> Result<RegisterAnswer> {
        let replay = if request.external_id.is_some() {
            Resend::Safe
        } else {
            Resend::Unsafe(
                "it carries no external id to deduplicate it: pass --external-id to make a \
                 retry safe, and see with `wharf builds` whether it was registered",
            )
        };
        let path = match require_route {
            true => "/cc-ui/v1/ci-cd/register?requireRoute=true",
            false => "/cc-ui/v1/ci-cd/register",
        };
        let response = self.send(Method::POST, path, Some(request), replay).await?;
        Ok(read_registered(response).await)
    }

    pub async fn builds(
        &self,
        project: &str,
        ci_name: &str,
        filter: &BuildQuery,
    ) -> Result<Vec<CiArtifactResponse>> {
        let mut path = format!(
            "/cc-ui/v1/artifacts-ci/{}/artifacts?stackName={}",
            encode(ci_name),
            encode(project),
        );
        if filter.limit > 0 {
            path.push_str(&format!("&limit={}", filter.limit));
        }
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
        let mut builds: Vec<CiArtifactResponse> = self.get_json(&path).await?;
        for build in &mut builds {
            if build.routed_to.is_none() {
                let placed = self
                    .placement(
                        build.classified,
                        build.registration_type,
                        build.registration_value.as_deref(),
                        None,
                    )
                    .await;
                build.routed_to = placed.name;
            }
        }
        Ok(builds)
    }

    /// An environment's name from its id (`GET /cc-ui/v1/clusters/{id}`), read once per id
    /// for the life of this client.
    pub async fn environment_name(&self, id: &str) -> Result<String> {
        if let Some(name) = self.lock_names().get(id) {
            return Ok(name.clone());
        }
        let cluster: ClusterName = self
            .get_json(&format!("/cc-ui/v1/clusters/{}", encode(id)))
            .await?;
        self.lock_names()
            .insert(id.to_string(), cluster.name.clone());
        Ok(cluster.name)
    }

    fn lock_names(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.environment_names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Where a build sits, by name. `named` is the name when the answer gave one (wharf
    /// serve's do); else a stream bucket's value is its name, and an environment bucket's is
    /// the environment's id (Facets'), turned into its name through the clusters endpoint.
    /// When that read fails, the id is kept and the reason said.
    pub async fn placement(
        &self,
        classified: bool,
        kind: Option<RegistrationType>,
        value: Option<&str>,
        named: Option<&str>,
    ) -> Placement {
        if !classified {
            return Placement::default();
        }
        if let Some(name) = named {
            return Placement::named(name);
        }
        let Some(value) = value else {
            return Placement::default();
        };
        if kind == Some(RegistrationType::ReleaseStream) {
            return Placement::named(value);
        }
        match self.environment_name(value).await {
            Ok(name) => Placement::named(&name),
            Err(e) => Placement {
                name: None,
                environment_id: Some(value.to_string()),
                unreadable: Some(format!(
                    "the name of environment id '{value}' could not be read: {e}"
                )),
            },
        }
    }

    /// Promotes one build to the next stage (the server promotes each build once, so a retry
    /// answers the same promotion). Into a protected stage the server answers 202 with the
    /// pending request's id instead.
    pub async fn promote(
        &self,
        project: &str,
        ci_name: &str,
        artifact_id: &str,
    ) -> Result<PromoteAnswer> {
        let path = format!(
            "/cc-ui/v1/artifacts/promote?ciName={}&stackName={}&artifactId={}",
            encode(ci_name),
            encode(project),
            encode(artifact_id)
        );
        let response = self
            .send::<()>(Method::POST, &path, None, Resend::Safe)
            .await?;
        self.placed_or_pending(response).await
    }

    /// A 200 with the build placed, or a 202 naming the request that waits for approvals.
    async fn placed_or_pending(&self, response: reqwest::Response) -> Result<PromoteAnswer> {
        let pending = response
            .headers()
            .get(wharf_api::PROMOTION_REQUEST_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if let Some(id) = pending.filter(|_| response.status() == reqwest::StatusCode::ACCEPTED) {
            return Ok(PromoteAnswer::Pending(Box::new(
                self.promotion_request(&id).await?,
            )));
        }
        let replayed = response
            .headers()
            .get(REPLAYED_HEADER)
            .is_some_and(|v| v.as_bytes() == b"true");
        Ok(PromoteAnswer::Placed(
            Box::new(decode(response).await?),
            replayed,
        ))
    }

    /// One promotion request, in whatever state.
    pub async fn promotion_request(&self, id: &str) -> Result<PromotionRequest> {
        self.get_json(&format!("/wharf/v1/approvals/{}", encode(id)))
            .await
    }

    /// Pending promotion requests, of one project or all.
    pub async fn pending_approvals(&self, project: Option<&str>) -> Result<Vec<PromotionRequest>> {
        let path = match project {
            Some(project) => format!("/wharf/v1/approvals?project={}", encode(project)),
            None => "/wharf/v1/approvals".to_string(),
        };
        self.get_json(&path).await
    }

    /// One request, open or closed.
    pub async fn approval(&self, id: &str) -> Result<PromotionRequest> {
        self.get_json(&format!("/wharf/v1/approvals/{}", encode(id)))
            .await
    }

    /// Approves a request (approving twice counts once, so a retry is safe).
    pub async fn approve(&self, id: &str) -> Result<PromotionRequest> {
        let path = format!("/wharf/v1/approvals/{}/approve", encode(id));
        let response = self
            .send::<()>(Method::POST, &path, None, Resend::Safe)
            .await?;
        decode(response).await
    }

    /// Rejects a request with the reason; it closes.
    pub async fn reject(&self, id: &str, reason: &str) -> Result<PromotionRequest> {
        let path = format!("/wharf/v1/approvals/{}/reject", encode(id));
        let body = serde_json::json!({ "reason": reason });
        let response = self
            .send(Method::POST, &path, Some(&body), Resend::Safe)
            .await?;
        decode(response).await
    }

    /// Points an environment back at its previous build (or `to`).
    pub async fn rollback(
        &self,
        project: &str,
        service: &str,
        environment: &str,
        to: Option<&str>,
    ) -> Result<PromoteAnswer> {
        let body = serde_json::json!({
            "project": project, "service": service, "environment": environment, "to": to
        });
        let response = self
            .send(
                Method::POST,
                "/wharf/v1/rollback",
                Some(&body),
                Resend::Unsafe(
                    "the rollback may have been made: see with `wharf resolve` what the \
                     environment deploys now before asking again",
                ),
            )
            .await?;
        self.placed_or_pending(response).await
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
                Resend::Safe,
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
                Resend::Unsafe(
                    "a token may have been created, and its value is shown only once: see \
                     with `wharf token list` whether it was, revoke it with `wharf token revoke \
                     ID` if so, and create another",
                ),
            )
            .await?;
        decode(response).await
    }

    /// Collects the built-in registry's garbage (`wharf gc`); answers what went, or (a dry
    /// run) would go: objects and bytes.
    pub async fn gc(&self, dry_run: bool, grace_secs: Option<u64>) -> Result<serde_json::Value> {
        let mut path = format!("/wharf/v1/gc?dryRun={dry_run}");
        if let Some(grace) = grace_secs {
            path.push_str(&format!("&graceSeconds={grace}"));
        }
        let response = self
            .send::<()>(Method::POST, &path, None, Resend::Safe)
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

    /// A project's members (`GET /wharf/v1/projects/{project}/members`).
    pub async fn members(&self, project: &str) -> Result<serde_json::Value> {
        self.get_json(&format!("/wharf/v1/projects/{}/members", encode(project)))
            .await
    }

    /// Gives `username` `role` on `project`, or (`None`) removes its membership.
    pub async fn set_member(
        &self,
        project: &str,
        username: &str,
        role: Option<&str>,
    ) -> Result<()> {
        let path = format!(
            "/wharf/v1/projects/{}/members/{}",
            encode(project),
            encode(username)
        );
        let body = role.map(|role| serde_json::json!({"role": role}));
        let method = match role {
            Some(_) => Method::PUT,
            None => Method::DELETE,
        };
        self.send(method, &path, body.as_ref(), Resend::Safe)
            .await?;
        Ok(())
    }

    /// Every user (server admins only).
    pub async fn users(&self) -> Result<serde_json::Value> {
        self.get_json("/wharf/v1/users").await
    }

    /// Creates a user (server admins only); `admin` makes a server admin.
    pub async fn create_user(&self, username: &str, admin: bool) -> Result<()> {
        let body = serde_json::json!({"username": username, "admin": admin});
        self.send(Method::POST, "/wharf/v1/users", Some(&body), Resend::Safe)
            .await?;
        Ok(())
    }

    /// What each stage of `project` deploys now, per service, and the pending requests.
    pub async fn status(&self, project: &str) -> Result<wharf_api::ProjectStatus> {
        self.get_json(&format!("/wharf/v1/projects/{}/status", encode(project)))
            .await
    }

    /// Attaches an image to one environment by hand (`wharf attach`; Facets'
    /// `attach-image-via-register`): the environment deploys it, no other changes.
    pub async fn attach(
        &self,
        project: &str,
        service: &str,
        environment: &str,
        image: &str,
    ) -> Result<Artifact> {
        let body = wharf_api::ImageOverrideRequest {
            resource_name: Some(service.to_string()),
            resource_type: Some("service".to_string()),
            artifact_uri: Some(image.to_string()),
            artifact_type: Some("docker_image".to_string()),
            registration_type: Some(wharf_api::ArtifactRegisterType::Environment),
            registration_value: Some(environment.to_string()),
            blueprint_name: Some(project.to_string()),
            ci_name: Some(service.to_string()),
            ..Default::default()
        };
        let response = self
            .send(
                Method::POST,
                "/cc-ui/v1/artifacts/attach-image-via-register",
                Some(&body),
                Resend::Unsafe(
                    "the attach may have been made: see with `wharf resolve` what the \
                     environment deploys now before attaching again",
                ),
            )
            .await?;
        decode(response).await
    }

    /// Uploads a file (WAR, JAR, ZIP…) as a freestyle build of `request`'s service, as Facets'
    /// `POST /cc-ui/v1/artifacts/upload` takes it: the `artifactRequest` part, then the file,
    /// streamed from disk.
    pub async fn upload(
        &self,
        request: &wharf_api::UploadRequest,
        path: &std::path::Path,
    ) -> Result<RegisterAnswer> {
        let json = serde_json::to_string(request)
            .map_err(|e| Error::Usage(format!("the upload request: {e}")))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        let form = || -> Result<reqwest::multipart::Form> {
            let file = std::fs::File::open(path)
                .map_err(|e| Error::Usage(format!("--file {}: {e}", path.display())))?;
            let size = file
                .metadata()
                .map_err(|e| Error::Usage(format!("--file {}: {e}", path.display())))?
                .len();
            let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
            let body = reqwest::Body::wrap_stream(stream);
            let part = reqwest::multipart::Part::stream_with_length(body, size)
                .file_name(name.clone())
                .mime_str("application/octet-stream")
                .map_err(|e| Error::Usage(e.to_string()))?;
            let request_part = reqwest::multipart::Part::text(json.clone())
                .mime_str("application/json")
                .map_err(|e| Error::Usage(e.to_string()))?;
            Ok(reqwest::multipart::Form::new()
                .part("artifactRequest", request_part)
                .part("file", part))
        };
        let replay = match request.external_id {
            Some(_) => Resend::Safe,
            None => Resend::Unsafe(
                "the upload may have been registered: list the service's builds (`wharf \
                 builds`) before uploading again, or give --external-id so a retry is a replay",
            ),
        };
        let response = self
            .send_form("/cc-ui/v1/artifacts/upload", &form, replay)
            .await?;
        Ok(read_registered(response).await)
    }

    /// A project's events after `after` (`wharf events list`).
    pub async fn events(
        &self,
        project: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<wharf_api::CloudEvent>> {
        self.get_json(&format!(
            "/wharf/v1/events?project={}&after={after}&limit={limit}",
            encode(project)
        ))
        .await
    }

    pub async fn webhooks(&self, project: &str) -> Result<Vec<wharf_api::WebhookView>> {
        self.get_json(&format!("/wharf/v1/projects/{}/webhooks", encode(project)))
            .await
    }

    pub async fn deliveries(
        &self,
        project: &str,
        webhook: Option<&str>,
        limit: i64,
    ) -> Result<Vec<wharf_api::DeliveryView>> {
        let mut path = format!(
            "/wharf/v1/projects/{}/deliveries?limit={limit}",
            encode(project)
        );
        if let Some(webhook) = webhook {
            path.push_str(&format!("&webhook={}", encode(webhook)));
        }
        self.get_json(&path).await
    }

    /// Sends a delivery again; a repeat only sends it once more, so it is safe to resend.
    pub async fn redeliver(&self, delivery: &str) -> Result<wharf_api::DeliveryView> {
        let path = format!("/wharf/v1/deliveries/{}/redeliver", encode(delivery));
        let response = self
            .send::<()>(Method::POST, &path, None, Resend::Safe)
            .await?;
        decode(response).await
    }

    pub async fn test_webhook(
        &self,
        project: &str,
        webhook: &str,
    ) -> Result<wharf_api::DeliveryView> {
        let path = format!(
            "/wharf/v1/projects/{}/webhooks/{}/test",
            encode(project),
            encode(webhook)
        );
        let response = self
            .send::<()>(Method::POST, &path, None, Resend::Safe)
            .await?;
        decode(response).await
    }

    /// A service's image strategy (`wharf strategy`).
    pub async fn strategy(
        &self,
        project: &str,
        service: &str,
    ) -> Result<wharf_api::ServiceStrategy> {
        self.get_json(&strategy_path(project, service)).await
    }

    /// Switches a service's strategy (a dry run changes nothing); setting the same strategy
    /// again changes nothing, so it is safe to resend.
    pub async fn set_strategy(
        &self,
        project: &str,
        service: &str,
        change: &wharf_api::StrategyChange,
    ) -> Result<wharf_api::StrategyChanged> {
        let path = strategy_path(project, service);
        let response = self
            .send(Method::PUT, &path, Some(change), Resend::Safe)
            .await?;
        decode(response).await
    }

    /// Which trust policy of `project` an identity token would log in by (`wharf trust test`).
    pub async fn trust_test(&self, project: &str, token: &str) -> Result<serde_json::Value> {
        let path = format!("/wharf/v1/projects/{}/trust/test", encode(project));
        let body = serde_json::json!({"token": token});
        let response = self
            .send(Method::POST, &path, Some(&body), Resend::Safe)
            .await?;
        decode(response).await
    }

    /// Every project's name.
    pub async fn projects(&self) -> Result<Vec<String>> {
        self.get_json("/wharf/v1/projects").await
    }

    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        let path = format!("/wharf/v1/tokens/{}", encode(id));
        self.send::<()>(Method::DELETE, &path, None, Resend::Safe)
            .await?;
        Ok(())
    }

    /// What an environment deploys: `wharf serve`'s answer; against a control plane without
    /// `/wharf/v1/resolve` (Facets), the newest build of the CI in the environment, found
    /// through the environment's id.
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
        if !self.is_wharf_serve().await {
            return self.resolve_on_facets(project, environment, ci_name).await;
        }
        self.get_json(&path).await
    }

    /// A build with its image's provenance and referrers (`GET /wharf/v1/builds/{id}`;
    /// `wharf serve` only).
    pub async fn build_details(&self, id: &str) -> Result<wharf_api::provenance::BuildDetails> {
        if !self.is_wharf_serve().await {
            return Err(Error::Usage(
                "`wharf builds show` reads wharf serve's build details; this control plane is \
                 Facets, whose builds `wharf builds --project P --service S` lists"
                    .into(),
            ));
        }
        self.get_json(&format!("/wharf/v1/builds/{}", encode(id)))
            .await
    }

    /// Where `wharf serve` would register `request`, by the code that registers, writing
    /// nothing (`POST /wharf/v1/register/preview`).
    pub async fn preview(&self, request: &SaasArtifactRequest) -> Result<RoutePreview> {
        let response = self
            .send(
                Method::POST,
                "/wharf/v1/register/preview",
                Some(request),
                Resend::Safe,
            )
            .await?;
        decode(response).await
    }

    /// Whether the control plane is a `wharf serve` (it answers `/wharf/v1/health`; Facets
    /// does not).
    pub async fn is_wharf_serve(&self) -> bool {
        let url = format!("{}/wharf/v1/health", self.base);
        match self.http.get(url).send().await {
            Ok(response) => response.status().is_success(),
            Err(_) => false,
        }
    }

    async fn resolve_on_facets(
        &self,
        project: &str,
        environment: &str,
        ci_name: &str,
    ) -> Result<Resolved> {
        let clusters: Vec<ClusterName> = self
            .get_json(&format!("/cc-ui/v1/stacks/{}/clusters", encode(project)))
            .await?;
        let cluster = clusters
            .into_iter()
            .find(|c| c.name == environment)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "environment '{environment}' not found in project '{project}'"
                ))
            })?;
        let artifact: Artifact = self
            .get_json(&format!(
                "/cc-ui/v1/artifacts/cluster/{}/application/{}",
                encode(&cluster.id),
                encode(ci_name)
            ))
            .await?;
        let stream = artifact
            .release_stream
            .clone()
            .filter(|_| artifact.cluster_id.is_none());
        let (resolved_from, bucket) = match stream {
            Some(stream) => ("RELEASE_STREAM", stream),
            None => ("ENVIRONMENT", cluster.name.clone()),
        };
        Ok(Resolved {
            expression: format!("${{blueprint.self.artifacts.{ci_name}}}"),
            environment: cluster.name,
            resolved_from: resolved_from.into(),
            bucket,
            artifact,
            service_override: None,
        })
    }

    pub async fn ci(&self, project: &str, ci_name: &str) -> Result<ArtifactCI> {
        let path = format!(
            "/cc-ui/v1/artifacts-ci/name/{}?stackName={}",
            encode(ci_name),
            encode(project)
        );
        self.get_json(&path).await
    }

    pub async fn rules(&self, project: &str, kind: RegistrationType) -> Result<Vec<RuleCriteria>> {
        let path = format!(
            "/cc-ui/v1/artifact-routing-rule?stackName={}&registrationType={}",
            encode(project),
            kind.as_str()
        );
        self.get_json(&path).await
    }

    /// `dry_run`: the changes the file would make, none made.
    pub async fn apply(&self, file: &ProjectFile, dry_run: bool) -> Result<ApplySummary> {
        let mut path = format!("/wharf/v1/projects/{}", encode(&file.project.name));
        if dry_run {
            path.push_str("?dryRun=true");
        }
        let response = self
            .send(Method::PUT, &path, Some(file), Resend::Safe)
            .await?;
        decode(response).await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self
            .send::<()>(Method::GET, path, None, Resend::Safe)
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
        replay: Resend,
    ) -> Result<reqwest::Response> {
        let url = format!("{}{path}", self.base);
        self.retry
            .run(|made| self.attempt(method.clone(), &url, body, None, replay, made))
            .await
    }

    /// Like `send`, with a multipart body made by `form` for each attempt.
    async fn send_form(
        &self,
        path: &str,
        form: FormMaker<'_>,
        replay: Resend,
    ) -> Result<reqwest::Response> {
        let url = format!("{}{path}", self.base);
        self.retry
            .run(|made| self.attempt::<()>(Method::POST, &url, None, Some(form), replay, made))
            .await
    }

    /// Attempt number `made`: its answer, a classified error, or why to try again.
    async fn attempt<B: Serialize>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        form: Option<FormMaker<'_>>,
        replay: Resend,
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
        if let Some(form) = form {
            match form() {
                Ok(form) => request = request.multipart(form),
                Err(error) => return Attempt::Done(Err(error)),
            }
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                if let Some(wrong) = wrong_address(&error, &self.base) {
                    return Attempt::Done(Err(Error::Unavailable(wrong)));
                }
                return match transport_failure(&error, replay) {
                    Ok(why) => retry(why, None),
                    Err(error) => Attempt::Done(Err(error)),
                };
            }
        };
        let status = response.status();
        if is_html(&response) && matches!(status.as_u16(), 502..=504) {
            // A load balancer's or proxy's own page: the control plane behind it did not
            // answer (it died mid-request, restarts, or none is healthy).
            let why = format!("a proxy in front of the control plane answered HTTP {status}");
            if is_retryable(status, replay.replay()) {
                return retry(why, retry_after(response.headers()));
            }
            return Attempt::Done(Err(Error::Unavailable(format!(
                "{}: {why}, with its own page: the control plane behind it did not answer, and \
                 the request may have been applied; check before repeating it",
                self.base
            ))));
        }
        if is_html(&response) {
            return Attempt::Done(Err(Error::Unavailable(format!(
                "{} answered with a web page (HTTP {status}), not a control plane's API: check \
                 the control plane URL (--control-plane, WHARF_CONTROL_PLANE_URL)",
                self.base
            ))));
        }
        if status.is_success() {
            return Attempt::Done(Ok(response));
        }
        let after = retry_after(response.headers());
        let message = error_message(response).await;
        if is_retryable(status, replay.replay()) {
            return retry(format!("HTTP {status}: {}", message.0), after);
        }
        Attempt::Done(Err(classify(status, message)))
    }
}

/// A registration's answer: the stored build (a Facets control plane may answer an empty 200),
/// and whether it already existed.
async fn read_registered(response: reqwest::Response) -> RegisterAnswer {
    let replayed = response
        .headers()
        .get(REPLAYED_HEADER)
        .is_some_and(|v| v.as_bytes() == b"true");
    let read = match response.bytes().await {
        Err(e) => Err(format!("reading it failed: {e}")),
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("its answer was unreadable: {e}")),
    };
    match read {
        Ok(artifact) => RegisterAnswer {
            artifact,
            replayed,
            unreadable: None,
        },
        Err(why) => RegisterAnswer {
            artifact: None,
            replayed,
            unreadable: Some(why),
        },
    }
}

fn strategy_path(project: &str, service: &str) -> String {
    format!(
        "/wharf/v1/projects/{}/services/{}/strategy",
        encode(project),
        encode(service)
    )
}

/// Builds a multipart body afresh for each attempt (a file part is read from the start).
type FormMaker<'a> = &'a (dyn Fn() -> Result<reqwest::multipart::Form> + Sync);

/// Whether a request may be sent again when its answer is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// A read, or a write the control plane deduplicates.
    Safe,
    /// A write that could be applied twice; says what to do when its fate is unknown, in the
    /// terms of the command that sent it.
    Unsafe(&'static str),
}

impl Resend {
    fn replay(self) -> Replay {
        match self {
            Self::Safe => Replay::Safe,
            Self::Unsafe(_) => Replay::Unsafe,
        }
    }
}

/// Whether an answer is an HTML page: a web server, a proxy's sign-in page, anything but the
/// control plane's API, which answers JSON (or nothing).
fn is_html(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|kind| {
            kind.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/html")
        })
}

/// A failure no retry mends, in one sentence: a host name that does not resolve, or TLS spoken
/// to a port that answers plain HTTP. `None` for anything else.
fn wrong_address(error: &reqwest::Error, base: &str) -> Option<String> {
    let mut causes = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push_str(&cause.to_string().to_ascii_lowercase());
        causes.push(' ');
        source = cause.source();
    }
    if causes.contains("dns error") || causes.contains("failed to lookup address") {
        return Some(format!(
            "the host of {base} does not resolve: check the control plane URL \
             (--control-plane, WHARF_CONTROL_PLANE_URL) for a typo"
        ));
    }
    let plain_port = [
        "invalidcontenttype",
        "corrupt message",
        "wrong version number",
    ];
    if base.starts_with("https://") && plain_port.iter().any(|m| causes.contains(m)) {
        return Some(format!(
            "{base} does not speak TLS on that port (it answers plain HTTP): check the URL's \
             port, or its scheme"
        ));
    }
    None
}

/// Why to try again after a failed request, or the error when a retry could apply a write
/// twice.
fn transport_failure(error: &reqwest::Error, replay: Resend) -> Result<String> {
    // Never echo the URL's query or anything else from reqwest beyond its kind and cause.
    let why = describe_transport(error);
    match replay {
        Resend::Unsafe(advice) if !error.is_connect() => {
            Err(Error::Unavailable(not_resent(&why, advice)))
        }
        _ => Ok(why),
    }
}

/// The message of a write not sent again because it may have reached the control plane.
fn not_resent(why: &str, advice: &str) -> String {
    format!(
        "{why}; not retried because the request may have reached the control plane and {advice}"
    )
}

/// The message of an error answer, and its code when it has one.
/// What wharf reads of a Facets cluster: its id and name. A Facets answer may carry more, or
/// leave out what `wharf serve` answers (its release stream): nothing else is required.
#[derive(Debug, serde::Deserialize)]
struct ClusterName {
    #[serde(deserialize_with = "wharf_api::lenient::id")]
    id: String,
    name: String,
}

/// What wharf reads of a routing rule to predict a route against a Facets control plane.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCriteria {
    #[serde(default)]
    pub rule_name: String,
    #[serde(default)]
    pub criteria: Vec<wharf_api::Criterion>,
    #[serde(default)]
    pub default: bool,
}

async fn error_message(response: reqwest::Response) -> (String, Option<String>) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorDetails>(&text) {
        Ok(details) => (details.message, details.code),
        Err(_) if !text.trim().is_empty() && text.len() < 500 => (text.trim().to_string(), None),
        Err(_) => (
            status.canonical_reason().unwrap_or("error").to_string(),
            None,
        ),
    }
}

fn classify(status: StatusCode, (message, code): (String, Option<String>)) -> Error {
    match status.as_u16() {
        422 if code.as_deref() == Some("NOT_ROUTED") => Error::NotRouted(message),
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
