//! A small JSON client for the control plane's HTTP API: as the test admin ([`Api`]), or as
//! any user ([`call`]).

use super::{ADMIN, TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(base: String) -> Self {
        Self {
            http: super::http(),
            base,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(ADMIN, Some(TOKEN));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}

pub fn saas(value: &str, kind: &str, external_id: &str, image: &str) -> Value {
    json!({
        "blueprintName": "shop", "applicationName": "api", "artifactory": "default",
        "artifactUri": image, "artifactRegisterType": kind, "artifactRegisterValue": value,
        "externalId": external_id
    })
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub request_id: Option<String>,
}

impl Answer {
    /// The message of a JSON error, or of a registry's OCI error.
    pub fn message(&self) -> String {
        self.body["message"]
            .as_str()
            .or_else(|| self.body["errors"][0]["message"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

/// Who calls: a username and a token.
#[derive(Clone)]
pub struct User {
    pub username: String,
    pub token: String,
}

/// One call to the control plane as `user`: the status, the JSON body (or its text), and the
/// pending request's id when the answer carries one.
pub async fn call(
    base: &str,
    user: &User,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let mut request = super::http()
        .request(method, format!("{base}{path}"))
        .basic_auth(&user.username, Some(&user.token));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let request_id = response
        .headers()
        .get(wharf_api::PROMOTION_REQUEST_HEADER)
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        request_id,
    }
}
