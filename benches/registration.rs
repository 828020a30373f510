//! Registration benchmarks (`cargo bench -p wharf --bench registration`); results go into
//! BENCHMARKS.md with the machine and the date.
//!
//! 1. Server throughput: a control plane over SQLite on loopback takes registrations from 32
//!    concurrent clients (each its own connection); we report registrations/s and latency
//!    percentiles, then check every acknowledged registration is in the store.
//! 2. Whole process: `wharf register` run as a process against that server, median wall time.
//!
//! 3. Promotions: every build of step 1 promoted once (dev → staging), same clients.
//!
//! The load authenticates as `ci-bot`, a `ci` member of the shop project, so every request pays
//! for the permission check a real CI token does.
//!
//! Knobs: WHARF_BENCH_REQUESTS (default 20000), WHARF_BENCH_CLIENTS (32), WHARF_BENCH_RUNS (50),
//! WHARF_BENCH_POSTGRES (a server URL such as postgres://postgres@127.0.0.1:54329: run on a
//! fresh database there instead of SQLite), WHARF_BENCH_REPLICAS (servers sharing that
//! database, default 1; clients spread over them).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wharf_control_plane::{Database, RunningServer, ServeOptions};

const ADMIN: &str = "bench";
const TOKEN: &str = "bench-token-0123456789abcdef";
const CI_USER: &str = "ci-bot";
const CI_TOKEN: &str = "wharf_bench_ci_token_0123456789abcdef";

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One load phase's results.
struct Phase {
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// Per request index, the id the server answered.
    answers: Vec<(usize, String)>,
}

impl Phase {
    fn report(&mut self, what: &str) {
        self.latencies.sort();
        let l = &self.latencies;
        println!(
            "  {what:<13} {:.0}/s",
            l.len() as f64 / self.elapsed.as_secs_f64()
        );
        println!(
            "  latency       p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(percentile(l, 0.50)),
            ms(percentile(l, 0.90)),
            ms(percentile(l, 0.99)),
            ms(*l.last().unwrap())
        );
    }
}

fn main() {
    let requests = knob("WHARF_BENCH_REQUESTS", 20_000);
    let clients = knob("WHARF_BENCH_CLIENTS", 32);
    let runs = knob("WHARF_BENCH_RUNS", 50);
    let replicas = knob("WHARF_BENCH_REPLICAS", 1).max(1);
    let data = tempfile::tempdir().unwrap();
    let shop =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/wharf.toml");
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let database = match std::env::var("WHARF_BENCH_POSTGRES") {
        Ok(base) if !base.is_empty() => {
            Database::Postgres(server_runtime.block_on(fresh_database(&base)))
        }
        _ => Database::Sqlite(data.path().to_path_buf()),
    };
    let label = match &database {
        Database::Sqlite(_) => "SQLite".to_string(),
        Database::Postgres(_) => format!("PostgreSQL, {replicas} replica(s)"),
    };
    let servers: Vec<RunningServer> = (0..replicas)
        .map(|i| {
            let options = ServeOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                database: database.clone(),
                blob_dir: data.path().join("registry"),
                blob_store: None,
                project_file: (i == 0).then(|| shop.clone()),
                admin: Some((ADMIN.into(), TOKEN.into())),
                ephemeral_admin: None,
                listener: Default::default(),
                secrets: None,
                webhooks: Default::default(),
                store: Default::default(),
            };
            server_runtime
                .block_on(wharf_control_plane::start(options))
                .unwrap()
        })
        .collect();
    let store = servers[0].store().clone();
    server_runtime.block_on(async {
        let hash = wharf_control_plane::auth::hash_token(CI_TOKEN);
        let token = wharf_control_plane::store::NewToken {
            username: CI_USER,
            token_hash: &hash,
            name: Some("bench"),
            expires_at: None,
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_token(&token).await.unwrap();
        tx.commit().await.unwrap();
    });
    let urls: Vec<String> = servers.iter().map(RunningServer::url).collect();

    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{requests} registrations, then as many promotions, from {clients} concurrent clients ({label})"
    );
    let mut registered =
        client_runtime.block_on(load(&urls, requests, clients, |i, _| register_request(i)));
    registered.report("registrations");
    let stored = server_runtime.block_on(store.total_artifacts()).unwrap() as usize;
    println!(
        "  acknowledged  {}, in the store {stored}",
        registered.answers.len()
    );
    assert_eq!(
        stored,
        registered.answers.len(),
        "every acknowledged registration is stored"
    );

    let ids: Vec<String> = {
        let mut answers = registered.answers.clone();
        answers.sort();
        answers.into_iter().map(|(_, id)| id).collect()
    };
    let mut promoted = client_runtime.block_on(load(&urls, requests, clients, move |i, base| {
        promote_request(base, &ids[i])
    }));
    promoted.report("promotions");
    let stored = server_runtime.block_on(store.total_artifacts()).unwrap() as usize;
    assert_eq!(stored, 2 * requests, "one promotion per build");

    if matches!(database, Database::Sqlite(_)) {
        process_runs(&urls[0], runs);
    }
    for server in servers {
        server_runtime.block_on(server.stop()).unwrap();
    }
}

