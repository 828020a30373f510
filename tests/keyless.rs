//! Keyless CI login end to end: a local OIDC issuer on loopback (discovery and JWKS, its keys
//! rotated mid-test) signs identity tokens shaped like each CI's documented claims; the real
//! `wharf` binary, with no `WHARF_TOKEN`, gets each CI's token the way it would in that CI
//! (GitHub's request URL served here; GitLab's and CircleCI's variables; Buildkite's agent
//! replaced by a fake `buildkite-agent` script on PATH, a test double), trades it at
//! `POST /wharf/v1/oidc/token` and registers. Then every refusal the issue lists, each with the
//! check it names, and what a keyless token may not do.
//!
//! RSA keys are test-only fixtures (`tests/fixtures/oidc/`); ECDSA keys are made at run time.

use crate::support::client::Api;
use crate::support::oidc::{
    GITHUB_REQUEST_TOKEN, Issuer, b64, ec_key, fixture, github_claims, now, sign, unique,
};
use crate::support::{self, TestServer, run};
use axum::http::StatusCode;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

const CIRCLE_ORG: &str = "0c8f6a1e-3b7d-4b52-9a51-2d5e9f0b7c11";
const CIRCLE_PROJECT: &str = "9a6c1f0e-7d3b-4e8a-b2f1-5c4d3e2a1b00";

/// GitLab's claims (docs.gitlab.com, "OpenID Connect (OIDC) Authentication Using ID Tokens").
fn gitlab_claims(issuer: &str) -> Value {
    let t = now();
    json!({
        "namespace_id": "72",
        "namespace_path": "acme",
        "project_id": "20",
        "project_path": "acme/shop",
        "user_id": "5",
        "user_login": "dev",
        "user_email": "dev@example.com",
        "user_access_level": "developer",
        "pipeline_id": "574",
        "pipeline_source": "push",
        "job_id": "302",
        "ref": "main",
        "ref_type": "branch",
        "ref_path": "refs/heads/main",
        "ref_protected": "true",
        "runner_id": 2,
        "runner_environment": "gitlab-hosted",
        "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "project_visibility": "private",
        "ci_config_ref_uri": "gitlab.example.com/acme/shop//.gitlab-ci.yml@refs/heads/main",
        "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "jti": format!("gl-{}", unique()),
        "iss": issuer,
        "iat": t - 5,
        "nbf": t - 5,
        "exp": t + 300,
        "sub": "project_path:acme/shop:ref_type:branch:ref:main",
        "aud": "wharf",
    })
}

/// CircleCI's `CIRCLE_OIDC_TOKEN_V2` claims (circleci.com/docs/openid-connect-tokens): the
/// audience is the organization id, and there is no `jti`.
fn circleci_claims(issuer: &str) -> Value {
    let t = now();
    json!({
        "iss": issuer,
        "sub": format!("org/{CIRCLE_ORG}/project/{CIRCLE_PROJECT}/user/2f6b0a4e-1c3d-4b5a-8e9f-0a1b2c3d4e5f/vcs-origin/github.com/acme/shop/vcs-ref/refs/heads/main"),
        "aud": CIRCLE_ORG,
        "iat": t - 5,
        "exp": t + 3600,
        "oidc.circleci.com/project-id": CIRCLE_PROJECT,
        "oidc.circleci.com/context-ids": ["7d1e0f2a-5b3c-4d6e-8f9a-0b1c2d3e4f5a"],
        "oidc.circleci.com/vcs-origin": "github.com/acme/shop",
        "oidc.circleci.com/vcs-ref": "refs/heads/main",
        "oidc.circleci.com/ssh-rerun": false,
        "oidc.circleci.com/org-id": CIRCLE_ORG,
        "oidc.circleci.com/pipeline-id": format!("pl-{}", unique()),
        "oidc.circleci.com/pipeline-definition-id": "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8",
    })
}

