//! Sending events to subscriptions: the worker every replica runs. It asks the domain for the
//! deliveries due (each subscription leased to one replica at a time, its deliveries in event
//! order), sends each as a CloudEvents structured JSON body signed as Standard Webhooks are, and
//! tells the domain how it went. What is sent, when to retry and when to give up are the
//! domain's (`domain::events`); the HTTP is here.

use crate::domain::ControlPlane;
use crate::domain::events::{Outcome, Outgoing};
use base64::Engine;
use hmac::{KeyInit, Mac};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// A replica holds a subscription for this many timeouts while it sends.
const LEASE_TIMEOUTS: u32 = 4;
/// The most of a receiver's answer that is read (and kept, in the delivery's error).
const ANSWER_CAP: usize = 512;
/// How often the worker looks for due deliveries.
const TICK: Duration = Duration::from_millis(200);

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// One second of the retry schedule (tests shorten it).
    pub second: Duration,
    /// How long a receiver has to answer (15 s; tests shorten it). A subscription is leased
    /// for four of these.
    pub timeout: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            second: Duration::from_secs(1),
            timeout: TIMEOUT,
        }
    }
}

/// Starts the worker; it runs until aborted.
pub fn spawn(cp: ControlPlane, options: WorkerOptions) -> tokio::task::JoinHandle<()> {
    let owner = format!("replica-{}", wharf_store::new_id());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let due = match cp
                .events
                .due(&owner, options.timeout * LEASE_TIMEOUTS)
                .await
            {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%error, "webhook deliveries could not be read");
                    continue;
                }
            };
            let sends = due.into_iter().map(|outgoing| {
                let cp = cp.clone();
                let owner = owner.clone();
                let (second, timeout) = (options.second, options.timeout);
                async move {
                    let outcome = send(&outgoing, timeout).await;
                    log(&outgoing, &outcome);
                    if let Err(error) = cp.events.finish(&owner, &outgoing, &outcome, second).await
                    {
                        tracing::warn!(%error, "a webhook attempt could not be recorded");
                    }
                }
            });
            futures_util::future::join_all(sends).await;
        }
    })
}

