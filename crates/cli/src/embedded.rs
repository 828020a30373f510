//! The embedded default: outside CI with no control plane configured, run the reference
//! control plane in-process on a loopback port over `.wharf/`, with `wharf.toml` applied, and
//! talk to it over HTTP like any other.

use rand::RngCore;
use std::path::Path;
use wharf_client::Secret;
use wharf_control_plane::{Result, RunningServer, ServeOptions};

pub const DATA_DIR: &str = ".wharf";
pub const PROJECT_FILE: &str = "wharf.toml";
const USERNAME: &str = "wharf-local";

pub struct Embedded {
    pub server: RunningServer,
    pub username: String,
    pub token: Secret,
}

/// Starts it in `dir`; the credential lives only in this process's memory.
pub async fn start(dir: &Path, project_file: Option<&Path>) -> Result<Embedded> {
    let token = random_token();
    let default_file = dir.join(PROJECT_FILE);
    let project_file = project_file
        .map(Path::to_path_buf)
        .or_else(|| default_file.is_file().then_some(default_file));
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().expect("loopback address"),
        database: wharf_control_plane::Database::Sqlite(dir.join(DATA_DIR)),
        blob_dir: dir.join(DATA_DIR).join("registry"),
        blob_store: None,
        project_file,
        admin: None,
        ephemeral_admin: Some((USERNAME.to_string(), token.expose().to_string())),
        listener: Default::default(),
        secrets: None,
        webhooks: Default::default(),
        store: Default::default(),
    };
    let server = wharf_control_plane::start(options).await?;
    tracing::info!(url = %server.url(), "embedded control plane started over .wharf/");
    Ok(Embedded {
        server,
        username: USERNAME.to_string(),
        token,
    })
}

fn random_token() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}
