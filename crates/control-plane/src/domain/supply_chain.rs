//! The gates of protected stages: what a build must carry to enter one (`require`), checked by
//! the door whenever a build would land there (registered or attached straight in, a promotion
//! asked for and completed, a rollback, a reclassification), each time bound to the digest.
//!
//! - `signature`: a cosign signature by one of the stage's `signature_keys` (ECDSA P-256,
//!   verified here, offline): the simple-signing layers of cosign's `sha256-<hex>.sig` tag (or
//!   of a referrer of cosign's signature type), or a sigstore bundle referrer whose message
//!   signature or DSSE envelope names the digest.
//! - `sbom`: a referrer whose artifact type is an SPDX or CycloneDX document, or cosign's
//!   `sha256-<hex>.sbom` tag. Its presence is checked; its content is not.
//! - `provenance`: a statement about the digest verified by an identity token at registration;
//!   with `trusted_builders`, one whose builder the token confirmed and a glob matches.
//!
//! Signatures and SBOMs are looked up in this server's registry, where `wharf push` copies them
//! with the image; an image elsewhere has none here.

use super::Door;
use super::door::{Guard, Pinned};
use super::provenance::CheckedProvenance;
use super::trust::glob;
use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use wharf_api::project_file::{Evidence, GateMode, Protection};
use wharf_api::provenance::StatementFields;
use wharf_oci::{COSIGN_SBOM, COSIGN_SIGNATURE, ImageReference};
use wharf_store::{Audit, VERIFIED};

/// Reads the bytes of an object of the built-in registry (a manifest or blob), by its key.
pub trait ContentReader: Send + Sync {
    fn read_all<'a>(
        &'a self,
        key: &'a str,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<u8>>> + Send + 'a>>;
}

/// cosign's simple-signing payload layer, and the annotation that carries its signature.
const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Sigstore bundles (`application/vnd.dev.sigstore.bundle.v0.3+json` and its older forms).
const BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// Artifact types that are SBOMs.
const SBOM_TYPES: [&str; 6] = [
    "application/spdx+json",
    "text/spdx",
    "text/spdx+json",
    "application/vnd.cyclonedx+json",
    "application/vnd.cyclonedx+xml",
    COSIGN_SBOM,
];
/// The DER prefix of an ECDSA P-256 SubjectPublicKeyInfo, before its 65-byte point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// Most referrers of one digest a gate reads.
const MAX_REFERRERS: i64 = 256;

/// A `signature_keys` entry as ring verifies with it: the uncompressed P-256 point.
pub fn public_key_point(pem: &str) -> std::result::Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    if !pem.contains("-----BEGIN PUBLIC KEY-----") {
        return Err("is not a PEM public key (-----BEGIN PUBLIC KEY-----)".into());
    }
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("its PEM body is not base64: {e}"))?;
    match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
        Some(point) if point.len() == 65 && point[0] == 4 => Ok(point.to_vec()),
        _ => Err("is not an ECDSA P-256 public key (cosign's default key type)".into()),
    }
}

fn verifies(keys: &[Vec<u8>], message: &[u8], signature: &[u8]) -> bool {
    keys.iter().any(|key| {
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, key)
            .verify(message, signature)
            .is_ok()
    })
}

/// DSSE's pre-authentication encoding of a payload.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// What one stage found missing.
struct Missing {
    stage: String,
    mode: GateMode,
    what: Vec<String>,
}

impl Door {
    /// Where the registry's bytes are read from, set once on start.
    pub fn set_content_reader(&self, reader: Arc<dyn ContentReader>) {
        let _ = self.content.set(reader);
    }

