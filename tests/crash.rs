//! Crash safety: `wharf serve` killed with SIGKILL in the middle of a registration load keeps
//! every registration it acknowledged, and nothing half-written (each build has its audit
//! entry: both are written in one transaction). Runs on SQLite, and on PostgreSQL when
//! `WHARF_TEST_POSTGRES` is set.

use crate::support;

use std::ffi::OsStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use support::client::{Api, saas};
use support::{Served, shop_file, store_args};
use tokio::sync::{Mutex, Notify};

#[test]
fn sigkill_under_load_loses_no_acknowledged_registration() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = store_args(&runtime, data.path());
    let mut args: Vec<&OsStr> = store.iter().map(|a| a.as_os_str()).collect();
    let config = shop_file();
    args.extend([OsStr::new("--config"), config.as_os_str()]);
    let served = Served::start(&args);

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    // Anything but a success before the kill is a failure of the server under test; after the
    // kill, a refused or dropped connection ends a worker.
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let killed = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let next = Arc::new(AtomicUsize::new(0));
    wharf_http::install_tls_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (http, url, acknowledged, failures, killed, count, enough, next) = (
                http.clone(),
                served.url.clone(),
                acknowledged.clone(),
                failures.clone(),
                killed.clone(),
                count.clone(),
                enough.clone(),
                next.clone(),
            );
            runtime.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let id = format!("crash-{i}");
                    let body = saas("main", "GIT_REF", &id, &format!("r/shop/api:{i}"));
                    let sent = http
                        .post(format!("{url}/cc-ui/v1/ci-cd/register"))
                        .basic_auth(support::ADMIN, Some(support::TOKEN))
                        .json(&body)
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status().is_success() => {
                            acknowledged.lock().await.push(id);
                            if count.fetch_add(1, Ordering::Relaxed) + 1 == 300 {
                                enough.notify_one();
                            }
                        }
                        _ if killed.load(Ordering::SeqCst) => break,
                        Ok(response) => {
                            failures
                                .lock()
                                .await
                                .push(format!("{id}: {}", response.status()));
                            enough.notify_one();
                            break;
                        }
                        Err(e) => {
                            failures.lock().await.push(format!("{id}: {e}"));
                            enough.notify_one();
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    let reached = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(300), enough.notified()).await
    });
    assert!(
        reached.is_ok(),
        "300 registrations were not acknowledged within 5 minutes"
    );
    killed.store(true, Ordering::SeqCst);
    served.signal(libc::SIGKILL);
    for task in tasks {
        runtime.block_on(task).unwrap();
    }
    let failures = runtime.block_on(failures.lock()).clone();
    assert!(failures.is_empty(), "refused before the kill: {failures:?}");
    drop(served);
    let acknowledged = runtime.block_on(acknowledged.lock()).clone();
    assert!(acknowledged.len() >= 300);

    let restarted = Served::start(&store.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
    let api = Api::new(restarted.url.clone());
    let (stored, registered_entries) = runtime.block_on(async {
        let (_, builds) = api
            .get("/cc-ui/v1/artifacts-ci/api/artifacts?stackName=shop&limit=1000")
            .await;
        let ids: std::collections::BTreeSet<String> = builds
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["externalId"].as_str().unwrap().to_string())
            .collect();
        let (_, audit) = api
            .get("/cc-ui/v1/audit-logs?start=0&entityAction=ARTIFACT_REGISTER&size=1")
            .await;
        (ids, audit["totalElements"].as_i64().unwrap())
    });
    for id in &acknowledged {
        assert!(
            stored.contains(id),
            "acknowledged registration {id} was lost"
        );
    }
    assert_eq!(
        registered_entries as usize,
        stored.len(),
        "every stored build has its audit entry"
    );
}
