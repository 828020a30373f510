//! Manifest and index media types, and the descriptors a manifest or index points to. The
//! documents are read with `oci-spec`'s types; a copy keeps their raw bytes, so their digests
//! survive (and fields these types do not know are kept, not dropped).

use crate::digest::Digest;
use oci_spec::image::{ImageIndex, ImageManifest};
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

impl TryFrom<&oci_spec::image::Descriptor> for Descriptor {
    type Error = String;

    fn try_from(spec: &oci_spec::image::Descriptor) -> Result<Self, String> {
        Ok(Self {
            media_type: spec.media_type().to_string(),
            digest: spec
                .digest()
                .to_string()
                .parse()
                .map_err(|e: crate::DigestError| e.to_string())?,
            size: spec.size(),
            platform: spec.platform().as_ref().map(|p| Platform {
                architecture: p.architecture().to_string(),
                os: p.os().to_string(),
                variant: p.variant().clone(),
            }),
        })
    }
}

/// Ours, from `oci-spec`'s descriptors.
fn descriptors<'a>(
    spec: impl IntoIterator<Item = &'a oci_spec::image::Descriptor>,
) -> Result<Vec<Descriptor>, String> {
    spec.into_iter().map(Descriptor::try_from).collect()
}

/// The `mediaType` a manifest or index declares about itself, when it declares one.
pub(crate) fn declared_media_type(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Declared {
        media_type: Option<String>,
    }
    serde_json::from_slice::<Declared>(bytes).ok()?.media_type
}

/// The descriptors a manifest (config, then layers) or an index (its manifests) references,
/// read without re-serialising the document; `media_type` is the one the registry answered,
/// else the one the document declares.
pub fn referenced_descriptors(
    media_type: &str,
    bytes: &[u8],
) -> Result<(MediaKind, Vec<Descriptor>), String> {
    let kind = media_kind(media_type)
        .or_else(|| declared_media_type(bytes).as_deref().and_then(media_kind))
        .ok_or_else(|| format!("unsupported manifest media type '{media_type}'"))?;
    let unreadable = |e: serde_json::Error| format!("unreadable manifest: {e}");
    let referenced = match kind {
        MediaKind::Manifest => {
            let manifest: ImageManifest = serde_json::from_slice(bytes).map_err(unreadable)?;
            descriptors(std::iter::once(manifest.config()).chain(manifest.layers()))?
        }
        MediaKind::Index => {
            let index: ImageIndex = serde_json::from_slice(bytes).map_err(unreadable)?;
            descriptors(index.manifests())?
        }
    };
    Ok((kind, referenced))
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

    #[test]
    fn docker_manifests_with_unknown_fields_keep_their_media_types() {
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","x-vendor":{{"any":[1]}},
            "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{c}","size":7,"x-extra":true}},
            "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{l}","size":11}}]}}"#,
            c = Digest::sha256_of(b"config"),
            l = Digest::sha256_of(b"layer")
        );
        // A registry that answers a bare content type: the document's own mediaType decides.
        let (kind, refs) =
            referenced_descriptors("application/octet-stream", manifest.as_bytes()).unwrap();
        assert_eq!(kind, MediaKind::Manifest);
        assert_eq!(
            refs.iter()
                .map(|d| d.media_type.as_str())
                .collect::<Vec<_>>(),
            [
                "application/vnd.docker.container.image.v1+json",
                "application/vnd.docker.image.rootfs.diff.tar.gzip"
            ],
            "the config first, then the layers, with Docker's media types"
        );
        assert_eq!(refs[0].digest, Digest::sha256_of(b"config"));
        assert_eq!((refs[0].size, refs[1].size), (7, 11));

        let error = referenced_descriptors(OCI_MANIFEST, br#"{"schemaVersion":2,"layers":[]}"#)
            .unwrap_err();
        assert!(error.contains("config"), "{error}");
    }
}