    /// Checks what each stage of `guard` requires of the build `pinned` names (with the
    /// statement a registration brings, when it brings one): refuses when an `enforce` stage
    /// misses something, naming it; answers the warnings of `warn` stages.
    pub(super) async fn check_gates(
        &self,
        project: &str,
        guard: &Guard,
        pinned: &Pinned,
        incoming: Option<&CheckedProvenance>,
    ) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for (stage, rules) in &guard.stages {
            if rules.require.is_empty() {
                continue;
            }
            let what = self.unmet(project, rules, pinned, incoming).await?;
            if !what.is_empty() {
                missing.push(Missing {
                    stage: stage.clone(),
                    mode: rules.mode,
                    what,
                });
            }
        }
        let describe = |m: &Missing| {
            format!(
                "stage '{}' of project '{project}' requires what image {} lacks: {}",
                m.stage,
                pinned.digest,
                m.what.join("; ")
            )
        };
        let enforced: Vec<String> = missing
            .iter()
            .filter(|m| m.mode == GateMode::Enforce)
            .map(describe)
            .collect();
        if !enforced.is_empty() {
            return Err(Error::Forbidden(format!(
                "{}. Sign the image, attach what is missing, and push it with `wharf push` (which \
                 copies signatures, SBOMs and attestations with the image); docs/supply-chain.md",
                enforced.join(". ")
            )));
        }
        let warnings: Vec<String> = missing
            .iter()
            .map(|m| format!("{} (mode \"warn\": recorded, not refused)", describe(m)))
            .collect();
        if !warnings.is_empty() {
            let entry = Audit::new("wharf", "ARTIFACT", "GATE_WARNING")
                .target(&pinned.digest)
                .stack(project)
                .meta("artifactUri", &pinned.uri)
                .meta("stages", guard.names())
                .meta("warnings", &warnings);
            super::commit(self.store.begin().await?, &entry).await?;
        }
        Ok(warnings)
    }

    /// What `rules` require that the build lacks, each said with where it was looked for.
    async fn unmet(
        &self,
        project: &str,
        rules: &Protection,
        pinned: &Pinned,
        incoming: Option<&CheckedProvenance>,
    ) -> Result<Vec<String>> {
        let repository = pinned
            .uri
            .parse::<ImageReference>()
            .ok()
            .filter(|r| self.is_own_registry(&r.registry))
            .map(|r| r.repository);
        let elsewhere = || {
            format!(
                "the image is not in this server's registry ({}), where signatures and SBOMs \
                 are looked up",
                pinned.uri
            )
        };
        let mut unmet = Vec::new();
        for evidence in &rules.require {
            let lack = match evidence {
                Evidence::Signature => match &repository {
                    None => Some(format!("a signature: {}", elsewhere())),
                    Some(repo) => self.signature_lack(repo, &pinned.digest, rules).await?,
                },
                Evidence::Sbom => match &repository {
                    None => Some(format!("an SBOM: {}", elsewhere())),
                    Some(repo) => self.sbom_lack(repo, &pinned.digest).await?,
                },
                Evidence::Provenance => {
                    self.provenance_lack(project, &pinned.digest, rules, incoming)
                        .await?
                }
            };
            unmet.extend(lack);
        }
        Ok(unmet)
    }

    async fn read_object(&self, digest: &str) -> Result<Option<Vec<u8>>> {
        let Some(reader) = self.content.get() else {
            return Ok(None);
        };
        let Some(object) = self.store.registry_object(digest).await? else {
            return Ok(None);
        };
        Ok(reader.read_all(&object.object_key).await.ok())
    }

    async fn read_json(&self, digest: &str) -> Result<Option<Value>> {
        let bytes = self.read_object(digest).await?;
        Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    async fn signature_lack(
        &self,
        repository: &str,
        digest: &str,
        rules: &Protection,
    ) -> Result<Option<String>> {
        let keys: Vec<Vec<u8>> = rules
            .signature_keys
            .iter()
            .filter_map(|pem| public_key_point(pem).ok())
            .collect();
        let tag = format!("{}.sig", digest.replacen(':', "-", 1));
        let mut manifests = Vec::new();
        if let Some(found) = self.store.registry_tag(repository, &tag).await? {
            manifests.push(found);
        }
        let referrers = self
            .store
            .referrers_of(repository, digest, None, None, MAX_REFERRERS)
            .await?;
        let mut bundles = Vec::new();
        for referrer in referrers {
            match referrer.artifact_type.as_deref() {
                Some(COSIGN_SIGNATURE) => manifests.push(referrer.digest),
                Some(kind) if kind.starts_with(BUNDLE_PREFIX) => bundles.push(referrer.digest),
                _ => {}
            }
        }
        for manifest in &manifests {
            if self
                .simple_signing_verifies(manifest, digest, &keys)
                .await?
            {
                return Ok(None);
            }
        }
        for bundle in &bundles {
            if self.bundle_verifies(bundle, digest, &keys).await? {
                return Ok(None);
            }
        }
        let found = manifests.len() + bundles.len();
        Ok(Some(match found {
            0 => format!(
                "a signature: none found (cosign's {tag} tag, or a sigstore bundle referrer, in \
                 {repository})"
            ),
            n => format!(
                "a signature by one of its {} signature_keys: {n} signature(s) found in \
                 {repository}, none verifies with those keys for {digest}",
                keys.len()
            ),
        }))
    }

    /// Whether a cosign signature manifest has a simple-signing layer, signed by one of `keys`,
    /// about `digest`.
    async fn simple_signing_verifies(
        &self,
        manifest: &str,
        digest: &str,
        keys: &[Vec<u8>],
    ) -> Result<bool> {
        let Some(document) = self.read_json(manifest).await? else {
            return Ok(false);
        };
        for layer in document["layers"].as_array().into_iter().flatten() {
            if layer["mediaType"] != SIMPLE_SIGNING {
                continue;
            }
            let (Some(blob), Some(signature)) = (
                layer["digest"].as_str(),
                layer["annotations"][SIGNATURE_ANNOTATION].as_str(),
            ) else {
                continue;
            };
            let (Some(payload), Ok(signature)) = (
                self.read_object(blob).await?,
                STANDARD.decode(signature.as_bytes()),
            ) else {
                continue;
            };
            let claims: Value = serde_json::from_slice(&payload).unwrap_or_default();
            let about = &claims["critical"]["image"]["docker-manifest-digest"];
            if about == digest && verifies(keys, &payload, &signature) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether a sigstore bundle referrer signs `digest` with one of `keys`: a message
    /// signature over the image's manifest, or a DSSE envelope of an in-toto statement whose
    /// subject is the digest.
    async fn bundle_verifies(
        &self,
        manifest: &str,
        digest: &str,
        keys: &[Vec<u8>],
    ) -> Result<bool> {
        let Some(document) = self.read_json(manifest).await? else {
            return Ok(false);
        };
        for layer in document["layers"].as_array().into_iter().flatten() {
            let Some(blob) = layer["digest"].as_str() else {
                continue;
            };
            let Some(bundle) = self.read_json(blob).await? else {
                continue;
            };
            if let Some(message) = bundle.get("messageSignature") {
                let hex = digest.trim_start_matches("sha256:");
                let named = message["messageDigest"]["digest"]
                    .as_str()
                    .and_then(|d| STANDARD.decode(d).ok())
                    .is_some_and(|d| hex::encode(d) == hex);
                let signature = message["signature"]
                    .as_str()
                    .and_then(|s| STANDARD.decode(s).ok());
                if let (true, Some(signature)) = (named, signature)
                    && let Some(image) = self.read_object(digest).await?
                    && verifies(keys, &image, &signature)
                {
                    return Ok(true);
                }
            }
            if let Some(envelope) = bundle.get("dsseEnvelope")
                && dsse_verifies(envelope, digest, keys)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn sbom_lack(&self, repository: &str, digest: &str) -> Result<Option<String>> {
        let tag = format!("{}.sbom", digest.replacen(':', "-", 1));
        if self.store.registry_tag(repository, &tag).await?.is_some() {
            return Ok(None);
        }
        let referrers = self
            .store
            .referrers_of(repository, digest, None, None, MAX_REFERRERS)
            .await?;
        let is_sbom = |kind: &str| SBOM_TYPES.iter().any(|t| kind.starts_with(t));
        if referrers
            .iter()
            .any(|r| r.artifact_type.as_deref().is_some_and(is_sbom))
        {
            return Ok(None);
        }
        Ok(Some(format!(
            "an SBOM: no SPDX or CycloneDX referrer, nor cosign's {tag} tag, in {repository}"
        )))
    }

    async fn provenance_lack(
        &self,
        project: &str,
        digest: &str,
        rules: &Protection,
        incoming: Option<&CheckedProvenance>,
    ) -> Result<Option<String>> {
        let verified_incoming = incoming.filter(|p| {
            p.digest == digest
                && p.verification == wharf_api::provenance::Verification::VerifiedByIdentityToken
        });
        let (verified, builder, builder_checked) = match verified_incoming {
            Some(p) => (
                true,
                p.builder_id.clone(),
                p.checked.iter().any(|c| c == "builder"),
            ),
            None => match self.store.provenance(project, digest).await? {
                Some(row) => {
                    let checked: Vec<String> =
                        serde_json::from_str(&row.checked).unwrap_or_default();
                    (
                        row.verification == VERIFIED,
                        row.builder_id,
                        checked.iter().any(|c| c == "builder"),
                    )
                }
                None if incoming.is_some() => (false, None, false),
                None => {
                    return Ok(Some(format!(
                        "provenance: none recorded for {digest} (register it from CI with a \
                         keyless login; `wharf register` sends it)"
                    )));
                }
            },
        };
        if !verified {
            return Ok(Some(format!(
                "provenance verified by an identity token: the statement about {digest} is only \
                 reported by the client (register it from CI with a keyless login, `wharf login \
                 --oidc`)"
            )));
        }
        if rules.trusted_builders.is_empty() {
            return Ok(None);
        }
        let builder = builder.unwrap_or_default();
        if !builder_checked {
            return Ok(Some(format!(
                "a trusted builder: builder id '{builder}' was not confirmed by the identity \
                 token"
            )));
        }
        if rules
            .trusted_builders
            .iter()
            .any(|pattern| glob(pattern, &builder))
        {
            return Ok(None);
        }
        Ok(Some(format!(
            "a trusted builder: '{builder}' matches none of trusted_builders ({})",
            rules.trusted_builders.join(", ")
        )))
    }
}

/// Whether a DSSE envelope signed by one of `keys` carries an in-toto statement about `digest`.
fn dsse_verifies(envelope: &Value, digest: &str, keys: &[Vec<u8>]) -> bool {
    let (Some(payload_type), Some(payload)) = (
        envelope["payloadType"].as_str(),
        envelope["payload"]
            .as_str()
            .and_then(|p| STANDARD.decode(p).ok()),
    ) else {
        return false;
    };
    let statement: Value = serde_json::from_slice(&payload).unwrap_or_default();
    if !StatementFields(&statement)
        .subject_digests()
        .iter()
        .any(|d| d == digest)
    {
        return false;
    }
    let message = pae(payload_type, &payload);
    envelope["signatures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["sig"].as_str().and_then(|s| STANDARD.decode(s).ok()))
        .any(|signature| verifies(keys, &message, &signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    fn key_pair() -> (EcdsaKeyPair, String) {
        let random = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &random).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &random)
                .unwrap();
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(pair.public_key().as_ref());
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(spki)
        );
        (pair, pem)
    }

    #[test]
    fn a_pem_key_is_read_and_other_keys_are_refused_with_the_reason() {
        let (pair, pem) = key_pair();
        assert_eq!(public_key_point(&pem).unwrap(), pair.public_key().as_ref());
        let error = public_key_point("ssh-ed25519 AAAA").unwrap_err();
        assert!(error.contains("not a PEM public key"), "{error}");
        let rsa_like = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----";
        let error = public_key_point(rsa_like).unwrap_err();
        assert!(error.contains("not an ECDSA P-256 public key"), "{error}");
    }

    #[test]
    fn a_dsse_envelope_verifies_only_for_its_subject_and_its_key() {
        let (pair, pem) = key_pair();
        let (_, other_pem) = key_pair();
        let digest = format!("sha256:{}", "a".repeat(64));
        let statement = json!({"_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "x", "digest": {"sha256": "a".repeat(64)}}]});
        let payload = serde_json::to_vec(&statement).unwrap();
        let kind = "application/vnd.in-toto+json";
        let signature = pair
            .sign(&SystemRandom::new(), &pae(kind, &payload))
            .unwrap();
        let envelope = json!({"payloadType": kind, "payload": STANDARD.encode(&payload),
            "signatures": [{"sig": STANDARD.encode(signature.as_ref())}]});
        let key = vec![public_key_point(&pem).unwrap()];
        let other = vec![public_key_point(&other_pem).unwrap()];
        assert!(dsse_verifies(&envelope, &digest, &key));
        assert!(!dsse_verifies(&envelope, &digest, &other), "another key");
        let elsewhere = format!("sha256:{}", "b".repeat(64));
        assert!(
            !dsse_verifies(&envelope, &elsewhere, &key),
            "another subject"
        );
        let mut tampered = envelope.clone();
        tampered["payloadType"] = json!("text/plain");
        assert!(
            !dsse_verifies(&tampered, &digest, &key),
            "the type is signed too"
        );
    }
}
