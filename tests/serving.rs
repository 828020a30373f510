//! How `wharf serve` serves: TLS and its reload on SIGHUP, slow clients (half a request head,
//! a stalled body), the connection cap, the shutdown deadline, a panicking handler, the
//! permissions of its data, a failed first start, its log lines and its `--help`. Each runs the
//! real binary on loopback with short timeouts (`WHARF_HEADER_TIMEOUT` and friends).

use crate::support;

use base64::Engine;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{ADMIN, Served, TOKEN, shop_file};

/// Long enough for a loaded CI machine, short enough that a hang fails fast.
const PATIENCE: Duration = Duration::from_secs(20);

/// `wharf serve --listen 127.0.0.1:0 --data DATA` as the test admin, with `env` and `args`.
fn serve_command(data: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WHARF_ADMIN_USERNAME", ADMIN)
        .env("WHARF_ADMIN_TOKEN", TOKEN)
        .envs(env.iter().copied())
        .arg("serve");
    if !args.contains(&"--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    command
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn serve(data: &Path, env: &[(&str, &str)], args: &[&str]) -> Served {
    Served::launch(serve_command(data, env, args))
}

/// A `wharf serve` whose log lines can be awaited while it runs.
struct Live {
    child: std::process::Child,
    url: String,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Live {
    fn launch(mut command: Command) -> Self {
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut live = Self {
            child,
            url: String::new(),
            lines,
            seen: Vec::new(),
        };
        let line = live.wait_for(|l| l.starts_with("wharf serve: listening on "));
        live.url = line["wharf serve: listening on ".len()..].to_string();
        live
    }

    /// The first line (from now on) that `matches`; fails after [`PATIENCE`].
    fn wait_for(&mut self, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no such log line ({e}); saw:\n{:#?}", self.seen));
            assert!(!line.contains(TOKEN), "token in the server log: {line}");
            self.seen.push(line.clone());
            if matches(&line) {
                return line;
            }
        }
    }

    fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Waits (up to [`PATIENCE`]) for the process to end; answers its status and every line
    /// it logged.
    fn finish(&mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = exits_within(&mut self.child, PATIENCE).expect("the server ends");
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            assert!(!line.contains(TOKEN), "token in the server log: {line}");
            self.seen.push(line);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls until the process ends; None when it is still running after `limit`.
fn exits_within(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn connect(url: &str) -> TcpStream {
    let addr = url.split("://").nth(1).unwrap();
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

fn basic() -> String {
    let pair = format!("{ADMIN}:{TOKEN}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Reads one response (head and a Content-Length body) off a keep-alive connection.
fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut byte).expect("a response");
        assert_eq!(read, 1, "the connection closed mid-response: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

fn get(stream: &mut TcpStream, path: &str) -> (u16, String) {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    read_response(stream)
}

/// True when the server closed the connection (EOF or reset) within [`PATIENCE`].
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

// ---- TLS ----

struct Pki {
    ca: String,
    cert: String,
    key: String,
}

/// A CA and a certificate it signed for 127.0.0.1 and localhost.
fn pki(name: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, format!("wharf test CA {name}"));
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    Pki {
        ca: ca_cert.pem(),
        cert: leaf.pem(),
        key: key.serialize_pem(),
    }
}

fn install(pki: &Pki, dir: &Path) {
    std::fs::write(dir.join("cert.pem"), &pki.cert).unwrap();
    std::fs::write(dir.join("key.pem"), &pki.key).unwrap();
}

fn trusting(ca: &str) -> reqwest::Client {
    wharf_http::install_tls_provider();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        // A new connection (and handshake) for every request: a reload changes only those.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

fn tls_args(dir: &Path) -> Vec<String> {
    vec![
        "--tls-cert".into(),
        dir.join("cert.pem").display().to_string(),
        "--tls-key".into(),
        dir.join("key.pem").display().to_string(),
    ]
}

fn health(runtime: &tokio::runtime::Runtime, client: &reqwest::Client, url: &str) -> bool {
    runtime.block_on(async {
        match client.get(format!("{url}/wharf/v1/health")).send().await {
            Ok(response) => response.status() == 200,
            Err(_) => false,
        }
    })
}

#[test]
fn tls_serves_a_client_that_trusts_the_ca_and_refuses_plain_http() {
    let data = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let first = pki("one");
    install(&first, certs.path());
    let args = tls_args(certs.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let served = serve(data.path(), &[], &args);
    assert!(
        served.url.starts_with("https://127.0.0.1:"),
        "{}",
        served.url
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = trusting(&first.ca);
    let me = runtime.block_on(async {
        client
            .get(format!("{}/api/me", served.url))
            .basic_auth(ADMIN, Some(TOKEN))
            .send()
            .await
            .unwrap()
    });
    assert_eq!(me.status(), 200);

    let plain = served.url.replacen("https://", "http://", 1);
    assert!(
        !health(&runtime, &support::http(), &plain),
        "plain HTTP against the TLS port must fail"
    );
    let stranger = trusting(&pki("other").ca);
    assert!(
        !health(&runtime, &stranger, &served.url),
        "a client that does not trust the CA must fail"
    );
}

#[test]
fn sighup_reloads_the_certificate_and_a_bad_pair_keeps_the_one_in_force() {
    let data = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (first, second) = (pki("one"), pki("two"));
    install(&first, certs.path());
    let args = tls_args(certs.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut live = Live::launch(serve_command(data.path(), &[], &args));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (trusts_first, trusts_second) = (trusting(&first.ca), trusting(&second.ca));
    assert!(health(&runtime, &trusts_first, &live.url));
    assert!(!health(&runtime, &trusts_second, &live.url));

    install(&second, certs.path());
    live.signal(libc::SIGHUP);
    live.wait_for(|l| l.contains("TLS certificate and key reloaded"));
    assert!(health(&runtime, &trusts_second, &live.url));
    assert!(!health(&runtime, &trusts_first, &live.url));

    std::fs::write(certs.path().join("key.pem"), "not a key").unwrap();
    live.signal(libc::SIGHUP);
    let error = live.wait_for(|l| l.contains("not reloaded"));
    assert!(error.contains("ERROR"), "{error}");
    assert!(
        !error.contains("not a key"),
        "the key file is never quoted: {error}"
    );
    assert!(
        health(&runtime, &trusts_second, &live.url),
        "the pair in force still serves"
    );
}

// ---- slow clients, the cap, the deadline ----

#[test]
fn a_client_that_sends_half_a_request_head_is_dropped_after_the_header_timeout() {
    let data = tempfile::tempdir().unwrap();
    let served = serve(data.path(), &[("WHARF_HEADER_TIMEOUT", "300ms")], &[]);
    let mut loris = connect(&served.url);
    loris
        .write_all(b"GET /wharf/v1/health HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    let started = Instant::now();
    assert!(
        closed_by_server(&mut loris),
        "the half request is never dropped"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    // The server itself is fine.
    let mut other = connect(&served.url);
    assert_eq!(get(&mut other, "/wharf/v1/health"), (200, "ok".into()));
}

#[test]
fn sigterm_finishes_while_a_slow_loris_is_connected() {
    let data = tempfile::tempdir().unwrap();
    // Default header timeout (30 s): only shutdown can end this connection in time.
    let mut served = serve(data.path(), &[("WHARF_SHUTDOWN_TIMEOUT", "1s")], &[]);
    let mut loris = connect(&served.url);
    assert_eq!(get(&mut loris, "/wharf/v1/health").0, 200);
    loris
        .write_all(b"GET /wharf/v1/health HTTP/1.1\r\nHost: loc")
        .unwrap();
    served.signal(libc::SIGTERM);
    let status = exits_within(&mut served.child, PATIENCE).expect("SIGTERM finishes");
    assert_eq!(status.code(), Some(0));
    assert!(closed_by_server(&mut loris));
}

#[test]
fn a_request_body_that_stalls_fails_after_the_body_timeout() {
    let data = tempfile::tempdir().unwrap();
    let served = serve(data.path(), &[("WHARF_BODY_TIMEOUT", "300ms")], &[]);
    let mut stalled = connect(&served.url);
    write!(
        stalled,
        "POST /wharf/v1/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user",
        basic()
    )
    .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = stalled.read_to_end(&mut answer);
    assert!(
        started.elapsed() < PATIENCE,
        "the stalled body is waited on forever"
    );
    let answer = String::from_utf8_lossy(&answer);
    // Issue 26, finding 5: a stalled 2-byte body is a timeout (408), not "too large" (413).
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("REQUEST_TIMEOUT") && answer.contains("stalled"),
        "{answer}"
    );
}

#[test]
fn connections_over_the_cap_wait_until_one_closes() {
    let data = tempfile::tempdir().unwrap();
    let served = serve(data.path(), &[("WHARF_MAX_CONNECTIONS", "1")], &[]);
    let mut first = connect(&served.url);
    assert_eq!(get(&mut first, "/wharf/v1/health").0, 200);

    let mut second = connect(&served.url);
    second
        .write_all(b"GET /wharf/v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    // What this proves: while the one allowed connection is open, the second is not served.
    // Its absence is watched for a second, many times what a health check takes, so a slow
    // machine makes the check stricter, never falsely green; then it is served once the
    // first closes (the event that frees the slot).
    second
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut byte = [0u8; 1];
    let waited = second.read(&mut byte).unwrap_err();
    assert!(
        matches!(
            waited.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{waited}"
    );

    drop(first);
    second.set_read_timeout(Some(PATIENCE)).unwrap();
    let (status, body) = read_response(&mut second);
    assert_eq!((status, body.as_str()), (200, "ok"));
}

#[test]
fn an_in_flight_request_does_not_hold_sigterm_past_the_shutdown_deadline() {
    let data = tempfile::tempdir().unwrap();
    let mut served = Live::launch(serve_command(
        data.path(),
        &[("WHARF_SHUTDOWN_TIMEOUT", "500ms")],
        &[],
    ));
    let mut slow = connect(&served.url);
    write!(
        slow,
        "POST /wharf/v1/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n",
        basic()
    )
    .unwrap();
    // The handler reads the body: the request is in flight.
    let mut line = String::new();
    BufReader::new(&mut slow).read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 100"), "{line}");
    slow.write_all(b"{\"user").unwrap();

    let started = Instant::now();
    served.signal(libc::SIGTERM);
    let (status, log) = served.finish();
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() >= Duration::from_millis(450));
    assert!(
        log.iter().any(|l| l.contains("shutdown deadline passed")),
        "{log:#?}"
    );
}

// ---- a panicking handler ----

#[test]
fn a_panicking_handler_answers_500_and_the_connection_stays_usable() {
    let data = tempfile::tempdir().unwrap();
    let mut live = Live::launch(serve_command(data.path(), &[], &[]));
    let mut stream = connect(&live.url);
    let (status, body) = get(&mut stream, "/wharf/v1/test/panic");
    assert_eq!(status, 500);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "INTERNAL_ERROR");
    assert!(!body.to_string().contains("hunter2"), "{body}");
    assert_eq!(get(&mut stream, "/wharf/v1/health"), (200, "ok".into()));
    live.wait_for(|l| l.contains("a request handler panicked"));
}

// ---- the data directory, a failed first start ----

#[test]
fn the_data_directory_is_0700_and_its_files_0600() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("state");
    let mut served = serve(&data, &[], &["--config", shop_file().to_str().unwrap()]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let api = support::client::Api::new(served.url.clone());
    runtime.block_on(async {
        let (status, creds) = api
            .post(
                "/cc-ui/v1/ci-cd/pushCredentials",
                serde_json::json!({"blueprintName": "shop", "artifactory": "default",
                    "applicationName": "api"}),
            )
            .await;
        assert_eq!(status, 200, "{creds}");
        let bytes = b"a layer".to_vec();
        let digest = wharf_oci::Digest::sha256_of(&bytes);
        let pushed = support::http()
            .post(format!(
                "{}/v2/shop/api/blobs/uploads/?digest={digest}",
                served.url
            ))
            .basic_auth(
                creds["username"].as_str().unwrap(),
                creds["password"].as_str(),
            )
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(pushed.status(), 201);
    });
    served.signal(libc::SIGTERM);
    served.wait();

    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data directory");
    let mut checked = 0;
    for entry in walk(&data) {
        let expected = if entry.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&entry), expected, "{}", entry.display());
        checked += 1;
    }
    assert!(data.join("wharf.db").exists());
    let blobs: Vec<_> = walk(&data.join("registry/blobs"))
        .into_iter()
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(blobs.len(), 1, "the pushed blob: {blobs:?}");
    assert!(checked > 3);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}

#[test]
fn a_failed_first_start_leaves_no_database_behind() {
    let root = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let bad_file = root.path().join("bad.toml");
    std::fs::write(&bad_file, "this is = = not toml").unwrap();
    // (case, flags, admin token, what the error says)
    let cases: [(&str, Vec<&str>, &str, &str); 4] = [
        (
            "missing config",
            vec!["--config", "/nonexistent/wharf.toml"],
            TOKEN,
            "cannot read project file",
        ),
        (
            "bad config",
            vec!["--config", bad_file.to_str().unwrap()],
            TOKEN,
            "bad.toml",
        ),
        (
            "port in use",
            vec!["--listen", &taken],
            TOKEN,
            "cannot listen on",
        ),
        ("short admin token", vec![], "short", "too short"),
    ];
    for (case, args, token, reason) in cases {
        for existing in [false, true] {
            let data = root.path().join(format!("{case}-{existing}"));
            if existing {
                std::fs::create_dir(&data).unwrap();
            }
            let mut command = serve_command(&data, &[("WHARF_ADMIN_TOKEN", token)], &args);
            let output = command.stderr(Stdio::piped()).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{case}: {stderr}");
            assert!(stderr.contains(reason), "{case}: {stderr}");
            assert!(
                !data.join("wharf.db").exists(),
                "{case}: a wharf.db was left behind"
            );
            assert!(!data.join("registry").exists(), "{case}");
            assert_eq!(data.exists(), existing, "{case}: the directory");
        }
    }
}

// ---- logs and help ----

#[test]
fn logs_to_a_pipe_have_no_colours_and_one_line_per_request_without_the_query() {
    let data = tempfile::tempdir().unwrap();
    let mut served = Live::launch(serve_command(
        data.path(),
        &[],
        &["--config", shop_file().to_str().unwrap()],
    ));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = support::http();
        let me = http
            .get(format!("{}/api/me", served.url))
            .basic_auth(ADMIN, Some(TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        let health = http
            .get(format!(
                "{}/wharf/v1/health?token=query-SECRET-77",
                served.url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
    });
    served.signal(libc::SIGTERM);
    let (_, log) = served.finish();
    let text = log.join("\n");
    assert!(
        !text.contains('\x1b'),
        "ANSI escapes in a piped log:\n{text}"
    );
    assert!(
        !text.contains("query-SECRET-77"),
        "the query string was logged:\n{text}"
    );
    let line = |path: &str| {
        log.iter()
            .find(|l| {
                l.contains(&format!("path=\"{path}\"")) || l.contains(&format!("path={path} "))
            })
            .unwrap_or_else(|| panic!("no request line for {path}:\n{text}"))
            .clone()
    };
    let me = line("/api/me");
    for part in [
        " INFO ",
        "method=GET",
        "status=200",
        "latency_ms=",
        "user=\"admin\"",
    ] {
        assert!(me.contains(part), "{part} in {me}");
    }
    assert!(line("/wharf/v1/health").contains("user=\"-\""));
    assert!(
        !text.contains("non-loopback"),
        "no warning on loopback:\n{text}"
    );
}

#[test]
fn a_non_loopback_address_without_tls_is_warned_about() {
    // 192.0.2.1 (TEST-NET-1) is on no interface: the warning comes, then the bind fails, so
    // nothing is ever exposed.
    let data = tempfile::tempdir().unwrap();
    let output = serve_command(data.path(), &[], &["--listen", "192.0.2.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("WARN") && stderr.contains("non-loopback address"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot listen on 192.0.2.1:0"), "{stderr}");

    let certs = tempfile::tempdir().unwrap();
    install(&pki("one"), certs.path());
    let mut args = tls_args(certs.path());
    args.extend(["--listen".into(), "192.0.2.1:0".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = serve_command(data.path(), &[], &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("non-loopback"),
        "TLS needs no warning: {stderr}"
    );
}

#[test]
fn serve_help_names_each_variable_once_and_no_client_flags() {
    let help = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .env_clear()
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        String::from_utf8(output.stdout).unwrap()
    };
    let serve = help(&["serve", "--help"]);
    assert_eq!(serve.matches("WHARF_DATABASE_URL").count(), 1, "{serve}");
    for flag in ["--control-plane", "--token-file", "--output"] {
        assert!(!serve.contains(flag), "{flag} in serve's help:\n{serve}");
    }
    assert!(serve.contains("Usage: wharf serve [OPTIONS]"), "{serve}");
    assert_eq!(
        serve.matches("WHARF_BLOB_STORE ").count() + serve.matches("WHARF_BLOB_STORE]").count(),
        1,
        "{serve}"
    );
    for flag in [
        "--tls-cert",
        "--tls-key",
        "--header-timeout",
        "--shutdown-timeout",
    ] {
        assert!(serve.contains(flag), "{flag} missing:\n{serve}");
    }
    let register = help(&["register", "--help"]);
    for flag in ["--control-plane", "--token-file", "--output"] {
        assert!(register.contains(flag), "{flag} in register's help");
    }

    // The client flags still parse on either side of a client command, and serve still
    // honours --output json for its own errors.
    let data = tempfile::tempdir().unwrap();
    for args in [
        &["--output", "json", "serve", "--config", "/nonexistent.toml"][..],
        &["serve", "--output", "json", "--config", "/nonexistent.toml"][..],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .env_clear()
            .args(args)
            .arg("--data")
            .arg(data.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {:?}", output));
        assert!(
            json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("nonexistent.toml")
        );
    }
}
