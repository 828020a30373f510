//! The one JSON client of the control plane's HTTP API the tests use: [`Api`] calls as one user
//! (the test admin from [`Api::new`], anyone from [`Api::as_user`] or [`Api::member`]), with a
//! method per endpoint the suites share. [`call`] is the same call as a free function, for a
//! table of users.

use super::{ADMIN, TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Who calls: a username and a token.
#[derive(Clone, Debug)]
pub struct User {
    pub username: String,
    pub token: String,
}

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub user: User,
}

/// An answer: the status, the JSON body (or its text), and the pending request's id when the
/// answer carries one.
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

impl Api {
    /// The test admin's client.
    pub fn new(base: String) -> Self {
        Self {
            http: super::http(),
            base,
            user: User {
                username: ADMIN.into(),
                token: TOKEN.into(),
            },
        }
    }

    /// The same server, as `username` with `token`.
    pub fn as_user(&self, username: &str, token: &str) -> Self {
        Self {
            user: User {
                username: username.into(),
                token: token.into(),
            },
            ..self.clone()
        }
    }

    /// One call: the whole [`Answer`].
    pub async fn answer(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        call(&self.base, &self.user, method, path, body).await
    }

    /// One call: the status and the body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let answer = self.answer(method, path, body).await;
        (answer.status, answer.body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// `POST /wharf/v1/users`; an existing user is fine.
    pub async fn create_user(&self, username: &str) {
        let (status, body) = self
            .post("/wharf/v1/users", json!({"username": username}))
            .await;
        assert!(
            status.is_success() || status == StatusCode::CONFLICT,
            "{status} {body}"
        );
    }

    /// `PUT /wharf/v1/projects/{project}/members/{user}`.
    pub async fn set_role(&self, project: &str, username: &str, role: &str) {
        let (status, body) = self
            .put(
                &format!("/wharf/v1/projects/{project}/members/{username}"),
                json!({"role": role}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// `POST /wharf/v1/tokens` for `username`: the new token.
    pub async fn token_for(&self, username: &str) -> String {
        let (status, body) = self
            .post("/wharf/v1/tokens", json!({"username": username}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// `username` (made when missing) with `role` on `project` and a new token: a client as them.
    pub async fn member(&self, project: &str, username: &str, role: &str) -> Api {
        self.create_user(username).await;
        self.set_role(project, username, role).await;
        let token = self.token_for(username).await;
        self.as_user(username, &token)
    }

    /// Facets' `POST /cc-ui/v1/ci-cd/register`.
    pub async fn register(&self, body: Value) -> Answer {
        self.answer(Method::POST, "/cc-ui/v1/ci-cd/register", Some(body))
            .await
    }

    /// Facets' `POST /cc-ui/v1/artifacts/promote` of `build` of `service` in `project`.
    pub async fn promote(&self, project: &str, service: &str, build: &str) -> Answer {
        let path = format!(
            "/cc-ui/v1/artifacts/promote?ciName={service}&stackName={project}&artifactId={build}"
        );
        self.answer(Method::POST, &path, None).await
    }

    /// `POST /wharf/v1/approvals/{request}/approve`.
    pub async fn approve(&self, request: &str) -> Answer {
        let path = format!("/wharf/v1/approvals/{request}/approve");
        self.answer(Method::POST, &path, None).await
    }

    /// The audit trail's entries of `entity` (`PROMOTION_REQUEST`, …), oldest first.
    pub async fn audit_entries(&self, entity: &str) -> Vec<Value> {
        let path = format!("/wharf/v1/audit-logs?start=2000-01-01&size=1000&entity={entity}");
        let (status, page) = self.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["content"].as_array().unwrap().clone()
    }

    /// The actions (`entityAction`) of the audit trail's entries of `entity`.
    pub async fn audit_actions(&self, entity: &str) -> Vec<String> {
        self.audit_entries(entity)
            .await
            .iter()
            .map(|e| e["entityAction"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Facets' registration body for service `api` of `shop`.
pub fn saas(value: &str, kind: &str, external_id: &str, image: &str) -> Value {
    json!({
        "blueprintName": "shop", "applicationName": "api", "artifactory": "default",
        "artifactUri": image, "artifactRegisterType": kind, "artifactRegisterValue": value,
        "externalId": external_id
    })
}

/// One call to the control plane as `user`.
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
