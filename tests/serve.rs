//! `wharf serve` as a process: start-up, first-start admin, graceful shutdown on SIGTERM and
//! SIGINT, and data that survives a restart.

use crate::support;

use std::process::{Command, Stdio};
use support::{ADMIN, Served, TOKEN, register, run, shop_file, wharf};

fn serve_command(data: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Starts `wharf serve` as the test admin over `data` (and the shop example when `config`).
fn serve(data: &std::path::Path, config: bool) -> Served {
    let mut command = serve_command(data);
    command
        .env("WHARF_ADMIN_USERNAME", ADMIN)
        .env("WHARF_ADMIN_TOKEN", TOKEN);
    if config {
        command.arg("--config").arg(shop_file());
    }
    Served::launch(command)
}

#[test]
fn sigterm_stops_gracefully_and_every_acknowledged_write_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(data.path(), true);
    for i in 0..20 {
        let image = format!("r/shop/api:{i}");
        let outcome = register(
            &served.url,
            dir.path(),
            &image,
            &["--git-ref", "main", "--external-id", &i.to_string()],
        );
        assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    }
    served.signal(libc::SIGTERM);
    let status = served.wait();
    assert_eq!(status.code(), Some(0), "graceful exit");

    let mut again = serve(data.path(), false);
    let mut builds = wharf(&again.url, dir.path());
    builds.args([
        "builds",
        "--project",
        "shop",
        "--service",
        "api",
        "--limit",
        "100",
        "--output",
        "json",
    ]);
    let listed = run(&mut builds).json();
    assert_eq!(listed.as_array().unwrap().len(), 20);
    again.signal(libc::SIGINT);
    assert_eq!(again.wait().code(), Some(0));
}

#[test]
fn the_first_start_needs_an_admin_and_a_real_token() {
    let data = tempfile::tempdir().unwrap();
    let output = serve_command(data.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("WHARF_ADMIN_USERNAME") && stderr.contains("WHARF_ADMIN_TOKEN"),
        "{stderr}"
    );

    let output = serve_command(data.path())
        .env("WHARF_ADMIN_USERNAME", "admin")
        .env("WHARF_ADMIN_TOKEN", "short")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("too short") && !stderr.contains("short\n"),
        "{stderr}"
    );
}

#[test]
fn a_broken_project_file_stops_the_start_with_the_key_named() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("wharf.toml");
    std::fs::write(&file, "[project]\nname = \"shop\"\nregistration_type = \"ENVIRONMENT\"\n[[environments]]\nname = \"dev\"\nrelease_stream = \"QAA\"\n").unwrap();
    let output = serve_command(data.path())
        .env("WHARF_ADMIN_USERNAME", ADMIN)
        .env("WHARF_ADMIN_TOKEN", TOKEN)
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("environments[0].release_stream 'QAA'"),
        "{stderr}"
    );

    std::fs::write(
        &file,
        "[project]\nname = \"shop\"\nregistration_typo = \"ENVIRONMENT\"\n",
    )
    .unwrap();
    let output = serve_command(data.path())
        .env("WHARF_ADMIN_USERNAME", ADMIN)
        .env("WHARF_ADMIN_TOKEN", TOKEN)
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("registration_typo"), "{stderr}");
}
