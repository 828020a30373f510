//! What the end-to-end tests share: a real control plane on loopback, the real `wharf` binary
//! with a cleared environment, and a small HTTP/1.1 proxy that counts requests and injects
//! faults between them.
#![allow(dead_code)]

pub mod client;
pub mod facets;
pub mod oci_layout;
pub mod oidc;
pub mod proxy;
pub mod registry;
pub mod ui;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;
use wharf_control_plane::{RunningServer, ServeOptions};

pub const ADMIN: &str = "admin";

/// An HTTP client for the tests' own calls, on the TLS provider wharf installs.
pub fn http() -> reqwest::Client {
    wharf_http::install_tls_provider();
    reqwest::Client::new()
}
/// Distinctive, so a leak into any output is easy to find.
pub const TOKEN: &str = "tok-e2e-SECRET-4f7c2a9d1b";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn shop_file() -> PathBuf {
    repo_root().join("examples/shop/wharf.toml")
}

/// A `wharf serve` equivalent running in this test process, on its own runtime.
pub struct TestServer {
    pub runtime: tokio::runtime::Runtime,
    pub server: Option<RunningServer>,
    pub data: TempDir,
}

impl TestServer {
    /// Serves the shop example on a free loopback port.
    pub fn shop() -> Self {
        Self::with_file(Some(shop_file()))
    }

    pub fn with_file(project_file: Option<PathBuf>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let database = runtime.block_on(test_database(data.path()));
        let options = serve_options(&database, data.path(), project_file);
        let server = runtime
            .block_on(wharf_control_plane::start(options))
            .unwrap();
        Self {
            runtime,
            server: Some(server),
            data,
        }
    }

    /// `user` (made when missing) with `role` on `project`: a token of their own.
    pub fn member(&self, user: &str, project: &str, role: &str) -> String {
        let api = client::Api::new(self.url());
        self.runtime
            .block_on(api.member(project, user, role))
            .user
            .token
    }

    pub fn url(&self) -> String {
        self.server.as_ref().unwrap().url()
    }

    /// Every build in the store, counted directly (not through the API under test).
    pub fn stored_builds(&self) -> i64 {
        let store = self.server.as_ref().unwrap().store().clone();
        self.runtime.block_on(store.total_artifacts()).unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let stopped = self.runtime.block_on(server.stop());
            if !std::thread::panicking() {
                stopped.expect("the test server stops cleanly");
            }
        }
    }
}

/// The real `wharf` binary with nothing from the test's environment but `PATH`.
pub fn wharf(control_plane: &str, dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("WHARF_CONTROL_PLANE_URL", control_plane)
        .env("WHARF_USERNAME", ADMIN)
        .env("WHARF_TOKEN", TOKEN)
        .env("WHARF_RETRY_BASE_MS", "5")
        .current_dir(dir);
    command
}

/// A run's exit code, stdout and stderr, with the token checked absent from both.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub fn run(command: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("wharf runs");
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    assert!(
        !run.stdout.contains(TOKEN),
        "token leaked to stdout:\n{}",
        run.stdout
    );
    assert!(
        !run.stderr.contains(TOKEN),
        "token leaked to stderr:\n{}",
        run.stderr
    );
    run
}

/// `wharf register --project shop --service api --image IMAGE --output json` plus `extra`.
pub fn register(control_plane: &str, dir: &Path, image: &str, extra: &[&str]) -> Run {
    shop_api("register", control_plane, dir, image, extra)
}

/// `wharf push` of `image` into the shop's `api`, with JSON output and `extra` flags.
pub fn push(control_plane: &str, dir: &Path, image: &str, extra: &[&str]) -> Run {
    shop_api("push", control_plane, dir, image, extra)
}

fn shop_api(verb: &str, control_plane: &str, dir: &Path, image: &str, extra: &[&str]) -> Run {
    let mut command = wharf(control_plane, dir);
    command.args([
        verb,
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        image,
    ]);
    command.args(["--output", "json"]).args(extra);
    run(&mut command)
}

/// The secret key of the in-process test servers (registry passwords are sealed with it).
pub fn test_secret_keys() -> wharf_control_plane::domain::secrets::SecretKeys {
    use wharf_control_plane::domain::secrets::{SecretKey, SecretKeys};
    SecretKeys::new(SecretKey::from_bytes([0x5e; 32]), None)
}

/// For async tests: the shop control plane on the test's own runtime.
pub async fn start_shop() -> (RunningServer, TempDir) {
    let data = tempfile::tempdir().unwrap();
    let database = test_database(data.path()).await;
    let options = serve_options(&database, data.path(), Some(shop_file()));
    (wharf_control_plane::start(options).await.unwrap(), data)
}

/// The options of an in-process test server: `database`, blobs under `data`, the test admin
/// and secret key, and `project_file` applied on start.
/// The one way every test server is configured: loopback on a free port, the test admin, the
/// test secret keys, blobs under `data`.
pub fn serve_options(
    database: &wharf_control_plane::Database,
    data: &Path,
    project_file: Option<PathBuf>,
) -> ServeOptions {
    ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: database.clone(),
        blob_dir: data.join("registry"),
        blob_store: None,
        project_file,
        admin: Some((ADMIN.into(), TOKEN.into())),
        ephemeral_admin: None,
        listener: Default::default(),
        secrets: Some(test_secret_keys()),
        webhooks: wharf_control_plane::WebhookOptions {
            secrets: Some(webhook_secrets()),
            worker: wharf_control_plane::webhooks::WorkerOptions {
                second: std::time::Duration::from_millis(2),
                ..Default::default()
            },
        },
        store: Default::default(),
    }
}

