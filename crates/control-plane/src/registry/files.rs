//! Freestyle files (WAR, JAR, ZIP…) kept in the built-in registry as OCI artifacts: the file is
//! one layer, the config is the empty descriptor, and the manifest is tagged `file-<hex>` so
//! garbage collection keeps it and a protected stage can pin it by digest like any image.

use super::blobs::BodyStream;
use super::{Answer, BuiltInRegistry, RegistryCode, RegistryError};
use crate::domain::push::RegistryCaller;
use wharf_oci::Digest;

/// The `artifactType` of a freestyle file's manifest.
pub const FREESTYLE_ARTIFACT_TYPE: &str = "application/vnd.wharf.freestyle.v1";
/// OCI's empty config (`{}`), which an artifact manifest without a config names.
const EMPTY_CONFIG: &[u8] = b"{}";
const EMPTY_CONFIG_TYPE: &str = "application/vnd.oci.empty.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// A file stored in the registry.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// The manifest that holds it: what a build's URI names (`…@sha256:…`).
    pub manifest: Digest,
    /// The file's own digest and size.
    pub digest: Digest,
    pub size: u64,
    pub tag: String,
}

impl BuiltInRegistry {
    /// Stores `body` as file `file_name` in repository `name`, wrapped in an artifact
    /// manifest; storing the same file again answers the same manifest.
    pub async fn store_file(
        &self,
        caller: &RegistryCaller,
        name: &str,
        file_name: &str,
        body: impl BodyStream,
    ) -> Answer<StoredFile> {
        let (digest, size) = self.put_blob_of_unknown_digest(caller, name, body).await?;
        if size == 0 {
            return Err(RegistryError::new(
                RegistryCode::BlobUploadInvalid,
                "the file is empty: upload the built file (WAR, JAR, ZIP…)",
            ));
        }
        let config = Digest::sha256_of(EMPTY_CONFIG);
        let config_body = futures_util::stream::iter([Ok::<_, std::io::Error>(
            bytes::Bytes::from_static(EMPTY_CONFIG),
        )]);
        let start = super::uploads::Start {
            mount: None,
            from: None,
            digest: Some(&config.to_string()),
        };
        self.start_upload(caller, name, start, config_body).await?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "artifactType": FREESTYLE_ARTIFACT_TYPE,
            "config": {"mediaType": EMPTY_CONFIG_TYPE, "digest": config.to_string(), "size": EMPTY_CONFIG.len()},
            "layers": [{
                "mediaType": "application/octet-stream",
                "digest": digest.to_string(),
                "size": size,
                "annotations": {"org.opencontainers.image.title": file_name},
            }],
        });
        let bytes = serde_json::to_vec(&manifest)
            .map_err(|e| RegistryError::from(crate::error::Error::Internal(e.to_string())))?;
        let tag = file_tag(&digest);
        let manifest = self
            .put_manifest(caller, name, &tag, MANIFEST_TYPE, &bytes)
            .await?
            .digest;
        Ok(StoredFile {
            manifest,
            digest,
            size,
            tag,
        })
    }
}

impl BuiltInRegistry {
    /// Stores `bytes` as an artifact of type `artifact_type` that refers to manifest `subject`
    /// of repository `name` (one layer, the empty config), so the referrers API lists it;
    /// answers its digest. Storing the same bytes again answers the same manifest.
    pub async fn store_referrer(
        &self,
        caller: &RegistryCaller,
        name: &str,
        subject: &Digest,
        artifact_type: &str,
        bytes: Vec<u8>,
    ) -> Answer<Digest> {
        let (subject_type, subject_size) = {
            let manifest = self
                .manifest(caller, name, &subject.to_string(), false)
                .await?;
            (manifest.media_type, manifest.size)
        };
        let layer = Digest::sha256_of(&bytes);
        let size = bytes.len();
        for (digest, body) in [
            (layer.clone(), bytes),
            (Digest::sha256_of(EMPTY_CONFIG), EMPTY_CONFIG.to_vec()),
        ] {
            let start = super::uploads::Start {
                mount: None,
                from: None,
                digest: Some(&digest.to_string()),
            };
            let body = futures_util::stream::iter([Ok::<_, std::io::Error>(body)]);
            self.start_upload(caller, name, start, body).await?;
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "artifactType": artifact_type,
            "config": {"mediaType": EMPTY_CONFIG_TYPE, "digest": Digest::sha256_of(EMPTY_CONFIG).to_string(), "size": EMPTY_CONFIG.len()},
            "layers": [{"mediaType": artifact_type, "digest": layer.to_string(), "size": size}],
            "subject": {"mediaType": subject_type, "digest": subject.to_string(), "size": subject_size},
        });
        let bytes = serde_json::to_vec(&manifest)
            .map_err(|e| RegistryError::from(crate::error::Error::Internal(e.to_string())))?;
        let digest = Digest::sha256_of(&bytes);
        self.put_manifest(caller, name, &digest.to_string(), MANIFEST_TYPE, &bytes)
            .await?;
        Ok(digest)
    }
}

/// The tag a stored file's manifest carries: `file-` and the first 16 hex digits of its digest.
fn file_tag(digest: &Digest) -> String {
    let hex = digest.to_string();
    let hex = hex.trim_start_matches("sha256:");
    format!("file-{}", &hex[..16.min(hex.len())])
}
