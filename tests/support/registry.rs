//! A client of the built-in registry's distribution API over loopback, as a pusher would
//! call it: blobs, manifests, and the push credentials that authorise them.

use super::client::Api;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wharf_oci::Digest;

pub struct Registry {
    pub http: reqwest::Client,
    pub base: String,
    pub user: String,
    pub password: String,
}

impl Registry {
    /// A client of `base`'s registry with push credentials for `shop/<application>`.
    pub async fn pusher(api: &Api, base: &str, application: &str) -> Self {
        let creds = credentials(api, application).await;
        Self {
            http: super::http(),
            base: base.to_string(),
            user: creds["username"].as_str().unwrap().into(),
            password: creds["password"].as_str().unwrap().into(),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.password))
    }

    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256_of(bytes);
        let response = self
            .request(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
            )
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        digest
    }

    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &str,
    ) -> reqwest::Response {
        self.request(Method::PUT, &format!("/v2/{repo}/manifests/{reference}"))
            .header("content-type", media_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }
}

pub async fn credentials(api: &Api, application: &str) -> Value {
    let (status, body) = api
        .post("/cc-ui/v1/ci-cd/pushCredentials", json!({"blueprintName": "shop", "artifactory": "default", "applicationName": application}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub fn manifest(config: &Digest, layer: &Digest, sizes: (usize, usize)) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{m}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":{}}}]}}"#,
        sizes.0,
        sizes.1,
        m = wharf_oci::OCI_MANIFEST
    )
}
