//! A fault-injecting, request-counting HTTP/1.1 proxy on loopback.
//!
//! It reads one request at a time (head plus `Content-Length` body), records its method and
//! path, then applies the next scripted fault, or forwards it to the upstream over a fresh
//! connection and relays the answer. Enough HTTP for wharf's client and server, which always
//! send `Content-Length`; anything else is recorded, and fails the test on its own thread: in
//! [`Proxy::seen`] and when the last handle is dropped.

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
    /// Forward the request, let the upstream act on it, then answer this status instead of
    /// its answer (a delete applied whose success was lost).
    ForwardThenStatus(u16),
}

#[derive(Default)]
struct Shared {
    faults: VecDeque<Fault>,
    seen: Vec<(String, String)>,
    /// The body size of every request seen, by method.
    sizes: Vec<(String, usize)>,
    /// Requests with a larger body get 413, as from nginx's `client_max_body_size`.
    body_limit: Option<usize>,
    /// What the proxy could not relay (a test bug, not a fault under test).
    unrelayable: Vec<String>,
    /// A fault for every request of a method, until cleared.
    by_method: Vec<(String, Fault)>,
}

#[derive(Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    /// Counts the test's handles (the proxy's own tasks hold `shared`, not this).
    handles: Arc<()>,
}

impl Proxy {
    /// Starts on `runtime`, forwarding to `upstream` (`http://host:port`).
    pub fn start(runtime: &tokio::runtime::Runtime, upstream: &str, faults: Vec<Fault>) -> Self {
        runtime.block_on(Self::serve(upstream, faults))
    }

    /// Starts on the current runtime.
    pub async fn serve(upstream: &str, faults: Vec<Fault>) -> Self {
        let upstream: SocketAddr = upstream.trim_start_matches("http://").parse().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared {
            faults: faults.into(),
            ..Default::default()
        }));
        let state = shared.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve_connection(client, upstream, state.clone()));
            }
        });
        Self {
            addr,
            shared,
            handles: Arc::new(()),
        }
    }

    /// From now on, applies `fault` to every `method` request (`None`: forwards them again).
    pub fn fail_every(&self, method: &str, fault: Option<Fault>) {
        let mut shared = self.shared.lock().unwrap();
        shared.by_method.retain(|(m, _)| m != method);
        if let Some(fault) = fault {
            shared.by_method.push((method.to_string(), fault));
        }
    }

    /// Applies `faults` to the next requests, one each, whatever their method.
    pub fn fail_next(&self, faults: Vec<Fault>) {
        self.shared.lock().unwrap().faults.extend(faults);
    }

    /// Faults queued by [`Proxy::fail_next`] not applied yet.
    pub fn faults_left(&self) -> usize {
        self.shared.lock().unwrap().faults.len()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, answers 413 to any request whose body is over `bytes`.
    pub fn limit_bodies(&self, bytes: usize) {
        self.shared.lock().unwrap().body_limit = Some(bytes);
    }

    /// Every request seen, as (method, path); fails the test if any could not be relayed.
    pub fn seen(&self) -> Vec<(String, String)> {
        let shared = self.shared.lock().unwrap();
        assert!(
            shared.unrelayable.is_empty(),
            "the proxy could not relay: {:?}",
            shared.unrelayable
        );
        shared.seen.clone()
    }

    /// The body sizes of the `method` requests seen, in order.
    pub fn bodies(&self, method: &str) -> Vec<usize> {
        let shared = self.shared.lock().unwrap();
        shared
            .sizes
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, size)| *size)
            .collect()
    }

    pub fn count(&self, method: &str) -> usize {
        self.seen().iter().filter(|(m, _)| m == method).count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The last handle: the test is over, and nothing may have gone unrelayed.
        if Arc::strong_count(&self.handles) == 1 && !std::thread::panicking() {
            let unrelayable = self.shared.lock().unwrap().unrelayable.clone();
            assert!(
                unrelayable.is_empty(),
                "the proxy could not relay: {unrelayable:?}"
            );
        }
    }
}

async fn serve_connection(client: TcpStream, upstream: SocketAddr, shared: Arc<Mutex<Shared>>) {
    let mut client = BufReader::new(client);
    loop {
        let (head, body) = match read_message(&mut client, true).await {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(why) => {
                shared.lock().unwrap().unrelayable.push(why);
                return;
            }
        };
        let mut request_line = head.lines().next().unwrap_or_default().split_whitespace();
        let method = request_line.next().unwrap_or_default().to_string();
        let path = request_line.next().unwrap_or_default().to_string();
        let fault = {
            let mut state = shared.lock().unwrap();
            state.seen.push((method.clone(), path));
            state.sizes.push((method.clone(), body.len()));
            let sticky = state
                .by_method
                .iter()
                .find(|(m, _)| *m == method)
                .map(|(_, fault)| fault.clone());
            match state.body_limit {
                Some(limit) if body.len() > limit => Some(Fault::Status(413, None)),
                _ => sticky.or_else(|| state.faults.pop_front()),
            }
        };
        let fault = match fault {
            Some(Fault::ForwardThenStatus(code)) => {
                let _ = forward(upstream, &head, &body, &method).await;
                Some(Fault::Status(code, None))
            }
            other => other,
        };
        match fault {
            Some(Fault::Reset) => return,
            Some(Fault::ForwardThenStatus(_)) => unreachable!("applied above"),
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
                Ok(Some(answer)) => {
                    if client.get_mut().write_all(&answer).await.is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(why) => {
                    shared.lock().unwrap().unrelayable.push(why);
                    return;
                }
            },
        }
    }
}

/// Sends one request upstream and answers its whole response, bytes as received (a HEAD
/// answer has a `Content-Length` but no body); `None` when the upstream went away.
async fn forward(
    upstream: SocketAddr,
    head: &str,
    body: &[u8],
    method: &str,
) -> Result<Option<Vec<u8>>, String> {
    let Ok(stream) = TcpStream::connect(upstream).await else {
        return Ok(None);
    };
    let mut stream = BufReader::new(stream);
    if stream.get_mut().write_all(head.as_bytes()).await.is_err()
        || stream.get_mut().write_all(body).await.is_err()
    {
        return Ok(None);
    }
    let Some((response_head, response_body)) = read_message(&mut stream, method != "HEAD").await?
    else {
        return Ok(None);
    };
    let mut answer = response_head.into_bytes();
    answer.extend_from_slice(&response_body);
    Ok(Some(answer))
}

/// Reads a head (through the blank line) and, when `with_body`, its `Content-Length` body;
/// `None` when the peer closed; an error for what this proxy cannot relay.
async fn read_message(
    stream: &mut BufReader<TcpStream>,
    with_body: bool,
) -> Result<Option<(String, Vec<u8>)>, String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match stream.read_line(&mut line).await {
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) => {}
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let lower = head.to_ascii_lowercase();
    if lower.contains("transfer-encoding: chunked") {
        return Err(format!(
            "a chunked body: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    let length = match lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
    {
        None => 0,
        Some(value) => value
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("a bad Content-Length: {value}"))?,
    };
    let length = if with_body { length } else { 0 };
    let mut body = vec![0; length];
    if stream.read_exact(&mut body).await.is_err() {
        return Ok(None);
    }
    Ok(Some((head, body)))
}
