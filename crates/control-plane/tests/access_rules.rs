//! The rules where a silent bug costs most, tested on the domain over a real SQLite store:
//! who is authenticated, which role may do what on which project, and what a push credential
//! may touch. (The end-to-end tests cover the same rules through HTTP and the CLI; these are
//! the ones a mutation run of `domain/{auth,permissions,push}.rs` leans on.)

use wharf_api::PushCredentialsRequest;
use wharf_control_plane::domain::auth::{AuthUser, hash_token, same_hash};
use wharf_control_plane::domain::permissions::{self, built_in_roles, require_admin};
use wharf_control_plane::domain::push::{RegistryCaller, require_registry_pull};
use wharf_control_plane::store::{NewToken, RegistryCredential};
use wharf_control_plane::{ControlPlane, Database, Error, Store};

const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";

struct Plane {
    cp: ControlPlane,
    admin: AuthUser,
    _dir: tempfile::TempDir,
}

async fn plane() -> Plane {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Database::Sqlite(dir.path().to_path_buf()))
        .await
        .unwrap();
    let cp = ControlPlane::new(
        store,
        Some(("ephemeral".into(), "ephemeral-token-0123456789".into())),
    );
    cp.identity.seed_roles().await.unwrap();
    cp.identity
        .bootstrap_admin(Some(&("admin".into(), ADMIN_TOKEN.into())), false)
        .await
        .unwrap();
    let file = wharf_control_plane::project_file::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/wharf.toml"),
    )
    .unwrap();
    cp.catalog.apply(&file, "test").await.unwrap();
    let admin = cp
        .identity
        .authenticate("admin", ADMIN_TOKEN)
        .await
        .unwrap();
    Plane {
        cp,
        admin,
        _dir: dir,
    }
}

/// A user with `role` on `project`, and its token.
async fn member(plane: &Plane, user: &str, project: &str, role: &str) -> (AuthUser, String) {
    plane
        .cp
        .identity
        .create_user(&plane.admin, user, false)
        .await
        .unwrap();
    plane
        .cp
        .identity
        .set_member(&plane.admin, project, user, Some(role))
        .await
        .unwrap();
    let created = plane
        .cp
        .identity
        .create_token(&plane.admin, Some(user), None, None)
        .await
        .unwrap();
    let user = plane
        .cp
        .identity
        .authenticate(user, &created.token)
        .await
        .unwrap();
    (user, created.token)
}

fn forbidden(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Forbidden(message)) => message,
        other => panic!("expected 403, got {other:?}"),
    }
}

#[test]
fn hashes_are_sha256_and_compared_whole() {
    assert_eq!(hash_token("abc").len(), 64);
    assert_ne!(hash_token("abc"), hash_token("abd"));
    assert!(same_hash(&hash_token("x"), &hash_token("x")));
    assert!(!same_hash(&hash_token("x"), &hash_token("y")));
}

