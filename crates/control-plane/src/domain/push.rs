//! Push credentials: issued by `pushCredentials` (and its older V2/V3 forms) for one
//! repository of the built-in registry, `<project>/<ciName>`, and checked here too when the
//! registry is called, so the rule that issues a credential and the rule that honours it live
//! together. Registries an admin added hand out their own credentials.

use super::auth::{AuthUser, hash_token, same_hash};
use super::permissions::require_admin;
use super::{Push, commit, permissions};
use crate::error::{Error, Result};
use crate::validate::require;
use rand::RngCore;
use serde::Serialize;
use wharf_api::{PushCredentialsRequest, PushCredentialsResponse};
use wharf_store::{Audit, CiRow, RegistryCredential, format_time};

/// How long a push credential works.
const CREDENTIAL_LIFETIME: time::Duration = time::Duration::hours(1);
/// Prefix of the usernames `pushCredentials` hands out.
pub const CREDENTIAL_PREFIX: &str = "wharf-push-";
use wharf_api::BUILT_IN_ARTIFACTORY;

/// Who is calling the built-in registry.
#[derive(Debug, Clone)]
pub enum RegistryCaller {
    User(AuthUser),
    /// A `pushCredentials` credential: push and pull on one repository only, for as long as
    /// the token and the role that obtained it last.
    Scoped {
        repository: String,
        /// The credential's username (`wharf-push-…`).
        credential: String,
        /// Who obtained it.
        owner: String,
    },
}

impl RegistryCaller {
    /// Who the audit trail names for what this caller does.
    pub fn actor(&self) -> &str {
        match self {
            Self::User(user) => &user.username,
            Self::Scoped { owner, .. } => owner,
        }
    }

    /// The push credential used, if any.
    pub fn credential(&self) -> Option<&str> {
        match self {
            Self::User(_) => None,
            Self::Scoped { credential, .. } => Some(credential),
        }
    }
}

/// A push credential as an admin sees it (never its password).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushCredentialInfo {
    pub username: String,
    pub repository: String,
    pub owner: String,
    pub expires_at: String,
}

