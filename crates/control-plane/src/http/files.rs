//! Freestyle files: Facets' `POST /cc-ui/v1/artifacts/upload` (multipart: an `artifactRequest`
//! JSON part, then the `file` part, as facetsctl and Facets' SDK send them). The file is
//! streamed into the built-in registry by digest, then registered like an image.

use super::{AppState, host, registered};
use crate::domain::auth::AuthUser;
use crate::domain::push::RegistryCaller;
use crate::domain::registration::{Registration, Target};
use crate::domain::wire::FileInfo;
use crate::error::{Error, Result};
use axum::Extension;
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use wharf_api::{ArtifactRegisterType, BRANCH_NAME, UploadRequest};

/// The most an `artifactRequest` part may hold.
const MAX_REQUEST_PART: usize = 64 * 1024;

pub async fn upload(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    headers: HeaderMap,
    mut parts: Multipart,
) -> Result<axum::response::Response> {
    let host = host(&headers)?;
    let first = next_part(&mut parts).await?.ok_or_else(|| {
        Error::bad_request("the body has no parts: send `artifactRequest` (JSON), then `file`")
    })?;
    if first.name() != Some("artifactRequest") {
        return Err(Error::bad_request(format!(
            "the first part is {:?}; send the `artifactRequest` part (JSON) before the `file` \
             part, so the control plane knows where the file goes before it reads it",
            first.name().unwrap_or("unnamed")
        )));
    }
    let text = first
        .text()
        .await
        .map_err(|e| Error::bad_request(format!("part `artifactRequest`: {e}")))?;
    if text.len() > MAX_REQUEST_PART {
        return Err(Error::bad_request(format!(
            "part `artifactRequest` is {} bytes; at most {MAX_REQUEST_PART}",
            text.len()
        )));
    }
    let request: UploadRequest = serde_json::from_str(&text)
        .map_err(|e| Error::bad_request(format!("part `artifactRequest` is not valid: {e}")))?;
    let mut registration = registration_of(&state, request).await?;
    // Every check of the registration (permission, service, place) before a byte is read.
    registration.artifact_uri = format!(
        "{host}/{}/{}:file",
        registration.project, registration.ci_name
    );
    state
        .cp
        .delivery
        .preview_registration(&user, registration.clone())
        .await?;
    let file = next_part(&mut parts).await?.ok_or_else(|| {
        Error::bad_request("missing part `file`: the file to upload (WAR, JAR, ZIP…)")
    })?;
    if file.name() != Some("file") {
        return Err(Error::bad_request(format!(
            "the second part is {:?}; the file goes in a part named `file`",
            file.name().unwrap_or("unnamed")
        )));
    }
    let file_name = file_name_of(file.file_name())?;
    let repository = format!("{}/{}", registration.project, registration.ci_name);
    let caller = RegistryCaller::User(user.clone());
    let stored = state
        .registry
        .store_file(&caller, &repository, &file_name, file)
        .await?;
    registration.artifact_uri = format!("{host}/{repository}@{}", stored.manifest);
    registration.repository_name = Some(repository.clone());
    registration.tag = Some(stored.tag.clone());
    registration.file = Some(FileInfo {
        name: file_name,
        size: stored.size,
        digest: stored.digest.to_string(),
        repository,
    });
    let built = state.cp.delivery.register(&user, registration).await?;
    Ok(registered(built))
}

async fn next_part(parts: &mut Multipart) -> Result<Option<axum::extract::multipart::Field<'_>>> {
    parts
        .next_field()
        .await
        .map_err(|e| Error::bad_request(format!("the multipart body is not valid: {e}")))
}

/// The file's name as the part gives it (its last path segment), printable and short.
fn file_name_of(given: Option<&str>) -> Result<String> {
    let name = given
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim();
    if name.is_empty() {
        return Ok("file".into());
    }
    if name.len() > 255 || name.chars().any(char::is_control) {
        return Err(Error::bad_request(
            "the `file` part's filename must be at most 255 printable characters",
        ));
    }
    Ok(name.to_string())
}

/// Where the upload goes, named as a registration names it.
async fn registration_of(state: &AppState, request: UploadRequest) -> Result<Registration> {
    let project = request
        .stack_name
        .or(request.blueprint_name)
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            Error::bad_request("part `artifactRequest`: missing field `stackName` (the project)")
        })?;
    let ci_name = request
        .ci_name
        .or(request.application_name.clone())
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            Error::bad_request(
                "part `artifactRequest`: missing field `applicationName` (the service)",
            )
        })?;
    let kind = request
        .artifact_register_type
        .or(request.registration_type)
        .map(|kind| kind.parse::<ArtifactRegisterType>())
        .transpose()
        .map_err(|e| Error::bad_request(format!("part `artifactRequest`: {e}")))?;
    let value = request
        .artifact_register_value
        .or(request.registration_value);
    let mut metadata = request.metadata.unwrap_or_default();
    let target = match (kind, value) {
        (Some(kind), Some(value)) => Target::addressed(kind, value),
        (Some(kind), None) => {
            return Err(Error::bad_request(format!(
                "part `artifactRequest`: `artifactRegisterType` {} needs \
                 `artifactRegisterValue` (the branch, environment or stream)",
                kind.as_str()
            )));
        }
        (None, _) => match (&request.cluster_id, &request.release_stream) {
            (Some(id), _) => {
                let environment = state.cp.lookups.environment_by_id(id).await?;
                Target::Environment(environment.name)
            }
            (None, Some(stream)) => Target::ReleaseStream(stream.clone()),
            (None, None) if metadata.contains_key(BRANCH_NAME) => Target::Metadata,
            (None, None) => {
                return Err(Error::bad_request(
                    "part `artifactRequest`: say where the file goes: artifactRegisterType and \
                     artifactRegisterValue (GIT_REF, ENVIRONMENT or RELEASE_STREAM), clusterId, \
                     releaseStream, or metadata.BRANCH_NAME",
                ));
            }
        },
    };
    metadata.retain(|key, _| !key.trim().is_empty());
    Ok(Registration {
        project,
        ci_name,
        application_name: request.application_name,
        artifact_uri: String::new(),
        artifactory: Some(wharf_api::BUILT_IN_ARTIFACTORY.into()),
        target,
        external_id: request.external_id,
        description: request.description,
        metadata,
        repository_name: None,
        tag: None,
        require_route: request.require_route.unwrap_or(false),
        file: None,
        provenance: None,
    })
}
