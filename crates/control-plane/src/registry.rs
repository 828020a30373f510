//! The built-in registry (Facets' "inbuilt" artifactory, named `default`): the OCI
//! distribution endpoints under `/v2/`, blobs and manifests stored on disk by digest, written
//! to a temporary file and renamed into place only after their digest checks out.
//!
//! Repositories are `<project>/<ciName>`. Pushing needs `CLI_ARTIFACT_PUSH` on the project, or
//! a short-lived credential from `pushCredentials` for exactly that repository; pulling needs
//! any valid credential (a scoped one: its own repository only).

use crate::auth::{AuthUser, hash_token, parse_basic};
use crate::http::AppState;
use crate::permissions;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;
use tokio::io::AsyncWriteExt;
use wharf_oci::{Digest, MediaKind, Verifier, is_valid_repository, referenced_descriptors};

/// Manifests larger than this are refused, as the distribution spec allows.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Upload sessions older than this are gone.
const UPLOAD_TTL_SECS: i64 = 3600;
/// Prefix of the usernames `pushCredentials` hands out.
pub const CREDENTIAL_PREFIX: &str = "wharf-push-";

/// Where the bytes live: `blobs/sha256/<hex>` and `uploads/<session>`.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("blobs/sha256"))?;
        std::fs::create_dir_all(root.join("uploads"))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn blob(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }

    fn upload(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }

    /// Moves a verified upload into place (atomic rename on one file system).
    async fn commit(&self, upload: &Path, digest: &Digest) -> std::io::Result<()> {
        let target = self.blob(digest);
        if tokio::fs::try_exists(&target).await? {
            return tokio::fs::remove_file(upload).await;
        }
        tokio::fs::rename(upload, target).await
    }
}

/// A distribution-spec error: `{"errors":[{"code","message"}]}`.
struct RegistryError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl RegistryError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "authentication required",
        )
    }
}

impl From<crate::Error> for RegistryError {
    fn from(error: crate::Error) -> Self {
        let code = match &error {
            crate::Error::Forbidden(_) => "DENIED",
            crate::Error::Unauthorized => "UNAUTHORIZED",
            crate::Error::Conflict(_) => "DENIED",
            _ => "UNSUPPORTED",
        };
        let status = match &error {
            crate::Error::Conflict(_) => StatusCode::CONFLICT,
            other => other.status(),
        };
        Self::new(status, code, error.to_string())
    }
}

impl From<std::io::Error> for RegistryError {
    fn from(error: std::io::Error) -> Self {
        tracing::error!(%error, "registry storage");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "registry storage failed",
        )
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"errors": [{"code": self.code, "message": self.message}]});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"wharf registry\""),
            );
        }
        response
    }
}

type Answer = Result<Response, RegistryError>;

/// Who is calling the registry.
enum Caller {
    User(AuthUser),
    /// A `pushCredentials` credential: push and pull on one repository only.
    Scoped {
        repository: String,
    },
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, RegistryError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some((username, password)) = header.and_then(parse_basic) else {
        return Err(RegistryError::unauthorized());
    };
    if username.starts_with(CREDENTIAL_PREFIX) {
        let Some((hash, repository, _owner, expires_at)) =
            state.store.registry_credential(&username).await?
        else {
            return Err(RegistryError::unauthorized());
        };
        let matches = bool::from(hash.as_bytes().ct_eq(hash_token(&password).as_bytes()));
        if !matches || expires_at.as_str() <= crate::store::now().as_str() {
            return Err(RegistryError::unauthorized());
        }
        return Ok(Caller::Scoped { repository });
    }
    let header = format!("Basic {}", base64_pair(&username, &password));
    Ok(Caller::User(
        state
            .auth
            .verify(Some(&header))
            .await
            .map_err(|_| RegistryError::unauthorized())?,
    ))
}

fn base64_pair(username: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
}

