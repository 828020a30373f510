//! Interoperability with Debian's `docker-registry` (the CNCF distribution registry), with
//! htpasswd auth: `wharf push` copies an image from one docker-registry into the built-in
//! registry, and into a second docker-registry added to the control plane as an external
//! artifactory; `skopeo inspect` reads both results and the digests match the source's.
//! Needs docker-registry, htpasswd (apache2-utils), skopeo and umoci: `.ci/run` installs them
//! and runs the ignored tests.

use crate::support;

use crate::supply_chain::{Signer, dsse_bundle};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use support::client::Api;
use support::{TestServer, run, tool, wharf};

/// A `docker-registry serve` on a loopback port, with one htpasswd user.
struct DockerRegistry {
    address: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl DockerRegistry {
    fn start(user: &str, password: &str) -> Self {
        Self::launch(Some((user, password)))
    }

    /// One without auth (the published referrer clients' tests push to it anonymously).
    pub fn start_open() -> Self {
        Self::launch(None)
    }

    fn launch(login: Option<(&str, &str)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let auth = match login {
            Some((user, password)) => {
                let htpasswd = tool("htpasswd", &["-Bbn", user, password], dir.path());
                std::fs::write(dir.path().join("htpasswd"), htpasswd).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                    dir.path().join("htpasswd").display()
                )
            }
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:0\n  secret: wharf-test\n{auth}",
            dir.path().join("data").display(),
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let mut child = Command::new("docker-registry")
            .args(["serve", "config.yml"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker-registry");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        // It binds port 0 and says which port it got: no port is picked and released here.
        let mut seen = Vec::new();
        let address = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("docker-registry exited: {seen:#?}"))
                .unwrap();
            if let Some((_, rest)) = line.split_once("listening on ") {
                break rest.split(['"', ' ']).next().unwrap().to_string();
            }
            seen.push(line);
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            address,
            child,
            _dir: dir,
        }
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A two-layer image built by umoci, copied by skopeo into `registry` as `src/app:1`;
/// answers its digest.
fn seed(registry: &DockerRegistry, login: &str, work: &Path) -> String {
    tool("umoci", &["init", "--layout", "img"], work);
    tool("umoci", &["new", "--image", "img:v1"], work);
    for (i, size) in [(1, 700_000usize), (2, 1_500)].into_iter() {
        tool(
            "umoci",
            &["unpack", "--rootless", "--image", "img:v1", "bundle"],
            work,
        );
        let bytes: Vec<u8> = (0..size).map(|n| (n * 31 % 251) as u8 ^ i).collect();
        std::fs::write(work.join(format!("bundle/rootfs/layer{i}.bin")), bytes).unwrap();
        tool("umoci", &["repack", "--image", "img:v1", "bundle"], work);
        std::fs::remove_dir_all(work.join("bundle")).unwrap();
    }
    let target = format!("docker://{}/src/app:1", registry.address);
    tool(
        "skopeo",
        &[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            login,
            "oci:img:v1",
            &target,
        ],
        work,
    );
    inspect_digest(&target, login, work)
}

fn inspect_digest(reference: &str, login: &str, dir: &Path) -> String {
    let out = tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--creds",
            login,
            "--raw",
            reference,
        ],
        dir,
    );
    wharf_oci::Digest::sha256_of(out.as_bytes()).to_string()
}

fn push(server: &TestServer, work: &Path, extra: &[&str], source: &str) -> support::Run {
    let mut command = wharf(&server.url(), work);
    command
        .env("WHARF_SOURCE_USERNAME", "alice")
        .env("WHARF_SOURCE_PASSWORD", "source-secret-1")
        .args([
            "push",
            "--project",
            "shop",
            "--service",
            "api",
            "--image",
            source,
            "--git-ref",
            "main",
            "--output",
            "json",
        ])
        .args(extra);
    run(&mut command)
}

fn built_in_login(server: &TestServer) -> (String, String) {
    let api = Api::new(server.url());
    let (_, creds) = server.runtime.block_on(api.post(
        "/cc-ui/v1/ci-cd/pushCredentials",
        json!({"blueprintName": "shop", "artifactory": "default", "applicationName": "api"}),
    ));
    (
        format!(
            "{}:{}",
            creds["username"].as_str().unwrap(),
            creds["password"].as_str().unwrap()
        ),
        creds["repositoryUri"].as_str().unwrap().to_string(),
    )
}

#[test]
#[ignore = "needs docker-registry, htpasswd, skopeo and umoci (installed by .ci/run)"]
fn wharf_push_copies_between_docker_registries_and_the_built_in_registry() {
    let source = DockerRegistry::start("alice", "source-secret-1");
    let second = DockerRegistry::start("bob", "second-secret-2");
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let source_digest = seed(&source, "alice:source-secret-1", work);
    let image = format!("{}/src/app:1", source.address);
    let server = TestServer::shop();

    // Into the built-in registry.
    let done = push(&server, work, &[], &image);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let json: Value = done.json();
    assert_eq!(json["digest"], source_digest);
    assert_eq!(json["routedTo"], "dev");
    let (login, repository) = built_in_login(&server);
    let reference = format!("docker://{repository}@{source_digest}");
    assert_eq!(inspect_digest(&reference, &login, work), source_digest);

    // Into a second docker-registry, added to the control plane as an external artifactory.
    let api = Api::new(server.url());
    let (status, added) = server.runtime.block_on(api.post(
        "/cc-ui/v1/artifactories/others",
        json!({"name": "second", "uri": second.address, "username": "bob",
               "password": "second-secret-2"}),
    ));
    assert_eq!(status, 201, "{added}");
    assert!(
        !added.to_string().contains("second-secret-2"),
        "a password is never answered: {added}"
    );
    let done = push(&server, work, &["--registry", "second"], &image);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let json: Value = done.json();
    assert_eq!(json["digest"], source_digest);
    let pushed = format!("{}/shop/api@{source_digest}", second.address);
    assert_eq!(json["pushedUri"], pushed);
    assert_eq!(
        json["artifactUri"], pushed,
        "the registered image is the pushed one"
    );
    assert!(!done.stdout.contains("second-secret-2") && !done.stderr.contains("second-secret-2"));
    let reference = format!("docker://{pushed}");
    assert_eq!(
        inspect_digest(&reference, "bob:second-secret-2", work),
        source_digest
    );

    // A second push of the unchanged image sends nothing.
    let again = push(&server, work, &["--registry", "second"], &image);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["bytesUploaded"], 0);
}