/// `<project>/<ciName>`: the only repositories of the built-in registry.
pub(super) fn project_and_ci(repository: &str) -> Option<(&str, &str)> {
    let (project, ci) = repository.split_once('/')?;
    (!project.is_empty() && !ci.is_empty() && !ci.contains('/')).then_some((project, ci))
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

impl Push {
    /// A credential for `ci`'s repository of the built-in registry, after checking
    /// `CLI_ARTIFACT_PUSH`; answers (username, password, repository).
    async fn issue(&self, user: &AuthUser, ci: &CiRow) -> Result<(String, String, String)> {
        self.identity
            .require(user, &ci.project, permissions::CLI_ARTIFACT_PUSH)
            .await?;
        let repository = format!("{}/{}", ci.project, ci.name);
        let password = random_hex(32);
        let credential = RegistryCredential {
            username: format!("{CREDENTIAL_PREFIX}{}", random_hex(8)),
            password_hash: hash_token(&password),
            repository: repository.clone(),
            owner: user.username.clone(),
            expires_at: format_time(time::OffsetDateTime::now_utc() + CREDENTIAL_LIFETIME),
            token_id: user.token_id.clone(),
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
        self.lookups.project(&project).await?;
        let ci = self.lookups.ci(&project, &application).await?;
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
        let registry = self.artifactories.artifactory_row(name).await?;
        self.identity
            .require(user, &ci.project, permissions::CLI_ARTIFACT_PUSH)
            .await?;
        let password = self.identity.registry_password(&registry)?;
        let repository_uri = format!("{}/{}/{}", registry.uri, ci.project, ci.name);
        let audit = issue_audit(user, ci, &repository_uri).meta("artifactory", name);
        commit(self.store.begin().await?, &audit).await?;
        Ok(PushCredentialsResponse {
            username: registry.username,
            password,
            artifactory_uri: super::artifactories::registry_host(&registry.uri).into(),
            repository_uri,
        })
    }

    /// The older `pushCredentialsV2`/`V3`: a Docker-style token for the CI named `name`, of
    /// project `stack` when two projects have a CI of that name.
    pub async fn legacy_push_credentials(
        &self,
        user: &AuthUser,
        name: &str,
        stack: Option<&str>,
        host: &str,
    ) -> Result<LegacyCredentials> {
        use base64::Engine;
        let ci = self.lookups.ci_named(name, stack).await?;
        let (username, password, repository) = self.issue(user, &ci).await?;
        Ok(LegacyCredentials {
            authorization_token: base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{password}")),
            proxy_endpoint: format!("http://{host}"),
            repository_uri: format!("{host}/{repository}"),
        })
    }

    /// Who presents `username`/`password` to the built-in registry: a push credential, or a
    /// user with a token. Any failure is the same bare `Unauthorized`. A push credential works
    /// only while the token that obtained it does, and while its owner may still push for the
    /// project (both as fresh as the token and role caches: 5 s).
    pub async fn registry_caller(&self, username: &str, password: &str) -> Result<RegistryCaller> {
        if !username.starts_with(CREDENTIAL_PREFIX) {
            let user = self.identity.authenticate(username, password).await?;
            return Ok(RegistryCaller::User(user));
        }
        let live = self
            .store
            .live_registry_credential(username)
            .await?
            .ok_or(Error::Unauthorized)?;
        let credential = live.credential;
        if !same_hash(&credential.password_hash, &hash_token(password)) {
            return Err(Error::Unauthorized);
        }
        let owner = AuthUser {
            id: String::new(),
            username: credential.owner.clone(),
            admin: live.owner_admin,
            token_id: credential.token_id.clone(),
        };
        let project = project_of(&credential.repository);
        self.identity
            .require(&owner, project, permissions::CLI_ARTIFACT_PUSH)
            .await
            .map_err(|_| Error::Unauthorized)?;
        Ok(RegistryCaller::Scoped {
            repository: credential.repository,
            credential: credential.username,
            owner: credential.owner,
        })
    }

    /// Pushing needs a credential for exactly that repository, or `CLI_ARTIFACT_PUSH` on the
    /// project of a repository named `<project>/<ciName>` after one of its CIs.
    pub async fn require_registry_push(
        &self,
        caller: &RegistryCaller,
        repository: &str,
    ) -> Result<()> {
        match caller {
            RegistryCaller::Scoped {
                repository: allowed,
                ..
            } if allowed == repository => Ok(()),
            RegistryCaller::Scoped {
                repository: allowed,
                ..
            } => Err(denied(format!(
                "this credential may push to {allowed} only, not {repository}"
            ))),
            RegistryCaller::User(user) => {
                let not_a_ci = || {
                    Error::not_found(format!(
                        "repository '{repository}' is not <project>/<ciName> of a CI integration: \
                         the built-in registry holds one repository per CI; create the CI first"
                    ))
                };
                let (project, ci) = project_and_ci(repository).ok_or_else(not_a_ci)?;
                self.identity
                    .require(user, project, permissions::CLI_ARTIFACT_PUSH)
                    .await?;
                if self.store.ci(project, ci).await?.is_none() {
                    return Err(not_a_ci());
                }
                Ok(())
            }
        }
    }

    /// Unexpired push credentials, of one owner or all (server admins only).
    pub async fn push_credentials_list(
        &self,
        user: &AuthUser,
        owner: Option<&str>,
    ) -> Result<Vec<PushCredentialInfo>> {
        require_admin(user, "listing push credentials")?;
        Ok(self
            .store
            .registry_credentials(owner)
            .await?
            .into_iter()
            .map(|c| PushCredentialInfo {
                username: c.username,
                repository: c.repository,
                owner: c.owner,
                expires_at: c.expires_at,
            })
            .collect())
    }

    /// Revokes push credentials at once: one by its username, or all of `owner`, or (neither
    /// given) every one (server admins only). Answers how many.
    pub async fn revoke_push_credentials(
        &self,
        user: &AuthUser,
        username: Option<&str>,
        owner: Option<&str>,
    ) -> Result<u64> {
        require_admin(user, "revoking push credentials")?;
        let mut tx = self.store.begin().await?;
        let revoked = tx.delete_registry_credentials(username, owner).await?;
        if username.is_some() && revoked == 0 {
            return Err(Error::not_found(format!(
                "push credential '{}' is not known (or already expired)",
                username.unwrap_or_default()
            )));
        }
        let mut audit = Audit::new(
            &user.username,
            "CONTAINER_REGISTRY",
            "CONTAINER_REGISTRY_CREDENTIALS_REVOKE",
        )
        .target(username.or(owner).unwrap_or("all"))
        .meta("revoked", revoked.to_string());
        if let Some(owner) = owner {
            audit = audit.meta("owner", owner);
        }
        commit(tx, &audit).await?;
        Ok(revoked)
    }
}

/// Pulling needs any valid credential; a push credential, a repository of its own project
/// (its owner may push there, so it may read its siblings; other projects stay closed).
pub fn require_registry_pull(caller: &RegistryCaller, repository: &str) -> Result<()> {
    match caller {
        RegistryCaller::Scoped {
            repository: allowed,
            ..
        } if project_of(allowed) != project_of(repository) => Err(denied(format!(
            "this credential may pull from project '{}' only, not {repository}",
            project_of(allowed)
        ))),
        _ => Ok(()),
    }
}

/// The project a built-in registry repository (`<project>/<ciName>`) belongs to.
pub fn project_of(repository: &str) -> &str {
    repository.split('/').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::project_and_ci;

    #[test]
    fn a_repository_is_one_project_and_one_ci_name() {
        assert_eq!(project_and_ci("shop/api"), Some(("shop", "api")));
        for malformed in ["shop/", "/api", "/", "shop", "shop/api/extra", "shop//api"] {
            assert_eq!(project_and_ci(malformed), None, "{malformed}");
        }
    }
}
