//! What every HTTP client of wharf shares: the control-plane client (`wharf-client`) and
//! the registry client (`wharf-oci`) retry by one [`RetryPolicy`] (so `WHARF_RETRIES` governs
//! registering and pushing alike), decide alike which answers may be sent again, describe a
//! failed connection alike, and percent-encode path segments and query values alike.
//!
//! This crate sends no request of its own and knows no endpoint: the clients build on it. It
//! must not depend on any other wharf crate.

mod encode;
mod retry;

pub use encode::{COMPONENT, encode};
pub use retry::{Attempt, Replay, RetryPolicy, describe_transport, is_retryable, retry_after};

/// Makes ring the process's TLS provider, once, before any HTTP client is built: reqwest is
/// built without a provider of its own (its default, aws-lc-rs, would double the binaries'
/// crypto). Every client of wharf, and every test that builds one, calls this first.
pub fn install_tls_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // An error means another provider is installed already; that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Whether `host` (a name, an IPv4 or a bracketed IPv6 address, no port) is this machine's
/// loopback: the one check every loopback exception uses.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod loopback_tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_names_and_addresses_and_nothing_else() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.8.9.1",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "localhost.example",
            "10.0.0.1",
            "[::2]",
            "",
            "wharf-issuer.example.com",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
