//! Where the registry's bytes live: `blobs/sha256/<hex>` and `uploads/<session>`, on disk.
//! Blobs are written to an upload file first and renamed into place only once their digest
//! checks out.

use futures_util::{Stream, StreamExt};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wharf_oci::{Digest, Verifier};

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// A request body as the registry reads it: chunks of bytes, or the client's failure.
pub trait BodyStream: Stream<Item = Result<Self::Chunk, Self::Failure>> + Unpin {
    type Chunk: AsRef<[u8]>;
    type Failure: std::fmt::Display;
}

impl<S, B, E> BodyStream for S
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    type Chunk = B;
    type Failure = E;
}

/// Why reading an upload's body failed: the client's stream, or the disk.
#[derive(Debug)]
pub enum AppendError {
    Body(String),
    Disk(std::io::Error),
}

impl From<std::io::Error> for AppendError {
    fn from(error: std::io::Error) -> Self {
        Self::Disk(error)
    }
}

impl BlobStore {
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("blobs/sha256"))?;
        std::fs::create_dir_all(root.join("uploads"))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    pub fn blob(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }

    pub fn upload(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }

    /// The bytes in an upload so far.
    pub async fn upload_size(&self, id: &str) -> u64 {
        tokio::fs::metadata(self.upload(id))
            .await
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Upload files last written longer than `age` ago.
    pub async fn uploads_older_than(
        &self,
        age: std::time::Duration,
    ) -> std::io::Result<Vec<String>> {
        let mut found = Vec::new();
        let mut entries = tokio::fs::read_dir(self.root.join("uploads")).await?;
        while let Some(entry) = entries.next_entry().await? {
            let stale = entry
                .metadata()
                .await?
                .modified()?
                .elapsed()
                .is_ok_and(|elapsed| elapsed > age);
            if stale && let Some(name) = entry.file_name().to_str() {
                found.push(name.to_string());
            }
        }
        Ok(found)
    }

    pub async fn discard_upload(&self, id: &str) {
        let _ = tokio::fs::remove_file(self.upload(id)).await;
    }

    /// Appends a body to an upload's file; answers the new size.
    pub async fn append(&self, id: &str, mut body: impl BodyStream) -> Result<u64, AppendError> {
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.upload(id))
            .await?;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| AppendError::Body(e.to_string()))?;
            file.write_all(chunk.as_ref()).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        Ok(file.metadata().await?.len())
    }

    /// Hashes an upload's bytes against `digest`; answers the size when they match. A missing
    /// upload file is an empty blob.
    pub async fn verify(&self, id: &str, digest: &Digest) -> std::io::Result<Result<u64, String>> {
        let mut verifier = match Verifier::new(digest) {
            Ok(verifier) => verifier,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let path = self.upload(id);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tokio::fs::File::create(&path).await?;
                tokio::fs::File::open(&path).await?
            }
            Err(e) => return Err(e),
        };
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let read = file.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            verifier.update(&buffer[..read]);
        }
        Ok(verifier.finish().map_err(|e| e.to_string()))
    }

    /// Moves a verified upload into place (an atomic rename on one file system).
    pub async fn commit(&self, id: &str, digest: &Digest) -> std::io::Result<()> {
        let upload = self.upload(id);
        let target = self.blob(digest);
        if tokio::fs::try_exists(&target).await? {
            return tokio::fs::remove_file(upload).await;
        }
        tokio::fs::rename(upload, target).await
    }

    /// Stores bytes already verified (a manifest) under their digest.
    pub async fn put(&self, id: &str, bytes: &[u8], digest: &Digest) -> std::io::Result<()> {
        tokio::fs::write(self.upload(id), bytes).await?;
        self.commit(id, digest).await
    }
}