async fn require_push(
    state: &AppState,
    caller: &Caller,
    repository: &str,
) -> Result<(), RegistryError> {
    match caller {
        Caller::Scoped {
            repository: allowed,
        } if allowed == repository => Ok(()),
        Caller::Scoped {
            repository: allowed,
        } => Err(RegistryError::new(
            StatusCode::FORBIDDEN,
            "DENIED",
            format!("this credential may push to {allowed} only, not {repository}"),
        )),
        Caller::User(user) => {
            let project = repository.split('/').next().unwrap_or_default();
            permissions::require(&state.store, user, project, permissions::CLI_ARTIFACT_PUSH)
                .await?;
            Ok(())
        }
    }
}

fn require_pull(caller: &Caller, repository: &str) -> Result<(), RegistryError> {
    match caller {
        Caller::Scoped {
            repository: allowed,
        } if allowed != repository => Err(RegistryError::new(
            StatusCode::FORBIDDEN,
            "DENIED",
            format!("this credential may pull from {allowed} only, not {repository}"),
        )),
        _ => Ok(()),
    }
}

/// What a `/v2/…` path names.
enum Route {
    Ping,
    Tags(String),
    Manifest(String, String),
    Upload(String, Option<String>),
    Blob(String, String),
}

fn route(path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/v2")?.trim_start_matches('/');
    if rest.is_empty() {
        return Some(Route::Ping);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags(name.into()));
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        return Some(Route::Manifest(name.into(), reference.into()));
    }
    if let Some((name, session)) = rest.split_once("/blobs/uploads") {
        let session = session.trim_matches('/');
        return Some(Route::Upload(
            name.into(),
            (!session.is_empty()).then(|| session.to_string()),
        ));
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        return Some(Route::Blob(name.into(), digest.into()));
    }
    None
}

fn name_unknown(name: &str) -> RegistryError {
    RegistryError::new(
        StatusCode::NOT_FOUND,
        "NAME_INVALID",
        format!("'{name}' is not a valid repository name"),
    )
}

fn parse_digest(text: &str) -> Result<Digest, RegistryError> {
    text.parse().map_err(|e: wharf_oci::DigestError| {
        RegistryError::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", e.to_string())
    })
}

fn query_param(request: &Request, key: &str) -> Option<String> {
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Every `/v2/…` request.
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let answer = dispatch(&state, request).await;
    let mut response = answer.unwrap_or_else(IntoResponse::into_response);
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

async fn dispatch(state: &AppState, request: Request) -> Answer {
    let Some(route) = route(request.uri().path()) else {
        return Err(RegistryError::new(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "no such registry path",
        ));
    };
    let caller = caller(state, request.headers()).await?;
    let method = request.method().clone();
    match route {
        Route::Ping => Ok(axum::Json(serde_json::json!({})).into_response()),
        Route::Tags(name) => {
            check_name(&name)?;
            require_pull(&caller, &name)?;
            let tags = state.store.registry_tags(&name).await?;
            Ok(axum::Json(serde_json::json!({"name": name, "tags": tags})).into_response())
        }
        Route::Blob(name, digest) => {
            check_name(&name)?;
            let digest = parse_digest(&digest)?;
            match method {
                Method::GET | Method::HEAD => {
                    require_pull(&caller, &name)?;
                    get_blob(state, &name, &digest, method == Method::HEAD).await
                }
                Method::DELETE => {
                    require_push(state, &caller, &name).await?;
                    if !state
                        .store
                        .delete_registry_blob(&name, &digest.to_string())
                        .await?
                    {
                        return Err(blob_unknown(&digest));
                    }
                    Ok(StatusCode::ACCEPTED.into_response())
                }
                _ => Err(unsupported()),
            }
        }
        Route::Upload(name, session) => {
            check_name(&name)?;
            require_push(state, &caller, &name).await?;
            match (method, session) {
                (Method::POST, None) => start_upload(state, &name, request).await,
                (Method::PATCH, Some(id)) => patch_upload(state, &name, &id, request).await,
                (Method::PUT, Some(id)) => finish_upload(state, &name, &id, request).await,
                (Method::GET, Some(id)) => upload_status(state, &name, &id).await,
                (Method::DELETE, Some(id)) => cancel_upload(state, &name, &id).await,
                _ => Err(unsupported()),
            }
        }
        Route::Manifest(name, reference) => {
            check_name(&name)?;
            match method {
                Method::GET | Method::HEAD => {
                    require_pull(&caller, &name)?;
                    get_manifest(state, &name, &reference, method == Method::HEAD).await
                }
                Method::PUT => {
                    require_push(state, &caller, &name).await?;
                    put_manifest(state, &name, &reference, request).await
                }
                Method::DELETE => {
                    require_push(state, &caller, &name).await?;
                    let digest = parse_digest(&reference)?;
                    if !state
                        .store
                        .delete_registry_manifest(&name, &digest.to_string())
                        .await?
                    {
                        return Err(manifest_unknown(&reference));
                    }
                    Ok(StatusCode::ACCEPTED.into_response())
                }
                _ => Err(unsupported()),
            }
        }
    }
}

fn check_name(name: &str) -> Result<(), RegistryError> {
    if is_valid_repository(name) {
        Ok(())
    } else {
        Err(name_unknown(name))
    }
}

fn unsupported() -> RegistryError {
    RegistryError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "UNSUPPORTED",
        "method not allowed here",
    )
}