#[tokio::test]
async fn only_the_right_unexpired_token_authenticates() {
    let plane = plane().await;
    let cp = &plane.cp;
    assert!(plane.admin.admin && plane.admin.username == "admin");
    assert!(matches!(
        cp.identity.authenticate("admin", "wrong").await,
        Err(Error::Unauthorized)
    ));
    assert!(matches!(
        cp.identity.authenticate("nobody", ADMIN_TOKEN).await,
        Err(Error::Unauthorized)
    ));
    let ephemeral = cp
        .identity
        .authenticate("ephemeral", "ephemeral-token-0123456789")
        .await
        .unwrap();
    assert!(ephemeral.admin, "the in-memory admin is an admin");
    assert!(matches!(
        cp.identity.authenticate("ephemeral", "wrong").await,
        Err(Error::Unauthorized)
    ));

    let (_, token) = member(&plane, "builder", "shop", "ci").await;
    let bot = cp.identity.authenticate("builder", &token).await.unwrap();
    assert!(!bot.admin);
    let hash = hash_token("expired-token-value-0001");
    let mut tx = cp.store().begin().await.unwrap();
    tx.insert_token(&NewToken {
        username: "builder",
        token_hash: &hash,
        name: Some("old"),
        expires_at: Some("2001-01-01T00:00:00.000Z"),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(
        cp.identity
            .authenticate("builder", "expired-token-value-0001")
            .await,
        Err(Error::Unauthorized)
    ));

    let tokens = cp.identity.tokens(&bot, None).await.unwrap();
    let id = tokens.iter().find(|t| t.name.is_none()).unwrap().id.clone();
    cp.identity.revoke_token(&bot, &id).await.unwrap();
    assert!(
        matches!(
            cp.identity.authenticate("builder", &token).await,
            Err(Error::Unauthorized)
        ),
        "a revoked token stops at once on this server, cached or not"
    );
}

#[tokio::test]
async fn each_role_holds_exactly_its_permissions_on_its_project() {
    let plane = plane().await;
    let cp = &plane.cp;
    let other: wharf_api::project_file::ProjectFile =
        toml::from_str("[project]\nname = \"other\"\nregistration_type = \"ENVIRONMENT\"\n")
            .unwrap();
    cp.catalog.apply(&other, "test").await.unwrap();
    for (role, held) in built_in_roles() {
        let (user, _) = member(&plane, &format!("user-{role}"), "shop", role).await;
        for permission in permissions::ALL {
            let allowed = cp.identity.require(&user, "shop", permission).await;
            assert_eq!(
                allowed.is_ok(),
                held.contains(&permission),
                "{role} / {permission}: {allowed:?}"
            );
        }
        let elsewhere = forbidden(
            cp.identity
                .require(&user, "other", permissions::ARTIFACTS_WRITE)
                .await,
        );
        assert!(elsewhere.contains("no role there"), "{elsewhere}");
        let mistyped = cp
            .identity
            .require(&user, "shpo", permissions::ARTIFACTS_WRITE)
            .await;
        assert!(
            matches!(mistyped, Err(Error::NotFound(ref m)) if m.contains("'shpo' not found")),
            "a mistyped project is a 404, not a missing role: {mistyped:?}"
        );
    }
    for permission in permissions::ALL {
        assert!(
            cp.identity
                .require(&plane.admin, "anything", permission)
                .await
                .is_ok()
        );
    }
    let (viewer, _) = member(&plane, "watcher", "shop", "viewer").await;
    let message = forbidden(
        cp.identity
            .require(&viewer, "shop", permissions::ARTIFACTS_WRITE)
            .await,
    );
    assert!(
        message.contains("ARTIFACTS_WRITE")
            && message.contains("'viewer'")
            && message.contains("watcher"),
        "{message}"
    );
}

#[tokio::test]
async fn a_role_on_every_project_holds_everywhere_and_changes_take_effect_at_once() {
    let plane = plane().await;
    let cp = &plane.cp;
    let (roamer, _) = member(&plane, "roamer", "*", "ci").await;
    assert!(
        cp.identity
            .require(&roamer, "shop", permissions::ARTIFACTS_WRITE)
            .await
            .is_ok()
    );
    assert!(
        cp.identity
            .require(&roamer, "any", permissions::CLI_ARTIFACT_PUSH)
            .await
            .is_ok()
    );
    forbidden(
        cp.identity
            .require(&roamer, "shop", permissions::PROJECT_ADMIN)
            .await,
    );

    cp.identity
        .set_member(&plane.admin, "*", "roamer", None)
        .await
        .unwrap();
    forbidden(
        cp.identity
            .require(&roamer, "shop", permissions::ARTIFACTS_WRITE)
            .await,
    );

    let (user, _) = member(&plane, "plain", "shop", "viewer").await;
    assert!(require_admin(&plane.admin, "x").is_ok());
    let message = forbidden(require_admin(&user, "creating a user"));
    assert!(
        message.contains("creating a user") && message.contains("plain"),
        "{message}"
    );
}

#[tokio::test]
async fn a_push_credential_reaches_its_own_repository_only() {
    let plane = plane().await;
    let cp = &plane.cp;
    let (bot, _) = member(&plane, "builder", "shop", "ci").await;
    let (viewer, _) = member(&plane, "watcher", "shop", "viewer").await;
    let request = PushCredentialsRequest {
        blueprint_name: "shop".into(),
        artifactory: "default".into(),
        application_name: "api".into(),
    };
    forbidden(
        cp.push
            .push_credentials(&viewer, &request, "cp.example:8080")
            .await,
    );
    let issued = cp
        .push
        .push_credentials(&bot, &request, "cp.example:8080")
        .await
        .unwrap();
    assert_eq!(issued.repository_uri, "cp.example:8080/shop/api");
    assert_eq!(issued.artifactory_uri, "cp.example:8080");
    assert!(issued.username.starts_with("wharf-push-"));

    let caller = cp
        .push
        .registry_caller(&issued.username, &issued.password)
        .await
        .unwrap();
    assert!(
        matches!(&caller, RegistryCaller::Scoped { repository, owner, .. } if repository == "shop/api" && owner == "builder")
    );
    assert!(
        cp.push
            .require_registry_push(&caller, "shop/api")
            .await
            .is_ok()
    );
    let refused = forbidden(cp.push.require_registry_push(&caller, "shop/web").await);
    assert!(refused.contains("shop/api only"), "{refused}");
    assert!(require_registry_pull(&caller, "shop/api").is_ok());
    assert!(
        require_registry_pull(&caller, "shop/web").is_ok(),
        "a push credential reads its own project"
    );
    forbidden(require_registry_pull(&caller, "other/web"));
    assert!(matches!(
        cp.push.registry_caller(&issued.username, "wrong").await,
        Err(Error::Unauthorized)
    ));

    let expired = RegistryCredential {
        username: "wharf-push-expired".into(),
        password_hash: hash_token("expired-password"),
        repository: "shop/api".into(),
        owner: "builder".into(),
        expires_at: "2001-01-01T00:00:00.000Z".into(),
        token_id: None,
    };
    let mut tx = cp.store().begin().await.unwrap();
    tx.insert_registry_credential(&expired).await.unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(
        cp.push
            .registry_caller("wharf-push-expired", "expired-password")
            .await,
        Err(Error::Unauthorized)
    ));
    assert!(matches!(
        cp.push.registry_caller("wharf-push-unknown", "x").await,
        Err(Error::Unauthorized)
    ));

    let as_user = cp.push.registry_caller("admin", ADMIN_TOKEN).await.unwrap();
    assert!(matches!(as_user, RegistryCaller::User(ref user) if user.admin));
    let bot_token = cp
        .identity
        .create_token(&plane.admin, Some("builder"), None, None)
        .await
        .unwrap();
    let bot_caller = cp
        .push
        .registry_caller("builder", &bot_token.token)
        .await
        .unwrap();
    assert!(
        cp.push
            .require_registry_push(&bot_caller, "shop/web")
            .await
            .is_ok()
    );
    assert!(matches!(
        cp.push
            .require_registry_push(&bot_caller, "other/web")
            .await,
        Err(Error::NotFound(_))
    ));
    assert!(
        matches!(
            cp.push
                .require_registry_push(&bot_caller, "shop/not-a-ci/deeper/x")
                .await,
            Err(Error::NotFound(_))
        ),
        "a push outside <project>/<ciName> is refused"
    );
    let viewer_token = cp
        .identity
        .create_token(&plane.admin, Some("watcher"), None, None)
        .await
        .unwrap();
    let viewer_caller = cp
        .push
        .registry_caller("watcher", &viewer_token.token)
        .await
        .unwrap();
    forbidden(
        cp.push
            .require_registry_push(&viewer_caller, "shop/api")
            .await,
    );
    assert!(
        require_registry_pull(&viewer_caller, "shop/api").is_ok(),
        "any user may pull"
    );

    let legacy = cp
        .push
        .legacy_push_credentials(&bot, "api", Some("shop"), "cp.example:8080")
        .await
        .unwrap();
    assert_eq!(legacy.repository_uri, "cp.example:8080/shop/api");
    assert_eq!(legacy.proxy_endpoint, "http://cp.example:8080");
}

