//! `wharf serve`: the reference control plane as a process. Its state is private to the user
//! running it (directory 0700, files 0600); a start that fails leaves no new database behind;
//! SIGTERM and SIGINT stop it gracefully within the shutdown deadline; SIGHUP reloads the TLS
//! certificate and key.

use crate::CliResult;
use crate::args::ServeArgs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use wharf_client as registration;
use wharf_control_plane::{Database, ListenerOptions, ServeOptions, TlsFiles};

/// The SQLite file in `--data`, and the files SQLite keeps beside it.
const DATABASE_FILES: [&str; 3] = ["wharf.db", "wharf.db-wal", "wharf.db-shm"];

pub async fn serve(args: ServeArgs) -> CliResult {
    let admin = match (
        std::env::var("WHARF_ADMIN_USERNAME"),
        std::env::var("WHARF_ADMIN_TOKEN"),
    ) {
        (Ok(user), Ok(token)) => Some((user, token)),
        (Ok(_), Err(_)) | (Err(_), Ok(_)) => {
            return Err(registration::Error::Usage(
                "set both WHARF_ADMIN_USERNAME and WHARF_ADMIN_TOKEN, or neither".into(),
            )
            .into());
        }
        _ => None,
    };
    let data = match (&args.data, &args.database, &args.blob_store) {
        (Some(data), _, _) => data.clone(),
        (None, Some(_), Some(_)) => PathBuf::new(),
        (None, None, _) => {
            return Err(registration::Error::Usage(
                "--data DIR is needed for the SQLite store; or give --database postgres://… \
                 and --blob-store s3://BUCKET/PREFIX for a server with no local state"
                    .into(),
            )
            .into());
        }
        (None, Some(_), None) => {
            return Err(registration::Error::Usage(
                "--data DIR is needed for the registry's blobs; or give --blob-store \
                 s3://BUCKET/PREFIX to keep them in object storage"
                    .into(),
            )
            .into());
        }
    };
    let stateless = args.data.is_none();
    let database = match args.database {
        Some(url) => Database::parse_url(&url).map_err(wharf_control_plane::Error::from)?,
        None => Database::Sqlite(data.clone()),
    };
    let synchronous = match args.sqlite_synchronous.as_str() {
        "normal" => wharf_control_plane::store::Synchronous::Normal,
        _ => wharf_control_plane::store::Synchronous::Full,
    };
    let options = ServeOptions {
        listen: args.listen,
        store: wharf_control_plane::store::StoreOptions { synchronous },
        database,
        blob_dir: data.join("registry"),
        blob_store: args
            .blob_store
            .map(|url| wharf_control_plane::registry::ObjectStoreOptions {
                url,
                endpoint: args.blob_store_endpoint,
            }),
        project_file: args.config,
        admin,
        ephemeral_admin: None,
        secrets: wharf_control_plane::domain::secrets::SecretKeys::from_vars(|v| {
            std::env::var(v).ok()
        })
        .map_err(|e| registration::Error::Usage(e.to_string()))?,
        listener: ListenerOptions {
            tls: args
                .tls_cert
                .zip(args.tls_key)
                .map(|(cert, key)| TlsFiles { cert, key }),
            header_timeout: args.header_timeout,
            body_idle_timeout: args.body_timeout,
            max_connections: args.max_connections as usize,
            shutdown_timeout: args.shutdown_timeout,
            registry_hosts: args.registry_host,
        },
        webhooks: wharf_control_plane::WebhookOptions {
            secrets: None,
            worker: webhook_worker()?,
        },
    };
    // Everything this process creates (the store, its WAL, blobs, uploads) is the owner's alone.
    // SAFETY: umask has no preconditions; it only sets the process's file-creation mask.
    unsafe { libc::umask(0o077) };
    let fresh = Fresh::note(&data, matches!(options.database, Database::Sqlite(_)));
    if !stateless {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&data)
            .map_err(|e| registration::Error::Usage(format!("--data {}: {e}", data.display())))?;
        warn_if_open(&data);
    }
    let server = match wharf_control_plane::start(options).await {
        Ok(server) => server,
        Err(error) => {
            if !stateless {
                fresh.undo();
            }
            return Err(error.into());
        }
    };
    // Hooked before the address is announced: a SIGTERM right after it is a graceful stop.
    let mut signals = Signals::hook();
    eprintln!("wharf serve: listening on {}", server.url());
    while let Signal::Reload = signals.next().await {
        match server.reload_tls() {
            Ok(true) => tracing::info!("SIGHUP: TLS certificate and key reloaded"),
            Ok(false) => tracing::info!("SIGHUP: no TLS certificate to reload"),
            Err(error) => tracing::error!(
                %error,
                "SIGHUP: TLS certificate and key not reloaded; the previous pair stays in use"
            ),
        }
    }
    eprintln!("wharf serve: shutting down");
    server.stop().await?;
    eprintln!("wharf serve: stopped");
    Ok(())
}

