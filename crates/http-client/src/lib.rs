//! What every HTTP client of wharf shares: the control-plane client (`wharf-registration`) and
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
