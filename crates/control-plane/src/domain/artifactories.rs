//! Container registries (Facets' artifactories): the built-in one, named `default`, and the
//! "others" an admin adds, which `wharf push` can copy into instead.

use super::auth::AuthUser;
use super::permissions::require_admin;
use super::{Artifactories, commit};
use crate::error::{Error, Result};
use crate::validate::require;
use wharf_api::BUILT_IN_ARTIFACTORY;
use wharf_api::{Artifactory, OtherArtifactoryRequest};
use wharf_store::{ArtifactoryRow, Audit, now};

/// The built-in registry, reached at `host`.
fn built_in(host: &str) -> Artifactory {
    Artifactory {
        name: BUILT_IN_ARTIFACTORY.into(),
        uri: host.to_string(),
        artifactory_type: "OTHERS".into(),
        system_defined: Some(true),
        username: None,
        password: None,
        created_by: None,
        creation_date: None,
    }
}

fn view(row: &ArtifactoryRow) -> Artifactory {
    Artifactory {
        name: row.name.clone(),
        uri: row.uri.clone(),
        artifactory_type: "OTHERS".into(),
        system_defined: Some(false),
        username: Some(row.username.clone()).filter(|u| !u.is_empty()),
        password: None,
        created_by: Some(row.created_by.clone()),
        creation_date: Some(row.created_at.clone()),
    }
}

/// Stands where Facets' model requires a registry's password: the password itself is never
/// answered.
const PASSWORD_MASK: &str = "********";

fn not_found(name: &str) -> Error {
    Error::not_found(format!(
        "artifactory '{name}' is not known here; add it with POST /cc-ui/v1/artifactories/others, \
         or use '{BUILT_IN_ARTIFACTORY}', the built-in registry"
    ))
}

/// The `host[:port]` of a registry URI or an image reference (`host[:port]/path…`): the one
/// place it is read.
pub fn registry_host(uri: &str) -> &str {
    uri.split('/').next().unwrap_or_default()
}

/// `host[:port][/prefix]`, a leading `https://` or `http://` dropped.
fn registry_uri(raw: &str) -> Result<String> {
    let uri = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .unwrap_or(raw)
        .trim_end_matches('/');
    let host = registry_host(uri);
    let bad = uri.is_empty()
        || host.is_empty()
        || uri
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '@' | '?' | '#' | '\\'));
    if bad {
        return Err(Error::bad_request(format!(
            "field `uri` '{raw}' is not a registry address: use host[:port][/path], e.g. \
             registry.example.com:5000/team"
        )));
    }
    Ok(uri.to_string())
}

/// `host[:port]/prefix` → (`host[:port]`, `prefix`).
pub(super) fn split_uri(uri: &str) -> (&str, &str) {
    uri.split_once('/').unwrap_or((uri, ""))
}

impl Artifactories {
    /// A client of an added registry reached at `host`, with its credentials, trying once.
    pub(super) fn registry_client(
        &self,
        row: &ArtifactoryRow,
        host: &str,
    ) -> Result<wharf_oci::RegistryClient> {
        let password = self.identity.registry_password(row)?;
        let credentials = (!row.username.is_empty()).then(|| wharf_oci::Credentials {
            username: row.username.clone(),
            password,
        });
        wharf_oci::RegistryClient::new(host, &wharf_oci::Transport::default(), credentials)
            .map(|r| {
                r.with_retry(wharf_http::RetryPolicy {
                    attempts: 1,
                    ..Default::default()
                })
            })
            .map_err(|e| Error::Internal(format!("registry client: {e}")))
    }

    /// The added registry whose address (`host[:port][/prefix]`) covers `reference`, if any.
    pub(super) async fn artifactory_covering(
        &self,
        reference: &wharf_oci::ImageReference,
    ) -> Result<Option<ArtifactoryRow>> {
        let covers = |row: &ArtifactoryRow| {
            let (host, prefix) = split_uri(&row.uri);
            host.eq_ignore_ascii_case(&reference.registry)
                && (prefix.is_empty() || reference.repository.starts_with(&format!("{prefix}/")))
        };
        Ok(self.store.artifactories().await?.into_iter().find(covers))
    }

    pub(super) async fn artifactory_row(&self, name: &str) -> Result<ArtifactoryRow> {
        self.store
            .artifactory(name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    /// Every registry (each serves every project here); `stack`, when given, must exist.
    pub async fn artifactories(&self, host: &str, stack: Option<&str>) -> Result<Vec<Artifactory>> {
        if let Some(stack) = stack {
            self.lookups.project(stack).await?;
        }
        let mut all = vec![built_in(host)];
        all.extend(self.store.artifactories().await?.iter().map(view));
        Ok(all)
    }

    pub async fn artifactory(&self, host: &str, name: &str) -> Result<Artifactory> {
        if name == BUILT_IN_ARTIFACTORY {
            return Ok(built_in(host));
        }
        Ok(view(&self.artifactory_row(name).await?))
    }

    /// Adds a registry (server admins: registries serve every project).
    pub async fn create_artifactory(
        &self,
        user: &AuthUser,
        body: OtherArtifactoryRequest,
    ) -> Result<Artifactory> {
        require_admin(user, "adding a container registry")?;
        let name = require("name", Some(&body.name))?;
        if name == BUILT_IN_ARTIFACTORY {
            return Err(Error::conflict(format!(
                "'{BUILT_IN_ARTIFACTORY}' is the built-in registry's name; choose another `name`"
            )));
        }
        let uri = registry_uri(&require("uri", Some(&body.uri))?)?;
        let username = body.username.unwrap_or_default().trim().to_string();
        let password = body.password.unwrap_or_default();
        if username.is_empty() != password.is_empty() {
            return Err(Error::bad_request(
                "give both `username` and `password`, or neither (an anonymous registry)",
            ));
        }
        let row = ArtifactoryRow {
            password: self.identity.seal_registry_password(&name, &password)?,
            name: name.clone(),
            uri,
            username,
            created_by: user.username.clone(),
            created_at: now(),
        };
        let audit = Audit::new(
            &user.username,
            "CONTAINER_REGISTRY",
            "CONTAINER_REGISTRY_CREATE",
        )
        .target(&name)
        .meta("uri", &row.uri);
        let mut tx = self.store.begin().await?;
        if !tx.insert_artifactory(&row).await? {
            return Err(Error::conflict(format!(
                "artifactory '{name}' already exists"
            )));
        }
        commit(tx, &audit).await?;
        Ok(Artifactory {
            password: Some(PASSWORD_MASK.into()),
            ..view(&row)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::registry_uri;

    #[test]
    fn registry_addresses_are_normalised_or_refused() {
        assert_eq!(
            registry_uri("https://r.example.com:5000/team/").unwrap(),
            "r.example.com:5000/team"
        );
        for bad in [
            "",
            "https://",
            "user:pw@r.example.com",
            "r.example.com/a b",
            "/x",
        ] {
            assert!(registry_uri(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod registry_host_tests {
    use super::registry_host;

    #[test]
    fn the_host_is_everything_before_the_first_slash() {
        assert_eq!(
            registry_host("cp.example.com:5000/shop/api:1"),
            "cp.example.com:5000"
        );
        assert_eq!(registry_host("ecr.example/prefix"), "ecr.example");
        assert_eq!(registry_host("localhost"), "localhost");
        assert_eq!(registry_host(""), "");
    }
}