/// Buildkite's claims (buildkite.com/docs/agent/v3/cli-oidc).
fn buildkite_claims(issuer: &str, audience: &str) -> Value {
    let t = now();
    json!({
        "iss": issuer,
        "sub": "organization:acme:pipeline:shop:ref:refs/heads/main:commit:9f3182061f1e2cca4702c368cbc039b7dc9d4485:step:build",
        "aud": audience,
        "iat": t - 5,
        "nbf": t - 5,
        "exp": t + 300,
        "jti": format!("bk-{}", unique()),
        "organization_slug": "acme",
        "pipeline_slug": "shop",
        "build_number": 5,
        "build_branch": "main",
        "build_tag": null,
        "build_commit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485",
        "step_key": "build",
        "job_id": "0184990a-477b-4fa8-9968-496074483cee",
        "agent_id": "0184990a-4782-42b5-afc1-16715b10b8ff",
        "build_source": "ui",
        "runner_environment": "buildkite-hosted",
        "organization_id": "0184990a-0000-4000-8000-000000000001",
        "pipeline_id": "0184990a-0000-4000-8000-000000000002",
    })
}

/// The shop example with a trust policy per CI, all on the loopback issuer.
fn shop_with_trust(issuer: &Issuer, dir: &Path) -> PathBuf {
    let shop = std::fs::read_to_string(support::shop_file()).unwrap();
    let trust = format!(
        r#"
[[trust]]
name = "github"
issuer = "{github}"
role = "ci"
[trust.claims]
repository = "acme/shop"
ref = "refs/heads/*"

[[trust]]
name = "gitlab"
issuer = "{gitlab}"
role = "ci"
[trust.claims]
project_path = "acme/shop"
ref_protected = true

[[trust]]
name = "circleci"
issuer = "{circleci}"
audience = "{CIRCLE_ORG}"
role = "ci"
[trust.claims]
"oidc.circleci.com/project-id" = "{CIRCLE_PROJECT}"
"oidc.circleci.com/vcs-ref" = "refs/heads/*"

[[trust]]
name = "buildkite"
issuer = "{buildkite}"
role = "ci"
[trust.claims]
organization_slug = "acme"
pipeline_slug = "shop"
build_branch = "main"
"#,
        github = issuer.url("github"),
        gitlab = issuer.url("gitlab"),
        circleci = issuer.url(&format!("circleci/org/{CIRCLE_ORG}")),
        buildkite = issuer.url("buildkite"),
    );
    let path = dir.join("wharf.toml");
    std::fs::write(&path, format!("{shop}{trust}")).unwrap();
    path
}

/// The project `other`, whose one policy trusts GitHub's `acme/other`.
fn other_project(issuer: &Issuer) -> Value {
    json!({
        "project": {"name": "other", "registration_type": "ENVIRONMENT"},
        "environments": [{"name": "dev", "release_stream": "QA"}],
        "ci": [{"name": "api"}],
        "trust": [{"name": "github", "issuer": issuer.url("github"), "role": "ci",
            "claims": {"repository": "acme/other"}}],
    })
}

/// The real binary in a CI job: nothing but PATH, HOME and the control plane, no token.
fn keyless_wharf(url: &str, dir: &Path, path: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("WHARF_CONTROL_PLANE_URL", url)
        .env("WHARF_RETRY_BASE_MS", "5")
        .current_dir(dir);
    command
}

fn system_path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// Registers `image` keyless and checks no secret reached any output.
fn register_keyless(mut command: Command, image: &str, secrets: &[&str]) -> Value {
    command.args([
        "register",
        "--project",
        "shop",
        "--service",
        "api",
        "--image",
        image,
        "--git-ref",
        "main",
        "--output",
        "json",
    ]);
    let done = run(&mut command);
    assert_eq!(
        done.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        done.stdout, done.stderr
    );
    for secret in secrets {
        assert!(!done.stdout.contains(secret) && !done.stderr.contains(secret));
    }
    assert!(
        !done.stdout.contains("wharf_") && !done.stderr.contains("wharf_"),
        "an exchanged token leaked:\n{}\n{}",
        done.stdout,
        done.stderr
    );
    done.json()
}

