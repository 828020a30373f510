//! `wharf-action` end to end: a GitHub Actions job's environment simulated → the binary → a
//! real control plane on loopback → the build asserted in the store, with the runner's output
//! and summary files read back.
//!
//! The GitHub API is the one test double here (GitHub cannot run on this machine): a local
//! server that answers the deployment calls as api.github.com does, under a GitHub Enterprise
//! style `/api/v3` prefix, and records them.

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use tempfile::TempDir;
use wharf_client::{BuildQuery, Client, RetryPolicy, Secret};
use wharf_control_plane::{RunningServer, ServeOptions};

/// A Facets-shaped control plane (a double: Facets is hosted), shared with the end-to-end tests.
#[allow(dead_code)]
#[path = "../../../tests/support/facets.rs"]
mod facets;

const ADMIN_TOKEN: &str = "admin-secret-token-0001";
const GITHUB_TOKEN: &str = "ghs_secret_github_token_0003";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct ControlPlane {
    server: RunningServer,
    _data: TempDir,
    /// A token of the shop's `ci-bot` member (role `ci`), as a pipeline would hold.
    ci_token: String,
}

impl ControlPlane {
    async fn start() -> Self {
        Self::start_with("").await
    }

    /// The shop project with `extra` appended to its project file.
    async fn start_with(extra: &str) -> Self {
        let data = tempfile::tempdir().unwrap();
        let file = data.path().join("wharf.toml");
        let shop = std::fs::read_to_string(repo_root().join("examples/shop/wharf.toml")).unwrap();
        std::fs::write(&file, shop + extra).unwrap();
        let options = ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: wharf_control_plane::Database::Sqlite(data.path().to_path_buf()),
            blob_dir: data.path().join("registry"),
            blob_store: None,
            project_file: Some(file),
            admin: Some(("admin".into(), ADMIN_TOKEN.into())),
            ephemeral_admin: None,
            listener: Default::default(),
            secrets: None,
            webhooks: Default::default(),
            store: Default::default(),
        };
        let server = wharf_control_plane::start(options).await.unwrap();
        let created = admin_client(&server.url())
            .create_token(Some("github"), Some("ci-bot"), None)
            .await
            .unwrap();
        Self {
            server,
            _data: data,
            ci_token: created["token"].as_str().unwrap().to_string(),
        }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    fn job(&self, github_api: &str) -> Job {
        Job::new(&self.url(), &self.ci_token, github_api)
    }

    async fn builds(&self) -> Vec<Value> {
        let client = admin_client(&self.url());
        let builds = client
            .builds("shop", "api", &BuildQuery::default())
            .await
            .unwrap();
        builds
            .iter()
            .map(|b| serde_json::to_value(b).unwrap())
            .collect()
    }
}

fn admin_client(url: &str) -> Client {
    Client::new(
        url,
        "admin",
        Secret::new(ADMIN_TOKEN),
        RetryPolicy::default(),
    )
    .unwrap()
}

/// What the fake GitHub API received.
#[derive(Default)]
struct Recorded {
    calls: Vec<(String, Value, String)>,
    refuse: bool,
}

type Shared = Arc<Mutex<Recorded>>;

async fn start_fake_github(refuse: bool) -> (String, Shared) {
    let recorded: Shared = Arc::new(Mutex::new(Recorded {
        refuse,
        ..Default::default()
    }));
    let app = Router::new()
        .route(
            "/api/v3/repos/{owner}/{repo}/deployments",
            post(create_deployment),
        )
        .route(
            "/api/v3/repos/{owner}/{repo}/deployments/{id}/statuses",
            post(create_status),
        )
        .with_state(recorded.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/api/v3"), recorded)
}

fn record(state: &Shared, path: String, headers: &HeaderMap, body: Value) -> bool {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let mut recorded = state.lock().unwrap();
    recorded.calls.push((path, body, auth));
    recorded.refuse
}

async fn create_deployment(
    State(state): State<Shared>,
    UrlPath((owner, repo)): UrlPath<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let path = format!("/repos/{owner}/{repo}/deployments");
    if record(&state, path.clone(), &headers, body) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({
                "message": "Resource not accessible by integration",
                "documentation_url": "https://docs.github.com/rest/deployments"
            })),
        );
    }
    let url = format!("https://api.github.example{path}/4242");
    (StatusCode::CREATED, Json(json!({"id": 4242, "url": url})))
}

