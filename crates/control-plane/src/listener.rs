//! The serving loop: accepts connections (plain or TLS), serves HTTP/1.1 on each with a
//! header-read timeout and a per-frame request body timeout, caps concurrent connections, and
//! shuts down gracefully with a deadline after which in-flight requests are dropped. Every
//! request gets one `info` log line; a panicking handler answers 500 and the connection lives.
//!
//! `axum::serve` does none of the timeouts or TLS, so this is hyper's connection builder driven
//! by our own accept loop.

use crate::error::{Error, Result};
use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How connections are accepted and bounded. The defaults suit a server on the internet;
/// tests shorten them.
#[derive(Debug, Clone)]
pub struct ListenerOptions {
    /// Serve HTTPS with this certificate chain and key (PEM), reloadable with
    /// [`crate::RunningServer::reload_tls`].
    pub tls: Option<TlsFiles>,
    /// A client must send a request's whole head within this, and an idle keep-alive
    /// connection is closed after it; also bounds the TLS handshake.
    pub header_timeout: Duration,
    /// The longest wait for the next piece of a request body (not the whole body: a registry
    /// upload may take hours).
    pub body_idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// After a stop, in-flight requests get this long to finish; then they are dropped.
    pub shutdown_timeout: Duration,
    /// Names clients reach the built-in registry by, besides the listener's loopback names.
    pub registry_hosts: Vec<String>,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        Self {
            tls: None,
            header_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_timeout: Duration::from_secs(30),
            registry_hosts: Vec::new(),
        }
    }
}

/// A PEM certificate chain and its PEM private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The TLS configuration in force, swapped whole on reload.
pub(crate) struct Tls {
    files: TlsFiles,
    config: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    pub(crate) fn load(files: &TlsFiles) -> Result<Self> {
        Ok(Self {
            config: RwLock::new(Arc::new(server_config(files)?)),
            files: files.clone(),
        })
    }

    /// Reads the files again; on an error the configuration in force stays.
    pub(crate) fn reload(&self) -> Result<()> {
        let config = Arc::new(server_config(&self.files)?);
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }

    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(
            self.config
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

fn server_config(files: &TlsFiles) -> Result<ServerConfig> {
    wharf_http::install_tls_provider();
    let cert_error = |e: &dyn std::fmt::Display| {
        Error::bad_request(format!(
            "--tls-cert {}: not a readable PEM certificate chain: {e}",
            files.cert.display()
        ))
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| cert_error(&e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| cert_error(&e))?;
    if chain.is_empty() {
        return Err(cert_error(&"it holds no CERTIFICATE block"));
    }
    // The key's error never quotes the file: it is a secret.
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        Error::bad_request(format!(
            "--tls-key {}: not a readable PEM private key: {e}",
            files.key.display()
        ))
    })?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            Error::bad_request(format!(
                "--tls-cert {} and --tls-key {} do not make a usable pair: {e}",
                files.cert.display(),
                files.key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Binds `addr`, warning when a non-loopback address would serve plain HTTP.
pub(crate) async fn bind(addr: SocketAddr, tls: bool) -> Result<TcpListener> {
    if !tls && !is_loopback(addr) {
        tracing::warn!(
            %addr,
            "serving plain HTTP on a non-loopback address: passwords and tokens cross the \
             network in clear; use --tls-cert/--tls-key or a TLS-terminating reverse proxy"
        );
    }
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::bad_request(format!("cannot listen on {addr}: {e}")))
}

pub(crate) fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// Wraps the router with what every request gets: the log line and the panic guard.
pub(crate) fn app(router: Router) -> Router {
    #[cfg(feature = "test-panic")]
    let router = router.route(
        "/wharf/v1/test/panic",
        axum::routing::get(|| async {
            if true {
                panic!("test panic carrying a secret: hunter2");
            }
        }),
    );
    router
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn(log_request))
}

/// A handler panicked: log what it said, answer the documented 500 without it (a panic's
/// text can hold anything).
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic".into());
    tracing::error!(panic = %text, "a request handler panicked");
    Error::Internal("the request failed; the server log has the details".into()).into_response()
}

/// One line per request at `info`: method, path (never the query, which can hold secrets),
/// status, latency to the response head, and the authenticated user when there is one.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let user = response
        .extensions()
        .get::<crate::http::LoggedUser>()
        .map_or("-", |u| u.0.as_str());
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        user,
        "request"
    );
    response
}

/// Accepts until `stop` fires, then drains: connections get `options.shutdown_timeout` to
/// finish their requests, after which the rest are dropped.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    options: ListenerOptions,
    tls: Option<Arc<Tls>>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        // Over the cap, stop accepting: new clients wait in the backlog, not in memory.
        let permit = tokio::select! {
            biased;
            _ = &mut stop => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let body_timeout = options.body_idle_timeout;
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
            use tower::Service;
            let request =
                request.map(|body| tower_http::timeout::TimeoutBody::new(body_timeout, body));
            app.clone().call(request)
        });
        let http = http.clone();
        let watcher = graceful.watcher();
        let tls = tls.as_ref().map(|tls| tls.acceptor());
        let handshake_timeout = options.header_timeout;
        connections.spawn(async move {
            let _permit = permit;
            let served =
                match tls {
                    None => {
                        let connection = http.serve_connection(TokioIo::new(stream), service);
                        watcher.watch(connection).await
                    }
                    Some(acceptor) => {
                        let stream =
                            match tokio::time::timeout(handshake_timeout, acceptor.accept(stream))
                                .await
                            {
                                Ok(Ok(stream)) => stream,
                                Ok(Err(error)) => {
                                    tracing::debug!(%peer, %error, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return;
                                }
                            };
                        let connection = http.serve_connection(TokioIo::new(stream), service);
                        watcher.watch(connection).await
                    }
                };
            if let Err(error) = served {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
        // Reap finished connections so the set holds only live ones.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(options.shutdown_timeout) => {
            tracing::warn!(
                connections = connections.len(),
                timeout_ms = options.shutdown_timeout.as_millis() as u64,
                "shutdown deadline passed: dropping the requests still in flight"
            );
        }
    }
    // Whatever is left (a TLS handshake, a connection past the deadline) is dropped.
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_are_recognised_in_every_form() {
        for addr in [
            "127.0.0.1:80",
            "127.3.4.5:80",
            "[::1]:80",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(is_loopback(addr.parse().unwrap()), "{addr}");
        }
        for addr in [
            "0.0.0.0:80",
            "[::]:80",
            "10.0.0.1:80",
            "[::ffff:10.0.0.1]:80",
        ] {
            assert!(!is_loopback(addr.parse().unwrap()), "{addr}");
        }
    }
}
