//! Promises the docs make that no other test kept: exit 1 for an unreadable answer, `408` and
//! `Retry-After` honoured, roles on every project, custom roles, viewers, token revocation
//! rights, the health check, upload sessions expiring, `WHARF_TOKEN_FILE`, admin-token
//! rotation on restart, and SIGTERM finishing the requests in flight.

use crate::support;

use reqwest::StatusCode;
use serde_json::json;
use std::ffi::OsStr;
use std::io::Write;
use std::time::{Duration, Instant};
use support::client::Api;
use support::proxy::{Fault, Proxy};
use support::{ADMIN, Served, TOKEN, TestServer, register, run, wharf};

fn as_user(url: &str, dir: &std::path::Path, user: &str, token: &str) -> std::process::Command {
    let mut command = wharf(url, dir);
    command
        .env("WHARF_USERNAME", user)
        .env("WHARF_TOKEN", token);
    command
}

#[test]
fn an_unreadable_answer_from_the_control_plane_is_exit_1() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                          Content-Length: 8\r\nConnection: close\r\n\r\nnot json";
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut builds = wharf(&url, dir.path());
    builds.args(["builds", "--project", "shop", "--service", "api"]);
    let out = run(&mut builds);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("unreadable"), "{}", out.stderr);
}

#[test]
fn a_408_and_retry_after_are_honoured_end_to_end() {
    let server = TestServer::shop();
    let proxy = Proxy::start(
        &server.runtime,
        &server.url(),
        vec![Fault::Status(408, None), Fault::Status(503, Some(1))],
    );
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = register(
        &proxy.url(),
        dir.path(),
        "r/shop/api:retry",
        &["--git-ref", "main"],
    );
    let took = started.elapsed();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        proxy.count("POST"),
        3,
        "a 408, a 503, then the registration"
    );
    assert!(
        took >= Duration::from_secs(1),
        "Retry-After: 1 waited for, over the 5 ms base delay: {took:?}"
    );
    assert_eq!(server.stored_builds(), 1);
}

#[test]
fn roles_on_every_project_custom_roles_and_viewers() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let image = |tag: &str| format!("r/shop/api:{tag}");
    let register_as = |user: &str, token: &str, tag: &str| {
        let mut command = as_user(&server.url(), dir.path(), user, token);
        command.args([
            "register",
            "--project",
            "shop",
            "--service",
            "api",
            "--image",
        ]);
        command.arg(image(tag)).args(["--git-ref", "main"]);
        run(&mut command)
    };

    let everywhere = server.member("roamer", "*", "ci");
    assert_eq!(
        register_as("roamer", &everywhere, "star").code,
        0,
        "ci on `*` holds on shop"
    );

    let api = Api::new(server.url());
    let (status, body) = server.runtime.block_on(api.post(
        "/wharf/v1/roles",
        json!({"name": "pusher", "permissions": ["ARTIFACTS_WRITE"]}),
    ));
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.runtime.block_on(api.post(
        "/wharf/v1/roles",
        json!({"name": "bogus", "permissions": ["FLY"]}),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("'FLY' is not a permission")
    );
    let pusher = server.member("pusher-bot", "shop", "pusher");
    assert_eq!(register_as("pusher-bot", &pusher, "custom").code, 0);

    let viewer = server.member("watcher", "shop", "viewer");
    let refused = register_as("watcher", &viewer, "viewer");
    assert_eq!(
        refused.code, 3,
        "a viewer cannot register: {}",
        refused.stderr
    );
    let mut builds = as_user(&server.url(), dir.path(), "watcher", &viewer);
    builds.args([
        "builds",
        "--project",
        "shop",
        "--service",
        "api",
        "--output",
        "json",
    ]);
    let listed = run(&mut builds);
    assert_eq!(listed.code, 0, "a viewer reads: {}", listed.stderr);
    assert_eq!(listed.json().as_array().unwrap().len(), 2);
}

#[test]
fn only_an_admin_revokes_another_users_token() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let alice = server.member("alice", "shop", "ci");
    let bob = server.member("bob", "shop", "ci");
    let api = Api::new(server.url());
    let (_, tokens) = server
        .runtime
        .block_on(api.get("/wharf/v1/tokens?username=bob"));
    let bobs = tokens[0]["id"].as_str().unwrap().to_string();

    let mut revoke = as_user(&server.url(), dir.path(), "alice", &alice);
    revoke.args(["token", "revoke", &bobs]);
    let refused = run(&mut revoke);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    let mut whoami = as_user(&server.url(), dir.path(), "bob", &bob);
    whoami.arg("whoami");
    assert_eq!(run(&mut whoami).code, 0, "bob's token still works");

    let mut revoke = wharf(&server.url(), dir.path());
    revoke.args(["token", "revoke", &bobs]);
    assert_eq!(run(&mut revoke).code, 0, "the admin may");
    let mut whoami = as_user(&server.url(), dir.path(), "bob", &bob);
    whoami.arg("whoami");
    assert_eq!(run(&mut whoami).code, 3, "revoked");
}

#[test]
fn the_health_check_answers_without_credentials() {
    let server = TestServer::shop();
    let answer = server.runtime.block_on(async {
        let response = support::http()
            .get(format!("{}/wharf/v1/health", server.url()))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    });
    assert_eq!(answer, (StatusCode::OK, "ok".to_string()));
}