async fn create_status(
    State(state): State<Shared>,
    UrlPath((owner, repo, id)): UrlPath<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let path = format!("/repos/{owner}/{repo}/deployments/{id}/statuses");
    record(&state, path, &headers, body);
    (
        StatusCode::CREATED,
        Json(json!({"id": 1, "state": "success"})),
    )
}

/// A GitHub-hosted job on a push to `main`, with the Action's inputs mapped to variables as
/// `action.yml` maps them (an input left unset arrives as an empty string).
struct Job {
    dir: TempDir,
    env: BTreeMap<String, String>,
    ci_token: String,
}

struct Finished {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: BTreeMap<String, String>,
    summary: String,
}

impl Job {
    fn new(control_plane: &str, ci_token: &str, github_api: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(&event, r#"{"repository":{"full_name":"acme/shop"}}"#).unwrap();
        let mut env = BTreeMap::new();
        let mut set = |k: &str, v: &str| {
            env.insert(k.to_string(), v.to_string());
        };
        set("CI", "true");
        set("GITHUB_ACTIONS", "true");
        set("GITHUB_EVENT_NAME", "push");
        set("GITHUB_EVENT_PATH", &event.display().to_string());
        set("GITHUB_REF", "refs/heads/main");
        set("GITHUB_REF_NAME", "main");
        set("GITHUB_REF_TYPE", "branch");
        set("GITHUB_SHA", SHA);
        set("GITHUB_REPOSITORY", "acme/shop");
        set("GITHUB_RUN_ID", "9137712345");
        set("GITHUB_RUN_ATTEMPT", "1");
        set("GITHUB_SERVER_URL", "https://github.example");
        set("GITHUB_API_URL", github_api);
        set("GITHUB_ACTOR", "octocat");
        set(
            "GITHUB_OUTPUT",
            &dir.path().join("output").display().to_string(),
        );
        set(
            "GITHUB_STEP_SUMMARY",
            &dir.path().join("summary").display().to_string(),
        );
        for input in [
            "WHARF_CI_NAME",
            "WHARF_GIT_REF",
            "WHARF_ENVIRONMENT",
            "WHARF_RELEASE_STREAM",
            "WHARF_EXTERNAL_ID",
            "WHARF_REGISTRY",
            "WHARF_DESCRIPTION",
            "WHARF_PUSH_TAG",
            "WHARF_PLATFORM",
            "WHARF_SKIP_WITHOUT_CREDENTIALS",
        ] {
            set(input, "");
        }
        set("WHARF_CONTROL_PLANE_URL", control_plane);
        set("WHARF_USERNAME", "ci-bot");
        set("WHARF_TOKEN", ci_token);
        set("WHARF_PROJECT", "shop");
        set("WHARF_SERVICE", "api");
        set("WHARF_IMAGE", "ghcr.io/acme/shop-api:1.4.2");
        set("WHARF_PUSH", "false");
        set("WHARF_REQUIRE_ROUTE", "false");
        set("WHARF_DEPLOYMENT", "false");
        set("WHARF_GITHUB_TOKEN", GITHUB_TOKEN);
        set("WHARF_RETRIES", "1");
        Self {
            dir,
            env,
            ci_token: ci_token.to_string(),
        }
    }

    fn set(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Runs the binary off the test's runtime, so the in-process servers keep answering.
    async fn run(&self) -> Finished {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wharf-action"));
        command
            .env_clear()
            .envs(&self.env)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(self.dir.path());
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        let finished = Finished {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into(),
            stderr: String::from_utf8_lossy(&output.stderr).into(),
            outputs: parse_outputs(&read("output")),
            summary: read("summary"),
        };
        finished.assert_secrets_only_masked(&self.ci_token);
        finished
    }
}

/// Reads the `name<<DELIMITER … DELIMITER` blocks of a `GITHUB_OUTPUT` file.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(header) = lines.next() {
        let (name, delimiter) = header.split_once("<<").expect("a delimited output");
        let value: Vec<_> = lines.by_ref().take_while(|l| *l != delimiter).collect();
        outputs.insert(name.to_string(), value.join("\n"));
    }
    outputs
}

