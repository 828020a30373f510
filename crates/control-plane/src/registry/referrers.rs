//! OCI 1.1 referrers: a manifest that names a `subject` (a signature, an SBOM, a provenance
//! attestation) is listed under that subject's digest, and so is each manifest of a
//! `sha256-<hex>` tag-scheme index (what clients push to a registry without the API).
//! `GET /v2/<name>/referrers/<digest>` answers them as an image index.

use super::{Answer, BuiltInRegistry, RegistryCode, RegistryError, parse_digest};
use crate::domain::push::RegistryCaller;
use crate::domain::registry_index::Referrer;
use serde_json::{Value, json};
use wharf_oci::MediaKind;

/// Most referrers one page lists (`?n=` asks for fewer).
pub const PAGE: i64 = 256;

/// One page of a subject's referrers.
#[derive(Debug)]
pub struct ReferrersPage {
    /// The image index the API answers.
    pub index: Value,
    /// Whether the `artifactType` filter was applied (`OCI-Filters-Applied`).
    pub filtered: bool,
    /// The last digest of a full page, for the `Link` to the next.
    pub next_after: Option<String>,
}

/// The subjects a manifest refers to, as it is pushed: its own `subject`, and for an index
/// tagged `sha256-<hex>` (the tag scheme) each manifest it lists.
pub(super) fn referrers_of(
    kind: MediaKind,
    media_type: &str,
    bytes: &[u8],
    digest: &str,
    tag: Option<&str>,
) -> Answer<Vec<Referrer>> {
    let document: Value = serde_json::from_slice(bytes).map_err(|e| {
        RegistryError::new(
            RegistryCode::ManifestInvalid,
            format!("unreadable manifest: {e}"),
        )
    })?;
    let mut referrers = Vec::new();
    if let Some(subject) = document.get("subject") {
        let subject_digest = subject
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                RegistryError::new(RegistryCode::ManifestInvalid, "the subject has no digest")
            })?;
        parse_digest(subject_digest)?;
        let artifact_type = text(&document, "artifactType").or_else(|| match kind {
            MediaKind::Manifest => document.get("config").and_then(|c| text(c, "mediaType")),
            MediaKind::Index => None,
        });
        referrers.push(Referrer {
            subject: subject_digest.to_string(),
            digest: digest.to_string(),
            media_type: media_type.to_string(),
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            artifact_type,
            annotations: document.get("annotations").map(Value::to_string),
        });
    }
    if let (MediaKind::Index, Some(subject)) = (kind, tag.and_then(tag_scheme_subject)) {
        for entry in document
            .get("manifests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(child), Some(child_type)) = (text(entry, "digest"), text(entry, "mediaType"))
            else {
                continue;
            };
            referrers.push(Referrer {
                subject: subject.clone(),
                digest: child,
                media_type: child_type,
                size: entry.get("size").and_then(Value::as_i64).unwrap_or(0),
                artifact_type: text(entry, "artifactType"),
                annotations: entry.get("annotations").map(Value::to_string),
            });
        }
    }
    Ok(referrers)
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `sha256-<64 hex>` names the referrers of `sha256:<hex>` (the tag scheme).
pub fn tag_scheme_subject(tag: &str) -> Option<String> {
    let hex = tag.strip_prefix("sha256-")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| format!("sha256:{hex}"))
}

impl BuiltInRegistry {
    /// The referrers of `digest` in repository `name` (none yet: an empty index, never 404),
    /// of one `artifact_type` when given, a page of at most `n` after `after`.
    pub async fn referrers(
        &self,
        caller: &RegistryCaller,
        name: &str,
        digest: &str,
        artifact_type: Option<&str>,
        after: Option<&str>,
        n: Option<i64>,
    ) -> Answer<ReferrersPage> {
        Self::may_pull(caller, name)?;
        let subject = parse_digest(digest)?.to_string();
        let limit = n.unwrap_or(PAGE).clamp(1, PAGE);
        let rows = self
            .cp
            .registry_index
            .referrers_of(name, &subject, artifact_type, after, limit)
            .await?;
        let next_after = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.digest.clone()))
            .flatten();
        let manifests: Vec<Value> = rows
            .iter()
            .map(|r| {
                let mut entry = json!({
                    "mediaType": r.media_type,
                    "digest": r.digest,
                    "size": r.size,
                });
                if let Some(kind) = &r.artifact_type {
                    entry["artifactType"] = json!(kind);
                }
                if let Some(annotations) = r
                    .annotations
                    .as_deref()
                    .and_then(|a| serde_json::from_str::<Value>(a).ok())
                {
                    entry["annotations"] = annotations;
                }
                entry
            })
            .collect();
        Ok(ReferrersPage {
            index: json!({
                "schemaVersion": 2,
                "mediaType": wharf_oci::OCI_INDEX,
                "manifests": manifests,
            }),
            filtered: artifact_type.is_some(),
            next_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_scheme_names_a_sha256_subject_and_nothing_else() {
        let hex = "a".repeat(64);
        assert_eq!(
            tag_scheme_subject(&format!("sha256-{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(tag_scheme_subject("sha256-abc"), None);
        assert_eq!(tag_scheme_subject(&format!("sha512-{hex}")), None);
        assert_eq!(
            tag_scheme_subject(&format!("sha256-{}", "A".repeat(64))),
            None
        );
    }
}