fn blob_unknown(digest: &Digest) -> RegistryError {
    RegistryError::new(
        StatusCode::NOT_FOUND,
        "BLOB_UNKNOWN",
        format!("blob {digest} is not in this repository"),
    )
}

fn manifest_unknown(reference: &str) -> RegistryError {
    RegistryError::new(
        StatusCode::NOT_FOUND,
        "MANIFEST_UNKNOWN",
        format!("manifest {reference} is not in this repository"),
    )
}

fn with_headers(mut response: Response, pairs: &[(&'static str, String)]) -> Response {
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

async fn get_blob(state: &AppState, name: &str, digest: &Digest, head_only: bool) -> Answer {
    let size = state
        .store
        .registry_blob(name, &digest.to_string())
        .await?
        .ok_or_else(|| blob_unknown(digest))?;
    let headers = [
        ("docker-content-digest", digest.to_string()),
        ("content-length", size.to_string()),
        ("content-type", "application/octet-stream".to_string()),
    ];
    if head_only {
        return Ok(with_headers(StatusCode::OK.into_response(), &headers));
    }
    let file = tokio::fs::File::open(state.blobs.blob(digest)).await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        file,
        256 * 1024,
    ));
    Ok(with_headers(
        (StatusCode::OK, body).into_response(),
        &headers,
    ))
}

/// Appends the request body to the session's file; answers the new size.
async fn append_body(path: &Path, body: Body) -> Result<u64, RegistryError> {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            RegistryError::new(
                StatusCode::BAD_REQUEST,
                "BLOB_UPLOAD_INVALID",
                format!("reading the upload: {e}"),
            )
        })?;
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    file.sync_all().await?;
    Ok(file.metadata().await?.len())
}

fn upload_answer(status: StatusCode, name: &str, id: &str, size: u64) -> Response {
    let range = if size == 0 {
        "0-0".to_string()
    } else {
        format!("0-{}", size - 1)
    };
    with_headers(
        status.into_response(),
        &[
            ("location", format!("/v2/{name}/blobs/uploads/{id}")),
            ("docker-upload-uuid", id.to_string()),
            ("range", range),
            ("content-length", "0".into()),
        ],
    )
}

fn blob_created(name: &str, digest: &Digest) -> Response {
    with_headers(
        StatusCode::CREATED.into_response(),
        &[
            ("location", format!("/v2/{name}/blobs/{digest}")),
            ("docker-content-digest", digest.to_string()),
            ("content-length", "0".into()),
        ],
    )
}

/// `POST /v2/<name>/blobs/uploads/`: a mount, a whole blob (`?digest=`), or a new session.
async fn start_upload(state: &AppState, name: &str, request: Request) -> Answer {
    if let Some(mount) = query_param(&request, "mount") {
        let digest = parse_digest(&mount)?;
        let from = query_param(&request, "from");
        if let Some(size) = state
            .store
            .registry_blob_elsewhere(&digest.to_string(), from.as_deref())
            .await?
        {
            state
                .store
                .add_registry_blob(name, &digest.to_string(), size)
                .await?;
            return Ok(blob_created(name, &digest));
        }
    }
    let id = crate::store::new_id();
    state.store.create_upload(&id, name).await?;
    if let Some(digest) = query_param(&request, "digest") {
        let digest = parse_digest(&digest)?;
        let path = state.blobs.upload(&id);
        append_body(&path, request.into_body()).await?;
        return commit_upload(state, name, &id, &digest).await;
    }
    Ok(upload_answer(StatusCode::ACCEPTED, name, &id, 0))
}

