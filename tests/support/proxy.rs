//! A fault-injecting, request-counting HTTP/1.1 proxy on loopback.
//!
//! It reads one request at a time (head plus `Content-Length` body), records its method and
//! path, then applies the next scripted fault, or forwards it to the upstream over a fresh
//! connection and relays the answer. Enough HTTP for wharf's client and server, which always
//! send `Content-Length`; anything else fails the test loudly.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward the request, let the upstream act on it, then drop the connection unanswered.
    DropResponse,
    /// Close the connection without forwarding.
    Reset,
    /// Answer this status (with `Retry-After` when given) without forwarding.
    Status(u16, Option<u32>),
}

#[derive(Default)]
struct Shared {
    faults: VecDeque<Fault>,
    seen: Vec<(String, String)>,
    /// Requests with a larger body get 413, as from nginx's `client_max_body_size`.
    body_limit: Option<usize>,
}

#[derive(Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl Proxy {
    /// Starts on `runtime`, forwarding to `upstream` (`http://host:port`).
    pub fn start(runtime: &tokio::runtime::Runtime, upstream: &str, faults: Vec<Fault>) -> Self {
        let upstream: SocketAddr = upstream.trim_start_matches("http://").parse().unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared {
            faults: faults.into(),
            ..Default::default()
        }));
        let state = shared.clone();
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve_connection(client, upstream, state.clone()));
            }
        });
        Self { addr, shared }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, answers 413 to any request whose body is over `bytes`.
    pub fn limit_bodies(&self, bytes: usize) {
        self.shared.lock().unwrap().body_limit = Some(bytes);
    }

    /// Every request seen, as (method, path).
    pub fn seen(&self) -> Vec<(String, String)> {
        self.shared.lock().unwrap().seen.clone()
    }

    pub fn count(&self, method: &str) -> usize {
        self.seen().iter().filter(|(m, _)| m == method).count()
    }
}

async fn serve_connection(client: TcpStream, upstream: SocketAddr, shared: Arc<Mutex<Shared>>) {
    let mut client = BufReader::new(client);
    while let Some((head, body)) = read_message(&mut client, true).await {
        let mut request_line = head.lines().next().unwrap_or_default().split_whitespace();
        let method = request_line.next().unwrap_or_default().to_string();
        let path = request_line.next().unwrap_or_default().to_string();
        let fault = {
            let mut state = shared.lock().unwrap();
            state.seen.push((method.clone(), path));
            match state.body_limit {
                Some(limit) if body.len() > limit => Some(Fault::Status(413, None)),
                _ => state.faults.pop_front(),
            }
        };
        match fault {
            Some(Fault::Reset) => return,
            Some(Fault::Status(code, retry_after)) => {
                let retry = retry_after
                    .map(|s| format!("Retry-After: {s}\r\n"))
                    .unwrap_or_default();
                let body = r#"{"message":"injected fault","code":"FAULT"}"#;
                let answer = format!(
                    "HTTP/1.1 {code} Injected\r\n{retry}Content-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if client.get_mut().write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
            Some(Fault::DropResponse) => {
                let _ = forward(upstream, &head, &body, &method).await;
                return;
            }
            None => match forward(upstream, &head, &body, &method).await {
                Some(answer) => {
                    if client.get_mut().write_all(&answer).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
        }
    }
}

/// Sends one request upstream and answers its whole response, bytes as received (a HEAD
/// answer has a `Content-Length` but no body).
async fn forward(upstream: SocketAddr, head: &str, body: &[u8], method: &str) -> Option<Vec<u8>> {
    let stream = TcpStream::connect(upstream).await.ok()?;
    let mut stream = BufReader::new(stream);
    stream.get_mut().write_all(head.as_bytes()).await.ok()?;
    stream.get_mut().write_all(body).await.ok()?;
    let (response_head, response_body) = read_message(&mut stream, method != "HEAD").await?;
    let mut answer = response_head.into_bytes();
    answer.extend_from_slice(&response_body);
    Some(answer)
}

/// Reads a head (through the blank line) and, when `with_body`, its `Content-Length` body.
async fn read_message(
    stream: &mut BufReader<TcpStream>,
    with_body: bool,
) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let lower = head.to_ascii_lowercase();
    assert!(
        !lower.contains("transfer-encoding: chunked"),
        "proxy cannot relay chunked bodies"
    );
    let length = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().unwrap())
        .unwrap_or(0);
    let length = if with_body { length } else { 0 };
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some((head, body))
}
