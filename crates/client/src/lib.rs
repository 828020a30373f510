//! wharf's whole client half (`wharf-client`): settings, the control-plane client, the
//! register, promote and push flows, and what every front end shows of them.
//!
//! This crate owns turning flags, `WHARF_*` variables and the detected CI context into a
//! [`Plan`] (exactly what will be sent), sending it with retries that never duplicate a write,
//! and describing the result as an [`Outcome`]. It never starts a control plane (the CLI does
//! that for the embedded default) and never writes to a terminal itself; but what a front end
//! shows is made here, once, so no adapter words or renders anything of its own: `report` (the
//! JSON outcome), `markdown` (job summaries, annotations, the one-line summary), `terms`
//! (messages in an adapter's option names), `no_credentials` (skip or fail without a token).
//!
//! The modules, in the order one registration passes through them: `settings` resolves the
//! [`Plan`]; `flow` runs it (push when asked, the route check, the registration, the
//! [`Outcome`]); `push` copies an image into the control plane's registry; `client` speaks to the
//! control plane. `promote` moves a build along its workflow. `printable` makes a control plane's
//! text safe for a terminal. This file only wires and re-exports.

mod client;
mod error;
mod flow;
pub mod keyless;
pub mod markdown;
pub mod no_credentials;
mod promote;
mod push;
pub mod report;
mod secret;
mod settings;
pub mod terms;

pub use client::{BuildQuery, Client, Placement, PromoteAnswer, RegisterAnswer};
pub use error::{Error, Result, exit};
pub use flow::{
    Outcome, Preview, PushOptions, Registered, preview, push_request, register, register_image,
    unrouted_message,
};
pub use keyless::connect_credentials;
pub use promote::{PromoteTarget, Promoted, promote};
pub use push::{PushRequest, Pushed, push};
pub use secret::Secret;
pub use settings::{
    Endpoint, Plan, RegisterFlags, WharfEnv, credentials, resolve, resolve_endpoint,
};
pub use terms::OptionNames;
pub use wharf_api::printable::printable;
pub use wharf_http::{Replay, RetryPolicy};
