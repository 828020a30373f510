//! The one door: every change of what a stage deploys asks here first. Register (every
//! variant), attach, promote, rollback, reclassify and delete each describe their change to
//! [`Door::admit_direct`] (a build written straight into a bucket) or
//! [`Door::admit_change`] (a stored build placed in, moved out of, or removed from a
//! bucket), and do only what the door answers.
//!
//! What the door guarantees:
//! - A bucket is guarded by the protection of every stage it feeds: an environment's bucket by
//!   the environment's and its release stream's; a stream's bucket by the stream's and that of
//!   every environment that resolves from it. Several protections act as one, the strictest.
//! - Writing straight into a guarded bucket needs a `direct` role; placing, moving or removing
//!   a build there needs a `promoters` role (when listed) and, with `approvals`, a request.
//! - Whatever lands in a guarded bucket is pinned by digest ([`Pinned`]): read from the
//!   registry its URI names, never from the built-in registry by repository name alone.
//! - What a stage deploys, or a pending request pins, stays in the built-in registry
//!   ([`Door::manifest_hold`], [`Door::tag_hold`]).

use super::Door;
use super::auth::AuthUser;
use super::provenance::CheckedProvenance;
use super::push::project_and_ci;
use super::requests::{Promoted, RequestStatus};
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use wharf_api::RegistrationType;
use wharf_api::project_file::Protection;
use wharf_oci::{Digest, ImageReference};
use wharf_store::{ArtifactRow, Bucket, CiRow, EnvironmentRow};

/// The protections a change of one bucket falls under, by stage name.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    pub stages: Vec<(String, Protection)>,
}

impl Guard {
    pub fn is_open(&self) -> bool {
        self.stages.is_empty()
    }

    /// `'prod'`, or `'prod' and 'PRODUCTION'`.
    pub fn names(&self) -> String {
        let quoted: Vec<String> = self.stages.iter().map(|(s, _)| format!("'{s}'")).collect();
        quoted.join(" and ")
    }

    /// Both guards' stages.
    pub fn with(mut self, other: Guard) -> Guard {
        for (stage, rules) in other.stages {
            if !self.stages.iter().any(|(s, _)| *s == stage) {
                self.stages.push((stage, rules));
            }
        }
        self
    }

    /// One protection as strict as all of them: the most approvals, the shortest lifetime,
    /// and only the roles every stage names.
    pub fn strictest(&self) -> Option<Protection> {
        let mut all = self.stages.iter().map(|(_, rules)| rules);
        let first = all.next()?.clone();
        Some(all.fold(first, |merged, rules| Protection {
            approvals: merged.approvals.max(rules.approvals),
            approvers: match (merged.approvals, rules.approvals) {
                (0, _) => rules.approvers.clone(),
                (_, 0) => merged.approvers,
                _ => common(&merged.approvers, &rules.approvers),
            },
            direct: common(&merged.direct, &rules.direct),
            promoters: match (merged.promoters, &rules.promoters) {
                (Some(a), Some(b)) => Some(common(&a, b)),
                (a, b) => a.or_else(|| b.clone()),
            },
            requester_may_approve: merged.requester_may_approve && rules.requester_may_approve,
            registrant_may_approve: merged.registrant_may_approve && rules.registrant_may_approve,
            approval_ttl_hours: merged.approval_ttl_hours.min(rules.approval_ttl_hours),
            // Gates are checked stage by stage (`Door::check_gates`), never merged.
            ..merged
        }))
    }
}

fn common(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|role| b.contains(role)).cloned().collect()
}

pub(super) fn roles_text(roles: &[String]) -> String {
    if roles.is_empty() {
        return "no role (server admins only)".into();
    }
    let quoted: Vec<String> = roles.iter().map(|r| format!("'{r}'")).collect();
    format!("role {}", quoted.join(" or "))
}

pub(super) fn holds_any(held: &[String], wanted: &[String]) -> bool {
    held.iter().any(|role| wanted.contains(role))
}

