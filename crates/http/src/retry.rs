//! One retry policy: how many attempts, full-jitter exponential backoff between them, the
//! server's `Retry-After` honoured, and which failures are worth another attempt.

use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// How hard to try before giving up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// The backoff ceiling of the first retry; it doubles with each retry after it.
    pub base_delay: Duration,
    /// The backoff ceiling never grows past this; a `Retry-After` may ask for up to three times
    /// as long.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // Seven attempts ride out a blip of about ten seconds (the backoff waits 6.3 to 12.6 s
        // in all): a replica restarting behind a load balancer, a database restart, an object
        // store's pause (the fault drill, benches/drill.sh, measured each).
        Self {
            attempts: 7,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// What one attempt came to.
#[derive(Debug)]
pub enum Attempt<T, E> {
    /// Finished: an answer, or a failure another attempt would not change.
    Done(Result<T, E>),
    /// Worth another attempt, after `after` when the server said so; `last` is the result when
    /// no attempt is left.
    Retry {
        why: String,
        after: Option<Duration>,
        last: Result<T, E>,
    },
}

impl RetryPolicy {
    /// `WHARF_RETRIES` (attempts, ≥ 1) and `WHARF_RETRY_BASE_MS` tune the default policy; a
    /// value that is not a number is ignored.
    pub fn from_env(env: &BTreeMap<String, String>) -> Self {
        let mut policy = Self::default();
        if let Some(attempts) = env.get("WHARF_RETRIES").and_then(|v| v.parse::<u32>().ok()) {
            policy.attempts = attempts.max(1);
        }
        if let Some(ms) = env
            .get("WHARF_RETRY_BASE_MS")
            .and_then(|v| v.parse::<u64>().ok())
        {
            policy.base_delay = Duration::from_millis(ms);
        }
        policy
    }

    /// The wait before retry number `retry` (0 for the first): full-jitter exponential backoff
    /// between half the ceiling and the ceiling, unless the server said when to come back.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay * 3);
        }
        let ceiling = self
            .base_delay
            .saturating_mul(1 << retry.min(16))
            .min(self.max_delay);
        let millis = ceiling.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
    }

    /// Runs `attempt` (told its number, from 1) until it is done or the attempts are spent,
    /// waiting between attempts as [`RetryPolicy::delay`] says.
    pub async fn run<T, E, F, Fut>(&self, mut attempt: F) -> Result<T, E>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Attempt<T, E>>,
    {
        let mut made = 0;
        loop {
            made += 1;
            match attempt(made).await {
                Attempt::Done(result) => return result,
                Attempt::Retry { why, after, last } => {
                    if made >= self.attempts.max(1) {
                        return last;
                    }
                    let wait = self.delay(made - 1, after);
                    tracing::warn!(%why, attempt = made, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// Whether a request may be sent again after it might have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reads, and writes the server deduplicates (a registration with an external id, a
    /// registry's content-addressed writes).
    Safe,
    /// Writes that could be applied twice: retried only when the server surely did not act.
    Unsafe,
}

/// Whether an answer with `status` is worth another attempt: 408 and 429 always; 500, 502 and
/// 504 only when the request may be replayed; 503 always (the server did not act).
pub fn is_retryable(status: StatusCode, replay: Replay) -> bool {
    match status.as_u16() {
        408 | 429 => true,
        500 | 502 | 503 | 504 => {
            replay == Replay::Safe || status == StatusCode::SERVICE_UNAVAILABLE
        }
        _ => false,
    }
}

/// The `Retry-After` of an answer, when it gives seconds.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A failed request in words: its kind and its causes, never its URL (which may carry a
/// query) or anything else reqwest would print.
pub fn describe_transport(error: &reqwest::Error) -> String {
    let mut text = if error.is_connect() {
        "cannot connect".to_string()
    } else if error.is_timeout() {
        "timed out".to_string()
    } else {
        "connection failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_stays_within_bounds_and_honours_retry_after() {
        let policy = RetryPolicy::default();
        for retry in 0..10 {
            let wait = policy.delay(retry, None);
            assert!(wait <= policy.max_delay, "{wait:?}");
            assert!(wait >= Duration::from_millis(100), "{wait:?}");
        }
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3600))),
            policy.max_delay * 3,
            "a Retry-After is honoured up to three times the longest backoff"
        );
    }

    #[test]
    fn writes_without_an_external_id_are_not_replayed_after_a_server_error() {
        assert!(is_retryable(StatusCode::BAD_GATEWAY, Replay::Safe));
        assert!(!is_retryable(StatusCode::BAD_GATEWAY, Replay::Unsafe));
        assert!(is_retryable(StatusCode::TOO_MANY_REQUESTS, Replay::Unsafe));
        assert!(is_retryable(
            StatusCode::SERVICE_UNAVAILABLE,
            Replay::Unsafe
        ));
        assert!(!is_retryable(StatusCode::CONFLICT, Replay::Safe));
    }

    #[test]
    fn the_environment_tunes_attempts_and_the_base_delay() {
        let env: BTreeMap<String, String> = [("WHARF_RETRIES", "0"), ("WHARF_RETRY_BASE_MS", "7")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let policy = RetryPolicy::from_env(&env);
        assert_eq!(policy.attempts, 1, "at least one attempt");
        assert_eq!(policy.base_delay, Duration::from_millis(7));
        assert_eq!(
            RetryPolicy::from_env(&BTreeMap::new()),
            RetryPolicy::default()
        );
    }

    fn quick(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn run_makes_the_policys_attempts_then_answers_the_last_result() {
        let made = AtomicU32::new(0);
        let result: Result<(), String> = quick(3)
            .run(|n| {
                made.fetch_add(1, Ordering::SeqCst);
                async move {
                    Attempt::Retry {
                        why: "HTTP 503".into(),
                        after: None,
                        last: Err(format!("failed {n} times")),
                    }
                }
            })
            .await;
        assert_eq!(result, Err("failed 3 times".into()));
        assert_eq!(made.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn run_stops_at_the_first_finished_attempt() {
        let result: Result<u32, String> = quick(5)
            .run(|n| async move {
                if n < 2 {
                    Attempt::Retry {
                        why: "dropped".into(),
                        after: Some(Duration::ZERO),
                        last: Err("dropped".into()),
                    }
                } else {
                    Attempt::Done(Ok(n))
                }
            })
            .await;
        assert_eq!(result, Ok(2));
    }
}
