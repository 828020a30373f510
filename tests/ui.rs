//! The web UI (`/ui/`) over real loopback HTTP: sign-in and the session cookie's attributes
//! (plain and TLS), CSRF refusal, every page rendering, the flow following a registration made
//! by the real CLI and a promotion made from the page, an attach picked from the built-in
//! registry's listings, permissions per role (buttons disabled with the reason, and the domain
//! refusing a forged post), sign-out, and no token in any page or URL. The browser suite
//! (`tests/ui/browser.mjs`, run by `.ci/run`) drives the same pages in headless Chromium.

use crate::support::client::Api;
use crate::support::registry::{Registry, manifest};
use crate::support::ui::{Ui, csrf_of};
use crate::support::{self, ADMIN, TOKEN, start_shop};
use reqwest::{Method, StatusCode};
use serde_json::json;
use wharf_control_plane::RunningServer;

/// Registers `image` for `api` on branch main (routed to dev) through the real CLI.
async fn register_main(server: &RunningServer, image: &str) -> String {
    let url = server.url();
    let image = image.to_string();
    let run = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        support::register(&url, dir.path(), &image, &["--git-ref", "main"])
    })
    .await
    .unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()["artifactId"].as_str().unwrap().to_string()
}

/// The id of the build `api` runs in `stage` on the flow page (from its cell's build link).
fn build_in(page: &str, stage: &str) -> Option<String> {
    let cell = page.split(&format!(r#"data-stage="{stage}""#)).nth(1)?;
    let cell = &cell[..cell.find("</td>")?];
    let at = cell.find("/ui/builds/")? + "/ui/builds/".len();
    Some(cell[at..at + cell[at..].find('"')?].to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_opens_a_strict_http_only_session_and_every_page_renders_without_the_token() {
    let (server, _data) = start_shop().await;
    let mut ui = Ui::new(server.url(), &[TOKEN]);

    let anonymous = ui.get("/ui/projects").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.location.as_deref(), Some("/ui/login"));

    let form = ui.get("/ui/login").await;
    assert!(form.body.contains(r#"type="password""#), "{}", form.body);
    let login_cookie = &form.set_cookies[0];
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"));

    let signed = ui.sign_in(ADMIN, TOKEN).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.location.as_deref(), Some("/ui/projects"));
    let session = signed
        .set_cookies
        .iter()
        .find(|c| c.starts_with("wharf_session="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=28800"] {
        assert!(session.contains(attribute), "{session} lacks {attribute}");
    }
    assert!(
        !session.contains("Secure"),
        "plain HTTP: no Secure ({session})"
    );
    let id = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("wharf_session=");
    assert_eq!(id.len(), 64);
    let stored = server
        .store()
        .raw_strings("SELECT id_hash FROM ui_sessions")
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], id, "only a hash of the session id is stored");

    let build = register_main(&server, "registry.example.com/shop/api:1.0.0").await;
    for path in [
        "/ui/projects".to_string(),
        "/ui/projects/shop".to_string(),
        "/ui/projects/shop/services/api".to_string(),
        "/ui/projects/shop/services/api?stage=dev&branch=main".to_string(),
        format!("/ui/builds/{build}"),
        "/ui/audit".to_string(),
        "/ui/audit?project=shop&action=ARTIFACT_REGISTER&page=1".to_string(),
        "/ui/projects/shop/attach?service=api&stage=dev&registry=default".to_string(),
    ] {
        let page = ui.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(page.body.starts_with("<!DOCTYPE html>"), "{path}");
        assert!(page.body.contains(r#"<main id="main""#), "{path}");
        assert!(
            csrf_of(&page.body).is_some(),
            "{path}: the sign-out form has a CSRF token"
        );
    }
    let flow = ui.get("/ui/projects/shop").await;
    for stage in ["dev", "staging", "prod"] {
        assert!(
            flow.body.contains(&format!(r#"data-stage="{stage}""#)),
            "{stage}"
        );
    }
    assert_eq!(build_in(&flow.body, "dev").as_deref(), Some(build.as_str()));
    assert!(flow.body.contains("1.0.0") && flow.body.contains("routed by rule shop-branches"));
    let audit = ui.get("/ui/audit?action=ARTIFACT_REGISTER").await;
    assert!(audit.body.contains("ARTIFACT_REGISTER"));
    assert!(audit.body.contains("1 entries"), "{}", audit.body);

    let wrong = Ui::new(server.url(), &[TOKEN])
        .sign_in(ADMIN, "not-the-token")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Sign-in failed"));
    assert!(
        !wrong
            .set_cookies
            .iter()
            .any(|c| c.starts_with("wharf_session="))
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let (server, _data) = start_shop().await;
    let mut ui = Ui::new(server.url(), &[TOKEN]);
    ui.sign_in(ADMIN, TOKEN).await;
    let build = register_main(&server, "registry.example.com/shop/api:1.0.1").await;
    let before = server.store().total_artifacts().await.unwrap();
    let fields = [("service", "api"), ("build", build.as_str())];

    let missing = ui.post("/ui/projects/shop/promote", &fields, None).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.body);
    assert!(missing.body.contains("CSRF token is missing or wrong"));
    let zeros = "0".repeat(64);
    let forged = [
        ("service", "api"),
        ("build", &build),
        ("csrf", zeros.as_str()),
    ];
    let wrong = ui.post("/ui/projects/shop/promote", &forged, None).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // Another session's token does not fit this one.
    let mut other = Ui::new(server.url(), &[TOKEN]);
    other.sign_in(ADMIN, TOKEN).await;
    let others = other.csrf().await;
    let borrowed = [
        ("service", "api"),
        ("build", &build),
        ("csrf", others.as_str()),
    ];
    let wrong = ui.post("/ui/projects/shop/promote", &borrowed, None).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // Without a session at all.
    let anonymous = Ui::new(server.url(), &[TOKEN]);
    let refused = anonymous
        .post("/ui/projects/shop/promote", &borrowed, None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // The sign-in form refuses a post without its own token.
    let login = anonymous
        .post("/ui/login", &[("username", ADMIN), ("token", TOKEN)], None)
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert!(
        !login
            .set_cookies
            .iter()
            .any(|c| c.starts_with("wharf_session="))
    );
    assert_eq!(server.store().total_artifacts().await.unwrap(), before);

    // A cross-site Origin is refused even with the right token.
    let csrf = ui.csrf().await;
    let response = ui
        .http
        .post(format!("{}/ui/projects/shop/promote", server.url()))
        .header("cookie", ui.session.clone().unwrap())
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("service=api&build={build}&csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.store().total_artifacts().await.unwrap(), before);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registration_by_the_cli_shows_in_dev_and_a_promotion_from_the_page_moves_it() {
    let (server, _data) = start_shop().await;
    let mut ui = Ui::new(server.url(), &[TOKEN]);
    ui.sign_in(ADMIN, TOKEN).await;
    let empty = ui.get("/ui/projects/shop").await;
    assert_eq!(build_in(&empty.body, "dev"), None);

    let build = register_main(&server, "registry.example.com/shop/api:2.0.0").await;
    let flow = ui.get("/ui/projects/shop").await;
    assert_eq!(build_in(&flow.body, "dev").as_deref(), Some(build.as_str()));
    assert!(flow.body.contains("Promote to staging"));

    let csrf = csrf_of(&flow.body).unwrap();
    let promoted = ui
        .post(
            "/ui/projects/shop/promote",
            &[("csrf", &csrf), ("service", "api"), ("build", &build)],
            None,
        )
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.body);
    assert_eq!(
        promoted.location.as_deref(),
        Some("/ui/projects/shop?done=promoted")
    );
    let after = ui.get("/ui/projects/shop?done=promoted").await;
    assert!(after.body.contains("Promoted."));
    let staged = build_in(&after.body, "staging").expect("staging runs the promoted build");
    assert_ne!(staged, build);
    let page = ui.get(&format!("/ui/builds/{staged}")).await;
    assert!(page.body.contains("promoted"), "{}", page.body);
    assert!(page.body.contains("ARTIFACT_PROMOTE"), "its audit entry");
    assert!(page.body.contains("Promote to prod"));

    // Reclassify and roll back go through the API's domain calls too.
    let reclassified = ui
        .post(
            "/ui/projects/shop/reclassify",
            &[("csrf", &csrf), ("service", "api")],
            None,
        )
        .await;
    assert_eq!(
        reclassified.status,
        StatusCode::SEE_OTHER,
        "{}",
        reclassified.body
    );
    let nothing = ui
        .post(
            "/ui/projects/shop/rollback",
            &[("csrf", &csrf), ("service", "api"), ("stage", "staging")],
            None,
        )
        .await;
    assert_eq!(
        nothing.status,
        StatusCode::CONFLICT,
        "one image only: nothing to roll back to"
    );
    assert!(
        nothing.body.contains("nothing to roll back to"),
        "{}",
        nothing.body
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_is_attached_by_picking_registry_repository_and_tag() {
    let (server, _data) = start_shop().await;
    let registry = Registry {
        http: support::http(),
        base: server.url(),
        user: ADMIN.into(),
        password: TOKEN.into(),
    };
    let config = registry
        .push_blob("shop/web", br#"{"architecture":"amd64","os":"linux"}"#)
        .await;
    let layer = registry.push_blob("shop/web", b"a small layer").await;
    let body = manifest(&config, &layer, (37, 13));
    let pushed = registry
        .put_manifest("shop/web", "3.1.4", wharf_oci::OCI_MANIFEST, &body)
        .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);

    let mut ui = Ui::new(server.url(), &[TOKEN]);
    ui.sign_in(ADMIN, TOKEN).await;
    let registries = ui
        .get("/ui/projects/shop/attach?service=web&stage=staging")
        .await;
    assert!(
        registries.body.contains(r#"<option value="default">"#),
        "{}",
        registries.body
    );
    let repositories = ui
        .get("/ui/projects/shop/attach?service=web&stage=staging&registry=default")
        .await;
    assert!(
        repositories.body.contains(r#"<option value="shop/web">"#),
        "{}",
        repositories.body
    );
    let tags = ui
        .get("/ui/projects/shop/attach?service=web&stage=staging&registry=default&repository=shop/web")
        .await;
    assert!(
        tags.body.contains(r#"<option value="3.1.4">"#),
        "{}",
        tags.body
    );
    let csrf = csrf_of(&tags.body).unwrap();
    let attached = ui
        .post(
            "/ui/projects/shop/attach",
            &[
                ("csrf", &csrf),
                ("service", "web"),
                ("stage", "staging"),
                ("registry", "default"),
                ("repository", "shop/web"),
                ("tag", "3.1.4"),
            ],
            None,
        )
        .await;
    assert_eq!(attached.status, StatusCode::SEE_OTHER, "{}", attached.body);
    let flow = ui.get("/ui/projects/shop").await;
    let row = flow.body.split("/services/web").nth(1).unwrap();
    let staging = row.split(r#"data-stage="staging""#).nth(1).unwrap();
    let staging = &staging[..staging.find("</td>").unwrap()];
    assert!(staging.contains("3.1.4"), "{staging}");
    assert!(staging.contains("attached by hand"), "{staging}");
    let digest = wharf_oci::Digest::sha256_of(body.as_bytes()).to_string();
    let short: String = digest.split_once(':').unwrap().1.chars().take(12).collect();
    assert!(staging.contains(&short), "the cell shows the short digest");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_sees_the_actions_it_may_take_and_the_domain_refuses_the_rest() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let viewer_token = api.member("shop", "vera", "viewer").await.user.token;
    let lead_token = api
        .member("shop", "lena", "release-manager")
        .await
        .user
        .token;
    let build = register_main(&server, "registry.example.com/shop/api:4.0.0").await;

    let mut viewer = Ui::new(server.url(), &[TOKEN, &viewer_token, &lead_token]);
    assert_eq!(
        viewer.sign_in("vera", &viewer_token).await.status,
        StatusCode::SEE_OTHER
    );
    let flow = viewer.get("/ui/projects/shop").await;
    // Actions are `action primary` or `action secondary`; links are never disabled.
    let actions = flow.body.matches(r#"class="action "#).count();
    let disabled = flow.body.matches(r#"" type="submit" disabled"#).count();
    assert!(actions > 0, "{}", flow.body);
    assert_eq!(
        actions, disabled,
        "every action is disabled for a viewer:\n{}",
        flow.body
    );
    assert!(
        flow.body
            .contains("permission ARTIFACTS_WRITE is required on project &#39;shop&#39;")
            || flow
                .body
                .contains("permission ARTIFACTS_WRITE is required on project 'shop'")
    );
    assert!(
        !flow.body.contains("/attach?service="),
        "no attach link for a viewer"
    );
    // A hand-made post with the viewer's valid CSRF token is refused by the domain itself.
    let csrf = csrf_of(&flow.body).unwrap();
    let refused = viewer
        .post(
            "/ui/projects/shop/promote",
            &[("csrf", &csrf), ("service", "api"), ("build", &build)],
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("ARTIFACTS_WRITE"), "{}", refused.body);

    let mut lead = Ui::new(server.url(), &[TOKEN, &viewer_token, &lead_token]);
    lead.sign_in("lena", &lead_token).await;
    let flow = lead.get("/ui/projects/shop").await;
    // What a release manager sees disabled can only not succeed now (nothing earlier to roll
    // back to, …); none is refused for want of a permission.
    assert!(
        !flow.body.contains("ARTIFACTS_WRITE"),
        "a release manager may act:\n{}",
        flow.body
    );
    assert!(
        flow.body
            .contains(r#"<button class="action primary" type="submit">"#)
    );
    let csrf = csrf_of(&flow.body).unwrap();
    let promoted = lead
        .post(
            "/ui/projects/shop/promote",
            &[("csrf", &csrf), ("service", "api"), ("build", &build)],
            None,
        )
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.body);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_or_revoking_the_token_ends_the_session() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let token = api.member("shop", "otto", "viewer").await.user.token;
    let mut ui = Ui::new(server.url(), &[TOKEN, &token]);
    ui.sign_in("otto", &token).await;
    assert_eq!(ui.get("/ui/projects").await.status, StatusCode::OK);
    let csrf = ui.csrf().await;
    let out = ui.post("/ui/logout", &[("csrf", &csrf)], None).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.set_cookies
            .iter()
            .any(|c| c.starts_with("wharf_session=;") && c.contains("Max-Age=0"))
    );
    let stale = ui.get("/ui/projects").await;
    assert_eq!(
        stale.status,
        StatusCode::SEE_OTHER,
        "the old cookie no longer opens pages"
    );

    ui.session = None;
    ui.sign_in("otto", &token).await;
    assert_eq!(ui.get("/ui/projects").await.status, StatusCode::OK);
    let (_, tokens) = api.get("/wharf/v1/tokens?username=otto").await;
    let id = tokens[0]["id"].as_str().unwrap().to_string();
    let (status, _) = api
        .call(Method::DELETE, &format!("/wharf/v1/tokens/{id}"), None)
        .await;
    assert!(status.is_success());
    let revoked = ui.get("/ui/projects").await;
    assert_eq!(
        revoked.status,
        StatusCode::SEE_OTHER,
        "a revoked token ends its sessions"
    );
    let audit = server
        .store()
        .raw_strings("SELECT entity_action FROM audit_log WHERE entity = 'SESSION' ORDER BY performed_at, id")
        .await
        .unwrap();
    assert_eq!(
        audit,
        ["SESSION_SIGN_IN", "SESSION_SIGN_OUT", "SESSION_SIGN_IN"]
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn over_tls_the_session_cookie_is_secure() {
    use rcgen::{CertificateParams, KeyPair};
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let options = wharf_control_plane::ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: support::test_database(data.path()).await,
        blob_dir: data.path().join("registry"),
        blob_store: None,
        project_file: Some(support::shop_file()),
        admin: Some((ADMIN.into(), TOKEN.into())),
        ephemeral_admin: None,
        listener: wharf_control_plane::ListenerOptions {
            tls: Some(wharf_control_plane::TlsFiles {
                cert: dir.path().join("cert.pem"),
                key: dir.path().join("key.pem"),
            }),
            ..Default::default()
        },
        secrets: Some(support::test_secret_keys()),
        webhooks: Default::default(),
        store: Default::default(),
    };
    let server = wharf_control_plane::start(options).await.unwrap();
    assert!(server.url().starts_with("https://"));
    let mut ui = Ui::new(server.url(), &[TOKEN]);
    ui.http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_only([reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let signed = ui.sign_in(ADMIN, TOKEN).await;
    let session = signed
        .set_cookies
        .iter()
        .find(|c| c.starts_with("wharf_session="))
        .expect("a session cookie");
    assert!(session.ends_with("; Secure"), "{session}");
    assert_eq!(ui.get("/ui/projects/shop").await.status, StatusCode::OK);
    server.stop().await.unwrap();
}

/// Issue 26, finding 6: a `back` field that decodes to a control character (`%7F`) cannot
/// make a Location header: the action answers its redirect to the flow, never a 500.
#[tokio::test(flavor = "multi_thread")]
async fn a_back_field_with_a_control_character_redirects_to_the_flow() {
    let (server, _data) = start_shop().await;
    let mut ui = Ui::new(server.url(), &[TOKEN]);
    ui.sign_in(ADMIN, TOKEN).await;
    let build = register_main(&server, "registry.example.com/shop/api:7.0.0").await;
    let flow = ui.get("/ui/projects/shop").await;
    let csrf = csrf_of(&flow.body).unwrap();
    let promoted = ui
        .post(
            "/ui/projects/shop/promote",
            &[
                ("csrf", &csrf),
                ("service", "api"),
                ("build", &build),
                ("back", "/ui/x\u{7f}"),
            ],
            None,
        )
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.body);
    assert_eq!(
        promoted.location.as_deref(),
        Some("/ui/projects/shop?done=promoted")
    );
    server.stop().await.unwrap();
}

/// Issue 26, finding 9: a branch name and a description carrying a bidirectional override, an
/// ESC and a newline are shown as escapes on the build page, as the CLI shows them.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_branch_names_and_descriptions_are_shown_as_escapes() {
    let (server, _data) = start_shop().await;
    let api = Api::new(server.url());
    let hostile = "feat\u{202e}txt.exe\u{1b}[31m\nFAKE";
    let mut body = support::client::saas("dev", "ENVIRONMENT", "hostile-1", "r.example/shop/api:1");
    body["metadata"] = json!({"BRANCH_NAME": hostile});
    // Descriptions with control characters are refused at the door; a bidi override is not.
    body["description"] = json!("about \u{202e}cod.exe");
    let (status, build) = api.post("/cc-ui/v1/ci-cd/register", body).await;
    assert_eq!(status, StatusCode::OK, "{build}");
    let mut ui = Ui::new(server.url(), &[TOKEN]);
    ui.sign_in(ADMIN, TOKEN).await;
    let page = ui
        .get(&format!("/ui/builds/{}", build["id"].as_str().unwrap()))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for raw in ['\u{202e}', '\u{1b}'] {
        assert!(!page.body.contains(raw), "{raw:?} reached the page");
    }
    assert!(!page.body.contains("\nFAKE"), "a forged line");
    assert!(
        page.body.contains(r"feat\u{202e}txt.exe\x1b[31m\nFAKE"),
        "shown as the CLI shows it"
    );
    assert!(
        page.body.contains(r"about \u{202e}cod.exe"),
        "the description too"
    );
    server.stop().await.unwrap();
}