/// What the door answers a change of a stored build.
#[derive(Debug, Clone)]
pub enum Admission {
    /// Go ahead; `rules` when the bucket is guarded (what lands there is then pinned).
    Go(Option<Protection>),
    /// Ask for approvals under these rules instead.
    Ask(Protection),
}

/// What the door answers a placement of a stored build: go ahead (pinned by digest when the
/// bucket is guarded), or the request it opened instead.
#[allow(clippy::large_enum_variant)] // one per request, returned straight to the caller
pub enum Placement {
    Go(Option<Pinned>),
    Asked(Promoted),
}

/// `row` naming its image by digest when `pinned`, the tag it had kept for display.
pub fn pinned_row(row: ArtifactRow, pinned: Option<Pinned>) -> ArtifactRow {
    match pinned {
        Some(pinned) => pinned.name(row),
        None => row,
    }
}

/// An image named by its digest, as a protected stage stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// `registry/repository@sha256:…`
    pub uri: String,
    pub digest: String,
    /// The tag it was registered by, kept for display.
    pub tag: Option<String>,
    /// What the stages' gates in `warn` mode found missing.
    pub warnings: Vec<String>,
}

impl Pinned {
    /// `row` naming its image by this digest, the tag it had kept for display.
    pub fn name(self, mut row: ArtifactRow) -> ArtifactRow {
        row.artifact_uri = self.uri;
        row.tag = row.tag.or(self.tag);
        row
    }
}

/// `uri` with its tag dropped and `digest` put in: what a protected stage stores.
pub fn pinned_uri(uri: &str, digest: &str) -> Result<Pinned> {
    let reference: ImageReference = uri
        .parse()
        .map_err(|e| Error::bad_request(format!("field `artifactUri`: {e}")))?;
    let parsed: Digest = digest
        .parse()
        .map_err(|e| Error::Internal(format!("a stored digest does not parse: {e}")))?;
    let tag = reference.tag.clone();
    let pinned = ImageReference {
        tag: None,
        digest: Some(parsed),
        ..reference
    };
    Ok(Pinned {
        uri: pinned.to_string(),
        digest: digest.to_string(),
        tag,
        warnings: Vec::new(),
    })
}

/// The stage names whose protection guards `bucket`.
fn guarded_by(bucket: &Bucket, environments: &[EnvironmentRow]) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(name) = &bucket.cluster_name {
        names.push(name.clone());
        if let Some(env) = environments.iter().find(|e| &e.name == name) {
            names.push(env.release_stream.clone());
        }
    } else if let Some(stream) = &bucket.release_stream {
        names.push(stream.clone());
        let fed = environments.iter().filter(|e| &e.release_stream == stream);
        names.extend(fed.map(|e| e.name.clone()));
    }
    names
}

impl Door {
    /// The protections that guard `bucket` of `project` (none for an unclassified build).
    pub async fn guard(&self, project: &str, bucket: &Bucket) -> Result<Guard> {
        if !bucket.classified {
            return Ok(Guard::default());
        }
        let protections = self.store.protections(project).await?;
        if protections.is_empty() {
            return Ok(Guard::default());
        }
        let environments = self.store.environments(project).await?;
        let mut stages = Vec::new();
        for name in guarded_by(bucket, &environments) {
            if let Some(row) = protections.iter().find(|p| p.stage == name)
                && !stages.iter().any(|(s, _)| *s == name)
            {
                stages.push((name, row.rules.0.clone()));
            }
        }
        Ok(Guard { stages })
    }

    /// The guard of the bucket `stage` names for builds of type `kind`.
    pub(super) async fn stage_guard(
        &self,
        project: &str,
        kind: RegistrationType,
        stage: &str,
    ) -> Result<Guard> {
        match self.lookups.bucket_named(project, kind, stage).await? {
            Some(bucket) => self.guard(project, &bucket).await,
            None => Ok(Guard::default()),
        }
    }

