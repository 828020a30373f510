//! The copy engine: manifests and blobs from a source to a destination registry, bytes
//! verbatim (digests survive), skipping what the destination has, mounting what it has in
//! another repository, streaming the rest with its digest checked on the way, children before
//! the index, the tag last.

use crate::client::{RegistryClient, RegistryError, wants_chunks};
use crate::digest::{Digest, Verifier};
use crate::media::{Descriptor, MediaKind, declared_media_type, referenced_descriptors};
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt, stream};
use oci_spec::image::{ANNOTATION_REF_NAME, ImageIndex};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wharf_http::Attempt;

/// Where an image comes from.
pub enum Source {
    /// A repository of a registry, at a tag or digest.
    Registry {
        registry: Arc<RegistryClient>,
        repository: String,
        reference: String,
    },
    /// An OCI image layout directory (`oci:DIR[:TAG]`); without a tag, its only image.
    Layout { dir: PathBuf, tag: Option<String> },
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Source(String),
    #[error("blob {digest} from the source is corrupt: {reason}")]
    Corrupt { digest: String, reason: String },
}

/// What happened to one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobAction {
    Skipped,
    Mounted,
    Uploaded,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobStat {
    pub digest: String,
    pub size: u64,
    pub action: BlobAction,
    pub millis: u128,
}

/// Per-blob statistics and totals of one copy.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyStats {
    pub blobs: Vec<BlobStat>,
    pub manifests: usize,
    pub bytes_uploaded: u64,
    pub uploaded: usize,
    pub skipped: usize,
    pub mounted: usize,
    /// True when the destination already had the image under the tag: nothing was sent.
    pub up_to_date: bool,
}

impl CopyStats {
    fn record(&mut self, stat: BlobStat) {
        match stat.action {
            BlobAction::Skipped => self.skipped += 1,
            BlobAction::Mounted => self.mounted += 1,
            BlobAction::Uploaded => {
                self.uploaded += 1;
                self.bytes_uploaded += stat.size;
            }
        }
        self.blobs.push(stat);
    }
}

/// Blobs copied at once unless told otherwise; BENCHMARKS.md says how it was chosen.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Told what a copy is doing, as it does it; front ends draw bars or print lines from it.
/// Calls come from several blob copies at once.
pub trait Progress: Send + Sync {
    /// Blobs of one manifest are about to be copied: how many, and their total size.
    fn planned(&self, _blobs: usize, _bytes: u64) {}
    /// Bytes of some blob were read from the source and sent on.
    fn transferred(&self, _bytes: u64) {}
    /// A blob is sent again from its start (in chunks, after a refused upload): the bytes
    /// its first attempt reported no longer count.
    fn restarted(&self, _bytes: u64) {}
    /// A blob is done: skipped, mounted or uploaded.
    fn finished(&self, _stat: &BlobStat) {}
}

/// A shared [`Progress`], cheap to clone into each blob's copy.
#[derive(Clone)]
pub struct SharedProgress(pub Arc<dyn Progress>);

impl std::fmt::Debug for SharedProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedProgress")
    }
}

/// How to copy.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Blobs in flight at once.
    pub concurrency: usize,
    /// `os/arch[/variant]` to keep from a multi-platform index; empty keeps the whole index.
    pub platform: Option<String>,
    pub progress: Option<SharedProgress>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            platform: None,
            progress: None,
        }
    }
}

type ByteStream = futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>>;

