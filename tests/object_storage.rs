//! The built-in registry's blobs on an S3-compatible store, with replicas that share nothing
//! but PostgreSQL and the bucket (issue 15): a push through one replica pulled through the
//! other, an upload session moved between them, the same blob through both at once stored
//! once, a replica killed mid-upload, and `wharf gc` freeing exactly what no manifest
//! references. The replicas are real `wharf serve` processes; the S3 server is `.ci/run`'s
//! (`WHARF_TEST_S3`, moto) and the database its PostgreSQL (`WHARF_TEST_POSTGRES`). The
//! garbage collection also runs on the local store, with no S3 server.

use crate::support;
use crate::support::registry::{Registry, credentials, manifest};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::ffi::OsString;
use support::client::Api;
use support::{POSTGRES_VAR, Served, TOKEN, fresh_postgres_database, shop_file};
use wharf_oci::Digest;

/// The S3-compatible server the tests use (`.ci/run` starts moto and sets it).
const S3_VAR: &str = "WHARF_TEST_S3";
const MIB: usize = 1024 * 1024;

/// A fresh bucket on the test server, and its endpoint.
async fn fresh_bucket() -> (String, String) {
    let endpoint = std::env::var(S3_VAR).expect("WHARF_TEST_S3 is set");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let bucket = format!("wharf-{}-{nanos}", std::process::id());
    let created = support::http()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "bucket: {}",
        created.status()
    );
    (endpoint, bucket)
}

