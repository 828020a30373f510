//! Every CI fixture case through the real binary: `wharf ci-context --output json` with the
//! case's environment and nothing else, and, where no ref can be known, `wharf register`'s
//! usage error (exit 2) before any request is sent.

#[path = "../crates/ci/tests/support/mod.rs"]
mod fixture_cases;

use std::process::Command;

fn wharf(env: &std::collections::BTreeMap<String, String>, dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .current_dir(dir);
    command
}

#[test]
fn every_fixture_case_through_wharf_ci_context() {
    let cases = fixture_cases::load_all();
    assert!(cases.len() >= 40);
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        let env = fixture_cases::environment(&case, dir.path());
        let sha = fixture_cases::make_checkout(&case, dir.path());
        let output = wharf(&env, dir.path())
            .args(["ci-context", "--output", "json"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&output.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        fixture_cases::check(&case, &json, sha.as_deref());

        if let Some(needle) = fixture_cases::expected_error(&case) {
            let output = wharf(&env, dir.path())
                .env("WHARF_CONTROL_PLANE_URL", "http://127.0.0.1:9")
                .env("WHARF_USERNAME", "u")
                .env("WHARF_TOKEN", "t")
                .args([
                    "register",
                    "--project",
                    "shop",
                    "--service",
                    "api",
                    "--image",
                    "r/a:1",
                ])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{}: {stderr}", case.name);
            assert!(stderr.contains(needle), "{}: {stderr}", case.name);
        }
    }
}
