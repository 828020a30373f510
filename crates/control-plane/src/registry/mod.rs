//! The built-in registry (Facets' "inbuilt" artifactory, named `default`): the OCI
//! distribution protocol over blobs, upload sessions and manifests, and the blob stores that
//! keep the bytes ([`storage`]: a local directory, or S3 through [`object_store`]). The index
//! (rows, transactions, audit entries, who may do what) is the domain's
//! (`domain::registry_index`, `domain::push`): this module reaches the store only through it,
//! handing it the blob store where a transaction must touch bytes. Nothing here knows HTTP:
//! errors are [`RegistryCode`]s, and `http` gives them their statuses.
//!
//! Repositories are `<project>/<ciName>`. Pushing needs `CLI_ARTIFACT_PUSH` on the project, or
//! a short-lived credential from `pushCredentials` for exactly that repository; pulling needs
//! any valid credential (a scoped one: its own repository only).

mod blobs;
pub mod files;
pub mod gc;
mod manifests;
pub mod object_store;
pub mod referrers;
pub mod storage;
mod uploads;

pub use gc::GcReport;
pub use manifests::{MAX_MANIFEST_BYTES, Manifest};
pub use object_store::ObjectStoreOptions;
pub use storage::{BlobStore, ByteStream};
pub use uploads::{Start, Started, Uploaded};

use crate::domain::ControlPlane;
use crate::domain::push::{RegistryCaller, require_registry_pull};
use crate::domain::registry_index::Removal;
use crate::error::Error;
use wharf_oci::{Digest, is_valid_repository};

/// Which distribution-spec error: what went wrong, never how HTTP says it (`http::registry`
/// gives each its status and wire code, in one table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryCode {
    Unauthorized,
    /// The caller may not do this (403).
    Denied,
    /// Refused for what the repository holds: referenced, or kept by a stage (409).
    Held,
    NameInvalid,
    NameUnknown,
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    /// A chunk that does not start where the session ends, or a session moved on (416).
    RangeInvalid,
    DigestInvalid,
    ManifestInvalid,
    ManifestUnknown,
    /// A manifest names a blob the repository does not hold.
    ManifestBlobUnknown,
    /// An index names a manifest the repository does not hold.
    IndexChildUnknown,
    TagInvalid,
    /// A body larger than taken.
    SizeInvalid,
    /// A body that stalled past the body timeout.
    Timeout,
    Unsupported,
    MethodNotAllowed,
    Unknown,
    /// The database is unreachable: nothing was done, try again (503).
    Unavailable,
}

/// A distribution-spec error: which one, and the message for the client.
#[derive(Debug)]
pub struct RegistryError {
    pub code: RegistryCode,
    pub message: String,
}

impl RegistryError {
    pub fn new(code: RegistryCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(RegistryCode::Unauthorized, "authentication required")
    }

    fn blob_unknown(digest: &Digest) -> Self {
        Self::new(
            RegistryCode::BlobUnknown,
            format!("blob {digest} is not in this repository"),
        )
    }

    fn manifest_unknown(reference: &str) -> Self {
        Self::new(
            RegistryCode::ManifestUnknown,
            format!("manifest {reference} is not in this repository"),
        )
    }

    fn digest_invalid(message: impl Into<String>) -> Self {
        Self::new(RegistryCode::DigestInvalid, message)
    }
}

impl From<Error> for RegistryError {
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::Unauthorized => RegistryCode::Unauthorized,
            Error::Forbidden(_) => RegistryCode::Denied,
            Error::Conflict(_) => RegistryCode::Held,
            Error::NotFound(_) => RegistryCode::NameUnknown,
            Error::BadRequest(_) | Error::NotRouted(_) => RegistryCode::Unsupported,
            Error::PayloadTooLarge(_) => RegistryCode::SizeInvalid,
            Error::RequestTimeout(_) => RegistryCode::Timeout,
            Error::MethodNotAllowed(_) => RegistryCode::MethodNotAllowed,
            Error::Internal(_) => RegistryCode::Unknown,
            Error::Unavailable(_) => RegistryCode::Unavailable,
        };
        Self::new(code, error.to_string())
    }
}

/// A registry error met outside the registry's own routes (a file uploaded through the
/// control plane): the control plane's error of the same kind.
impl From<RegistryError> for Error {
    fn from(error: RegistryError) -> Self {
        let message = error.message;
        match error.code {
            RegistryCode::Unauthorized => Error::Unauthorized,
            RegistryCode::Denied => Error::Forbidden(message),
            RegistryCode::Held => Error::Conflict(message),
            RegistryCode::NameUnknown
            | RegistryCode::BlobUnknown
            | RegistryCode::BlobUploadUnknown
            | RegistryCode::ManifestUnknown => Error::NotFound(message),
            RegistryCode::Timeout => Error::RequestTimeout(message),
            RegistryCode::Unknown => Error::Internal(message),
            RegistryCode::Unavailable => Error::Unavailable(message),
            _ => Error::BadRequest(message),
        }
    }
}