/// The webhook secrets the test servers read (`secret_env` → value): a table, so tests never
/// touch the process's environment. The retry schedule runs in milliseconds (2 ms a second).
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const WEBHOOK_SECRET_ROTATED: &str = "whsec_dGhlIG5ldyBzZWNyZXQgb2YgdGhlIHdlYmhvb2sh";

pub fn webhook_secrets() -> std::collections::BTreeMap<String, String> {
    [
        (
            "WHARF_WEBHOOK_SECRET".to_string(),
            WEBHOOK_SECRET.to_string(),
        ),
        (
            "WHARF_WEBHOOK_SECRET_ROTATED".to_string(),
            WEBHOOK_SECRET_ROTATED.to_string(),
        ),
    ]
    .into_iter()
    .collect()
}

/// The variable that points the store tests at a PostgreSQL server (`.ci/run` sets it for the
/// second pass), e.g. `postgres://postgres@127.0.0.1:54329`.
pub const POSTGRES_VAR: &str = "WHARF_TEST_POSTGRES";

/// SQLite in `dir`, or, when `WHARF_TEST_POSTGRES` is set, a new empty database there. A
/// test that opens one writes its name to `WHARF_TEST_PG_LOG` (when set), so `.ci/run`
/// counts as "ran on both databases" only the tests that did.
pub async fn test_database(dir: &Path) -> wharf_control_plane::Database {
    match std::env::var(POSTGRES_VAR) {
        Ok(base) if !base.is_empty() => {
            wharf_control_plane::Database::Postgres(fresh_postgres_database(&base).await)
        }
        _ => wharf_control_plane::Database::Sqlite(dir.to_path_buf()),
    }
}

/// Ages every upload session of the store by two hours, as if the server had been away.
pub async fn age_upload_sessions(database: &wharf_control_plane::Database) {
    let two_hours_ago = "2000-01-01T00:00:00.000Z";
    let sql = "UPDATE registry_uploads SET created_at = $1, updated_at = $1";
    match database {
        wharf_control_plane::Database::Sqlite(dir) => {
            let url = format!("sqlite://{}", dir.join("wharf.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(sql)
                .bind(two_hours_ago)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        wharf_control_plane::Database::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(sql)
                .bind(two_hours_ago)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

/// Appends the running test's name (libtest names its thread after it) to `WHARF_TEST_PG_LOG`.
fn note_postgres_test() {
    use std::io::Write;
    let (Ok(path), Some(name)) = (
        std::env::var("WHARF_TEST_PG_LOG"),
        std::thread::current().name().map(str::to_string),
    ) else {
        return;
    };
    if let Ok(mut log) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(log, "{name}");
    }
}

/// Creates `wharf_test_<random>` on the server at `base`; answers its URL.
pub async fn fresh_postgres_database(base: &str) -> String {
    use sqlx::Connection;
    note_postgres_test();
    let name = format!("wharf_test_{}", uuid_like());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    format!("{base}/{name}")
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A `wharf serve` process and the URL it printed. Its stderr is drained into a log that is
/// checked for the token when the process ends: in [`Served::wait`], or when it is dropped, on
/// the test's own thread, so a leak fails the test.
pub struct Served {
    pub child: std::process::Child,
    pub url: String,
    log: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Served {
    /// Starts `wharf serve --listen 127.0.0.1:0 <args>` as the test admin.
    pub fn start(args: &[&std::ffi::OsStr]) -> Self {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wharf"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("WHARF_ADMIN_USERNAME", ADMIN)
            .env("WHARF_ADMIN_TOKEN", TOKEN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args);
        Self::launch(command)
    }

    /// Runs `command` (a `wharf serve`) and reads its stderr until it says where it listens
    /// (no sleeping); the rest is kept for [`Self::wait`].
    pub fn launch(mut command: std::process::Command) -> Self {
        use std::io::{BufRead, BufReader};
        let mut child = command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut start_up = Vec::new();
        let url = loop {
            let line = lines
                .next()
                .expect("wharf serve printed its address")
                .unwrap();
            assert!(!line.contains(TOKEN), "token in the server log: {line}");
            if let Some(url) = line.strip_prefix("wharf serve: listening on ") {
                break url.to_string();
            }
            start_up.push(line);
        };
        let log = std::thread::spawn(move || {
            start_up
                .into_iter()
                .chain(lines.map_while(Result::ok))
                .collect()
        });
        Self {
            child,
            url,
            log: Some(log),
        }
    }

    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Waits for the process to end; answers its status, after checking the whole log.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let status = self.child.wait().unwrap();
        self.check_log();
        status
    }

    /// Like [`Self::wait`]; also answers the whole log, from the start.
    pub fn wait_with_log(&mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = self.child.wait().unwrap();
        (status, self.check_log())
    }

    fn check_log(&mut self) -> Vec<String> {
        let Some(log) = self.log.take() else {
            return Vec::new();
        };
        let lines = log.join().expect("the log reader ends with the process");
        let leaked: Vec<_> = lines.iter().filter(|l| l.contains(TOKEN)).collect();
        assert!(leaked.is_empty(), "token in the server log: {leaked:?}");
        lines
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            self.check_log();
        }
    }
}

/// `--data DIR`, plus `--database URL` on a fresh PostgreSQL database when the tests run there.
pub fn store_args(runtime: &tokio::runtime::Runtime, dir: &Path) -> Vec<std::ffi::OsString> {
    let mut args = vec!["--data".into(), dir.as_os_str().to_owned()];
    if let wharf_control_plane::Database::Postgres(url) = runtime.block_on(test_database(dir)) {
        args.extend(["--database".into(), url.into()]);
    }
    args
}

/// Runs a third-party tool (skopeo, umoci, htpasswd…) in `dir`; answers its stdout, and fails
/// the test with its stderr when it fails.
pub fn tool(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