/// A fake `buildkite-agent` (a test double for the real agent): it answers
/// `oidc request-token --audience wharf` with the token in `token_file`, anything else with
/// an error.
fn fake_buildkite_agent(dir: &Path, token_file: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("buildkite-agent");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             if [ \"$1 $2 $3 $4\" = \"oidc request-token --audience wharf\" ] && [ $# -eq 4 ]; then\n\
             \x20 cat '{}'\n\
             else\n\
             \x20 echo \"fatal: unexpected arguments: $*\" >&2; exit 1\n\
             fi\n",
            token_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn each_ci_logs_in_keyless_and_registers_across_a_key_rotation() {
    let issuer_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = Issuer::start(&issuer_runtime);
    let files = tempfile::tempdir().unwrap();
    let server = TestServer::with_file(Some(shop_with_trust(&issuer, files.path())));
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();

    // GitHub Actions: wharf asks the request URL (with the request token) for a token.
    let github = |run_id: &str, image: &str| {
        let mut command = keyless_wharf(&url, dir.path(), &system_path());
        command
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_RUN_ID", run_id)
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                format!("{}/github/token-request?api-version=2.0", issuer.base),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", GITHUB_REQUEST_TOKEN);
        let out = register_keyless(command, image, &[GITHUB_REQUEST_TOKEN]);
        assert_eq!(out["routedTo"], "dev", "{out}");
    };
    github("1001", "registry.example.com/shop/api:gh1");
    assert_eq!(
        issuer.fetches(),
        1,
        "discovery and keys fetched for the first token"
    );

    // GitLab: the token from the job's id_tokens: variable.
    let gitlab_token = issuer.sign_rsa(&gitlab_claims(&issuer.url("gitlab")));
    let mut gitlab = keyless_wharf(&url, dir.path(), &system_path());
    gitlab
        .env("GITLAB_CI", "true")
        .env("CI_PIPELINE_ID", "574")
        .env("WHARF_ID_TOKEN", &gitlab_token);
    let out = register_keyless(gitlab, "registry.example.com/shop/api:gl", &[&gitlab_token]);
    assert_eq!(out["routedTo"], "dev", "{out}");
    assert_eq!(issuer.fetches(), 2, "another issuer, its keys fetched once");

    github("1002", "registry.example.com/shop/api:gh2");
    assert_eq!(
        issuer.fetches(),
        2,
        "cached keys served GitHub's second token"
    );

    // The issuer rotates its keys: tokens now carry key ids the server has not seen.
    issuer.rotate();
    github("1003", "registry.example.com/shop/api:gh3");
    assert_eq!(
        issuer.fetches(),
        3,
        "an unknown key id fetched the keys again"
    );

    // CircleCI: CIRCLE_OIDC_TOKEN_V2, signed ES256 with the new key.
    let circle_token = issuer.sign_ec(&circleci_claims(
        &issuer.url(&format!("circleci/org/{CIRCLE_ORG}")),
    ));
    let mut circleci = keyless_wharf(&url, dir.path(), &system_path());
    circleci
        .env("CIRCLECI", "true")
        .env("CIRCLE_WORKFLOW_ID", "wf-1")
        .env("CIRCLE_OIDC_TOKEN_V2", &circle_token);
    let out = register_keyless(
        circleci,
        "registry.example.com/shop/api:cc",
        &[&circle_token],
    );
    assert_eq!(out["routedTo"], "dev", "{out}");

    // Buildkite: the agent prints the token (here a fake agent on PATH).
    let buildkite_token = issuer.sign_rsa(&buildkite_claims(&issuer.url("buildkite"), "wharf"));
    let token_file = dir.path().join("bk-token");
    std::fs::write(&token_file, &buildkite_token).unwrap();
    let bin = fake_buildkite_agent(dir.path(), &token_file);
    let path = format!("{}:{}", bin.display(), system_path());
    let mut buildkite = keyless_wharf(&url, dir.path(), &path);
    buildkite
        .env("BUILDKITE", "true")
        .env("BUILDKITE_BUILD_ID", "bk-build-1");
    let out = register_keyless(
        buildkite,
        "registry.example.com/shop/api:bk",
        &[&buildkite_token],
    );
    assert_eq!(out["routedTo"], "dev", "{out}");

    // Each exchange is audited under the policy's user, naming the policy and the claims that
    // matched, never a token.
    let api = Api::new(url.clone());
    let (status, page) = server.runtime.block_on(api.get(
        "/wharf/v1/audit-logs?start=2000-01-01T00:00:00.000Z&entityAction=OIDC_TOKEN_EXCHANGE&size=50",
    ));
    assert_eq!(status, 200, "{page}");
    let entries = page["content"].as_array().unwrap();
    assert_eq!(entries.len(), 6, "{page}");
    let text = page.to_string();
    for token in [&gitlab_token, &circle_token, &buildkite_token] {
        assert!(!text.contains(token.as_str()));
    }
    assert!(!text.contains("wharf_"), "{text}");
    let by_policy = |policy: &str| {
        entries
            .iter()
            .find(|e| e["metadata"]["policy"] == policy)
            .unwrap_or_else(|| panic!("no entry for {policy}: {page}"))
    };
    let github = by_policy("github");
    assert_eq!(github["performedBy"], "oidc+shop+github");
    assert_eq!(github["stackName"], "shop");
    assert_eq!(github["metadata"]["claims"]["repository"], "acme/shop");
    assert_eq!(github["metadata"]["claims"]["ref"], "refs/heads/main");
    assert_eq!(
        by_policy("gitlab")["metadata"]["claims"]["ref_protected"],
        "true"
    );
    assert_eq!(
        by_policy("circleci")["metadata"]["claims"]["oidc.circleci.com/project-id"],
        CIRCLE_PROJECT
    );
    assert_eq!(
        by_policy("buildkite")["metadata"]["claims"]["pipeline_slug"],
        "shop"
    );

    // The registrations were made by the keyless users.
    let (_, builds) = server
        .runtime
        .block_on(api.get("/cc-ui/v1/artifacts-ci/api/artifacts?stackName=shop&limit=10"));
    let text = builds.to_string();
    for user in [
        "oidc+shop+github",
        "oidc+shop+gitlab",
        "oidc+shop+circleci",
        "oidc+shop+buildkite",
    ] {
        assert!(text.contains(user), "{user} registered nothing: {text}");
    }

    // The policies are listed by the API.
    let (status, listed) = server
        .runtime
        .block_on(api.get("/wharf/v1/projects/shop/trust"));
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 4, "{listed}");
    assert_eq!(listed[2]["audience"], CIRCLE_ORG);
    assert_eq!(listed[0]["username"], "oidc+shop+github");
}

/// An exchange's status and body.
fn exchange(server: &TestServer, project: &str, token: &str) -> (StatusCode, Value) {
    let url = format!("{}/wharf/v1/oidc/token", server.url());
    server.runtime.block_on(async {
        let response = support::http()
            .post(url)
            .json(&json!({"project": project, "token": token}))
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// Refused with 401, the message naming `check`, never the token.
fn refused(server: &TestServer, project: &str, token: &str, check: &str) -> String {
    let (status, body) = exchange(server, project, token);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{check}: {body}");
    let message = body["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.starts_with(&format!("keyless login refused: {check}")),
        "expected the {check} check: {message}"
    );
    assert!(!message.contains(token), "{message}");
    if let Some(signature) = token.rsplit('.').next().filter(|s| s.len() > 8) {
        assert!(!message.contains(signature), "{message}");
    }
    message
}

/// The same JWT with its P-256 signature's `s` replaced by `n - s`: still a valid signature
/// of the same header and claims.
fn flip_ecdsa_s(token: &str) -> String {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap();
    assert_eq!(raw.len(), 64, "r and s");
    let s = &mut raw[32..];
    let mut borrow = 0i16;
    let mut flipped = [0u8; 32];
    for i in (0..32).rev() {
        let mut digit = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        flipped[i] = digit as u8;
    }
    s.copy_from_slice(&flipped);
    format!("{signed}.{}", b64(&raw))
}

fn part(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

#[test]
fn every_refusal_names_its_check() {
    let issuer_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = Issuer::start(&issuer_runtime);
    let files = tempfile::tempdir().unwrap();
    let server = TestServer::with_file(Some(shop_with_trust(&issuer, files.path())));
    let api = Api::new(server.url());
    let (status, body) = server
        .runtime
        .block_on(api.put("/wharf/v1/projects/other", other_project(&issuer)));
    assert_eq!(status, 200, "{body}");
    let gh = issuer.url("github");
    let good = || github_claims(&gh, "wharf", "acme/shop", "refs/heads/main");

    // A good token works once; the same token again is a replay.
    let token = issuer.sign_rsa(&good());
    let (status, answer) = exchange(&server, "shop", &token);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["username"], "oidc+shop+github");
    let message = refused(&server, "shop", &token, "jti");
    assert!(message.contains("single-use"), "{message}");

    // A token without jti is recognised by its hash.
    let mut no_jti = good();
    no_jti.as_object_mut().unwrap().remove("jti");
    let token = issuer.sign_rsa(&no_jti);
    assert_eq!(exchange(&server, "shop", &token).0, 200);
    refused(&server, "shop", &token, "jti");

    // Issue 26, finding 1: an ES256 token without jti, its signature's s flipped to n - s
    // (the other valid ECDSA signature of the same claims), is the same token.
    let mut es_no_jti = good();
    es_no_jti.as_object_mut().unwrap().remove("jti");
    es_no_jti["run_id"] = "ecdsa-run".into();
    let token = issuer.sign_ec(&es_no_jti);
    assert_eq!(exchange(&server, "shop", &token).0, 200);
    let flipped = flip_ecdsa_s(&token);
    assert_ne!(flipped, token);
    let message = refused(&server, "shop", &flipped, "jti");
    assert!(message.contains("exchanged already"), "{message}");

    // A jti is single use whatever else the token says; an empty jti is no jti.
    let mut first = good();
    first["jti"] = "shared-jti".into();
    first["run_id"] = "first-run".into();
    let mut second = first.clone();
    second["run_id"] = "second-run".into();
    assert_eq!(exchange(&server, "shop", &issuer.sign_rsa(&first)).0, 200);
    refused(&server, "shop", &issuer.sign_rsa(&second), "jti");
    for run in ["blank-jti-1", "blank-jti-2"] {
        let mut blank = good();
        blank["jti"] = "".into();
        blank["run_id"] = run.into();
        let (status, answer) = exchange(&server, "shop", &issuer.sign_rsa(&blank));
        assert_eq!(status, 200, "{run}: {answer}");
    }

    // A token past its exp but within the clock skew is accepted once, and remembered until
    // it could no longer pass.
    let mut late = good();
    late["exp"] = (now() - 10).into();
    let token = issuer.sign_rsa(&late);
    assert_eq!(exchange(&server, "shop", &token).0, 200);
    refused(&server, "shop", &token, "jti");

    let mut wrong_audience = good();
    wrong_audience["aud"] = "https://github.com/acme".into();
    let message = refused(
        &server,
        "shop",
        &issuer.sign_rsa(&wrong_audience),
        "audience",
    );
    assert!(message.contains("'wharf'"), "{message}");

    // An issuer the project does not trust (another loopback issuer, correctly signed).
    let mut wrong_issuer = good();
    wrong_issuer["iss"] = issuer.url("elsewhere").into();
    refused(&server, "shop", &issuer.sign_rsa(&wrong_issuer), "issuer");

    let mut expired = good();
    expired["exp"] = (now() - 3600).into();
    expired["iat"] = (now() - 4000).into();
    expired["nbf"] = (now() - 4000).into();
    refused(&server, "shop", &issuer.sign_rsa(&expired), "exp");

    let mut early = good();
    early["nbf"] = (now() + 3600).into();
    refused(&server, "shop", &issuer.sign_rsa(&early), "nbf");

    let mut future = good();
    future["iat"] = (now() + 3600).into();
    refused(&server, "shop", &issuer.sign_rsa(&future), "iat");

    // alg none: no signature at all.
    let none = format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "JWT"})),
        part(&good())
    );
    let message = refused(&server, "shop", &none, "algorithm");
    assert!(message.contains("'none'"), "{message}");

    // HS256 "signed" with the issuer's public key (the classic key-confusion attack).
    let public_pem = std::fs::read(fixture("rsa-1.pub.pem")).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-1".into());
    let confused =
        jsonwebtoken::encode(&header, &good(), &EncodingKey::from_secret(&public_pem)).unwrap();
    let message = refused(&server, "shop", &confused, "algorithm");
    assert!(message.contains("'HS256'"), "{message}");

    // A key the issuer never published.
    let ghost = ec_key("ghost");
    let message = refused(&server, "shop", &sign(&ghost, &good()), "key id");
    assert!(message.contains("'ghost'"), "{message}");

    // A published key id, but another key's signature.
    let mut forged_header = Header::new(Algorithm::ES256);
    forged_header.kid = Some("ec-1".into());
    let forged = jsonwebtoken::encode(&forged_header, &good(), &ghost.encoding).unwrap();
    refused(&server, "shop", &forged, "signature");

    // Claims no policy allows.
    let evil = github_claims(&gh, "wharf", "mallory/shop", "refs/heads/main");
    let message = refused(&server, "shop", &issuer.sign_rsa(&evil), "claims");
    assert!(
        message.contains("'repository'") && message.contains("mallory/shop"),
        "{message}"
    );

    // A token another project's policy trusts is not good for this one…
    let other = github_claims(&gh, "wharf", "acme/other", "refs/heads/main");
    refused(&server, "shop", &issuer.sign_rsa(&other), "claims");
    // …and a project without policies, or none at all, trusts nothing.
    let (status, _) = server.runtime.block_on(api.put(
        "/wharf/v1/projects/bare",
        json!({"project": {"name": "bare", "registration_type": "ENVIRONMENT"}}),
    ));
    assert_eq!(status, 200);
    refused(&server, "bare", &issuer.sign_rsa(&good()), "policy");
    refused(&server, "nowhere", &issuer.sign_rsa(&good()), "policy");

    // An HTTP issuer that is not loopback: refused in a token, and in a project file.
    let mut http_issuer = good();
    http_issuer["iss"] = "http://issuer.example.com".into();
    let message = refused(&server, "shop", &issuer.sign_rsa(&http_issuer), "issuer");
    assert!(message.contains("https://"), "{message}");
    let mut file = other_project(&issuer);
    file["trust"][0]["issuer"] = "http://issuer.example.com".into();
    let (status, body) = server
        .runtime
        .block_on(api.put("/wharf/v1/projects/other", file));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("trust[0].issuer"),
        "{body}"
    );

    // Malformed tokens, and a missing field.
    refused(&server, "shop", "not-a-jwt", "malformed token");
    let (status, _) = exchange(&server, "shop", "");
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // No refusal consumed the token it refused: a fresh good token still works, and each
    // refusal is a 401 that wrote no audit entry.
    let (status, _) = exchange(&server, "shop", &issuer.sign_rsa(&good()));
    assert_eq!(status, 200);
    let (_, page) = server.runtime.block_on(api.get(
        "/wharf/v1/audit-logs?start=2000-01-01T00:00:00.000Z&entityAction=OIDC_TOKEN_EXCHANGE&size=50",
    ));
    // Eight exchanges went through: with jti, without, ES256 without, the shared jti's
    // first, two with an empty jti, the late one, and this one.
    assert_eq!(page["content"].as_array().unwrap().len(), 8, "{page}");
}