    /// The strictest protection of a request's stage (default rules when it lost them).
    pub(super) async fn stage_rules(
        &self,
        project: &str,
        kind: RegistrationType,
        stage: &str,
    ) -> Result<Protection> {
        let guard = self.stage_guard(project, kind, stage).await?;
        Ok(guard.strictest().unwrap_or_default())
    }

    /// A build written straight into `bucket` (register, attach, a rollback to a build the
    /// stage never had): refused without a `direct` role of every guarding stage; answers the
    /// image pinned by digest when the bucket is guarded.
    /// The stages' gates are checked on the pinned digest, with the statement a registration
    /// brings (`incoming`).
    pub(super) async fn admit_direct(
        &self,
        user: &AuthUser,
        project: &str,
        bucket: &Bucket,
        artifact_uri: &str,
        what: &str,
        incoming: Option<&CheckedProvenance>,
    ) -> Result<Option<Pinned>> {
        let Some(guard) = self.require_direct(user, project, bucket, what).await? else {
            return Ok(None);
        };
        let mut pinned = self.pin(artifact_uri).await?;
        pinned.warnings = self.check_gates(project, &guard, &pinned, incoming).await?;
        Ok(Some(pinned))
    }

    /// The stages' gates for a stored build placed into a bucket under `guard`, pinned.
    pub(super) async fn admit_content(
        &self,
        project: &str,
        guard: &Guard,
        mut pinned: Pinned,
    ) -> Result<Pinned> {
        pinned.warnings = self.check_gates(project, guard, &pinned, None).await?;
        Ok(pinned)
    }

    /// A change of configuration that changes what a guarded bucket's stage deploys (an
    /// environment moved to another release stream): a write straight into it.
    pub(super) async fn admit_reconfiguration(
        &self,
        user: &AuthUser,
        project: &str,
        bucket: &Bucket,
        what: &str,
    ) -> Result<()> {
        self.require_direct(user, project, bucket, what).await?;
        Ok(())
    }

    /// Refuses `user` without a `direct` role of every stage guarding `bucket` (server admins
    /// always may); answers the guard when the bucket is guarded at all.
    async fn require_direct(
        &self,
        user: &AuthUser,
        project: &str,
        bucket: &Bucket,
        what: &str,
    ) -> Result<Option<Guard>> {
        let guard = self.guard(project, bucket).await?;
        let Some(rules) = guard.strictest() else {
            return Ok(None);
        };
        if user.admin
            || holds_any(
                &self.identity.role_names(&user.username, project).await?,
                &rules.direct,
            )
        {
            return Ok(Some(guard));
        }
        let promote = match rules.approvals {
            0 => "promote into it instead".to_string(),
            n => format!(
                "promote into it instead, which asks {n} approval(s) from {}",
                roles_text(&rules.approvers)
            ),
        };
        Err(Error::Forbidden(format!(
            "{} of project '{project}' is protected ({}): to {what} straight into it needs {}; \
             user '{}' has none of them; {promote}",
            describe(bucket),
            guard.names(),
            roles_text(&rules.direct),
            user.username
        )))
    }

    /// A stored build placed in, moved out of, or removed from buckets under `guard`: refused
    /// without a `promoters` role (when listed); a request when approvals are asked.
    pub(super) async fn admit_change(
        &self,
        user: &AuthUser,
        project: &str,
        guard: &Guard,
        what: &str,
    ) -> Result<Admission> {
        let Some(rules) = guard.strictest() else {
            return Ok(Admission::Go(None));
        };
        if let Some(promoters) = &rules.promoters
            && !user.admin
            && !holds_any(
                &self.identity.role_names(&user.username, project).await?,
                promoters,
            )
        {
            return Err(Error::Forbidden(format!(
                "stage {} of project '{project}' is protected: to {what} needs {}; user '{}' has \
                 none of them",
                guard.names(),
                roles_text(promoters),
                user.username
            )));
        }
        Ok(match rules.approvals {
            0 => Admission::Go(Some(rules)),
            _ => Admission::Ask(rules),
        })
    }

