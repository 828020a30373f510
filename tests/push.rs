//! `wharf push`: an image from an OCI layout or a registry copied into the control plane's
//! built-in registry, digests kept, then registered by digest. Re-pushing sends nothing;
//! registry to registry on one host mounts; a corrupt blob is refused; faults are survived.

use crate::support;

use serde_json::Value;
use std::path::Path;
use support::oci_layout::{blob, image, index_json};
use support::proxy::{Fault, Proxy};
use support::{TestServer, run, wharf};
use wharf_oci::Digest;

fn push(server_url: &str, cwd: &Path, service: &str, image: &str, extra: &[&str]) -> support::Run {
    let mut command = wharf(server_url, cwd);
    command
        .args([
            "push",
            "--project",
            "shop",
            "--service",
            service,
            "--image",
            image,
            "--git-ref",
            "main",
            "--output",
            "json",
        ])
        .args(extra);
    run(&mut command)
}

#[test]
fn an_oci_layout_is_pushed_registered_by_digest_and_a_re_push_sends_nothing() {
    let server = TestServer::shop();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let (digest, descriptor, manifest) = image(&layout, "one", "");
    index_json(&layout, &descriptor, "v1");

    let first = push(
        &server.url(),
        work.path(),
        "api",
        &format!("oci:{}:v1", layout.display()),
        &[],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let json = first.json();
    assert_eq!(json["digest"], digest.to_string());
    let pushed = json["pushedUri"].as_str().unwrap();
    assert!(pushed.ends_with(&format!("/shop/api@{digest}")), "{pushed}");
    assert_eq!(
        json["artifactUri"], pushed,
        "the pushed image is what gets registered"
    );
    assert_eq!(json["routedTo"], "dev");
    assert_eq!(json["blobsUploaded"], 3);
    assert!(json["bytesUploaded"].as_u64().unwrap() > 300_000);

    let again = push(
        &server.url(),
        work.path(),
        "api",
        &format!("oci:{}:v1", layout.display()),
        &[],
    );
    let json = again.json();
    assert_eq!(json["upToDate"], true);
    assert_eq!(
        json["bytesUploaded"], 0,
        "re-pushing an unchanged image uploads nothing"
    );

    let host = pushed.split('/').next().unwrap();
    let fetched = server.runtime.block_on(async {
        support::http()
            .get(format!("http://{host}/v2/shop/api/manifests/v1"))
            .basic_auth(support::ADMIN, Some(support::TOKEN))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    });
    assert_eq!(
        fetched.as_ref(),
        manifest.as_slice(),
        "manifest bytes verbatim"
    );

    // Registry to registry on the same host: every blob is mounted, none uploaded. The
    // source's credentials come from a Docker config.json, as `docker login` writes it.
    let docker = work.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64_of(&format!("{}:{}", support::ADMIN, support::TOKEN));
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    let mut mounted = wharf(&server.url(), work.path());
    mounted.env("DOCKER_CONFIG", &docker).args([
        "push",
        "--project",
        "shop",
        "--service",
        "web",
        "--image",
        &format!("{host}/shop/api:v1"),
        "--git-ref",
        "main",
        "--output",
        "json",
    ]);
    let mounted = run(&mut mounted);
    assert_eq!(mounted.code, 0, "{}", mounted.stderr);
    let json = mounted.json();
    assert_eq!(json["digest"], digest.to_string());
    assert_eq!(json["blobsMounted"], 3);
    assert_eq!(json["bytesUploaded"], 0);
}

#[test]
fn a_multi_platform_index_is_copied_whole_or_one_platform() {
    let server = TestServer::shop();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("multi");
    let (_, amd, _) = image(
        &layout,
        "amd",
        r#","platform":{"architecture":"amd64","os":"linux"}"#,
    );
    let (arm_digest, arm, _) = image(
        &layout,
        "arm",
        r#","platform":{"architecture":"arm64","os":"linux","variant":"v8"}"#,
    );
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{amd},{arm}]}}"#,
        wharf_oci::OCI_INDEX
    );
    let (index_digest, index_descriptor) =
        blob(&layout, wharf_oci::OCI_INDEX, index.as_bytes(), "");
    index_json(&layout, &index_descriptor, "multi");

    let whole = push(
        &server.url(),
        work.path(),
        "api",
        &format!("oci:{}:multi", layout.display()),
        &[],
    );
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    assert_eq!(
        whole.json()["digest"],
        index_digest.to_string(),
        "the index, byte-identical"
    );
    assert_eq!(whole.json()["blobsUploaded"], 6);

    let one = push(
        &server.url(),
        work.path(),
        "web",
        &format!("oci:{}:multi", layout.display()),
        &["--platform", "linux/arm64", "--tag", "arm"],
    );
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(one.json()["digest"], arm_digest.to_string());
    assert_eq!(one.json()["blobsUploaded"], 3);

    let missing = push(
        &server.url(),
        work.path(),
        "web",
        &format!("oci:{}:multi", layout.display()),
        &["--platform", "windows/amd64"],
    );
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("windows/amd64"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_corrupt_blob_is_refused_and_nothing_is_registered() {
    let server = TestServer::shop();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("bad");
    let (_, descriptor, manifest) = image(&layout, "bad", "");
    index_json(&layout, &descriptor, "v1");
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    let layer: Digest = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let path = layout.join("blobs/sha256").join(layer.hex());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let out = push(
        &server.url(),
        work.path(),
        "api",
        &format!("oci:{}:v1", layout.display()),
        &[],
    );
    assert_eq!(out.code, 8, "{}", out.stderr);
    assert!(
        out.stderr.contains("corrupt") || out.stderr.contains("DIGEST_INVALID"),
        "{}",
        out.stderr
    );
    assert_eq!(server.stored_builds(), 0);
}

#[test]
fn a_push_through_faults_completes_with_the_same_digest() {
    let server = TestServer::shop();
    let proxy = Proxy::start(
        &server.runtime,
        &server.url(),
        vec![
            Fault::Status(503, None),
            Fault::Status(429, Some(0)),
            Fault::Reset,
        ],
    );
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let (digest, descriptor, _) = image(&layout, "faults", "");
    index_json(&layout, &descriptor, "v1");
    let out = push(
        &proxy.url(),
        work.path(),
        "api",
        &format!("oci:{}:v1", layout.display()),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["digest"], digest.to_string());
    assert!(
        out.json()["pushedUri"]
            .as_str()
            .unwrap()
            .starts_with(&proxy.addr.to_string()),
        "registry traffic went through the proxy too"
    );
    assert_eq!(server.stored_builds(), 1);
}

#[test]
fn a_push_goes_through_the_proxy_the_standard_variables_name() {
    let server = TestServer::shop();
    // The same relay, used here as a forward proxy: requests reach it in absolute form.
    let proxy = Proxy::start(&server.runtime, &server.url(), vec![]);
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let (digest, descriptor, _) = image(&layout, "proxied", "");
    index_json(&layout, &descriptor, "v1");
    let mut command = wharf(&server.url(), work.path());
    command
        .env("HTTP_PROXY", proxy.url())
        .env("WHARF_PROGRESS", "lines")
        .args([
            "push",
            "--project",
            "shop",
            "--service",
            "api",
            "--git-ref",
            "main",
        ])
        .args(["--output", "json", "--image"])
        .arg(format!("oci:{}:v1", layout.display()));
    let out = run(&mut command);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["digest"], digest.to_string());
    let absolute = format!("{}/", server.url());
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .any(|(_, path)| path.starts_with(&format!("{absolute}v2/shop/api/"))),
        "registry calls went through the proxy: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(_, path)| path.starts_with(&format!("{absolute}cc-ui/v1/"))),
        "control plane calls went through the proxy: {seen:?}"
    );
    // Progress in plain lines (no terminal here): the last says everything was sent.
    let last = out
        .stderr
        .lines()
        .rfind(|l| l.starts_with("wharf push: "))
        .unwrap_or_else(|| panic!("no progress line:\n{}", out.stderr));
    assert!(last.contains("(100%), 3 of 3 blobs"), "{last}");
}

