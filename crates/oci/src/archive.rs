//! `docker save` archives, turned into OCI image layouts that the copy engine reads.
//!
//! Newer Docker versions save an OCI layout inside the archive, which is used as it is.
//! Older archives have only `manifest.json`: the config and the uncompressed layer tars
//! become blobs, and a manifest with `application/vnd.oci.image.layer.v1.tar` layers is
//! written. Layer digests are then the layers' `diff_ids`, which the config already names.

use crate::digest::Digest;
use crate::media::OCI_MANIFEST;
use std::io::Read;
use std::path::{Path, PathBuf};

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// Unpacks `archive` under `work` and answers the directory of an OCI layout holding its image.
pub fn layout_from_docker_archive(archive: &Path, work: &Path) -> Result<PathBuf, String> {
    let raw = work.join("archive");
    let file = std::fs::File::open(archive)
        .map_err(|e| format!("cannot open docker archive {}: {e}", archive.display()))?;
    tar::Archive::new(file)
        .unpack(&raw)
        .map_err(|e| format!("{} is not a readable tar archive: {e}", archive.display()))?;
    if raw.join("index.json").is_file() && raw.join("blobs").is_dir() {
        return Ok(raw);
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
    for layer in entry["Layers"].as_array().cloned().unwrap_or_default() {
        let name = layer
            .as_str()
            .ok_or("manifest.json lists a layer that is not a path")?;
        let (digest, size) = move_blob(&raw.join(name), &blobs)?;
        layers.push(serde_json::json!({"mediaType": OCI_LAYER_TAR, "digest": digest.to_string(), "size": size}));
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
    Ok(layout)
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
