//! Settings: flags > `WHARF_*` environment > detected CI context > defaults, each resolved
//! value remembering where it came from.

use crate::error::{Error, Result};
use crate::secret::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wharf_api::printable::printable;
use wharf_api::{ArtifactRegisterType, SaasArtifactRequest};
use wharf_ci::{CiContext, EnvMap};

/// The `WHARF_*` variables, read with `envy`.
#[derive(Debug, Default, Deserialize)]
pub struct WharfEnv {
    pub control_plane_url: Option<String>,
    pub username: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub project: Option<String>,
    pub service: Option<String>,
    pub ci_name: Option<String>,
    pub image: Option<String>,
    /// A file (WAR, JAR, ZIP…) to upload as a freestyle build instead of an image.
    pub file: Option<String>,
    pub environment: Option<String>,
    pub release_stream: Option<String>,
    pub external_id: Option<String>,
    pub registry: Option<String>,
    pub description: Option<String>,
    /// `WHARF_ALLOW_INSECURE_HTTP=1`: plain `http://` to a control plane off loopback.
    pub allow_insecure_http: Option<String>,
}

impl WharfEnv {
    /// Whether plain HTTP to a control plane off loopback was allowed (`1`, `true`, `yes`).
    pub fn insecure_http_allowed(&self) -> bool {
        self.allow_insecure_http
            .as_deref()
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
    }

    pub fn from_map(env: &EnvMap) -> Result<Self> {
        let set = env
            .iter()
            .filter(|(k, v)| k.starts_with("WHARF_") && !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()));
        envy::prefixed("WHARF_")
            .from_iter(set)
            .map_err(|e| Error::Usage(format!("invalid WHARF_ environment variable: {e}")))
    }
}

/// What an upload's request names as its image until the control plane stores the file and
/// names it (`upload.invalid/<file>`: a reserved name no registry answers to).
pub const UPLOAD_PREVIEW_HOST: &str = "upload.invalid";

/// What the user asked for on the command line (every field optional).
#[derive(Debug, Clone, Default)]
pub struct RegisterFlags {
    pub project: Option<String>,
    pub service: Option<String>,
    pub ci_name: Option<String>,
    pub image: Option<String>,
    /// `--file`: upload this file as a freestyle build instead of registering an image.
    pub file: Option<String>,
    pub git_ref: Option<String>,
    pub environment: Option<String>,
    pub release_stream: Option<String>,
    pub external_id: Option<String>,
    pub registry: Option<String>,
    pub description: Option<String>,
    /// `--push`, and the options that only say how to push: refused without it.
    pub push: bool,
    pub tag: Option<String>,
    pub platform: Option<String>,
}

/// Where the control plane is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Remote(String),
    /// Outside CI with none configured: run one in-process over `.wharf/`.
    Embedded,
}

/// A resolved registration: exactly what would be sent, and where each part came from.
#[derive(Debug, Clone)]
pub struct Plan {
    pub request: SaasArtifactRequest,
    pub sources: BTreeMap<&'static str, String>,
    /// A freestyle upload: the file to send (the request's `artifactUri` is then the control
    /// plane's to set).
    pub file: Option<PathBuf>,
    /// The run that built the image, for the provenance statement sent with the
    /// registration once the image's digest is known (none outside CI, or with
    /// `--no-provenance`).
    pub provenance: Option<wharf_api::provenance::ProvenanceSource>,
}

impl Plan {
    pub fn ci_name(&self) -> &str {
        self.request
            .ci_name
            .as_deref()
            .or(self.request.application_name.as_deref())
            .unwrap_or_default()
    }
}

/// Takes the first present, non-empty candidate and records its source.
fn pick(
    sources: &mut BTreeMap<&'static str, String>,
    setting: &'static str,
    candidates: &[(Option<&str>, &str)],
) -> Option<String> {
    let (value, source) = candidates.iter().find_map(|(value, source)| {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| (v.to_string(), *source))
    })?;
    sources.insert(setting, source.to_string());
    Some(value)
}

fn missing(what: &str, flag: &str, var: &str) -> Error {
    Error::Usage(format!("missing {what}: pass {flag} or set {var}"))
}