impl Source {
    pub(crate) async fn manifest(
        &self,
        reference: Option<&Digest>,
    ) -> Result<(String, Bytes), CopyError> {
        match self {
            Source::Registry {
                registry,
                repository,
                reference: tag,
            } => {
                let wanted = reference.map_or(tag.clone(), Digest::to_string);
                registry
                    .manifest(repository, &wanted)
                    .await?
                    .ok_or_else(|| {
                        CopyError::Source(format!(
                            "{}/{repository}:{wanted} does not exist",
                            registry.host()
                        ))
                    })
            }
            Source::Layout { dir, tag } => {
                let (digest, declared) = match reference {
                    Some(digest) => (digest.clone(), String::new()),
                    None => {
                        let descriptor = layout_descriptor(dir, tag.as_deref())?;
                        (descriptor.digest, descriptor.media_type)
                    }
                };
                let bytes = tokio::fs::read(layout_blob(dir, &digest))
                    .await
                    .map_err(|e| CopyError::Source(format!("{}: {e}", dir.display())))?;
                let media_type = if declared.is_empty() {
                    declared_media_type(&bytes)
                        .unwrap_or_else(|| crate::media::OCI_MANIFEST.to_string())
                } else {
                    declared
                };
                Ok((media_type, Bytes::from(bytes)))
            }
        }
    }

    /// The bytes of blob `digest`, each chunk fed to `verifier` on its way. A layout's file
    /// is read and hashed on a thread of its own, so hashing overlaps sending.
    async fn blob(
        &self,
        digest: &Digest,
        verifier: Arc<Mutex<Verifier>>,
    ) -> Result<ByteStream, CopyError> {
        match self {
            Source::Registry {
                registry,
                repository,
                ..
            } => Ok(
                coalesce(registry.blob(repository, digest).await?, SEND_CHUNK)
                    .inspect_ok(move |chunk| {
                        if let Ok(mut v) = verifier.lock() {
                            v.update(chunk);
                        }
                    })
                    .boxed(),
            ),
            Source::Layout { dir, .. } => {
                let file = std::fs::File::open(layout_blob(dir, digest)).map_err(|e| {
                    CopyError::Source(format!("blob {digest} in {}: {e}", dir.display()))
                })?;
                Ok(file_chunks(file, verifier).boxed())
            }
        }
    }

    /// `(host, repository)` when the source is a registry, for mounts.
    fn origin(&self) -> Option<(&str, &str)> {
        match self {
            Source::Registry {
                registry,
                repository,
                ..
            } => Some((registry.host(), repository)),
            Source::Layout { .. } => None,
        }
    }
}

/// How many bytes a stream hands on at once: the network delivers a registry's blob in pieces
/// of a few KiB, and sending each on its own costs a write (and a read at the far end) apiece.
const SEND_CHUNK: usize = 256 * 1024;

/// Gathers a stream's pieces into chunks of at least `size` bytes (the last may be smaller).
fn coalesce<S>(stream: S, size: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let state = (Box::pin(stream), bytes::BytesMut::new(), false);
    stream::unfold(
        state,
        move |(mut inner, mut pending, mut ended)| async move {
            while !ended && pending.len() < size {
                match inner.next().await {
                    Some(Ok(bytes)) if pending.is_empty() && bytes.len() >= size => {
                        return Some((Ok(bytes), (inner, pending, ended)));
                    }
                    Some(Ok(bytes)) => pending.extend_from_slice(&bytes),
                    Some(Err(e)) => return Some((Err(e), (inner, pending, true))),
                    None => ended = true,
                }
            }
            if pending.is_empty() {
                return None;
            }
            let chunk = pending.split().freeze();
            Some((Ok(chunk), (inner, pending, ended)))
        },
    )
}

/// A file as a stream of 256 KiB chunks.
/// A file's bytes in 1 MiB chunks, read and hashed into `verifier` on a blocking thread
/// while the previous chunks are sent.
fn file_chunks(
    file: std::fs::File,
    verifier: Arc<Mutex<Verifier>>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    const CHUNK: usize = 1024 * 1024;
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        loop {
            let mut buffer = vec![0u8; CHUNK];
            let read = match std::io::Read::read(&mut file, &mut buffer) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = sender.blocking_send(Err(e));
                    return;
                }
            };
            buffer.truncate(read);
            if let Ok(mut v) = verifier.lock() {
                v.update(&buffer);
            }
            if sender.blocking_send(Ok(Bytes::from(buffer))).is_err() {
                return; // the upload stopped reading
            }
        }
    });
    tokio_stream_of(receiver)
}

