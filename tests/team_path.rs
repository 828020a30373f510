//! The path a team walks, from a project file to an approved promotion: the file's
//! `[[members]]` is the whole membership, and `wharf apply --dry-run` shows every change first.

use crate::support::client::Api;
use crate::support::{self, TestServer, run, wharf};
use reqwest::StatusCode;

/// The shop example with one more `[[members]]` entry.
fn shop_with(extra: &str) -> String {
    std::fs::read_to_string(support::shop_file()).unwrap() + extra
}

fn apply(server: &TestServer, file: &str, extra: &[&str]) -> support::Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wharf.toml"), file).unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command
        .args(["apply", "wharf.toml", "--output", "json"])
        .args(extra);
    run(&mut command)
}

fn members(server: &TestServer) -> Vec<String> {
    let api = Api::new(server.url());
    let (status, body) = server
        .runtime
        .block_on(api.get("/wharf/v1/projects/shop/members"));
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut names: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn a_member_the_file_no_longer_lists_is_removed_and_audited() {
    let server = TestServer::shop();
    let with_auditor = shop_with("\n[[members]]\nuser = \"auditor\"\nrole = \"viewer\"\n");
    assert_eq!(apply(&server, &with_auditor, &[]).code, 0);
    assert!(members(&server).contains(&"auditor".to_string()));

    let applied = apply(&server, &shop_with(""), &[]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(
        applied.json()["removed"],
        serde_json::json!(["member auditor"])
    );
    assert!(!members(&server).contains(&"auditor".to_string()));
    let api = Api::new(server.url());
    let removals = server
        .runtime
        .block_on(api.audit_entries("USER"))
        .into_iter()
        .filter(|e| e["entityAction"] == "MEMBER_REMOVE")
        .map(|e| e["target"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>();
    assert_eq!(removals, ["auditor"]);
}

#[test]
fn a_dry_run_prints_every_change_and_makes_none() {
    let server = TestServer::shop();
    let with_auditor = shop_with("\n[[members]]\nuser = \"auditor\"\nrole = \"viewer\"\n");
    assert_eq!(apply(&server, &with_auditor, &[]).code, 0);
    let before = members(&server);

    let file = shop_with("\n[[environments]]\nname = \"perf\"\nrelease_stream = \"QA\"\n");
    let dry = apply(&server, &file, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let summary = dry.json();
    assert_eq!(summary["dryRun"], true);
    assert_eq!(summary["removed"], serde_json::json!(["member auditor"]));
    assert!(
        summary["created"].to_string().contains("environment perf"),
        "{summary}"
    );
    assert_eq!(members(&server), before, "a dry run removes nobody");
    let api = Api::new(server.url());
    let (status, clusters) = server
        .runtime
        .block_on(api.get("/cc-ui/v1/stacks/shop/clusters"));
    assert_eq!(status, StatusCode::OK);
    assert!(
        !clusters.to_string().contains("\"perf\""),
        "a dry run creates nothing: {clusters}"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wharf.toml"), &file).unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command.args(["apply", "wharf.toml", "--dry-run"]);
    let human = run(&mut command);
    assert_eq!(human.code, 0);
    assert!(
        human
            .stdout
            .contains("would make these changes; none was made")
            && human.stdout.contains("removed  member auditor"),
        "{}",
        human.stdout
    );
}

#[test]
fn applying_a_file_that_drops_yourself_is_refused_and_changes_nothing() {
    let server = TestServer::shop();
    let owner = server.member("shop-owner", "shop", "admin");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wharf.toml"), shop_with("")).unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command
        .env("WHARF_USERNAME", "shop-owner")
        .env("WHARF_TOKEN", &owner)
        .args(["apply", "wharf.toml"]);
    let refused = run(&mut command);
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("would remove your own membership of 'shop'")
            && refused.stderr.contains("list yourself under [[members]]"),
        "{}",
        refused.stderr
    );
    assert!(members(&server).contains(&"shop-owner".to_string()));
}

fn cli(server: &TestServer, args: &[&str]) -> support::Run {
    let dir = tempfile::tempdir().unwrap();
    run(wharf(&server.url(), dir.path()).args(args))
}

#[test]
fn members_users_and_projects_have_verbs() {
    let server = TestServer::shop();
    let created = cli(&server, &["users", "create", "dana"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert_eq!(created.stdout.trim(), "created user dana");
    let again = cli(&server, &["users", "create", "dana"]);
    assert_eq!(
        again.code, 5,
        "an existing user is a conflict: {}",
        again.stderr
    );
    assert!(cli(&server, &["users", "list"]).stdout.contains("dana"));

    let set = cli(
        &server,
        &[
            "members",
            "set",
            "--project",
            "shop",
            "dana",
            "release-manager",
        ],
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    let listed = cli(
        &server,
        &["members", "list", "--project", "shop", "--output", "json"],
    );
    let members = listed.json();
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["username"] == "dana" && m["role"] == "release-manager"),
        "{members}"
    );
    let removed = cli(&server, &["members", "remove", "--project", "shop", "dana"]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert!(
        !cli(&server, &["members", "list", "--project", "shop"])
            .stdout
            .contains("dana")
    );

    let unknown_role = cli(
        &server,
        &["members", "set", "--project", "shop", "dana", "boss"],
    );
    assert_eq!(unknown_role.code, 8, "{}", unknown_role.stderr);
    assert!(
        unknown_role.stderr.contains("role 'boss' does not exist"),
        "{}",
        unknown_role.stderr
    );
    let no_project = cli(&server, &["members", "list"]);
    assert_eq!(no_project.code, 2);
    assert!(
        no_project
            .stderr
            .contains("missing project: pass --project or set WHARF_PROJECT")
    );

    let projects = cli(&server, &["projects", "--output", "json"]);
    assert_eq!(projects.json(), serde_json::json!(["shop"]));
}

#[test]
fn the_control_planes_own_address_leads_to_the_ui() {
    let server = TestServer::shop();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = server
        .runtime
        .block_on(http.get(format!("{}/", server.url())).send())
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()["location"], "/ui/projects");
}

/// The shop with a protected prod and `members` (`user = role` pairs).
fn shop_protected(approvals: u32, members: &[(&str, &str)]) -> String {
    let mut file = std::fs::read_to_string(support::shop_file()).unwrap();
    for (user, role) in members {
        file += &format!("\n[[members]]\nuser = \"{user}\"\nrole = \"{role}\"\n");
    }
    file + &format!(
        "\n[protection.prod]\napprovals = {approvals}\napprovers = [\"release-manager\"]\n"
    )
}

#[test]
fn approvals_nobody_could_give_are_refused_with_the_arithmetic() {
    let server = TestServer::shop();
    // release-lead (from the example) and the server admin may approve: 2 users.
    let refused = apply(&server, &shop_protected(3, &[]), &[]);
    assert_eq!(
        refused.code, 8,
        "the control plane refuses it: {}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("protection.prod: approvals = 3 cannot be met: only 2 user(s) may approve (admin, release-lead")
            && refused.stderr.contains("add approvers under [[members]] or lower approvals"),
        "{}",
        refused.stderr
    );

    let tight = apply(&server, &shop_protected(2, &[]), &[]);
    assert_eq!(tight.code, 0, "{}", tight.stderr);
    let warnings = tight.json()["warnings"].to_string();
    assert!(
        warnings.contains("a request one of them makes cannot complete"),
        "{warnings}"
    );

    let roomy = apply(
        &server,
        &shop_protected(2, &[("rm2", "release-manager")]),
        &[],
    );
    assert_eq!(roomy.code, 0, "{}", roomy.stderr);
    assert!(roomy.json().get("warnings").is_none(), "{}", roomy.stdout);
}

#[test]
fn completions_and_the_man_page_come_from_the_flag_definitions() {
    let dir = tempfile::tempdir().unwrap();
    let bash = run(wharf("http://127.0.0.1:9", dir.path()).args(["completions", "bash"]));
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    assert!(bash.stdout.contains("_wharf()") && bash.stdout.contains("--require-route"));
    let man = run(wharf("http://127.0.0.1:9", dir.path()).arg("man"));
    assert!(man.stdout.contains(".TH wharf 1") && man.stdout.contains("register"));
    let unknown = run(wharf("http://127.0.0.1:9", dir.path()).args(["completions", "tcsh"]));
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("invalid value 'tcsh'"),
        "{}",
        unknown.stderr
    );
}

/// A loopback server that answers every request with an HTML page; counts the connections.
fn web_page_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let page = "<html><body>It works!</body></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    (format!("127.0.0.1:{}", address.port()), connections)
}

#[test]
fn a_web_server_that_is_no_control_plane_is_named_once_not_dumped_or_retried() {
    let (address, connections) = web_page_server();
    let dir = tempfile::tempdir().unwrap();
    let html = run(wharf(&format!("http://{address}"), dir.path()).arg("whoami"));
    assert_eq!(html.code, 7, "{}", html.stderr);
    assert!(
        html.stderr
            .contains("answered with a web page (HTTP 200 OK), not a control plane's API")
            && !html.stderr.contains("It works"),
        "{}",
        html.stderr
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not retried"
    );

    let tls = run(wharf(&format!("https://{address}"), dir.path()).arg("whoami"));
    assert_eq!(tls.code, 7, "{}", tls.stderr);
    assert!(
        tls.stderr
            .contains("does not speak TLS on that port (it answers plain HTTP)"),
        "{}",
        tls.stderr
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "not retried"
    );
}

#[test]
fn a_mistyped_project_gets_did_you_mean_and_the_known_ones() {
    let server = TestServer::shop();
    let typo = cli(
        &server,
        &["builds", "--project", "shopp", "--service", "api"],
    );
    assert_eq!(typo.code, 4, "{}", typo.stderr);
    assert!(
        typo.stderr
            .contains("project 'shopp' not found; did you mean 'shop'? (known: shop)"),
        "{}",
        typo.stderr
    );
}

#[test]
fn a_tag_whose_path_leads_into_a_protected_stage_is_warned_of_at_registration() {
    let server = TestServer::shop();
    let applied = apply(
        &server,
        &shop_protected(1, &[("rm2", "release-manager")]),
        &[],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let dir = tempfile::tempdir().unwrap();
    let by_tag = support::register(
        &server.url(),
        dir.path(),
        "registry.example.com/shop/api:1.4.2",
        &["--git-ref", "main"],
    );
    assert_eq!(by_tag.code, 0, "{}", by_tag.stderr);
    let warning = "leads into the protected stage 'prod', which takes images only by digest";
    assert!(by_tag.stderr.contains(warning), "{}", by_tag.stderr);
    assert!(
        by_tag.stderr.contains("copy it with `wharf push`"),
        "{}",
        by_tag.stderr
    );
    assert!(by_tag.json()["warnings"].to_string().contains(warning));

    let digest = "sha256:754bf3b38cf81ebd93434a33c28e3ca3c0457bdae8fa48ca46ca42ae6c68e5f4";
    let by_digest = support::register(
        &server.url(),
        dir.path(),
        &format!("registry.example.com/shop/api@{digest}"),
        &["--git-ref", "main", "--external-id", "by-digest"],
    );
    assert_eq!(by_digest.code, 0, "{}", by_digest.stderr);
    assert!(!by_digest.stderr.contains(warning), "{}", by_digest.stderr);
}

#[test]
fn status_shows_each_stage_and_approvals_show_names_the_image_and_who_may_approve() {
    let server = TestServer::shop();
    let applied = apply(
        &server,
        &shop_protected(1, &[("rm2", "release-manager")]),
        &[],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let dir = tempfile::tempdir().unwrap();
    let digest = "sha256:754bf3b38cf81ebd93434a33c28e3ca3c0457bdae8fa48ca46ca42ae6c68e5f4";
    let image = format!("registry.example.com/shop/api@{digest}");
    let registered = support::register(
        &server.url(),
        dir.path(),
        &image,
        &["--git-ref", "release/1"],
    );
    assert_eq!(registered.code, 0, "{}", registered.stderr);
    let build = registered.json()["artifactId"]
        .as_str()
        .unwrap()
        .to_string();

    let status = cli(
        &server,
        &["status", "--project", "shop", "--output", "json"],
    )
    .json();
    assert_eq!(
        status["stages"],
        serde_json::json!(["dev", "staging", "prod"])
    );
    let api = &status["services"][0];
    assert_eq!(api["service"], "api");
    assert_eq!(api["stages"][0]["stage"], "staging");
    assert_eq!(api["stages"][0]["image"], image);
    assert_eq!(api["stages"][0]["how"], "routed by rule shop-branches");

    let asked = cli(
        &server,
        &[
            "promote",
            "--project",
            "shop",
            "--service",
            "api",
            "--artifact-id",
            &build,
            "--output",
            "json",
        ],
    );
    assert_eq!(asked.code, 0, "{}", asked.stderr);
    let id = asked.json()["requestId"].as_str().unwrap().to_string();

    let human = cli(&server, &["status", "--project", "shop"]);
    assert!(
        human.stdout.contains("waiting for approvals:")
            && human.stdout.contains(&format!("wharf approve {id}")),
        "{}",
        human.stdout
    );
    let shown = cli(&server, &["approvals", "show", &id]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains(&format!("image     {image}"))
            && shown.stdout.contains(&format!("digest    {digest}"))
            && shown
                .stdout
                .contains("may approve (role release-manager or a server admin): ")
            && shown.stdout.contains("release-lead")
            && shown.stdout.contains("rm2"),
        "{}",
        shown.stdout
    );
    let unknown = cli(&server, &["approvals", "show", "nope"]);
    assert_eq!(unknown.code, 4, "{}", unknown.stderr);
}

#[test]
fn init_writes_a_file_that_applies_and_never_overwrites_one() {
    let server = TestServer::with_file(None);
    let dir = tempfile::tempdir().unwrap();
    let github = |command: &mut std::process::Command| {
        command
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_REPOSITORY", "acme/Shop_API")
            .env("GITHUB_REF", "refs/heads/main");
    };
    let mut command = wharf(&server.url(), dir.path());
    github(&mut command);
    let wrote = run(command.arg("init"));
    assert_eq!(wrote.code, 0, "{}", wrote.stderr);
    let file = std::fs::read_to_string(dir.path().join("wharf.toml")).unwrap();
    assert!(
        file.contains("name = \"shop-api\"") && file.contains("[[trust]]"),
        "{file}"
    );
    assert!(file.contains("repository = \"acme/Shop_API\""), "{file}");

    let mut command = wharf(&server.url(), dir.path());
    github(&mut command);
    let applied = run(command.args(["apply", "wharf.toml", "--output", "json"]));
    assert_eq!(
        applied.code, 0,
        "the file init writes applies: {}",
        applied.stderr
    );
    assert!(
        applied.json()["created"]
            .to_string()
            .contains("project shop-api")
    );

    let mut command = wharf(&server.url(), dir.path());
    github(&mut command);
    let again = run(command.arg("init"));
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("wharf.toml already exists"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("wharf.toml")).unwrap(),
        file
    );
}

#[test]
fn an_image_reference_is_checked_once_by_the_cli_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 9: a request sent would be exit 7, not 2.
    for bad in [
        "registry.example.com/Shop/API:1",
        "registry.example.com/shop/api:tag with space",
        "registry.example.com/shop/api@sha256:123",
    ] {
        let refused = run(wharf("http://127.0.0.1:9", dir.path()).args([
            "register",
            "--project",
            "shop",
            "--service",
            "api",
            "--git-ref",
            "main",
            "--image",
            bad,
        ]));
        assert_eq!(refused.code, 2, "{bad}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("is not an image reference"),
            "{bad}: {}",
            refused.stderr
        );
    }
}
