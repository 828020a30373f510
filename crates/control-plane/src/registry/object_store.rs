//! The registry's blobs on S3 or an S3-compatible store, through the `object_store` crate
//! (`wharf serve --blob-store s3://BUCKET/PREFIX [--blob-store-endpoint URL]`; credentials and
//! region from the standard `AWS_*` variables).
//!
//! Layout under the prefix: `blobs/<id>`, one object per stored blob or manifest, named by the
//! upload session (or a new id) that wrote it. Which object holds a digest is the database's
//! `registry_objects` row, written only once the object is whole and its digest verified: a
//! half-written object is never named, and two replicas storing the same digest at once both
//! succeed while one row (and one object) stays; the other object is deleted.
//!
//! An upload session's chunks become multipart parts. S3 wants every part but the last to be
//! at least 5 MiB, and registry clients PATCH chunks of any size, so bytes gather in the
//! session's `pending` column (in the database, under 5 MiB) until a part is due; parts go out
//! [`PART_SIZE`] at a time, [`PARTS_IN_FLIGHT`] at once. Small blobs (under 5 MiB in all) are
//! one create-only PUT at the end.

use super::blobs::{AppendError, BodyStream, ByteStream, Listed, Staged, Upload};
use crate::domain::ControlPlane;
use crate::domain::registry_index::UploadSession;
use ::object_store::aws::{AmazonS3, AmazonS3Builder};
use ::object_store::multipart::{MultipartStore, PartId};
use ::object_store::path::Path;
use ::object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
};
use bytes::Bytes;
use futures_util::stream::FuturesOrdered;
use futures_util::{StreamExt, TryStreamExt};
use sha2::Digest as _;
use std::sync::Arc;

/// S3's smallest part (every part but the last).
pub const MIN_PART: usize = 5 * 1024 * 1024;
/// The size of the parts a long body is cut into; 10,000 parts make a 78 GiB blob at most.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts of one request on their way at once (memory: this many × [`PART_SIZE`]).
pub const PARTS_IN_FLIGHT: usize = 4;

/// `--blob-store` and `--blob-store-endpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStoreOptions {
    /// `s3://BUCKET[/PREFIX]`.
    pub url: String,
    /// An S3-compatible server's URL (MinIO, Ceph, moto…); none for AWS itself.
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    s3: Arc<AmazonS3>,
    bucket: String,
    prefix: String,
}

/// An object store's failure as an I/O error. A request that failed on its way (a timeout, a
/// lost connection, a 5xx such as S3's 503 SlowDown, after the client's own retries) marks the
/// storage unavailable for now, so the request is answered 503 and its client tries again;
/// what the store refused for good (permissions, a missing object) stays an error.
fn io(error: ::object_store::Error) -> std::io::Error {
    match error {
        ::object_store::Error::Generic { .. } | ::object_store::Error::JoinError { .. } => {
            crate::domain::registry_index::StorageUnavailable::error(error.to_string())
        }
        other => std::io::Error::other(other.to_string()),
    }
}

/// `s3://bucket/some/prefix` → (`bucket`, `some/prefix`).
pub fn parse_url(url: &str) -> Result<(String, String), String> {
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(format!(
            "--blob-store {url}: use s3://BUCKET/PREFIX (S3 and S3-compatible stores are built in)"
        ));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!(
            "--blob-store {url}: the bucket is missing (s3://BUCKET/PREFIX)"
        ));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

