//! The built-in registry's `/v2/` routes: each request becomes one operation of
//! [`crate::registry::Registry`], each answer the distribution spec's headers and errors.

use super::{AppState, basic_credentials};
use crate::registry::{Manifest, RegistryCode, RegistryError, Start, Started, Uploaded};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_oci::Digest;

const MAX_MANIFEST_BYTES: usize = crate::registry::MAX_MANIFEST_BYTES;

/// What a `/v2/…` path names.
enum Route {
    Ping,
    Tags(String),
    Manifest(String, String),
    Upload(String, Option<String>),
    Blob(String, String),
    Referrers(String, String),
}

fn route(path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/v2")?.trim_start_matches('/');
    if rest.is_empty() {
        return Some(Route::Ping);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags(name.into()));
    }
    if let Some((name, digest)) = rest.rsplit_once("/referrers/")
        && !digest.contains('/')
    {
        return Some(Route::Referrers(name.into(), digest.into()));
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

struct Failure(RegistryError);

impl From<RegistryError> for Failure {
    fn from(error: RegistryError) -> Self {
        Self(error)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let error = self.0;
        let (status, code) = super::registry_status(error.code);
        let body = serde_json::json!({"errors": [{"code": code, "message": error.message}]});
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"wharf registry\""),
            );
        }
        response
    }
}

type Answer = Result<Response, Failure>;