pub fn resolve_endpoint(flag: Option<&str>, env: &WharfEnv, ci: &CiContext) -> Result<Endpoint> {
    let Some(url) = flag.or(env.control_plane_url.as_deref()).map(str::trim) else {
        if ci.in_ci {
            return Err(Error::Usage(
                "no control plane set: pass --control-plane URL or set WHARF_CONTROL_PLANE_URL \
                 (in CI, wharf never falls back to a local control plane)"
                    .into(),
            ));
        }
        return Ok(Endpoint::Embedded);
    };
    validate_url(url, env.insecure_http_allowed())?;
    Ok(Endpoint::Remote(url.trim_end_matches('/').to_string()))
}

/// Checks a control plane URL before any token is sent to it: https, or plain http only to
/// loopback (or when allowed outright); no credentials in it; a base URL, not a path.
fn validate_url(url: &str, insecure_http_allowed: bool) -> Result<()> {
    let shown = printable(url);
    let must_be_https = || {
        Error::Usage(format!(
            "control plane URL '{shown}' must start with https:// (or http:// for loopback)"
        ))
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| must_be_https())?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Usage(
            "the control plane URL must not carry credentials; set WHARF_USERNAME and \
             WHARF_TOKEN (or --token-file) instead"
                .into(),
        ));
    }
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Err(Error::Usage(format!(
            "control plane URL '{shown}' has no host"
        )));
    };
    match parsed.scheme() {
        "https" => {}
        "http" if wharf_http::is_loopback_host(host) || insecure_http_allowed => {}
        "http" => {
            return Err(Error::Usage(format!(
                "control plane URL '{shown}' is plain http:// to '{host}', which is not \
                 loopback: the token would travel in clear text. Use https://, or, on a network \
                 you trust, pass --allow-insecure-http (WHARF_ALLOW_INSECURE_HTTP=1)"
            )));
        }
        _ => return Err(must_be_https()),
    }
    let path = parsed.path().trim_end_matches('/');
    if !path.is_empty() || parsed.query().is_some() {
        let base = parsed.origin().ascii_serialization();
        return Err(Error::Usage(format!(
            "control plane URL '{shown}' has a path: give the control plane's base URL, e.g. \
             '{}'",
            printable(&base)
        )));
    }
    Ok(())
}

/// The username and token for a remote control plane.
pub fn credentials(env: &WharfEnv, token_file: Option<&Path>) -> Result<(String, Secret)> {
    let token_file = match (token_file, env.token_file.as_deref()) {
        (Some(path), _) => Some((path, "--token-file")),
        (None, Some(path)) => Some((path, "WHARF_TOKEN_FILE")),
        (None, None) => None,
    };
    let token = match (token_file, &env.token) {
        (Some((path, from)), _) => read_token_file(path, from)?,
        (None, Some(token)) => Secret::new(token.trim()),
        (None, None) => {
            return Err(Error::Usage(
                "missing token: set WHARF_TOKEN or pass --token-file FILE (never put a token on \
                 the command line)"
                    .into(),
            ));
        }
    };
    let username = env
        .username
        .clone()
        .ok_or_else(|| Error::Usage("missing username: set WHARF_USERNAME".into()))?;
    Ok((username, token))
}

/// Why a file cannot be read, in words (an `io::ErrorKind` alone says "entity not found").
fn unreadable_because(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::IsADirectory => "it is a directory".into(),
        ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        _ => error.to_string(),
    }
}

/// The token in `path`, which `from` (the flag or the variable) named.
fn read_token_file(path: &Path, from: &str) -> Result<Secret> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read the token file {} ({from}): {}",
            path.display(),
            unreadable_because(&e)
        ))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::Usage(format!(
            "the token file {} ({from}) is empty",
            path.display()
        )));
    }
    Ok(Secret::new(token))
}

