//! What refers to an image travels with it: signatures, SBOMs and attestations, found at the
//! source by the referrers API (OCI 1.1), else by its `sha256-<hex>` tag-scheme index, and by
//! cosign's older `sha256-<hex>.sig`/`.att`/`.sbom` tags; stored at the destination by digest,
//! where a registry with the API indexes them itself (it answers `OCI-Subject`), and where it
//! does not, by keeping its tag-scheme index up to date with conditional requests.

use crate::client::RegistryClient;
use crate::copy::{CopyError, CopyOptions, CopyStats, Source, copy_blobs};
use crate::digest::Digest;
use crate::media::{MediaKind, OCI_INDEX, referenced_descriptors};
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// cosign's artifact types for what its older tags hold (as cosign names them).
pub const COSIGN_SIGNATURE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
pub const COSIGN_ATTESTATION: &str = "application/vnd.dev.cosign.artifact.att.v1+json";
pub const COSIGN_SBOM: &str = "application/vnd.dev.cosign.artifact.sbom.v1+json";

/// cosign's tag suffixes and the artifact type each is filtered by.
const COSIGN_TAGS: [(&str, &str); 3] = [
    (".sig", COSIGN_SIGNATURE),
    (".att", COSIGN_ATTESTATION),
    (".sbom", COSIGN_SBOM),
];

/// How deep referrers of referrers are followed (a signature of an SBOM is depth 2).
const MAX_DEPTH: usize = 2;
/// Attempts at a tag-scheme index another writer keeps changing.
const INDEX_ATTEMPTS: usize = 5;

/// Which referrers a push copies (`--referrers`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ReferrerFilter {
    #[default]
    All,
    None,
    /// Only these artifact types.
    Types(Vec<String>),
}

impl ReferrerFilter {
    /// `all`, `none`, or artifact types (`type/subtype`), as `--referrers` takes them.
    pub fn parse(values: &[String]) -> Result<Self, String> {
        let values: Vec<&str> = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        match values.as_slice() {
            [] | ["all"] => return Ok(Self::All),
            ["none"] => return Ok(Self::None),
            _ => {}
        }
        let mut types = Vec::new();
        for value in values {
            if value == "all" || value == "none" {
                return Err(format!(
                    "--referrers: '{value}' stands alone; give all, none, or artifact types"
                ));
            }
            let (kind, sub) = value.split_once('/').unwrap_or_default();
            if kind.is_empty() || sub.is_empty() || value.chars().any(char::is_whitespace) {
                return Err(format!(
                    "--referrers: '{value}' is not all, none or an artifactType (type/subtype, \
                     e.g. application/vnd.dev.sigstore.bundle.v0.3+json)"
                ));
            }
            types.push(value.to_string());
        }
        Ok(Self::Types(types))
    }

    fn wants(&self, artifact_type: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::None => false,
            Self::Types(types) => artifact_type.is_some_and(|t| types.iter().any(|w| w == t)),
        }
    }
}

/// How a referrer was found, or how the destination keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Indexed {
    /// The referrers API.
    ReferrersApi,
    /// A `sha256-<hex>` tag-scheme index.
    TagScheme,
    /// One of cosign's `sha256-<hex>.sig`/`.att`/`.sbom` tags.
    CosignTag,
}

/// One referrer copied.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopiedReferrer {
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The digest it refers to.
    pub subject: String,
    pub found_by: Indexed,
    pub stored_as: Indexed,
    /// cosign's tag, for what came under one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// A referrer the source lists: its descriptor's fields.
#[derive(Debug, Clone)]
struct Listed {
    media_type: String,
    digest: Digest,
    artifact_type: Option<String>,
}

/// Copies what refers to `subject` (and what refers to those, two levels deep) from the
/// source's repository into `repository` of `destination`. An OCI layout source has none.
pub async fn copy_referrers(
    source: &Source,
    destination: &RegistryClient,
    repository: &str,
    subject: &Digest,
    filter: &ReferrerFilter,
    options: &CopyOptions,
) -> Result<Vec<CopiedReferrer>, CopyError> {
    let Source::Registry {
        registry,
        repository: from,
        ..
    } = source
    else {
        return Ok(Vec::new());
    };
    if *filter == ReferrerFilter::None {
        return Ok(Vec::new());
    }
    let copier = Copier {
        source,
        registry,
        from,
        destination,
        repository,
        filter,
        options,
    };
    let mut copied = Vec::new();
    let mut subjects = vec![subject.clone()];
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for subject in &subjects {
            let found = copier.copy_of(subject).await?;
            next.extend(found.iter().filter_map(|c| c.digest.parse().ok()));
            copied.extend(found);
        }
        if next.is_empty() {
            break;
        }
        subjects = next;
    }
    Ok(copied)
}

struct Copier<'a> {
    source: &'a Source,
    registry: &'a RegistryClient,
    from: &'a str,
    destination: &'a RegistryClient,
    repository: &'a str,
    filter: &'a ReferrerFilter,
    options: &'a CopyOptions,
}