    /// The image `uri` names, by digest: the digest it carries; else its tag's digest, read
    /// from the registry the URI names (this server's own registry only for its own hosts, any
    /// other through its `/v2/` API with the credentials of the registry added for it).
    pub async fn pin(&self, uri: &str) -> Result<Pinned> {
        let reference: ImageReference = uri
            .parse()
            .map_err(|e| Error::bad_request(format!("field `artifactUri`: {e}")))?;
        if let Some(digest) = &reference.digest {
            return pinned_uri(uri, &digest.to_string());
        }
        let tag = tag_of(&reference);
        let found = if self.is_own_registry(&reference.registry) {
            self.store.registry_tag(&reference.repository, &tag).await?
        } else {
            self.remote_digest(&reference, &tag).await?
        };
        let digest = found.ok_or_else(|| {
            Error::conflict(format!(
                "image {uri} cannot be pinned to a digest: registry {} has no tag '{tag}' in \
                 {}; a protected stage deploys images by digest, so push the image first, or \
                 register it by digest (`wharf push`, or --image REPOSITORY@sha256:…)",
                reference.registry, reference.repository
            ))
        })?;
        let mut pinned = pinned_uri(uri, &digest)?;
        pinned.tag = Some(tag);
        Ok(pinned)
    }

    /// A tag's digest in a registry other than this server's: only one a server admin added
    /// (an artifactory), read with its credentials. The server never connects to a host a
    /// registration merely names, so an image URI cannot make it probe other networks.
    async fn remote_digest(&self, reference: &ImageReference, tag: &str) -> Result<Option<String>> {
        let Some(row) = self.artifactories.artifactory_covering(reference).await? else {
            return Err(Error::conflict(format!(
                "image {}/{}:{tag} is named by tag on registry {}, which is not a registry added \
                 to this control plane, so its digest is not read from it; a protected stage \
                 deploys images by digest: register the image by digest (`wharf push` does; or \
                 --image REPOSITORY@sha256:…), or have a server admin add the registry (POST \
                 /cc-ui/v1/artifactories/others)",
                reference.registry, reference.repository, reference.registry
            )));
        };
        let registry = self
            .artifactories
            .registry_client(&row, &reference.registry)?;
        let manifest = registry
            .manifest(&reference.repository, tag)
            .await
            .map_err(|e| {
                Error::conflict(format!(
                    "the digest of {}/{}:{tag} could not be read from its registry ({e}); a \
                     protected stage deploys images by digest: register the image by digest \
                     (`wharf push` does; or --image REPOSITORY@sha256:…), or check the \
                     credentials of the registry added for it",
                    reference.registry, reference.repository
                ))
            })?;
        Ok(manifest.map(|(_, bytes)| Digest::sha256_of(&bytes).to_string()))
    }

    /// The digest a stored build deploys, when it can be known without asking another
    /// registry: the one its URI carries, or its tag's in this server's registry.
    /// Whether a protected stage could pin `uri` to a digest: it names one, this server's
    /// registry knows its tag, or it is in a registry a server admin added (read when pinned).
    pub async fn digest_readable(&self, uri: &str) -> Result<bool> {
        if self.known_digest(uri).await?.is_some() {
            return Ok(true);
        }
        let Ok(reference) = uri.parse::<ImageReference>() else {
            return Ok(false);
        };
        Ok(self
            .artifactories
            .artifactory_covering(&reference)
            .await?
            .is_some())
    }

    pub async fn known_digest(&self, uri: &str) -> Result<Option<(ImageReference, String)>> {
        let Ok(reference) = uri.parse::<ImageReference>() else {
            return Ok(None);
        };
        if let Some(digest) = &reference.digest {
            let digest = digest.to_string();
            return Ok(Some((reference, digest)));
        }
        if !self.is_own_registry(&reference.registry) {
            return Ok(None);
        }
        let found = self
            .store
            .registry_tag(&reference.repository, &tag_of(&reference))
            .await?;
        Ok(found.map(|digest| (reference, digest)))
    }