#[test]
#[ignore = "needs docker-registry, htpasswd, skopeo and umoci (installed by .ci/run)"]
fn a_wrong_source_password_is_an_auth_failure_and_nothing_is_registered() {
    let source = DockerRegistry::start("alice", "another-password");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::shop();
    let image = format!("{}/src/app:1", source.address);
    let done = push(&server, work.path(), &[], &image);
    assert_eq!(done.code, 3, "{}", done.stderr);
    assert!(!done.stderr.contains("source-secret-1"));
    assert_eq!(server.stored_builds(), 0);
}

/// Issue 24, finding 3: a protected stage reads a tag's digest from the registry the image's
/// URI names (a docker-registry here, through its `/v2/` API with the credentials an admin
/// added for it), never from the built-in registry by repository name; the approved digest is
/// what prod then deploys.
#[test]
#[ignore = "needs docker-registry, htpasswd, skopeo and umoci (installed by .ci/run)"]
fn a_protected_stage_pins_a_tag_to_the_digest_its_own_registry_holds() {
    let source = DockerRegistry::start("alice", "source-secret-1");
    let work = tempfile::tempdir().unwrap();
    let digest = seed(&source, "alice:source-secret-1", work.path());
    let file = work.path().join("wharf.toml");
    let shop = std::fs::read_to_string(support::shop_file()).unwrap();
    let protection = "\n[protection.prod]\napprovals = 1\napprovers = [\"release-manager\"]\n";
    std::fs::write(&file, shop + protection).unwrap();
    let server = TestServer::with_file(Some(file));
    let api = Api::new(server.url());
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        server.runtime.block_on(api.call(method, path, body))
    };
    let image = format!("{}/src/app:1", source.address);
    let body = support::client::saas("staging", "ENVIRONMENT", "ext-1", &image);
    let (status, staged) = call(
        reqwest::Method::POST,
        "/cc-ui/v1/ci-cd/register",
        Some(body),
    );
    assert_eq!(status, 200, "{staged}");
    let promote = format!(
        "/cc-ui/v1/artifacts/promote?ciName=api&stackName=shop&artifactId={}",
        staged["id"].as_str().unwrap()
    );

    // Until a server admin adds the registry, its digest is not read: refused, nothing pinned.
    let (status, refused) = call(reqwest::Method::POST, &promote, None);
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("which is not a registry added to this control plane"),
        "{refused}"
    );

    let (status, added) = call(
        reqwest::Method::POST,
        "/cc-ui/v1/artifactories/others",
        Some(
            json!({"name": "source", "uri": source.address, "username": "alice",
                    "password": "source-secret-1"}),
        ),
    );
    assert_eq!(status, 201, "{added}");
    let (status, _) = call(reqwest::Method::POST, &promote, None);
    assert_eq!(status, 202);
    let (_, pending) = call(
        reqwest::Method::GET,
        "/wharf/v1/approvals?project=shop",
        None,
    );
    assert_eq!(pending[0]["digest"], digest, "{pending}");
    let id = pending[0]["requestId"].as_str().unwrap().to_string();

    let (status, token) = call(
        reqwest::Method::POST,
        "/wharf/v1/tokens",
        Some(json!({"username": "release-lead"})),
    );
    assert_eq!(status, 201, "{token}");
    let lead = support::client::User {
        username: "release-lead".into(),
        token: token["token"].as_str().unwrap().into(),
    };
    let path = format!("/wharf/v1/approvals/{id}/approve");
    let done = server.runtime.block_on(support::client::call(
        &server.url(),
        &lead,
        reqwest::Method::POST,
        &path,
        None,
    ));
    assert_eq!(done.body["status"], "COMPLETED", "{:?}", done.body);
    let (_, resolved) = call(
        reqwest::Method::GET,
        "/wharf/v1/resolve?stackName=shop&environment=prod&ciName=api",
        None,
    );
    assert_eq!(
        resolved["artifact"]["artifactUri"],
        format!("{}/src/app@{digest}", source.address)
    );
}