#[test]
fn a_keyless_token_is_short_lived_and_holds_one_role_on_one_project() {
    let issuer_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = Issuer::start(&issuer_runtime);
    let files = tempfile::tempdir().unwrap();
    let server = TestServer::with_file(Some(shop_with_trust(&issuer, files.path())));
    let admin = Api::new(server.url());
    let (status, body) = server
        .runtime
        .block_on(admin.put("/wharf/v1/projects/other", other_project(&issuer)));
    assert_eq!(status, 200, "{body}");
    let gh = issuer.url("github");
    let token = issuer.sign_rsa(&github_claims(&gh, "wharf", "acme/shop", "refs/heads/main"));
    let (status, answer) = exchange(&server, "shop", &token);
    assert_eq!(status, 200, "{answer}");
    let username = answer["username"].as_str().unwrap().to_string();
    let wharf_token = answer["token"].as_str().unwrap().to_string();

    // At most 15 minutes, in RFC 3339.
    let expires = time::OffsetDateTime::parse(
        answer["expiresAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(
        left <= time::Duration::minutes(15) && left > time::Duration::minutes(14),
        "{left}"
    );

    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let url = format!("{}{path}", server.url());
        let (username, wharf_token) = (username.clone(), wharf_token.clone());
        server.runtime.block_on(async move {
            let mut request = support::http()
                .request(method, url)
                .basic_auth(username, Some(wharf_token));
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        })
    };
    let (status, me) = call(reqwest::Method::GET, "/api/me", None);
    assert_eq!(status, 200);
    assert_eq!(me["admin"], false, "{me}");
    let register = |project: &str, external: &str| {
        json!({"blueprintName": project, "artifactUri": "registry.example.com/x/api:1",
            "artifactory": "default", "artifactRegisterType": "ENVIRONMENT",
            "artifactRegisterValue": "dev", "applicationName": "api", "externalId": external})
    };
    let (status, body) = call(
        reqwest::Method::POST,
        "/cc-ui/v1/ci-cd/register",
        Some(register("shop", "scoped-1")),
    );
    assert_eq!(status, 200, "its own project: {body}");
    let (status, body) = call(
        reqwest::Method::POST,
        "/cc-ui/v1/ci-cd/register",
        Some(register("other", "scoped-2")),
    );
    assert_eq!(status, 403, "another project: {body}");
    let (status, _) = call(reqwest::Method::GET, "/wharf/v1/users", None);
    assert_eq!(status, 403, "not a server admin");
    let (status, body) = call(
        reqwest::Method::POST,
        "/wharf/v1/tokens",
        Some(json!({"name": "keep-me"})),
    );
    assert_eq!(
        status, 403,
        "no long-lived token from a keyless one: {body}"
    );
    let (status, _) = call(
        reqwest::Method::PUT,
        "/wharf/v1/projects/shop/members/ci-bot",
        Some(json!({"role": "admin"})),
    );
    assert_eq!(status, 403, "a ci role manages no members");

    // No one makes the keyless user a member elsewhere, not even a server admin.
    let (status, body) = server.runtime.block_on(admin.put(
        &format!("/wharf/v1/projects/other/members/{username}"),
        json!({"role": "admin"}),
    ));
    assert_eq!(status, 400, "{body}");
}