async fn fresh_database(base: &str) -> String {
    use sqlx::Connection;
    let name = format!("wharf_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .unwrap();
    let sql = format!("DROP DATABASE IF EXISTS {name}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await
        .unwrap();
    let sql = format!("CREATE DATABASE {name}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await
        .unwrap();
    format!("{base}/{name}")
}

fn register_request(i: usize) -> (String, serde_json::Value) {
    let body = serde_json::json!({
        "blueprintName": "shop", "applicationName": "api", "artifactory": "default",
        "artifactUri": format!("r.example/shop/api:{i}"),
        "artifactRegisterType": "GIT_REF", "artifactRegisterValue": "main",
        "externalId": format!("bench-{i}")
    });
    ("/cc-ui/v1/ci-cd/register".to_string(), body)
}

fn promote_request(_base: &str, id: &str) -> (String, serde_json::Value) {
    (
        format!("/cc-ui/v1/artifacts/promote?ciName=api&stackName=shop&artifactId={id}"),
        serde_json::json!({}),
    )
}

/// `requests` POSTs from `clients` tasks, each with its own keep-alive connection to one of
/// the servers (round robin).
async fn load<F>(urls: &[String], requests: usize, clients: usize, request: F) -> Phase
where
    F: Fn(usize, &str) -> (String, serde_json::Value) + Send + Sync + 'static,
{
    let request = std::sync::Arc::new(request);
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (next, request, base) =
                (next.clone(), request.clone(), urls[c % urls.len()].clone());
            tokio::spawn(async move {
                wharf_http::install_tls_provider();
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap();
                let (mut latencies, mut answers) = (Vec::new(), Vec::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        break (latencies, answers);
                    }
                    let (path, body) = request(i, &base);
                    let sent = Instant::now();
                    let response = http
                        .post(format!("{base}{path}"))
                        .basic_auth(CI_USER, Some(CI_TOKEN))
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    let answer: serde_json::Value = response.json().await.unwrap();
                    latencies.push(sent.elapsed());
                    answers.push((i, answer["id"].as_str().unwrap().to_string()));
                }
            })
        })
        .collect();
    let mut phase = Phase {
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        answers: Vec::new(),
    };
    for task in tasks {
        let (latencies, answers) = task.await.unwrap();
        phase.latencies.extend(latencies);
        phase.answers.extend(answers);
    }
    phase.elapsed = started.elapsed();
    phase
}

/// `wharf register` as a whole process, `runs` times.
fn process_runs(url: &str, runs: usize) {
    let mut walls = Vec::with_capacity(runs);
    let dir = tempfile::tempdir().unwrap();
    for i in 0..runs {
        let started = Instant::now();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_wharf"))
            .env_clear()
            .env("WHARF_CONTROL_PLANE_URL", url)
            .env("WHARF_USERNAME", CI_USER)
            .env("WHARF_TOKEN", CI_TOKEN)
            .current_dir(dir.path())
            .args([
                "register",
                "--project",
                "shop",
                "--service",
                "web",
                "--git-ref",
                "main",
            ])
            .args([
                "--image",
                &format!("r.example/shop/web:{i}"),
                "--external-id",
                &format!("p{i}"),
            ])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        walls.push(started.elapsed());
        assert!(status.success());
    }
    walls.sort();
    println!("process: `wharf register` as a whole process, {runs} runs");
    println!(
        "  wall time     median {:.2} ms, p90 {:.2} ms, min {:.2} ms",
        ms(percentile(&walls, 0.5)),
        ms(percentile(&walls, 0.9)),
        ms(walls[0])
    );
}
