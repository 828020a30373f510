//! Two `wharf serve` processes on one PostgreSQL database serve one organisation: concurrent
//! registrations and promotions through both lose nothing and promote nothing twice.
//! Needs `WHARF_TEST_POSTGRES` (`.ci/run` sets it for its PostgreSQL pass).

use crate::support;

use reqwest::StatusCode;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use support::client::{Api, saas};
use support::{POSTGRES_VAR, Served, fresh_postgres_database, shop_file};

#[test]
#[ignore = "needs a PostgreSQL server in WHARF_TEST_POSTGRES"]
fn two_replicas_on_one_database_lose_nothing_and_promote_once() {
    let base = std::env::var(POSTGRES_VAR).expect("WHARF_TEST_POSTGRES is set");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(fresh_postgres_database(&base));
    let config = shop_file();
    let shared = tempfile::tempdir().unwrap();
    let data = shared.path().as_os_str();
    let first = Served::start(&[
        OsStr::new("--data"),
        data,
        OsStr::new("--database"),
        OsStr::new(&url),
        OsStr::new("--config"),
        config.as_os_str(),
    ]);
    let second = Served::start(&[
        OsStr::new("--data"),
        data,
        OsStr::new("--database"),
        OsStr::new(&url),
    ]);
    let replicas = [Api::new(first.url.clone()), Api::new(second.url.clone())];

    const BUILDS: usize = 60;
    let registered: Vec<serde_json::Value> = runtime.block_on(async {
        let tasks: Vec<_> = (0..BUILDS)
            .map(|i| {
                let (a, b) = (
                    Api::new(replicas[i % 2].base.clone()),
                    Api::new(replicas[(i + 1) % 2].base.clone()),
                );
                tokio::spawn(async move {
                    let body = saas(
                        "main",
                        "GIT_REF",
                        &format!("run-{i}"),
                        &format!("r/shop/api:{i}"),
                    );
                    // The same registration through both replicas at once: one record.
                    let (one, two) = tokio::join!(
                        a.post("/cc-ui/v1/ci-cd/register", body.clone()),
                        b.post("/cc-ui/v1/ci-cd/register", body)
                    );
                    assert_eq!(one.0, StatusCode::OK, "{}", one.1);
                    assert_eq!(two.0, StatusCode::OK, "{}", two.1);
                    assert_eq!(one.1["id"], two.1["id"]);
                    one.1
                })
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    });

    let promoted: BTreeMap<String, BTreeSet<String>> = runtime.block_on(async {
        let tasks: Vec<_> = registered
            .iter()
            .map(|build| {
                let id = build["id"].as_str().unwrap().to_string();
                let (a, b) = (
                    Api::new(replicas[0].base.clone()),
                    Api::new(replicas[1].base.clone()),
                );
                tokio::spawn(async move {
                    let path = format!(
                        "/cc-ui/v1/artifacts/promote?ciName=api&stackName=shop&artifactId={id}"
                    );
                    // Both replicas promote the same build at the same moment.
                    let (one, two) =
                        tokio::join!(a.post(&path, json!({})), b.post(&path, json!({})));
                    assert_eq!(one.0, StatusCode::OK, "{}", one.1);
                    assert_eq!(two.0, StatusCode::OK, "{}", two.1);
                    let ids: BTreeSet<String> = [&one.1, &two.1]
                        .iter()
                        .map(|v| v["id"].as_str().unwrap().to_string())
                        .collect();
                    (id, ids)
                })
            })
            .collect();
        let mut out = BTreeMap::new();
        for task in tasks {
            let (id, ids) = task.await.unwrap();
            out.insert(id, ids);
        }
        out
    });
    assert!(
        promoted.values().all(|ids| ids.len() == 1),
        "a build was promoted twice: {promoted:?}"
    );

    let (_, builds) = runtime.block_on(
        replicas[1].get("/cc-ui/v1/artifacts-ci/api/artifacts?stackName=shop&limit=1000"),
    );
    let builds = builds.as_array().unwrap();
    assert_eq!(
        builds.len(),
        BUILDS * 2,
        "every registration and one promotion each"
    );
    assert_eq!(
        builds.iter().filter(|b| b["promoted"] == true).count(),
        BUILDS
    );
    assert!(
        builds
            .iter()
            .filter(|b| b["promoted"] == true)
            .all(|b| b["routedTo"] == "staging")
    );
}

#[test]
#[ignore = "needs a PostgreSQL server in WHARF_TEST_POSTGRES"]
fn a_token_revoked_on_one_replica_is_refused_by_the_other_within_five_seconds() {
    let base = std::env::var(POSTGRES_VAR).expect("WHARF_TEST_POSTGRES is set");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(fresh_postgres_database(&base));
    let shared = tempfile::tempdir().unwrap();
    let args = [
        OsStr::new("--data"),
        shared.path().as_os_str(),
        OsStr::new("--database"),
        OsStr::new(&url),
    ];
    let first = Served::start(&args);
    let second = Served::start(&args);
    let (one, two) = (Api::new(first.url.clone()), Api::new(second.url.clone()));
    runtime.block_on(async {
        let (_, created) = one
            .post("/wharf/v1/tokens", json!({"name": "short-lived"}))
            .await;
        let (id, token) = (
            created["id"].as_str().unwrap().to_string(),
            created["token"].as_str().unwrap().to_string(),
        );
        let me = |api: &Api| {
            api.http
                .get(format!("{}/api/me", api.base))
                .basic_auth(support::ADMIN, Some(token.clone()))
                .send()
        };
        assert_eq!(
            me(&two).await.unwrap().status(),
            StatusCode::OK,
            "cached on the other"
        );
        let (status, _) = one.delete(&format!("/wharf/v1/tokens/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        // What this proves: the other replica stops honouring the token on its own, once its
        // cached credential (5 s at most) expires, without a restart. The bound is six cache
        // lifetimes (`CACHE_TTL` in `domain::auth`), so a busy machine cannot fail it.
        let revoked = std::time::Instant::now();
        while me(&two).await.unwrap().status() != StatusCode::UNAUTHORIZED {
            assert!(
                revoked.elapsed() < std::time::Duration::from_secs(30),
                "the other replica still honoured a revoked token after 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
}
