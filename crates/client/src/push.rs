//! `wharf push`: ask the control plane for credentials to its registry, copy the image there
//! (bytes verbatim, digests kept), and hand back the pushed URI pinned by digest, which the
//! registration then records.

use crate::client::Client;
use crate::error::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use wharf_api::PushCredentialsRequest;
use wharf_http::RetryPolicy;
use wharf_oci::{CopyOptions, Credentials, ImageReference, RegistryClient, Source, Transport};

/// What to push, and how to reach the source.
#[derive(Debug, Clone, Default)]
pub struct PushRequest {
    pub project: String,
    pub ci_name: String,
    /// `REGISTRY/REPO[:TAG][@DIGEST]` or `oci:DIR[:TAG]`.
    pub source: String,
    /// The tag in the control plane's repository; default: the source's tag, else `latest`.
    pub tag: Option<String>,
    pub artifactory: String,
    pub platform: Option<String>,
    pub concurrency: usize,
    /// What that refers to the image is copied with it.
    pub referrers: wharf_oci::ReferrerFilter,
    pub transport: Transport,
    /// For a source registry that needs them (from `WHARF_SOURCE_USERNAME`/`_PASSWORD`).
    pub source_credentials: Option<Credentials>,
    /// The Docker client's `config.json`, asked for the source registry's credentials when
    /// none are given explicitly.
    pub docker_config: Option<PathBuf>,
    /// `DOCKER_HOST`, which locates the daemon's socket for `docker-daemon:NAME`.
    pub docker_host: Option<String>,
    /// Told of the copy as it goes (bars on a terminal, lines in CI logs).
    pub progress: Option<wharf_oci::SharedProgress>,
    /// Gzip the layers of a `docker-archive:` or `docker-daemon:` source on the way out.
    pub layer_compression: wharf_oci::LayerCompression,
}

/// What the push did, merged into the register outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pushed {
    pub digest: String,
    /// `host/project/ci@sha256:…`: what gets registered.
    pub pushed_uri: String,
    pub tag: String,
    pub bytes_uploaded: u64,
    pub blobs_uploaded: usize,
    pub blobs_skipped: usize,
    pub blobs_mounted: usize,
    pub up_to_date: bool,
    pub duration_ms: u128,
    pub blobs: Vec<wharf_oci::BlobStat>,
    /// With `--gzip-layers`: each layer's `diff_id` and the digest it was pushed with.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compressed_layers: Vec<wharf_oci::CompressedLayer>,
    /// What refers to the image (signatures, SBOMs, attestations), copied with it.
    pub referrers: Vec<wharf_oci::CopiedReferrer>,
}

/// A source ready to copy: where it is, its tag, the temporary directory it may live in (kept
/// until the copy is done), and the layers gzipped on the way.
struct Prepared {
    source: Source,
    tag: Option<String>,
    _work: Option<tempfile::TempDir>,
    compressed: Vec<wharf_oci::CompressedLayer>,
}

async fn source_of(request: &PushRequest, retry: &RetryPolicy) -> Result<Prepared> {
    let archive_source = request.source.starts_with("docker-daemon:")
        || request.source.starts_with("docker-archive:");
    if request.layer_compression == wharf_oci::LayerCompression::Gzip && !archive_source {
        return Err(Error::Usage(
            "--gzip-layers applies to docker-archive: and docker-daemon: sources, whose layers \
             arrive uncompressed; a registry's or an OCI layout's bytes are copied as they are"
                .into(),
        ));
    }
    if let Some(name) = request.source.strip_prefix("docker-daemon:") {
        let work = tempfile::tempdir()
            .map_err(|e| Error::Internal(format!("temporary directory: {e}")))?;
        let archive = work.path().join("export.tar");
        let socket = wharf_oci::daemon::daemon_socket(request.docker_host.as_deref())
            .map_err(Error::Usage)?;
        // The source is the caller's input, not the control plane: an image the daemon does
        // not have (or a daemon that cannot be reached) is a usage error, exit 2.
        wharf_oci::daemon::export_image(&socket, name, &archive)
            .await
            .map_err(|e| Error::Usage(format!("--image {}: {e}", request.source)))?;
        let layout =
            wharf_oci::layout_from_docker_archive(&archive, work.path(), request.layer_compression)
                .map_err(Error::Usage)?;
        let tag = name
            .parse::<ImageReference>()
            .ok()
            .and_then(|reference| reference.tag);
        return Ok(Prepared {
            source: Source::Layout {
                dir: layout.dir,
                tag: None,
            },
            tag,
            _work: Some(work),
            compressed: layout.compressed,
        });
    }
    if let Some(file) = request.source.strip_prefix("docker-archive:") {
        let work = tempfile::tempdir()
            .map_err(|e| Error::Internal(format!("temporary directory: {e}")))?;
        let layout = wharf_oci::layout_from_docker_archive(
            Path::new(file),
            work.path(),
            request.layer_compression,
        )
        .map_err(Error::Usage)?;
        return Ok(Prepared {
            source: Source::Layout {
                dir: layout.dir,
                tag: None,
            },
            tag: None,
            _work: Some(work),
            compressed: layout.compressed,
        });
    }
    if let Some(rest) = request.source.strip_prefix("oci:") {
        let (dir, tag) = match rest.rsplit_once(':') {
            Some((dir, tag)) if !tag.contains('/') => (dir, Some(tag.to_string())),
            _ => (rest, None),
        };
        return Ok(Prepared {
            source: Source::Layout {
                dir: PathBuf::from(dir),
                tag: tag.clone(),
            },
            tag,
            _work: None,
            compressed: Vec::new(),
        });
    }
    let reference: ImageReference = request
        .source
        .parse()
        .map_err(|e: wharf_oci::ReferenceError| Error::Usage(format!("--image: {e}")))?;
    let credentials = match (&request.source_credentials, &request.docker_config) {
        (Some(explicit), _) => Some(explicit.clone()),
        (None, Some(path)) => wharf_oci::docker_config::credentials_for(path, &reference.registry)
            .map_err(Error::Usage)?,
        (None, None) => None,
    };
    let registry = RegistryClient::new(&reference.registry, &request.transport, credentials)
        .map_err(|e| Error::Usage(e.to_string()))?
        .with_retry(retry.clone());
    let tag = reference.tag.clone();
    Ok(Prepared {
        source: Source::Registry {
            registry: Arc::new(registry),
            repository: reference.repository.clone(),
            reference: reference.reference(),
        },
        tag,
        _work: None,
        compressed: Vec::new(),
    })
}