    /// Why manifest `digest` of `repository` in this server's registry must stay: the stage
    /// that deploys it now, or the pending request that pins it.
    pub async fn manifest_hold(&self, repository: &str, digest: &str) -> Result<Option<String>> {
        let Some(ci) = self.repository_ci(repository).await? else {
            return Ok(None);
        };
        for (build, stage) in self.deployed_from(&ci, repository).await? {
            if let Some((_, held)) = self.known_digest(&build.artifact_uri).await?
                && held == digest
            {
                return Ok(Some(format!(
                    "manifest {digest} is what stage '{stage}' deploys (build '{}'); roll the \
                     stage back or promote another build first",
                    build.id
                )));
            }
        }
        for request in self.pending_on(&ci).await? {
            if request.digest == digest {
                return Ok(Some(format!(
                    "manifest {digest} is pinned by pending promotion request '{}' into '{}'; \
                     reject it first",
                    request.id, request.stage
                )));
            }
        }
        Ok(None)
    }

    /// Why tag `tag` of `repository` must not move to `new_digest`: a protected stage was
    /// approved on it (or a pending request pins it) at another digest.
    pub async fn tag_hold(
        &self,
        repository: &str,
        tag: &str,
        new_digest: &str,
    ) -> Result<Option<String>> {
        let Some(ci) = self.repository_ci(repository).await? else {
            return Ok(None);
        };
        for (build, stage) in self.deployed_from(&ci, repository).await? {
            let Some((reference, digest)) = self.known_digest(&build.artifact_uri).await? else {
                continue;
            };
            let shown = build.tag.clone().or(reference.tag);
            if shown.as_deref() != Some(tag) || digest == new_digest {
                continue;
            }
            if !self.guard(&ci.project, &build.bucket).await?.is_open() {
                return Ok(Some(format!(
                    "tag '{tag}' of {repository} was approved for protected stage '{stage}' at \
                     {digest} (build '{}'); push the new image under a new tag",
                    build.id
                )));
            }
        }
        for request in self.pending_on(&ci).await? {
            let Some(source) = self.store.artifact(&request.source_id).await? else {
                continue;
            };
            let named = source.artifact_uri.parse::<ImageReference>().ok();
            let shown = source.tag.clone().or(named.and_then(|r| r.tag));
            if shown.as_deref() == Some(tag) && request.digest != new_digest {
                return Ok(Some(format!(
                    "tag '{tag}' of {repository} is under review for '{}' at {} (promotion \
                     request '{}'); push the new image under a new tag",
                    request.stage, request.digest, request.id
                )));
            }
        }
        Ok(None)
    }

    /// The CI integration whose repository `<project>/<ciName>` of the built-in registry is.
    async fn repository_ci(&self, repository: &str) -> Result<Option<CiRow>> {
        let Some((project, ci_name)) = project_and_ci(repository) else {
            return Ok(None);
        };
        Ok(self.store.ci(project, ci_name).await?)
    }

    /// The builds each bucket of `ci` deploys now, with the bucket's name, when their image
    /// is in this server's `repository`.
    async fn deployed_from(
        &self,
        ci: &CiRow,
        repository: &str,
    ) -> Result<Vec<(ArtifactRow, String)>> {
        let mut found = Vec::new();
        for build in self.store.deployed_builds(&ci.id).await? {
            let Ok(reference) = build.artifact_uri.parse::<ImageReference>() else {
                continue;
            };
            if reference.repository == repository && self.is_own_registry(&reference.registry) {
                let stage = build.bucket.routed_to().unwrap_or_default().to_string();
                found.push((build, stage));
            }
        }
        Ok(found)
    }