/// Resolves what to register from flags, environment and CI context.
pub fn resolve(
    flags: &RegisterFlags,
    env_map: &EnvMap,
    env: &WharfEnv,
    ci: &CiContext,
) -> Result<Plan> {
    refuse_push_options_without_push(flags)?;
    let mut sources = BTreeMap::new();
    let s = &mut sources;
    let project = pick(
        s,
        "project",
        &[
            (flags.project.as_deref(), "--project"),
            (env.project.as_deref(), "WHARF_PROJECT"),
        ],
    )
    .ok_or_else(|| missing("project", "--project", "WHARF_PROJECT"))?;
    let service = pick(
        s,
        "service",
        &[
            (flags.service.as_deref(), "--service"),
            (env.service.as_deref(), "WHARF_SERVICE"),
        ],
    );
    let ci_name = pick(
        s,
        "ciName",
        &[
            (flags.ci_name.as_deref(), "--ci-name"),
            (env.ci_name.as_deref(), "WHARF_CI_NAME"),
        ],
    );
    if service.is_none() && ci_name.is_none() {
        return Err(missing(
            "service",
            "--service (or --ci-name)",
            "WHARF_SERVICE",
        ));
    }
    let file = pick(
        s,
        "file",
        &[
            (flags.file.as_deref(), "--file"),
            (env.file.as_deref(), "WHARF_FILE"),
        ],
    );
    let image = match &file {
        Some(file) => {
            if flags.image.is_some() || flags.push {
                return Err(Error::Usage(
                    "--file uploads a file as the build; --image and --push name an image: \
                     give one or the other"
                        .into(),
                ));
            }
            format!("{UPLOAD_PREVIEW_HOST}/{file}")
        }
        None => {
            let image = pick(
                s,
                "image",
                &[
                    (flags.image.as_deref(), "--image"),
                    (env.image.as_deref(), "WHARF_IMAGE"),
                    (
                        env_map.get("DOCKER_IMAGE_URL").map(String::as_str),
                        "DOCKER_IMAGE_URL",
                    ),
                ],
            )
            .ok_or_else(|| missing("image", "--image IMAGE (or --file FILE)", "WHARF_IMAGE"))?;
            validate_image(&image, flags.push)?;
            image
        }
    };
    let env_git_ref = env_map.get("WHARF_GIT_REF").map(String::as_str);
    let (register_type, register_value) = resolve_target(s, flags, env, env_git_ref, ci)?;
    let external_id = pick(
        s,
        "externalId",
        &[
            (flags.external_id.as_deref(), "--external-id"),
            (env.external_id.as_deref(), "WHARF_EXTERNAL_ID"),
            (
                ci.build_id.as_deref(),
                ci.sources
                    .get("buildId")
                    .map_or("CI context", String::as_str),
            ),
        ],
    );
    let registry = pick(
        s,
        "registry",
        &[
            (flags.registry.as_deref(), "--registry"),
            (env.registry.as_deref(), "WHARF_REGISTRY"),
            (Some(wharf_api::BUILT_IN_ARTIFACTORY), "default"),
        ],
    );
    let description = pick(
        s,
        "description",
        &[
            (flags.description.as_deref(), "--description"),
            (env.description.as_deref(), "WHARF_DESCRIPTION"),
        ],
    );
    let mut metadata = ci.registration_metadata();
    if register_type == ArtifactRegisterType::GitRef {
        metadata.insert(wharf_api::BRANCH_NAME.to_string(), register_value.clone());
    }
    let request = SaasArtifactRequest {
        blueprint_name: project,
        artifact_uri: image.clone(),
        artifactory: registry.unwrap_or_else(|| wharf_api::BUILT_IN_ARTIFACTORY.into()),
        artifact_register_type: register_type,
        artifact_register_value: register_value,
        application_name: service,
        ci_name,
        external_id,
        repository_name: None,
        tag: file.is_none().then(|| image_tag(&image)).flatten(),
        description,
        metadata: Some(metadata),
        provenance: None,
    };
    Ok(Plan {
        request,
        sources,
        file: file.map(PathBuf::from),
        provenance: provenance_source(ci, env_map),
    })
}