pub async fn push(client: &Client, request: &PushRequest) -> Result<Pushed> {
    let started = Instant::now();
    // One retry policy (`WHARF_RETRIES`) for the control plane and both registries.
    let retry = client.retry_policy();
    let prepared = source_of(request, retry).await?;
    let (source, source_tag) = (&prepared.source, prepared.tag.clone());
    let credentials = client
        .push_credentials(&PushCredentialsRequest {
            blueprint_name: request.project.clone(),
            artifactory: request.artifactory.clone(),
            application_name: request.ci_name.clone(),
        })
        .await?;
    let host = credentials.artifactory_uri.trim_end_matches('/');
    let repository: ImageReference =
        credentials
            .repository_uri
            .parse()
            .map_err(|e: wharf_oci::ReferenceError| {
                Error::Internal(format!("the control plane's push repository: {e}"))
            })?;
    if repository.registry != host {
        return Err(Error::Internal(format!(
            "repository {} is not on {host}",
            credentials.repository_uri
        )));
    }
    let destination = RegistryClient::new(
        &repository.registry,
        &request.transport,
        // An anonymous registry an admin added answers empty credentials.
        Some(Credentials {
            username: credentials.username.clone(),
            password: credentials.password.clone(),
        })
        .filter(|c| !c.username.is_empty()),
    )
    .map_err(|e| Error::Usage(e.to_string()))?
    .with_retry(retry.clone());
    let tag = request
        .tag
        .clone()
        .or(source_tag)
        .unwrap_or_else(|| "latest".into());
    let options = CopyOptions {
        concurrency: request.concurrency.max(1),
        platform: request.platform.clone(),
        progress: request.progress.clone(),
    };
    let (digest, stats) =
        wharf_oci::copy(source, &destination, &repository.repository, &tag, &options)
            .await
            .map_err(copy_error)?;
    let referrers = wharf_oci::copy_referrers(
        source,
        &destination,
        &repository.repository,
        &digest,
        &request.referrers,
        &options,
    )
    .await
    .map_err(copy_error)?;
    Ok(Pushed {
        pushed_uri: repository.with_digest(digest.clone()).to_string(),
        digest: digest.to_string(),
        tag,
        bytes_uploaded: stats.bytes_uploaded,
        blobs_uploaded: stats.uploaded,
        blobs_skipped: stats.skipped,
        blobs_mounted: stats.mounted,
        up_to_date: stats.up_to_date,
        duration_ms: started.elapsed().as_millis(),
        blobs: stats.blobs,
        compressed_layers: prepared.compressed,
        referrers,
    })
}

fn copy_error(error: wharf_oci::CopyError) -> Error {
    match error {
        wharf_oci::CopyError::Registry(wharf_oci::RegistryError::Unauthorized { .. }) => {
            Error::Auth(error.to_string())
        }
        wharf_oci::CopyError::Registry(wharf_oci::RegistryError::Transport { .. }) => {
            Error::Unavailable(error.to_string())
        }
        wharf_oci::CopyError::Source(_) => Error::Usage(error.to_string()),
        other => Error::Rejected(other.to_string()),
    }
}