#[test]
fn blobs_too_large_for_a_proxy_in_front_of_the_registry_go_in_chunks() {
    let server = TestServer::shop();
    let proxy = Proxy::start(&server.runtime, &server.url(), vec![]);
    // Like nginx with client_max_body_size 100k in front of the control plane.
    proxy.limit_bodies(100 * 1024);
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let (digest, descriptor, _) = image(&layout, "chunked", "");
    index_json(&layout, &descriptor, "v1");
    let out = push(
        &proxy.url(),
        work.path(),
        "api",
        &format!("oci:{}:v1", layout.display()),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["digest"], digest.to_string());
    // The 300 kB layer: its 4 MiB first chunk is the whole layer, refused (413) until the
    // chunk size halves below it, then halved on each 413 (256 KiB, 128 KiB) down to 64 KiB,
    // which the proxy takes; it never goes below the 64 KiB floor.
    let limit = 100 * 1024;
    let sizes = proxy.bodies("PATCH");
    let refused: Vec<usize> = sizes.iter().copied().filter(|s| *s > limit).collect();
    assert_eq!(
        refused[refused.len() - 2..],
        [256 * 1024, 128 * 1024],
        "each 413 halves the chunk: {sizes:?}"
    );
    let accepted: Vec<usize> = sizes.iter().copied().filter(|s| *s <= limit).collect();
    let (last, whole) = accepted.split_last().unwrap();
    assert!(
        whole.iter().all(|s| *s == 64 * 1024) && *last <= 64 * 1024,
        "64 KiB chunks, the floor, and the remainder: {sizes:?}"
    );
    assert_eq!(
        accepted.iter().sum::<usize>(),
        refused[0],
        "the chunks add up to the layer the first PATCH tried whole: {sizes:?}"
    );
    // The refused first attempt does not count twice in the progress.
    let last = out
        .stderr
        .lines()
        .rfind(|l| l.starts_with("wharf push: "))
        .unwrap_or_else(|| panic!("no progress line:\n{}", out.stderr));
    assert!(last.contains("(100%), 3 of 3 blobs"), "{last}");
    let pushed = out.json()["pushedUri"].as_str().unwrap().to_string();
    let fetched = server.runtime.block_on(async {
        let url = format!(
            "{}/v2/shop/api/manifests/{}",
            server.url(),
            pushed.rsplit('@').next().unwrap()
        );
        support::http()
            .get(url)
            .basic_auth(support::ADMIN, Some(support::TOKEN))
            .header("accept", wharf_oci::OCI_MANIFEST)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(fetched.is_success(), "{fetched}");
    assert_eq!(server.stored_builds(), 1);
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A `docker save` archive of the older shape (manifest.json, config, layer tars), made with
/// the system `tar` as Docker lays it out; no Docker daemon is involved.
#[test]
fn a_docker_save_archive_is_pushed_with_its_layer_digests_reported() {
    let server = TestServer::shop();
    let work = tempfile::tempdir().unwrap();
    let saved = work.path().join("saved");
    std::fs::create_dir_all(saved.join("abc123")).unwrap();
    let layer = b"pretend this is a layer tar".repeat(1000);
    std::fs::write(saved.join("abc123/layer.tar"), &layer).unwrap();
    let layer_digest = Digest::sha256_of(&layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}}}}"#
    );
    std::fs::write(saved.join("cfg.json"), &config).unwrap();
    std::fs::write(
        saved.join("manifest.json"),
        r#"[{"Config":"cfg.json","RepoTags":["shop/api:9"],"Layers":["abc123/layer.tar"]}]"#,
    )
    .unwrap();
    let archive = work.path().join("image.tar");
    let status = std::process::Command::new("tar")
        .args(["-cf"])
        .arg(&archive)
        .args(["-C"])
        .arg(&saved)
        .args(["manifest.json", "cfg.json", "abc123/layer.tar"])
        .status()
        .unwrap();
    assert!(status.success());

    let out = push(
        &server.url(),
        work.path(),
        "api",
        &format!("docker-archive:{}", archive.display()),
        &["--tag", "9"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json = out.json();
    let digests: Vec<&str> = json["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["digest"].as_str().unwrap())
        .collect();
    assert!(
        digests.contains(&layer_digest.to_string().as_str()),
        "the layer keeps its diff_id as digest: {digests:?}"
    );
    assert!(digests.contains(&Digest::sha256_of(config.as_bytes()).to_string().as_str()));
    assert_eq!(json["blobsUploaded"], 2);
    assert!(
        json["pushedUri"]
            .as_str()
            .unwrap()
            .contains("/shop/api@sha256:")
    );

    // Gzipped on the way out: a new layer digest, reported beside its diff_id, and fewer
    // bytes sent; the config (and so its diff_ids) is untouched.
    let gzipped = push(
        &server.url(),
        work.path(),
        "web",
        &format!("docker-archive:{}", archive.display()),
        &["--gzip-layers"],
    );
    assert_eq!(gzipped.code, 0, "{}", gzipped.stderr);
    let json = gzipped.json();
    let layers = json["compressedLayers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["diffId"], layer_digest.to_string());
    assert_ne!(layers[0]["digest"], layer_digest.to_string());
    let size = layers[0]["size"].as_u64().unwrap();
    assert!(
        size < layer.len() as u64 / 10,
        "gzip shrank the repetitive layer: {size}"
    );
    let uploaded: Vec<&str> = json["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["digest"].as_str().unwrap())
        .collect();
    assert!(uploaded.contains(&layers[0]["digest"].as_str().unwrap()));
    assert!(uploaded.contains(&Digest::sha256_of(config.as_bytes()).to_string().as_str()));

    let layout = work.path().join("layout");
    let (_, descriptor, _) = image(&layout, "plain", "");
    index_json(&layout, &descriptor, "v1");
    let refused = push(
        &server.url(),
        work.path(),
        "api",
        &format!("oci:{}:v1", layout.display()),
        &["--gzip-layers"],
    );
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("--gzip-layers applies to docker-archive:")
    );

    let broken = work.path().join("not-an-archive.tar");
    std::fs::write(&broken, "hello").unwrap();
    let refused = push(
        &server.url(),
        work.path(),
        "api",
        &format!("docker-archive:{}", broken.display()),
        &[],
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("not-an-archive.tar"),
        "{}",
        refused.stderr
    );
}

/// No Docker daemon runs here, so this test answers on a Unix socket as the daemon's image
/// export does (`GET /images/{name}/get` → the `docker save` archive), and checks that
/// `docker-daemon:NAME` asks for the right image and pushes what comes back.
#[test]
fn a_docker_daemon_image_is_exported_over_its_socket_and_pushed() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let server = TestServer::shop();
    let work = tempfile::tempdir().unwrap();
    let saved = work.path().join("saved");
    std::fs::create_dir_all(saved.join("l1")).unwrap();
    std::fs::write(saved.join("l1/layer.tar"), b"daemon layer".repeat(500)).unwrap();
    std::fs::write(
        saved.join("c.json"),
        r#"{"os":"linux","architecture":"amd64"}"#,
    )
    .unwrap();
    std::fs::write(
        saved.join("manifest.json"),
        r#"[{"Config":"c.json","RepoTags":["shop/api:dev"],"Layers":["l1/layer.tar"]}]"#,
    )
    .unwrap();
    let archive = work.path().join("export.tar");
    let status = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&archive)
        .arg("-C")
        .arg(&saved)
        .args(["manifest.json", "c.json", "l1/layer.tar"])
        .status()
        .unwrap();
    assert!(status.success());
    let tar_bytes = std::fs::read(&archive).unwrap();

    let socket = work.path().join("docker.sock");
    let listener = server
        .runtime
        .block_on(async { tokio::net::UnixListener::bind(&socket).unwrap() });
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = asked.clone();
    server.runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mut stream = BufReader::new(stream);
            let mut request_line = String::new();
            stream.read_line(&mut request_line).await.unwrap();
            loop {
                let mut line = String::new();
                if stream.read_line(&mut line).await.unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            record.lock().unwrap().push(request_line.trim().to_string());
            let found = request_line.contains("/images/shop%2Fapi%3Adev/get");
            let head = if found {
                format!("HTTP/1.0 200 OK\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n", tar_bytes.len())
            } else {
                "HTTP/1.0 404 Not Found\r\nContent-Type: application/json\r\n\r\n{\"message\":\"No such image\"}".to_string()
            };
            stream.get_mut().write_all(head.as_bytes()).await.unwrap();
            if found {
                stream.get_mut().write_all(&tar_bytes).await.unwrap();
            }
            stream.get_mut().shutdown().await.unwrap();
        }
    });

    let docker_host = format!("unix://{}", socket.display());
    let mut command = wharf(&server.url(), work.path());
    command.env("DOCKER_HOST", &docker_host).args([
        "push",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        "docker-daemon:shop/api:dev",
        "--git-ref",
        "main",
        "--output",
        "json",
    ]);
    let out = run(&mut command);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["tag"], "dev");
    assert_eq!(out.json()["blobsUploaded"], 2);
    assert_eq!(
        asked.lock().unwrap()[0],
        "GET /images/shop%2Fapi%3Adev/get HTTP/1.0"
    );

    let mut missing = wharf(&server.url(), work.path());
    missing.env("DOCKER_HOST", &docker_host).args([
        "push",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        "docker-daemon:nope:1",
        "--git-ref",
        "main",
    ]);
    let refused = run(&mut missing);
    assert_eq!(
        refused.code, 2,
        "an image the daemon does not have is an input error: {}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("No such image"),
        "{}",
        refused.stderr
    );
}
