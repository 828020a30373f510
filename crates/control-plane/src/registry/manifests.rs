//! Manifests and indexes: stored verbatim once everything they reference is in the
//! repository; tags point at them.

use super::registry_audit;
use super::{Answer, Registry, RegistryCode, RegistryError, parse_digest};
use crate::domain::push::RegistryCaller;
use crate::error::{Error, quoted};
use wharf_oci::{Digest, MediaKind, is_valid_tag, referenced_descriptors};
use wharf_store::NewManifest;

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
            true => {
                let object = self
                    .cp
                    .store()
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
    ) -> Answer<Digest> {
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
            && let Some(why) = self.cp.tag_hold(name, tag, &digest.to_string()).await?
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
        let store = self.cp.store();
        for child in &children {
            let key = child.digest.to_string();
            let stored = match kind {
                MediaKind::Manifest => store.registry_blob(name, &key).await?,
                MediaKind::Index => store
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
        let manifest = NewManifest {
            repository: name,
            digest: &key,
            media_type,
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            children: &children,
            tag,
        };
        let existed = store.registry_manifest(name, &key).await?.is_some();
        let committed = self
            .commit_manifest(caller, name, &manifest, kind, existed, &staged)
            .await;
        if committed.is_err() {
            self.blobs.unstage(&staged).await;
        }
        committed?;
        Ok(digest)
    }

    /// Names the manifest's object and records the manifest, in one transaction that also
    /// marks the blobs it references as used (a garbage collection running at the same time
    /// either spares them or removed them first, and then the push is refused).
    async fn commit_manifest(
        &self,
        caller: &RegistryCaller,
        name: &str,
        manifest: &NewManifest<'_>,
        kind: MediaKind,
        existed: bool,
        staged: &super::storage::Staged,
    ) -> Answer<()> {
        let (key, tag) = (manifest.digest, manifest.tag);
        let mut tx = self.cp.store().begin().await?;
        if kind == MediaKind::Manifest {
            for child in manifest.children {
                if !tx.touch_registry_blob(name, child).await? {
                    return Err(RegistryError::new(
                        RegistryCode::ManifestBlobUnknown,
                        format!("{child} is not in {name}: push it first"),
                    ));
                }
            }
        }
        self.claim_object(&mut tx, key, staged, manifest.size)
            .await?;
        let previous = match tag {
            Some(tag) => tx.registry_tag_in_tx(name, tag).await?,
            None => None,
        };
        tx.put_registry_manifest(manifest).await?;
        let moved = previous.as_deref().is_some_and(|old| old != key);
        let unchanged = existed && (tag.is_none() || previous.as_deref() == Some(key));
        if !unchanged {
            let action = if moved {
                "REGISTRY_TAG_MOVE"
            } else {
                "REGISTRY_MANIFEST_PUSH"
            };
            let audit = registry_audit(caller, action, name)
                .meta("digest", key)
                .meta("tag", tag)
                .meta("previousDigest", previous.filter(|_| moved));
            tx.record(&audit).await?;
        }
        tx.commit().await?;
        Ok(())
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
        if let Some(why) = self.cp.manifest_hold(name, &key).await? {
            return Err(Error::conflict(why).into());
        }
        let mut tx = self.cp.store().begin().await?;
        let users = tx.registry_referrers(name, &key).await?;
        if !users.is_empty() {
            return Err(Error::conflict(format!(
                "manifest {digest} is still referenced by {}",
                users.join(", ")
            ))
            .into());
        }
        let tags = tx.registry_tags_of(name, &key).await?;
        if !tx.delete_registry_manifest(name, &key).await? {
            return Err(RegistryError::manifest_unknown(reference));
        }
        let audit = registry_audit(caller, "REGISTRY_MANIFEST_DELETE", name)
            .meta("digest", &key)
            .meta("tags", &tags);
        tx.record(&audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