impl Copier<'_> {
    /// The referrers of one subject, copied.
    async fn copy_of(&self, subject: &Digest) -> Result<Vec<CopiedReferrer>, CopyError> {
        let (listed, found_by) = self.listed(subject).await?;
        let mut copied = Vec::new();
        let mut unindexed = Vec::new();
        for referrer in listed {
            if !self.filter.wants(referrer.artifact_type.as_deref()) {
                continue;
            }
            let (media_type, bytes) = self.fetch(&referrer.digest.to_string(), &referrer).await?;
            let document: Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let artifact_type = referrer
                .artifact_type
                .clone()
                .or_else(|| artifact_type_of(&document));
            let reference = referrer.digest.to_string();
            let answered = self.store(&reference, &media_type, &bytes).await?;
            let stored_as = match answered {
                Some(_) => Indexed::ReferrersApi,
                None => {
                    unindexed.push(index_entry(&media_type, &bytes, &artifact_type, &document));
                    Indexed::TagScheme
                }
            };
            copied.push(CopiedReferrer {
                digest: reference,
                artifact_type,
                subject: subject.to_string(),
                found_by,
                stored_as,
                tag: None,
            });
        }
        if !unindexed.is_empty() {
            self.add_to_tag_index(subject, unindexed).await?;
        }
        for (suffix, artifact_type) in COSIGN_TAGS {
            if !self.filter.wants(Some(artifact_type)) {
                continue;
            }
            let tag = format!("{}{suffix}", tag_scheme_tag(subject));
            let Some((media_type, bytes)) = self.registry.manifest(self.from, &tag).await? else {
                continue;
            };
            let listed = Listed {
                media_type: media_type.clone(),
                digest: Digest::sha256_of(&bytes),
                artifact_type: Some(artifact_type.into()),
            };
            self.copy_contents(&listed, &media_type, &bytes).await?;
            self.store(&tag, &media_type, &bytes).await?;
            copied.push(CopiedReferrer {
                digest: listed.digest.to_string(),
                artifact_type: listed.artifact_type,
                subject: subject.to_string(),
                found_by: Indexed::CosignTag,
                stored_as: Indexed::CosignTag,
                tag: Some(tag),
            });
        }
        Ok(copied)
    }

    /// What the source lists for `subject`: its referrers API, else its tag-scheme index.
    async fn listed(&self, subject: &Digest) -> Result<(Vec<Listed>, Indexed), CopyError> {
        if let Some(pages) = self.registry.referrers(self.from, subject).await? {
            let mut listed = Vec::new();
            for page in pages {
                listed.extend(index_entries(&page));
            }
            return Ok((listed, Indexed::ReferrersApi));
        }
        let tag = tag_scheme_tag(subject);
        let index = self.registry.manifest(self.from, &tag).await?;
        let listed = index.map(|(_, bytes)| index_entries(&bytes));
        Ok((listed.unwrap_or_default(), Indexed::TagScheme))
    }

    /// A referrer's manifest and everything it references, its digest checked.
    async fn fetch(
        &self,
        reference: &str,
        referrer: &Listed,
    ) -> Result<(String, Bytes), CopyError> {
        let (media_type, bytes) = self
            .registry
            .manifest(self.from, reference)
            .await?
            .ok_or_else(|| {
                CopyError::Source(format!(
                    "referrer {reference} is listed by {}/{} but not there",
                    self.registry.host(),
                    self.from
                ))
            })?;
        if Digest::sha256_of(&bytes) != referrer.digest {
            return Err(CopyError::Corrupt {
                digest: referrer.digest.to_string(),
                reason: format!(
                    "the manifest the source answered has digest {}",
                    Digest::sha256_of(&bytes)
                ),
            });
        }
        let media_type = match media_type.is_empty() {
            true => referrer.media_type.clone(),
            false => media_type,
        };
        self.copy_contents(referrer, &media_type, &bytes).await?;
        Ok((media_type, bytes))
    }

    /// The blobs (and, for an index, the manifests) a referrer references.
    async fn copy_contents(
        &self,
        referrer: &Listed,
        media_type: &str,
        bytes: &Bytes,
    ) -> Result<(), CopyError> {
        let (kind, children) = referenced_descriptors(media_type, bytes)
            .map_err(|e| CopyError::Source(format!("referrer {}: {e}", referrer.digest)))?;
        let stats = Arc::new(Mutex::new(CopyStats::default()));
        match kind {
            MediaKind::Manifest => {
                copy_blobs(
                    self.source,
                    self.destination,
                    self.repository,
                    &children,
                    self.options,
                    &stats,
                )
                .await
            }
            MediaKind::Index => {
                for child in &children {
                    let reference = child.digest.to_string();
                    let listed = Listed {
                        media_type: child.media_type.clone(),
                        digest: child.digest.clone(),
                        artifact_type: None,
                    };
                    let (child_type, child_bytes) =
                        Box::pin(self.fetch(&reference, &listed)).await?;
                    self.store(&reference, &child_type, &child_bytes).await?;
                }
                Ok(())
            }
        }
    }

    async fn store(
        &self,
        reference: &str,
        media_type: &str,
        bytes: &Bytes,
    ) -> Result<Option<String>, CopyError> {
        Ok(self
            .destination
            .put_manifest(self.repository, reference, media_type, bytes)
            .await?)
    }

    /// Adds `entries` to the destination's `sha256-<hex>` index of `subject`, by a conditional
    /// update retried while another writer changes it.
    async fn add_to_tag_index(
        &self,
        subject: &Digest,
        entries: Vec<Value>,
    ) -> Result<(), CopyError> {
        let tag = tag_scheme_tag(subject);
        for _ in 0..INDEX_ATTEMPTS {
            let current = self
                .destination
                .manifest_with_etag(self.repository, &tag)
                .await?;
            let (mut manifests, etag) = match &current {
                Some((_, bytes, etag)) => {
                    let document: Value = serde_json::from_slice(bytes).unwrap_or_default();
                    let listed = document["manifests"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    (listed, etag.clone())
                }
                None => (Vec::new(), Some(String::new())),
            };
            let before = manifests.len();
            for entry in &entries {
                if !manifests.iter().any(|m| m["digest"] == entry["digest"]) {
                    manifests.push(entry.clone());
                }
            }
            if manifests.len() == before && current.is_some() {
                return Ok(());
            }
            let index = json!({
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": manifests,
            });
            let bytes = Bytes::from(serde_json::to_vec(&index).unwrap_or_default());
            let (_, stored) = self
                .destination
                .put_manifest_if(self.repository, &tag, OCI_INDEX, &bytes, etag.as_deref())
                .await?;
            if stored {
                return Ok(());
            }
        }
        Err(CopyError::Source(format!(
            "the tag-scheme index {tag} of {}/{} kept changing under another writer; push again",
            self.destination.host(),
            self.repository
        )))
    }
}