async fn session(state: &AppState, name: &str, id: &str) -> Result<PathBuf, RegistryError> {
    let unknown = || {
        RegistryError::new(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            format!("upload {id} is unknown or expired"),
        )
    };
    let (repository, created_at) = state.store.upload(id).await?.ok_or_else(unknown)?;
    let expired =
        time::OffsetDateTime::parse(&created_at, &time::format_description::well_known::Rfc3339)
            .map(|at| (time::OffsetDateTime::now_utc() - at).whole_seconds() > UPLOAD_TTL_SECS)
            .unwrap_or(true);
    if repository != name || expired {
        if expired {
            state.store.delete_upload(id).await?;
            let _ = tokio::fs::remove_file(state.blobs.upload(id)).await;
        }
        return Err(unknown());
    }
    Ok(state.blobs.upload(id))
}

async fn patch_upload(state: &AppState, name: &str, id: &str, request: Request) -> Answer {
    let path = session(state, name, id).await?;
    let current = tokio::fs::metadata(&path)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    if let Some(range) = request
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
    {
        let start = range
            .trim_start_matches("bytes ")
            .split('-')
            .next()
            .and_then(|s| s.trim().parse::<u64>().ok());
        if start != Some(current) {
            let mut response = upload_answer(StatusCode::RANGE_NOT_SATISFIABLE, name, id, current);
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            return Ok(response);
        }
    }
    let size = append_body(&path, request.into_body()).await?;
    Ok(upload_answer(StatusCode::ACCEPTED, name, id, size))
}

async fn finish_upload(state: &AppState, name: &str, id: &str, request: Request) -> Answer {
    let digest = query_param(&request, "digest").ok_or_else(|| {
        RegistryError::new(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            "the final PUT needs ?digest=",
        )
    })?;
    let digest = parse_digest(&digest)?;
    let path = session(state, name, id).await?;
    append_body(&path, request.into_body()).await?;
    commit_upload(state, name, id, &digest).await
}

/// Checks the uploaded bytes against `digest`, then moves them into place; a mismatch
/// deletes the upload and commits nothing.
async fn commit_upload(state: &AppState, name: &str, id: &str, digest: &Digest) -> Answer {
    let path = state.blobs.upload(id);
    let verified = verify_file(&path, digest).await;
    state.store.delete_upload(id).await?;
    let size = match verified {
        Ok(size) => size,
        Err(error) => {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(error);
        }
    };
    state.blobs.commit(&path, digest).await?;
    state
        .store
        .add_registry_blob(name, &digest.to_string(), size as i64)
        .await?;
    Ok(blob_created(name, digest))
}

async fn verify_file(path: &Path, digest: &Digest) -> Result<u64, RegistryError> {
    use tokio::io::AsyncReadExt;
    let mut verifier = Verifier::new(digest).map_err(|e| {
        RegistryError::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", e.to_string())
    })?;
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tokio::fs::File::create(path).await?;
            tokio::fs::File::open(path).await?
        }
        Err(e) => return Err(e.into()),
    };
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        verifier.update(&buffer[..read]);
    }
    verifier
        .finish()
        .map_err(|e| RegistryError::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", e.to_string()))
}

