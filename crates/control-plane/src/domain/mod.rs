//! The domain: every rule of the control plane, as methods of [`ControlPlane`], one module per
//! concern. Each write checks the caller's permission, runs in one store transaction with its
//! audit entries, and forgets the caches it invalidates before it answers.
//!
//! Lower modules first: `views` (rows as wire types) and `buckets` (names to buckets) use only
//! the store; `requests` names what a request changes; `door` is the one check every change
//! of what a stage deploys passes (register, attach, promote, rollback, reclassify, delete, an
//! environment's stream), and the registry's hold on what stages deploy; the others build on
//! them. Nothing here knows HTTP.

pub mod access;
pub mod artifactories;
pub mod audit;
pub mod auth;
pub mod buckets;
pub mod cis;
pub mod door;
pub mod oidc;
pub mod overview;
pub mod permissions;
pub mod places;
pub mod project_file;
pub mod promotion;
pub mod protection;
pub mod push;
pub mod registration;
pub mod registry_index;
pub mod requests;
pub mod rules;
pub mod secrets;
pub mod sessions;
pub mod trust;
pub mod views;
pub mod workflows;

use crate::error::Result;
use auth::Authenticator;
use permissions::RoleCache;
use std::sync::Arc;
use wharf_store::{Audit, Store, Tx};

/// The control plane's domain over one store, with the caches it keeps in front of it.
#[derive(Clone)]
pub struct ControlPlane {
    store: Store,
    auth: Arc<Authenticator>,
    roles: RoleCache,
    /// The keys registry passwords are sealed with, set once on start ([`secrets`]).
    secrets: Arc<std::sync::OnceLock<secrets::SecretKeys>>,
    /// OIDC issuers' keys, for keyless CI login ([`oidc`]).
    oidc: Arc<oidc::IssuerKeys>,
    /// The `host[:port]` names this server's own registry is reached by ([`door`]).
    registry_hosts: Arc<std::sync::OnceLock<std::collections::BTreeSet<String>>>,
}

impl ControlPlane {
    /// `ephemeral_admin` lives only in memory (the embedded control plane's per-run admin).
    pub fn new(store: Store, ephemeral_admin: Option<(String, String)>) -> Self {
        Self {
            auth: Arc::new(Authenticator::new(ephemeral_admin)),
            roles: RoleCache::default(),
            secrets: Arc::default(),
            oidc: Arc::default(),
            registry_hosts: Arc::default(),
            store,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Forgets every cached credential and role, after a change to either: this replica stops
    /// trusting them at once, the others within the caches' lifetime.
    fn forget_cached(&self) {
        self.auth.forget_all();
        self.roles.forget_all();
    }
}

/// Writes `audit` and commits: the last step of every audited change.
async fn commit(mut tx: Tx, audit: &Audit) -> Result<()> {
    tx.record(audit).await?;
    tx.commit().await?;
    Ok(())
}

/// A store failure as the domain reports it: a database that cannot be reached or is not
/// PostgreSQL is the operator's to fix (400 at start); anything else is internal. Here, not in
/// `error.rs`, so only the domain knows the store.
impl From<wharf_store::Error> for crate::error::Error {
    fn from(error: wharf_store::Error) -> Self {
        match error {
            wharf_store::Error::NotPostgres | wharf_store::Error::Connect(_) => {
                Self::BadRequest(error.to_string())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}
