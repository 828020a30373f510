//! Registry passwords at rest, through the real `wharf serve`: sealed in the database, refused
//! without a key (with how to make one), resealed on a key rotation, legacy clear-text rows
//! sealed on start, a value under an unknown key a clear error naming the registry, and the
//! password never in the server's log.

use crate::support;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use support::client::Api;
use support::{ADMIN, Served, TOKEN, shop_file, store_args};

/// Distinctive, so a leak into the database file or the log is easy to find.
const PASSWORD: &str = "regpw-SECRET-9c41e7b2";

fn key_text(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

/// The id a key's values are sealed under (the first four bytes of its SHA-256, in hex, as the
/// control plane's unit tests check).
fn key_id(byte: u8) -> String {
    wharf_control_plane::domain::secrets::SecretKey::from_bytes([byte; 32])
        .id()
        .to_string()
}

/// One server's data: the SQLite directory, or a fresh PostgreSQL database when the tests run
/// there, kept across restarts.
struct Data {
    dir: tempfile::TempDir,
    args: Vec<OsString>,
    runtime: tokio::runtime::Runtime,
}

impl Data {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let args = store_args(&runtime, dir.path());
        Self { dir, args, runtime }
    }

    fn postgres(&self) -> Option<&str> {
        let at = self.args.iter().position(|a| a == "--database")?;
        self.args[at + 1].to_str()
    }

    /// `wharf serve` over this data with the shop example and `env` (the secret-key variables).
    fn serve(&self, env: &[(&str, &str)]) -> Served {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wharf"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("WHARF_ADMIN_USERNAME", ADMIN)
            .env("WHARF_ADMIN_TOKEN", TOKEN)
            .env("WHARF_LOG", "debug")
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(shop_file())
            .args(&self.args)
            .envs(env.iter().copied());
        Served::launch(command)
    }

    /// One SQL statement straight on the database (not through the API under test); answers
    /// the first column of each row.
    fn sql(&self, statement: &str) -> Vec<String> {
        use sqlx::Connection;
        self.runtime.block_on(async {
            let text = || sqlx::AssertSqlSafe(statement.to_string());
            match self.postgres() {
                Some(url) => {
                    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
                    let query = sqlx::query_scalar::<_, String>(text());
                    let rows = query.fetch_all(&mut db).await.unwrap();
                    db.close().await.unwrap();
                    rows
                }
                None => {
                    let url = format!("sqlite://{}", self.dir.path().join("wharf.db").display());
                    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
                    let query = sqlx::query_scalar::<_, String>(text());
                    let rows = query.fetch_all(&mut db).await.unwrap();
                    db.close().await.unwrap();
                    rows
                }
            }
        })
    }

    fn stored_password(&self, registry: &str) -> String {
        let rows = self.sql(&format!(
            "SELECT password FROM artifactories WHERE name = '{registry}'"
        ));
        rows.into_iter().next().expect("the registry is stored")
    }

    /// Every byte of every file of the data directory (SQLite's database, WAL and all).
    fn files_contain(&self, needle: &str) -> bool {
        fn walk(dir: &Path, needle: &[u8]) -> bool {
            std::fs::read_dir(dir).unwrap().any(|entry| {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    return walk(&path, needle);
                }
                let bytes = std::fs::read(&path).unwrap_or_default();
                bytes.windows(needle.len()).any(|w| w == needle)
            })
        }
        walk(self.dir.path(), needle.as_bytes())
    }
}

/// Stops `served` with SIGTERM; answers its whole log, checked free of the password.
fn stop(mut served: Served) -> Vec<String> {
    served.signal(libc::SIGTERM);
    let (status, log) = served.wait_with_log();
    assert_eq!(status.code(), Some(0), "{log:#?}");
    let leaked: Vec<_> = log.iter().filter(|l| l.contains(PASSWORD)).collect();
    assert!(
        leaked.is_empty(),
        "the password in the server log: {leaked:?}"
    );
    log
}

