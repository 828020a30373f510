//! The reference control plane served by `wharf serve`, and embedded by `wharf register` when
//! no control plane is configured outside CI.
//!
//! This crate owns the server side of the Facets API: the domain (routing, registration,
//! idempotency), the SQLite store, HTTP Basic authentication against hashed tokens, the HTTP
//! routes, and the declarative project file. It never depends on the client side
//! (`wharf-registration`, `wharf-ci`); the two meet only in `wharf-api`'s wire types.

/// Runs `$body` with `$e` bound to the pool inside `$pool` (a `&store::Pool`), once per
/// database type: the same query text and binds compile for SQLite and for PostgreSQL.
macro_rules! on {
    ($pool:expr, |$e:ident| $body:expr) => {
        match $pool {
            $crate::store::Pool::Sqlite($e) => $body,
            $crate::store::Pool::Postgres($e) => $body,
        }
    };
}

/// Like `on!`, inside a transaction (`$tx` is a `&mut store::Tx`): `$e` is its connection.
macro_rules! in_tx {
    ($tx:expr, |$e:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $e = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $e = &mut **t;
                $body
            }
        }
    };
}

pub mod audit;
pub mod auth;
pub mod error;
mod http;
pub mod permissions;
pub mod project_file;
pub mod promotion;
pub mod registration;
pub mod registry;
pub mod routing;
pub mod store;
mod views;

pub use error::{Error, Result};
pub use http::MAX_BODY_BYTES;
pub use store::{Database, Store};

use auth::{Authenticator, hash_token};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Shortest admin token accepted from the environment.
pub const MIN_TOKEN_LEN: usize = 16;

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
}

/// A control plane accepting requests until [`RunningServer::stop`].
pub struct RunningServer {
    addr: SocketAddr,
    store: Store,
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
        &self.store
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
        self.store.close().await;
        Ok(())
    }
}

/// Opens the store, bootstraps the admin, applies the project file, and starts serving.
pub async fn start(options: ServeOptions) -> Result<RunningServer> {
    let store = Store::open(&options.database).await?;
    bootstrap_admin(&store, &options).await?;
    if let Some(path) = &options.project_file {
        let file = project_file::load(path)?;
        let summary = project_file::apply(&store, &file, "wharf serve --config").await?;
        tracing::info!(project = %summary.project, created = summary.created.len(),
            updated = summary.updated.len(), "project file applied");
    }
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| Error::bad_request(format!("cannot listen on {}: {e}", options.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("listener address: {e}")))?;
    let authenticator = Authenticator::new(store.clone(), options.ephemeral_admin.clone());
    let blobs = registry::BlobStore::open(&options.blob_dir).map_err(|e| {
        Error::Internal(format!(
            "registry directory {}: {e}",
            options.blob_dir.display()
        ))
    })?;
    let app = http::router(http::AppState {
        store: store.clone(),
        auth: Arc::new(authenticator),
        blobs,
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
        store,
        shutdown,
        task,
    })
}

async fn bootstrap_admin(store: &Store, options: &ServeOptions) -> Result<()> {
    if let Some((username, token)) = &options.admin {
        if username.trim().is_empty() {
            return Err(Error::bad_request(
                "WHARF_ADMIN_USERNAME is empty; set it to a login",
            ));
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err(Error::bad_request(format!(
                "WHARF_ADMIN_TOKEN is too short: use at least {MIN_TOKEN_LEN} random characters"
            )));
        }
        return store
            .ensure_user_token(username, &hash_token(token), true)
            .await;
    }
    if options.ephemeral_admin.is_none() && store.user_count().await? == 0 {
        return Err(Error::bad_request(
            "no users yet: set WHARF_ADMIN_USERNAME and WHARF_ADMIN_TOKEN for the first start",
        ));
    }
    Ok(())
}
