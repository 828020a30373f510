//! `docker save` archives, turned into OCI image layouts that the copy engine reads.
//!
//! Newer Docker versions save an OCI layout inside the archive, which is used as it is.
//! Older archives have only `manifest.json`: the config and the uncompressed layer tars
//! become blobs, and a manifest with `application/vnd.oci.image.layer.v1.tar` layers is
//! written. Layer digests are then the layers' `diff_ids`, which the config already names.
//! With [`LayerCompression::Gzip`], each layer is gzipped on the way into the layout instead
//! (`…tar+gzip`); the config's `diff_ids` stay as they are, and the new digests are reported.

use crate::digest::Digest;
use crate::media::OCI_MANIFEST;
use std::io::Read;
use std::path::{Path, PathBuf};

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// How the layers of an archive go into the layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LayerCompression {
    /// As saved: uncompressed tars, digests equal to the `diff_ids`.
    #[default]
    None,
    /// Gzipped on the way out: smaller pushes, new digests.
    Gzip,
}

/// A layer gzipped on the way out: its `diff_id` and the digest and size it was pushed with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompressedLayer {
    pub diff_id: String,
    pub digest: String,
    pub size: u64,
}

/// The layout an archive became, and the layers gzipped on the way.
#[derive(Debug, Clone)]
pub struct ArchiveLayout {
    pub dir: PathBuf,
    pub compressed: Vec<CompressedLayer>,
}

/// Unpacks `archive` under `work` and answers the directory of an OCI layout holding its image.
pub fn layout_from_docker_archive(
    archive: &Path,
    work: &Path,
    compression: LayerCompression,
) -> Result<ArchiveLayout, String> {
    let raw = work.join("archive");
    let file = std::fs::File::open(archive)
        .map_err(|e| format!("cannot open docker archive {}: {e}", archive.display()))?;
    tar::Archive::new(file)
        .unpack(&raw)
        .map_err(|e| format!("{} is not a readable tar archive: {e}", archive.display()))?;
    // Newer archives carry an OCI layout too; gzipping needs the manifest.json route.
    let has_layout = raw.join("index.json").is_file() && raw.join("blobs").is_dir();
    if has_layout && (compression == LayerCompression::None || !raw.join("manifest.json").is_file())
    {
        if compression == LayerCompression::Gzip {
            return Err(format!(
                "{} is an OCI layout without manifest.json: its layers are pushed as they are; \
                 drop --gzip-layers",
                archive.display()
            ));
        }
        return Ok(ArchiveLayout {
            dir: raw,
            compressed: Vec::new(),
        });
    }
    let manifest_path = raw.join("manifest.json");
    let text = std::fs::read(&manifest_path).map_err(|_| {
        format!(
            "{} has neither index.json nor manifest.json: not a docker save archive",
            archive.display()
        )
    })?;
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&text)
        .map_err(|e| format!("{}: manifest.json: {e}", archive.display()))?;
    let entry = match entries.as_slice() {
        [one] => one,
        [] => return Err(format!("{} holds no image", archive.display())),
        many => {
            let tags: Vec<String> = many
                .iter()
                .flat_map(|e| e["RepoTags"].as_array().cloned().unwrap_or_default())
                .filter_map(|t| t.as_str().map(String::from))
                .collect();
            return Err(format!(
                "{} holds {} images ({}); save one image per archive",
                archive.display(),
                many.len(),
                tags.join(", ")
            ));
        }
    };
    let layout = work.join("layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| format!("{}: {e}", blobs.display()))?;
    let config_name = entry["Config"]
        .as_str()
        .ok_or("manifest.json has no Config")?;
    let (config, config_size) = move_blob(&raw.join(config_name), &blobs)?;
    let mut layers = Vec::new();
    let mut compressed = Vec::new();
    for layer in entry["Layers"].as_array().cloned().unwrap_or_default() {
        let name = layer
            .as_str()
            .ok_or("manifest.json lists a layer that is not a path")?;
        let path = raw.join(name);
        if compression == LayerCompression::Gzip {
            let (diff_id, digest, size) = gzip_blob(&path, &blobs)?;
            layers.push(serde_json::json!({"mediaType": OCI_LAYER_TAR_GZIP, "digest": digest.to_string(), "size": size}));
            compressed.push(CompressedLayer {
                diff_id: diff_id.to_string(),
                digest: digest.to_string(),
                size,
            });
        } else {
            let (digest, size) = move_blob(&path, &blobs)?;
            layers.push(serde_json::json!({"mediaType": OCI_LAYER_TAR, "digest": digest.to_string(), "size": size}));
        }
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config.to_string(), "size": config_size},
        "layers": layers,
    });
    let bytes = serde_json::to_vec(&manifest).map_err(|e| e.to_string())?;
    let digest = Digest::sha256_of(&bytes);
    std::fs::write(blobs.join(digest.hex()), &bytes).map_err(|e| e.to_string())?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest.to_string(), "size": bytes.len()}],
    });
    std::fs::write(layout.join("index.json"), index.to_string()).map_err(|e| e.to_string())?;
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .map_err(|e| e.to_string())?;
    Ok(ArchiveLayout {
        dir: layout,
        compressed,
    })
}