fn log(outgoing: &Outgoing, outcome: &Outcome) {
    let webhook = &outgoing.webhook.name;
    let project = &outgoing.webhook.project;
    match outcome {
        Outcome::Delivered(status) => {
            tracing::info!(%project, %webhook, event = %outgoing.event_id, status, "webhook delivered")
        }
        Outcome::Gone => {
            tracing::warn!(%project, %webhook, "webhook receiver gone (410): disabled")
        }
        Outcome::Failed { status, error, .. } => tracing::warn!(
            %project, %webhook, event = %outgoing.event_id, ?status, %error, "webhook attempt failed"
        ),
    }
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` for each secret, space-separated.
pub fn signature(secrets: &[String], id: &str, timestamp: i64, body: &str) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    secrets
        .iter()
        .map(|secret| {
            let key = engine
                .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
                .unwrap_or_default();
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key)
                .expect("HMAC takes a key of any length");
            mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
            format!("v1,{}", engine.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sends one delivery: to an address checked first and then pinned (so a name that resolves
/// elsewhere the second time reaches nothing new), without following redirects.
pub async fn send(outgoing: &Outgoing, timeout: Duration) -> Outcome {
    let failed = |error: String| Outcome::Failed {
        status: None,
        error,
        retry_after: None,
    };
    let webhook = &outgoing.webhook;
    let url = match reqwest::Url::parse(&webhook.url) {
        Ok(url) => url,
        Err(e) => return failed(format!("the URL is not valid: {e}")),
    };
    let address = match checked_address(&url, webhook.allow_private_network).await {
        Ok(address) => address,
        Err(why) => return failed(why),
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .resolve(&host, address)
        .build();
    let client = match client {
        Ok(client) => client,
        Err(e) => return failed(format!("no HTTP client: {e}")),
    };
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let signed = signature(
        &outgoing.secrets,
        &outgoing.event_id,
        timestamp,
        &outgoing.body,
    );
    let answer = client
        .post(url)
        .header("content-type", "application/cloudevents+json")
        .header("webhook-id", &outgoing.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signed)
        .header("user-agent", concat!("wharf/", env!("CARGO_PKG_VERSION")))
        .body(outgoing.body.clone())
        .send()
        .await;
    let response = match answer {
        Ok(response) => response,
        Err(e) if e.is_timeout() => {
            return failed(format!("no answer within {} ms", timeout.as_millis()));
        }
        Err(e) => return failed(format!("not reached: {}", without_url(&e))),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.min(36_000)));
    if status.is_success() {
        return Outcome::Delivered(status.as_u16());
    }
    if status == reqwest::StatusCode::GONE {
        return Outcome::Gone;
    }
    let body = capped_answer(response).await;
    let text: String = String::from_utf8_lossy(&body)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    Outcome::Failed {
        status: Some(status.as_u16()),
        error: match status.is_redirection() {
            true => format!("HTTP {status}: redirects are not followed; give the final URL"),
            false => format!("HTTP {status}: {text}"),
        },
        retry_after,
    }
}

/// At most [`ANSWER_CAP`] bytes of an answer: a receiver cannot make the worker read more.
async fn capped_answer(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < ANSWER_CAP {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(ANSWER_CAP);
    body
}

/// A transport error's words without its URL (a URL may carry a token in its query).
fn without_url(error: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    let mut last = String::from("connection failed");
    while let Some(inner) = source {
        last = inner.to_string();
        source = inner.source();
    }
    last
}

/// The address `url` resolves to, refused when it is loopback, private, link-local or
/// otherwise not public, unless the subscription allows a private network.
pub async fn checked_address(
    url: &reqwest::Url,
    allow_private: bool,
) -> Result<SocketAddr, String> {
    if url.scheme() != "https" && !(url.scheme() == "http" && allow_private) {
        return Err(format!(
            "{} is not https: events go over https only (plain http only with \
             allow_private_network)",
            url.scheme()
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| "the URL has no host".to_string())?;
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    let first = *addresses
        .first()
        .ok_or_else(|| format!("{host} resolves to no address"))?;
    if !allow_private && let Some(private) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(format!(
            "{host} resolves to {}, a private, loopback or link-local address: refused (set \
             allow_private_network = true for an in-cluster receiver)",
            private.ip()
        ));
    }
    Ok(first)
}

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 224)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn the_signature_is_standard_webhooks_v1() {
        // The example of the Standard Webhooks spec's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string();
        let body = r#"{"test": 2432232314}"#;
        let signed = signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotated_secret_signs_beside_the_new_one() {
        let secrets = vec![
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string(),
            "whsec_dGhlIG9sZCBzZWNyZXQgb2YgdGhlIHdlYmhvb2s=".to_string(),
        ];
        let signed = signature(&secrets, "id", 1, "{}");
        assert_eq!(signed.split(' ').count(), 2, "{signed}");
        assert!(signed.split(' ').all(|s| s.starts_with("v1,")));
    }

    #[tokio::test]
    async fn plain_http_and_private_addresses_are_refused_unless_allowed() {
        let loopback = reqwest::Url::parse("https://127.0.0.1:9/hook").unwrap();
        let refused = checked_address(&loopback, false).await.unwrap_err();
        assert!(
            refused.contains("private, loopback or link-local"),
            "{refused}"
        );
        assert!(checked_address(&loopback, true).await.is_ok());
        let plain = reqwest::Url::parse("http://127.0.0.1:9/hook").unwrap();
        assert!(
            checked_address(&plain, false)
                .await
                .unwrap_err()
                .contains("not https")
        );
        assert!(checked_address(&plain, true).await.is_ok());
    }
}