impl ObjectBlobStore {
    /// Connects lazily: nothing is sent until the first request.
    pub fn open(options: &ObjectStoreOptions) -> Result<Self, String> {
        let (bucket, prefix) = parse_url(&options.url)?;
        wharf_http::install_tls_provider();
        // A few quick retries here (about 0.7 s in all); a store still failing then is
        // answered 503, and the client's own backoff (wharf's: 6 to 12 s) takes over, instead
        // of a request hanging through object_store's default three minutes.
        let retry = ::object_store::RetryConfig {
            backoff: ::object_store::BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(10),
        };
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_retry(retry);
        if let Some(endpoint) = &options.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            builder = builder.with_region("us-east-1");
        }
        let s3 = builder
            .build()
            .map_err(|e| format!("--blob-store {}: {e}", options.url))?;
        Ok(Self {
            s3: Arc::new(s3),
            bucket,
            prefix,
        })
    }

    pub fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn path(&self, key: &str) -> Path {
        match self.prefix.as_str() {
            "" => Path::from(key),
            prefix => Path::from(format!("{prefix}/{key}")),
        }
    }

    pub fn session_key(&self, id: &str) -> String {
        format!("blobs/{id}")
    }

    pub async fn append(
        &self,
        upload: &mut Upload,
        mut body: impl BodyStream,
        index: &ControlPlane,
    ) -> Result<(), AppendError> {
        let path = self.path(&object_key(upload)?);
        let mut pending = upload.row.pending.take().unwrap_or_default();
        let mut parts: Vec<String> = serde_json::from_str(&upload.row.parts).unwrap_or_default();
        let mut in_flight = FuturesOrdered::new();
        let mut size = upload.size();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| AppendError::Body(e.to_string()))?;
            let mut chunk = chunk.as_ref();
            upload.hasher.update(chunk);
            size += chunk.len() as u64;
            while !chunk.is_empty() {
                let take = chunk.len().min(PART_SIZE - pending.len());
                pending.extend_from_slice(&chunk[..take]);
                chunk = &chunk[take..];
                if pending.len() == PART_SIZE {
                    let data = std::mem::replace(&mut pending, Vec::with_capacity(PART_SIZE));
                    let id = self.multipart(upload, &path, index).await?;
                    let index = parts.len() + in_flight.len();
                    in_flight.push_back(self.send_part(&path, id, index, data));
                    while in_flight.len() >= PARTS_IN_FLIGHT {
                        parts.push(next_part(&mut in_flight).await?);
                    }
                }
            }
        }
        if pending.len() >= MIN_PART {
            let id = self.multipart(upload, &path, index).await?;
            let index = parts.len() + in_flight.len();
            in_flight.push_back(self.send_part(&path, id, index, std::mem::take(&mut pending)));
        }
        while !in_flight.is_empty() {
            parts.push(next_part(&mut in_flight).await?);
        }
        upload.row.parts = serde_json::to_string(&parts).unwrap_or_else(|_| "[]".into());
        upload.row.pending = (!pending.is_empty()).then_some(pending);
        upload.row.size = i64::try_from(size).unwrap_or(i64::MAX);
        Ok(())
    }

    /// The session's multipart upload, created on its first part and recorded at once, so
    /// that garbage collection can abort it even if this replica dies before the PATCH ends.
    async fn multipart(
        &self,
        upload: &mut Upload,
        path: &Path,
        index: &ControlPlane,
    ) -> Result<String, AppendError> {
        if let Some(id) = &upload.row.multipart_id {
            return Ok(id.clone());
        }
        let id = self.s3.create_multipart(path).await.map_err(io)?;
        let recorded = index
            .registry_index
            .record_multipart(&upload.row.id, &id)
            .await;
        match recorded {
            Ok(true) => {
                upload.row.multipart_id = Some(id.clone());
                Ok(id)
            }
            Ok(false) => {
                let _ = self.s3.abort_multipart(path, &id).await;
                Err(AppendError::Body(
                    "another request is writing this upload session".into(),
                ))
            }
            Err(error) => {
                let _ = self.s3.abort_multipart(path, &id).await;
                Err(std::io::Error::other(error.to_string()).into())
            }
        }
    }

    fn send_part(
        &self,
        path: &Path,
        id: String,
        index: usize,
        data: Vec<u8>,
    ) -> tokio::task::JoinHandle<std::io::Result<PartId>> {
        let (s3, path) = (self.s3.clone(), path.clone());
        tokio::spawn(async move {
            s3.put_part(&path, &id, index, PutPayload::from(data))
                .await
                .map_err(io)
        })
    }

    /// Completes the session's object: the last part and the multipart upload, or one
    /// create-only PUT when no part went out.
    pub async fn seal(&self, upload: &Upload) -> std::io::Result<Staged> {
        let key = object_key(upload)?;
        let path = self.path(&key);
        let pending = upload.row.pending.clone().unwrap_or_default();
        let parts: Vec<String> = serde_json::from_str(&upload.row.parts).unwrap_or_default();
        let staged = Staged {
            key: key.clone(),
            file: None,
        };
        if parts.is_empty() {
            if let Some(id) = &upload.row.multipart_id {
                let _ = self.s3.abort_multipart(&path, id).await;
            }
            self.put_create(&path, Bytes::from(pending)).await?;
            return Ok(staged);
        }
        let id = upload
            .row
            .multipart_id
            .clone()
            .ok_or_else(|| std::io::Error::other("parts without a multipart upload"))?;
        let mut parts: Vec<PartId> = parts
            .into_iter()
            .map(|content_id| PartId { content_id })
            .collect();
        if !pending.is_empty() {
            let last = self
                .s3
                .put_part(&path, &id, parts.len(), PutPayload::from(pending))
                .await
                .map_err(io)?;
            parts.push(last);
        }
        if let Err(error) = self.s3.complete_multipart(&path, &id, parts).await {
            // A replica that died after completing it: the object is there, whole.
            match self.s3.head(&path).await {
                Ok(meta) if meta.size == upload.size() => {}
                _ => return Err(io(error)),
            }
        }
        Ok(staged)
    }

    /// A create-only PUT; an object already there under this (single-use) key is the same one.
    async fn put_create(&self, path: &Path, bytes: Bytes) -> std::io::Result<()> {
        let options = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self.s3.put_opts(path, bytes.into(), options).await {
            Ok(_) | Err(::object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(error) => Err(io(error)),
        }
    }

    pub async fn put_new(&self, id: &str, bytes: Bytes) -> std::io::Result<Staged> {
        let key = self.session_key(id);
        self.put_create(&self.path(&key), bytes).await?;
        Ok(Staged { key, file: None })
    }

    pub async fn discard(&self, session: &UploadSession) {
        let Some(key) = &session.object_key else {
            return;
        };
        let path = self.path(key);
        if let Some(id) = &session.multipart_id
            && let Err(error) = self.s3.abort_multipart(&path, id).await
        {
            tracing::debug!(%error, "aborting a multipart upload");
        }
        let _ = self.s3.delete(&path).await;
    }

    pub async fn read(&self, key: &str, range: Option<(u64, u64)>) -> std::io::Result<ByteStream> {
        let options = GetOptions {
            range: range.map(|(first, last)| GetRange::Bounded(first..last + 1)),
            ..Default::default()
        };
        let found = self
            .s3
            .get_opts(&self.path(key), options)
            .await
            .map_err(io)?;
        Ok(found.into_stream().map_err(io).boxed())
    }

    /// Whether the object `key` is there (a HEAD).
    pub async fn exists(&self, key: &str) -> std::io::Result<bool> {
        match self.s3.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(::object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(io(error)),
        }
    }

    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match self.s3.delete(&self.path(key)).await {
            Ok(()) | Err(::object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(io(error)),
        }
    }

    pub async fn list_blobs(&self) -> std::io::Result<Vec<Listed>> {
        let under = self.path("blobs");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let strip = match self.prefix.as_str() {
            "" => String::new(),
            prefix => format!("{prefix}/"),
        };
        let mut listing = self.s3.list(Some(&under));
        let mut found = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(io)?;
            let location = meta.location.to_string();
            let key = location
                .strip_prefix(&strip)
                .unwrap_or(&location)
                .to_string();
            let modified = u64::try_from(meta.last_modified.timestamp()).unwrap_or(0);
            found.push(Listed {
                key,
                size: meta.size,
                age_secs: now.saturating_sub(modified),
            });
        }
        Ok(found)
    }
}

async fn next_part(
    in_flight: &mut FuturesOrdered<tokio::task::JoinHandle<std::io::Result<PartId>>>,
) -> std::io::Result<String> {
    match in_flight.next().await {
        Some(Ok(part)) => part.map(|p| p.content_id),
        Some(Err(join)) => Err(std::io::Error::other(format!("part upload: {join}"))),
        None => Err(std::io::Error::other("no part in flight")),
    }
}

/// The object an upload session writes to.
fn object_key(upload: &Upload) -> std::io::Result<String> {
    upload
        .row
        .object_key
        .clone()
        .ok_or_else(|| std::io::Error::other("the upload session has no object key"))
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn the_url_names_bucket_and_prefix() {
        assert_eq!(
            parse_url("s3://b/p/q/").unwrap(),
            ("b".into(), "p/q".into())
        );
        assert_eq!(parse_url("s3://b").unwrap(), ("b".into(), String::new()));
        assert!(parse_url("gs://b/p").unwrap_err().contains("s3://"));
        assert!(parse_url("s3:///p").is_err());
    }
}
