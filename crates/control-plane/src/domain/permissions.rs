//! Permissions: Facets' names, carried by roles, held per project. Server admins hold all.
//! Reads need only a valid token; every write names the permission it needs.

use super::Identity;
use super::auth::AuthUser;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ARTIFACTS_WRITE: &str = "ARTIFACTS_WRITE";
pub const ARTIFACTS_DELETE: &str = "ARTIFACTS_DELETE";
pub const ARTIFACT_CI_WRITE: &str = "ARTIFACT_CI_WRITE";
pub const ARTIFACT_CI_DELETE: &str = "ARTIFACT_CI_DELETE";
pub const ARTIFACT_ROUTING_RULE_WRITE: &str = "ARTIFACT_ROUTING_RULE_WRITE";
pub const ARTIFACT_ROUTING_RULE_DELETE: &str = "ARTIFACT_ROUTING_RULE_DELETE";
pub const PROMOTIONAL_WORKFLOW_WRITE: &str = "PROMOTIONAL_WORKFLOW_WRITE";
pub const PROMOTIONAL_WORKFLOW_DELETE: &str = "PROMOTIONAL_WORKFLOW_DELETE";
pub const RELEASE_STREAM_WRITE: &str = "RELEASE_STREAM_WRITE";
pub const RELEASE_STREAM_DELETE: &str = "RELEASE_STREAM_DELETE";
pub const CI_CD_CONFIGURE: &str = "CI_CD_CONFIGURE";
pub const ARTIFACTORY_WRITE: &str = "ARTIFACTORY_WRITE";
pub const ARTIFACTORY_DELETE: &str = "ARTIFACTORY_DELETE";
pub const CLI_ARTIFACT_PUSH: &str = "CLI_ARTIFACT_PUSH";
/// wharf's own: environments (Facets creates them through its cloud calls).
pub const ENVIRONMENT_WRITE: &str = "ENVIRONMENT_WRITE";
pub const ENVIRONMENT_DELETE: &str = "ENVIRONMENT_DELETE";
/// wharf's own: apply a whole project file, and manage the project's members.
pub const PROJECT_ADMIN: &str = "PROJECT_ADMIN";

pub const ALL: [&str; 17] = [
    ARTIFACTS_WRITE,
    ARTIFACTS_DELETE,
    ARTIFACT_CI_WRITE,
    ARTIFACT_CI_DELETE,
    ARTIFACT_ROUTING_RULE_WRITE,
    ARTIFACT_ROUTING_RULE_DELETE,
    PROMOTIONAL_WORKFLOW_WRITE,
    PROMOTIONAL_WORKFLOW_DELETE,
    RELEASE_STREAM_WRITE,
    RELEASE_STREAM_DELETE,
    CI_CD_CONFIGURE,
    ARTIFACTORY_WRITE,
    ARTIFACTORY_DELETE,
    CLI_ARTIFACT_PUSH,
    ENVIRONMENT_WRITE,
    ENVIRONMENT_DELETE,
    PROJECT_ADMIN,
];

/// The roles every server has: name and permissions.
pub fn built_in_roles() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("admin", ALL.to_vec()),
        (
            "release-manager",
            vec![
                ARTIFACTS_WRITE,
                ARTIFACTS_DELETE,
                PROMOTIONAL_WORKFLOW_WRITE,
                ARTIFACT_ROUTING_RULE_WRITE,
                ARTIFACT_CI_WRITE,
            ],
        ),
        ("ci", vec![ARTIFACTS_WRITE, CLI_ARTIFACT_PUSH]),
        ("viewer", vec![]),
    ]
}

/// How long a user's roles on a project are trusted without asking the store again (the same
/// lifetime as verified tokens); a member or role change on this server forgets them at once.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// A role held: its name and permissions.
type Held = Vec<(String, Vec<String>)>;

/// (user, project).
type UserProject = (String, String);

/// Roles recently read: (user, project) → roles, and when they were read.
#[derive(Clone, Default)]
pub struct RoleCache(Arc<Mutex<HashMap<UserProject, (Held, Instant)>>>);

impl RoleCache {
    pub fn forget_all(&self) {
        if let Ok(mut cache) = self.0.lock() {
            cache.clear();
        }
    }

    fn get(&self, key: &(String, String)) -> Option<Held> {
        let cache = self.0.lock().ok()?;
        let (held, at) = cache.get(key)?;
        (at.elapsed() < CACHE_TTL).then(|| held.clone())
    }

    fn put(&self, key: (String, String), held: Held) {
        if let Ok(mut cache) = self.0.lock() {
            cache.insert(key, (held, Instant::now()));
        }
    }
}

impl Identity {
    /// Writes the built-in roles; their permissions follow the code's list.
    pub async fn seed_roles(&self) -> Result<()> {
        let mut tx = self.store.begin().await?;
        for (name, permissions) in built_in_roles() {
            let permissions: Vec<String> = permissions.iter().map(|p| p.to_string()).collect();
            tx.save_role(name, &permissions, true).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn held(&self, username: &str, project: &str) -> Result<Held> {
        let key = (username.to_string(), project.to_string());
        if let Some(held) = self.roles.get(&key) {
            return Ok(held);
        }
        let held: Held = self
            .store
            .roles_held(username, project)
            .await?
            .into_iter()
            .map(|role| (role.name, role.permissions.0))
            .collect();
        self.roles.put(key, held.clone());
        Ok(held)
    }

    /// The names of the roles `username` holds on `project` (through its role there or on
    /// every project).
    pub(super) async fn role_names(&self, username: &str, project: &str) -> Result<Vec<String>> {
        Ok(self
            .held(username, project)
            .await?
            .into_iter()
            .map(|(role, _)| role)
            .collect())
    }

    /// Refuses with 403, naming the missing permission, unless `user` holds `permission` on
    /// `project` (through its role there or its role on every project).
    pub async fn require(&self, user: &AuthUser, project: &str, permission: &str) -> Result<()> {
        if user.admin {
            return Ok(());
        }
        let held = self.held(&user.username, project).await?;
        if held
            .iter()
            .any(|(_, permissions)| permissions.iter().any(|p| p == permission))
        {
            return Ok(());
        }
        if held.is_empty() {
            // A mistyped project is a 404, not a missing role.
            self.lookups.project(project).await?;
        }
        let roles = if held.is_empty() {
            "no role there".to_string()
        } else {
            let names: Vec<_> = held.iter().map(|(role, _)| format!("'{role}'")).collect();
            format!("role {}", names.join(" and "))
        };
        Err(Error::Forbidden(format!(
            "permission {permission} is required on project '{project}'; user '{}' has {roles}",
            user.username
        )))
    }
}

/// Server-wide operations (creating projects and users) need a server admin.
pub fn require_admin(user: &AuthUser, what: &str) -> Result<()> {
    if user.admin {
        return Ok(());
    }
    Err(Error::Forbidden(format!(
        "{what} needs a server admin; user '{}' is not one",
        user.username
    )))
}
