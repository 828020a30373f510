//! OCI image layouts on disk, written byte by byte for the push tests: blobs, a one-platform
//! image, and the layout's `index.json`.

use std::path::Path;
use wharf_oci::Digest;

/// Writes `bytes` as a blob of the layout at `dir`; answers its descriptor JSON.
pub fn blob(dir: &Path, media_type: &str, bytes: &[u8], extra: &str) -> (Digest, String) {
    let digest = Digest::sha256_of(bytes);
    let path = dir.join("blobs/sha256");
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join(digest.hex()), bytes).unwrap();
    let descriptor = format!(
        r#"{{"mediaType":"{media_type}","digest":"{digest}","size":{}{extra}}}"#,
        bytes.len()
    );
    (digest, descriptor)
}

/// A one-platform image manifest with a config and two layers; answers (digest, descriptor).
pub fn image(dir: &Path, seed: &str, platform: &str) -> (Digest, String, Vec<u8>) {
    let (_, config) = blob(
        dir,
        "application/vnd.oci.image.config.v1+json",
        format!(r#"{{"os":"linux","seed":"{seed}"}}"#).as_bytes(),
        "",
    );
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| ((i * 7) % 253) as u8)
        .chain(seed.bytes())
        .collect();
    let (_, layer1) = blob(dir, "application/vnd.oci.image.layer.v1.tar", &big, "");
    let (_, layer2) = blob(
        dir,
        "application/vnd.oci.image.layer.v1.tar",
        format!("small {seed}").as_bytes(),
        "",
    );
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{config},"layers":[{layer1},{layer2}]}}"#,
        wharf_oci::OCI_MANIFEST
    );
    let (digest, descriptor) = blob(dir, wharf_oci::OCI_MANIFEST, manifest.as_bytes(), platform);
    (digest, descriptor, manifest.into_bytes())
}

pub fn index_json(dir: &Path, descriptor: &str, tag: &str) {
    let with_name = descriptor.replacen(
        '{',
        &format!(r#"{{"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}},"#),
        1,
    );
    std::fs::write(
        dir.join("index.json"),
        format!(r#"{{"schemaVersion":2,"manifests":[{with_name}]}}"#),
    )
    .unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}
