//! Where the registry's bytes live, behind one interface with two implementations: a local
//! directory ([`LocalStore`]: `blobs/sha256/<hex>` and `uploads/<session>`, the default for one
//! machine) and object storage ([`super::object_store::ObjectBlobStore`]: S3 and S3-compatible,
//! for replicas that share nothing but PostgreSQL and a bucket).
//!
//! Every byte of an upload is hashed as it arrives; the running SHA-256 state is kept with the
//! session in the database ([`Upload`]), so any replica can continue a session and no blob is
//! ever read back to be hashed. A blob becomes visible only through its `registry_objects` row,
//! written once its bytes are whole and verified ([`Staged`] → the row → [`BlobStore::settle`]).

pub use super::blobs::{AppendError, BodyStream, ByteStream, Listed, Staged, Upload};
use super::object_store::ObjectBlobStore;
use crate::domain::ControlPlane;
use crate::domain::registry_index::{ObjectStore, UploadSession, new_id};
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::Digest as _;
use std::path::{Path, PathBuf};
use tokio::io::AsyncSeekExt;
use wharf_oci::Digest;

#[derive(Debug, Clone)]
pub enum BlobStore {
    Local(LocalStore),
    Object(ObjectBlobStore),
}

impl BlobStore {
    /// The local directory `root` (today's layout).
    pub fn open(root: &Path) -> std::io::Result<Self> {
        LocalStore::open(root).map(Self::Local)
    }

    /// Where a new session writes: object storage names its object now, a local session is
    /// a file named after it.
    pub fn session_key(&self, id: &str) -> Option<String> {
        match self {
            Self::Local(_) => None,
            Self::Object(store) => Some(store.session_key(id)),
        }
    }

    /// Hashes and stores a body after what the session holds; updates `upload` (its size,
    /// hash state and parts) for the caller to save. Nothing of a failed body counts.
    pub async fn append(
        &self,
        upload: &mut Upload,
        body: impl BodyStream,
        index: &ControlPlane,
    ) -> Result<(), AppendError> {
        match self {
            Self::Local(store) => store.append(upload, body).await,
            Self::Object(store) => store.append(upload, body, index).await,
        }?;
        upload.save_hasher();
        Ok(())
    }