/// Keys under `prefix` in `bucket` (ListObjectsV2, anonymous: the test server allows it).
async fn bucket_keys(endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let listing = support::http()
        .get(format!(
            "{endpoint}/{bucket}?list-type=2&max-keys=1000&prefix={prefix}"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    listing
        .split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_string)
        .collect()
}

/// Replicas of one control plane on a fresh PostgreSQL database and a fresh bucket, with no
/// `--data` at all.
struct Cluster {
    runtime_db: String,
    endpoint: String,
    bucket: String,
}

impl Cluster {
    async fn new() -> Self {
        let base = std::env::var(POSTGRES_VAR).expect("WHARF_TEST_POSTGRES is set");
        let (endpoint, bucket) = fresh_bucket().await;
        Self {
            runtime_db: fresh_postgres_database(&base).await,
            endpoint,
            bucket,
        }
    }

    /// A `wharf serve` replica; the first one applies the shop project. The AWS secret holds
    /// the test token, so `Served`'s leak check covers it too.
    fn replica(&self, with_config: bool) -> Served {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wharf"));
        let mut args: Vec<OsString> = vec![
            "serve".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--database".into(),
            self.runtime_db.clone().into(),
            "--blob-store".into(),
            format!("s3://{}/wharf", self.bucket).into(),
        ];
        if with_config {
            args.extend([OsString::from("--config"), shop_file().into_os_string()]);
        }
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("WHARF_ADMIN_USERNAME", support::ADMIN)
            .env("WHARF_ADMIN_TOKEN", TOKEN)
            .env("WHARF_BLOB_STORE_ENDPOINT", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "wharf-test")
            .env("AWS_SECRET_ACCESS_KEY", format!("{TOKEN}-aws"))
            .env("AWS_REGION", "us-east-1")
            .args(&args);
        Served::launch(command)
    }

    async fn blob_objects(&self) -> Vec<String> {
        bucket_keys(&self.endpoint, &self.bucket, "wharf/blobs/").await
    }
}

async fn registry_for(api: &Api, base: &str) -> Registry {
    registry_of_ci(api, base, "api").await
}

/// A login to `base` with push credentials for the shop's CI `ci`.
async fn registry_of_ci(api: &Api, base: &str, ci: &str) -> Registry {
    let creds = credentials(api, ci).await;
    Registry {
        http: support::http(),
        base: base.to_string(),
        user: creds["username"].as_str().unwrap().into(),
        password: creds["password"].as_str().unwrap().into(),
    }
}

/// The same credential against another replica.
fn same_login(registry: &Registry, base: &str) -> Registry {
    Registry {
        http: support::http(),
        base: base.to_string(),
        user: registry.user.clone(),
        password: registry.password.clone(),
    }
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

async fn start_session(registry: &Registry, repo: &str) -> String {
    let started = registry
        .request(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    started.headers()["location"].to_str().unwrap().to_string()
}

async fn patch(registry: &Registry, location: &str, start: usize, chunk: &[u8]) -> StatusCode {
    registry
        .request(Method::PATCH, location)
        .header(
            "content-range",
            format!("{start}-{}", start + chunk.len() - 1),
        )
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

async fn finish(registry: &Registry, location: &str, digest: &Digest, last: &[u8]) -> StatusCode {
    registry
        .request(Method::PUT, &format!("{location}?digest={digest}"))
        .body(last.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

async fn get_blob(registry: &Registry, repo: &str, digest: &Digest) -> (StatusCode, Vec<u8>) {
    let response = registry
        .request(Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs WHARF_TEST_S3 and WHARF_TEST_POSTGRES, skopeo and umoci (.ci/run)"]
async fn a_push_through_one_replica_is_pulled_through_the_other() {
    let cluster = Cluster::new().await;
    let (first, second) = (cluster.replica(true), cluster.replica(false));
    let api = Api::new(first.url.clone());
    let creds = credentials(&api, "api").await;
    let login = format!(
        "{}:{}",
        creds["username"].as_str().unwrap(),
        creds["password"].as_str().unwrap()
    );
    let (one, two) = (
        first.url.trim_start_matches("http://").to_string(),
        second.url.trim_start_matches("http://").to_string(),
    );
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_path_buf();
    let (source, pushed, pulled) = tokio::task::spawn_blocking(move || {
        let digest_of = |inspect: &str| -> String {
            let json: Value = serde_json::from_str(inspect).unwrap();
            json["Digest"].as_str().unwrap().to_string()
        };
        support::tool("umoci", &["init", "--layout", "img"], &dir);
        support::tool("umoci", &["new", "--image", "img:v1"], &dir);
        support::tool(
            "umoci",
            &["unpack", "--rootless", "--image", "img:v1", "bundle"],
            &dir,
        );
        // Random bytes do not compress: a layer of several multipart parts.
        std::fs::write(dir.join("bundle/rootfs/big.bin"), random_bytes(19 * MIB, 7)).unwrap();
        std::fs::write(
            dir.join("bundle/rootfs/hello.txt"),
            "hello from a replica\n",
        )
        .unwrap();
        support::tool("umoci", &["repack", "--image", "img:v1", "bundle"], &dir);
        let source = digest_of(&support::tool("skopeo", &["inspect", "oci:img:v1"], &dir));
        support::tool(
            "skopeo",
            &[
                "copy",
                "--dest-tls-verify=false",
                "--dest-creds",
                &login,
                "oci:img:v1",
                &format!("docker://{one}/shop/api:v1"),
            ],
            &dir,
        );
        let through_second = format!("docker://{two}/shop/api:v1");
        let pushed = digest_of(&support::tool(
            "skopeo",
            &[
                "inspect",
                "--tls-verify=false",
                "--creds",
                &login,
                &through_second,
            ],
            &dir,
        ));
        support::tool(
            "skopeo",
            &[
                "copy",
                "--src-tls-verify=false",
                "--src-creds",
                &login,
                &through_second,
                "oci:out:v1",
            ],
            &dir,
        );
        let pulled = digest_of(&support::tool("skopeo", &["inspect", "oci:out:v1"], &dir));
        (source, pushed, pulled)
    })
    .await
    .unwrap();
    assert_eq!(
        pushed, source,
        "the second replica serves the manifest the first stored"
    );
    assert_eq!(pulled, source, "and every blob, byte for byte");
    assert!(
        !cluster.blob_objects().await.is_empty(),
        "the blobs are in the bucket"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs WHARF_TEST_S3 and WHARF_TEST_POSTGRES (.ci/run)"]
async fn an_upload_session_started_on_one_replica_is_finished_on_the_other() {
    let cluster = Cluster::new().await;
    let (first, second) = (cluster.replica(true), cluster.replica(false));
    let one = registry_for(&Api::new(first.url.clone()), &first.url).await;
    let two = same_login(&one, &second.url);
    let bytes = random_bytes(19 * MIB + 12_345, 11);
    let digest = Digest::sha256_of(&bytes);
    // Chunks of every kind: a part at once (6 MiB), small ones gathered until a part is due,
    // one longer than a part, and the last bytes with the final PUT; alternating replicas.
    let cuts = [6 * MIB, 3 * MIB, MIB, 9 * MIB];
    let location = start_session(&one, "shop/api").await;
    let mut offset = 0;
    for (i, len) in cuts.iter().enumerate() {
        let replica = if i % 2 == 0 { &one } else { &two };
        let status = patch(replica, &location, offset, &bytes[offset..offset + len]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "chunk {i}");
        offset += len;
    }
    // A chunk that does not start where the session ends is refused, on either replica.
    assert_eq!(
        patch(&one, &location, offset + 1, b"x").await,
        StatusCode::RANGE_NOT_SATISFIABLE
    );
    let status = two.request(Method::GET, &location).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status.headers()["range"].to_str().unwrap(),
        format!("0-{}", offset - 1)
    );
    assert_eq!(
        finish(&two, &location, &digest, &bytes[offset..]).await,
        StatusCode::CREATED
    );

    let (status, read) = get_blob(&one, "shop/api", &digest).await;
    assert_eq!(status, StatusCode::OK);
    assert!(read == bytes, "the blob reads back whole through the first");
    let ranged = two
        .request(Method::GET, &format!("/v2/shop/api/blobs/{digest}"))
        .header("range", "bytes=8388600-8388700")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        ranged.headers()["content-range"].to_str().unwrap(),
        format!("bytes 8388600-8388700/{}", bytes.len())
    );
    assert_eq!(
        ranged.bytes().await.unwrap().to_vec(),
        bytes[8388600..=8388700].to_vec(),
        "a range across a part boundary"
    );
    let head = two
        .request(Method::HEAD, &format!("/v2/shop/api/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        bytes.len().to_string()
    );
    assert_eq!(cluster.blob_objects().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs WHARF_TEST_S3 and WHARF_TEST_POSTGRES (.ci/run)"]
async fn the_same_blob_pushed_through_both_replicas_at_once_is_stored_once() {
    let cluster = Cluster::new().await;
    let (first, second) = (cluster.replica(true), cluster.replica(false));
    let one = registry_for(&Api::new(first.url.clone()), &first.url).await;
    let two = same_login(&one, &second.url);
    for (len, seed) in [(7 * MIB, 21), (1000, 22), (13 * MIB, 23)] {
        let bytes = random_bytes(len, seed);
        let digest = Digest::sha256_of(&bytes);
        // Chunked through each replica, so both hold a session when the first finishes.
        let (a, b) = tokio::join!(
            async {
                let at = start_session(&one, "shop/api").await;
                assert_eq!(patch(&one, &at, 0, &bytes).await, StatusCode::ACCEPTED);
                finish(&one, &at, &digest, b"").await
            },
            async {
                let at = start_session(&two, "shop/api").await;
                assert_eq!(patch(&two, &at, 0, &bytes).await, StatusCode::ACCEPTED);
                finish(&two, &at, &digest, b"").await
            }
        );
        assert_eq!((a, b), (StatusCode::CREATED, StatusCode::CREATED));
        let (status, read) = get_blob(&two, "shop/api", &digest).await;
        assert_eq!(status, StatusCode::OK);
        assert!(read == bytes);
    }
    let objects = cluster.blob_objects().await;
    assert_eq!(objects.len(), 3, "one object per blob: {objects:?}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs WHARF_TEST_S3 and WHARF_TEST_POSTGRES (.ci/run)"]
async fn an_upload_on_a_replica_killed_mid_request_is_finished_on_the_other() {
    let cluster = Cluster::new().await;
    let (mut first, second) = (cluster.replica(true), cluster.replica(false));
    let one = registry_for(&Api::new(first.url.clone()), &first.url).await;
    let two = same_login(&one, &second.url);
    let bytes = random_bytes(17 * MIB, 31);
    let digest = Digest::sha256_of(&bytes);
    let location = start_session(&one, "shop/api").await;
    assert_eq!(
        patch(&one, &location, 0, &bytes[..6 * MIB]).await,
        StatusCode::ACCEPTED
    );
    // The next chunk is on its way (9 MiB announced, 3 MiB sent) when the first replica dies.
    tokio::task::block_in_place(|| {
        use base64::Engine;
        use std::io::{Read, Write};
        let address = first.url.trim_start_matches("http://").to_string();
        let mut connection = std::net::TcpStream::connect(&address).unwrap();
        let login = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", one.user, one.password));
        write!(
            connection,
            "PATCH {location} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {login}\r\n\
             Content-Range: {}-{}\r\nContent-Length: {}\r\n\r\n",
            6 * MIB,
            15 * MIB - 1,
            9 * MIB
        )
        .unwrap();
        connection.write_all(&bytes[6 * MIB..9 * MIB]).unwrap();
        first.signal(libc::SIGKILL);
        first.wait();
        let mut answer = Vec::new();
        let _ = connection.read_to_end(&mut answer);
        assert!(answer.is_empty(), "the request got no answer");
    });

    let status = two.request(Method::GET, &location).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    let range = status.headers()["range"].to_str().unwrap().to_string();
    assert_eq!(
        range,
        format!("0-{}", 6 * MIB - 1),
        "only the whole PATCH counts"
    );
    assert_eq!(
        patch(&two, &location, 6 * MIB, &bytes[6 * MIB..]).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        finish(&two, &location, &digest, b"").await,
        StatusCode::CREATED
    );
    let (status, read) = get_blob(&two, "shop/api", &digest).await;
    assert_eq!(status, StatusCode::OK);
    assert!(read == bytes, "the blob is whole");
}

/// How many collections the audit trail records.
async fn gc_audits(api: &Api) -> usize {
    let actions = api.audit_actions("CONTAINER_REGISTRY").await;
    actions.iter().filter(|a| *a == "REGISTRY_GC").count()
}

/// `wharf gc --output json` (plus `extra`) against `url`.
fn gc(url: &str, extra: &[&str]) -> Value {
    tokio::task::block_in_place(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut command = support::wharf(url, dir.path());
        command.args(["gc", "--output", "json"]).args(extra);
        let run = support::run(&mut command);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json()
    })
}

/// Pushes an image, an unreferenced blob and a manifest deleted again, with an upload in
/// progress; `wharf gc` frees exactly the unreferenced blob, the deleted manifest and the
/// blob only it referenced, and only once they are past the grace period. Answers the bytes.
async fn gc_frees_exactly_the_unreferenced(one: &Registry, two: &Registry, url: &str) -> u64 {
    let repo = "shop/api";
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let layer = random_bytes(6 * MIB + 3, 41);
    let (c, l) = (
        one.push_blob(repo, &config).await,
        two.push_blob(repo, &layer).await,
    );
    let kept = manifest(&c, &l, (config.len(), layer.len()));
    assert_eq!(
        one.put_manifest(repo, "v1", wharf_oci::OCI_MANIFEST, &kept)
            .await
            .status(),
        StatusCode::CREATED
    );
    let loose = random_bytes(MIB + 5, 42);
    let o = two.push_blob(repo, &loose).await;
    let only_deleted = random_bytes(5000, 43);
    let p = one.push_blob(repo, &only_deleted).await;
    let deleted = manifest(&c, &p, (config.len(), only_deleted.len()));
    let deleted_digest = Digest::sha256_of(deleted.as_bytes());
    assert_eq!(
        two.put_manifest(repo, "v2", wharf_oci::OCI_MANIFEST, &deleted)
            .await
            .status(),
        StatusCode::CREATED
    );
    let removed = one
        .request(
            Method::DELETE,
            &format!("/v2/{repo}/manifests/{deleted_digest}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::ACCEPTED);
    // An upload in progress.
    let pending = random_bytes(2 * MIB, 44);
    let session = start_session(one, repo).await;
    assert_eq!(
        patch(one, &session, 0, &pending[..MIB]).await,
        StatusCode::ACCEPTED
    );

    let fresh = gc(url, &["--dry-run"]);
    assert_eq!(
        fresh["objects"], 0,
        "everything is within the grace period: {fresh}"
    );
    let expected = (loose.len() + only_deleted.len() + deleted.len()) as u64;
    let dry = gc(url, &["--dry-run", "--grace", "0"]);
    assert_eq!(dry["blobObjects"], 3, "{dry}");
    assert_eq!(dry["blobBytes"], expected, "{dry}");
    assert_eq!(dry["uploadSessions"], 0, "{dry}");
    assert_eq!(dry["dryRun"], true);
    let (status, _) = get_blob(two, repo, &o).await;
    assert_eq!(status, StatusCode::OK, "a dry run removes nothing");

    let done = gc(url, &["--grace", "0"]);
    assert_eq!(done["objects"], 3, "{done}");
    assert_eq!(done["bytes"], expected, "{done}");
    assert_eq!(done["repositoryBlobs"], 2, "{done}");
    for gone in [&o, &p] {
        let (status, _) = get_blob(one, repo, gone).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    for (kept, bytes) in [(&c, &config), (&l, &layer)] {
        let (status, read) = get_blob(two, repo, kept).await;
        assert_eq!(status, StatusCode::OK);
        assert!(&read == bytes, "a referenced blob is whole");
    }
    let pulled = one
        .request(Method::GET, &format!("/v2/{repo}/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.status(), StatusCode::OK);
    assert_eq!(pulled.text().await.unwrap(), kept);
    // The upload in progress goes on.
    assert_eq!(
        patch(two, &session, MIB, &pending[MIB..]).await,
        StatusCode::ACCEPTED
    );
    let digest = Digest::sha256_of(&pending);
    assert_eq!(
        finish(one, &session, &digest, b"").await,
        StatusCode::CREATED
    );
    let again = gc(url, &["--grace", "0"]);
    assert_eq!(
        again["objects"], 1,
        "only the finished upload, unreferenced: {again}"
    );

    let (_, audit) = Api::new(url.to_string())
        .get("/wharf/v1/audit-logs?start=2000-01-01T00:00:00Z&entityAction=REGISTRY_GC")
        .await;
    let entries = audit["content"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "each run that freed something: {audit}");
    expected
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs WHARF_TEST_S3 and WHARF_TEST_POSTGRES (.ci/run)"]
async fn gc_on_object_storage_frees_what_no_manifest_references() {
    let cluster = Cluster::new().await;
    let (first, second) = (cluster.replica(true), cluster.replica(false));
    let one = registry_for(&Api::new(first.url.clone()), &first.url).await;
    let two = same_login(&one, &second.url);
    let before = cluster.blob_objects().await.len();
    assert_eq!(before, 0);
    gc_frees_exactly_the_unreferenced(&one, &two, &second.url).await;
    // Kept: config, layer, the kept manifest (the finished upload went in the last run).
    assert_eq!(cluster.blob_objects().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_on_the_local_store_frees_what_no_manifest_references() {
    let (server, data) = support::start_shop().await;
    let one = registry_for(&Api::new(server.url()), &server.url()).await;
    let two = same_login(&one, &server.url());
    let url = server.url();
    gc_frees_exactly_the_unreferenced(&one, &two, &url).await;
    let files = std::fs::read_dir(data.path().join("registry/blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(files, 3, "config, layer and the kept manifest stay on disk");

    // Objects no row names (left by a crash between the write and the row): freed once older
    // than the grace period, whatever grace is asked for; a young one stays.
    let dir = data.path().join("registry/blobs/sha256");
    let (old, young) = (dir.join("ab".repeat(32)), dir.join("cd".repeat(32)));
    std::fs::write(&old, b"stray-old").unwrap();
    std::fs::write(&young, b"stray-new").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let file = std::fs::File::options().write(true).open(&old).unwrap();
    file.set_modified(two_hours_ago).unwrap();
    drop(file);
    let api = Api::new(server.url());
    let audited = gc_audits(&api).await;
    let would = gc(&url, &["--dry-run", "--grace", "0"]);
    assert_eq!(would["orphanObjects"], 1, "{would}");
    assert_eq!(would["orphanBytes"], 9, "{would}");
    assert!(old.exists(), "a dry run removes nothing");
    let freed = gc(&url, &["--grace", "0"]);
    assert_eq!(freed["orphanObjects"], 1, "{freed}");
    assert_eq!(freed["orphanBytes"], 9, "{freed}");
    assert_eq!(freed["objects"], 1, "{freed}");
    assert_eq!(freed["bytes"], 9, "{freed}");
    assert_eq!(freed["graceSeconds"], 0, "{freed}");
    assert!(!old.exists() && young.exists(), "only the old stray goes");
    assert_eq!(
        gc_audits(&api).await,
        audited + 1,
        "a collection that freed something is audited; a dry run is not"
    );
    let again = gc(&url, &["--grace", "2h"]);
    assert_eq!(again["orphanObjects"], 0, "{again}");
    assert_eq!(again["graceSeconds"], 7200, "{again}");
    assert_eq!(
        gc_audits(&api).await,
        audited + 1,
        "a collection that freed nothing is not"
    );

    // A row whose object went missing behind the server's back is repaired: the row goes.
    let mut files = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path());
    let indexed = files.find(|p| p != &young).unwrap();
    std::fs::remove_file(&indexed).unwrap();
    assert_eq!(gc(&url, &["--dry-run"])["repaired"], 1);
    let repaired = gc(&url, &[]);
    assert_eq!(repaired["repaired"], 1, "{repaired}");
    assert_eq!(
        repaired["objects"], 0,
        "only a row was repaired: {repaired}"
    );
    assert_eq!(
        gc_audits(&api).await,
        audited + 2,
        "a collection that only repaired rows is audited"
    );
    assert_eq!(gc(&url, &[])["repaired"], 0, "repaired once");
    server.stop().await.unwrap();
}

/// A collection that only dropped a repository's link to a blob another repository's
/// manifest still uses frees no object, and is audited all the same.
#[tokio::test(flavor = "multi_thread")]
async fn gc_audits_a_run_that_only_swept_repository_links() {
    let (server, _data) = support::start_shop().await;
    let (url, api) = (server.url(), Api::new(server.url()));
    let (api_repo, web_repo) = (
        registry_for(&api, &url).await,
        registry_of_ci(&api, &url, "web").await,
    );
    let config = br#"{"architecture":"arm64","os":"linux"}"#.to_vec();
    let layer = random_bytes(3000, 45);
    let (c, l) = (
        api_repo.push_blob("shop/api", &config).await,
        api_repo.push_blob("shop/api", &layer).await,
    );
    let body = manifest(&c, &l, (config.len(), layer.len()));
    let put = api_repo
        .put_manifest("shop/api", "v1", wharf_oci::OCI_MANIFEST, &body)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(web_repo.push_blob("shop/web", &layer).await, l);
    let audited = gc_audits(&api).await;

    let swept = gc(&url, &["--grace", "0"]);
    assert_eq!(swept["repositoryBlobs"], 1, "shop/web's link: {swept}");
    assert_eq!(
        swept["objects"], 0,
        "shop/api still uses the layer: {swept}"
    );
    assert_eq!(swept["repaired"], 0, "{swept}");
    assert_eq!(gc_audits(&api).await, audited + 1, "the run is audited");
    assert_eq!(
        get_blob(&web_repo, "shop/web", &l).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get_blob(&api_repo, "shop/api", &l).await.0, StatusCode::OK);
    server.stop().await.unwrap();
}

/// An upload session idle for longer than an upload may live, and an upload file no session
/// owns as old (a crash's leftover), are freed by gc and counted in its totals.
#[tokio::test(flavor = "multi_thread")]
async fn gc_frees_expired_upload_sessions_and_counts_them_in_its_totals() {
    let data = tempfile::tempdir().unwrap();
    let database = support::test_database(data.path()).await;
    let options = support::serve_options(&database, data.path(), Some(shop_file()));
    let server = wharf_control_plane::start(options).await.unwrap();
    let (url, api) = (server.url(), Api::new(server.url()));
    let registry = registry_for(&api, &url).await;
    let session = start_session(&registry, "shop/api").await;
    assert_eq!(
        patch(&registry, &session, 0, &[7u8; 1000]).await,
        StatusCode::ACCEPTED
    );
    let kept = gc(&url, &["--grace", "0"]);
    assert_eq!(kept["uploadSessions"], 0, "the session is young: {kept}");
    let stray = data.path().join("registry/uploads/crash-leftover");
    std::fs::write(&stray, [1u8; 500]).unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let file = std::fs::File::options().write(true).open(&stray).unwrap();
    file.set_modified(two_hours_ago).unwrap();
    drop(file);
    // A young file no session owns (yet): an upload whose session is being written.
    let young = data.path().join("registry/uploads/in-flight");
    std::fs::write(&young, [2u8; 300]).unwrap();
    support::age_upload_sessions(&database).await;
    let audited = gc_audits(&api).await;

    let would = gc(&url, &["--dry-run"]);
    assert!(stray.exists(), "a dry run removes nothing");
    let freed = gc(&url, &[]);
    for report in [&would, &freed] {
        assert_eq!(report["uploadSessions"], 1, "{report}");
        assert_eq!(
            report["uploadBytes"], 1500,
            "the session's and the leftover's: {report}"
        );
        assert_eq!(report["objects"], 1, "{report}");
        assert_eq!(report["bytes"], 1500, "{report}");
    }
    assert!(!stray.exists(), "the leftover is gone");
    assert!(young.exists(), "a young file is kept");
    let status = registry
        .request(Method::GET, &session)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::NOT_FOUND, "the session is gone");
    assert_eq!(gc_audits(&api).await, audited + 1, "the run is audited");
    server.stop().await.unwrap();
}

/// A `wharf serve` on SQLite whose blobs are in a fresh bucket reached through a fault proxy.
struct Faulty {
    endpoint: String,
    bucket: String,
    proxy: support::proxy::Proxy,
    dir: tempfile::TempDir,
    served: Served,
    api: Api,
    registry: Registry,
}

impl Faulty {
    async fn new() -> Self {
        let (endpoint, bucket) = fresh_bucket().await;
        let proxy = support::proxy::Proxy::serve(&endpoint, Vec::new()).await;
        let dir = tempfile::tempdir().unwrap();
        let served = served_through(dir.path(), &proxy.url(), &bucket);
        let api = Api::new(served.url.clone());
        let registry = registry_for(&api, &served.url).await;
        Self {
            endpoint,
            bucket,
            proxy,
            dir,
            served,
            api,
            registry,
        }
    }
}

/// A `wharf serve` on SQLite in `dir` whose blobs are in `bucket`, reached through `endpoint`.
fn served_through(dir: &std::path::Path, endpoint: &str, bucket: &str) -> Served {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WHARF_ADMIN_USERNAME", support::ADMIN)
        .env("WHARF_ADMIN_TOKEN", TOKEN)
        .env("WHARF_BLOB_STORE_ENDPOINT", endpoint)
        .env("AWS_ACCESS_KEY_ID", "wharf-test")
        .env("AWS_SECRET_ACCESS_KEY", format!("{TOKEN}-aws"))
        .env("AWS_REGION", "us-east-1")
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .args(["--blob-store", &format!("s3://{bucket}/wharf"), "--config"])
        .arg(shop_file());
    Served::launch(command)
}

/// moto refuses some anonymous requests but checks no signature: any SigV4-shaped
/// authorization does.
const ANY_SIGNATURE: &str = "AWS4-HMAC-SHA256 Credential=wharf-test/20261204/us-east-1/s3/\
                             aws4_request, SignedHeaders=host, Signature=00";

/// An object's bytes, read straight from the bucket.
async fn object_bytes(endpoint: &str, bucket: &str, key: &str) -> Vec<u8> {
    let response = support::http()
        .get(format!("{endpoint}/{bucket}/{key}"))
        .header("authorization", ANY_SIGNATURE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{key}");
    response.bytes().await.unwrap().to_vec()
}

/// Deletes an object straight from the bucket, behind the server's back.
async fn remove_behind_the_servers_back(endpoint: &str, bucket: &str, key: &str) {
    let removed = support::http()
        .delete(format!("{endpoint}/{bucket}/{key}"))
        .header("authorization", ANY_SIGNATURE)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT, "{key}");
}

async fn assert_pulls(registry: &Registry, digest: &Digest, bytes: &[u8]) {
    let (status, pulled) = get_blob(registry, "shop/api", digest).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&pulled)
    );
    assert!(pulled == bytes, "the bytes pushed");
}

async fn collect(api: &Api) -> Value {
    let (status, report) = api.post("/wharf/v1/gc?graceSeconds=0", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

/// Issue 24, finding 10: S3 applies a garbage collector's delete but its answer is lost
/// (503 from a fault proxy that forwarded it). The index must not keep a row without its
/// object: the next push of that digest is stored, and pulls answer the bytes. A row whose
/// object vanished behind the server's back is repaired by the next push and by gc.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs WHARF_TEST_S3 (.ci/run)"]
async fn a_delete_applied_but_unanswered_loses_no_acknowledged_blob() {
    let Faulty {
        endpoint,
        bucket,
        proxy,
        dir: _dir,
        served,
        api,
        registry,
    } = Faulty::new().await;
    let bytes = random_bytes(4096, 24);
    let digest = registry.push_blob("shop/api", &bytes).await;

    // The loose blob is collected; every DELETE reaches S3 and is then answered 503.
    proxy.fail_every(
        "DELETE",
        Some(support::proxy::Fault::ForwardThenStatus(503)),
    );
    let report = collect(&api).await;
    assert_eq!(report["blobObjects"], 1, "{report}");
    assert!(
        bucket_keys(&endpoint, &bucket, "wharf/blobs/")
            .await
            .is_empty(),
        "S3 applied the delete"
    );
    proxy.fail_every("DELETE", None);

    // Pushed again: acknowledged, and stored, so it pulls.
    assert_eq!(registry.push_blob("shop/api", &bytes).await, digest);
    assert_pulls(&registry, &digest, &bytes).await;

    // The object vanishes behind the server's back (its row stays): a push stores it anew.
    let keys = bucket_keys(&endpoint, &bucket, "wharf/blobs/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    remove_behind_the_servers_back(&endpoint, &bucket, &keys[0]).await;
    assert_eq!(registry.push_blob("shop/api", &bytes).await, digest);
    assert_pulls(&registry, &digest, &bytes).await;

    // And once more, under a manifest (so gc keeps it), repaired by gc instead: the row goes,
    // so a pull answers 404, not 500, and the next push stores the bytes.
    let config = br#"{"architecture":"amd64"}"#;
    let config_digest = registry.push_blob("shop/api", config).await;
    let body = manifest(&config_digest, &digest, (config.len(), bytes.len()));
    let put = registry
        .put_manifest("shop/api", "kept", wharf_oci::OCI_MANIFEST, &body)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    let mut layer_key = None;
    for key in bucket_keys(&endpoint, &bucket, "wharf/blobs/").await {
        if object_bytes(&endpoint, &bucket, &key).await == bytes {
            layer_key = Some(key);
        }
    }
    let layer_key = layer_key.expect("the layer's object");
    remove_behind_the_servers_back(&endpoint, &bucket, &layer_key).await;
    // While the store fails HEADs, the object cannot be confirmed missing: the row stays.
    proxy.fail_every("HEAD", Some(support::proxy::Fault::Status(503, None)));
    let report = collect(&api).await;
    assert_eq!(report["repaired"], 0, "{report}");
    proxy.fail_every("HEAD", None);
    let report = collect(&api).await;
    assert_eq!(report["repaired"], 1, "{report}");
    assert_eq!(
        get_blob(&registry, "shop/api", &digest).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(registry.push_blob("shop/api", &bytes).await, digest);
    assert_pulls(&registry, &digest, &bytes).await;
    drop(served);
}

/// Issue 29, found by the fault drill (benches/drill.sh): S3 answering 503 (SlowDown) made
/// the registry answer 500 UNKNOWN, which no client retries, and `wharf push` failed. Now the
/// registry answers 503 with the reason (nothing was stored), and `wharf push` uploads the
/// blob again until the store answers.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs WHARF_TEST_S3 (.ci/run)"]
async fn an_object_store_answering_503_is_a_503_and_wharf_push_rides_it_out() {
    let Faulty {
        endpoint: _,
        bucket: _,
        proxy,
        dir,
        served,
        api: _,
        registry,
    } = Faulty::new().await;

    // Every PUT to S3 answers 503: the blob's upload is refused 503, naming why, and kept
    // nowhere.
    proxy.fail_every("PUT", Some(support::proxy::Fault::Status(503, None)));
    let bytes = random_bytes(4096, 29);
    let digest = Digest::sha256_of(&bytes);
    let location = start_session(&registry, "shop/api").await;
    let put = registry
        .request(Method::PUT, &format!("{location}?digest={digest}"))
        .header("content-type", "application/octet-stream")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::SERVICE_UNAVAILABLE);
    let refusal: Value = put.json().await.unwrap();
    assert_eq!(
        refusal["errors"][0]["message"],
        "the registry's storage did not answer just now; nothing was stored: try again",
        "{refusal}"
    );
    assert_eq!(
        get_blob(&registry, "shop/api", &digest).await.0,
        StatusCode::NOT_FOUND
    );
    proxy.fail_every("PUT", None);

    // The store fails the next dozen requests (more than the server's own retries take):
    // `wharf push` starts the blob's upload again and lands the image.
    proxy.fail_next(vec![support::proxy::Fault::Status(503, None); 12]);
    let layout = dir.path().join("layout");
    let (image, descriptor, _) = support::oci_layout::image(&layout, "slow-down", "");
    support::oci_layout::index_json(&layout, &descriptor, "v1");
    let source = format!("oci:{}:v1", layout.display());
    let pushed = support::push(&served.url, dir.path(), &source, &["--git-ref", "main"]);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    assert_eq!(
        proxy.faults_left(),
        0,
        "the store failed the push's requests first"
    );
    let outcome: Value = serde_json::from_str(&pushed.stdout).unwrap();
    assert_eq!(outcome["digest"], image.to_string(), "{outcome}");
    let manifest = registry
        .request(Method::GET, &format!("/v2/shop/api/manifests/{image}"))
        .header("accept", wharf_oci::OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), StatusCode::OK);
    drop(served);
}
