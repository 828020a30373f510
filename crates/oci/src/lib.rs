//! Container images as the OCI distribution protocol names them.
//!
//! This crate owns image references (the distribution grammar, with Docker's `docker.io` and
//! `library/` defaults), content digests (parsed, and verified while bytes stream past), the
//! manifest and index media types, the registry client (retrying by the shared policy of
//! `wharf-http`), the copy engine, and the image sources it reads (OCI layouts, Docker
//! archives, the Docker daemon). It knows nothing of the control plane.

mod archive;
mod client;
mod copy;
pub mod daemon;
mod digest;
pub mod docker_config;
mod listing;
mod media;
mod reference;
mod referrers;

pub use archive::{ArchiveLayout, CompressedLayer, LayerCompression, layout_from_docker_archive};
pub use client::{Credentials, RegistryClient, RegistryError, Transport};
pub use copy::{
    BlobAction, BlobStat, CopyError, CopyOptions, CopyStats, DEFAULT_CONCURRENCY, Progress,
    SharedProgress, Source, copy,
};
pub use digest::{Digest, DigestError, Verifier};
pub use media::{
    ACCEPTED, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Descriptor, MediaKind, OCI_INDEX,
    OCI_MANIFEST, Platform, media_kind, referenced_descriptors,
};
pub use reference::{
    DEFAULT_REGISTRY, ImageReference, ReferenceError, is_valid_repository, is_valid_tag,
};
pub use referrers::{
    COSIGN_ATTESTATION, COSIGN_SBOM, COSIGN_SIGNATURE, CopiedReferrer, Indexed, ReferrerFilter,
    copy_referrers, tag_scheme_tag,
};
