//! The `docker-daemon:NAME` source: the Docker Engine's image export (`GET /images/{name}/get`)
//! over its Unix socket, saved as the archive `docker save` writes, then read like one.

use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The daemon's socket: `DOCKER_HOST=unix:///…` when set, else `/var/run/docker.sock`.
pub fn daemon_socket(docker_host: Option<&str>) -> Result<PathBuf, String> {
    match docker_host.map(str::trim).filter(|h| !h.is_empty()) {
        None => Ok(PathBuf::from("/var/run/docker.sock")),
        Some(host) => host
            .strip_prefix("unix://")
            .map(PathBuf::from)
            .ok_or_else(|| format!("DOCKER_HOST '{host}' is not a unix:// socket; docker-daemon: reads images over the local socket only")),
    }
}

/// Asks the daemon at `socket` to export `name` and writes the archive to `target`.
pub async fn export_image(socket: &Path, name: &str, target: &Path) -> Result<(), String> {
    let stream = tokio::net::UnixStream::connect(socket).await.map_err(|e| {
        format!(
            "cannot reach the Docker daemon at {}: {e}",
            socket.display()
        )
    })?;
    let mut stream = BufReader::new(stream);
    // HTTP/1.0: the daemon answers with a plain body that ends when it closes the connection.
    let request = format!(
        "GET /images/{}/get HTTP/1.0\r\nHost: docker\r\n\r\n",
        wharf_http::encode(name)
    );
    stream
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("Docker daemon: {e}"))?;
    let mut status = String::new();
    stream
        .read_line(&mut status)
        .await
        .map_err(|e| format!("Docker daemon: {e}"))?;
    let code = status
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    loop {
        let mut line = String::new();
        let read = stream
            .read_line(&mut line)
            .await
            .map_err(|e| format!("Docker daemon: {e}"))?;
        if read == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    if code != "200" {
        let mut body = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut body).await;
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(String::from))
            .unwrap_or_else(|| body.trim().to_string());
        return Err(format!(
            "the Docker daemon cannot export '{name}' (HTTP {code}): {message}"
        ));
    }
    let mut file = tokio::fs::File::create(target)
        .await
        .map_err(|e| format!("{}: {e}", target.display()))?;
    tokio::io::copy(&mut stream, &mut file)
        .await
        .map_err(|e| format!("reading the export: {e}"))?;
    file.flush().await.map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_comes_from_docker_host_or_the_default() {
        assert_eq!(
            daemon_socket(None).unwrap(),
            PathBuf::from("/var/run/docker.sock")
        );
        assert_eq!(
            daemon_socket(Some("unix:///run/user/1000/docker.sock")).unwrap(),
            PathBuf::from("/run/user/1000/docker.sock")
        );
        assert!(
            daemon_socket(Some("tcp://10.0.0.1:2375"))
                .unwrap_err()
                .contains("unix://")
        );
    }
}