#[tokio::test]
async fn a_token_with_a_future_expiry_works_until_then() {
    let plane = plane().await;
    let created = plane
        .cp
        .identity
        .create_token(&plane.admin, Some("admin"), Some("day"), Some(1))
        .await
        .unwrap();
    assert!(
        plane
            .cp
            .identity
            .authenticate("admin", &created.token)
            .await
            .is_ok()
    );
}

/// What this replica learned in the last few seconds, it trusts without the store: a change
/// made on another replica (here: straight in the store) reaches it within the caches'
/// lifetime, not at once. (A change made through this replica is seen at once.)
#[tokio::test]
async fn verified_tokens_and_held_roles_are_cached_for_a_few_seconds() {
    let plane = plane().await;
    let cp = &plane.cp;
    let (user, token) = member(&plane, "cached", "shop", "ci").await;
    cp.identity
        .require(&user, "shop", permissions::ARTIFACTS_WRITE)
        .await
        .unwrap();
    let store = cp.store().clone();
    let mut tx = store.begin().await.unwrap();
    tx.unbind_role("cached", "shop").await.unwrap();
    tx.commit().await.unwrap();
    store.raw_execute("DELETE FROM tokens WHERE name IS NULL AND user_id IN (SELECT id FROM users WHERE username = 'cached')").await.unwrap();
    assert!(
        cp.identity.authenticate("cached", &token).await.is_ok(),
        "a token verified a moment ago is trusted from the cache"
    );
    assert!(
        cp.identity
            .require(&user, "shop", permissions::ARTIFACTS_WRITE)
            .await
            .is_ok(),
        "a role read a moment ago is trusted from the cache"
    );
}