    /// Makes a verified session's bytes one whole object (object storage: completes the
    /// multipart upload, or puts a small blob at once).
    pub async fn seal(&self, upload: &Upload, digest: &Digest) -> std::io::Result<Staged> {
        match self {
            Self::Local(store) => {
                let file = store.upload_path(&upload.row.id);
                // An empty blob never had a file.
                tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&file)
                    .await?;
                Ok(Staged {
                    key: LocalStore::key(digest),
                    file: Some(file),
                })
            }
            Self::Object(store) => store.seal(upload).await,
        }
    }

    /// Writes bytes already verified (a manifest).
    pub async fn stage_bytes(&self, bytes: &[u8], digest: &Digest) -> std::io::Result<Staged> {
        let id = new_id();
        match self {
            Self::Local(store) => {
                let file = store.upload_path(&id);
                tokio::fs::write(&file, bytes).await?;
                Ok(Staged {
                    key: LocalStore::key(digest),
                    file: Some(file),
                })
            }
            Self::Object(store) => store.put_new(&id, Bytes::copy_from_slice(bytes)).await,
        }
    }

    /// After the row is written (inside its transaction): `winner` is the key the row names.
    /// A local upload moves into place; an object that lost to an earlier one is deleted.
    pub async fn settle(&self, staged: &Staged, winner: &str) -> std::io::Result<()> {
        match self {
            Self::Local(store) => {
                let Some(file) = &staged.file else {
                    return Ok(());
                };
                let target = store.path(winner);
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                match tokio::fs::rename(file, &target).await {
                    // Another request finished the same session first.
                    Err(e)
                        if e.kind() == std::io::ErrorKind::NotFound
                            && tokio::fs::try_exists(&target).await.unwrap_or(false) =>
                    {
                        Ok(())
                    }
                    done => done,
                }
            }
            Self::Object(store) if staged.key != winner => store.delete(&staged.key).await,
            Self::Object(_) => Ok(()),
        }
    }

    /// Throws away a staged blob the row never named (a failed commit).
    pub async fn unstage(&self, staged: &Staged) {
        match (self, &staged.file) {
            (Self::Local(_), Some(file)) => {
                let _ = tokio::fs::remove_file(file).await;
            }
            (Self::Local(_), None) => {}
            (Self::Object(store), _) => {
                let _ = store.delete(&staged.key).await;
            }
        }
    }

    /// Removes what a session wrote: its file, or its multipart upload and pending object.
    pub async fn discard_upload(&self, session: &UploadSession) {
        match self {
            Self::Local(store) => {
                let _ = tokio::fs::remove_file(store.upload_path(&session.id)).await;
            }
            Self::Object(store) => store.discard(session).await,
        }
    }

    /// A blob's bytes, or `range` of them (first and last byte, inclusive).
    pub async fn read(&self, key: &str, range: Option<(u64, u64)>) -> std::io::Result<ByteStream> {
        match self {
            Self::Local(store) => store.read(key, range).await,
            Self::Object(store) => store.read(key, range).await,
        }
    }

    pub async fn read_all(&self, key: &str) -> std::io::Result<Vec<u8>> {
        let mut stream = self.read(key, None).await?;
        let mut all = Vec::new();
        while let Some(chunk) = stream.next().await {
            all.extend_from_slice(&chunk?);
        }
        Ok(all)
    }

    /// Whether the object `key` is there: a row may outlive its object when a delete was
    /// applied but its answer lost.
    pub async fn exists(&self, key: &str) -> std::io::Result<bool> {
        match self {
            Self::Local(store) => tokio::fs::try_exists(store.path(key)).await,
            Self::Object(store) => store.exists(key).await,
        }
    }

    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match self {
            Self::Local(store) => match tokio::fs::remove_file(store.path(key)).await {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                done => done,
            },
            Self::Object(store) => store.delete(key).await,
        }
    }

    /// Every blob object the store holds (not sessions' files), for the orphan sweep.
    pub async fn list_blobs(&self) -> std::io::Result<Vec<Listed>> {
        match self {
            Self::Local(store) => store.list("blobs").await,
            Self::Object(store) => store.list_blobs().await,
        }
    }

    /// Local upload files (a crash can leave one without its session).
    pub async fn list_upload_files(&self) -> std::io::Result<Vec<Listed>> {
        match self {
            Self::Local(store) => store.list("uploads").await,
            Self::Object(_) => Ok(Vec::new()),
        }
    }

    /// What the store is, for logs: never a credential.
    pub fn describe(&self) -> String {
        match self {
            Self::Local(store) => format!("directory {}", store.root.display()),
            Self::Object(store) => store.describe(),
        }
    }
}

