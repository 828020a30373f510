//! Gates of protected stages and provenance (docs/supply-chain.md): a stage that requires a
//! signature refuses an unsigned build on every way in (promotion, registering or attaching
//! straight in) and takes one signed by its key (cosign's `.sig` tag, or a sigstore bundle
//! referrer with a DSSE envelope); `warn` records instead of refusing; provenance sent by a
//! keyless job is verified against its identity token, a forged field is refused, and the
//! statement is shown by `wharf builds show` and kept as an in-toto referrer.
//!
//! The signatures are made here with ring in cosign's formats (Debian's skopeo 1.9.3 has
//! sigstore signing compiled out; TESTING.md says more); they are verified by the server.

use crate::support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::client::{Api, saas};
use support::registry::Registry;
use support::{run, wharf};
use wharf_oci::{Digest, OCI_MANIFEST};

const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The DER prefix of a P-256 SubjectPublicKeyInfo.
const SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A cosign key pair: signs with ring, its public key as cosign writes `cosign.pub`.
pub struct Signer {
    pair: EcdsaKeyPair,
    pub pem: String,
}

impl Signer {
    pub fn new() -> Self {
        let random = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &random).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &random)
                .unwrap();
        let mut spki = SPKI_PREFIX.to_vec();
        spki.extend_from_slice(pair.public_key().as_ref());
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(spki)
        );
        Self { pair, pem }
    }

    /// A signature of `message`, base64 (as cosign's annotation holds it).
    pub fn sign_text(&self, message: &[u8]) -> String {
        self.sign(message)
    }

    fn sign(&self, message: &[u8]) -> String {
        let signature = self.pair.sign(&SystemRandom::new(), message).unwrap();
        STANDARD.encode(signature.as_ref())
    }
}

/// Pushes a one-layer image tagged `seed` into `shop/api`; answers its digest and size.
pub async fn push_image(registry: &Registry, seed: &str) -> (Digest, usize) {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
    let config_digest = registry.push_blob("shop/api", config.as_bytes()).await;
    let layer = registry.push_blob("shop/api", seed.as_bytes()).await;
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer.to_string(), "size": seed.len()}],
    })
    .to_string();
    let put = registry
        .put_manifest("shop/api", seed, OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    (Digest::sha256_of(manifest.as_bytes()), manifest.len())
}

/// cosign's signature of `digest`: a simple-signing payload signed by `signer`, under the
/// `sha256-<hex>.sig` tag.
pub async fn sign_with_cosign_tag(registry: &Registry, signer: &Signer, digest: &Digest) {
    let payload = json!({"critical": {"identity": {"docker-reference": "shop/api"},
        "image": {"docker-manifest-digest": digest.to_string()},
        "type": "cosign container image signature"}, "optional": null})
    .to_string();
    let signature = signer.sign(payload.as_bytes());
    let blob = registry.push_blob("shop/api", payload.as_bytes()).await;
    let config = b"{\"architecture\":\"\",\"os\":\"\"}";
    let config_digest = registry.push_blob("shop/api", config).await;
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": SIMPLE_SIGNING, "digest": blob.to_string(), "size": payload.len(),
                    "annotations": {"dev.cosignproject.cosign/signature": signature}}],
    })
    .to_string();
    let tag = format!("sha256-{}.sig", digest.hex());
    let put = registry
        .put_manifest("shop/api", &tag, OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
}

/// An artifact that refers to `subject`: `bytes` as its one layer, the empty config.
pub async fn attach(
    registry: &Registry,
    subject: (&Digest, usize),
    artifact_type: &str,
    bytes: &[u8],
) -> Digest {
    let blob = registry.push_blob("shop/api", bytes).await;
    let empty = registry.push_blob("shop/api", b"{}").await;
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
        "config": {"mediaType": EMPTY, "digest": empty.to_string(), "size": 2},
        "layers": [{"mediaType": artifact_type, "digest": blob.to_string(), "size": bytes.len()}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject.0.to_string(), "size": subject.1},
    })
    .to_string();
    let digest = Digest::sha256_of(manifest.as_bytes());
    let put = registry
        .put_manifest("shop/api", &digest.to_string(), OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    digest
}

