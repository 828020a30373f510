//! Listing what a registry holds: its repositories (`/v2/_catalog`) and a repository's tags
//! (`/v2/<name>/tags/list`). Many registries do not serve the catalog, or only to some users;
//! the caller says so and lets its user type a reference instead.

use crate::client::{RegistryClient, RegistryError};
use reqwest::Method;

impl RegistryClient {
    /// The repositories the registry lists (its first 1000).
    pub async fn catalog(&self) -> Result<Vec<String>, RegistryError> {
        self.listed("/v2/_catalog?n=1000", "registry:catalog:*", "repositories")
            .await
    }

    /// A repository's tags (its first 1000).
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        if !crate::is_valid_repository(repository) {
            return Err(RegistryError::Invalid(format!(
                "'{repository}' is not a repository name"
            )));
        }
        let path = format!("/v2/{repository}/tags/list?n=1000");
        let scope = format!("repository:{repository}:pull");
        self.listed(&path, &scope, "tags").await
    }

    async fn listed(
        &self,
        path: &str,
        scope: &str,
        key: &str,
    ) -> Result<Vec<String>, RegistryError> {
        let response = self.send(Method::GET, path, scope, |r| r).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(RegistryError::Refused {
                host: self.host().to_string(),
                status: status.as_u16(),
                message: format!("HTTP {status} for {path}"),
            });
        }
        let body: serde_json::Value = response.json().await.map_err(|e| {
            RegistryError::Invalid(format!(
                "registry {}: unreadable answer to {path}: {e}",
                self.host()
            ))
        })?;
        Ok(body[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }
}