/// What a first start creates in `--data`, so a failed one can take it back.
struct Fresh {
    data: PathBuf,
    /// The directory did not exist.
    dir: bool,
    /// The directory had no SQLite store (and one is about to be made).
    database: bool,
    /// The directory had no registry folder.
    registry: bool,
}

impl Fresh {
    fn note(data: &Path, sqlite: bool) -> Self {
        Self {
            data: data.to_path_buf(),
            dir: !data.exists(),
            database: sqlite && !data.join(DATABASE_FILES[0]).exists(),
            registry: !data.join("registry").exists(),
        }
    }

    /// Removes what this start created; what was there before stays.
    fn undo(&self) {
        if self.database {
            for file in DATABASE_FILES {
                let _ = std::fs::remove_file(self.data.join(file));
            }
        }
        if self.registry {
            let _ = std::fs::remove_dir_all(self.data.join("registry"));
        }
        if self.dir {
            // Only when empty: nothing else of anyone's is removed.
            let _ = std::fs::remove_dir(&self.data);
        }
    }
}

/// An existing `--data` that others can read is left as it is, with a warning.
fn warn_if_open(data: &Path) {
    if let Ok(meta) = std::fs::metadata(data) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                dir = %data.display(),
                mode = format!("{mode:o}"),
                "the data directory is open to other users; `chmod 700` it"
            );
        }
    }
}

enum Signal {
    Stop,
    Reload,
}

/// SIGTERM and SIGINT (stop) and SIGHUP (reload), hooked when made.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn hook() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Self {
            term: signal(SignalKind::terminate()).expect("SIGTERM handler"),
            int: signal(SignalKind::interrupt()).expect("SIGINT handler"),
            hup: signal(SignalKind::hangup()).expect("SIGHUP handler"),
        }
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Stop,
            _ = self.int.recv() => Signal::Stop,
            _ = self.hup.recv() => Signal::Reload,
        }
    }
}

/// The webhook worker's schedule unit and receiver timeout: one second and 15 s, unless
/// `WHARF_WEBHOOK_RETRY_UNIT_MS` and `WHARF_WEBHOOK_TIMEOUT_MS` shorten them (a drill, a test).
fn webhook_worker() -> CliResult<wharf_control_plane::webhooks::WorkerOptions> {
    let mut options = wharf_control_plane::webhooks::WorkerOptions::default();
    if let Some(ms) = millis("WHARF_WEBHOOK_RETRY_UNIT_MS")? {
        options.second = ms;
    }
    if let Some(ms) = millis("WHARF_WEBHOOK_TIMEOUT_MS")? {
        options.timeout = ms;
    }
    Ok(options)
}

fn millis(variable: &str) -> CliResult<Option<std::time::Duration>> {
    let Ok(text) = std::env::var(variable) else {
        return Ok(None);
    };
    let ms: u64 = text.trim().parse().map_err(|_| {
        registration::Error::Usage(format!(
            "{variable} must be a whole number of milliseconds, got {:?}",
            registration::printable(&text)
        ))
    })?;
    Ok(Some(std::time::Duration::from_millis(ms.max(1))))
}

#[cfg(test)]
mod tests {
    use crate::args::duration;
    use std::time::Duration;

    #[test]
    fn durations_read_with_their_units() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(duration("0s").is_err());
        assert!(duration("s").is_err());
        assert!(duration("-1s").is_err());
    }
}
