//! The domain: every rule of the control plane, one module per concern, as methods of a few
//! services. Each write checks the caller's permission, runs in one store transaction with its
//! audit entries, and forgets the caches it invalidates before it answers. Nothing here knows HTTP.
//!
//! The services, each holding only the ones below it (so calls run one way and never loop):
//!
//! | service | owns | calls |
//! |---|---|---|
//! | [`Lookups`] | names to rows (`lookups`) | the store |
//! | [`Identity`] | `auth`, `permissions`, `sessions`, `access`, `oidc`, `trust`, `secrets` | Lookups |
//! | [`Artifactories`] | registries a server admin added (`artifactories`) | Identity |
//! | [`Door`] | the one door of every stage change, its gates, the registry's holds (`door`, `supply_chain`) | Artifactories |
//! | [`Catalog`] | streams, environments, the project file (`environments`, `project_file`) | Door, Events |
//! | [`Routing`] | CIs, routing rules, workflows (`cis`, `rules`, `workflows`) | Identity |
//! | [`Approvals`] | requests, approvals, rollbacks (`protection`) | Door |
//! | [`Delivery`] | register, attach, promote, reclassify, delete, resolve (`registration`, `promotion`) | Approvals |
//! | [`Overview`] | what the UI and audit pages read, one page model per page (`ui_reads`, `ui_pages`, `audit`) | Approvals |
//! | [`RegistryIndex`] | the built-in registry's index (`registry_index`) | Door |
//! | [`Push`] | push credentials (`push`) | Artifactories |
//! | [`Events`] | events, subscriptions, deliveries (`events`) | Identity |
//!
//! `wire` (rows as wire types) and `requests` (what a request changes) are plain functions and
//! types, used by all.

pub mod access;
pub mod artifactories;
pub mod audit;
pub mod auth;
pub mod cis;
pub mod door;
pub mod environments;
pub mod events;
pub mod lookups;
pub mod oidc;
pub mod permissions;
pub mod project_file;
pub mod promotion;
pub mod protection;
pub mod provenance;
pub mod push;
pub mod registration;
pub mod registry_index;
pub mod requests;
pub mod rules;
pub mod secrets;
pub mod sessions;
pub mod strategy;
pub mod supply_chain;
pub mod trust;
pub mod ui_pages;
pub mod ui_reads;
pub mod wire;
pub mod workflows;

use crate::error::{Error, Result};
use auth::Authenticator;
use permissions::RoleCache;
use std::sync::Arc;
use wharf_store::{Audit, Store, Tx};

/// The control plane's domain over one store: its services, each holding only what it uses and
/// the services below it, so calls run one way (top to bottom here) and never loop back.
#[derive(Clone)]
pub struct ControlPlane {
    pub lookups: Lookups,
    pub identity: Identity,
    pub artifactories: Artifactories,
    pub door: Door,
    pub catalog: Catalog,
    pub routing: Routing,
    pub approvals: Approvals,
    pub delivery: Delivery,
    pub overview: Overview,
    pub registry_index: RegistryIndex,
    pub push: Push,
    pub events: Events,
}

impl ControlPlane {
    /// `ephemeral_admin` lives only in memory (the embedded control plane's per-run admin).
    pub fn new(store: Store, ephemeral_admin: Option<(String, String)>) -> Self {
        let lookups = Lookups {
            store: store.clone(),
        };
        let identity = Identity {
            store: store.clone(),
            auth: Arc::new(Authenticator::new(ephemeral_admin)),
            roles: RoleCache::default(),
            secrets: Arc::default(),
            oidc: Arc::default(),
            lookups: lookups.clone(),
        };
        let artifactories = Artifactories {
            store: store.clone(),
            identity: identity.clone(),
            lookups: lookups.clone(),
        };
        let door = Door {
            store: store.clone(),
            registry_hosts: Arc::default(),
            content: Arc::default(),
            artifactories: artifactories.clone(),
            identity: identity.clone(),
            lookups: lookups.clone(),
        };
        let events = Events {
            store: store.clone(),
            identity: identity.clone(),
            lookups: lookups.clone(),
            environment: Arc::default(),
        };
        let approvals = Approvals {
            store: store.clone(),
            door: door.clone(),
            identity: identity.clone(),
            lookups: lookups.clone(),
        };
        Self {
            catalog: Catalog {
                store: store.clone(),
                door: door.clone(),
                identity: identity.clone(),
                lookups: lookups.clone(),
                events: events.clone(),
            },
            routing: Routing {
                store: store.clone(),
                identity: identity.clone(),
                lookups: lookups.clone(),
            },
            delivery: Delivery {
                store: store.clone(),
                approvals: approvals.clone(),
                door: door.clone(),
                identity: identity.clone(),
                lookups: lookups.clone(),
            },
            overview: Overview {
                store: store.clone(),
                approvals: approvals.clone(),
                artifactories: artifactories.clone(),
                door: door.clone(),
                identity: identity.clone(),
                lookups: lookups.clone(),
            },
            registry_index: RegistryIndex {
                store: store.clone(),
                door: door.clone(),
            },
            push: Push {
                store: store.clone(),
                artifactories: artifactories.clone(),
                identity: identity.clone(),
                lookups: lookups.clone(),
            },
            events,
            approvals,
            door,
            artifactories,
            identity,
            lookups,
        }
    }