#[test]
fn the_ci_token_request_failing_is_an_auth_error_without_secrets() {
    let issuer_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = Issuer::start(&issuer_runtime);
    let dir = tempfile::tempdir().unwrap();
    // GitHub refuses a wrong request token.
    let mut github = keyless_wharf("http://127.0.0.1:9", dir.path(), &system_path());
    github
        .env("GITHUB_ACTIONS", "true")
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/github/token-request?api-version=2.0", issuer.base),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong-SECRET-request")
        .env("WHARF_PROJECT", "shop")
        .arg("whoami");
    let done = run(&mut github);
    assert_eq!(done.code, 3, "{}", done.stderr);
    assert!(done.stderr.contains("id-token: write"), "{}", done.stderr);
    assert!(!done.stderr.contains("wrong-SECRET"), "{}", done.stderr);

    // The Buildkite agent failing (here the double, asked for another audience).
    let token_file = dir.path().join("bk-token");
    std::fs::write(&token_file, "unused").unwrap();
    let bin = fake_buildkite_agent(dir.path(), &token_file);
    let mut buildkite = keyless_wharf(
        "http://127.0.0.1:9",
        dir.path(),
        &format!("{}:{}", bin.display(), system_path()),
    );
    buildkite
        .env("BUILDKITE", "true")
        .env("WHARF_OIDC_AUDIENCE", "elsewhere")
        .env("WHARF_PROJECT", "shop")
        .arg("whoami");
    let done = run(&mut buildkite);
    assert_eq!(done.code, 3, "{}", done.stderr);
    assert!(
        done.stderr
            .contains("buildkite-agent oidc request-token failed")
            && done.stderr.contains("unexpected arguments"),
        "{}",
        done.stderr
    );

    // GitHub without id-token: write: ci-context says why there is no identity token, and
    // wharf says how to get one.
    let mut context = keyless_wharf("http://127.0.0.1:9", dir.path(), &system_path());
    context
        .env("GITHUB_ACTIONS", "true")
        .args(["ci-context", "--output", "json"]);
    let done = run(&mut context);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let json = done.json();
    assert!(json["identityToken"].is_null(), "{json}");
    assert!(
        json["unknown"]["identityToken"]
            .as_str()
            .unwrap()
            .contains("id-token: write"),
        "{json}"
    );
    let mut context = keyless_wharf("http://127.0.0.1:9", dir.path(), &system_path());
    context
        .env("GITLAB_CI", "true")
        .env("WHARF_ID_TOKEN", "eyJ-SECRET.x.y")
        .args(["ci-context", "--output", "json"]);
    let done = run(&mut context);
    let json = done.json();
    assert_eq!(json["identityToken"], "available", "{json}");
    assert_eq!(json["sources"]["identityToken"], "WHARF_ID_TOKEN", "{json}");
    assert!(!done.stdout.contains("SECRET"));
}