/// At most one of git ref, environment, release stream; flags beat environment, which beats
/// the CI context's ref.
fn resolve_target(
    sources: &mut BTreeMap<&'static str, String>,
    flags: &RegisterFlags,
    env: &WharfEnv,
    env_git_ref: Option<&str>,
    ci: &CiContext,
) -> Result<(ArtifactRegisterType, String)> {
    let from_flags = targets(
        flags.git_ref.as_deref(),
        flags.environment.as_deref(),
        flags.release_stream.as_deref(),
        ["--git-ref", "--environment", "--release-stream"],
    )?;
    let chosen = match from_flags {
        Some(target) => Some(target),
        None => targets(
            env_git_ref,
            env.environment.as_deref(),
            env.release_stream.as_deref(),
            ["WHARF_GIT_REF", "WHARF_ENVIRONMENT", "WHARF_RELEASE_STREAM"],
        )?,
    };
    if let Some((kind, value, source)) = chosen {
        sources.insert("target", source.to_string());
        let value = if kind == ArtifactRegisterType::GitRef {
            wharf_ci::normalise_ref(&value)
        } else {
            value
        };
        return Ok((kind, value));
    }
    let git_ref = ci.require_git_ref()?;
    let origin = ci.sources.get("gitRef").cloned().unwrap_or_default();
    sources.insert("target", format!("CI context ({origin})"));
    Ok((ArtifactRegisterType::GitRef, git_ref.to_string()))
}

fn targets(
    git_ref: Option<&str>,
    environment: Option<&str>,
    stream: Option<&str>,
    names: [&'static str; 3],
) -> Result<Option<(ArtifactRegisterType, String, &'static str)>> {
    let given: Vec<_> = [
        (ArtifactRegisterType::GitRef, git_ref, names[0]),
        (ArtifactRegisterType::Environment, environment, names[1]),
        (ArtifactRegisterType::ReleaseStream, stream, names[2]),
    ]
    .into_iter()
    .filter_map(|(kind, value, name)| {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| (kind, v.to_string(), name))
    })
    .collect();
    if given.len() > 1 {
        let named: Vec<_> = given.iter().map(|(_, _, name)| *name).collect();
        let (listed, quantifier) = match named.as_slice() {
            [one, two] => (format!("{one} and {two}"), "both"),
            [rest @ .., last] => (format!("{} and {last}", rest.join(", ")), "all"),
            [] => unreachable!("more than one was given"),
        };
        return Err(Error::Usage(format!(
            "{listed} were {quantifier} given: use only one of --git-ref, --environment, \
             --release-stream"
        )));
    }
    Ok(given.into_iter().next())
}

/// `--tag` and `--platform` would be ignored without `--push`: refused, so a pipeline that
/// meant to push does not quietly register the source instead.
fn refuse_push_options_without_push(flags: &RegisterFlags) -> Result<()> {
    if flags.push {
        return Ok(());
    }
    let given = [("--tag", &flags.tag), ("--platform", &flags.platform)]
        .into_iter()
        .find(|(_, value)| value.as_deref().is_some_and(|v| !v.trim().is_empty()));
    match given {
        Some((flag, _)) => Err(Error::Usage(format!(
            "{flag} only applies when pushing: add --push, or remove {flag}"
        ))),
        None => Ok(()),
    }
}

/// The longest image reference a control plane stores.
const MAX_IMAGE_LEN: usize = 1024;

/// Checks the image once, here, with the reference grammar the control plane applies, so a bad
/// one is a usage error (exit 2) before anything is sent. A push's source may also be a local
/// one (`oci:DIR`, `docker-archive:FILE`, `docker-daemon:NAME`), which the push reads.
fn validate_image(image: &str, push: bool) -> Result<()> {
    let local = ["oci:", "oci-archive:", "docker-archive:", "docker-daemon:"];
    if push && local.iter().any(|scheme| image.starts_with(scheme)) {
        return Ok(());
    }
    let refused = |why: String| {
        Error::Usage(format!(
            "--image '{}' is not an image reference: {why}; use REGISTRY/REPOSITORY[:TAG][@DIGEST], \
             e.g. ghcr.io/acme/api:1.4.2 or ghcr.io/acme/api@sha256:<64 hex>, without a scheme",
            crate::printable(image)
        ))
    };
    if image.len() > MAX_IMAGE_LEN {
        return Err(refused(format!("it is longer than {MAX_IMAGE_LEN} bytes")));
    }
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refused("it holds whitespace or control characters".into()));
    }
    if image.contains("://") {
        return Err(refused("it has a scheme".into()));
    }
    image
        .parse::<wharf_oci::ImageReference>()
        .map(|_| ())
        .map_err(|e| refused(e.to_string()))
}