/// `sha256-<hex>`: the tag-scheme name of `digest`'s referrers.
pub fn tag_scheme_tag(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm(), digest.hex())
}

/// The descriptors an index lists.
fn index_entries(bytes: &[u8]) -> Vec<Listed> {
    let document: Value = serde_json::from_slice(bytes).unwrap_or_default();
    document["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            Some(Listed {
                media_type: entry["mediaType"].as_str().unwrap_or_default().to_string(),
                digest: entry["digest"].as_str()?.parse().ok()?,
                artifact_type: entry["artifactType"].as_str().map(str::to_string),
            })
        })
        .collect()
}

/// A manifest's `artifactType`, else its config's media type (as the spec says to read it).
fn artifact_type_of(document: &Value) -> Option<String> {
    document["artifactType"]
        .as_str()
        .or_else(|| document["config"]["mediaType"].as_str())
        .map(str::to_string)
}

/// The descriptor a tag-scheme index lists for a referrer.
fn index_entry(
    media_type: &str,
    bytes: &[u8],
    artifact_type: &Option<String>,
    document: &Value,
) -> Value {
    let mut entry = json!({
        "mediaType": media_type,
        "digest": Digest::sha256_of(bytes).to_string(),
        "size": bytes.len(),
    });
    if let Some(kind) = artifact_type {
        entry["artifactType"] = json!(kind);
    }
    if let Some(annotations) = document.get("annotations") {
        entry["annotations"] = annotations.clone();
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<ReferrerFilter, String> {
        ReferrerFilter::parse(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_filter_takes_all_none_or_artifact_types() {
        assert_eq!(parse(&[]), Ok(ReferrerFilter::All));
        assert_eq!(parse(&["all"]), Ok(ReferrerFilter::All));
        assert_eq!(parse(&["none"]), Ok(ReferrerFilter::None));
        let types = parse(&["application/spdx+json,application/vnd.in-toto+json"]).unwrap();
        assert!(types.wants(Some("application/spdx+json")));
        assert!(types.wants(Some("application/vnd.in-toto+json")));
        assert!(!types.wants(Some("application/vnd.dev.sigstore.bundle.v0.3+json")));
        assert!(
            !types.wants(None),
            "an untyped referrer is not one of the types asked for"
        );
        let error = parse(&["all", "application/spdx+json"]).unwrap_err();
        assert!(error.contains("'all' stands alone"), "{error}");
        let error = parse(&["sbom"]).unwrap_err();
        assert!(
            error.contains("'sbom' is not all, none or an artifactType"),
            "{error}"
        );
    }

    #[test]
    fn index_entries_keep_artifact_types_and_skip_what_does_not_parse() {
        let digest = Digest::sha256_of(b"sig");
        let index = json!({"manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest.to_string(),
             "size": 3, "artifactType": COSIGN_SIGNATURE},
            {"mediaType": "x", "digest": "not-a-digest"},
        ]});
        let entries = index_entries(&serde_json::to_vec(&index).unwrap());
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].digest, digest);
        assert_eq!(entries[0].artifact_type.as_deref(), Some(COSIGN_SIGNATURE));
        assert_eq!(tag_scheme_tag(&digest), format!("sha256-{}", digest.hex()));
    }
}