/// Issue 26, finding 3: an issuer that is slow and failing is asked once, however many
/// unauthenticated exchanges name it at once, and not again for a while; and every way an
/// issuer can fail (an error status, a page that is not JSON, a closed port) answers the same
/// words, so an issuer URL cannot be used to scan ports.
#[test]
fn a_failing_issuer_is_fetched_once_and_every_failure_reads_the_same() {
    let issuer_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = Issuer::start(&issuer_runtime);
    let server = TestServer::shop();
    let api = Api::new(server.url());
    let policy = |name: &str, url: String| json!({"name": name, "issuer": url, "role": "ci", "claims": {"repository": "acme/flaky"}});
    let file = json!({
        "project": {"name": "flaky", "registration_type": "ENVIRONMENT"},
        "environments": [{"name": "dev", "release_stream": "QA"}],
        "ci": [{"name": "api"}],
        "trust": [policy("broken", issuer.url("broken")), policy("html", issuer.url("html")),
                  policy("closed", "http://127.0.0.1:1".into())],
    });
    let (status, body) = server
        .runtime
        .block_on(api.put("/wharf/v1/projects/flaky", file));
    assert_eq!(status, 200, "{body}");
    let token_from = |url: String| {
        issuer.sign_rsa(&github_claims(
            &url,
            "wharf",
            "acme/flaky",
            "refs/heads/main",
        ))
    };

    let broken = token_from(issuer.url("broken"));
    let answers = server.runtime.block_on(async {
        let calls = (0..20).map(|_| {
            let (url, token) = (
                format!("{}/wharf/v1/oidc/token", server.url()),
                broken.clone(),
            );
            tokio::spawn(async move {
                let response = support::http()
                    .post(url)
                    .json(&json!({"project": "flaky", "token": token}))
                    .send()
                    .await
                    .unwrap();
                (
                    response.status().as_u16(),
                    response.json::<Value>().await.unwrap(),
                )
            })
        });
        let mut answers = Vec::new();
        for call in calls.collect::<Vec<_>>() {
            answers.push(call.await.unwrap());
        }
        answers
    });
    assert_eq!(
        issuer.bad_discoveries(),
        1,
        "one fetch for twenty exchanges"
    );
    let first = answers[0].1["message"].clone();
    for (status, body) in &answers {
        assert_eq!(*status, 401, "{body}");
        assert_eq!(body["message"], first);
    }
    let message = first.as_str().unwrap();
    assert!(
        message.starts_with("keyless login refused: issuer: the issuer's keys could not be read"),
        "{message}"
    );
    for url in [issuer.url("html"), "http://127.0.0.1:1".to_string()] {
        let (status, body) = exchange(&server, "flaky", &token_from(url.clone()));
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["message"], first, "{url} answers as the others");
    }
    assert_eq!(
        issuer.bad_discoveries(),
        2,
        "html once; broken not again yet"
    );
}

