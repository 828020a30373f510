//! What a blob store speaks, whichever one it is: request bodies, upload sessions with their
//! running SHA-256 state, listings and staged blobs. Both stores ([`super::storage`]'s local
//! directory and [`super::object_store`]) use these; neither imports the other for them.

use crate::domain::registry_index::UploadSession;
use bytes::Bytes;
use futures_util::Stream;
use futures_util::stream::BoxStream;
use sha2::digest::common::hazmat::{SerializableState, SerializedState};
use sha2::{Digest as _, Sha256};
use std::path::PathBuf;

/// A request body as the registry reads it: chunks of bytes, or the client's failure.
pub trait BodyStream: Stream<Item = Result<Self::Chunk, Self::Failure>> + Unpin + Send {
    type Chunk: AsRef<[u8]> + Into<Bytes> + Send;
    type Failure: std::fmt::Display;
}

impl<S, B, E> BodyStream for S
where
    S: Stream<Item = Result<B, E>> + Unpin + Send,
    B: AsRef<[u8]> + Into<Bytes> + Send,
    E: std::fmt::Display,
{
    type Chunk = B;
    type Failure = E;
}

/// Why reading an upload's body failed: the client's stream, or the storage.
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

/// A blob's bytes as a stream.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// An object the store holds, as listed for garbage collection.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    /// Seconds since it was last written.
    pub age_secs: u64,
}

/// An upload session as one request works on it: the row, and the hasher it restores.
pub struct Upload {
    pub row: UploadSession,
    pub hasher: Sha256,
}

impl Upload {
    /// Restores the hasher saved with the session (`None`: nothing hashed yet).
    pub fn load(row: UploadSession) -> std::io::Result<Self> {
        let hasher = match row.hash_state.as_deref() {
            None | Some("") => Sha256::new(),
            Some(state) => restore_hasher(state)?,
        };
        Ok(Self { row, hasher })
    }

    /// The hasher's state, for the row.
    pub fn save_hasher(&mut self) {
        self.row.hash_state = Some(hex::encode(self.hasher.serialize().as_slice()));
    }

    pub fn size(&self) -> u64 {
        u64::try_from(self.row.size).unwrap_or(0)
    }

    /// The digest of everything received.
    pub fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(self.hasher.clone().finalize()))
    }
}

fn restore_hasher(state: &str) -> std::io::Result<Sha256> {
    let invalid = |what: &str| std::io::Error::other(format!("upload hash state: {what}"));
    let bytes = hex::decode(state).map_err(|_| invalid("not hex"))?;
    let serialized =
        SerializedState::<Sha256>::try_from(&bytes[..]).map_err(|_| invalid("wrong length"))?;
    Sha256::deserialize(&serialized).map_err(|_| invalid("not a SHA-256 state"))
}

/// A verified blob written where the store keeps it, not yet named by a row.
#[derive(Debug, Clone)]
pub struct Staged {
    /// The key the row will name.
    pub key: String,
    /// Local store: the upload file to move to `key` once the row is written.
    pub file: Option<PathBuf>,
}
