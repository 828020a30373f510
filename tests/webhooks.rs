//! Events and webhooks end to end: a receiver on loopback that verifies every request with the
//! published `standardwebhooks` package (Python, from `.ci/venv`, pinned in
//! `.ci/requirements.txt`), a `wharf serve` whose project subscribes it, and each event type,
//! retry, redelivery and refusal. `#[ignore]`d because they need that package: `.ci/run` runs
//! them (on PostgreSQL) with `--include-ignored`.

use crate::support::client::Api;
use crate::support::registry::{Registry, manifest};
use crate::support::{self, TestServer, run, wharf};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The Python receiver, running until dropped.
struct Receiver {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
}

impl Receiver {
    /// Starts it; it answers `fail_status` to the first `fail_first` attempts of each event.
    fn start(dir: &Path, fail_first: u32, fail_status: u16) -> Self {
        Self::start_with(
            dir,
            &[
                "--fail-first",
                &fail_first.to_string(),
                "--fail-status",
                &fail_status.to_string(),
            ],
        )
    }

    fn start_with(dir: &Path, options: &[&str]) -> Self {
        let python = support::repo_root().join(".ci/venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: `bash .ci/run` (or `python3 -m venv .ci/venv && .ci/venv/bin/pip \
             install -r .ci/requirements.txt`) installs the standardwebhooks package",
            python.display()
        );
        let log = dir.join("received.jsonl");
        let mut child = std::process::Command::new(python)
            .arg(support::repo_root().join("tests/webhooks/receiver.py"))
            .arg(&log)
            .args(options)
            .env("WHARF_RECEIVER_SECRET", support::WEBHOOK_SECRET)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the receiver starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the receiver said {line:?}"));
        Self { child, port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// The requests it answered, in the order it answered them.
    fn entries(&self) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["phase"] == "answered")
            .collect()
    }

