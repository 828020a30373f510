//! Manifests and indexes: stored verbatim once everything they reference is in the
//! repository; tags point at them.

use super::{Answer, Registry, RegistryError, parse_digest};
use crate::domain::push::RegistryCaller;
use crate::error::Error;
use wharf_oci::{Digest, MediaKind, referenced_descriptors};
use wharf_store::{NewManifest, new_id};

/// Manifests larger than this are refused, as the distribution spec allows.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// A stored manifest; `bytes` only when asked for (GET, not HEAD).
#[derive(Debug)]
pub struct Manifest {
    pub digest: Digest,
    pub media_type: String,
    pub size: i64,
    pub bytes: Option<Vec<u8>>,
}

/// A reference is a digest when it has an algorithm, else a tag.
fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

impl Registry {
    async fn resolve_reference(&self, name: &str, reference: &str) -> Answer<Digest> {
        if is_digest(reference) {
            return parse_digest(reference);
        }
        let digest = self
            .cp
            .store()
            .registry_tag(name, reference)
            .await?
            .ok_or_else(|| RegistryError::manifest_unknown(reference))?;
        parse_digest(&digest)
    }

    pub async fn manifest(
        &self,
        caller: &RegistryCaller,
        name: &str,
        reference: &str,
        with_bytes: bool,
    ) -> Answer<Manifest> {
        Self::may_pull(caller, name)?;
        let digest = self.resolve_reference(name, reference).await?;
        let (media_type, size) = self
            .cp
            .store()
            .registry_manifest(name, &digest.to_string())
            .await?
            .ok_or_else(|| RegistryError::manifest_unknown(reference))?;
        let bytes = match with_bytes {
            true => Some(tokio::fs::read(self.blobs.blob(&digest)).await?),
            false => None,
        };
        Ok(Manifest {
            digest,
            media_type,
            size,
            bytes,
        })
    }

    /// Stores a manifest verbatim (tagged when `reference` is a tag) once everything it
    /// references is in the repository; answers its digest.
    pub async fn put_manifest(
        &self,
        caller: &RegistryCaller,
        name: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Answer<Digest> {
        self.may_push(caller, name).await?;
        let digest = Digest::sha256_of(bytes);
        if is_digest(reference) && parse_digest(reference)? != digest {
            return Err(RegistryError::digest_invalid(format!(
                "the manifest's digest is {digest}, not {reference}"
            )));
        }
        let (kind, children) = referenced_descriptors(media_type, bytes)
            .map_err(|e| RegistryError::new(400, "MANIFEST_INVALID", e))?;
        let store = self.cp.store();
        for child in &children {
            let key = child.digest.to_string();
            let present = match kind {
                MediaKind::Manifest => store.registry_blob(name, &key).await?.is_some(),
                MediaKind::Index => store.registry_manifest(name, &key).await?.is_some(),
            };
            if !present {
                let code = match kind {
                    MediaKind::Manifest => "MANIFEST_BLOB_UNKNOWN",
                    MediaKind::Index => "MANIFEST_UNKNOWN",
                };
                return Err(RegistryError::new(
                    400,
                    code,
                    format!("{key} is not in {name}: push it first"),
                ));
            }
        }
        self.blobs.put(&new_id(), bytes, &digest).await?;
        let media_type = match media_type {
            "" => wharf_oci::OCI_MANIFEST,
            given => given,
        };
        let children: Vec<String> = children.iter().map(|c| c.digest.to_string()).collect();
        let key = digest.to_string();
        let manifest = NewManifest {
            repository: name,
            digest: &key,
            media_type,
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            children: &children,
            tag: (!is_digest(reference)).then_some(reference),
        };
        let mut tx = store.begin().await?;
        tx.put_registry_manifest(&manifest).await?;
        tx.commit().await?;
        Ok(digest)
    }

    /// Deletes a manifest, its tags and its references; refused while an index references it.
    pub async fn delete_manifest(
        &self,
        caller: &RegistryCaller,
        name: &str,
        reference: &str,
    ) -> Answer<()> {
        self.may_push(caller, name).await?;
        let digest = parse_digest(reference)?;
        let key = digest.to_string();
        let mut tx = self.cp.store().begin().await?;
        let users = tx.registry_referrers(name, &key).await?;
        if !users.is_empty() {
            return Err(Error::conflict(format!(
                "manifest {digest} is still referenced by {}",
                users.join(", ")
            ))
            .into());
        }
        if !tx.delete_registry_manifest(name, &key).await? {
            return Err(RegistryError::manifest_unknown(reference));
        }
        tx.commit().await?;
        Ok(())
    }
}