fn tokio_stream_of<T: Send + 'static>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl Stream<Item = T> + Send {
    stream::poll_fn(move |context| receiver.poll_recv(context))
}

fn layout_blob(dir: &std::path::Path, digest: &Digest) -> PathBuf {
    dir.join("blobs")
        .join(digest.algorithm())
        .join(digest.hex())
}

/// The descriptor `index.json` gives for `tag` (its `org.opencontainers.image.ref.name`), or
/// its only manifest when no tag is asked for.
fn layout_descriptor(dir: &std::path::Path, tag: Option<&str>) -> Result<Descriptor, CopyError> {
    let index_path = dir.join("index.json");
    let text = std::fs::read(&index_path)
        .map_err(|e| CopyError::Source(format!("{} is not an OCI layout: {e}", dir.display())))?;
    let index: ImageIndex = serde_json::from_slice(&text)
        .map_err(|e| CopyError::Source(format!("{}: {e}", index_path.display())))?;
    let manifests = index.manifests();
    let name_of = |m: &oci_spec::image::Descriptor| {
        m.annotations()
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_REF_NAME))
            .cloned()
    };
    let chosen = match tag {
        Some(tag) => manifests
            .iter()
            .find(|m| name_of(m).as_deref() == Some(tag))
            .ok_or_else(|| {
                let names: Vec<_> = manifests.iter().filter_map(name_of).collect();
                CopyError::Source(format!(
                    "{} has no tag '{tag}'; it has: {}",
                    dir.display(),
                    names.join(", ")
                ))
            })?,
        None if manifests.len() == 1 => &manifests[0],
        None => {
            return Err(CopyError::Source(format!(
                "{} holds {} images: name one with oci:DIR:TAG",
                dir.display(),
                manifests.len()
            )));
        }
    };
    Descriptor::try_from(chosen)
        .map_err(|e| CopyError::Source(format!("{}: {e}", index_path.display())))
}

fn platform_matches(descriptor: &Descriptor, wanted: &str) -> bool {
    let Some(platform) = &descriptor.platform else {
        return false;
    };
    let mut parts = wanted.split('/');
    let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
    os == Some(platform.os.as_str())
        && arch == Some(platform.architecture.as_str())
        && variant.is_none_or(|v| platform.variant.as_deref() == Some(v))
}

/// Copies the source image to `repository:tag` on `destination`; answers the digest now
/// tagged there and what was done.
pub async fn copy(
    source: &Source,
    destination: &RegistryClient,
    repository: &str,
    tag: &str,
    options: &CopyOptions,
) -> Result<(Digest, CopyStats), CopyError> {
    let (media_type, bytes) = source.manifest(None).await?;
    let mut root = (media_type, bytes);
    let (mut root_kind, mut children) =
        referenced_descriptors(&root.0, &root.1).map_err(CopyError::Source)?;
    if root_kind == MediaKind::Index
        && let Some(platform) = &options.platform
    {
        let chosen = children
            .iter()
            .find(|d| platform_matches(d, platform))
            .cloned()
            .ok_or_else(|| CopyError::Source(format!("the image has no {platform} manifest")))?;
        root = source.manifest(Some(&chosen.digest)).await?;
        (root_kind, children) =
            referenced_descriptors(&root.0, &root.1).map_err(CopyError::Source)?;
    }
    let digest = Digest::sha256_of(&root.1);
    let mut stats = CopyStats::default();
    if destination.manifest_digest(repository, tag).await? == Some(digest.clone()) {
        stats.up_to_date = true;
        return Ok((digest, stats));
    }
    let stats_cell = Arc::new(Mutex::new(stats));
    match root_kind {
        MediaKind::Manifest => {
            copy_blobs(
                source,
                destination,
                repository,
                &children,
                options,
                &stats_cell,
            )
            .await?
        }
        MediaKind::Index => {
            for child in &children {
                let (child_type, child_bytes) = source.manifest(Some(&child.digest)).await?;
                let blobs = referenced_descriptors(&child_type, &child_bytes)
                    .map_err(CopyError::Source)?
                    .1;
                copy_blobs(
                    source,
                    destination,
                    repository,
                    &blobs,
                    options,
                    &stats_cell,
                )
                .await?;
                destination
                    .put_manifest(
                        repository,
                        &child.digest.to_string(),
                        &child_type,
                        &child_bytes,
                    )
                    .await?;
                if let Ok(mut stats) = stats_cell.lock() {
                    stats.manifests += 1;
                }
            }
        }
    }
    destination
        .put_manifest(repository, tag, &root.0, &root.1)
        .await?;
    let mut stats = stats_cell.lock().map(|s| s.clone()).unwrap_or_default();
    stats.manifests += 1;
    Ok((digest, stats))
}

