//! Manifest and index media types, and the descriptors a manifest or index points to.

use crate::digest::Digest;
use serde::{Deserialize, Serialize};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Every manifest media type a copy accepts, for `Accept` headers.
pub const ACCEPTED: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// A single-platform image manifest (OCI or Docker schema 2).
    Manifest,
    /// A multi-platform index (OCI index or Docker manifest list).
    Index,
}

pub fn media_kind(media_type: &str) -> Option<MediaKind> {
    match media_type.split(';').next().unwrap_or_default().trim() {
        OCI_MANIFEST | DOCKER_MANIFEST => Some(MediaKind::Manifest),
        OCI_INDEX | DOCKER_MANIFEST_LIST => Some(MediaKind::Index),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// What a manifest or index points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// The descriptors a manifest (config, then layers) or an index (its manifests) references,
/// read without re-serialising the document; `media_type` is the one the registry answered.
pub fn referenced_descriptors(
    media_type: &str,
    bytes: &[u8],
) -> Result<(MediaKind, Vec<Descriptor>), String> {
    let document: Document =
        serde_json::from_slice(bytes).map_err(|e| format!("unreadable manifest: {e}"))?;
    let declared = document.media_type.as_deref().unwrap_or(media_type);
    let kind = media_kind(media_type)
        .or_else(|| media_kind(declared))
        .ok_or_else(|| format!("unsupported manifest media type '{media_type}'"))?;
    Ok(match kind {
        MediaKind::Manifest => {
            let config = document.config.ok_or("image manifest without a config")?;
            (
                kind,
                std::iter::once(config).chain(document.layers).collect(),
            )
        }
        MediaKind::Index => (kind, document.manifests),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_manifests_and_indexes() {
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}",
            "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{d}","size":2}},
            "layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{d}","size":3}}]}}"#,
            d = Digest::sha256_of(b"x")
        );
        let (kind, refs) = referenced_descriptors(OCI_MANIFEST, manifest.as_bytes()).unwrap();
        assert_eq!(kind, MediaKind::Manifest);
        assert_eq!(refs.len(), 2);

        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":9,
            "platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#,
            d = Digest::sha256_of(b"y")
        );
        let (kind, refs) = referenced_descriptors(DOCKER_MANIFEST_LIST, index.as_bytes()).unwrap();
        assert_eq!(kind, MediaKind::Index);
        assert_eq!(
            refs[0].platform.as_ref().unwrap().variant.as_deref(),
            Some("v8")
        );
        assert!(referenced_descriptors("text/plain", b"{}").is_err());
        assert_eq!(
            media_kind("application/vnd.oci.image.index.v1+json; charset=utf-8"),
            Some(MediaKind::Index)
        );
    }
}