    pub fn store(&self) -> &Store {
        &self.lookups.store
    }

    /// Whether this replica can serve: its database answers within two seconds. A load
    /// balancer's health check reads it, and takes a replica that cannot out of rotation.
    pub async fn health(&self) -> Result<()> {
        let unavailable = |why: String| {
            Error::Unavailable(format!(
                "this replica cannot reach its database ({why}); it serves again once the \
                 database answers"
            ))
        };
        match tokio::time::timeout(std::time::Duration::from_secs(2), self.store().ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(unavailable(e.to_string())),
            Err(_) => Err(unavailable("no answer within 2 s".into())),
        }
    }
}

/// Events, subscriptions and deliveries ([`events`]).
#[derive(Clone)]
pub struct Events {
    store: Store,
    identity: Identity,
    lookups: Lookups,
    /// Where webhook secrets are read from (`secret_env`): `wharf serve`'s environment unless
    /// the server was given a table (tests). Set once on start.
    environment: Arc<std::sync::OnceLock<std::collections::BTreeMap<String, String>>>,
}

/// Names to rows: projects, environments, streams, CIs and the rule and workflow a CI follows.
/// Reads only, no permission checks: the services above check before they look.
#[derive(Clone)]
pub struct Lookups {
    store: Store,
}

/// Who the caller is and what they may do: authentication, roles, sessions, tokens, keyless
/// login, trust policies and the sealed secrets.
#[derive(Clone)]
pub struct Identity {
    store: Store,
    auth: Arc<Authenticator>,
    roles: RoleCache,
    /// The keys registry passwords are sealed with, set once on start ([`secrets`]).
    secrets: Arc<std::sync::OnceLock<secrets::SecretKeys>>,
    /// OIDC issuers' keys, for keyless CI login ([`oidc`]).
    oidc: Arc<oidc::IssuerKeys>,
    lookups: Lookups,
}

/// The registries a server admin added, and a client for each ([`artifactories`]).
#[derive(Clone)]
pub struct Artifactories {
    store: Store,
    identity: Identity,
    lookups: Lookups,
}

/// The one door every change of what a stage deploys passes ([`door`]).
#[derive(Clone)]
pub struct Door {
    store: Store,
    /// The `host[:port]` names this server's own registry is reached by.
    registry_hosts: Arc<std::sync::OnceLock<std::collections::BTreeSet<String>>>,
    /// The registry's bytes, for the gates that read signatures ([`supply_chain`]).
    content: Arc<std::sync::OnceLock<Arc<dyn supply_chain::ContentReader>>>,
    artifactories: Artifactories,
    identity: Identity,
    lookups: Lookups,
}

/// Projects' places (streams, environments) and the project file ([`environments`], [`project_file`]).
#[derive(Clone)]
pub struct Catalog {
    store: Store,
    door: Door,
    identity: Identity,
    lookups: Lookups,
    events: Events,
}

/// How builds are routed and promoted: CIs, routing rules and workflows ([`cis`], [`rules`],
/// [`workflows`]).
#[derive(Clone)]
pub struct Routing {
    store: Store,
    identity: Identity,
    lookups: Lookups,
}

/// Protected stages' requests, approvals and rollbacks ([`protection`]).
#[derive(Clone)]
pub struct Approvals {
    store: Store,
    door: Door,
    identity: Identity,
    lookups: Lookups,
}

/// Builds in and out of stages: register, attach, promote, reclassify, delete, resolve
/// ([`registration`], [`promotion`]).
#[derive(Clone)]
pub struct Delivery {
    store: Store,
    approvals: Approvals,
    door: Door,
    identity: Identity,
    lookups: Lookups,
}

/// What the web UI and the audit pages read ([`ui_reads`], [`ui_pages`], [`audit`]).
#[derive(Clone)]
pub struct Overview {
    store: Store,
    approvals: Approvals,
    artifactories: Artifactories,
    door: Door,
    identity: Identity,
    lookups: Lookups,
}

/// The built-in registry's index: uploads, blobs, manifests, tags, gc ([`registry_index`]).
#[derive(Clone)]
pub struct RegistryIndex {
    store: Store,
    door: Door,
}

/// Credentials for pushing into a registry ([`push`]).
#[derive(Clone)]
pub struct Push {
    store: Store,
    artifactories: Artifactories,
    identity: Identity,
    lookups: Lookups,
}

impl Identity {
    /// Forgets every cached credential and role, after a change to either: this replica stops
    /// trusting them at once, the others within the caches' lifetime.
    fn forget_cached(&self) {
        self.auth.forget_all();
        self.roles.forget_all();
    }
}

/// Writes `audit` and commits: the last step of every audited change.
async fn commit(tx: Tx, audit: &Audit) -> Result<()> {
    Ok(tx.commit_audited(audit).await?)
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
            other if other.is_unavailable() => Self::Unavailable(format!(
                "the control plane cannot reach its database just now ({other}); nothing was \
                 changed: try again in a moment"
            )),
            other => Self::Internal(other.to_string()),
        }
    }
}