/// Runs `future` to its end on a runtime of its own.
fn block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Puts `bytes` as a blob of `repository` on an auth-less registry: a session, then one PUT.
async fn put_blob(address: &str, repository: &str, bytes: &[u8]) -> wharf_oci::Digest {
    let digest = wharf_oci::Digest::sha256_of(bytes);
    let http = support::http();
    let opened = http
        .post(format!("http://{address}/v2/{repository}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 202);
    let location = opened.headers()["location"].to_str().unwrap().to_string();
    let location = match location.starts_with("http") {
        true => location,
        false => format!("http://{address}{location}"),
    };
    let separator = if location.contains('?') { '&' } else { '?' };
    let put = http
        .put(format!("{location}{separator}digest={digest}"))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    digest
}

/// cosign's `.sig` of `digest` on an auth-less registry, signed by `signer` (skopeo 1.9.3 as
/// Debian builds it cannot sign: TESTING.md).
async fn cosign_sign(address: &str, repository: &str, digest: &str, signer: &Signer) {
    let payload =
        json!({"critical": {"identity": {"docker-reference": format!("{address}/{repository}")},
        "image": {"docker-manifest-digest": digest}, "type": "cosign container image signature"},
        "optional": null})
        .to_string();
    let blob = put_blob(address, repository, payload.as_bytes()).await;
    let config =
        br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = put_blob(address, repository, config).await;
    let manifest = json!({"schemaVersion": 2, "mediaType": wharf_oci::OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "digest": blob.to_string(), "size": payload.len(),
                    "annotations": {"dev.cosignproject.cosign/signature": signer.sign_text(payload.as_bytes())}}]})
    .to_string();
    let tag = format!("{}.sig", digest.replacen(':', "-", 1));
    let put = support::http()
        .put(format!("http://{address}/v2/{repository}/manifests/{tag}"))
        .header("content-type", wharf_oci::OCI_MANIFEST)
        .body(manifest)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
}