/// A sigstore bundle whose DSSE envelope (an in-toto statement about `digest`) `signer` signed.
pub fn dsse_bundle(signer: &Signer, digest: &Digest) -> Vec<u8> {
    let statement = json!({"_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "shop/api", "digest": {"sha256": digest.hex()}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1", "predicate": {}})
    .to_string();
    let kind = "application/vnd.in-toto+json";
    let pae = format!(
        "DSSEv1 {} {kind} {} {statement}",
        kind.len(),
        statement.len()
    );
    json!({"mediaType": BUNDLE, "verificationMaterial": {"publicKey": {"hint": "test"}},
        "dsseEnvelope": {"payload": STANDARD.encode(&statement), "payloadType": kind,
            "signatures": [{"sig": signer.sign(pae.as_bytes()), "keyid": ""}]}})
    .to_string()
    .into_bytes()
}

/// The shop example with `extra` appended.
fn shop_with(dir: &Path, extra: &str) -> PathBuf {
    let shop = std::fs::read_to_string(support::shop_file()).unwrap();
    let path = dir.join("wharf.toml");
    std::fs::write(&path, format!("{shop}\n{extra}")).unwrap();
    path
}

async fn start_with(file: PathBuf) -> (wharf_control_plane::RunningServer, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let database = support::test_database(data.path()).await;
    let options = support::serve_options(&database, data.path(), Some(file));
    (wharf_control_plane::start(options).await.unwrap(), data)
}

/// Where an answered build sits.
fn routed(body: &Value) -> String {
    let build: wharf_api::Artifact = serde_json::from_value(body.clone()).unwrap();
    build.routed_to().unwrap_or("unclassified").to_string()
}

