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