fn block<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn add_registry(served: &Served, name: &str, password: &str) -> (StatusCode, Value) {
    let api = Api::new(served.url.clone());
    block(api.post(
        "/cc-ui/v1/artifactories/others",
        json!({"name": name, "uri": "mirror.example.com:5000/team",
               "username": "robot", "password": password}),
    ))
}

fn push_credentials(served: &Served, registry: &str) -> (StatusCode, Value) {
    let api = Api::new(served.url.clone());
    block(api.post(
        "/cc-ui/v1/ci-cd/pushCredentials",
        json!({"blueprintName": "shop", "artifactory": registry, "applicationName": "api"}),
    ))
}

fn audit(served: &Served, action: &str) -> Vec<Value> {
    let api = Api::new(served.url.clone());
    let (status, page) = block(api.get(&format!(
        "/wharf/v1/audit-logs?start=2000-01-01T00:00:00Z&entityAction={action}"
    )));
    assert_eq!(status, StatusCode::OK, "{page}");
    page["content"].as_array().unwrap().clone()
}

#[test]
fn a_password_added_through_the_api_is_sealed_in_the_database_and_handed_out_opened() {
    let data = Data::new();
    let key_file = data.dir.path().join("secret.key");
    std::fs::write(&key_file, format!("{}\n", key_text(1))).unwrap();
    let served = data.serve(&[("WHARF_SECRET_KEY_FILE", key_file.to_str().unwrap())]);

    let (status, added) = add_registry(&served, "mirror", PASSWORD);
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert!(!added.to_string().contains(PASSWORD), "{added}");

    let stored = data.stored_password("mirror");
    assert!(
        stored.starts_with(&format!("v1:{}:", key_id(1))),
        "{stored}"
    );
    assert!(!stored.contains(PASSWORD));
    assert!(
        !data.files_contain(PASSWORD),
        "the password is in the data directory in clear text"
    );

    let (status, credentials) = push_credentials(&served, "mirror");
    assert_eq!(status, StatusCode::OK, "{credentials}");
    assert_eq!(credentials["password"], PASSWORD);
    assert_eq!(credentials["username"], "robot");
    stop(served);
    assert!(!data.files_contain(PASSWORD), "nor after the checkpoint");
}

#[test]
fn without_a_key_a_password_is_refused_with_how_to_make_one() {
    let data = Data::new();
    let served = data.serve(&[]);
    let (status, error) = add_registry(&served, "mirror", PASSWORD);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let message = error["message"].as_str().unwrap();
    for needle in [
        "`password`",
        "openssl rand -base64 32 > key",
        "WHARF_SECRET_KEY_FILE=key",
    ] {
        assert!(message.contains(needle), "{needle} not in: {message}");
    }
    assert!(!message.contains(PASSWORD));
    assert!(data.sql("SELECT name FROM artifactories").is_empty());

    // An anonymous registry has nothing to protect.
    let api = Api::new(served.url.clone());
    let (status, added) = block(api.post(
        "/cc-ui/v1/artifactories/others",
        json!({"name": "open", "uri": "open.example.com"}),
    ));
    assert_eq!(status, StatusCode::CREATED, "{added}");
    stop(served);
}

