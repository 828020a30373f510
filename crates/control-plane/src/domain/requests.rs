//! Requests for a change of what a stage deploys, as the store keeps them: what each kind
//! changes and the statuses a request goes through. The lowest module of the protection
//! chain: the door, promotion and protection all read it, and it reads none of them.

use super::registration::Registered;
use wharf_api::{Artifact, PromotionRequest};
use wharf_store::Origin;

pub const PENDING: &str = "PENDING";
pub const COMPLETED: &str = "COMPLETED";
pub const REJECTED: &str = "REJECTED";
pub const LAPSED: &str = "LAPSED";

/// What a request changes: the next stage of a workflow, an earlier build again, a build
/// moved by its CI's rule, or the build a stage deploys removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Promote,
    Rollback,
    Reclassify,
    Delete,
}

impl RequestKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Promote => "PROMOTE",
            Self::Rollback => "ROLLBACK",
            Self::Reclassify => "RECLASSIFY",
            Self::Delete => "DELETE",
        }
    }

    pub fn parse(name: &str) -> Self {
        match name {
            "ROLLBACK" => Self::Rollback,
            "RECLASSIFY" => Self::Reclassify,
            "DELETE" => Self::Delete,
            _ => Self::Promote,
        }
    }

    /// The origin of the build a completed request places.
    pub fn origin(self) -> Origin {
        match self {
            Self::Rollback => Origin::Rollback,
            _ => Origin::Promote,
        }
    }
}

/// What a promotion (or rollback) did: placed the build, or (a protected stage) asked for
/// approvals.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per request, moved straight into the answer
pub enum Promoted {
    Done(Registered),
    /// The request, and the source build as Facets' clients see it meanwhile.
    Pending(PromotionRequest, Artifact),
}
