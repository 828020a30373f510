//! Container registries (Facets' artifactories): the built-in one, named `default`, and the
//! "others" an admin adds, which `wharf push` can copy into instead.

use super::push::BUILT_IN_ARTIFACTORY;
use super::{AppState, Body};
use crate::audit::Audit;
use crate::auth::AuthUser;
use crate::error::{Error, Result, require};
use crate::permissions;
use crate::store::{ArtifactoryRow, format_time};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use wharf_api::{Artifactory, OtherArtifactoryRequest};

fn built_in(headers: &HeaderMap) -> Result<Artifactory> {
    Ok(Artifactory {
        name: BUILT_IN_ARTIFACTORY.into(),
        uri: super::push::registry_host(headers)?,
        artifactory_type: "INBUILT".into(),
        username: None,
        created_by: None,
        creation_date: None,
    })
}

fn view(row: &ArtifactoryRow) -> Artifactory {
    Artifactory {
        name: row.name.clone(),
        uri: row.uri.clone(),
        artifactory_type: "OTHERS".into(),
        username: Some(row.username.clone()).filter(|u| !u.is_empty()),
        created_by: Some(row.created_by.clone()),
        creation_date: Some(row.created_at.clone()),
    }
}

/// `GET /cc-ui/v1/artifactories` (and `/artifactories/stack/{stack}`: every registry serves
/// every project here).
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<Artifactory>>> {
    let mut all = vec![built_in(&headers)?];
    all.extend(state.store.artifactories().await?.iter().map(view));
    Ok(Json(all))
}

pub async fn of_project(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(stack): Path<String>,
) -> Result<Json<Vec<Artifactory>>> {
    state.store.project(&stack).await?;
    list(State(state), headers).await
}

/// `GET /cc-ui/v1/artifactories/name/{name}`.
pub async fn by_name(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Artifactory>> {
    if name == BUILT_IN_ARTIFACTORY {
        return Ok(Json(built_in(&headers)?));
    }
    let row = state
        .store
        .artifactory(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(Json(view(&row)))
}

pub fn not_found(name: &str) -> Error {
    Error::not_found(format!(
        "artifactory '{name}' is not known here; add it with POST /cc-ui/v1/artifactories/others, \
         or use '{BUILT_IN_ARTIFACTORY}', the built-in registry"
    ))
}

/// `POST /cc-ui/v1/artifactories/others` (server admins: registries serve every project).
pub async fn create_other(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Body(body): Body<OtherArtifactoryRequest>,
) -> Result<(StatusCode, Json<Artifactory>)> {
    permissions::require_admin(&user, "adding a container registry")?;
    let name = require("name", Some(&body.name))?;
    if name == BUILT_IN_ARTIFACTORY {
        return Err(Error::conflict(format!(
            "'{BUILT_IN_ARTIFACTORY}' is the built-in registry's name; choose another `name`"
        )));
    }
    let uri = registry_uri(&require("uri", Some(&body.uri))?)?;
    let username = body.username.unwrap_or_default().trim().to_string();
    let password = body.password.unwrap_or_default();
    if username.is_empty() != password.is_empty() {
        return Err(Error::bad_request(
            "give both `username` and `password`, or neither (an anonymous registry)",
        ));
    }
    let row = ArtifactoryRow {
        name: name.clone(),
        uri,
        username,
        password,
        created_by: user.username.clone(),
        created_at: format_time(time::OffsetDateTime::now_utc()),
    };
    let audit = Audit::new(
        &user.username,
        "CONTAINER_REGISTRY",
        "CONTAINER_REGISTRY_CREATE",
    )
    .target(&name)
    .meta("uri", &row.uri);
    state.store.insert_artifactory(&row, audit).await?;
    Ok((StatusCode::CREATED, Json(view(&row))))
}

/// `host[:port][/prefix]`, a leading `https://` or `http://` dropped.
fn registry_uri(raw: &str) -> Result<String> {
    let uri = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .unwrap_or(raw)
        .trim_end_matches('/');
    let host = uri.split('/').next().unwrap_or_default();
    let bad = uri.is_empty()
        || host.is_empty()
        || uri
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '@' | '?' | '#' | '\\'));
    if bad {
        return Err(Error::bad_request(format!(
            "field `uri` '{raw}' is not a registry address: use host[:port][/path], e.g. \
             registry.example.com:5000/team"
        )));
    }
    Ok(uri.to_string())
}

#[cfg(test)]
mod tests {
    use super::registry_uri;

    #[test]
    fn registry_addresses_are_normalised_or_refused() {
        assert_eq!(
            registry_uri("https://r.example.com:5000/team/").unwrap(),
            "r.example.com:5000/team"
        );
        for bad in [
            "",
            "https://",
            "user:pw@r.example.com",
            "r.example.com/a b",
            "/x",
        ] {
            assert!(registry_uri(bad).is_err(), "{bad}");
        }
    }
}