impl From<std::io::Error> for RegistryError {
    fn from(error: std::io::Error) -> Self {
        if crate::domain::registry_index::StorageUnavailable::is(&error) {
            tracing::warn!(%error, "registry storage unavailable");
            return Self::new(
                RegistryCode::Unavailable,
                crate::domain::registry_index::StorageUnavailable::MESSAGE,
            );
        }
        tracing::error!(%error, "registry storage");
        Self::new(RegistryCode::Unknown, "registry storage failed")
    }
}

pub type Answer<T> = Result<T, RegistryError>;

pub fn parse_digest(text: &str) -> Answer<Digest> {
    text.parse()
        .map_err(|e: wharf_oci::DigestError| RegistryError::digest_invalid(e.to_string()))
}

fn check_name(name: &str) -> Answer<()> {
    if is_valid_repository(name) {
        return Ok(());
    }
    Err(RegistryError::new(
        RegistryCode::NameInvalid,
        format!("'{name}' is not a valid repository name"),
    ))
}

/// The built-in registry over one control plane and one blob store.
#[derive(Clone)]
pub struct BuiltInRegistry {
    cp: ControlPlane,
    blobs: BlobStore,
}

impl BuiltInRegistry {
    pub fn new(cp: ControlPlane, blobs: BlobStore) -> Self {
        cp.door
            .set_content_reader(std::sync::Arc::new(blobs.clone()));
        Self { cp, blobs }
    }

    pub fn blob_store(&self) -> &BlobStore {
        &self.blobs
    }

    /// Who presents these credentials; any failure is the same bare 401.
    pub async fn caller(&self, credentials: Option<(String, String)>) -> Answer<RegistryCaller> {
        let (username, password) = credentials.ok_or_else(RegistryError::unauthorized)?;
        self.cp
            .push
            .registry_caller(&username, &password)
            .await
            .map_err(|_| RegistryError::unauthorized())
    }

    async fn may_push(&self, caller: &RegistryCaller, name: &str) -> Answer<()> {
        check_name(name)?;
        Ok(self.cp.push.require_registry_push(caller, name).await?)
    }

    fn may_pull(caller: &RegistryCaller, name: &str) -> Answer<()> {
        check_name(name)?;
        Ok(require_registry_pull(caller, name)?)
    }

    pub async fn tags(&self, caller: &RegistryCaller, name: &str) -> Answer<Vec<String>> {
        Self::may_pull(caller, name)?;
        Ok(self.cp.registry_index.repository_tags(name).await?)
    }

    /// A blob's size and where its bytes are, for GET and HEAD (which reads nothing more).
    pub async fn blob(
        &self,
        caller: &RegistryCaller,
        name: &str,
        digest: &str,
    ) -> Answer<(Digest, i64, String)> {
        Self::may_pull(caller, name)?;
        let digest = parse_digest(digest)?;
        let key = digest.to_string();
        let size = self
            .cp
            .registry_index
            .registry_blob(name, &key)
            .await?
            .ok_or_else(|| RegistryError::blob_unknown(&digest))?;
        let object = self
            .cp
            .registry_index
            .registry_object(&key)
            .await?
            .ok_or_else(|| RegistryError::blob_unknown(&digest))?;
        Ok((digest, size, object.object_key))
    }

    /// A blob's bytes, or a range of them (first and last byte), as found by [`Self::blob`].
    pub async fn read_blob(&self, key: &str, range: Option<(u64, u64)>) -> Answer<ByteStream> {
        Ok(self.blobs.read(key, range).await?)
    }

    /// Forgets a blob in a repository; refused while a manifest there references it.
    pub async fn delete_blob(
        &self,
        caller: &RegistryCaller,
        name: &str,
        digest: &str,
    ) -> Answer<()> {
        self.may_push(caller, name).await?;
        let digest = parse_digest(digest)?;
        let key = digest.to_string();
        match self
            .cp
            .registry_index
            .delete_registry_blob(caller, name, &key)
            .await?
        {
            Removal::Done => {}
            Removal::Unknown => return Err(RegistryError::blob_unknown(&digest)),
            Removal::Referenced(users) => {
                return Err(Error::conflict(format!(
                    "blob {digest} is still referenced by manifest {}",
                    users.join(", ")
                ))
                .into());
            }
        }
        Ok(())
    }
}