impl Finished {
    /// Secrets appear only in `::add-mask::` commands, which come before any other line.
    fn assert_secrets_only_masked(&self, ci_token: &str) {
        for secret in [ci_token, ADMIN_TOKEN, GITHUB_TOKEN] {
            assert!(
                !self.stderr.contains(secret),
                "secret on stderr:\n{}",
                self.stderr
            );
            assert!(!self.summary.contains(secret), "secret in the summary");
            assert!(
                !self.outputs.values().any(|v| v.contains(secret)),
                "secret in an output"
            );
            for line in self.stdout.lines().filter(|l| l.contains(secret)) {
                assert_eq!(line, format!("::add-mask::{secret}"), "secret unmasked");
            }
        }
        let lines: Vec<_> = self.stdout.lines().collect();
        let first_other = lines.iter().position(|l| !l.starts_with("::add-mask::"));
        let last_mask = lines.iter().rposition(|l| l.starts_with("::add-mask::"));
        if let (Some(other), Some(mask)) = (first_other, last_mask) {
            assert!(mask < other, "a mask came after output:\n{}", self.stdout);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_to_main_is_registered_routed_and_deployed() {
    let plane = ControlPlane::start().await;
    let (github, recorded) = start_fake_github(false).await;
    let job = plane.job(&github).set("WHARF_DEPLOYMENT", "true");

    let done = job.run().await;
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    assert!(
        done.stdout
            .contains(&format!("::add-mask::{}", plane.ci_token))
    );
    assert!(done.stdout.contains(&format!("::add-mask::{GITHUB_TOKEN}")));

    let builds = plane.builds().await;
    assert_eq!(builds.len(), 1);
    let build = &builds[0];
    assert_eq!(build["artifactUri"], "ghcr.io/acme/shop-api:1.4.2");
    assert_eq!(build["externalId"], "9137712345", "the run id, by default");
    assert_eq!(build["routedTo"], "dev");
    assert_eq!(build["createdBy"], "ci-bot");
    assert_eq!(
        done.outputs["artifact-id"],
        build["artifactId"].as_str().unwrap()
    );
    assert_eq!(done.outputs["routed-to"], "dev");
    assert_eq!(done.outputs["classified"], "true");
    assert_eq!(done.outputs["image-uri"], "ghcr.io/acme/shop-api:1.4.2");
    assert_eq!(done.outputs["digest"], "");

    assert!(done.summary.contains("### wharf: shop/api registered"));
    assert!(done.summary.contains("**dev** (rule `shop-branches`)"));
    assert!(
        done.summary
            .contains("https://github.example/acme/shop/actions/runs/9137712345")
    );

    let calls = &recorded.lock().unwrap().calls;
    assert_eq!(calls.len(), 2, "a deployment, then its status: {calls:?}");
    let (path, body, auth) = &calls[0];
    assert_eq!(path, "/repos/acme/shop/deployments");
    assert_eq!(auth, &format!("Bearer {GITHUB_TOKEN}"));
    assert_eq!(body["ref"], SHA);
    assert_eq!(body["environment"], "dev");
    assert_eq!(body["auto_merge"], false);
    assert_eq!(body["required_contexts"], json!([]));
    assert_eq!(body["payload"]["artifactId"], build["artifactId"]);
    let (path, body, _) = &calls[1];
    assert_eq!(path, "/repos/acme/shop/deployments/4242/statuses");
    assert_eq!(body["state"], "success");
    assert_eq!(body["environment"], "dev");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_re_run_of_the_job_registers_nothing_new() {
    let plane = ControlPlane::start().await;
    let (github, _) = start_fake_github(false).await;
    let job = plane.job(&github).set("GITHUB_RUN_ATTEMPT", "1");
    let first = job.run().await;
    assert_eq!(first.code, 0, "{}", first.stdout);
    let job = job.set("GITHUB_RUN_ATTEMPT", "2");
    let second = job.run().await;
    assert_eq!(second.code, 0, "{}", second.stdout);
    assert!(
        second.stdout.contains("already registered"),
        "{}",
        second.stdout
    );
    assert_eq!(plane.builds().await.len(), 1);
    assert!(
        second
            .summary
            .contains("already registered by an earlier attempt")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn conflicting_inputs_are_refused_by_their_input_names() {
    let plane = ControlPlane::start().await;
    let (github, _) = start_fake_github(false).await;
    let done = plane
        .job(&github)
        .set("WHARF_GIT_REF", "main")
        .set("WHARF_ENVIRONMENT", "prod")
        .run()
        .await;
    assert_eq!(done.code, 2);
    assert!(
        done.stdout.contains(
            "::error title=wharf%3A usage (exit 2)::the 'git-ref' input and the 'environment' input"
        ),
        "{}",
        done.stdout
    );
    assert!(done.summary.contains("registration failed"));
    assert!(plane.builds().await.is_empty(), "nothing half-written");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_boolean_input_is_refused() {
    let done = Job::new(
        "http://127.0.0.1:9",
        "not-a-token-0004",
        "http://127.0.0.1:9",
    )
    .set("WHARF_PUSH", "yes")
    .run()
    .await;
    assert_eq!(done.code, 2);
    assert!(
        done.stdout
            .contains("input 'push' must be true or false, not 'yes'")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_token_on_a_push_shows_the_secret_expression_untouched() {
    let plane = ControlPlane::start().await;
    let (github, _) = start_fake_github(false).await;
    let done = plane.job(&github).set("WHARF_TOKEN", "").run().await;
    assert_eq!(done.code, 2, "{}", done.stdout);
    // The example a user copies into the workflow keeps the secret's name; only the words
    // around it speak of inputs.
    assert!(
        done.stdout.contains(
            "::error title=wharf%3A usage (exit 2)::the 'token' input is empty: pass token: \
             ${{ secrets.WHARF_TOKEN }} (a secret, never a literal)"
        ),
        "{}",
        done.stdout
    );
    assert!(!done.stdout.contains("secrets.the"), "{}", done.stdout);
    assert!(plane.builds().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_token_with_id_token_write_logs_in_keyless() {
    // The keyless login itself (exchange, registration) is tested end to end in
    // tests/keyless.rs; here: the action takes that path when GitHub offers an identity token,
    // and a refused token request says why without showing the request token.
    let plane = ControlPlane::start().await;
    let (github, _) = start_fake_github(false).await;
    let done = plane
        .job(&github)
        .set("WHARF_TOKEN", "")
        .set("WHARF_USERNAME", "")
        .set(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            &format!("{github}/no-token-here?api-version=2.0"),
        )
        .set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-SECRET-0004")
        .run()
        .await;
    assert_eq!(done.code, 3, "{}", done.stdout);
    assert!(
        done.stdout.contains("identity token request") && done.stdout.contains("id-token: write"),
        "{}",
        done.stdout
    );
    assert!(!done.stdout.contains("request-SECRET"), "{}", done.stdout);
    assert!(!done.stderr.contains("request-SECRET"), "{}", done.stderr);
    assert!(plane.builds().await.is_empty());
}

fn forked_pull_request(job: Job) -> Job {
    let event = job.dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"pull_request":{"number":7,"head":{"ref":"feature/x","sha":"0123456789abcdef0123456789abcdef01234567","repo":{"full_name":"mallory/shop"}},"base":{"ref":"main"}},"repository":{"full_name":"acme/shop"}}"#,
    )
    .unwrap();
    job.set("GITHUB_EVENT_NAME", "pull_request")
        .set("GITHUB_REF", "refs/pull/7/merge")
        .set("GITHUB_HEAD_REF", "feature/x")
        .set("GITHUB_BASE_REF", "main")
        .set("WHARF_TOKEN", "")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forked_pull_request_without_secrets_fails_clearly_or_skips_when_allowed() {
    let plane = ControlPlane::start().await;
    let (github, _) = start_fake_github(false).await;
    let failed = forked_pull_request(plane.job(&github)).run().await;
    assert_eq!(failed.code, 2);
    assert!(failed.stdout.contains("mallory/shop"), "{}", failed.stdout);
    assert!(failed.stdout.contains("skip-without-credentials"));

    let skipped = forked_pull_request(plane.job(&github))
        .set("WHARF_SKIP_WITHOUT_CREDENTIALS", "true")
        .run()
        .await;
    assert_eq!(skipped.code, 0, "{}", skipped.stdout);
    assert!(
        skipped
            .stdout
            .contains("::warning title=wharf%3A skipped::")
    );
    assert!(skipped.summary.contains("### wharf: skipped"));
    assert!(plane.builds().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_deployment_fails_the_step_but_keeps_the_registration_and_outputs() {
    let plane = ControlPlane::start().await;
    let (github, _) = start_fake_github(true).await;
    let done = plane
        .job(&github)
        .set("WHARF_DEPLOYMENT", "true")
        .run()
        .await;
    assert_eq!(done.code, 3, "{}", done.stdout);
    assert!(
        done.stdout.contains("deployments: write"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout
            .contains("Resource not accessible by integration")
    );
    assert_eq!(plane.builds().await.len(), 1);
    assert_eq!(done.outputs["routed-to"], "dev");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unclassified_build_warns_and_creates_no_deployment() {
    let plane = ControlPlane::start().await;
    let (github, recorded) = start_fake_github(false).await;
    let done = plane
        .job(&github)
        .set("WHARF_GIT_REF", "experiment/42")
        .set("WHARF_DEPLOYMENT", "true")
        .run()
        .await;
    assert_eq!(done.code, 0, "{}", done.stdout);
    assert!(
        done.stdout
            .contains("::warning title=wharf%3A build unclassified::")
    );
    assert_eq!(done.outputs["classified"], "false");
    assert_eq!(done.outputs["routed-to"], "");
    assert!(recorded.lock().unwrap().calls.is_empty());
    assert!(done.summary.contains("_unclassified_"));
}

/// Against a Facets-shaped control plane: the outputs name the environment from its id, and a
/// name that cannot be read is a warning, not a failure.
#[tokio::test(flavor = "multi_thread")]
async fn against_facets_the_outputs_name_the_environment() {
    let (github, _) = start_fake_github(false).await;
    for clusters_fail in [false, true] {
        let double = facets::FacetsServer::serve(facets::Behaviour {
            clusters_fail,
            ..Default::default()
        })
        .await;
        let job = Job::new(&double.url, facets::TOKEN, &github).set("WHARF_USERNAME", facets::USER);
        let done = job.run().await;
        assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
        assert_eq!(done.outputs["artifact-id"], "1001", "{:?}", done.outputs);
        if clusters_fail {
            assert_eq!(done.outputs["routed-to"], "");
            assert!(
                done.stdout.contains("::warning") && done.stdout.contains("e-101"),
                "{}",
                done.stdout
            );
        } else {
            assert_eq!(done.outputs["routed-to"], "dev", "{:?}", done.outputs);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_promotion_into_a_protected_stage_is_a_pending_deployment() {
    let plane = ControlPlane::start_with(
        "\n[protection.prod]\napprovals = 2\napprovers = [\"release-manager\"]\n",
    )
    .await;
    let (github, recorded) = start_fake_github(false).await;
    let image = format!("ghcr.io/acme/shop-api@sha256:{}", "ab".repeat(32));
    let job = plane
        .job(&github)
        .set("WHARF_IMAGE", &image)
        .set("WHARF_PROMOTE_TO", "prod")
        .set("WHARF_DEPLOYMENT", "true");

    let done = job.run().await;
    assert_eq!(
        done.code, 0,
        "a pending promotion is no failure: {}\n{}",
        done.stdout, done.stderr
    );
    let request = &done.outputs["promotion-request"];
    assert!(!request.is_empty(), "{:?}", done.outputs);
    assert!(!done.outputs.contains_key("promoted-to"));
    assert!(
        done.stdout.contains("waits for 2 approval(s)"),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains(&format!("wharf approve {request}")));

    let calls = &recorded.lock().unwrap().calls;
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].1["environment"], "prod");
    assert_eq!(calls[1].1["state"], "pending");
    assert!(
        calls[1].1["description"]
            .as_str()
            .unwrap()
            .contains(request.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_promotion_into_an_open_stage_deploys_it() {
    let plane = ControlPlane::start().await;
    let (github, recorded) = start_fake_github(false).await;
    let job = plane
        .job(&github)
        .set("WHARF_PROMOTE_TO", "staging")
        .set("WHARF_DEPLOYMENT", "true");
    let done = job.run().await;
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    assert_eq!(done.outputs["promoted-to"], "staging");
    let calls = &recorded.lock().unwrap().calls;
    assert_eq!(calls[0].1["environment"], "staging");
    assert_eq!(calls[1].1["state"], "success");
}
