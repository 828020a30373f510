//! Requests for a change of what a stage deploys: what each kind changes and the statuses a
//! request goes through (closed sets, stored as text by the store). The lowest module of the protection
//! chain: the door, promotion and protection all read it, and it reads none of them.

use super::registration::StoredBuild;
use wharf_api::{Artifact, PromotionRequest};
use wharf_store::Origin;

pub use wharf_store::{RequestKind, RequestStatus};

/// The origin of the build a completed request of `kind` places.
pub fn origin_of(kind: RequestKind) -> Origin {
    match kind {
        RequestKind::Rollback => Origin::Rollback,
        _ => Origin::Promote,
    }
}

/// What a promotion (or rollback) did: placed the build, or (a protected stage) asked for
/// approvals.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per request, moved straight into the answer
pub enum Promoted {
    Done(StoredBuild),
    /// The request, and the source build as Facets' clients see it meanwhile.
    Pending(PromotionRequest, Artifact),
}
