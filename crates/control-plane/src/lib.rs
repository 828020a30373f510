//! The reference control plane served by `wharf serve`, and embedded by `wharf register` when
//! no control plane is configured outside CI.
//!
//! Layers point one way: `http` (routes, request parsing, answers) → `domain` (every rule:
//! permissions, transactions, audit entries, caches) and `registry` (the built-in OCI
//! registry's operations, on the domain) → `wharf-store` (all SQL, its own crate so the
//! compiler holds the line) → its model. Nothing below `http` knows HTTP. This crate never
//! depends on the client side (`wharf-client`, `wharf-ci`); the two meet only in
//! `wharf-api`'s wire types.

pub mod domain;
pub mod error;
mod http;
mod listener;
pub mod registry;
pub mod validate;
pub mod webhooks;

pub use domain::access::MIN_TOKEN_LEN;
pub use domain::{ControlPlane, auth, project_file, promotion};
pub use error::{Error, Result};
pub use http::MAX_BODY_BYTES;
pub use listener::{ListenerOptions, TlsFiles};
pub use wharf_store as store;
pub use wharf_store::{Database, Store};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How to run a control plane.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub database: Database,
    /// Where the built-in registry keeps blobs and manifests (unless `blob_store`).
    pub blob_dir: PathBuf,
    /// Object storage for the built-in registry's blobs instead of `blob_dir` (issue 15).
    pub blob_store: Option<registry::ObjectStoreOptions>,
    /// A project file applied on start, before the first request is served.
    pub project_file: Option<PathBuf>,
    /// The admin from `WHARF_ADMIN_USERNAME`/`WHARF_ADMIN_TOKEN`: created on first start, and
    /// its token added if missing on later starts.
    pub admin: Option<(String, String)>,
    /// An admin held only in memory (the embedded control plane's per-run credential).
    pub ephemeral_admin: Option<(String, String)>,
    /// TLS, timeouts, the connection cap and the shutdown deadline.
    pub listener: ListenerOptions,
    /// The keys registry passwords are sealed with (`WHARF_SECRET_KEY`, and
    /// `WHARF_SECRET_KEY_PREVIOUS` during a rotation); `None` refuses to store passwords.
    pub secrets: Option<domain::secrets::SecretKeys>,
    /// Webhook delivery: where `secret_env` is read, and the retry schedule's unit.
    pub webhooks: WebhookOptions,
    /// How the store commits (SQLite's `synchronous`).
    pub store: wharf_store::StoreOptions,
}

/// How webhooks are delivered.
#[derive(Debug, Clone, Default)]
pub struct WebhookOptions {
    /// Webhook secrets by variable name instead of the process's environment (tests).
    pub secrets: Option<std::collections::BTreeMap<String, String>>,
    pub worker: webhooks::WorkerOptions,
}

/// A control plane accepting requests until [`RunningServer::stop`].
pub struct RunningServer {
    addr: SocketAddr,
    control_plane: ControlPlane,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
    tls: Option<Arc<listener::Tls>>,
    /// Removes abandoned upload sessions, on start and periodically.
    sweeper: JoinHandle<()>,
    deliverer: JoinHandle<()>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Reads the TLS certificate and key again (SIGHUP); new connections get them. On an
    /// error the pair in force stays. Answers false when the server does not serve TLS.
    pub fn reload_tls(&self) -> Result<bool> {
        match &self.tls {
            Some(tls) => tls.reload().map(|()| true),
            None => Ok(false),
        }
    }

    pub fn store(&self) -> &Store {
        self.control_plane.store()
    }

    pub fn control_plane(&self) -> &ControlPlane {
        &self.control_plane
    }

    /// Stops accepting, lets in-flight requests finish (each write is committed before its
    /// answer is sent) for up to the shutdown deadline, drops what is left, then checkpoints
    /// and closes the store.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(());
        self.sweeper.abort();
        self.deliverer.abort();
        self.task
            .await
            .map_err(|e| Error::Internal(format!("server task: {e}")))?;
        self.control_plane.store().close().await;
        Ok(())
    }
}