/// Blobs under this size take the small-blob lane.
const SMALL_BLOB: u64 = 1024 * 1024;

pub(crate) async fn copy_blobs<'a>(
    source: &'a Source,
    destination: &'a RegistryClient,
    repository: &'a str,
    blobs: &'a [Descriptor],
    options: &'a CopyOptions,
    stats: &Arc<Mutex<CopyStats>>,
) -> Result<(), CopyError> {
    let mut unique: Vec<&'a Descriptor> = Vec::new();
    for blob in blobs {
        if !unique.iter().any(|b| b.digest == blob.digest) {
            unique.push(blob);
        }
    }
    let progress = options.progress.as_ref().map(|p| p.0.as_ref());
    if let Some(progress) = progress {
        progress.planned(unique.len(), unique.iter().map(|b| b.size).sum());
    }
    // Small blobs get a lane of their own: they cost round trips, not bandwidth, so they go
    // while the large ones stream instead of queueing behind them.
    let (large, small): (Vec<&Descriptor>, Vec<&Descriptor>) =
        unique.into_iter().partition(|b| b.size >= SMALL_BLOB);
    let lane = |blobs: Vec<&'a Descriptor>| {
        stream::iter(blobs)
            .map(move |blob| async move {
                let stat = copy_blob(source, destination, repository, blob, options).await;
                if let (Some(progress), Ok(stat)) = (progress, &stat) {
                    progress.finished(stat);
                }
                stat
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect::<Vec<Result<BlobStat, CopyError>>>()
    };
    let (mut results, small_results) = futures_util::join!(lane(large), lane(small));
    results.extend(small_results);
    for result in results {
        let stat = result?;
        if let Ok(mut stats) = stats.lock() {
            stats.record(stat);
        }
    }
    Ok(())
}

/// The first chunk size of a chunked upload, halved while a registry answers 413.
const UPLOAD_CHUNK: usize = 4 * 1024 * 1024;

/// The source's bytes of `blob`, hashed (and counted for progress) as they stream.
async fn verified_blob(
    source: &Source,
    blob: &Descriptor,
    options: &CopyOptions,
) -> Result<(ByteStream, Arc<Mutex<Verifier>>), CopyError> {
    let verifier = Arc::new(Mutex::new(Verifier::new(&blob.digest).map_err(|e| {
        CopyError::Corrupt {
            digest: blob.digest.to_string(),
            reason: e.to_string(),
        }
    })?));
    let checked = {
        let verifier = verifier.clone();
        let progress = options.progress.clone();
        source
            .blob(&blob.digest, verifier)
            .await?
            .inspect_ok(move |chunk| {
                if let Some(SharedProgress(progress)) = &progress {
                    progress.transferred(chunk.len() as u64);
                }
            })
    };
    Ok((checked.boxed(), verifier))
}

async fn copy_blob(
    source: &Source,
    destination: &RegistryClient,
    repository: &str,
    blob: &Descriptor,
    options: &CopyOptions,
) -> Result<BlobStat, CopyError> {
    let started = Instant::now();
    let stat = |action| BlobStat {
        digest: blob.digest.to_string(),
        size: blob.size,
        action,
        millis: started.elapsed().as_millis(),
    };
    if destination
        .blob_size(repository, &blob.digest)
        .await?
        .is_some()
    {
        return Ok(stat(BlobAction::Skipped));
    }
    if let Some((host, from)) = source.origin()
        && host == destination.host()
        && destination.mount(repository, &blob.digest, from).await?
    {
        return Ok(stat(BlobAction::Mounted));
    }
    // The upload streams its body, so a request cannot be resent by itself: a transient
    // failure (a 5xx such as a registry whose storage paused, a lost connection) starts the
    // blob's upload again, from a new session, by the destination's retry policy.
    destination
        .retry_policy()
        .run(|_made| async move {
            match upload_blob(source, destination, repository, blob, options).await {
                Err(CopyError::Registry(error)) if error.is_transient() => Attempt::Retry {
                    why: error.to_string(),
                    after: None,
                    last: Err(CopyError::Registry(error)),
                },
                other => Attempt::Done(other),
            }
        })
        .await?;
    Ok(stat(BlobAction::Uploaded))
}

/// One attempt at uploading `blob`: whole, then in chunks if the registry wants them.
async fn upload_blob(
    source: &Source,
    destination: &RegistryClient,
    repository: &str,
    blob: &Descriptor,
    options: &CopyOptions,
) -> Result<(), CopyError> {
    let (stream, verifier) = verified_blob(source, blob, options).await?;
    let mut uploaded = destination
        .upload(repository, &blob.digest, blob.size, stream)
        .await;
    let mut verifier = verifier;
    if let Err(error) = &uploaded
        && wants_chunks(error)
    {
        if let (Some(SharedProgress(progress)), Ok(first)) = (&options.progress, verifier.lock()) {
            progress.restarted(first.size());
        }
        let (stream, again) = verified_blob(source, blob, options).await?;
        verifier = again;
        uploaded = destination
            .upload_chunked(repository, &blob.digest, stream, UPLOAD_CHUNK)
            .await;
    }
    // Every chunk was hashed before it was handed on, so what the verifier holds now is the
    // whole of what was sent (a layout's reader thread may still be letting go of it).
    let verifier = verifier.lock().ok().map(|v| v.clone());
    let transient = uploaded.as_ref().is_err_and(RegistryError::is_transient);
    if transient
        && let (Some(SharedProgress(progress)), Some(verifier)) = (&options.progress, &verifier)
    {
        progress.restarted(verifier.size());
    }
    if let Some(verifier) = verifier
        && (verifier.size() == blob.size || (uploaded.is_err() && !transient))
        && let Err(e) = verifier.finish()
    {
        return Err(CopyError::Corrupt {
            digest: blob.digest.to_string(),
            reason: e.to_string(),
        });
    }
    Ok(uploaded?)
}

#[cfg(test)]
mod coalesce_tests {
    use super::*;

    #[tokio::test]
    async fn small_pieces_are_gathered_and_nothing_is_lost() {
        let pieces: Vec<Result<Bytes, std::io::Error>> =
            (0..10u8).map(|i| Ok(Bytes::from(vec![i; 3]))).collect();
        let chunks: Vec<Bytes> = coalesce(stream::iter(pieces), 8)
            .map(|c| c.unwrap())
            .collect()
            .await;
        let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
        assert_eq!(sizes, [9, 9, 9, 3]);
        let joined: Vec<u8> = chunks.concat();
        let expected: Vec<u8> = (0..10u8).flat_map(|i| [i; 3]).collect();
        assert_eq!(joined, expected);
    }
}