async fn upload_status(state: &AppState, name: &str, id: &str) -> Answer {
    let path = session(state, name, id).await?;
    let size = tokio::fs::metadata(&path)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let mut response = upload_answer(StatusCode::NO_CONTENT, name, id, size);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

async fn cancel_upload(state: &AppState, name: &str, id: &str) -> Answer {
    let path = session(state, name, id).await?;
    state.store.delete_upload(id).await?;
    let _ = tokio::fs::remove_file(path).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn resolve_reference(
    state: &AppState,
    name: &str,
    reference: &str,
) -> Result<Digest, RegistryError> {
    if reference.contains(':') {
        return parse_digest(reference);
    }
    let digest = state
        .store
        .registry_tag(name, reference)
        .await?
        .ok_or_else(|| manifest_unknown(reference))?;
    parse_digest(&digest)
}

async fn get_manifest(state: &AppState, name: &str, reference: &str, head_only: bool) -> Answer {
    let digest = resolve_reference(state, name, reference).await?;
    let (media_type, size) = state
        .store
        .registry_manifest(name, &digest.to_string())
        .await?
        .ok_or_else(|| manifest_unknown(reference))?;
    let headers = [
        ("docker-content-digest", digest.to_string()),
        ("content-type", media_type),
        ("content-length", size.to_string()),
    ];
    if head_only {
        return Ok(with_headers(StatusCode::OK.into_response(), &headers));
    }
    let bytes = tokio::fs::read(state.blobs.blob(&digest)).await?;
    Ok(with_headers(
        (StatusCode::OK, bytes).into_response(),
        &headers,
    ))
}

/// Stores a manifest verbatim once everything it references is in the repository.
async fn put_manifest(state: &AppState, name: &str, reference: &str, request: Request) -> Answer {
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = axum::body::to_bytes(request.into_body(), MAX_MANIFEST_BYTES)
        .await
        .map_err(|_| {
            RegistryError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "SIZE_INVALID",
                "manifests are at most 4 MiB",
            )
        })?;
    let digest = Digest::sha256_of(&bytes);
    if reference.contains(':') && parse_digest(reference)? != digest {
        return Err(RegistryError::new(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            format!("the manifest's digest is {digest}, not {reference}"),
        ));
    }
    let (kind, children) = referenced_descriptors(&media_type, &bytes)
        .map_err(|e| RegistryError::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", e))?;
    for child in &children {
        let key = child.digest.to_string();
        let present = match kind {
            MediaKind::Manifest => state.store.registry_blob(name, &key).await?.is_some(),
            MediaKind::Index => state.store.registry_manifest(name, &key).await?.is_some(),
        };
        if !present {
            let code = if kind == MediaKind::Manifest {
                "MANIFEST_BLOB_UNKNOWN"
            } else {
                "MANIFEST_UNKNOWN"
            };
            return Err(RegistryError::new(
                StatusCode::BAD_REQUEST,
                code,
                format!("{key} is not in {name}: push it first"),
            ));
        }
    }
    let path = state.blobs.upload(&crate::store::new_id());
    tokio::fs::write(&path, &bytes).await?;
    state.blobs.commit(&path, &digest).await?;
    let media_type = if media_type.is_empty() {
        wharf_oci::OCI_MANIFEST.to_string()
    } else {
        media_type
    };
    let children: Vec<String> = children.iter().map(|c| c.digest.to_string()).collect();
    let tag = (!reference.contains(':')).then_some(reference);
    state
        .store
        .put_registry_manifest(
            name,
            &digest.to_string(),
            &media_type,
            bytes.len() as i64,
            &children,
            tag,
        )
        .await?;
    Ok(with_headers(
        StatusCode::CREATED.into_response(),
        &[
            ("location", format!("/v2/{name}/manifests/{digest}")),
            ("docker-content-digest", digest.to_string()),
            ("content-length", "0".into()),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_paths_with_nested_names() {
        assert!(matches!(route("/v2/"), Some(Route::Ping)));
        assert!(matches!(route("/v2/shop/api/tags/list"), Some(Route::Tags(n)) if n == "shop/api"));
        assert!(
            matches!(route("/v2/a/b/c/manifests/v1"), Some(Route::Manifest(n, r)) if n == "a/b/c" && r == "v1")
        );
        assert!(
            matches!(route("/v2/a/b/blobs/uploads/"), Some(Route::Upload(n, None)) if n == "a/b")
        );
        assert!(
            matches!(route("/v2/a/b/blobs/uploads/xyz"), Some(Route::Upload(n, Some(s))) if n == "a/b" && s == "xyz")
        );
        assert!(
            matches!(route("/v2/a/blobs/sha256:00"), Some(Route::Blob(n, d)) if n == "a" && d == "sha256:00")
        );
        assert!(route("/v3/a").is_none());
    }
}
