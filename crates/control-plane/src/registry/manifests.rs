//! Manifests and indexes: stored verbatim once everything they reference is in the
//! repository; tags point at them.

use super::{Answer, BuiltInRegistry, RegistryCode, RegistryError, parse_digest};
use crate::domain::push::RegistryCaller;
use crate::domain::registry_index::{NewManifest, Removal};
use crate::error::Error;
use crate::validate::quoted;
use wharf_oci::{Digest, MediaKind, is_valid_tag, referenced_descriptors};

/// Manifests larger than this are refused, as the distribution spec allows.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Most descriptors one manifest or index may list. Each is checked against the index and
/// marked used in the push's transaction, so an unbounded list is an unbounded cost per PUT
/// (26,000 fit in 4 MiB); real images stay far below (overlayfs mounts at most 128 layers).
pub const MAX_DESCRIPTORS: usize = 1024;

/// A stored manifest; `bytes` only when asked for (GET, not HEAD).
#[derive(Debug)]
pub struct Manifest {
    pub digest: Digest,
    pub media_type: String,
    pub size: i64,
    pub bytes: Option<Vec<u8>>,
}

/// A manifest stored: its digest, and the subject it names (answered as `OCI-Subject`).
#[derive(Debug)]
pub struct Pushed {
    pub digest: Digest,
    pub subject: Option<String>,
}

/// A reference is a digest when it has an algorithm, else a tag.
fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

impl BuiltInRegistry {
    async fn resolve_reference(&self, name: &str, reference: &str) -> Answer<Digest> {
        if is_digest(reference) {
            return parse_digest(reference);
        }
        let digest = self
            .cp
            .registry_index
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
            .registry_index
            .registry_manifest(name, &digest.to_string())
            .await?
            .ok_or_else(|| RegistryError::manifest_unknown(reference))?;
        let bytes = match with_bytes {
            true => {
                let object = self
                    .cp
                    .registry_index
                    .registry_object(&digest.to_string())
                    .await?
                    .ok_or_else(|| RegistryError::manifest_unknown(reference))?;
                Some(self.blobs.read_all(&object.object_key).await?)
            }
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
    ) -> Answer<Pushed> {
        self.may_push(caller, name).await?;
        let digest = Digest::sha256_of(bytes);
        if is_digest(reference) && parse_digest(reference)? != digest {
            return Err(RegistryError::digest_invalid(format!(
                "the manifest's digest is {digest}, not {reference}"
            )));
        }
        let tag = (!is_digest(reference)).then_some(reference);
        if let Some(tag) = tag
            && !is_valid_tag(tag)
        {
            return Err(RegistryError::new(
                RegistryCode::TagInvalid,
                format!(
                    "tag {} is not valid: 1 to 128 letters, digits, '_', '.' or '-', not \
                     starting with '.' or '-'",
                    quoted(tag)
                ),
            ));
        }
        if let Some(tag) = tag
            && let Some(why) = self
                .cp
                .door
                .tag_hold(name, tag, &digest.to_string())
                .await?
        {
            return Err(Error::conflict(why).into());
        }
        let (kind, children) = referenced_descriptors(media_type, bytes)
            .map_err(|e| RegistryError::new(RegistryCode::ManifestInvalid, e))?;
        if children.len() > MAX_DESCRIPTORS {
            return Err(RegistryError::new(
                RegistryCode::ManifestInvalid,
                format!(
                    "the manifest lists {} descriptors; at most {MAX_DESCRIPTORS} are taken: \
                     squash layers, or split the index",
                    children.len()
                ),
            ));
        }
        for child in &children {
            let key = child.digest.to_string();
            let stored = match kind {
                MediaKind::Manifest => self.cp.registry_index.registry_blob(name, &key).await?,
                MediaKind::Index => self
                    .cp
                    .registry_index
                    .registry_manifest(name, &key)
                    .await?
                    .map(|(_, size)| size),
            };
            let Some(stored) = stored else {
                let code = match kind {
                    MediaKind::Manifest => RegistryCode::ManifestBlobUnknown,
                    MediaKind::Index => RegistryCode::IndexChildUnknown,
                };
                return Err(RegistryError::new(
                    code,
                    format!("{key} is not in {name}: push it first"),
                ));
            };
            if u64::try_from(stored).ok() != Some(child.size) {
                return Err(RegistryError::new(
                    RegistryCode::ManifestInvalid,
                    format!(
                        "the descriptor of {key} says {} bytes, but {name} holds {stored}: fix \
                         the manifest's size field",
                        child.size
                    ),
                ));
            }
        }
        let staged = self.blobs.stage_bytes(bytes, &digest).await?;
        let media_type = match media_type {
            "" => wharf_oci::OCI_MANIFEST,
            given => given,
        };
        let children: Vec<String> = children.iter().map(|c| c.digest.to_string()).collect();
        let key = digest.to_string();
        let referrers = super::referrers::referrers_of(kind, media_type, bytes, &key, tag)?;
        let manifest = NewManifest {
            repository: name,
            digest: &key,
            media_type,
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            children: &children,
            tag,
            referrers: &referrers,
        };
        let existed = self
            .cp
            .registry_index
            .registry_manifest(name, &key)
            .await?
            .is_some();
        let committed = self
            .commit_manifest(caller, &manifest, kind, existed, &staged)
            .await;
        if committed.is_err() {
            self.blobs.unstage(&staged).await;
        }
        committed?;
        let subject = referrers
            .iter()
            .find(|r| r.digest == key)
            .map(|r| r.subject.clone());
        Ok(Pushed { digest, subject })
    }

    /// Names the manifest's object and records the manifest, in one transaction that also
    /// marks the blobs it references as used (a garbage collection running at the same time
    /// either spares them or removed them first, and then the push is refused).
    async fn commit_manifest(
        &self,
        caller: &RegistryCaller,
        manifest: &NewManifest<'_>,
        kind: MediaKind,
        existed: bool,
        staged: &super::storage::Staged,
    ) -> Answer<()> {
        let missing = self
            .cp
            .registry_index
            .commit_manifest(&self.blobs, caller, manifest, kind, existed, staged)
            .await?;
        if let Some(child) = missing {
            return Err(RegistryError::new(
                RegistryCode::ManifestBlobUnknown,
                format!("{child} is not in {}: push it first", manifest.repository),
            ));
        }
        Ok(())
    }

    /// Deletes a manifest, its tags and its references; refused while an index references
    /// it, or while a stage deploys it or a pending request pins it.
    pub async fn delete_manifest(
        &self,
        caller: &RegistryCaller,
        name: &str,
        reference: &str,
    ) -> Answer<()> {
        self.may_push(caller, name).await?;
        let digest = parse_digest(reference)?;
        match self
            .cp
            .registry_index
            .delete_registry_manifest(caller, name, &digest.to_string())
            .await?
        {
            Removal::Done => Ok(()),
            Removal::Unknown => Err(RegistryError::manifest_unknown(reference)),
            Removal::Referenced(users) => Err(Error::conflict(format!(
                "manifest {digest} is still referenced by {}",
                users.join(", ")
            ))
            .into()),
        }
    }
}