/// The local directory: `blobs/<alg>/<hex>` and `uploads/<session>`.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("blobs/sha256"))?;
        std::fs::create_dir_all(root.join("uploads"))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn key(digest: &Digest) -> String {
        format!("blobs/{}/{}", digest.algorithm(), digest.hex())
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn upload_path(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }

    /// Appends a request's body to the session's file. The request's task only reads the
    /// network; a thread of its own hashes each chunk and writes it (gathered 1 MiB per write,
    /// the one copy a chunk makes), so reading the next bytes overlaps hashing and writing the
    /// last ones.
    async fn append(
        &self,
        upload: &mut Upload,
        mut body: impl BodyStream,
    ) -> Result<(), AppendError> {
        let path = self.upload_path(&upload.row.id);
        let start = upload.size();
        let mut hasher = std::mem::take(&mut upload.hasher);
        let (chunks, mut received) = tokio::sync::mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
        let writer = tokio::task::spawn_blocking(move || {
            let written = (|| {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(false)
                    .open(&path)?;
                // Bytes past the saved size are a failed request's: they never counted.
                file.set_len(start)?;
                std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(start))?;
                let mut file = std::io::BufWriter::with_capacity(1024 * 1024, file);
                let mut size = start;
                while let Some(chunk) = received.blocking_recv() {
                    hasher.update(&chunk);
                    std::io::Write::write_all(&mut file, &chunk)?;
                    size += chunk.len() as u64;
                }
                std::io::Write::flush(&mut file)?;
                file.get_ref().sync_all()?;
                Ok::<_, std::io::Error>(size)
            })();
            (hasher, written)
        });
        let mut failed = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    if chunks.send(chunk.into()).await.is_err() {
                        break; // the writer stopped: its error says why
                    }
                }
                Err(e) => {
                    failed = Some(AppendError::Body(e.to_string()));
                    break;
                }
            }
        }
        drop(chunks);
        let (hasher, written) = writer
            .await
            .map_err(|e| AppendError::Disk(std::io::Error::other(e)))?;
        upload.hasher = hasher;
        if let Some(failure) = failed {
            return Err(failure);
        }
        upload.row.size = i64::try_from(written?).unwrap_or(i64::MAX);
        Ok(())
    }

    async fn read(&self, key: &str, range: Option<(u64, u64)>) -> std::io::Result<ByteStream> {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(self.path(key)).await?;
        let stream = match range {
            None => tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).boxed(),
            Some((first, last)) => {
                file.seek(std::io::SeekFrom::Start(first)).await?;
                let part = file.take(last - first + 1);
                tokio_util::io::ReaderStream::with_capacity(part, 256 * 1024).boxed()
            }
        };
        Ok(stream)
    }

    async fn list(&self, under: &str) -> std::io::Result<Vec<Listed>> {
        let mut found = Vec::new();
        let mut dirs = vec![self.root.join(under)];
        while let Some(dir) = dirs.pop() {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            while let Some(entry) = entries.next_entry().await? {
                let meta = entry.metadata().await?;
                if meta.is_dir() {
                    dirs.push(entry.path());
                    continue;
                }
                let Ok(relative) = entry.path().strip_prefix(&self.root).map(Path::to_path_buf)
                else {
                    continue;
                };
                let age_secs = meta.modified()?.elapsed().map(|e| e.as_secs()).unwrap_or(0);
                found.push(Listed {
                    key: relative.to_string_lossy().into_owned(),
                    size: meta.len(),
                    age_secs,
                });
            }
        }
        Ok(found)
    }
}

/// Deletes of one object tried before the object is checked for.
const DELETE_ATTEMPTS: u32 = 3;
/// Chunks of a request on their way to the writer thread at once (network chunks are 16 to
/// 64 KiB, so at most a few MiB in memory per upload).
const CHUNKS_IN_FLIGHT: usize = 64;

impl ObjectStore for BlobStore {
    type Staged = Staged;

    fn staged_key<'a>(&self, staged: &'a Staged) -> &'a str {
        &staged.key
    }

    async fn exists(&self, key: &str) -> std::io::Result<bool> {
        BlobStore::exists(self, key).await
    }

    async fn settle(&self, staged: &Staged, winner: &str) -> std::io::Result<()> {
        BlobStore::settle(self, staged, winner).await
    }

    /// Deletes, trying again on failure; `true` once the object is confirmed gone (a delete
    /// whose answer was lost may well have been applied).
    async fn remove(&self, key: &str) -> bool {
        for attempt in 1..=DELETE_ATTEMPTS {
            match self.delete(key).await {
                Ok(()) => return true,
                Err(error) => tracing::warn!(%error, attempt, "object delete failed"),
            }
        }
        matches!(BlobStore::exists(self, key).await, Ok(false))
    }
}

impl crate::domain::supply_chain::ContentReader for BlobStore {
    fn read_all<'a>(
        &'a self,
        key: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Vec<u8>>> + Send + 'a>>
    {
        Box::pin(BlobStore::read_all(self, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_hash_state_continues_where_it_stopped() {
        let mut first = Upload::load(UploadSession::default()).unwrap();
        first.hasher.update(b"hello, ");
        first.save_hasher();
        let mut second = Upload::load(first.row.clone()).unwrap();
        second.hasher.update(b"world");
        assert_eq!(
            second.digest(),
            wharf_oci::Digest::sha256_of(b"hello, world").to_string()
        );
    }

    #[test]
    fn a_damaged_hash_state_is_an_error() {
        let row = UploadSession {
            hash_state: Some("abcd".into()),
            ..Default::default()
        };
        assert!(Upload::load(row).is_err());
    }
}
