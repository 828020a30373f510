//! The Facets control-plane wire types, shared by the wharf client and the reference server.
//!
//! This crate owns the JSON shapes of `shared/reference/facets-api.md` with their exact
//! camelCase names, and the one rule client and server must agree on ([`classify`]: which
//! criterion routes a build). No HTTP, no storage, no validation beyond what serde does.
//! Every struct ignores unknown fields so a newer server never breaks an older client, and
//! every optional field is skipped when absent so requests stay minimal.
//!
//! Fields that only wharf's reference server sends (marked *extension*) are optional, so a
//! client reading a real Facets answer without them still works.
//!
//! One module per resource, all re-exported here: `routing` (how a build is addressed, rules,
//! [`classify`]), `artifacts` (registrations and builds), `cis`, `workflows` (and promotion
//! requests), `environments` (release streams, environments), `registries`, `access` (users, errors, audit,
//! paging); `project_file` is `wharf.toml`.

mod access;
mod artifacts;
mod cis;
mod environments;
mod events;
mod registries;
mod routing;
mod workflows;

pub use access::*;
pub use artifacts::*;
pub use cis::*;
pub use environments::*;
pub use events::*;
pub use registries::*;
pub use routing::*;
pub use workflows::*;

#[cfg(test)]
mod tests;

pub mod duration;
pub mod oidc;
pub mod printable;
pub mod project_file;
pub mod provenance;

mod names;
pub use names::{ClosedSet, UnknownValue};
pub mod lenient;
