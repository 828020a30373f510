//! The one door (issue 24): every write path × {the protected environment `prod`, its release
//! stream `PRODUCTION`, the unprotected `staging`} × {admin, release-manager, ci, keyless,
//! viewer}, each pinned to the status and message it answers and to what `prod` resolves
//! afterwards. It runs on SQLite here and on PostgreSQL in `.ci/run`'s second pass
//! (`WHARF_TEST_POSTGRES`). Combinations a path cannot express are listed in [`applies`]:
//! a branch rule, a workflow and a rollback of an ENVIRONMENT project name environments.

use crate::support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::client::{Answer, Api, User, call, saas};
use support::oidc::{Issuer, github_claims};
use support::registry::{Registry, manifest};
use wharf_control_plane::RunningServer;
use wharf_oci::Digest;

/// What a test changes in the project file.
#[derive(Clone, Copy)]
pub struct Variant<'a> {
    /// Where branch `late` routes.
    pub late_to: &'a str,
    /// Where branch `hotfix` routes.
    pub hotfix_to: &'a str,
    /// The stage `[protection.…]` names.
    pub protected: &'a str,
    /// Appended as is.
    pub extra: &'a str,
}

pub const BASE: Variant<'static> = Variant {
    late_to: "dev",
    hotfix_to: "prod",
    protected: "prod",
    extra: "",
};

fn project_file(issuer: &str, late_to: &str) -> String {
    project_file_with(issuer, Variant { late_to, ..BASE })
}