#[test]
fn a_key_that_is_not_one_stops_the_start_naming_the_variable_not_the_value() {
    let data = Data::new();
    for (var, value) in [
        ("WHARF_SECRET_KEY", "too-short-VALUE-3b1f"),
        ("WHARF_SECRET_KEY_PREVIOUS", "too-short-VALUE-3b1f"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .env_clear()
            .env("WHARF_ADMIN_USERNAME", ADMIN)
            .env("WHARF_ADMIN_TOKEN", TOKEN)
            .env("WHARF_SECRET_KEY", key_text(1))
            .env(var, value)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(&data.args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(var), "{stderr}");
        assert!(!stderr.contains(value), "the key in the error: {stderr}");
    }
}

#[test]
fn a_rotation_reseals_every_password_under_the_new_key_and_credentials_still_answer() {
    let data = Data::new();
    let (old, new, unknown) = (key_text(1), key_text(2), key_text(3));
    let served = data.serve(&[("WHARF_SECRET_KEY", &old)]);
    assert_eq!(
        add_registry(&served, "mirror", PASSWORD).0,
        StatusCode::CREATED
    );
    assert_eq!(
        add_registry(&served, "second", "other-SECRET-5e").0,
        StatusCode::CREATED
    );
    stop(served);
    let before = data.stored_password("mirror");
    assert!(before.starts_with(&format!("v1:{}:", key_id(1))));

    // The new key, with the old one as the previous: resealed on start.
    let served = data.serve(&[
        ("WHARF_SECRET_KEY", &new),
        ("WHARF_SECRET_KEY_PREVIOUS", &old),
    ]);
    for registry in ["mirror", "second"] {
        let stored = data.stored_password(registry);
        assert!(
            stored.starts_with(&format!("v1:{}:", key_id(2))),
            "{stored}"
        );
    }
    let (status, credentials) = push_credentials(&served, "mirror");
    assert_eq!(status, StatusCode::OK, "{credentials}");
    assert_eq!(credentials["password"], PASSWORD);
    let rotations = audit(&served, "SECRET_KEY_ROTATE");
    assert_eq!(rotations.len(), 1, "{rotations:?}");
    assert_eq!(rotations[0]["metadata"]["count"], 2);
    assert_eq!(rotations[0]["metadata"]["previousKeyId"], key_id(1));
    assert_eq!(rotations[0]["target"], key_id(2));
    assert!(!Value::Array(rotations).to_string().contains(PASSWORD));
    let log = stop(served);
    assert!(
        log.iter()
            .any(|l| l.contains("sealed again") && l.contains('2')),
        "{log:#?}"
    );

    // The previous key is no longer needed; nothing more is rotated.
    let served = data.serve(&[("WHARF_SECRET_KEY", &new)]);
    assert_eq!(push_credentials(&served, "mirror").1["password"], PASSWORD);
    assert_eq!(audit(&served, "SECRET_KEY_ROTATE").len(), 1);
    stop(served);

    // A key that sealed none of them: a clear error at use, naming the registry and the key.
    let served = data.serve(&[("WHARF_SECRET_KEY", &unknown)]);
    let (status, error) = push_credentials(&served, "mirror");
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("'mirror'") && message.contains(&key_id(2)),
        "{message}"
    );
    assert!(message.contains("WHARF_SECRET_KEY_PREVIOUS"), "{message}");
    assert!(!message.contains(PASSWORD));
    let log = stop(served);
    assert!(
        log.iter()
            .any(|l| l.contains("mirror") && l.contains("does not open")),
        "{log:#?}"
    );
    assert!(
        data.stored_password("mirror")
            .starts_with(&format!("v1:{}:", key_id(2)))
    );
}

#[test]
fn passwords_stored_in_clear_before_encryption_are_sealed_on_the_first_start_with_a_key() {
    let data = Data::new();
    let served = data.serve(&[("WHARF_SECRET_KEY", &key_text(1))]);
    assert_eq!(
        add_registry(&served, "mirror", PASSWORD).0,
        StatusCode::CREATED
    );
    stop(served);
    // As migration 0009 leaves a password stored before it.
    data.sql(&format!(
        "UPDATE artifactories SET password = 'plain:{PASSWORD}' RETURNING name"
    ));

    // Without a key: still served, and a warning says how to protect it.
    let served = data.serve(&[]);
    assert_eq!(push_credentials(&served, "mirror").1["password"], PASSWORD);
    let log = stop(served);
    assert!(
        log.iter()
            .any(|l| l.contains("WARN") && l.contains("clear text") && l.contains("openssl")),
        "{log:#?}"
    );

    let served = data.serve(&[("WHARF_SECRET_KEY", &key_text(4))]);
    let stored = data.stored_password("mirror");
    assert!(
        stored.starts_with(&format!("v1:{}:", key_id(4))),
        "{stored}"
    );
    assert_eq!(push_credentials(&served, "mirror").1["password"], PASSWORD);
    let sealed = audit(&served, "SECRET_KEY_ENCRYPT_PLAINTEXT");
    assert_eq!(sealed.len(), 1, "{sealed:?}");
    assert_eq!(sealed[0]["metadata"]["count"], 1);
    stop(served);
}