/// Gzips a layer tar into `blobs/<hex>`, hashing both sides in the same pass; answers the
/// tar's digest (its `diff_id`), and the gzip's digest and size.
fn gzip_blob(path: &Path, blobs: &Path) -> Result<(Digest, Digest, u64), String> {
    use sha2::Digest as _;
    use std::io::Write;
    let failed = |e: std::io::Error| format!("gzipping {}: {e}", path.display());
    let mut input = std::fs::File::open(path).map_err(failed)?;
    let temp = blobs.join(".gzip.partial");
    let output = HashingWriter {
        inner: std::fs::File::create(&temp).map_err(failed)?,
        hasher: sha2::Sha256::new(),
        size: 0,
    };
    let mut encoder = flate2::write::GzEncoder::new(output, flate2::Compression::fast());
    let mut tar_hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = input.read(&mut buffer).map_err(failed)?;
        if read == 0 {
            break;
        }
        tar_hasher.update(&buffer[..read]);
        encoder.write_all(&buffer[..read]).map_err(failed)?;
    }
    let output = encoder.finish().map_err(failed)?;
    let to_digest = |bytes: &[u8]| -> Result<Digest, String> {
        format!("sha256:{}", hex::encode(bytes))
            .parse()
            .map_err(|e: crate::digest::DigestError| e.to_string())
    };
    let diff_id = to_digest(&tar_hasher.finalize())?;
    let digest = to_digest(&output.hasher.finalize())?;
    std::fs::rename(&temp, blobs.join(digest.hex())).map_err(failed)?;
    Ok((diff_id, digest, output.size))
}

/// Writes through to a file while hashing what passes.
struct HashingWriter {
    inner: std::fs::File,
    hasher: sha2::Sha256,
    size: u64,
}

impl std::io::Write for HashingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest as _;
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes a file and moves it to `blobs/<hex>`; answers its digest and size.
fn move_blob(path: &Path, blobs: &Path) -> Result<(Digest, u64), String> {
    use sha2::Digest as _;
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    let digest: Digest = format!("sha256:{}", hex::encode(hasher.finalize()))
        .parse()
        .map_err(|e: crate::digest::DigestError| e.to_string())?;
    let target = blobs.join(digest.hex());
    if !target.exists() {
        std::fs::rename(path, &target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok((digest, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_refused_for_an_archive_that_is_only_an_oci_layout() {
        let work = tempfile::tempdir().unwrap();
        let saved = work.path().join("saved");
        std::fs::create_dir_all(saved.join("blobs/sha256")).unwrap();
        std::fs::write(
            saved.join("index.json"),
            r#"{"schemaVersion":2,"manifests":[]}"#,
        )
        .unwrap();
        let archive = work.path().join("image.tar");
        let mut builder = tar::Builder::new(std::fs::File::create(&archive).unwrap());
        builder.append_dir_all(".", &saved).unwrap();
        builder.finish().unwrap();

        let unpack = work.path().join("unpack");
        std::fs::create_dir_all(&unpack).unwrap();
        let error =
            layout_from_docker_archive(&archive, &unpack, LayerCompression::Gzip).unwrap_err();
        assert!(error.contains("drop --gzip-layers"), "{error}");
        let unpack = work.path().join("unpack2");
        std::fs::create_dir_all(&unpack).unwrap();
        let layout = layout_from_docker_archive(&archive, &unpack, LayerCompression::None).unwrap();
        assert!(layout.dir.join("index.json").is_file());
        assert!(layout.compressed.is_empty());
    }
}