// Web UI sessions (`domain/sessions.rs`): what a mutation run of it leans on.

#[tokio::test]
async fn a_session_opens_for_a_stored_token_lasts_eight_hours_and_carries_its_csrf_token() {
    let plane = plane().await;
    let (_, token) = member(&plane, "dev-lead", "shop", "release-manager").await;
    let before = time::OffsetDateTime::now_utc();
    let opened = plane.cp.identity.sign_in("dev-lead", &token).await.unwrap();
    assert_eq!(opened.id.len(), 64, "32 random bytes as hex");
    assert_ne!(opened.id, opened.session.csrf);
    let expires = time::OffsetDateTime::parse(
        &opened.session.expires_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let hours = (expires - before).whole_minutes() as f64 / 60.0;
    assert!(
        (7.98..=8.02).contains(&hours),
        "a session lasts 8 hours: {hours}"
    );

    let found = plane
        .cp
        .identity
        .session(&opened.id)
        .await
        .unwrap()
        .expect("the session");
    assert_eq!(found.user.username, "dev-lead");
    assert_eq!(found.csrf, opened.session.csrf);
    assert!(found.csrf_matches(&opened.session.csrf));
    assert!(!found.csrf_matches(""), "an empty token never matches");
    assert!(!found.csrf_matches(&"0".repeat(64)));
    assert!(
        plane
            .cp
            .identity
            .session(&"f".repeat(64))
            .await
            .unwrap()
            .is_none()
    );
    assert!(plane.cp.identity.session("").await.unwrap().is_none());
    assert!(
        plane
            .cp
            .identity
            .session(&"a".repeat(129))
            .await
            .unwrap()
            .is_none()
    );

    // Wrong credentials are the bare 401; the in-memory admin cannot open a session.
    let wrong = plane
        .cp
        .identity
        .sign_in("dev-lead", "not-the-token-0123456789")
        .await;
    assert!(
        matches!(wrong, Err(Error::Unauthorized)),
        "{:?}",
        wrong.err()
    );
    let ephemeral = plane
        .cp
        .identity
        .sign_in("ephemeral", "ephemeral-token-0123456789")
        .await;
    assert!(
        matches!(&ephemeral, Err(Error::BadRequest(m)) if m.contains("lives only in memory")),
        "{:?}",
        ephemeral.err()
    );
}

#[tokio::test]
async fn signing_out_or_revoking_the_token_ends_a_session() {
    let plane = plane().await;
    let (user, token) = member(&plane, "dev-lead", "shop", "release-manager").await;
    let opened = plane.cp.identity.sign_in("dev-lead", &token).await.unwrap();
    plane.cp.identity.sign_out(&opened.id, &user).await.unwrap();
    assert!(
        plane
            .cp
            .identity
            .session(&opened.id)
            .await
            .unwrap()
            .is_none()
    );

    let again = plane.cp.identity.sign_in("dev-lead", &token).await.unwrap();
    let token_id = again.session.user.token_id.clone().unwrap();
    plane
        .cp
        .identity
        .revoke_token(&plane.admin, &token_id)
        .await
        .unwrap();
    assert!(
        plane
            .cp
            .identity
            .session(&again.id)
            .await
            .unwrap()
            .is_none(),
        "a revoked token's sessions end with it"
    );
}

// Trust policies applied from the project file (`domain/trust.rs`).

#[tokio::test]
async fn trust_policies_are_applied_whole_listed_and_their_roles_checked() {
    let plane = plane().await;
    let base = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/wharf.toml"),
    )
    .unwrap();
    let policy = |name: &str, repository: &str, role: &str| {
        format!(
            "\n[[trust]]\nname = \"{name}\"\nissuer = \"https://token.actions.githubusercontent.com\"\nrole = \"{role}\"\n[trust.claims]\nrepository = \"{repository}\"\n"
        )
    };
    let apply = |text: String| {
        let file: wharf_api::project_file::ProjectFile = toml::from_str(&text).unwrap();
        let cp = plane.cp.clone();
        let admin = plane.admin.clone();
        async move { cp.catalog.apply_project_file(&admin, &file, false).await }
    };
    let two = format!(
        "{base}{}{}",
        policy("github", "acme/shop", "ci"),
        policy("deploy", "acme/ops", "release-manager")
    );
    let created = apply(two.clone()).await.unwrap();
    assert!(
        created.created.contains(&"trust policy github".to_string()),
        "{created:?}"
    );
    assert!(
        created.created.contains(&"trust policy deploy".to_string()),
        "{created:?}"
    );
    let listed = plane.cp.identity.trust_policies("shop").await.unwrap();
    assert_eq!(listed.len(), 2);
    let github = listed.iter().find(|p| p.name == "github").unwrap();
    assert_eq!(github.username, "oidc+shop+github");
    assert_eq!(github.role, "ci");
    assert_eq!(github.claims["repository"], "acme/shop");

    let again = apply(two).await.unwrap();
    assert_eq!(
        again.unchanged,
        created.unchanged + 2,
        "both policies count as unchanged the second time"
    );
    assert!(
        !again
            .created
            .iter()
            .chain(&again.updated)
            .any(|l| l.starts_with("trust")),
        "{again:?}"
    );

    let changed = format!("{base}{}", policy("github", "acme/shop2", "ci"));
    let summary = apply(changed).await.unwrap();
    assert!(
        summary.updated.contains(&"trust policy github".to_string()),
        "{summary:?}"
    );
    assert!(
        summary
            .updated
            .contains(&"trust policy deploy removed".to_string()),
        "{summary:?}"
    );
    let listed = plane.cp.identity.trust_policies("shop").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].claims["repository"], "acme/shop2");

    let unknown = apply(format!(
        "{base}{}",
        policy("github", "acme/shop", "no-such-role")
    ))
    .await;
    assert!(
        matches!(&unknown, Err(Error::BadRequest(m)) if m.contains("trust[0].role: role 'no-such-role' does not exist")),
        "{:?}",
        unknown.err()
    );
}