#[test]
fn trust_test_names_the_policy_a_token_would_match_or_why_none_and_uses_nothing_up() {
    let issuer_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = Issuer::start(&issuer_runtime);
    let files = tempfile::tempdir().unwrap();
    let server = TestServer::with_file(Some(shop_with_trust(&issuer, files.path())));
    let dir = tempfile::tempdir().unwrap();
    let gh = issuer.url("github");
    let token = issuer.sign_rsa(&github_claims(&gh, "wharf", "acme/shop", "refs/heads/main"));
    std::fs::write(dir.path().join("good.jwt"), &token).unwrap();
    let other = issuer.sign_rsa(&github_claims(
        &gh,
        "wharf",
        "acme/other",
        "refs/heads/main",
    ));
    std::fs::write(dir.path().join("other.jwt"), &other).unwrap();
    let test = |file: &str| {
        run(support::wharf(&server.url(), dir.path()).args([
            "trust",
            "test",
            "--project",
            "shop",
            "--token",
            file,
        ]))
    };

    let good = test("good.jwt");
    assert_eq!(good.code, 0, "{}", good.stderr);
    assert_eq!(
        good.stdout.trim(),
        "matches policy 'github': a login by it acts as oidc+shop+github with role ci"
    );
    assert!(!good.stdout.contains(&token) && !good.stderr.contains(&token));
    let (status, _) = exchange(&server, "shop", &token);
    assert_eq!(
        status, 200,
        "a test uses nothing up: the token still logs in"
    );

    let bad = test("other.jwt");
    assert_eq!(bad.code, 0, "{}", bad.stderr);
    assert!(
        bad.stdout
            .starts_with("matches no policy: claims: no trust policy of project 'shop'")
            && bad.stdout.contains("repository"),
        "{}",
        bad.stdout
    );

    let viewer = server.member("watcher", "shop", "viewer");
    let mut command = support::wharf(&server.url(), dir.path());
    command
        .env("WHARF_USERNAME", "watcher")
        .env("WHARF_TOKEN", &viewer)
        .args(["trust", "test", "--project", "shop", "--token", "good.jwt"]);
    let refused = run(&mut command);
    assert_eq!(
        refused.code, 3,
        "a project admin's check: {}",
        refused.stderr
    );
}
