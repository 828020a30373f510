//! Push credentials: issued by `pushCredentials` (and its older V2/V3 forms) for one
//! repository of the built-in registry, `<project>/<ciName>`, and checked here too when the
//! registry is called, so the rule that issues a credential and the rule that honours it live
//! together. Registries an admin added hand out their own credentials.

use super::auth::{AuthUser, hash_token, same_hash};
use super::{ControlPlane, commit, permissions};
use crate::error::{Error, Result, require};
use rand::RngCore;
use serde::Serialize;
use wharf_api::{PushCredentialsRequest, PushCredentialsResponse};
use wharf_store::{Audit, CiRow, RegistryCredential, format_time};

/// How long a push credential works.
const CREDENTIAL_LIFETIME: time::Duration = time::Duration::hours(1);
/// Prefix of the usernames `pushCredentials` hands out.
pub const CREDENTIAL_PREFIX: &str = "wharf-push-";
/// The built-in registry's name, Facets' fallback artifactory name.
pub const BUILT_IN_ARTIFACTORY: &str = "default";

/// Who is calling the built-in registry.
#[derive(Debug, Clone)]
pub enum RegistryCaller {
    User(AuthUser),
    /// A `pushCredentials` credential: push and pull on one repository only.
    Scoped {
        repository: String,
    },
}

/// The older answer: a Docker-style token and the registry's endpoint.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyCredentials {
    pub authorization_token: String,
    pub proxy_endpoint: String,
    pub repository_uri: String,
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// The audit entry of a push credential handed out, for `repository`.
fn issue_audit(user: &AuthUser, ci: &CiRow, repository: &str) -> Audit {
    Audit::new(
        &user.username,
        "CONTAINER_REGISTRY",
        "CONTAINER_REGISTRY_CREDENTIALS_ISSUE",
    )
    .target(repository)
    .stack(&ci.project)
}

fn denied(message: String) -> Error {
    Error::Forbidden(message)
}

impl ControlPlane {
    /// A credential for `ci`'s repository of the built-in registry, after checking
    /// `CLI_ARTIFACT_PUSH`; answers (username, password, repository).
    async fn issue(&self, user: &AuthUser, ci: &CiRow) -> Result<(String, String, String)> {
        self.require(user, &ci.project, permissions::CLI_ARTIFACT_PUSH)
            .await?;
        let repository = format!("{}/{}", ci.project, ci.name);
        let password = random_hex(32);
        let credential = RegistryCredential {
            username: format!("{CREDENTIAL_PREFIX}{}", random_hex(8)),
            password_hash: hash_token(&password),
            repository: repository.clone(),
            owner: user.username.clone(),
            expires_at: format_time(time::OffsetDateTime::now_utc() + CREDENTIAL_LIFETIME),
        };
        let audit = issue_audit(user, ci, &repository)
            .meta("username", &credential.username)
            .meta("expiresAt", &credential.expires_at);
        let mut tx = self.store.begin().await?;
        tx.insert_registry_credential(&credential).await?;
        commit(tx, &audit).await?;
        Ok((credential.username, password, repository))
    }

    /// `POST /cc-ui/v1/ci-cd/pushCredentials`; `host` is the registry as the caller reached it.
    pub async fn push_credentials(
        &self,
        user: &AuthUser,
        body: &PushCredentialsRequest,
        host: &str,
    ) -> Result<PushCredentialsResponse> {
        let project = require("blueprintName", Some(&body.blueprint_name))?;
        let application = require("applicationName", Some(&body.application_name))?;
        self.project(&project).await?;
        let ci = self.ci(&project, &application).await?;
        let artifactory = body.artifactory.trim();
        if artifactory != BUILT_IN_ARTIFACTORY {
            return self
                .other_registry_credentials(user, &ci, artifactory)
                .await;
        }
        let (username, password, repository) = self.issue(user, &ci).await?;
        Ok(PushCredentialsResponse {
            username,
            password,
            repository_uri: format!("{host}/{repository}"),
            artifactory_uri: host.to_string(),
        })
    }

    /// Credentials of a registry an admin added: the registry's own, handed to pipelines that
    /// may push for the project, for the repository `<prefix>/<project>/<ciName>`.
    async fn other_registry_credentials(
        &self,
        user: &AuthUser,
        ci: &CiRow,
        name: &str,
    ) -> Result<PushCredentialsResponse> {
        let registry = self.artifactory_row(name).await?;
        self.require(user, &ci.project, permissions::CLI_ARTIFACT_PUSH)
            .await?;
        let repository_uri = format!("{}/{}/{}", registry.uri, ci.project, ci.name);
        let audit = issue_audit(user, ci, &repository_uri).meta("artifactory", name);
        commit(self.store.begin().await?, &audit).await?;
        Ok(PushCredentialsResponse {
            username: registry.username,
            password: registry.password,
            artifactory_uri: registry.uri.split('/').next().unwrap_or_default().into(),
            repository_uri,
        })
    }

    /// The older `pushCredentialsV2`/`V3`: a Docker-style token for the CI named `name`.
    pub async fn legacy_push_credentials(
        &self,
        user: &AuthUser,
        name: &str,
        host: &str,
    ) -> Result<LegacyCredentials> {
        use base64::Engine;
        let ci = self.ci_named(name, None).await?;
        let (username, password, repository) = self.issue(user, &ci).await?;
        Ok(LegacyCredentials {
            authorization_token: base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{password}")),
            proxy_endpoint: format!("http://{host}"),
            repository_uri: format!("{host}/{repository}"),
        })
    }

    /// Who presents `username`/`password` to the built-in registry: a push credential, or a
    /// user with a token. Any failure is the same bare `Unauthorized`.
    pub async fn registry_caller(&self, username: &str, password: &str) -> Result<RegistryCaller> {
        if !username.starts_with(CREDENTIAL_PREFIX) {
            let user = self.authenticate(username, password).await?;
            return Ok(RegistryCaller::User(user));
        }
        let credential = self
            .store
            .registry_credential(username)
            .await?
            .ok_or(Error::Unauthorized)?;
        let valid = same_hash(&credential.password_hash, &hash_token(password))
            && credential.expires_at.as_str() > wharf_store::now().as_str();
        if !valid {
            return Err(Error::Unauthorized);
        }
        Ok(RegistryCaller::Scoped {
            repository: credential.repository,
        })
    }

    /// Pushing needs `CLI_ARTIFACT_PUSH` on the repository's project, or a credential for
    /// exactly that repository.
    pub async fn require_registry_push(
        &self,
        caller: &RegistryCaller,
        repository: &str,
    ) -> Result<()> {
        match caller {
            RegistryCaller::Scoped {
                repository: allowed,
            } if allowed == repository => Ok(()),
            RegistryCaller::Scoped {
                repository: allowed,
            } => Err(denied(format!(
                "this credential may push to {allowed} only, not {repository}"
            ))),
            RegistryCaller::User(user) => {
                let project = repository.split('/').next().unwrap_or_default();
                self.require(user, project, permissions::CLI_ARTIFACT_PUSH)
                    .await
            }
        }
    }
}

/// Pulling needs any valid credential; a scoped one, its own repository.
pub fn require_registry_pull(caller: &RegistryCaller, repository: &str) -> Result<()> {
    match caller {
        RegistryCaller::Scoped {
            repository: allowed,
        } if allowed != repository => Err(denied(format!(
            "this credential may pull from {allowed} only, not {repository}"
        ))),
        _ => Ok(()),
    }
}