#[tokio::test]
async fn push_credentials_are_listed_and_revoked_by_name_by_owner_or_all() {
    let plane = plane().await;
    let cp = &plane.cp;
    let (builder, _) = member(&plane, "builder", "shop", "ci").await;
    let (other, _) = member(&plane, "other-bot", "shop", "ci").await;
    let request = |app: &str| PushCredentialsRequest {
        blueprint_name: "shop".into(),
        artifactory: "default".into(),
        application_name: app.into(),
    };
    let host = "cp.example:8080";
    let (api, web) = (request("api"), request("web"));
    let first = cp
        .push
        .push_credentials(&builder, &api, host)
        .await
        .unwrap();
    let second = cp
        .push
        .push_credentials(&builder, &web, host)
        .await
        .unwrap();
    let third = cp.push.push_credentials(&other, &api, host).await.unwrap();

    forbidden(cp.push.push_credentials_list(&builder, None).await);
    forbidden(cp.push.revoke_push_credentials(&builder, None, None).await);
    let names = |list: Vec<wharf_control_plane::domain::push::PushCredentialInfo>| {
        let mut names: Vec<(String, String, String)> = list
            .into_iter()
            .map(|c| (c.username, c.repository, c.owner))
            .collect();
        names.sort();
        names
    };
    let mine = names(
        cp.push
            .push_credentials_list(&plane.admin, Some("builder"))
            .await
            .unwrap(),
    );
    let mut expected = vec![
        (first.username.clone(), "shop/api".into(), "builder".into()),
        (second.username.clone(), "shop/web".into(), "builder".into()),
    ];
    expected.sort();
    assert_eq!(mine, expected);
    let all = cp.push.push_credentials_list(&plane.admin, None).await;
    assert_eq!(all.unwrap().len(), 3);

    let scoped = cp
        .push
        .registry_caller(&third.username, &third.password)
        .await
        .unwrap();
    assert_eq!(
        scoped.actor(),
        "other-bot",
        "the audit names who obtained it"
    );
    assert_eq!(scoped.credential(), Some(third.username.as_str()));
    let as_user = cp.push.registry_caller("admin", ADMIN_TOKEN).await.unwrap();
    assert_eq!(as_user.actor(), "admin");
    assert_eq!(as_user.credential(), None);

    let unknown = cp
        .push
        .revoke_push_credentials(&plane.admin, Some("wharf-push-unknown"), None)
        .await;
    match unknown {
        Err(Error::NotFound(message)) => {
            assert!(
                message.contains("'wharf-push-unknown' is not known"),
                "{message}"
            )
        }
        other => panic!("expected 404, got {other:?}"),
    }
    let by_name = cp
        .push
        .revoke_push_credentials(&plane.admin, Some(&first.username), None)
        .await;
    assert_eq!(by_name.unwrap(), 1);
    assert!(matches!(
        cp.push
            .registry_caller(&first.username, &first.password)
            .await,
        Err(Error::Unauthorized)
    ));
    let by_owner = cp
        .push
        .revoke_push_credentials(&plane.admin, None, Some("builder"))
        .await;
    assert_eq!(by_owner.unwrap(), 1, "only the builder's other credential");
    let left = cp.push.push_credentials_list(&plane.admin, None).await;
    assert_eq!(
        names(left.unwrap()),
        vec![(
            third.username.clone(),
            "shop/api".into(),
            "other-bot".into()
        )]
    );
    let everything = cp
        .push
        .revoke_push_credentials(&plane.admin, None, None)
        .await;
    assert_eq!(everything.unwrap(), 1);
    let none_left = cp
        .push
        .revoke_push_credentials(&plane.admin, None, None)
        .await;
    assert_eq!(
        none_left.unwrap(),
        0,
        "revoking all of nothing is not an error"
    );
}

#[tokio::test]
async fn a_repository_is_exactly_project_slash_ci() {
    let plane = plane().await;
    let cp = &plane.cp;
    let (_, token) = member(&plane, "builder", "shop", "ci").await;
    let caller = cp.push.registry_caller("builder", &token).await.unwrap();
    assert!(
        cp.push
            .require_registry_push(&caller, "shop/api")
            .await
            .is_ok()
    );
    for malformed in ["shop/", "/api", "shop", "shop/api/extra"] {
        assert!(
            matches!(
                cp.push.require_registry_push(&caller, malformed).await,
                Err(Error::NotFound(_))
            ),
            "{malformed} is not a repository of the built-in registry"
        );
    }
}
