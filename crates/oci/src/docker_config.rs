//! Registry credentials from the Docker client's `config.json`: `credHelpers` for the host,
//! then `auths`, then `credsStore`, as the Docker CLI looks them up. Helpers are run as
//! `docker-credential-<name> get` with the server on stdin.

use crate::client::Credentials;
use base64::Engine;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where `config.json` lives: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn config_path(docker_config: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    match (docker_config, home) {
        (Some(dir), _) if !dir.is_empty() => Some(PathBuf::from(dir).join("config.json")),
        (_, Some(home)) if !home.is_empty() => {
            Some(PathBuf::from(home).join(".docker/config.json"))
        }
        _ => None,
    }
}

/// The keys `auths` may use for `host`: the host itself, with a scheme, and Docker Hub's
/// historical index URL.
fn auth_keys(host: &str) -> Vec<String> {
    let mut keys = vec![
        host.to_string(),
        format!("https://{host}"),
        format!("http://{host}"),
    ];
    if host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io" {
        keys.push("https://index.docker.io/v1/".into());
    }
    keys
}

/// Credentials for `host` from the config at `path`, if it has any. Errors name the file or
/// helper, never a secret.
pub fn credentials_for(path: &std::path::Path, host: &str) -> Result<Option<Credentials>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let config: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    if let Some(helper) = config["credHelpers"][host].as_str() {
        return run_helper(helper, host).map(Some);
    }
    for key in auth_keys(host) {
        let entry = &config["auths"][key.as_str()];
        if let Some(auth) = entry["auth"].as_str().filter(|a| !a.is_empty()) {
            return decode_auth(auth)
                .map(Some)
                .map_err(|e| format!("{}: auths.{key}.auth {e}", path.display()));
        }
        if let (Some(username), Some(password)) =
            (entry["username"].as_str(), entry["password"].as_str())
        {
            return Ok(Some(Credentials {
                username: username.into(),
                password: password.into(),
            }));
        }
    }
    match config["credsStore"].as_str() {
        Some(store) => run_helper(store, host).map(Some),
        None => Ok(None),
    }
}

fn decode_auth(auth: &str) -> Result<Credentials, String> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| "is not base64".to_string())?;
    let text = String::from_utf8(decoded).map_err(|_| "is not UTF-8".to_string())?;
    let (username, password) = text.split_once(':').ok_or("is not user:password")?;
    Ok(Credentials {
        username: username.into(),
        password: password.into(),
    })
}

fn run_helper(helper: &str, host: &str) -> Result<Credentials, String> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {program} (from the Docker config): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{program} has no credentials for {host}"));
    }
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|_| format!("{program} answered something that is not JSON"))?;
    match (answer["Username"].as_str(), answer["Secret"].as_str()) {
        (Some(username), Some(secret)) => Ok(Credentials {
            username: username.into(),
            password: secret.into(),
        }),
        _ => Err(format!("{program} answered without Username and Secret")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, config: &str) -> PathBuf {
        let path = dir.join("config.json");
        std::fs::write(&path, config).unwrap();
        path
    }

    #[test]
    fn auths_by_host_scheme_and_docker_hub_index() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
        let path = write(
            dir.path(),
            &format!(
                r#"{{"auths": {{"ghcr.io": {{"auth": "{auth}"}}, "https://index.docker.io/v1/": {{"auth": "{auth}"}},
                "https://quay.io": {{"username": "q", "password": "p"}}}}}}"#
            ),
        );
        assert_eq!(
            credentials_for(&path, "ghcr.io").unwrap().unwrap().username,
            "ci"
        );
        assert_eq!(
            credentials_for(&path, "docker.io")
                .unwrap()
                .unwrap()
                .password,
            "s3cret"
        );
        assert_eq!(
            credentials_for(&path, "quay.io").unwrap().unwrap().username,
            "q"
        );
        assert_eq!(credentials_for(&path, "example.com").unwrap(), None);
        assert_eq!(
            credentials_for(&dir.path().join("missing.json"), "ghcr.io").unwrap(),
            None
        );
    }

    #[test]
    fn cred_helpers_run_and_their_failures_never_show_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-wharftest");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread host\nif [ \"$host\" = ecr.example.com ]; then echo '{\"Username\":\"AWS\",\"Secret\":\"tok\"}'; else echo 'half-written {\"Secret\":\"hunter2-leak\"' ; echo 'Secret hunter2-leak' >&2; exit 1; fi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = write(
            dir.path(),
            r#"{"credHelpers": {"ecr.example.com": "wharftest", "other.example.com": "wharftest"}, "credsStore": "missingstore"}"#,
        );
        let old_path = std::env::var("PATH").unwrap_or_default();
        // SAFETY: this test is the only one in this binary that reads or changes PATH.
        unsafe { std::env::set_var("PATH", format!("{}:{old_path}", dir.path().display())) };
        let found = credentials_for(&path, "ecr.example.com").unwrap().unwrap();
        assert_eq!(
            (found.username.as_str(), found.password.as_str()),
            ("AWS", "tok")
        );
        let error = credentials_for(&path, "other.example.com").unwrap_err();
        assert!(error.contains("has no credentials"), "{error}");
        assert!(
            !error.contains("hunter2-leak"),
            "what a failing helper printed never reaches the error: {error}"
        );
        let error = credentials_for(&path, "ghcr.io").unwrap_err();
        assert!(error.contains("docker-credential-missingstore"), "{error}");
        unsafe { std::env::set_var("PATH", old_path) };
    }
}