fn image_uri(url: &str, digest: &Digest) -> String {
    format!("{}/shop/api@{digest}", url.trim_start_matches("http://"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stage_that_requires_a_signature_takes_only_builds_signed_by_its_keys() {
    let signer = Signer::new();
    let stranger = Signer::new();
    let files = tempfile::tempdir().unwrap();
    let file = shop_with(
        files.path(),
        &format!(
            "[protection.staging]\nrequire = [\"signature\"]\nsignature_keys = [\"\"\"\n{}\"\"\"]\n\n\
             [protection.prod]\nrequire = [\"sbom\"]\nmode = \"warn\"\n",
            signer.pem
        ),
    );
    let (server, _data) = start_with(file).await;
    let url = server.url();
    let api = Api::new(url.clone());
    let registry = Registry::pusher(&api, &url, "api").await;

    let unsigned = push_image(&registry, "unsigned").await;
    let register = |seed: &str, digest: &Digest, stage: &str| {
        saas(stage, "ENVIRONMENT", seed, &image_uri(&url, digest))
    };
    let answer = api.register(register("a", &unsigned.0, "dev")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let build = answer.body["id"].as_str().unwrap().to_string();

    // Unsigned: refused, naming the stage, the digest and what is missing.
    let refused = api.promote("shop", "api", &build).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let message = refused.message();
    assert!(
        message.contains(&format!(
            "stage 'staging' of project 'shop' requires what image {} lacks: a signature: none found",
            unsigned.0
        )),
        "{message}"
    );

    // Signed by another key: found, and refused for it.
    sign_with_cosign_tag(&registry, &stranger, &unsigned.0).await;
    let refused = api.promote("shop", "api", &build).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused
            .message()
            .contains("1 signature(s) found in shop/api, none verifies with those keys"),
        "{}",
        refused.message()
    );

    // Signed by the stage's key (cosign's tag now names that signature): promoted.
    sign_with_cosign_tag(&registry, &signer, &unsigned.0).await;
    let promoted = api.promote("shop", "api", &build).await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.body);
    assert_eq!(routed(&promoted.body), "staging", "{}", promoted.body);

    // A sigstore bundle referrer (DSSE) by the key signs another build.
    let bundled = push_image(&registry, "bundled").await;
    let answer = api.register(register("b", &bundled.0, "dev")).await;
    let other = answer.body["id"].as_str().unwrap().to_string();
    let forged = dsse_bundle(&stranger, &bundled.0);
    attach(&registry, (&bundled.0, bundled.1), BUNDLE, &forged).await;
    let refused = api.promote("shop", "api", &other).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let bundle = dsse_bundle(&signer, &bundled.0);
    attach(&registry, (&bundled.0, bundled.1), BUNDLE, &bundle).await;
    let promoted = api.promote("shop", "api", &other).await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.body);

    // Straight in: registering or attaching an unsigned image into staging is refused too,
    // even for an admin, who holds the direct role.
    let bare = push_image(&registry, "bare").await;
    let answer = api.register(register("c", &bare.0, "staging")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(
        answer.message().contains("a signature: none found"),
        "{}",
        answer.body
    );
    let attach_body = json!({"resourceName": "api", "resourceType": "service",
        "blueprintName": "shop", "ciName": "api", "artifactUri": image_uri(&url, &bare.0),
        "registrationType": "ENVIRONMENT", "registrationValue": "staging"});
    let attached = api
        .answer(
            reqwest::Method::POST,
            "/cc-ui/v1/artifacts/attach-image-via-register",
            Some(attach_body),
        )
        .await;
    assert_eq!(attached.status, StatusCode::FORBIDDEN, "{}", attached.body);
    assert!(
        attached.message().contains("a signature: none found"),
        "{}",
        attached.body
    );

    // prod requires an SBOM in warn mode: the promotion goes through, and the audit records
    // what was missing.
    let into_prod = api
        .promote("shop", "api", promoted.body["id"].as_str().unwrap())
        .await;
    assert_eq!(into_prod.status, StatusCode::OK, "{}", into_prod.body);
    assert_eq!(routed(&into_prod.body), "prod", "{}", into_prod.body);
    let warnings = api.audit_entries("ARTIFACT").await;
    let warning = warnings
        .iter()
        .find(|e| e["entityAction"] == "GATE_WARNING")
        .unwrap_or_else(|| panic!("no GATE_WARNING in {warnings:#?}"));
    let text = warning.to_string();
    assert!(
        text.contains("an SBOM: no SPDX or CycloneDX referrer"),
        "{text}"
    );

    // With an SBOM attached, the next build enters prod without a warning.
    let count = |entries: &[Value]| {
        entries
            .iter()
            .filter(|e| e["entityAction"] == "GATE_WARNING")
            .count()
    };
    let before = count(&warnings);
    attach(
        &registry,
        (&bundled.0, bundled.1),
        "application/spdx+json",
        br#"{"spdxVersion":"SPDX-2.3"}"#,
    )
    .await;
    let bundled_in_staging = api
        .get("/cc-ui/v1/artifacts-ci/api/artifacts?stackName=shop")
        .await
        .1;
    let other_staging = bundled_in_staging
        .as_array()
        .unwrap()
        .iter()
        .find(|b| {
            b["routedTo"] == "staging"
                && b["artifactUri"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with(&bundled.0.to_string())
        })
        .unwrap_or_else(|| panic!("{bundled_in_staging:#}"))["artifactId"]
        .as_str()
        .unwrap()
        .to_string();
    let into_prod = api.promote("shop", "api", &other_staging).await;
    assert_eq!(into_prod.status, StatusCode::OK, "{}", into_prod.body);
    assert_eq!(count(&api.audit_entries("ARTIFACT").await), before);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn gates_are_refused_in_the_project_file_when_they_could_never_count() {
    let cases = [
        ("require = [\"signature\"]", "signature_keys is empty"),
        (
            "require = [\"sbom\"]\nsignature_keys = [\"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\"]",
            "signature_keys[0] is not an ECDSA P-256 public key",
        ),
        (
            "trusted_builders = [\"https://github.com/acme/*\"]",
            "require does not name \"provenance\"",
        ),
        (
            "require = [\"provenance\"]\ntrusted_builders = [\" \"]",
            "trusted_builders has an empty entry",
        ),
        (
            "require = [\"attestation\"]",
            "unknown variant `attestation`",
        ),
        (
            "require = [\"sbom\"]\nmode = \"audit\"",
            "unknown variant `audit`",
        ),
    ];
    let (server, _data) = support::start_shop().await;
    let api = Api::new(server.url());
    for (block, expected) in cases {
        let shop = std::fs::read_to_string(support::shop_file()).unwrap();
        let text = format!("{shop}\n[protection.prod]\n{block}\n");
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        let (status, body) = api
            .put(
                "/wharf/v1/projects/shop",
                serde_json::to_value(&parsed).unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{block}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{block}: {message}");
    }
    server.stop().await.unwrap();
}

/// A GitHub Actions job's environment, as the runner sets it, for `repository`.
fn github_job(
    command: &mut std::process::Command,
    issuer: &support::oidc::Issuer,
    repository: &str,
) {
    command
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", repository)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_SHA", "d6f1c4e0b6b5a7c1e9d2f3a4b5c6d7e8f9a0b1c2")
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_RUN_ID", "12345678")
        .env("GITHUB_RUN_ATTEMPT", "1")
        .env(
            "GITHUB_WORKFLOW_REF",
            "acme/shop/.github/workflows/build.yml@refs/heads/main",
        )
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/github/token-request?api-version=2.0", issuer.base),
        )
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            support::oidc::GITHUB_REQUEST_TOKEN,
        );
}

#[test]
fn keyless_provenance_is_verified_a_forged_field_refused_and_trusted_builders_gate_prod() {
    let issuer_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = support::oidc::Issuer::start(&issuer_runtime);
    let files = tempfile::tempdir().unwrap();
    let trust = format!(
        "[[trust]]\nname = \"github\"\nissuer = \"{}\"\nrole = \"ci\"\n[trust.claims]\n\
         repository = \"acme/shop\"\n\n[protection.prod]\nrequire = [\"provenance\"]\n\
         trusted_builders = [\"https://github.com/acme/*\"]\n",
        issuer.url("github")
    );
    let file = shop_with(files.path(), &trust);
    let server = support::TestServer::with_file(Some(file));
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let image = format!("registry.example.com/shop/api@sha256:{}", "7".repeat(64));
    let keyless = |repository: &str, external_id: &str| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wharf"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("WHARF_CONTROL_PLANE_URL", &url)
            .env("WHARF_RETRY_BASE_MS", "5")
            .current_dir(dir.path());
        github_job(&mut command, &issuer, repository);
        command.args([
            "register",
            "--project",
            "shop",
            "--service",
            "api",
            "--image",
            &image,
            "--external-id",
            external_id,
            "--output",
            "json",
        ]);
        run(&mut command)
    };

    // The job's repository matches its token: verified, every field the token speaks to.
    let done = keyless("acme/shop", "run-1");
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    let build = done.json()["artifactId"].as_str().unwrap().to_string();
    let mut show = wharf(&url, dir.path());
    show.args(["builds", "show", &build, "--output", "json"]);
    let shown = run(&mut show);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let details = shown.json();
    let provenance = &details["provenance"];
    assert_eq!(
        provenance["verification"], "verified-by-identity-token",
        "{details:#}"
    );
    assert_eq!(
        provenance["checked"],
        json!(["repository", "commit", "ref", "run", "builder"]),
        "{details:#}"
    );
    assert_eq!(
        provenance["predicateType"],
        "https://slsa.dev/provenance/v1"
    );
    assert_eq!(
        provenance["builderId"],
        "https://github.com/acme/shop/.github/workflows/build.yml@refs/heads/main"
    );
    assert_eq!(
        provenance["statement"]["subject"][0]["digest"]["sha256"],
        "7".repeat(64)
    );

    // A job that claims another repository than its token: refused, nothing stored.
    let before = server.stored_builds();
    let forged = keyless("evil/shop", "run-2");
    assert_eq!(forged.code, 3, "{}\n{}", forged.stdout, forged.stderr);
    assert!(
        forged.stderr.contains(
            "provenance: field `repository` says 'https://github.com/evil/shop', but the identity \
             token this job logged in with says 'acme/shop'"
        ),
        "{}",
        forged.stderr
    );
    assert_eq!(server.stored_builds(), before, "nothing was stored");

    // Without a keyless login, the same statement is only reported.
    let admin = support::TOKEN;
    let mut reported = wharf(&url, dir.path());
    github_job(&mut reported, &issuer, "acme/shop");
    reported
        .env("WHARF_USERNAME", support::ADMIN)
        .env("WHARF_TOKEN", admin)
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .args([
            "register",
            "--project",
            "shop",
            "--service",
            "api",
            "--image",
            &format!("registry.example.com/shop/api@sha256:{}", "8".repeat(64)),
            "--external-id",
            "run-3",
            "--output",
            "json",
        ]);
    let done = run(&mut reported);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let reported_build = done.json()["artifactId"].as_str().unwrap().to_string();
    // Run again, it is the same build: a registration with provenance is replayed too.
    let again = run(&mut reported);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["artifactId"], reported_build.as_str());
    let mut show = wharf(&url, dir.path());
    show.args(["builds", "show", &reported_build, "--output", "json"]);
    let details = run(&mut show).json();
    assert_eq!(
        details["provenance"]["verification"], "reported-by-the-client",
        "{details:#}"
    );

    // prod takes the verified build (its builder is trusted) and refuses the reported one.
    let api = Api::new(url.clone());
    let rt = &server.runtime;
    for stage in ["staging", "prod"] {
        let promoted = rt.block_on(api.promote("shop", "api", &build));
        assert_eq!(
            promoted.status,
            StatusCode::OK,
            "{stage}: {}",
            promoted.body
        );
    }
    let to_staging = rt.block_on(api.promote("shop", "api", &reported_build));
    assert_eq!(to_staging.status, StatusCode::OK, "{}", to_staging.body);
    let staged = to_staging.body["id"].as_str().unwrap().to_string();
    let refused = rt.block_on(api.promote("shop", "api", &staged));
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused
            .message()
            .contains("provenance verified by an identity token: the statement about"),
        "{}",
        refused.message()
    );
}