/// Issue 29: a replica whose database is gone says so, to the load balancer's health check
/// and to every request, as 503 `UNAVAILABLE` with the reason (and `Retry-After` on the API),
/// never as 500: clients and balancers then know to try again or elsewhere.
#[test]
fn a_database_that_cannot_be_reached_answers_503_naming_why() {
    let server = TestServer::shop();
    let store = server.server.as_ref().unwrap().store().clone();
    let (health, registration) = server.runtime.block_on(async {
        store.close().await;
        let health = support::http()
            .get(format!("{}/wharf/v1/health", server.url()))
            .send()
            .await
            .unwrap();
        let health = (
            health.status(),
            health.json::<serde_json::Value>().await.unwrap(),
        );
        let registration = support::http()
            .post(format!("{}/cc-ui/v1/ci-cd/register", server.url()))
            .basic_auth(ADMIN, Some(TOKEN))
            .json(&support::client::saas(
                "main",
                "GIT_REF",
                "down-1",
                "r.example/shop/api:1",
            ))
            .send()
            .await
            .unwrap();
        let retry_after = registration.headers().get("retry-after").cloned();
        let registration = (
            registration.status(),
            retry_after,
            registration.json::<serde_json::Value>().await.unwrap(),
        );
        (health, registration)
    });
    assert_eq!(health.0, StatusCode::SERVICE_UNAVAILABLE, "{}", health.1);
    assert_eq!(health.1["code"], "UNAVAILABLE");
    let message = health.1["message"].as_str().unwrap();
    assert!(
        message.starts_with("this replica cannot reach its database ("),
        "{message}"
    );
    let (status, retry_after, body) = registration;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "UNAVAILABLE");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach its database just now"),
        "{body}"
    );
    assert_eq!(retry_after.unwrap(), "1");
}

#[test]
fn an_abandoned_upload_session_expires() {
    let server = TestServer::shop();
    let store = server.server.as_ref().unwrap().store().clone();
    let (status, location) = server.runtime.block_on(async {
        let response = support::http()
            .post(format!("{}/v2/shop/api/blobs/uploads/", server.url()))
            .basic_auth(ADMIN, Some(TOKEN))
            .send()
            .await
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_string();
        (response.status(), location)
    });
    assert_eq!(status, StatusCode::ACCEPTED);
    let aged = server
        .runtime
        .block_on(
            store
                .raw_execute("UPDATE registry_uploads SET created_at = '2001-01-01T00:00:00.000Z', updated_at = '2001-01-01T00:00:00.000Z'"),
        )
        .unwrap();
    assert_eq!(aged, 1);
    let (status, body) = server.runtime.block_on(async {
        let response = support::http()
            .patch(format!("{}{location}", server.url()))
            .basic_auth(ADMIN, Some(TOKEN))
            .body("late bytes")
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    });
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("BLOB_UPLOAD_UNKNOWN"), "{body}");
    let left = server
        .runtime
        .block_on(store.raw_strings("SELECT id FROM registry_uploads"))
        .unwrap();
    assert!(left.is_empty(), "the expired session is removed");
}

#[test]
fn the_token_can_come_from_a_file() {
    let server = TestServer::shop();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(format!("{TOKEN}\n").as_bytes())
        .unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command
        .env_remove("WHARF_TOKEN")
        .env("WHARF_TOKEN_FILE", &file)
        .args(["whoami", "--output", "json"]);
    let out = run(&mut command);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["username"], ADMIN);
}

#[test]
fn a_new_admin_token_on_restart_replaces_the_old_one() {
    let data = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = [OsStr::new("--data"), data.path().as_os_str()];
    let mut first = Served::start(&args);
    first.signal(libc::SIGTERM);
    assert_eq!(first.wait().code(), Some(0));

    let rotated = "rotated-admin-token-0123456789";
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WHARF_ADMIN_USERNAME", ADMIN)
        .env("WHARF_ADMIN_TOKEN", rotated)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args);
    let second = Served::launch(command);
    let mut new = wharf(&second.url, dir.path());
    new.env("WHARF_TOKEN", rotated).arg("whoami");
    let new = run(&mut new);
    assert_eq!(new.code, 0, "the new token works: {}", new.stderr);
    let mut old = wharf(&second.url, dir.path());
    old.arg("whoami");
    assert_eq!(
        run(&mut old).code,
        3,
        "the old token is revoked by the rotation"
    );
}

#[test]
fn sigterm_finishes_the_requests_in_flight() {
    use std::io::{Read, Write as _};
    let data = tempfile::tempdir().unwrap();
    let config = support::shop_file();
    let mut served = Served::start(&[
        OsStr::new("--data"),
        data.path().as_os_str(),
        OsStr::new("--config"),
        config.as_os_str(),
    ]);
    let address = served.url.trim_start_matches("http://").to_string();
    let auth = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN}:{TOKEN}"))
    };
    let blob = vec![7u8; 64 * 1024];
    let digest = wharf_oci::Digest::sha256_of(&blob);
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /v2/shop/api/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Basic {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        blob.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&blob[..1000]).unwrap();
    // Told to stop once the request is in hand: its upload file exists, its body half sent.
    let uploads = data.path().join("registry/uploads");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&uploads).map_or(0, |d| d.count()) == 0 {
        assert!(Instant::now() < deadline, "the upload never started");
        std::thread::yield_now();
    }
    served.signal(libc::SIGTERM);
    stream.write_all(&blob[1000..]).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight finished: {answer}"
    );
    assert_eq!(
        served.wait().code(),
        Some(0),
        "then the server stopped cleanly"
    );
}