    /// Every line: arrivals and answers.
    fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits (up to 30 s) until the log satisfies `done`; answers the log.
    fn wait_until(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let entries = self.entries();
            if done(&entries) {
                return entries;
            }
            assert!(
                Instant::now() < deadline,
                "waited 30 s for {what}; received: {entries:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn types(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e["answered"] == 204)
        .filter_map(|e| e["type"].as_str().map(str::to_string))
        .collect()
}

/// The shop example with a protected prod and one subscription to `url`.
fn shop_file(dir: &Path, url: &str, events: &str) -> PathBuf {
    let shop = std::fs::read_to_string(support::shop_file()).unwrap();
    let file = dir.join("wharf.toml");
    std::fs::write(
        &file,
        format!(
            r#"{shop}
[protection.prod]
approvals = 1
approvers = ["release-manager"]

[[webhooks]]
name = "argo"
url = "{url}"
events = {events}
secret_env = "WHARF_WEBHOOK_SECRET"
allow_private_network = true
"#
        ),
    )
    .unwrap();
    file
}

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn register(server: &TestServer, service: &str, n: u8, git_ref: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let image = format!("registry.example.com/shop/{service}@{}", digest(n));
    let mut command = wharf(&server.url(), dir.path());
    command.args([
        "register",
        "--project",
        "shop",
        "--service",
        service,
        "--image",
        &image,
        "--git-ref",
        git_ref,
        "--output",
        "json",
    ]);
    let done = run(&mut command);
    assert_eq!(done.code, 0, "{}", done.stderr);
    done.json()
}

#[test]
#[ignore = "needs .ci/venv (standardwebhooks); .ci/run runs it"]
fn every_event_type_reaches_the_receiver_signed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(dir.path(), 0, 503);
    let server = TestServer::with_file(Some(shop_file(dir.path(), &receiver.url(), r#"["*"]"#)));
    let api = Api::new(server.url());
    let rt = &server.runtime;

    // build.registered, stage.changed
    let first = register(&server, "api", 1, "main");
    // build.promoted (dev → staging)
    let promoted = rt.block_on(api.promote("shop", "api", first["artifactId"].as_str().unwrap()));
    assert_eq!(promoted.status, StatusCode::OK, "{:?}", promoted.body);
    // promotion.requested, .approved, .completed (staging → protected prod)
    let staged = promoted.body["id"].as_str().unwrap().to_string();
    let asked = rt.block_on(api.promote("shop", "api", &staged));
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{:?}", asked.body);
    let lead = rt.block_on(api.member("shop", "lead", "release-manager"));
    let approved = rt.block_on(lead.approve(&asked.request_id.unwrap()));
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    // promotion.rejected
    let second = register(&server, "api", 2, "release/2");
    let asked = rt.block_on(api.promote("shop", "api", second["artifactId"].as_str().unwrap()));
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{:?}", asked.body);
    let path = format!("/wharf/v1/approvals/{}/reject", asked.request_id.unwrap());
    let (status, body) = rt.block_on(api.post(&path, json!({"reason": "not this one"})));
    assert_eq!(status, StatusCode::OK, "{body}");
    // build.rolled_back (dev had 1, then 3)
    register(&server, "api", 3, "main");
    let (status, body) = rt.block_on(api.post(
        "/wharf/v1/rollback",
        json!({"project": "shop", "service": "api", "environment": "dev"}),
    ));
    assert_eq!(status, StatusCode::OK, "{body}");
    // build.attached
    let (status, body) = rt.block_on(api.post(
        "/cc-ui/v1/artifacts/attach-image-via-register",
        json!({"resourceName": "web", "resourceType": "service", "blueprintName": "shop",
               "ciName": "web", "artifactUri": format!("registry.example.com/shop/web@{}", digest(4)),
               "registrationType": "ENVIRONMENT", "registrationValue": "dev"}),
    ));
    assert_eq!(status, StatusCode::OK, "{body}");
    // strategy.changed, then build.reclassified by web's own rule
    let unrouted = register(&server, "web", 5, "feature/x");
    assert_eq!(unrouted["classified"], false);
    let (status, body) = rt.block_on(api.put(
        "/wharf/v1/projects/shop/services/web/strategy",
        json!({"strategy": "service", "routingRules": [{"metadataKey": "BRANCH_NAME",
               "operator": "STARTS_WITH", "value": "feature/", "routeTo": "staging"}],
               "promotionOrder": ["staging", "prod"]}),
    ));
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, web) = rt.block_on(api.get("/cc-ui/v1/artifacts-ci/name/web?stackName=shop"));
    let path = format!(
        "/cc-ui/v1/artifacts/reclassify?artifactCiId={}",
        web["id"].as_str().unwrap()
    );
    let (status, body) = rt.block_on(api.put(&path, json!({})));
    assert_eq!(status, StatusCode::OK, "{body}");
    // registry.manifest_pushed
    rt.block_on(async {
        let registry = Registry::pusher(&api, &server.url(), "api").await;
        let config = registry.push_blob("shop/api", b"{}").await;
        let layer = registry.push_blob("shop/api", b"layer").await;
        let body = manifest(&config, &layer, (2, 5));
        let answer = registry
            .put_manifest("shop/api", "9.9.9", wharf_oci::OCI_MANIFEST, &body)
            .await;
        assert_eq!(answer.status(), StatusCode::CREATED);
    });

    let every: Vec<String> = wharf_api::EVENT_TYPES
        .iter()
        .map(|t| t.to_string())
        .collect();
    let entries = receiver.wait_until("every event type", |entries| {
        let got = types(entries);
        every.iter().all(|t| got.contains(t))
    });
    for entry in &entries {
        assert_eq!(
            entry["verified"], true,
            "standardwebhooks verifies it: {entry}"
        );
        assert_eq!(entry["contentType"], "application/cloudevents+json");
        let event = &entry["event"];
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["source"], "/wharf/projects/shop");
        assert_eq!(event["id"], entry["id"], "webhook-id is the event id");
    }
    let changed = entries
        .iter()
        .find(|e| e["type"] == "stage.changed" && e["event"]["data"]["stage"] == "prod")
        .expect("prod's change");
    assert_eq!(changed["event"]["data"]["new"]["digest"], digest(1));
    assert_eq!(changed["event"]["data"]["service"], "api");

    // In order: the sequence the server wrote them in, which the poller's stream shows.
    let (status, stream) = rt.block_on(api.get("/wharf/v1/events?project=shop&limit=1000"));
    assert_eq!(status, StatusCode::OK, "{stream}");
    let written: Vec<&str> = stream
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let received: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(
        received, written,
        "one delivery per event, in the order written"
    );
    let after = stream[2]["wharfseq"].as_i64().unwrap();
    let (_, rest) = rt.block_on(api.get(&format!("/wharf/v1/events?project=shop&after={after}")));
    assert_eq!(
        rest.as_array().unwrap().len(),
        written.len() - 3,
        "`after` pages the stream"
    );
}

#[test]
#[ignore = "needs .ci/venv (standardwebhooks); .ci/run runs it"]
fn a_failing_receiver_gets_the_event_on_retry_with_the_same_id_and_redelivery_works() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(dir.path(), 2, 503);
    let server = TestServer::with_file(Some(shop_file(
        dir.path(),
        &receiver.url(),
        r#"["build.registered"]"#,
    )));
    register(&server, "api", 1, "main");
    let entries = receiver.wait_until("the third attempt", |e| {
        e.iter().any(|x| x["answered"] == 204)
    });
    let ids: Vec<&Value> = entries.iter().map(|e| &e["id"]).collect();
    assert_eq!(entries.len(), 3, "two 503s, then 204: {entries:#?}");
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one webhook-id across retries"
    );
    assert_eq!(
        entries
            .iter()
            .map(|e| e["answered"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [503, 503, 204]
    );

    let api = Api::new(server.url());
    let deliveries = receiver_deliveries(&server, &api);
    assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
    let delivery = &deliveries[0];
    assert_eq!(delivery["status"], "delivered");
    assert_eq!(delivery["attempts"], 3);
    assert_eq!(delivery["lastStatus"], 204);

    // Redelivery from the CLI: the same event, the same id, once more.
    let id = delivery["id"].as_str().unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command.args(["webhooks", "redeliver", id, "--output", "json"]);
    let redelivered = run(&mut command);
    assert_eq!(redelivered.code, 0, "{}", redelivered.stderr);
    let again = receiver.wait_until("the redelivery", |e| {
        e.iter().filter(|x| x["answered"] == 204).count() == 2
    });
    assert_eq!(again.last().unwrap()["id"], entries[0]["id"]);

    // And the CLI's test event reaches it too.
    let mut command = wharf(&server.url(), dir.path());
    command.args(["webhooks", "test", "--project", "shop", "--webhook", "argo"]);
    let tested = run(&mut command);
    assert_eq!(tested.code, 0, "{}", tested.stderr);
    receiver.wait_until("the test event", |e| {
        e.iter()
            .any(|x| x["type"] == "webhook.test" && x["answered"] == 204)
    });
    let audit = server.runtime.block_on(api.audit_actions("WEBHOOK"));
    assert!(
        audit.contains(&"WEBHOOK_REDELIVER".to_string())
            && audit.contains(&"WEBHOOK_TEST".to_string()),
        "{audit:?}"
    );
}

fn receiver_deliveries(server: &TestServer, api: &Api) -> Vec<Value> {
    let (status, body) = server
        .runtime
        .block_on(api.get("/wharf/v1/projects/shop/deliveries?webhook=argo"));
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

#[test]
#[ignore = "needs .ci/venv (standardwebhooks); .ci/run runs it"]
fn a_receiver_answering_410_disables_its_subscription_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(dir.path(), 100, 410);
    let server = TestServer::with_file(Some(shop_file(dir.path(), &receiver.url(), r#"["*"]"#)));
    let api = Api::new(server.url());
    register(&server, "api", 1, "main");
    let deadline = Instant::now() + Duration::from_secs(30);
    let hooks = loop {
        let (_, hooks) = server
            .runtime
            .block_on(api.get("/wharf/v1/projects/shop/webhooks"));
        if hooks[0]["disabledAt"].is_string() || Instant::now() > deadline {
            break hooks;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        hooks[0]["disabledReason"], "the receiver answered 410 Gone",
        "{hooks}"
    );
    assert_eq!(
        receiver.entries().len(),
        1,
        "nothing more is sent to a receiver that is gone"
    );
    let disabled = server.runtime.block_on(api.audit_actions("WEBHOOK"));
    assert!(
        disabled.contains(&"WEBHOOK_DISABLE".to_string()),
        "{disabled:?}"
    );
}

/// No receiver needed: a subscription to a private address without `allow_private_network` is
/// never sent to, and plain http is refused when the file is applied.
#[test]
fn private_addresses_and_plain_http_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = shop_file(dir.path(), "https://127.0.0.1:9/hook", r#"["*"]"#);
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "allow_private_network = true",
        "allow_private_network = false",
    );
    std::fs::write(&file, &text).unwrap();
    let server = TestServer::with_file(Some(file));
    let api = Api::new(server.url());
    register(&server, "api", 1, "main");
    let deadline = Instant::now() + Duration::from_secs(30);
    let delivery = loop {
        let deliveries = receiver_deliveries(&server, &api);
        let tried = deliveries
            .into_iter()
            .find(|d| d["attempts"].as_i64().unwrap_or(0) > 0);
        if let Some(tried) = tried {
            break tried;
        }
        assert!(Instant::now() < deadline, "no attempt within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    let error = delivery["lastError"].as_str().unwrap();
    assert!(
        error.contains("127.0.0.1, a private, loopback or link-local address: refused"),
        "{error}"
    );
    assert!(
        delivery["lastStatus"].is_null(),
        "nothing was sent: {delivery}"
    );

    // Replaying or testing a subscription is a project admin's: a ci member is refused.
    let pipeline = server
        .runtime
        .block_on(api.member("shop", "pipeline", "ci"));
    let path = format!(
        "/wharf/v1/deliveries/{}/redeliver",
        delivery["id"].as_str().unwrap()
    );
    let (status, refused) = server.runtime.block_on(pipeline.post(&path, json!({})));
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("PROJECT_ADMIN"),
        "{refused}"
    );
    let (status, refused) = server
        .runtime
        .block_on(pipeline.post("/wharf/v1/projects/shop/webhooks/argo/test", json!({})));
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, missing) = server
        .runtime
        .block_on(api.get("/wharf/v1/events?project=nowhere"));
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    let (status, bad) = server
        .runtime
        .block_on(api.get("/wharf/v1/events?project=shop&limit=0"));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    let plain = text.replace(
        "https://127.0.0.1:9/hook",
        "http://receiver.example.com/hook",
    );
    std::fs::write(dir.path().join("plain.toml"), plain).unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command.args(["apply", "plain.toml"]);
    let refused = run(&mut command);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("webhooks[0].url is plain http://"),
        "{}",
        refused.stderr
    );
}

/// A new secret keeps the old one signing for the grace period: both signatures are sent.
#[test]
#[ignore = "needs .ci/venv (standardwebhooks); .ci/run runs it"]
fn a_rotated_secret_signs_beside_the_new_one_during_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(dir.path(), 0, 503);
    let file = shop_file(dir.path(), &receiver.url(), r#"["build.registered"]"#);
    let server = TestServer::with_file(Some(file.clone()));
    let rotated = std::fs::read_to_string(&file).unwrap().replace(
        "secret_env = \"WHARF_WEBHOOK_SECRET\"",
        "secret_env = \"WHARF_WEBHOOK_SECRET_ROTATED\"",
    );
    std::fs::write(&file, rotated).unwrap();
    let mut command = wharf(&server.url(), dir.path());
    command.args(["apply", "wharf.toml", "--output", "json"]);
    let applied = run(&mut command);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(applied.json()["updated"], json!(["webhook argo"]));
    register(&server, "api", 1, "main");
    let entries = receiver.wait_until("the delivery", |e| !e.is_empty());
    assert_eq!(
        entries[0]["signatures"], 2,
        "the new and the old secret sign: {entries:#?}"
    );
    assert_eq!(
        entries[0]["verified"], true,
        "the receiver still holds the old secret"
    );
}

/// Two replicas on one PostgreSQL database: while builds are registered through both, each
/// event reaches the receiver once, in order, never two deliveries of the subscription at
/// once; a replica killed (SIGKILL) while a receiver holds its request loses nothing: the
/// other one delivers it when the dead one's lease runs out.
#[test]
#[ignore = "needs WHARF_TEST_POSTGRES and .ci/venv (standardwebhooks); .ci/run runs it"]
fn two_replicas_deliver_each_event_in_order_never_at_once_and_a_killed_one_loses_nothing() {
    use std::ffi::OsStr;
    let base = std::env::var(support::POSTGRES_VAR).expect("WHARF_TEST_POSTGRES is set");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(support::fresh_postgres_database(&base));
    let dir = tempfile::tempdir().unwrap();
    // Each request held 30 ms; an event's first attempt 1.5 s more (time to kill its sender).
    let receiver =
        Receiver::start_with(dir.path(), &["--hold-ms", "30", "--hold-first-ms", "1500"]);
    let config = shop_file(dir.path(), &receiver.url(), r#"["build.registered"]"#);
    let key = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    };
    let replica = |with_config: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wharf"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("WHARF_ADMIN_USERNAME", support::ADMIN)
            .env("WHARF_ADMIN_TOKEN", support::TOKEN)
            .env("WHARF_SECRET_KEY", &key)
            .env("WHARF_WEBHOOK_SECRET", support::WEBHOOK_SECRET)
            .env("WHARF_WEBHOOK_RETRY_UNIT_MS", "5")
            .env("WHARF_WEBHOOK_TIMEOUT_MS", "2500")
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .args([OsStr::new("--database"), OsStr::new(&url)]);
        if with_config {
            command.arg("--config").arg(&config);
        }
        support::Served::launch(command)
    };
    // Only the first replica runs at first, so it is the one sending when it is killed.
    let mut first = replica(true);

    // The first event's first attempt is held: kill whichever replica is sending it.
    let api = Api::new(first.url.clone());
    let body = crate::support::client::saas(
        "main",
        "GIT_REF",
        "run-0",
        &format!("r/shop/api@{}", digest(0)),
    );
    let (status, answer) = runtime.block_on(api.post("/cc-ui/v1/ci-cd/register", body));
    assert_eq!(status, StatusCode::OK, "{answer}");
    receiver.wait_until("the first attempt to arrive", |_| {
        receiver.lines().iter().any(|l| l["phase"] == "arrived")
    });
    first.signal(libc::SIGKILL);
    let _ = first.child.wait();
    let second = replica(false);

    // Then builds through the survivor: every event arrives, the first one included.
    let survivor = Api::new(second.url.clone());
    const BUILDS: u8 = 12;
    for n in 1..=BUILDS {
        let body = crate::support::client::saas(
            "main",
            "GIT_REF",
            &format!("run-{n}"),
            &format!("r/shop/api@{}", digest(n)),
        );
        let (status, answer) = runtime.block_on(survivor.post("/cc-ui/v1/ci-cd/register", body));
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (_, stream) = runtime.block_on(survivor.get("/wharf/v1/events?project=shop&limit=1000"));
    let written: Vec<String> = stream
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "build.registered")
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(written.len(), usize::from(BUILDS) + 1);
    let entries = receiver.wait_until("every event delivered", |entries| {
        let delivered: BTreeSet<&str> = entries
            .iter()
            .filter(|e| e["answered"] == 204)
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        written.iter().all(|id| delivered.contains(id.as_str()))
    });
    for entry in &entries {
        assert_eq!(entry["verified"], true, "{entry}");
    }
    let first_event: Vec<&Value> = entries
        .iter()
        .filter(|e| e["id"] == written[0].as_str())
        .collect();
    assert!(
        first_event.len() >= 2,
        "the killed replica's delivery was sent again by the survivor: {first_event:#?}"
    );
    let (_, deliveries) =
        runtime.block_on(survivor.get("/wharf/v1/projects/shop/deliveries?limit=1000"));
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(
        deliveries.len(),
        written.len(),
        "one delivery per event: {deliveries:#?}"
    );
    assert!(
        deliveries.iter().all(|d| d["status"] == "delivered"),
        "{deliveries:#?}"
    );
    // In order: each event's first successful answer follows the previous event's.
    let first_success: Vec<&str> = {
        let mut seen = BTreeSet::new();
        entries
            .iter()
            .filter(|e| e["answered"] == 204)
            .map(|e| e["id"].as_str().unwrap())
            .filter(|id| seen.insert(*id))
            .collect()
    };
    assert_eq!(
        first_success,
        written.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // Never two at once: the answered requests' intervals do not overlap, except the one the
    // killed replica left hanging (its answer went nowhere).
    let mut spans: Vec<(f64, f64)> = entries
        .iter()
        .filter(|e| !(e["attempt"] == 1 && e["id"] == written[0].as_str()))
        .map(|e| {
            (
                e["arrivedAt"].as_f64().unwrap(),
                e["answeredAt"].as_f64().unwrap(),
            )
        })
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "two deliveries at once: {pair:?}");
    }
    let mut second = second;
    second.signal(libc::SIGTERM);
    let (_, log) = second.wait_with_log();
    let secret = support::WEBHOOK_SECRET.trim_start_matches("whsec_");
    assert!(
        !log.iter().any(|line| line.contains(secret)),
        "the webhook secret in the log"
    );
}

/// A redirect is not followed: it counts as a failed attempt, and the retry delivers.
#[test]
#[ignore = "needs .ci/venv (standardwebhooks); .ci/run runs it"]
fn a_redirect_is_not_followed_and_counts_as_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(dir.path(), 1, 302);
    let server = TestServer::with_file(Some(shop_file(
        dir.path(),
        &receiver.url(),
        r#"["build.registered"]"#,
    )));
    register(&server, "api", 1, "main");
    let entries = receiver.wait_until("the retry", |e| e.iter().any(|x| x["answered"] == 204));
    assert_eq!(entries.len(), 2, "{entries:#?}");
    assert_eq!(entries[0]["answered"], 302);
    let api = Api::new(server.url());
    let delivery = &receiver_deliveries(&server, &api)[0];
    assert_eq!(delivery["status"], "delivered");
    assert_eq!(
        delivery["attempts"], 2,
        "the 302 (with a Location back to the receiver) ended the first attempt: {delivery}"
    );
    assert_eq!(delivery["lastStatus"], 204);
}

/// A new secret key seals the webhook secrets again on start, as it does registry passwords:
/// after the old key is retired they still open.
#[test]
fn a_new_secret_key_seals_webhook_secrets_again_on_start() {
    use wharf_control_plane::domain::secrets::{SecretKey, SecretKeys, sealed_with};
    let dir = tempfile::tempdir().unwrap();
    let file = shop_file(dir.path(), "https://receiver.example.com/hook", r#"["*"]"#);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let database = runtime.block_on(support::test_database(dir.path()));
    let (old, new) = (
        SecretKey::from_bytes([0x11; 32]),
        SecretKey::from_bytes([0x22; 32]),
    );
    let start = |keys: SecretKeys| {
        let options = wharf_control_plane::ServeOptions {
            secrets: Some(keys),
            ..support::serve_options(&database, dir.path(), Some(file.clone()))
        };
        runtime
            .block_on(wharf_control_plane::start(options))
            .unwrap()
    };
    let sealed_under = |server: &wharf_control_plane::RunningServer| {
        let hooks = runtime.block_on(server.store().webhooks("shop")).unwrap();
        sealed_with(&hooks[0].secret).map(str::to_string)
    };
    let first = start(SecretKeys::new(old.clone(), None));
    assert_eq!(sealed_under(&first).as_deref(), Some(old.id()));
    runtime.block_on(first.stop()).unwrap();
    let rotating = start(SecretKeys::new(new.clone(), Some(old.clone())));
    assert_eq!(
        sealed_under(&rotating).as_deref(),
        Some(new.id()),
        "sealed again on start"
    );
    runtime.block_on(rotating.stop()).unwrap();
    // The old key retired: applying the same file opens the secret under the new one.
    let retired = start(SecretKeys::new(new.clone(), None));
    assert_eq!(sealed_under(&retired).as_deref(), Some(new.id()));
    runtime.block_on(retired.stop()).unwrap();
}

/// A receiver's `Retry-After` lengthens the wait before the next attempt: with the schedule
/// shortened to milliseconds, the retry still waits the second the receiver asked for.
#[test]
#[ignore = "needs .ci/venv (standardwebhooks); .ci/run runs it"]
fn retry_after_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start_with(
        dir.path(),
        &[
            "--fail-first",
            "1",
            "--fail-status",
            "503",
            "--retry-after",
            "1",
        ],
    );
    let server = TestServer::with_file(Some(shop_file(
        dir.path(),
        &receiver.url(),
        r#"["build.registered"]"#,
    )));
    register(&server, "api", 1, "main");
    let entries = receiver.wait_until("the retry", |e| e.iter().any(|x| x["answered"] == 204));
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let waited =
        entries[1]["arrivedAt"].as_f64().unwrap() - entries[0]["answeredAt"].as_f64().unwrap();
    // The schedule alone would wait 5 × 2 ms; Retry-After: 1 asked for a second.
    assert!(
        waited >= 1.0,
        "the retry came {waited:.3} s after the 503 with Retry-After: 1"
    );
}
