//! The reference control plane served by `wharf serve`, and embedded by `wharf register` when
//! no control plane is configured outside CI.
//!
//! Layers point one way: `http` (routes, request parsing, answers) → `domain` (every rule:
//! permissions, transactions, audit entries, caches) and `registry` (the built-in OCI
//! registry's operations, on the domain) → `wharf-store` (all SQL, its own crate so the
//! compiler holds the line) → its model. Nothing below `http` knows HTTP. This crate never
//! depends on the client side (`wharf-registration`, `wharf-ci`); the two meet only in
//! `wharf-api`'s wire types.

pub mod domain;
pub mod error;
mod http;
pub mod registry;

pub use domain::access::MIN_TOKEN_LEN;
pub use domain::{ControlPlane, auth, project_file, promotion};
pub use error::{Error, Result};
pub use http::MAX_BODY_BYTES;
pub use wharf_store as store;
pub use wharf_store::{Database, Store};

use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How to run a control plane.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub database: Database,
    /// Where the built-in registry keeps blobs and manifests.
    pub blob_dir: PathBuf,
    /// A project file applied on start, before the first request is served.
    pub project_file: Option<PathBuf>,
    /// The admin from `WHARF_ADMIN_USERNAME`/`WHARF_ADMIN_TOKEN`: created on first start, and
    /// its token added if missing on later starts.
    pub admin: Option<(String, String)>,
    /// An admin held only in memory (the embedded control plane's per-run credential).
    pub ephemeral_admin: Option<(String, String)>,
    /// The keys registry passwords are sealed with (`WHARF_SECRET_KEY`, and
    /// `WHARF_SECRET_KEY_PREVIOUS` during a rotation); `None` refuses to store passwords.
    pub secrets: Option<domain::secrets::SecretKeys>,
}

/// A control plane accepting requests until [`RunningServer::stop`].
pub struct RunningServer {
    addr: SocketAddr,
    control_plane: ControlPlane,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn store(&self) -> &Store {
        self.control_plane.store()
    }

    pub fn control_plane(&self) -> &ControlPlane {
        &self.control_plane
    }

    /// Stops accepting, lets in-flight requests finish (each write is committed before its
    /// answer is sent), then checkpoints and closes the store.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(());
        let served = self
            .task
            .await
            .map_err(|e| Error::Internal(format!("server task: {e}")))?;
        served.map_err(|e| Error::Internal(format!("server: {e}")))?;
        self.control_plane.store().close().await;
        Ok(())
    }
}

/// Opens the store, bootstraps the admin, applies the project file, and starts serving.
pub async fn start(options: ServeOptions) -> Result<RunningServer> {
    let store = Store::open(&options.database).await?;
    let control_plane = ControlPlane::new(store, options.ephemeral_admin.clone());
    control_plane.seed_roles().await?;
    control_plane.open_secrets(options.secrets.clone()).await?;
    control_plane
        .bootstrap_admin(options.admin.as_ref(), options.ephemeral_admin.is_some())
        .await?;
    if let Some(path) = &options.project_file {
        let file = project_file::load(path)?;
        let summary = control_plane.apply(&file, "wharf serve --config").await?;
        tracing::info!(project = %summary.project, created = summary.created.len(),
            updated = summary.updated.len(), "project file applied");
    }
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| Error::bad_request(format!("cannot listen on {}: {e}", options.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("listener address: {e}")))?;
    let blobs = registry::BlobStore::open(&options.blob_dir).map_err(|e| {
        Error::Internal(format!(
            "registry directory {}: {e}",
            options.blob_dir.display()
        ))
    })?;
    let app = http::router(http::AppState {
        registry: registry::Registry::new(control_plane.clone(), blobs),
        cp: control_plane.clone(),
    });
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningServer {
        addr,
        control_plane,
        shutdown,
        task,
    })
}
