//! The OCI 1.1 referrers API of the built-in registry, rule by rule (distribution-spec 1.1; the
//! OCI conformance suite cannot be installed here, see TESTING.md): a manifest with a `subject`
//! is taken before its subject exists and answered with `OCI-Subject`; the referrers of a valid
//! digest are an image index (never 404), with `artifactType` and annotations per entry, the
//! `artifactType` filter and `OCI-Filters-Applied`, and `Link` paging; a `sha256-<hex>` tag
//! index is indexed too; a deleted referrer leaves the list.

use crate::support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::client::Api;
use support::registry::{Registry, manifest};
use support::start_shop;
use wharf_oci::{Digest, OCI_INDEX, OCI_MANIFEST};

const SIGNATURE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SBOM: &str = "application/spdx+json";

/// An artifact manifest (empty config) that refers to `subject`.
fn referrer(config: &Digest, layer: &Digest, subject: &str, artifact_type: Option<&str>) -> String {
    let mut document = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config.to_string(), "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": layer.to_string(), "size": 5}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 100},
        "annotations": {"org.opencontainers.image.created": "2026-12-05T00:00:00Z"},
    });
    if let Some(kind) = artifact_type {
        document["artifactType"] = json!(kind);
    }
    document.to_string()
}

/// What the API answered: status and headers, and the body.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }
}

async fn referrers(registry: &Registry, subject: &str, query: &str) -> (Answer, Value) {
    let response = registry
        .request(
            Method::GET,
            &format!("/v2/shop/api/referrers/{subject}{query}"),
        )
        .send()
        .await
        .unwrap();
    let answer = Answer {
        status: response.status(),
        headers: response.headers().clone(),
    };
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (answer, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_referrers_api_follows_the_distribution_spec() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let registry = Registry::pusher(&api, &server.url(), "api").await;
    let config = registry.push_blob("shop/api", b"{}").await;
    let layer = registry.push_blob("shop/api", b"layer").await;
    let image = Digest::sha256_of(b"an image not pushed yet").to_string();

    // Taken before its subject exists, and answered with the subject.
    let signature = referrer(&config, &layer, &image, Some(SIGNATURE));
    let pushed = registry
        .put_manifest(
            "shop/api",
            &Digest::sha256_of(signature.as_bytes()).to_string(),
            OCI_MANIFEST,
            &signature,
        )
        .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    assert_eq!(pushed.headers()["oci-subject"], image.as_str());
    let signature_digest = Digest::sha256_of(signature.as_bytes()).to_string();

    // Without artifactType, an image manifest's referrer entry takes its config's media type.
    let untyped = referrer(&config, &layer, &image, None);
    let pushed = registry
        .put_manifest(
            "shop/api",
            &Digest::sha256_of(untyped.as_bytes()).to_string(),
            OCI_MANIFEST,
            &untyped,
        )
        .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);

    let (answer, index) = referrers(&registry, &image, "").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], OCI_INDEX);
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["mediaType"], OCI_INDEX);
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{index}");
    let signed = entries
        .iter()
        .find(|e| e["digest"] == signature_digest.as_str())
        .unwrap();
    assert_eq!(signed["artifactType"], SIGNATURE);
    assert_eq!(signed["mediaType"], OCI_MANIFEST);
    assert_eq!(signed["size"], signature.len());
    assert_eq!(
        signed["annotations"]["org.opencontainers.image.created"],
        "2026-12-05T00:00:00Z"
    );
    let other = entries
        .iter()
        .find(|e| e["digest"] != signature_digest.as_str())
        .unwrap();
    assert_eq!(other["artifactType"], "application/vnd.oci.empty.v1+json");

    // The filter, and the header that says it was applied.
    let (answer, index) = referrers(&registry, &image, &format!("?artifactType={SBOM}")).await;
    assert_eq!(answer.headers()["oci-filters-applied"], "artifactType");
    assert_eq!(index["manifests"], json!([]));
    let (_, index) = referrers(
        &registry,
        &image,
        &format!("?artifactType={}", SIGNATURE.replace('+', "%2B")),
    )
    .await;
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "{index}");

    // A valid digest with no referrers: an empty index, not 404. An invalid one: refused.
    let nothing = Digest::sha256_of(b"nothing refers to this").to_string();
    let (answer, index) = referrers(&registry, &nothing, "").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(index["manifests"], json!([]));
    assert!(answer.headers().get("oci-filters-applied").is_none());
    let (answer, body) = referrers(&registry, "sha256:not-hex", "").await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"][0]["code"], "DIGEST_INVALID", "{body}");

    // Paging: a third referrer, two to a page, the Link to the rest.
    let sbom = referrer(&config, &layer, &image, Some(SBOM));
    let pushed = registry
        .put_manifest(
            "shop/api",
            &Digest::sha256_of(sbom.as_bytes()).to_string(),
            OCI_MANIFEST,
            &sbom,
        )
        .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let (answer, first) = referrers(&registry, &image, "?n=2").await;
    assert_eq!(first["manifests"].as_array().unwrap().len(), 2);
    let link = answer.headers()["link"].to_str().unwrap().to_string();
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    let next = link.trim_start_matches('<').split('>').next().unwrap();
    let rest = registry.request(Method::GET, next).send().await.unwrap();
    assert!(
        rest.headers().get("link").is_none(),
        "the last page has no next"
    );
    let rest: Value = rest.json().await.unwrap();
    let mut all: Vec<Value> = first["manifests"].as_array().unwrap().clone();
    all.extend(rest["manifests"].as_array().unwrap().iter().cloned());
    assert_eq!(all.len(), 3, "the pages hold every referrer once: {all:#?}");

    // A deleted referrer leaves the list.
    let deleted = registry
        .request(
            Method::DELETE,
            &format!("/v2/shop/api/manifests/{signature_digest}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    let (_, index) = referrers(&registry, &image, "").await;
    assert!(
        !index["manifests"].to_string().contains(&signature_digest),
        "{index}"
    );

    // Anonymous callers get the registry's 401.
    let anonymous = support::http()
        .get(format!("{}/v2/shop/api/referrers/{image}", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_scheme_index_is_indexed_as_referrers_of_its_subject() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let registry = Registry::pusher(&api, &server.url(), "api").await;
    let config = registry.push_blob("shop/api", b"{}").await;
    let layer = registry.push_blob("shop/api", b"layer").await;
    // A signature manifest with no subject field, as an older client pushes it.
    let legacy = manifest(&config, &layer, (2, 5));
    let legacy_digest = Digest::sha256_of(legacy.as_bytes()).to_string();
    let pushed = registry
        .put_manifest("shop/api", &legacy_digest, OCI_MANIFEST, &legacy)
        .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    assert!(pushed.headers().get("oci-subject").is_none());
    let subject = Digest::sha256_of(b"the signed image").to_string();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": legacy_digest, "size": legacy.len(),
                       "artifactType": SIGNATURE}],
    })
    .to_string();
    let tag = subject.replace(':', "-");
    let pushed = registry
        .put_manifest("shop/api", &tag, OCI_INDEX, &index)
        .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let (_, listed) = referrers(&registry, &subject, "").await;
    let entries = listed["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{listed}");
    assert_eq!(entries[0]["digest"], legacy_digest.as_str());
    assert_eq!(entries[0]["artifactType"], SIGNATURE);
    server.stop().await.unwrap();
}