/// The tag of `host[:port]/repo:tag[@digest]`, if the image is a reference that has one.
fn image_tag(image: &str) -> Option<String> {
    image.parse::<wharf_oci::ImageReference>().ok()?.tag
}

/// What the CI context says of the run, as provenance: `None` outside CI. The builder id is the
/// workflow that ran on GitHub (`{server}/{owner}/{repo}/.github/workflows/…@ref`, what its
/// identity token's `workflow_ref` confirms); elsewhere `WHARF_BUILDER_ID`, else the CI's URL
/// for the repository.
pub fn provenance_source(
    ci: &CiContext,
    env: &EnvMap,
) -> Option<wharf_api::provenance::ProvenanceSource> {
    use wharf_api::provenance::{GITHUB_BUILD_TYPE, ProvenanceSource, WHARF_BUILD_TYPE};
    if !ci.in_ci {
        return None;
    }
    let var = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();
    let provider = ci.provider?;
    let github = provider == wharf_ci::Provider::GithubActions;
    let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
    let repository = ci.repository.as_ref().map(|r| match r.contains("://") {
        true => r.clone(),
        false if github => format!("{}/{r}", server.trim_end_matches('/')),
        false => r.clone(),
    });
    let workflow_ref = var("GITHUB_WORKFLOW_REF").filter(|_| github);
    let builder_id = var("WHARF_BUILDER_ID")
        .or_else(|| {
            workflow_ref
                .as_ref()
                .map(|w| format!("{}/{w}", server.trim_end_matches('/')))
        })
        .or_else(|| repository.clone())?;
    let invocation_id = ci.build_url.as_ref().map(|url| match &ci.attempt {
        Some(attempt) if github => format!("{url}/attempts/{attempt}"),
        _ => url.clone(),
    });
    let workflow_path = workflow_ref.as_ref().and_then(|w| {
        let path = w.split_once('@').map_or(w.as_str(), |(p, _)| p);
        path.find(".github/").map(|at| path[at..].to_string())
    });
    // On GitHub, the ref and commit the run was started for, as its identity token states them
    // (a pull request's merge ref and merge commit), not the branch wharf routes by.
    let git_ref = var("GITHUB_REF").filter(|_| github);
    let commit = var("GITHUB_SHA")
        .filter(|_| github)
        .or_else(|| ci.head_sha.clone());
    let git_ref = git_ref
        .or_else(|| ci.git_ref.clone())
        .map(|r| match r.starts_with("refs/") {
            true => r,
            false => match &ci.tag {
                Some(tag) if *tag == r => format!("refs/tags/{r}"),
                _ => format!("refs/heads/{r}"),
            },
        });
    Some(ProvenanceSource {
        ci: provider.as_str().to_string(),
        builder_id,
        build_type: match github {
            true => GITHUB_BUILD_TYPE,
            false => WHARF_BUILD_TYPE,
        }
        .to_string(),
        repository,
        commit,
        git_ref,
        invocation_id,
        workflow_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_ci::env_of;
    use wharf_ci::{NoGit, RefFrom};

    fn plan(flags: RegisterFlags, pairs: &[(&str, &str)]) -> Result<Plan> {
        let env_map = env_of(pairs);
        let ci = wharf_ci::detect(&env_map, &NoGit, RefFrom::Source);
        resolve(&flags, &env_map, &WharfEnv::from_map(&env_map)?, &ci)
    }

    fn flags() -> RegisterFlags {
        RegisterFlags {
            project: Some("shop".into()),
            service: Some("api".into()),
            image: Some("ghcr.io/acme/api:1.0".into()),
            ..Default::default()
        }
    }

    #[test]
    fn flags_beat_environment_which_beats_ci() {
        let plan = plan(
            RegisterFlags {
                git_ref: Some("refs/heads/hotfix/1".into()),
                ..flags()
            },
            &[
                ("WHARF_PROJECT", "other"),
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_REF", "refs/heads/main"),
                ("GITHUB_RUN_ID", "42"),
            ],
        )
        .unwrap();
        assert_eq!(plan.request.blueprint_name, "shop");
        assert_eq!(plan.sources["project"], "--project");
        assert_eq!(plan.request.artifact_register_value, "hotfix/1");
        assert_eq!(plan.request.external_id.as_deref(), Some("42"));
        assert_eq!(plan.request.tag.as_deref(), Some("1.0"));
        assert_eq!(
            plan.request.metadata.as_ref().unwrap()["BRANCH_NAME"],
            "hotfix/1"
        );
    }

    #[test]
    fn a_git_ref_variable_beside_an_environment_variable_is_refused() {
        let error = plan(
            flags(),
            &[("WHARF_GIT_REF", "main"), ("WHARF_ENVIRONMENT", "prod")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("WHARF_GIT_REF and WHARF_ENVIRONMENT"),
            "{error}"
        );
    }

    #[test]
    fn a_git_ref_variable_is_normalised_and_named_as_the_source() {
        let plan = plan(flags(), &[("WHARF_GIT_REF", "refs/heads/feature/x")]).unwrap();
        assert_eq!(plan.request.artifact_register_value, "feature/x");
        assert_eq!(plan.sources["target"], "WHARF_GIT_REF");
    }

    #[test]
    fn the_ci_ref_is_used_when_nothing_is_explicit() {
        let plan = plan(
            flags(),
            &[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_REF", "refs/heads/release/2.1"),
            ],
        )
        .unwrap();
        assert_eq!(
            plan.request.artifact_register_type,
            ArtifactRegisterType::GitRef
        );
        assert_eq!(plan.request.artifact_register_value, "release/2.1");
        assert_eq!(plan.sources["target"], "CI context (GITHUB_REF)");
    }

    #[test]
    fn two_targets_are_refused_naming_both() {
        let error = plan(
            RegisterFlags {
                git_ref: Some("main".into()),
                environment: Some("dev".into()),
                ..flags()
            },
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("--git-ref and --environment were both given: "),
            "{error}"
        );
        let error = plan(
            RegisterFlags {
                git_ref: Some("main".into()),
                environment: Some("dev".into()),
                release_stream: Some("qa".into()),
                ..flags()
            },
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("--git-ref, --environment and --release-stream were all given: "),
            "{error}"
        );
    }

    #[test]
    fn an_unreadable_token_file_is_named_with_why() {
        let env = WharfEnv::from_map(&env_of(&[("WHARF_USERNAME", "ci")])).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nonexist");
        let error = credentials(&env, Some(&missing)).unwrap_err();
        assert_eq!(error.exit_code(), crate::exit::USAGE);
        assert_eq!(
            error.to_string(),
            format!(
                "cannot read the token file {} (--token-file): no such file",
                missing.display()
            )
        );
        let env = WharfEnv::from_map(&env_of(&[
            ("WHARF_USERNAME", "ci"),
            ("WHARF_TOKEN_FILE", &dir.path().display().to_string()),
        ]))
        .unwrap();
        let error = credentials(&env, None).unwrap_err().to_string();
        assert!(
            error.ends_with("(WHARF_TOKEN_FILE): it is a directory"),
            "{error}"
        );
    }

    #[test]
    fn push_options_without_push_are_refused_naming_the_flag() {
        let error = plan(
            RegisterFlags {
                platform: Some("linux/arm64".into()),
                ..flags()
            },
            &[],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "--platform only applies when pushing: add --push, or remove --platform"
        );
        assert_eq!(error.exit_code(), crate::exit::USAGE);
        let pushing = RegisterFlags {
            push: true,
            tag: Some("1.4".into()),
            platform: Some("linux/arm64".into()),
            ..flags()
        };
        assert!(plan(pushing, &[("CI", "true"), ("WHARF_GIT_REF", "main")]).is_ok());
    }

    #[test]
    fn missing_settings_name_the_flag_and_the_variable() {
        let error = plan(
            RegisterFlags {
                project: None,
                ..flags()
            },
            &[],
        )
        .unwrap_err();
        assert!(error.to_string().contains("--project"));
        assert!(error.to_string().contains("WHARF_PROJECT"));
        assert_eq!(error.exit_code(), crate::exit::USAGE);
        let error = plan(
            RegisterFlags {
                image: None,
                ..flags()
            },
            &[],
        )
        .unwrap_err();
        assert!(error.to_string().contains("WHARF_IMAGE"));
    }

    #[test]
    fn migration_variables_are_honoured() {
        let plan = plan(
            RegisterFlags {
                image: None,
                ..flags()
            },
            &[
                ("DOCKER_IMAGE_URL", "r.example/a:2"),
                ("GIT_REF", "main"),
                ("RUN_ID", "r-9"),
            ],
        )
        .unwrap();
        assert_eq!(plan.request.artifact_uri, "r.example/a:2");
        assert_eq!(plan.request.artifact_register_value, "main");
        assert_eq!(plan.request.external_id.as_deref(), Some("r-9"));
    }

    #[test]
    fn bad_images_and_urls_are_refused() {
        assert!(
            plan(
                RegisterFlags {
                    image: Some("https://x/y".into()),
                    ..flags()
                },
                &[]
            )
            .is_err()
        );
        let ci = CiContext::default();
        let env = WharfEnv::default();
        assert!(resolve_endpoint(Some("ftp://x"), &env, &ci).is_err());
        let error = resolve_endpoint(Some("https://u:p@cp.example"), &env, &ci).unwrap_err();
        assert!(!error.to_string().contains("u:p"));
        assert_eq!(
            resolve_endpoint(Some("http://127.0.0.1:8080/"), &env, &ci).unwrap(),
            Endpoint::Remote("http://127.0.0.1:8080".into())
        );
    }

    /// Issue 27, finding 6: plain http:// off loopback is refused (the token would travel in
    /// clear text) unless allowed outright; a URL with a path names the base URL to give.
    #[test]
    fn plain_http_off_loopback_and_urls_with_paths_are_refused() {
        let ci = CiContext::default();
        let env = WharfEnv::default();
        for url in [
            "http://cp.example.com",
            "http://localhost.evil.example:80",
            "http://10.0.0.5",
        ] {
            let error = resolve_endpoint(Some(url), &env, &ci)
                .unwrap_err()
                .to_string();
            assert!(error.contains("--allow-insecure-http"), "{url}: {error}");
        }
        for url in [
            "http://localhost:8080",
            "http://[::1]:9",
            "http://127.1.2.3:80",
        ] {
            assert!(resolve_endpoint(Some(url), &env, &ci).is_ok(), "{url}");
        }
        let allowed = WharfEnv {
            allow_insecure_http: Some("1".into()),
            ..WharfEnv::default()
        };
        assert!(resolve_endpoint(Some("http://cp.example.com"), &allowed, &ci).is_ok());
        let error = resolve_endpoint(Some("https://cp.example.com/cc-ui/v1"), &env, &ci)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("has a path") && error.contains("'https://cp.example.com'"),
            "{error}"
        );
    }

    #[test]
    fn in_ci_a_missing_control_plane_is_an_error_outside_it_embedded() {
        let env = WharfEnv::default();
        let ci = CiContext {
            in_ci: true,
            ..Default::default()
        };
        let error = resolve_endpoint(None, &env, &ci).unwrap_err().to_string();
        assert!(error.contains("WHARF_CONTROL_PLANE_URL"), "{error}");
        assert_eq!(
            resolve_endpoint(None, &env, &CiContext::default()).unwrap(),
            Endpoint::Embedded
        );
    }

    #[test]
    fn image_tags_are_found_past_registry_ports() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            image_tag(&format!("localhost:5000/a/b:v1@{digest}")),
            Some("v1".into())
        );
        assert_eq!(image_tag("localhost:5000/a/b"), None);
    }
}