/// The shop project with a protected stage (approvals 2 from release managers, straight in
/// by admins only), two release managers, a `ci` member, a viewer and a keyless policy.
fn project_file_with(issuer: &str, variant: Variant<'_>) -> String {
    let Variant {
        late_to,
        hotfix_to,
        protected,
        extra,
    } = variant;
    format!(
        r#"
[project]
name = "shop"
registration_type = "ENVIRONMENT"
ci_system = "BRANCH_PER_ENVIRONMENT"

[[environments]]
name = "dev"
release_stream = "QA"

[[environments]]
name = "staging"
release_stream = "STAGING"

[[environments]]
name = "prod"
release_stream = "PRODUCTION"

[routing]
rule_name = "shop-branches"

[[routing.criteria]]
metadata_key = "BRANCH_NAME"
operator = "EQUALS"
value = "main"
route_to = "dev"

[[routing.criteria]]
metadata_key = "BRANCH_NAME"
operator = "STARTS_WITH"
value = "release/"
route_to = "staging"

[[routing.criteria]]
metadata_key = "BRANCH_NAME"
operator = "EQUALS"
value = "hotfix"
route_to = "{hotfix_to}"

[[routing.criteria]]
metadata_key = "BRANCH_NAME"
operator = "EQUALS"
value = "late"
route_to = "{late_to}"

[promotion]
order = ["dev", "staging", "prod"]

[[ci]]
name = "api"

[[members]]
user = "rm"
role = "release-manager"

[[members]]
user = "rm2"
role = "release-manager"

[[members]]
user = "ci-bot"
role = "ci"

[[members]]
user = "viewer"
role = "viewer"

[[trust]]
name = "github"
issuer = "{issuer}"
role = "ci"
[trust.claims]
repository = "acme/shop"

[protection.{protected}]
approvals = 2
approvers = ["release-manager"]
direct = ["admin"]
{extra}
"#
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Viewer,
    Ci,
    Keyless,
    ReleaseManager,
    Admin,
}

const ROLES: [Role; 5] = [
    Role::Viewer,
    Role::Ci,
    Role::Keyless,
    Role::ReleaseManager,
    Role::Admin,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Prod,
    Stream,
    Staging,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    CiCdRegister,
    GitRef,
    RegisterByEnv,
    RegisterByStream,
    RegisterV2,
    ArtifactsPush,
    Attach,
    PromoteV1,
    PromoteV2,
    Reclassify,
    Rollback,
    RollbackTo,
    Delete,
    ManifestDelete,
    TagMove,
}

const PATHS: [Path; 15] = [
    Path::CiCdRegister,
    Path::GitRef,
    Path::RegisterByEnv,
    Path::RegisterByStream,
    Path::RegisterV2,
    Path::ArtifactsPush,
    Path::Attach,
    Path::PromoteV1,
    Path::PromoteV2,
    Path::Reclassify,
    Path::Rollback,
    Path::RollbackTo,
    Path::Delete,
    Path::ManifestDelete,
    Path::TagMove,
];

/// Whether a path can address a target at all.
fn applies(path: Path, target: Target) -> bool {
    use Path::*;
    !matches!(
        (path, target),
        (RegisterByEnv, Target::Stream)
            | (RegisterByStream, Target::Prod)
            | (
                GitRef | ArtifactsPush | PromoteV1 | PromoteV2 | Reclassify | Rollback | RollbackTo,
                Target::Stream
            )
    )
}

#[derive(Debug, PartialEq, Eq)]
enum Expect {
    /// Changed as asked.
    Done,
    /// A request waits for approvals; nothing changed.
    Pending,
    /// 403.
    Forbidden,
    /// 409: the registry keeps what a stage deploys.
    Held,
}

fn expect(path: Path, target: Target, role: Role) -> Expect {
    use Path::*;
    use Role::*;
    let protected = target != Target::Staging;
    if role == Viewer {
        return Expect::Forbidden;
    }
    match path {
        ManifestDelete if role == ReleaseManager => Expect::Forbidden,
        ManifestDelete => Expect::Held,
        TagMove if role == ReleaseManager => Expect::Forbidden,
        TagMove if protected => Expect::Held,
        TagMove => Expect::Done,
        Delete if matches!(role, Ci | Keyless) => Expect::Forbidden,
        Delete | PromoteV1 | PromoteV2 | Reclassify | Rollback if protected => Expect::Pending,
        Delete | PromoteV1 | PromoteV2 | Reclassify | Rollback => Expect::Done,
        _ if protected && role != Admin => Expect::Forbidden,
        _ => Expect::Done,
    }
}

/// A server in the baseline state, its users, and the ids the paths act on.
pub struct Door {
    pub server: RunningServer,
    pub admin: Api,
    pub issuer: Issuer,
    pub users: Vec<(Role, User)>,
    pub host: String,
    /// Tag `vN` → digest, pushed into the built-in `shop/api`.
    pub images: Vec<Digest>,
    pub prod_old: String,
    pub prod_now: String,
    pub stream_now: String,
    pub staging_ids: Vec<String>,
    pub dev_build: String,
    pub ci_id: String,
    pub env_ids: std::collections::BTreeMap<String, String>,
    _data: tempfile::TempDir,
}

/// A unique external image by digest, named after `label`.
fn external(label: &str) -> String {
    format!("r.example/shop/api@{}", Digest::sha256_of(label.as_bytes()))
}

impl Door {
    pub async fn start() -> Door {
        let data = tempfile::tempdir().unwrap();
        let database = support::test_database(data.path()).await;
        let issuer = Issuer::serve().await;
        let file = data.path().join("wharf.toml");
        std::fs::write(&file, project_file(&issuer.url("github"), "dev")).unwrap();
        let options = support::serve_options(&database, data.path(), Some(file));
        let server = wharf_control_plane::start(options).await.unwrap();
        let admin = Api::new(server.url());
        let host = server.url().trim_start_matches("http://").to_string();
        let mut users = vec![(
            Role::Admin,
            User {
                username: support::ADMIN.into(),
                token: support::TOKEN.into(),
            },
        )];
        for (role, name) in [
            (Role::ReleaseManager, "rm"),
            (Role::Ci, "ci-bot"),
            (Role::Viewer, "viewer"),
        ] {
            users.push((role, token_for(&admin, name).await));
        }
        users.push((Role::Keyless, keyless(&admin, &issuer).await));
        let mut door = Door {
            server,
            admin,
            issuer,
            users,
            host,
            images: Vec::new(),
            prod_old: String::new(),
            prod_now: String::new(),
            stream_now: String::new(),
            staging_ids: Vec::new(),
            dev_build: String::new(),
            ci_id: String::new(),
            env_ids: Default::default(),
            _data: data,
        };
        door.baseline().await;
        door
    }

    pub fn user(&self, role: Role) -> &User {
        &self.users.iter().find(|(r, _)| *r == role).unwrap().1
    }

    pub fn built_in(&self, n: usize) -> String {
        format!("{}/shop/api:v{n}", self.host)
    }

    pub fn pinned(&self, n: usize) -> String {
        format!("{}/shop/api@{}", self.host, self.images[n - 1])
    }

    /// Images v1…v4 in the built-in registry; prod deploys v1 then v2 (its own bucket), the
    /// stream PRODUCTION v3 (newer, so prod resolves it), staging v3 then v4, dev v1, and a
    /// build on branch `late` sits in dev.
    async fn baseline(&mut self) {
        let registry = self.registry(Role::Admin);
        for n in 1..=4 {
            let digest = push_image(&registry, &format!("v{n}"), &format!("baseline-{n}")).await;
            self.images.push(digest);
        }
        self.prod_old = self
            .register("ENVIRONMENT", "prod", &self.built_in(1), "p1")
            .await;
        self.prod_now = self
            .register("ENVIRONMENT", "prod", &self.built_in(2), "p2")
            .await;
        self.stream_now = self
            .register("RELEASE_STREAM", "PRODUCTION", &self.built_in(3), "s3")
            .await;
        let staging_old = self
            .register("ENVIRONMENT", "staging", &self.built_in(3), "g3")
            .await;
        let staging_now = self
            .register("ENVIRONMENT", "staging", &self.built_in(4), "g4")
            .await;
        self.staging_ids = vec![staging_now, staging_old];
        self.dev_build = self
            .register("ENVIRONMENT", "dev", &self.built_in(1), "d1")
            .await;
        self.register("GIT_REF", "late", &self.built_in(3), "late")
            .await;
        let (_, ci) = self
            .admin
            .get("/cc-ui/v1/artifacts-ci/name/api?stackName=shop")
            .await;
        self.ci_id = ci["id"].as_str().unwrap().to_string();
        let (_, clusters) = self.admin.get("/cc-ui/v1/stacks/shop/clusters").await;
        for cluster in clusters.as_array().unwrap() {
            self.env_ids.insert(
                cluster["name"].as_str().unwrap().into(),
                cluster["id"].as_str().unwrap().into(),
            );
        }
        assert_eq!(self.prod_resolves().await, self.pinned(3), "the baseline");
    }

    /// Registers as admin; answers the build id.
    pub async fn register(
        &self,
        kind: &str,
        value: &str,
        image: &str,
        external_id: &str,
    ) -> String {
        let body = saas(value, kind, external_id, image);
        let (status, answer) = self.admin.post("/cc-ui/v1/ci-cd/register", body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer["id"].as_str().unwrap().to_string()
    }

    pub fn registry(&self, role: Role) -> Registry {
        let user = self.user(role);
        Registry {
            http: support::http(),
            base: self.server.url(),
            user: user.username.clone(),
            password: user.token.clone(),
        }
    }

    pub async fn prod_resolves(&self) -> String {
        let (status, body) = self
            .admin
            .get("/wharf/v1/resolve?stackName=shop&environment=prod&ciName=api")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["artifact"]["artifactUri"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn as_user(
        &self,
        role: Role,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        call(&self.server.url(), self.user(role), method, path, body).await
    }

    /// Re-applies the project file with branch `late` routed to `late_to`.
    async fn route_late_to(&self, late_to: &str) {
        self.apply(Variant { late_to, ..BASE }).await;
    }

    /// Re-applies the project file as `variant` says.
    pub async fn apply(&self, variant: Variant<'_>) {
        let file = project_file_with(&self.issuer.url("github"), variant);
        let parsed: toml::Value = toml::from_str(&file).unwrap();
        let (status, body) = self
            .admin
            .put(
                "/wharf/v1/projects/shop",
                serde_json::to_value(parsed).unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// One write path as `role`; `label` keeps its images and external ids apart.
    async fn act(
        &mut self,
        path: Path,
        target: Target,
        role: Role,
        label: &str,
    ) -> (Answer, String) {
        let image = external(label);
        let (env, stream, kind, value) = match target {
            Target::Prod => ("prod", "PRODUCTION", "ENVIRONMENT", "prod"),
            Target::Stream => ("prod", "PRODUCTION", "RELEASE_STREAM", "PRODUCTION"),
            Target::Staging => ("staging", "STAGING", "ENVIRONMENT", "staging"),
        };
        let branch = match target {
            Target::Staging => "release/1",
            _ => "hotfix",
        };
        let post = |path: &str, body: Value| (Method::POST, path.to_string(), Some(body));
        let (method, url, body) = match path {
            Path::CiCdRegister | Path::GitRef => {
                let (kind, value) = match path {
                    Path::GitRef => ("GIT_REF", branch),
                    _ => (kind, value),
                };
                post(
                    "/cc-ui/v1/ci-cd/register",
                    json!({"blueprintName": "shop", "applicationName": "api",
                        "artifactory": "default", "artifactUri": image,
                        "artifactRegisterType": kind, "artifactRegisterValue": value,
                        "externalId": label}),
                )
            }
            Path::RegisterByEnv => post(
                "/cc-ui/v1/artifacts/register-by-env",
                json!({"stackName": "shop", "applicationName": "api", "artifactUri": image,
                    "clusterName": env, "externalId": label}),
            ),
            Path::RegisterByStream => post(
                "/cc-ui/v1/artifacts/register-by-release-stream",
                json!({"stackName": "shop", "applicationName": "api", "artifactUri": image,
                    "releaseStream": stream, "externalId": label}),
            ),
            Path::RegisterV2 => {
                let mut body = json!({"stackName": "shop", "applicationName": "api",
                    "artifactUri": image, "externalId": label});
                match target {
                    Target::Stream => body["releaseStream"] = stream.into(),
                    _ => body["clusterId"] = self.env_ids[env].clone().into(),
                }
                post("/cc-ui/v1/artifacts/registerV2", body)
            }
            Path::ArtifactsPush => post(
                "/cc-ui/v1/artifacts/push",
                json!({"stackName": "shop", "applicationName": "api", "artifactUri": image,
                    "externalId": label, "metadata": {"BRANCH_NAME": branch}}),
            ),
            Path::Attach => post(
                "/cc-ui/v1/artifacts/attach-image-via-register",
                json!({"resourceName": "api", "resourceType": "service", "blueprintName": "shop",
                    "artifactUri": image, "registrationType": kind, "registrationValue": value}),
            ),
            Path::PromoteV1 | Path::PromoteV2 => {
                let source = match target {
                    Target::Staging => &self.dev_build,
                    _ => &self.staging_ids[0],
                };
                let url = match path {
                    Path::PromoteV1 => format!(
                        "/cc-ui/v1/artifacts/promote?ciName=api&stackName=shop&artifactId={source}"
                    ),
                    _ => format!("/cc-ui/v1/artifacts/{}/promote/{source}", self.ci_id),
                };
                (Method::POST, url, None)
            }
            Path::Reclassify => {
                let url = format!("/cc-ui/v1/artifacts/reclassify?artifactCiId={}", self.ci_id);
                (Method::PUT, url, None)
            }
            Path::Rollback | Path::RollbackTo => {
                if path == Path::RollbackTo && target == Target::Staging {
                    // Staging moves on first, so each role has something to roll back from.
                    let forward = external(&format!("{label}-forward"));
                    let id = format!("{label}-forward");
                    self.register("ENVIRONMENT", "staging", &forward, &id).await;
                }
                let mut body = json!({"project": "shop", "service": "api", "environment": env});
                if path == Path::RollbackTo {
                    body["to"] = self.dev_build.clone().into();
                }
                post("/wharf/v1/rollback", body)
            }
            Path::Delete => {
                let id = match target {
                    Target::Prod => self.prod_now.clone(),
                    Target::Stream => self.stream_now.clone(),
                    Target::Staging => self.staging_ids[0].clone(),
                };
                (Method::DELETE, format!("/cc-ui/v1/artifacts/{id}"), None)
            }
            Path::ManifestDelete => {
                let n = match target {
                    Target::Prod => 2,
                    Target::Stream => 3,
                    Target::Staging => 4,
                };
                let url = format!("/v2/shop/api/manifests/{}", self.images[n - 1]);
                (Method::DELETE, url, None)
            }
            Path::TagMove => {
                let tag = match target {
                    Target::Prod => "v2",
                    Target::Stream => "v3",
                    Target::Staging => "v4",
                };
                let registry = self.registry(role);
                let answer = push_image_answer(&registry, tag, label).await;
                return (answer, image);
            }
        };
        let answer = self.as_user(role, method, &url, body).await;
        if path == Path::Delete && target == Target::Staging && answer.status == StatusCode::OK {
            self.staging_ids.remove(0);
        }
        (answer, image)
    }
}

async fn token_for(admin: &Api, name: &str) -> User {
    let (status, body) = admin
        .post("/wharf/v1/tokens", json!({"username": name}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    User {
        username: name.into(),
        token: body["token"].as_str().unwrap().into(),
    }
}

/// A 15-minute keyless token for GitHub's acme/shop, from the loopback issuer.
async fn keyless(admin: &Api, issuer: &Issuer) -> User {
    let gh = issuer.url("github");
    let identity = issuer.sign_rsa(&github_claims(&gh, "wharf", "acme/shop", "refs/heads/main"));
    let (status, answer) = admin
        .post(
            "/wharf/v1/oidc/token",
            json!({"project": "shop", "token": identity}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    User {
        username: answer["username"].as_str().unwrap().into(),
        token: answer["token"].as_str().unwrap().into(),
    }
}

/// Pushes a one-layer image under `tag`; answers the manifest PUT.
pub async fn push_image_answer(registry: &Registry, tag: &str, seed: &str) -> Answer {
    let config = format!("{{\"seed\":\"{seed}\"}}");
    let layer = format!("layer {seed}");
    let blob = |bytes: String| {
        registry
            .request(
                Method::POST,
                &format!(
                    "/v2/shop/api/blobs/uploads/?digest={}",
                    Digest::sha256_of(bytes.as_bytes())
                ),
            )
            .body(bytes)
            .send()
    };
    let config_status = blob(config.clone()).await.unwrap().status();
    if config_status != StatusCode::CREATED {
        return Answer {
            status: config_status,
            body: Value::Null,
            request_id: None,
        };
    }
    assert_eq!(
        blob(layer.clone()).await.unwrap().status(),
        StatusCode::CREATED
    );
    let body = manifest(
        &Digest::sha256_of(config.as_bytes()),
        &Digest::sha256_of(layer.as_bytes()),
        (config.len(), layer.len()),
    );
    let response = registry
        .put_manifest("shop/api", tag, wharf_oci::OCI_MANIFEST, &body)
        .await;
    let status = response.status();
    let text = response.text().await.unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        request_id: None,
    }
}

pub async fn push_image(registry: &Registry, tag: &str, seed: &str) -> Digest {
    let config = format!("{{\"seed\":\"{seed}\"}}");
    let layer = format!("layer {seed}");
    let answer = push_image_answer(registry, tag, seed).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    Digest::sha256_of(
        manifest(
            &Digest::sha256_of(config.as_bytes()),
            &Digest::sha256_of(layer.as_bytes()),
            (config.len(), layer.len()),
        )
        .as_bytes(),
    )
}

/// What a refusal names: the protected stage, or the stage whose content is held.
fn held_stage(target: Target) -> &'static str {
    match target {
        Target::Prod => "'prod'",
        Target::Stream => "'PRODUCTION'",
        Target::Staging => "'staging'",
    }
}

fn check(path: Path, target: Target, role: Role, answer: &Answer) {
    let case = format!("{path:?} into {target:?} as {role:?}");
    let message = answer.message();
    match expect(path, target, role) {
        Expect::Done => {
            let ok = match path {
                Path::TagMove => StatusCode::CREATED,
                _ => StatusCode::OK,
            };
            assert_eq!(answer.status, ok, "{case}: {:?}", answer.body);
            if path == Path::Reclassify {
                assert_eq!(answer.body["requested"], json!([]), "{case}");
            }
        }
        Expect::Pending if path == Path::Reclassify => {
            assert_eq!(answer.status, StatusCode::OK, "{case}: {:?}", answer.body);
            assert_eq!(answer.body["moved"], json!([]), "{case}: {:?}", answer.body);
            assert_eq!(answer.body["requested"][0]["kind"], "RECLASSIFY", "{case}");
            assert_eq!(answer.body["requested"][0]["status"], "PENDING", "{case}");
        }
        Expect::Pending => {
            assert_eq!(
                answer.status,
                StatusCode::ACCEPTED,
                "{case}: {:?}",
                answer.body
            );
            assert!(answer.request_id.is_some(), "{case}: the request's id");
        }
        Expect::Forbidden
            if role == Role::Viewer
                || matches!(path, Path::ManifestDelete | Path::TagMove | Path::Delete) =>
        {
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{case}: {:?}",
                answer.body
            );
        }
        Expect::Forbidden => {
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{case}: {:?}",
                answer.body
            );
            assert!(
                message.contains("is protected") && message.contains("needs role 'admin'"),
                "{case}: {message}"
            );
        }
        Expect::Held => {
            assert_eq!(
                answer.status,
                StatusCode::CONFLICT,
                "{case}: {:?}",
                answer.body
            );
            assert!(message.contains(held_stage(target)), "{case}: {message}");
        }
    }
}

/// What prod resolves after a change: the new image where a write straight into prod or its
/// stream went through, the dev build pinned after a rollback to it; else what it was.
fn prod_after(
    door: &Door,
    path: Path,
    target: Target,
    role: Role,
    image: &str,
    before: &str,
) -> String {
    let changed = expect(path, target, role) == Expect::Done && target != Target::Staging;
    match path {
        Path::RollbackTo if changed => door.pinned(1),
        _ if changed => image.to_string(),
        _ => before.to_string(),
    }
}

async fn each_path(path: Path) {
    for target in [Target::Prod, Target::Stream, Target::Staging] {
        if !applies(path, target) {
            continue;
        }
        let mut door = Door::start().await;
        if path == Path::Reclassify {
            let late_to = match target {
                Target::Staging => "staging",
                _ => "prod",
            };
            door.route_late_to(late_to).await;
        }
        for role in ROLES {
            let before = door.prod_resolves().await;
            let label = format!("{path:?}-{target:?}-{role:?}");
            let (answer, image) = door.act(path, target, role, &label).await;
            check(path, target, role, &answer);
            let after = door.prod_resolves().await;
            let wanted = prod_after(&door, path, target, role, &image, &before);
            assert_eq!(
                after, wanted,
                "{path:?} into {target:?} as {role:?}: prod resolves"
            );
        }
        // Whatever was refused, the registry still serves what prod deploys.
        let deployed = door.prod_resolves().await;
        if let Some(digest) = deployed.strip_prefix(&format!("{}/shop/api@", door.host)) {
            let response = door
                .registry(Role::Admin)
                .request(Method::GET, &format!("/v2/shop/api/manifests/{digest}"))
                .header("accept", wharf_oci::OCI_MANIFEST)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "{path:?}: {deployed} pulls"
            );
        }
        door.server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn registrations_by_every_variant() {
    for path in [
        Path::CiCdRegister,
        Path::GitRef,
        Path::RegisterByEnv,
        Path::RegisterByStream,
        Path::RegisterV2,
        Path::ArtifactsPush,
        Path::Attach,
    ] {
        each_path(path).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn promotions_reclassification_rollbacks_and_deletes() {
    for path in [
        Path::PromoteV1,
        Path::PromoteV2,
        Path::Reclassify,
        Path::Rollback,
        Path::RollbackTo,
        Path::Delete,
    ] {
        each_path(path).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_deletes_and_tag_moves_in_the_built_in_registry() {
    for path in [Path::ManifestDelete, Path::TagMove] {
        each_path(path).await;
    }
}

#[test]
fn the_table_covers_every_path_and_each_target_it_can_address() {
    let cases: usize = PATHS
        .iter()
        .map(|p| {
            [Target::Prod, Target::Stream, Target::Staging]
                .iter()
                .filter(|t| applies(*p, **t))
                .count()
        })
        .sum();
    assert_eq!(cases, 15 * 3 - 9);
    // Writing straight into the stream that feeds prod is as guarded as into prod.
    for path in [Path::CiCdRegister, Path::RegisterV2, Path::Attach] {
        assert_eq!(expect(path, Target::Stream, Role::Ci), Expect::Forbidden);
        assert_eq!(expect(path, Target::Stream, Role::Admin), Expect::Done);
    }
}

// The ten findings of issue 24, one regression test each (the table above covers the rest of
// each path's combinations).

impl Door {
    async fn approve(&self, user: &User, id: &str) -> Answer {
        let path = format!("/wharf/v1/approvals/{id}/approve");
        call(&self.server.url(), user, Method::POST, &path, None).await
    }

    async fn pending(&self) -> Vec<Value> {
        let (status, body) = self.admin.get("/wharf/v1/approvals?project=shop").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn promote(&self, role: Role, build: &str) -> Answer {
        let path =
            format!("/cc-ui/v1/artifacts/promote?ciName=api&stackName=shop&artifactId={build}");
        self.as_user(role, Method::POST, &path, None).await
    }
}

/// Finding 1: the stream PRODUCTION feeds prod, so registering into it is writing into prod;
/// through the CLI too; and `[protection.PRODUCTION]` is accepted and protects prod.
#[tokio::test(flavor = "multi_thread")]
async fn finding_1_the_stream_that_feeds_prod_is_protected_with_it() {
    let door = Door::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ci = door.user(Role::Ci);
    let run = support::run(
        support::wharf(&door.server.url(), dir.path())
            .env("WHARF_USERNAME", &ci.username)
            .env("WHARF_TOKEN", &ci.token)
            .args(["register", "--project", "shop", "--service", "api"])
            .args([
                "--image",
                "evil.example/backdoor:latest",
                "--release-stream",
                "PRODUCTION",
            ]),
    );
    assert_eq!(run.code, 3, "a refusal of permission: {}", run.stderr);
    assert!(
        run.stderr.contains("release stream 'PRODUCTION'") && run.stderr.contains("is protected"),
        "{}",
        run.stderr
    );
    assert_eq!(door.prod_resolves().await, door.pinned(3));

    // Only the stream protected: straight into prod is refused all the same.
    door.apply(Variant {
        protected: "PRODUCTION",
        ..BASE
    })
    .await;
    let body = saas("prod", "ENVIRONMENT", "f1", &external("f1"));
    let answer = door
        .as_user(
            Role::Ci,
            Method::POST,
            "/cc-ui/v1/ci-cd/register",
            Some(body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{:?}", answer.body);
    assert!(
        answer.message().contains("'PRODUCTION'"),
        "{}",
        answer.message()
    );
    assert_eq!(door.prod_resolves().await, door.pinned(3));
    door.server.stop().await.unwrap();
}

/// Findings 2 and 8: a promotion of a build registered by a built-in tag is pinned to its
/// digest, completes on SQLite (nothing read on the writer inside the approving
/// transaction), places the digest, and the tag cannot be moved away from under it.
#[tokio::test(flavor = "multi_thread")]
async fn findings_2_and_8_an_approved_tag_is_deployed_by_digest_and_stays() {
    let door = Door::start().await;
    let rm2 = token_for(&door.admin, "rm2").await;
    let asked = door.promote(Role::Ci, &door.staging_ids[0]).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{:?}", asked.body);
    let id = asked.request_id.unwrap();
    let first = door.approve(door.user(Role::ReleaseManager), &id).await;
    assert_eq!(first.body["status"], "PENDING", "{:?}", first.body);
    // It used to wait 30 s on its own writer and answer 500.
    let done = door.approve(&rm2, &id).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["status"], "COMPLETED", "{:?}", done.body);
    assert_eq!(door.prod_resolves().await, door.pinned(4));

    let moved = push_image_answer(&door.registry(Role::Ci), "v4", "f2-retag").await;
    assert_eq!(moved.status, StatusCode::CONFLICT, "{:?}", moved.body);
    assert!(
        moved.message().contains("tag 'v4'") && moved.message().contains("'prod'"),
        "{}",
        moved.message()
    );
    assert_eq!(door.prod_resolves().await, door.pinned(4));
    door.server.stop().await.unwrap();
}

/// Finding 3: an image on another host is never pinned to the built-in registry's digest of
/// the same repository and tag; the digest is read from the registry the URI names.
#[tokio::test(flavor = "multi_thread")]
async fn finding_3_the_digest_comes_from_the_host_the_uri_names() {
    let door = Door::start().await;
    // A registry no server admin added: the server does not read it (nor connect to it, so an
    // image URI cannot make it probe a network); the listener below sees no connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let foreign = format!("{}/shop/api:v4", listener.local_addr().unwrap());
    let build = door
        .register("ENVIRONMENT", "staging", &foreign, "f3")
        .await;
    let answer = door.promote(Role::Ci, &build).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{:?}", answer.body);
    assert!(
        answer
            .message()
            .contains("which is not a registry added to this control plane"),
        "{}",
        answer.message()
    );
    assert!(
        listener.accept().is_err(),
        "the server connected to a registry an image URI merely named"
    );
    assert!(door.pending().await.is_empty(), "no request was made");
    let body = saas(
        "prod",
        "ENVIRONMENT",
        "f3-direct",
        "127.0.0.1:1/shop/api:v2",
    );
    let (status, refused) = door.admin.post("/cc-ui/v1/ci-cd/register", body).await;
    assert_eq!(status, StatusCode::CONFLICT, "even an admin's: {refused}");
    assert_eq!(door.prod_resolves().await, door.pinned(3));
    door.server.stop().await.unwrap();
}

/// Finding 4: reclassifying a build out of prod (its rule changed) is a request too, and it
/// completes by moving the build, after which prod resolves what it had before.
#[tokio::test(flavor = "multi_thread")]
async fn finding_4_reclassifying_out_of_prod_waits_for_approvals() {
    let door = Door::start().await;
    let rm2 = token_for(&door.admin, "rm2").await;
    let hotfix = door
        .register("GIT_REF", "hotfix", &door.built_in(1), "f4")
        .await;
    assert_eq!(
        door.prod_resolves().await,
        door.pinned(1),
        "routed into prod"
    );
    door.apply(Variant {
        hotfix_to: "dev",
        ..BASE
    })
    .await;
    let path = format!("/cc-ui/v1/artifacts/reclassify?artifactCiId={}", door.ci_id);
    let answer = door.as_user(Role::Ci, Method::PUT, &path, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.body["moved"], json!([]));
    let request = &answer.body["requested"][0];
    assert_eq!(request["kind"], "RECLASSIFY");
    assert_eq!(request["sourceId"], hotfix.as_str());
    assert_eq!(
        door.prod_resolves().await,
        door.pinned(1),
        "nothing moved yet"
    );
    let id = request["requestId"].as_str().unwrap();
    door.approve(door.user(Role::ReleaseManager), id).await;
    let done = door.approve(&rm2, id).await;
    assert_eq!(done.body["status"], "COMPLETED", "{:?}", done.body);
    assert_eq!(
        door.prod_resolves().await,
        door.pinned(3),
        "the stream's build again"
    );
    let (status, events) = door
        .admin
        .get("/wharf/v1/events?project=shop&limit=100")
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    assert!(
        events.as_array().unwrap().len() < 100,
        "every event, not a page"
    );
    let mut newest_first = events.as_array().unwrap().iter().rev();
    let moved = newest_first.find(|e| e["type"] == "stage.changed").unwrap();
    assert_eq!(
        moved["data"]["stage"], "dev",
        "the stage it moved into: {moved}"
    );
    door.server.stop().await.unwrap();
}

/// Finding 5: a stage protected with `approvals = 0` still keeps `direct`: rolling back to a
/// build it never deployed (an unclassified one too) is a write straight into it.
#[tokio::test(flavor = "multi_thread")]
async fn finding_5_rollback_to_a_foreign_build_needs_a_direct_role() {
    let door = Door::start().await;
    door.apply(Variant {
        extra: "[protection.staging]\napprovals = 0\ndirect = [\"admin\"]\n",
        ..BASE
    })
    .await;
    let unclassified = door
        .register("GIT_REF", "no-rule-matches", &door.built_in(2), "f5")
        .await;
    for to in [&door.dev_build, &unclassified] {
        let body = json!({"project": "shop", "service": "api", "environment": "staging", "to": to});
        let answer = door
            .as_user(Role::Ci, Method::POST, "/wharf/v1/rollback", Some(body))
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{:?}", answer.body);
        assert!(
            answer.message().contains("straight into it"),
            "{}",
            answer.message()
        );
    }
    // Back to a build staging deployed before: a change like a promotion, and with no
    // approvals asked it goes through, pinned by digest.
    let body = json!({"project": "shop", "service": "api", "environment": "staging"});
    let answer = door
        .as_user(Role::Ci, Method::POST, "/wharf/v1/rollback", Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.body["artifactUri"], door.pinned(3));
    door.server.stop().await.unwrap();
}

/// Finding 6: deleting what prod deploys is a request, and the manifest of a build under
/// review cannot be deleted from the built-in registry; the approvals then complete on an
/// image that still pulls.
#[tokio::test(flavor = "multi_thread")]
async fn finding_6_deletes_wait_and_content_under_review_stays() {
    let mut door = Door::start().await;
    let rm2 = token_for(&door.admin, "rm2").await;
    let path = format!("/cc-ui/v1/artifacts/{}", door.stream_now);
    let deleted = door
        .as_user(Role::ReleaseManager, Method::DELETE, &path, None)
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED, "{:?}", deleted.body);
    assert_eq!(deleted.body["kind"], "DELETE");
    assert_eq!(door.prod_resolves().await, door.pinned(3));

    // v5 is under review and no stage deploys it any more (staging moved on to v6).
    let registry = door.registry(Role::Admin);
    let v5 = push_image(&registry, "v5", "f6-5").await;
    door.images.push(v5.clone());
    push_image(&registry, "v6", "f6-6").await;
    let build = door
        .register("ENVIRONMENT", "staging", &door.built_in(5), "f6-5")
        .await;
    door.register("ENVIRONMENT", "staging", &door.built_in(6), "f6-6")
        .await;
    let asked = door.promote(Role::Ci, &build).await;
    let id = asked.request_id.unwrap();
    let gone = door
        .registry(Role::Ci)
        .request(Method::DELETE, &format!("/v2/shop/api/manifests/{v5}"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::CONFLICT);
    let text = gone.text().await.unwrap();
    assert!(
        text.contains("pending promotion request") && text.contains(&id),
        "{text}"
    );
    door.approve(door.user(Role::ReleaseManager), &id).await;
    let done = door.approve(&rm2, &id).await;
    assert_eq!(done.body["status"], "COMPLETED", "{:?}", done.body);
    assert_eq!(door.prod_resolves().await, door.pinned(5));
    let pulled = registry
        .request(Method::GET, &format!("/v2/shop/api/manifests/{v5}"))
        .header("accept", wharf_oci::OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.status(), StatusCode::OK);
    door.staging_ids.clear();
    door.server.stop().await.unwrap();
}

/// Finding 7: the registrant check follows the image back to its first registration, so one
/// promotion by someone else does not launder it.
#[tokio::test(flavor = "multi_thread")]
async fn finding_7_the_registrant_is_whoever_first_registered_the_image() {
    let door = Door::start().await;
    let rm2 = token_for(&door.admin, "rm2").await;
    let image = external("f7");
    let body = saas("dev", "ENVIRONMENT", "f7", &image);
    let registered = door
        .as_user(
            Role::ReleaseManager,
            Method::POST,
            "/cc-ui/v1/ci-cd/register",
            Some(body),
        )
        .await;
    let dev = registered.body["id"].as_str().unwrap().to_string();
    let path = format!("/cc-ui/v1/artifacts/promote?ciName=api&stackName=shop&artifactId={dev}");
    let staged = call(&door.server.url(), &rm2, Method::POST, &path, None).await;
    assert_eq!(staged.status, StatusCode::OK, "{:?}", staged.body);
    let staging = staged.body["id"].as_str().unwrap();
    let asked = door.promote(Role::Ci, staging).await;
    let id = asked.request_id.unwrap();
    let refused = door.approve(door.user(Role::ReleaseManager), &id).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert!(
        refused.message().contains("registered this image"),
        "{}",
        refused.message()
    );
    let (_, request) = door.admin.get(&format!("/wharf/v1/approvals/{id}")).await;
    let eligible = request["eligibleApprovers"].as_array().unwrap();
    assert!(!eligible.contains(&json!("rm")), "{request}");
    door.server.stop().await.unwrap();
}

/// Finding 9: a rule read and written back unchanged stays the default, so registrations
/// keep routing.
#[tokio::test(flavor = "multi_thread")]
async fn finding_9_a_rule_written_back_as_read_stays_the_default() {
    let door = Door::start().await;
    let (_, rules) = door
        .admin
        .get("/cc-ui/v1/artifact-routing-rule?stackName=shop")
        .await;
    let rule = rules[0].clone();
    assert_eq!(
        (rule["default"].clone(), rule["isDefault"].clone()),
        (json!(true), json!(true))
    );
    let (status, written) = door
        .admin
        .put("/cc-ui/v1/artifact-routing-rule", rule.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{written}");
    let (_, again) = door
        .admin
        .get("/cc-ui/v1/artifact-routing-rule?stackName=shop")
        .await;
    assert_eq!(again[0]["default"], true, "{again}");
    let body = saas("main", "GIT_REF", "f9", &external("f9"));
    let (_, registered) = door.admin.post("/cc-ui/v1/ci-cd/register", body).await;
    assert_eq!(registered["clusterName"], "dev", "{registered}");
    door.server.stop().await.unwrap();
}

/// Moving a protected environment to another release stream changes what it deploys (the
/// stream's builds): a write straight into it, by the API and by a project file alike.
#[tokio::test(flavor = "multi_thread")]
async fn moving_a_protected_environment_to_another_stream_needs_a_direct_role() {
    let door = Door::start().await;
    door.apply(Variant {
        extra: "[[members]]\nuser = \"owner\"\nrole = \"admin\"\n",
        ..BASE
    })
    .await;
    // Only release managers write straight into prod now; the project's admin is not one.
    let variant = Variant {
        extra: "[[members]]\nuser = \"owner\"\nrole = \"admin\"\n",
        ..BASE
    };
    let file = project_file_with(&door.issuer.url("github"), variant)
        .replace("direct = [\"admin\"]", "direct = [\"release-manager\"]");
    let parsed: toml::Value = toml::from_str(&file).unwrap();
    let (status, body) = door
        .admin
        .put(
            "/wharf/v1/projects/shop",
            serde_json::to_value(&parsed).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let owner = token_for(&door.admin, "owner").await;
    let moved = call(
        &door.server.url(),
        &owner,
        Method::PUT,
        "/wharf/v1/projects/shop/environments/prod",
        Some(json!({"releaseStream": "QA"})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::FORBIDDEN, "{:?}", moved.body);
    assert!(
        moved.message().contains("move it to another stream"),
        "{}",
        moved.message()
    );
    let by_file = file.replace(
        "name = \"prod\"\nrelease_stream = \"PRODUCTION\"",
        "name = \"prod\"\nrelease_stream = \"QA\"",
    );
    let parsed: toml::Value = toml::from_str(&by_file).unwrap();
    let applied = call(
        &door.server.url(),
        &owner,
        Method::PUT,
        "/wharf/v1/projects/shop",
        Some(serde_json::to_value(&parsed).unwrap()),
    )
    .await;
    assert_eq!(applied.status, StatusCode::FORBIDDEN, "{:?}", applied.body);
    assert_eq!(
        door.prod_resolves().await,
        door.pinned(3),
        "prod still reads PRODUCTION"
    );
    door.server.stop().await.unwrap();
}

/// Issue 26, finding 7: raising a stage's `approvals` holds open requests to the new count
/// (the stricter of the two); lowering it completes none early.
#[tokio::test(flavor = "multi_thread")]
async fn raising_approvals_holds_open_requests_to_the_new_count() {
    let door = Door::start().await;
    let rm2 = token_for(&door.admin, "rm2").await;
    door.apply(Variant {
        extra: "[[members]]\nuser = \"rm3\"\nrole = \"release-manager\"\n",
        ..BASE
    })
    .await;
    let rm3 = token_for(&door.admin, "rm3").await;
    let asked = door.promote(Role::Ci, &door.staging_ids[0]).await;
    let id = asked.request_id.unwrap();
    let raised = project_file_with(
        &door.issuer.url("github"),
        Variant {
            extra: "[[members]]\nuser = \"rm3\"\nrole = \"release-manager\"\n",
            ..BASE
        },
    )
    .replace("approvals = 2", "approvals = 3");
    let parsed: toml::Value = toml::from_str(&raised).unwrap();
    let (status, body) = door
        .admin
        .put(
            "/wharf/v1/projects/shop",
            serde_json::to_value(parsed).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    door.approve(door.user(Role::ReleaseManager), &id).await;
    let second = door.approve(&rm2, &id).await;
    assert_eq!(second.body["status"], "PENDING", "{:?}", second.body);
    assert_eq!(second.body["required"], 3);
    let third = door.approve(&rm3, &id).await;
    assert_eq!(third.body["status"], "COMPLETED", "{:?}", third.body);
    door.server.stop().await.unwrap();
}

impl Door {
    /// The base project file with `[protection.prod]`'s `direct` line followed by `lines`.
    fn with_protection_lines(&self, lines: &str) -> String {
        project_file_with(&self.issuer.url("github"), BASE).replace(
            "direct = [\"admin\"]\n",
            &format!("direct = [\"admin\"]\n{lines}\n"),
        )
    }

    async fn apply_text(&self, text: &str) -> (StatusCode, Value) {
        let parsed: toml::Value = toml::from_str(text).unwrap();
        self.admin
            .put(
                "/wharf/v1/projects/shop",
                serde_json::to_value(parsed).unwrap(),
            )
            .await
    }

    async fn reject(&self, user: &User, id: &str) -> Answer {
        let path = format!("/wharf/v1/approvals/{id}/reject");
        let body = Some(json!({"reason": "not this one"}));
        call(&self.server.url(), user, Method::POST, &path, body).await
    }
}

/// Issue 26, "untested branches of protection": the `promoters` list, the requester
/// withdrawing (and a stranger refused), both self-approval switches turned on, and each
/// refusal of the protection block's validation.
#[tokio::test(flavor = "multi_thread")]
async fn promoters_withdrawal_self_approval_switches_and_validation() {
    let door = Door::start().await;
    let rm2 = token_for(&door.admin, "rm2").await;

    let (status, body) = door
        .apply_text(&door.with_protection_lines("promoters = [\"release-manager\"]"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refused = door.promote(Role::Ci, &door.staging_ids[0]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert!(
        refused
            .message()
            .contains("promote into it needs role 'release-manager'"),
        "{}",
        refused.message()
    );
    let body = json!({"project": "shop", "service": "api", "environment": "prod"});
    let refused = door
        .as_user(Role::Ci, Method::POST, "/wharf/v1/rollback", Some(body))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert!(
        refused
            .message()
            .contains("roll it back needs role 'release-manager'"),
        "{}",
        refused.message()
    );
    let asked = door
        .promote(Role::ReleaseManager, &door.staging_ids[0])
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{:?}", asked.body);
    let id = asked.request_id.unwrap();
    // A stranger to the request (no approver role, not its requester) may not reject it.
    let stranger = door.reject(door.user(Role::Keyless), &id).await;
    assert_eq!(
        stranger.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        stranger.body
    );
    let closed = door.reject(door.user(Role::ReleaseManager), &id).await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    // A requester withdraws their own request, with no approver role needed.
    let (status, body) = door.apply_text(&door.with_protection_lines("")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ci_asked = door.promote(Role::Ci, &door.staging_ids[0]).await;
    let ci_id = ci_asked.request_id.unwrap();
    let withdrawn = door.reject(door.user(Role::Ci), &ci_id).await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{:?}", withdrawn.body);
    assert_eq!(withdrawn.body["status"], "REJECTED");

    // requester_may_approve: the requester's own approval counts.
    let (status, body) = door
        .apply_text(&door.with_protection_lines("requester_may_approve = true"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let own = door
        .promote(Role::ReleaseManager, &door.staging_ids[0])
        .await;
    let own_id = own.request_id.unwrap();
    let approved = door.approve(door.user(Role::ReleaseManager), &own_id).await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert_eq!(approved.body["approvals"][0]["username"], "rm");

    // registrant_may_approve: whoever registered the image may approve its promotion.
    let (status, body) = door
        .apply_text(&door.with_protection_lines("registrant_may_approve = true"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let registered = call(
        &door.server.url(),
        &rm2,
        Method::POST,
        "/cc-ui/v1/ci-cd/register",
        Some(saas(
            "staging",
            "ENVIRONMENT",
            "by-rm2",
            &external("by-rm2"),
        )),
    )
    .await;
    let mine = registered.body["id"].as_str().unwrap().to_string();
    let asked = door.promote(Role::Ci, &mine).await;
    let mine_id = asked.request_id.unwrap();
    let approved = door.approve(&rm2, &mine_id).await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);

    // The block's validation: each refusal names the field and the fix; nothing is applied.
    for (lines, says) in [
        (
            "approval_ttl_hours = 0",
            "protection.prod.approval_ttl_hours is 0: use 1 to 8760",
        ),
        (
            "promoters = [\"no-such-role\"]",
            "role 'no-such-role' does not exist",
        ),
    ] {
        let (status, body) = door.apply_text(&door.with_protection_lines(lines)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{lines}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{lines}: {body}"
        );
    }
    let base = project_file_with(&door.issuer.url("github"), BASE);
    for (from, to, says) in [
        (
            "approvals = 2",
            "approvals = 11",
            "protection.prod.approvals is 11: at most 10",
        ),
        (
            "approvers = [\"release-manager\"]",
            "approvers = []",
            "protection.prod.approvers is empty but approvals = 2",
        ),
        (
            "[protection.prod]",
            "[protection.nowhere]",
            "protection.nowhere: 'nowhere' is not an environment or release stream",
        ),
    ] {
        let (status, body) = door.apply_text(&base.replace(from, to)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{to}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{to}: {body}"
        );
    }
    let (_, protection) = door.admin.get("/wharf/v1/projects/shop/protection").await;
    assert_eq!(
        protection["prod"]["registrant_may_approve"], true,
        "the last good file holds: {protection}"
    );
    door.server.stop().await.unwrap();
}

/// The registration preview writes nothing but is still a registration's check: a viewer is
/// refused it (403), and a `ci` member sees where a build would go, writing nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_registration_preview_needs_the_registering_permission() {
    let door = Door::start().await;
    let body = saas("prod", "ENVIRONMENT", "preview-1", &external("preview-1"));
    let viewer = door
        .as_user(
            Role::Viewer,
            Method::POST,
            "/wharf/v1/register/preview",
            Some(body.clone()),
        )
        .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN, "{:?}", viewer.body);
    let ci = door
        .as_user(
            Role::Ci,
            Method::POST,
            "/wharf/v1/register/preview",
            Some(body),
        )
        .await;
    assert_eq!(ci.status, StatusCode::OK, "{:?}", ci.body);
    assert_eq!(ci.body["routedTo"], "prod");
    assert_eq!(
        door.prod_resolves().await,
        door.pinned(3),
        "nothing was written"
    );
    door.server.stop().await.unwrap();
}