/// Opens the store, bootstraps the admin, applies the project file, and starts serving.
/// What can be checked without the store (the project file, the TLS pair, the address) is
/// checked before the store is opened, so a bad first start leaves no database behind.
pub async fn start(options: ServeOptions) -> Result<RunningServer> {
    let project = options
        .project_file
        .as_deref()
        .map(project_file::load)
        .transpose()?;
    let tls = options
        .listener
        .tls
        .as_ref()
        .map(listener::Tls::load)
        .transpose()?
        .map(Arc::new);
    let tcp = listener::bind(options.listen, tls.is_some()).await?;
    let addr = tcp
        .local_addr()
        .map_err(|e| Error::Internal(format!("listener address: {e}")))?;
    let store = Store::open_with(&options.database, options.store).await?;
    let control_plane = ControlPlane::new(store, options.ephemeral_admin.clone());
    if let Some(table) = options.webhooks.secrets.clone() {
        control_plane.events.read_secrets_from(table);
    }
    control_plane
        .door
        .set_registry_hosts(registry_hosts(addr, &options.listener.registry_hosts));
    if let Err(error) = prepare(&control_plane, &options, project.as_ref()).await {
        control_plane.store().close().await;
        return Err(error);
    }
    let blobs = match &options.blob_store {
        None => registry::BlobStore::open(&options.blob_dir).map_err(|e| {
            Error::Internal(format!(
                "registry directory {}: {e}",
                options.blob_dir.display()
            ))
        }),
        Some(object) => registry::object_store::ObjectBlobStore::open(object)
            .map(registry::BlobStore::Object)
            .map_err(Error::BadRequest),
    };
    let blobs = match blobs {
        Ok(blobs) => blobs,
        Err(error) => {
            control_plane.store().close().await;
            return Err(error);
        }
    };
    let registry = registry::BuiltInRegistry::new(control_plane.clone(), blobs);
    match registry.sweep_uploads().await {
        Ok((0, _)) => {}
        Ok((swept, _)) => tracing::info!(swept, "expired upload sessions removed"),
        Err(error) => tracing::warn!(message = %error.message, "upload sweep failed"),
    }
    let sweeper = registry.clone().spawn_sweeper();
    let deliverer = webhooks::spawn(control_plane.clone(), options.webhooks.worker.clone());
    let app = listener::app(http::router(http::AppState::new(
        control_plane.clone(),
        registry,
        tls.is_some(),
    )));
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(listener::serve(
        tcp,
        app,
        options.listener.clone(),
        tls.clone(),
        stopped,
    ));
    Ok(RunningServer {
        addr,
        control_plane,
        shutdown,
        task,
        tls,
        sweeper,
        deliverer,
    })
}

/// The names this server's registry is reached by: the operator's, and the listener's own
/// address under its loopback names.
fn registry_hosts(addr: SocketAddr, configured: &[String]) -> std::collections::BTreeSet<String> {
    let port = addr.port();
    let mut hosts: std::collections::BTreeSet<String> = configured
        .iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    hosts.insert(addr.to_string());
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        hosts.insert(format!("127.0.0.1:{port}"));
        hosts.insert(format!("localhost:{port}"));
        hosts.insert(format!("[::1]:{port}"));
    }
    hosts
}

/// Seeds the roles, bootstraps the admin and applies the project file.
async fn prepare(
    control_plane: &ControlPlane,
    options: &ServeOptions,
    project: Option<&wharf_api::project_file::ProjectFile>,
) -> Result<()> {
    control_plane.identity.seed_roles().await?;
    control_plane
        .identity
        .open_secrets(options.secrets.clone())
        .await?;
    control_plane
        .identity
        .bootstrap_admin(options.admin.as_ref(), options.ephemeral_admin.is_some())
        .await?;
    if let Some(file) = project {
        let summary = control_plane
            .catalog
            .apply(file, "wharf serve --config")
            .await?;
        tracing::info!(project = %summary.project, created = summary.created.len(),
            updated = summary.updated.len(), "project file applied");
    }
    Ok(())
}