fn query_param(request: &Request, key: &str) -> Option<String> {
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn with_headers(status: StatusCode, pairs: &[(&'static str, String)]) -> Response {
    let mut response = status.into_response();
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
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

fn unsupported() -> Failure {
    Failure(RegistryError::new(
        RegistryCode::MethodNotAllowed,
        "method not allowed here",
    ))
}

async fn dispatch(state: &AppState, request: Request) -> Answer {
    let Some(route) = route(request.uri().path()) else {
        return Err(RegistryError::new(RegistryCode::NameUnknown, "no such registry path").into());
    };
    let registry = &state.registry;
    let caller = registry
        .caller(basic_credentials(request.headers()))
        .await?;
    let method = request.method().clone();
    match (route, method) {
        (Route::Ping, _) => Ok(axum::Json(serde_json::json!({})).into_response()),
        (Route::Referrers(name, digest), Method::GET) => {
            let query = request.uri().query().unwrap_or_default();
            let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://q/?{query}"))
                .map(|u| u.query_pairs().into_owned().collect())
                .unwrap_or_default();
            let get = |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
            };
            let n = match get("n") {
                None => None,
                Some(text) => Some(text.parse::<i64>().map_err(|_| {
                    RegistryError::new(RegistryCode::Unsupported, "n must be a number")
                })?),
            };
            let page = registry
                .referrers(&caller, &name, &digest, get("artifactType"), get("last"), n)
                .await?;
            let mut response = axum::Json(page.index).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(wharf_oci::OCI_INDEX),
            );
            if page.filtered {
                headers.insert(
                    "oci-filters-applied",
                    HeaderValue::from_static("artifactType"),
                );
            }
            if let Some(after) = page.next_after {
                let mut next = reqwest::Url::parse("http://q/").expect("a fixed URL");
                next.query_pairs_mut().append_pair("last", &after);
                if let Some(kind) = get("artifactType") {
                    next.query_pairs_mut().append_pair("artifactType", kind);
                }
                if let Some(n) = n {
                    next.query_pairs_mut().append_pair("n", &n.to_string());
                }
                let query = next.query().unwrap_or_default();
                let link = format!("</v2/{name}/referrers/{digest}?{query}>; rel=\"next\"");
                if let Ok(value) = HeaderValue::from_str(&link) {
                    headers.insert(header::LINK, value);
                }
            }
            Ok(response)
        }
        (Route::Tags(name), _) => {
            let tags = registry.tags(&caller, &name).await?;
            Ok(axum::Json(serde_json::json!({"name": name, "tags": tags})).into_response())
        }
        (Route::Blob(name, digest), method @ (Method::GET | Method::HEAD)) => {
            let (digest, size, key) = registry.blob(&caller, &name, &digest).await?;
            let range = request
                .headers()
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            blob(
                registry,
                &digest,
                size,
                &key,
                range.as_deref(),
                method == Method::HEAD,
            )
            .await
        }
        (Route::Blob(name, digest), Method::DELETE) => {
            registry.delete_blob(&caller, &name, &digest).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        (Route::Upload(name, None), Method::POST) => {
            let mount = query_param(&request, "mount");
            let from = query_param(&request, "from");
            let digest = query_param(&request, "digest");
            let start = Start {
                mount: mount.as_deref(),
                from: from.as_deref(),
                digest: digest.as_deref(),
            };
            let body = request.into_body().into_data_stream();
            match registry.start_upload(&caller, &name, start, body).await? {
                Started::Created(digest) => Ok(blob_created(&name, &digest)),
                Started::Session(id) => Ok(upload_answer(StatusCode::ACCEPTED, &name, &id, 0)),
            }
        }
        (Route::Upload(name, Some(id)), Method::PATCH) => {
            let range_start = request
                .headers()
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .map(content_range_start);
            let body = request.into_body().into_data_stream();
            match registry
                .patch_upload(&caller, &name, &id, range_start, body)
                .await?
            {
                Uploaded::Accepted(size) => {
                    Ok(upload_answer(StatusCode::ACCEPTED, &name, &id, size))
                }
                Uploaded::OutOfOrder(size) => Ok(upload_answer(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    &name,
                    &id,
                    size,
                )),
            }
        }
        (Route::Upload(name, Some(id)), Method::PUT) => {
            let digest = query_param(&request, "digest");
            let body = request.into_body().into_data_stream();
            let digest = registry
                .finish_upload(&caller, &name, &id, digest.as_deref(), body)
                .await?;
            Ok(blob_created(&name, &digest))
        }
        (Route::Upload(name, Some(id)), Method::GET) => {
            let size = registry.upload_status(&caller, &name, &id).await?;
            Ok(upload_answer(StatusCode::NO_CONTENT, &name, &id, size))
        }
        (Route::Upload(name, Some(id)), Method::DELETE) => {
            registry.cancel_upload(&caller, &name, &id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (Route::Manifest(name, reference), method @ (Method::GET | Method::HEAD)) => {
            let with_bytes = method == Method::GET;
            let manifest = registry
                .manifest(&caller, &name, &reference, with_bytes)
                .await?;
            Ok(manifest_answer(manifest))
        }
        (Route::Manifest(name, reference), Method::PUT) => {
            let media_type = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let bytes = axum::body::to_bytes(request.into_body(), MAX_MANIFEST_BYTES)
                .await
                .map_err(|_| {
                    RegistryError::new(RegistryCode::SizeInvalid, "manifests are at most 4 MiB")
                })?;
            let pushed = registry
                .put_manifest(&caller, &name, &reference, &media_type, &bytes)
                .await?;
            let digest = pushed.digest;
            let mut headers = vec![
                ("location", format!("/v2/{name}/manifests/{digest}")),
                ("docker-content-digest", digest.to_string()),
                ("content-length", "0".into()),
            ];
            if let Some(subject) = pushed.subject {
                headers.push(("oci-subject", subject));
            }
            Ok(with_headers(StatusCode::CREATED, &headers))
        }
        (Route::Manifest(name, reference), Method::DELETE) => {
            registry.delete_manifest(&caller, &name, &reference).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        _ => Err(unsupported()),
    }
}

/// The first byte of a `Content-Range` (`bytes 0-99` or `0-99`).
fn content_range_start(range: &str) -> Option<u64> {
    range
        .trim_start_matches("bytes ")
        .split('-')
        .next()
        .and_then(|s| s.trim().parse::<u64>().ok())
}

/// A blob, whole or one byte range (`Range: bytes=first-last`, `first-` or `-suffix`, 206);
/// a HEAD answers from the index alone and reads nothing.
async fn blob(
    registry: &crate::registry::BuiltInRegistry,
    digest: &Digest,
    size: i64,
    key: &str,
    range: Option<&str>,
    head_only: bool,
) -> Answer {
    let total = u64::try_from(size).unwrap_or(0);
    let range = match range.map(|r| byte_range(r, total)) {
        None => None,
        Some(Some(range)) => Some(range),
        Some(None) => {
            return Ok(with_headers(
                StatusCode::RANGE_NOT_SATISFIABLE,
                &[("content-range", format!("bytes */{total}"))],
            ));
        }
    };
    let (status, length) = match range {
        Some((first, last)) => (StatusCode::PARTIAL_CONTENT, last - first + 1),
        None => (StatusCode::OK, total),
    };
    let mut headers = vec![
        ("docker-content-digest", digest.to_string()),
        ("content-length", length.to_string()),
        ("content-type", "application/octet-stream".to_string()),
        ("accept-ranges", "bytes".to_string()),
    ];
    if let Some((first, last)) = range {
        headers.push(("content-range", format!("bytes {first}-{last}/{total}")));
    }
    let mut response = with_headers(status, &headers);
    if head_only {
        return Ok(response);
    }
    let stream = registry.read_blob(key, range).await?;
    *response.body_mut() = Body::from_stream(stream);
    Ok(response)
}

/// One byte range of a `Range` header within `total` bytes: (first, last), inclusive; `None`
/// when it cannot be satisfied (several ranges are not served).
fn byte_range(header: &str, total: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || total == 0 {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let suffix: u64 = suffix.parse().ok()?;
            (total.checked_sub(suffix.min(total))?, total - 1)
        }
        (first, "") => (first.parse().ok()?, total - 1),
        (first, last) => (
            first.parse().ok()?,
            last.parse::<u64>().ok()?.min(total - 1),
        ),
    };
    (first <= last && first < total).then_some((first, last))
}

/// `POST /wharf/v1/gc?dryRun=true&graceSeconds=N`: a server admin collects the built-in
/// registry's garbage (see `registry::gc`).
pub async fn gc(
    State(state): State<AppState>,
    axum::Extension(user): axum::Extension<crate::domain::auth::AuthUser>,
    super::Query(query): super::Query<GcQuery>,
) -> Result<axum::Json<crate::registry::GcReport>, crate::error::Error> {
    let grace = match query.grace_seconds.as_deref() {
        None => crate::registry::gc::DEFAULT_GRACE_SECS,
        Some(text) => wharf_api::duration::parse(text, true)
            .map_err(|e| crate::error::Error::bad_request(format!("query `graceSeconds`: {e}")))?
            .as_secs(),
    };
    let report = state
        .registry
        .collect_garbage_as(&user, query.dry_run.unwrap_or(false), grace)
        .await
        .map_err(|e| match e.code {
            crate::registry::RegistryCode::Unknown => crate::error::Error::Internal(e.message),
            _ => crate::error::Error::bad_request(e.message),
        })?;
    Ok(axum::Json(report))
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GcQuery {
    dry_run: Option<bool>,
    /// Seconds, or any duration of the one grammar (`1h`).
    grace_seconds: Option<String>,
}

fn manifest_answer(manifest: Manifest) -> Response {
    let headers = [
        ("docker-content-digest", manifest.digest.to_string()),
        ("content-type", manifest.media_type),
        ("content-length", manifest.size.to_string()),
    ];
    let mut response = with_headers(StatusCode::OK, &headers);
    if let Some(bytes) = manifest.bytes {
        *response.body_mut() = Body::from(bytes);
    }
    response
}

fn upload_answer(status: StatusCode, name: &str, id: &str, size: u64) -> Response {
    let range = match size {
        0 => "0-0".to_string(),
        size => format!("0-{}", size - 1),
    };
    with_headers(
        status,
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
        StatusCode::CREATED,
        &[
            ("location", format!("/v2/{name}/blobs/{digest}")),
            ("docker-content-digest", digest.to_string()),
            ("content-length", "0".into()),
        ],
    )
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

    #[test]
    fn byte_ranges_within_the_blob() {
        assert_eq!(byte_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(byte_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=-200", 100), Some((0, 99)));
        assert_eq!(byte_range("bytes=95-200", 100), Some((95, 99)));
        assert_eq!(byte_range("bytes=100-", 100), None);
        assert_eq!(byte_range("bytes=5-1", 100), None);
        assert_eq!(byte_range("bytes=0-1,4-5", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
    }

    #[test]
    fn content_range_starts_with_or_without_the_unit() {
        assert_eq!(content_range_start("bytes 100-199"), Some(100));
        assert_eq!(content_range_start("0-99"), Some(0));
        assert_eq!(content_range_start("x"), None);
    }
}