    /// The pending requests of `ci`.
    async fn pending_on(&self, ci: &CiRow) -> Result<Vec<wharf_store::RequestRow>> {
        let pending = self
            .store
            .promotion_requests(Some(&ci.project), RequestStatus::Pending)
            .await?;
        Ok(pending.into_iter().filter(|r| r.ci_id == ci.id).collect())
    }

    /// Whether `host` (`name[:port]`) is this server's own registry.
    pub fn is_own_registry(&self, host: &str) -> bool {
        self.registry_hosts
            .get()
            .is_some_and(|hosts| hosts.contains(&host.to_ascii_lowercase()))
    }

    /// The names this server's registry is reached by (set once, on start): the listener's
    /// loopback names and the operator's `--registry-host`s.
    pub fn set_registry_hosts(&self, hosts: BTreeSet<String>) {
        let hosts = hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect();
        let _ = self.registry_hosts.set(hosts);
    }
}

/// The tag an image reference names, `latest` when it names none (as registries read it).
fn tag_of(reference: &ImageReference) -> String {
    reference.tag.clone().unwrap_or_else(|| "latest".into())
}

/// "environment 'prod'", "release stream 'PRODUCTION'".
fn describe(bucket: &Bucket) -> String {
    match (&bucket.cluster_name, &bucket.release_stream) {
        (Some(env), _) => format!("environment '{env}'"),
        (None, Some(stream)) => format!("release stream '{stream}'"),
        _ => "the bucket".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(approvals: u32, approvers: &[&str], direct: &[&str]) -> Protection {
        Protection {
            approvals,
            approvers: approvers.iter().map(|s| s.to_string()).collect(),
            direct: direct.iter().map(|s| s.to_string()).collect(),
            ..Protection::default()
        }
    }

    #[test]
    fn the_strictest_of_several_protections_wins() {
        let guard = Guard {
            stages: vec![
                (
                    "prod".into(),
                    rules(2, &["release-manager", "admin"], &["admin", "ci"]),
                ),
                (
                    "PRODUCTION".into(),
                    rules(1, &["release-manager"], &["admin"]),
                ),
            ],
        };
        let merged = guard.strictest().unwrap();
        assert_eq!(merged.approvals, 2);
        assert_eq!(merged.approvers, vec!["release-manager"]);
        assert_eq!(merged.direct, vec!["admin"]);
        assert_eq!(guard.names(), "'prod' and 'PRODUCTION'");
        assert!(Guard::default().strictest().is_none());
    }

    #[test]
    fn a_stage_without_approvals_does_not_narrow_the_approvers() {
        let guard = Guard::default().with(Guard {
            stages: vec![
                ("PRODUCTION".into(), rules(0, &[], &["admin"])),
                ("prod".into(), rules(2, &["release-manager"], &["admin"])),
            ],
        });
        assert_eq!(
            guard.strictest().unwrap().approvers,
            vec!["release-manager"]
        );
    }

    #[test]
    fn a_stream_is_guarded_by_every_environment_it_feeds() {
        let env = |name: &str, stream: &str| EnvironmentRow {
            id: format!("id-{name}"),
            project: "shop".into(),
            name: name.into(),
            release_stream: stream.into(),
        };
        let environments = vec![env("prod", "PRODUCTION"), env("dev", "QA")];
        assert_eq!(
            guarded_by(&Bucket::stream("PRODUCTION"), &environments),
            vec!["PRODUCTION", "prod"]
        );
        assert_eq!(
            guarded_by(&Bucket::environment(&environments[0]), &environments),
            vec!["prod", "PRODUCTION"]
        );
        assert!(guarded_by(&Bucket::unclassified(), &environments).is_empty());
    }

    #[test]
    fn a_pinned_uri_keeps_the_registry_and_drops_the_tag() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let pinned = pinned_uri("evil.example/shop/api:T", &digest).unwrap();
        assert_eq!(pinned.uri, format!("evil.example/shop/api@{digest}"));
        assert_eq!(pinned.tag.as_deref(), Some("T"));
    }
}
