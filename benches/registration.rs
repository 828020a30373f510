//! Registration benchmarks (`cargo bench -p wharf --bench registration`); results go into
//! BENCHMARKS.md with the machine and the date.
//!
//! 1. Server throughput: a control plane over SQLite on loopback takes registrations from 32
//!    concurrent clients (each its own connection); we report registrations/s and latency
//!    percentiles, then check every acknowledged registration is in the store.
//! 2. Whole process: `wharf register` run as a process against that server, median wall time.
//!
//! Knobs: WHARF_BENCH_REQUESTS (default 20000), WHARF_BENCH_CLIENTS (32), WHARF_BENCH_RUNS (50).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wharf_control_plane::ServeOptions;

const ADMIN: &str = "bench";
const TOKEN: &str = "bench-token-0123456789abcdef";

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

fn main() {
    let requests = knob("WHARF_BENCH_REQUESTS", 20_000);
    let clients = knob("WHARF_BENCH_CLIENTS", 32);
    let runs = knob("WHARF_BENCH_RUNS", 50);
    let data = tempfile::tempdir().unwrap();
    let shop =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/wharf.toml");

    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = server_runtime
        .block_on(wharf_control_plane::start(ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: wharf_control_plane::Database::Sqlite(data.path().to_path_buf()),
            project_file: Some(shop),
            admin: Some((ADMIN.into(), TOKEN.into())),
            ephemeral_admin: None,
        }))
        .unwrap();
    let url = server.url();

    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (elapsed, mut latencies, acknowledged) =
        client_runtime.block_on(load(&url, requests, clients));
    latencies.sort();
    let stored = server_runtime
        .block_on(server.store().total_artifacts())
        .unwrap() as usize;
    println!("server: {requests} registrations from {clients} concurrent clients over SQLite");
    println!(
        "  throughput   {:.0} registrations/s",
        acknowledged as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency      p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.90)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap())
    );
    println!("  acknowledged {acknowledged}, in the store {stored}");
    assert_eq!(
        stored, acknowledged,
        "every acknowledged registration is stored"
    );

    let mut walls = Vec::with_capacity(runs);
    let dir = tempfile::tempdir().unwrap();
    for i in 0..runs {
        let started = Instant::now();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_wharf"))
            .env_clear()
            .env("WHARF_CONTROL_PLANE_URL", &url)
            .env("WHARF_USERNAME", ADMIN)
            .env("WHARF_TOKEN", TOKEN)
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
        "  wall time    median {:.2} ms, p90 {:.2} ms, min {:.2} ms",
        ms(percentile(&walls, 0.5)),
        ms(percentile(&walls, 0.9)),
        ms(walls[0])
    );
    server_runtime.block_on(server.stop()).unwrap();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn load(url: &str, requests: usize, clients: usize) -> (Duration, Vec<Duration>, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let next = next.clone();
            let endpoint = format!("{url}/cc-ui/v1/ci-cd/register");
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap();
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        break latencies;
                    }
                    let body = serde_json::json!({
                        "blueprintName": "shop", "applicationName": "api", "artifactory": "default",
                        "artifactUri": format!("r.example/shop/api:{i}"),
                        "artifactRegisterType": "GIT_REF",
                        "artifactRegisterValue": if i.is_multiple_of(2) { "main" } else { "release/1.0" },
                        "externalId": format!("bench-{i}")
                    });
                    let sent = Instant::now();
                    let response = http
                        .post(&endpoint)
                        .basic_auth(ADMIN, Some(TOKEN))
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    response.bytes().await.unwrap();
                    latencies.push(sent.elapsed());
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(requests);
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let acknowledged = all.len();
    (started.elapsed(), all, acknowledged)
}