/// The manifests a registry's `sha256-<hex>` tag-scheme index lists, by artifact type.
async fn tag_scheme_types(address: &str, repository: &str, digest: &str) -> Vec<String> {
    let tag = digest.replacen(':', "-", 1);
    let index: Value = support::http()
        .get(format!("http://{address}/v2/{repository}/manifests/{tag}"))
        .header("accept", wharf_oci::OCI_INDEX)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut types: Vec<String> = index["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("no index at {tag}: {index}"))
        .iter()
        .map(|m| m["artifactType"].as_str().unwrap_or("-").to_string())
        .collect();
    types.sort();
    types
}

/// Issue 30's end-to-end: an image signed with cosign's `.sig`, with an SBOM pushed by PyPI's
/// oras and a sigstore bundle attached by npm's @sigstore/oci, on a docker-registry without the
/// referrers API (tag scheme); `wharf push` copies all three into `wharf serve` (referrers API),
/// the registration adds the provenance statement, the signature passes staging's gate, and a
/// second `wharf push` carries all four on into a second docker-registry (tag scheme again).
#[test]
#[ignore = "needs docker-registry, skopeo, umoci, .ci/venv (oras) and .ci/tools (@sigstore/oci)"]
fn signatures_sboms_and_provenance_travel_with_wharf_push_at_each_hop() {
    const SBOM: &str = "application/spdx+json";
    const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
    const IN_TOTO: &str = "application/vnd.in-toto+json";
    let source = DockerRegistry::start_open();
    let second = DockerRegistry::start_open();
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let digest = seed(&source, "anyone:anything", work);
    let signer = Signer::new();
    block(cosign_sign(&source.address, "src/app", &digest, &signer));
    std::fs::write(
        work.join("sbom.spdx.json"),
        br#"{"spdxVersion":"SPDX-2.3","name":"app"}"#,
    )
    .unwrap();
    let root = support::repo_root();
    let oras = root.join("tests/supply_chain/oras_attach.py");
    let python = root.join(".ci/venv/bin/python");
    tool(
        python.to_str().unwrap(),
        &[
            oras.to_str().unwrap(),
            &source.address,
            "src/app",
            &digest,
            "sbom.spdx.json",
        ],
        work,
    );
    let parsed: wharf_oci::Digest = digest.parse().unwrap();
    std::fs::write(work.join("bundle.json"), dsse_bundle(&signer, &parsed)).unwrap();
    let attach = root.join("tests/supply_chain/sigstore_attach.mjs");
    tool(
        "node",
        &[
            attach.to_str().unwrap(),
            &source.address,
            "src/app",
            &digest,
            "bundle.json",
        ],
        work,
    );
    assert_eq!(
        block(tag_scheme_types(&source.address, "src/app", &digest)),
        [SBOM, BUNDLE]
    );

    let shop = std::fs::read_to_string(support::shop_file()).unwrap();
    let gate = format!(
        "\n[protection.staging]\nrequire = [\"signature\"]\nsignature_keys = [\"\"\"\n{}\"\"\"]\n",
        signer.pem
    );
    let file = work.join("wharf.toml");
    std::fs::write(&file, shop + &gate).unwrap();
    let server = TestServer::with_file(Some(file));
    let github = |command: &mut std::process::Command| {
        command
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_SHA", "d6f1c4e0b6b5a7c1e9d2f3a4b5c6d7e8f9a0b1c2")
            .env("GITHUB_REF", "refs/heads/main")
            .env("GITHUB_RUN_ID", "7")
            .env("GITHUB_RUN_ATTEMPT", "1");
    };

    // Hop 1: tag scheme → referrers API. Found by the tag-scheme index and cosign's tag.
    let mut first = wharf(&server.url(), work);
    github(&mut first);
    first.args([
        "push",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        &format!("{}/src/app:1", source.address),
        "--output",
        "json",
    ]);
    let done = run(&mut first);
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    let pushed = done.json();
    let copied = pushed["referrers"]
        .as_array()
        .unwrap_or_else(|| panic!("no referrers in {pushed:#}"));
    let how: Vec<(String, String)> = copied
        .iter()
        .map(|r| {
            (
                r["artifactType"].as_str().unwrap_or("-").to_string(),
                format!(
                    "{}→{}",
                    r["foundBy"].as_str().unwrap(),
                    r["storedAs"].as_str().unwrap()
                ),
            )
        })
        .collect();
    assert!(
        how.contains(&(SBOM.into(), "tag-scheme→referrers-api".into())),
        "{how:?}"
    );
    assert!(
        how.contains(&(BUNDLE.into(), "tag-scheme→referrers-api".into())),
        "{how:?}"
    );
    assert!(
        how.contains(&(
            wharf_oci::COSIGN_SIGNATURE.into(),
            "cosign-tag→cosign-tag".into()
        )),
        "{how:?}"
    );
    let (login, repository) = built_in_login(&server);
    let (user, password) = login.split_once(':').unwrap();
    let host = server.url().trim_start_matches("http://").to_string();
    let listed: Value = block(async {
        support::http()
            .get(format!("{}/v2/shop/api/referrers/{digest}", server.url()))
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let mut types: Vec<&str> = listed["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["artifactType"].as_str())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [SBOM, BUNDLE, IN_TOTO],
        "the provenance joined them: {listed:#}"
    );
    assert!(repository.ends_with("shop/api"), "{repository}");

    // The signature travelled: staging's gate takes the build.
    let api = Api::new(server.url());
    let build = pushed["artifactId"].as_str().unwrap().to_string();
    let promoted = server.runtime.block_on(api.promote("shop", "api", &build));
    assert_eq!(promoted.status, 200, "{}", promoted.body);

    // Hop 2: referrers API → tag scheme, with cosign's tag; the provenance goes too.
    // Onward from wharf serve into a registry added as `name`, with the admin's credentials.
    let onward = |name: &str, address: &str, extra: &[&str]| {
        let (status, added) = server.runtime.block_on(api.post(
            "/cc-ui/v1/artifactories/others",
            json!({"name": name, "uri": address, "username": "anyone", "password": "anything"}),
        ));
        assert_eq!(status, 201, "{added}");
        let mut command = wharf(&server.url(), work);
        command
            .env("WHARF_SOURCE_USERNAME", support::ADMIN)
            .env("WHARF_SOURCE_PASSWORD", support::TOKEN)
            .args(["push", "--project", "shop", "--service", "api", "--image"])
            .arg(format!("{host}/shop/api@{digest}"))
            .args(["--registry", name, "--git-ref", "main", "--output", "json"])
            .args(extra);
        run(&mut command)
    };
    let done = onward("second", &second.address, &[]);
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    assert_eq!(
        block(tag_scheme_types(&second.address, "shop/api", &digest)),
        [SBOM, BUNDLE, IN_TOTO]
    );
    let signature = format!(
        "docker://{}/shop/api:{}.sig",
        second.address,
        digest.replacen(':', "-", 1)
    );
    tool(
        "skopeo",
        &["inspect", "--tls-verify=false", "--raw", &signature],
        work,
    );

    // --referrers none copies the image alone; a value that is no artifact type is refused.
    let third = DockerRegistry::start_open();
    let done = onward("third", &third.address, &["--referrers", "none"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let wrong = onward("fourth", &third.address, &["--referrers", "sbom"]);
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .contains("--referrers: 'sbom' is not all, none or an artifactType"),
        "{}",
        wrong.stderr
    );
    let index = block(
        support::http()
            .get(format!(
                "http://{}/v2/shop/api/manifests/{}",
                third.address,
                digest.replacen(':', "-", 1)
            ))
            .send(),
    )
    .unwrap();
    assert_eq!(
        index.status(),
        404,
        "nothing that refers to the image was copied"
    );
}
