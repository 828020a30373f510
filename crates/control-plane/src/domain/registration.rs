//! Registering a build: pick its bucket (explicitly, or by the rule its CI follows), then
//! store it once per (CI integration, external id), with its audit entry, in one transaction.

use super::auth::AuthUser;
use super::lookups::environment_bucket;
use super::provenance::CheckedProvenance;
use super::wire::artifact_view;
use super::{Delivery, events, permissions};
use crate::error::{Error, Result};
use crate::validate::{require, valid_image_uri, valid_text};
use wharf_api::{
    Artifact, ArtifactRegisterType, ArtifactType, BRANCH_NAME, CiMode, Metadata, RegistrationType,
    RoutePreview, Strategy,
};
use wharf_store::{
    ArtifactRow, Audit, Bucket, CiRow, FileInfo, JsonText, Origin, RuleRow, new_id, now,
};

/// Where the caller asked the build to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Route by the CI's rule, with `BRANCH_NAME` set to this ref.
    GitRef(String),
    /// Route by the CI's rule over the given metadata only (the older `/artifacts/push`).
    Metadata,
    Environment(String),
    ReleaseStream(String),
}

impl Target {
    /// The target a registration addressed as `kind` `value` names.
    pub fn addressed(kind: ArtifactRegisterType, value: String) -> Self {
        match kind {
            ArtifactRegisterType::GitRef => Target::GitRef(value),
            ArtifactRegisterType::Environment => Target::Environment(value),
            ArtifactRegisterType::ReleaseStream => Target::ReleaseStream(value),
        }
    }
}

/// One registration, whichever endpoint it arrived on.
#[derive(Debug, Clone)]
pub struct Registration {
    pub project: String,
    pub ci_name: String,
    pub application_name: Option<String>,
    pub artifact_uri: String,
    pub artifactory: Option<String>,
    pub target: Target,
    pub external_id: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub repository_name: Option<String>,
    pub tag: Option<String>,
    /// Refuse (storing nothing) when the build would be unclassified.
    pub require_route: bool,
    /// A freestyle build's file (stored in the built-in registry); none: an image.
    pub file: Option<FileInfo>,
    /// The build's in-toto statement (SLSA provenance), checked and stored with it.
    pub provenance: Option<serde_json::Value>,
}

/// Where a registration goes, worked out by the checks and routing that registering and its
/// preview share.
struct Routed {
    project: String,
    ci_name: String,
    artifact_uri: String,
    ci: CiRow,
    bucket: Bucket,
    /// Why the build goes nowhere though it named a place (a service attached by hand).
    warning: Option<String>,
}

/// The stored build and whether it already existed (an idempotent replay).
#[derive(Debug, Clone)]
pub struct StoredBuild {
    pub artifact: Artifact,
    pub replayed: bool,
}

impl StoredBuild {
    pub fn new(row: &ArtifactRow, ci_name: &str, replayed: bool) -> Self {
        Self {
            artifact: artifact_view(row, ci_name),
            replayed,
        }
    }
}

impl Delivery {
    /// The checks and routing of a registration, writing nothing: the field rules, the
    /// caller's permission, the CI integration, and the bucket its rule (or target) picks.
    async fn route(&self, user: &AuthUser, request: &mut Registration) -> Result<Routed> {
        let project = require("blueprintName", Some(&request.project))?;
        let ci_name = require("ciName", Some(&request.ci_name))?;
        let artifact_uri = valid_image_uri("artifactUri", &request.artifact_uri)?;
        valid_text("description", request.description.as_deref(), 4096)?;
        valid_text("externalId", request.external_id.as_deref(), 256)?;
        self.identity
            .require(user, &project, permissions::ARTIFACTS_WRITE)
            .await?;
        let Some(ci) = self.store.ci(&project, &ci_name).await? else {
            self.lookups.project(&project).await?;
            return Err(Error::not_found(format!(
                "CI integration '{ci_name}' not found in project '{project}'{}; add it under \
                 [[ci]] in wharf.toml and run `wharf apply`, or POST /cc-ui/v1/artifacts-ci",
                self.lookups.ci_suggestions(&project, &ci_name).await?
            )));
        };
        if let Target::GitRef(git_ref) = &request.target {
            request
                .metadata
                .insert(BRANCH_NAME.to_string(), git_ref.clone());
        }
        if ci.mode == CiMode::None {
            return Ok(Routed {
                warning: Some(routed_nowhere(&ci)),
                project,
                ci_name,
                artifact_uri,
                ci,
                bucket: Bucket::unclassified(),
            });
        }
        let rule = self.lookups.rule_of(&ci).await?;
        let bucket = self.choose_bucket(&ci, rule.as_ref(), request).await?;
        Ok(Routed {
            project,
            ci_name,
            artifact_uri,
            ci,
            bucket,
            warning: None,
        })
    }

    /// Where `request` would be registered, by the code that registers it, writing nothing;
    /// refused as the registration would be when it must be routed and would not be.
    pub async fn preview_registration(
        &self,
        user: &AuthUser,
        mut request: Registration,
    ) -> Result<RoutePreview> {
        let routed = self.route(user, &mut request).await?;
        if request.require_route && !routed.bucket.classified {
            return Err(Error::NotRouted(not_routed(&request, &routed.ci)));
        }
        Ok(RoutePreview {
            classified: routed.bucket.classified,
            routed_to: routed.bucket.routed_to().map(str::to_string),
            rule_name: routed.bucket.applied_rule_name.clone(),
            registration_type: routed.ci.registration_type,
            ci_mode: routed.ci.mode,
            strategy: Some(Strategy::of_mode(routed.ci.mode)),
            warnings: routed.warning.into_iter().collect(),
        })
    }

    pub async fn register(
        &self,
        user: &AuthUser,
        mut request: Registration,
    ) -> Result<StoredBuild> {
        let Routed {
            project,
            ci_name,
            artifact_uri,
            ci,
            bucket,
            warning,
        } = self.route(user, &mut request).await?;
        if request.require_route && !bucket.classified {
            return Err(Error::NotRouted(not_routed(&request, &ci)));
        }
        let provenance = match &request.provenance {
            Some(statement) => {
                let digest = self.door.known_digest(&artifact_uri).await?.map(|(_, d)| d);
                let checked = self
                    .identity
                    .check_provenance(user, statement, digest.as_deref())
                    .await?;
                Some(checked)
            }
            None => None,
        };
        let pinned = self
            .door
            .admit_direct(
                user,
                &project,
                &bucket,
                &artifact_uri,
                "register",
                provenance.as_ref(),
            )
            .await?;
        let gate_warnings = pinned
            .as_ref()
            .map(|p| p.warnings.clone())
            .unwrap_or_default();
        let (register_type, register_value) = describe_target(&request);
        let row = ArtifactRow {
            id: new_id(),
            ci_id: ci.id.clone(),
            project,
            application_name: request.application_name.clone().unwrap_or(ci_name),
            artifact_uri,
            artifactory: request
                .artifactory
                .clone()
                .unwrap_or_else(|| wharf_api::BUILT_IN_ARTIFACTORY.into()),
            external_id: request
                .external_id
                .clone()
                .filter(|id| !id.trim().is_empty()),
            description: request.description.clone(),
            metadata: JsonText(request.metadata.clone()),
            register_type,
            register_value,
            registration_type: ci.registration_type,
            bucket,
            promoted: false,
            origin: Origin::Register,
            repository_name: request.repository_name.clone(),
            tag: request.tag.clone(),
            created_by: user.username.clone(),
            created_at: now(),
            promoted_from: None,
            artifact_type: match request.file {
                Some(_) => ArtifactType::Freestyle,
                None => ArtifactType::DockerImage,
            },
            file: request.file.clone().map(JsonText),
        };
        let row = match pinned {
            Some(pinned) => pinned.name(row),
            None => row,
        };
        let dead_end = self.dead_end_ahead(&row, &ci).await?;
        let mut stored = self
            .store_once(row, &ci, provenance.as_ref(), &gate_warnings)
            .await?;
        stored.artifact.warnings.extend(warning);
        stored.artifact.warnings.extend(dead_end);
        stored.artifact.warnings.extend(gate_warnings);
        Ok(stored)
    }

    /// A build registered by a tag this server cannot read a digest for, whose workflow leads
    /// into a protected stage: that stage will refuse it (it takes images by digest), so say so
    /// now, with the fix, not three steps later at the promotion.
    async fn dead_end_ahead(&self, row: &ArtifactRow, ci: &CiRow) -> Result<Option<String>> {
        let Some(at) = row.bucket.routed_to() else {
            return Ok(None);
        };
        if self.door.digest_readable(&row.artifact_uri).await? {
            return Ok(None);
        }
        let Some(workflow) = self.lookups.workflow_of(ci).await? else {
            return Ok(None);
        };
        let stages: Vec<&str> = workflow
            .hierarchies
            .0
            .iter()
            .map(|h| h.registration_value.as_str())
            .collect();
        let Some(here) = stages.iter().position(|s| *s == at) else {
            return Ok(None);
        };
        let protected: Vec<String> = self
            .store
            .protections(&row.project)
            .await?
            .into_iter()
            .map(|p| p.stage)
            .collect();
        let ahead = stages[here + 1..]
            .iter()
            .find(|stage| protected.iter().any(|p| p == *stage));
        Ok(ahead.map(|stage| {
            format!(
                "registered by tag, and its workflow ({}) leads into the protected stage '{stage}', \
                 which takes images only by digest: promoting it there will be refused. Register \
                 the image by digest (…@sha256:…), or copy it with `wharf push`",
                stages.join(" → ")
            )
        }))
    }

    /// Inserts the build unless this CI already registered its external id: the same image is
    /// a replay, a different image a conflict.
    async fn store_once(
        &self,
        row: ArtifactRow,
        ci: &CiRow,
        provenance: Option<&CheckedProvenance>,
        gate_warnings: &[String],
    ) -> Result<StoredBuild> {
        let audit = Audit::new(&row.created_by, "ARTIFACT", "ARTIFACT_REGISTER")
            .target(&row.id)
            .stack(&row.project)
            .bucket(&row.bucket)
            .meta("ciName", &ci.name)
            .meta("artifactUri", &row.artifact_uri)
            .meta("externalId", &row.external_id)
            .meta("routedTo", row.bucket.routed_to())
            .meta("ruleName", &row.bucket.applied_rule_name)
            .meta(
                "gateWarnings",
                (!gate_warnings.is_empty()).then_some(gate_warnings),
            )
            .meta(
                "provenance",
                provenance.map(|p| {
                    serde_json::json!({
                        "digest": p.digest,
                        "builderId": p.builder_id,
                        "verification": p.verification.as_str(),
                        "checked": p.checked,
                    })
                }),
            );
        let mut tx = self.store.begin().await?;
        let before = tx.leading_image(&ci.id, &row.bucket).await?;
        let kind = "build.registered";
        // Without provenance, the build goes in with the commit (one round trip on SQLite): a
        // duplicate is then the commit's error, and the events roll back with it. The
        // provenance row names the build, so then the build goes in at once.
        let inserted = match provenance {
            Some(_) => tx.insert_artifact(&row).await,
            None => tx.insert_artifact_at_commit(&row).await,
        };
        let written = match inserted {
            Ok(()) => {
                if let Some(provenance) = provenance {
                    let kept = provenance.row(&row.project, &row.id, &row.created_by);
                    tx.save_provenance(&kept).await?;
                }
                events::placed(&mut tx, kind, &audit, &row, &ci.name, before.as_deref()).await?;
                tx.commit_audited(&audit).await
            }
            Err(e) => {
                // Let the writer (SQLite) or the connection (PostgreSQL) go before the
                // replay is read.
                drop(tx);
                Err(e)
            }
        };
        match written {
            Ok(()) => return Ok(StoredBuild::new(&row, &ci.name, false)),
            Err(e) if e.is_duplicate() => {}
            Err(e) => return Err(e.into()),
        }
        let external_id = row.external_id.as_deref().unwrap_or_default();
        let existing = self
            .store
            .registration(&ci.id, external_id)
            .await?
            .ok_or_else(|| Error::Internal("a conflicting registration vanished".into()))?;
        if existing.artifact_uri == row.artifact_uri {
            return Ok(StoredBuild::new(&existing, &ci.name, true));
        }
        Err(Error::conflict(format!(
            "external id '{external_id}' of CI integration '{}' is already registered with image \
             '{}'; this request names image '{}'. Register the new image under a new external id \
             (for a re-built run, include the attempt number)",
            ci.name, existing.artifact_uri, row.artifact_uri
        )))
    }

    async fn choose_bucket(
        &self,
        ci: &CiRow,
        rule: Option<&RuleRow>,
        request: &Registration,
    ) -> Result<Bucket> {
        match &request.target {
            Target::GitRef(_) | Target::Metadata => {
                self.lookups
                    .bucket_by_rule(ci, rule, &request.metadata)
                    .await
            }
            Target::Environment(name) => {
                let environment = self.lookups.environment_named(&ci.project, name).await?;
                Ok(environment_bucket(ci.registration_type, &environment))
            }
            // Every CI may register into a stream: the build lands in the stream's bucket, and
            // each environment of the stream resolves to it until it has a newer build of its
            // own (Facets: "all environments qualified for that release stream").
            Target::ReleaseStream(name) => self
                .lookups
                .bucket_named(&ci.project, RegistrationType::ReleaseStream, name)
                .await?
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "release stream '{name}' not found in project '{}'",
                        ci.project
                    ))
                }),
        }
    }
}

/// Why a registration that had to be routed was refused (worded as the client's own check
/// was, with the rule the CI follows).
fn not_routed(request: &Registration, ci: &CiRow) -> String {
    let (kind, value) = describe_target(request);
    if ci.mode == CiMode::None {
        return format!(
            "{}; --require-route was given, so nothing was registered. Attach the image to an \
             environment instead (`wharf attach`, or the Images tab), or give the service \
             another strategy (`wharf strategy --set project|service`)",
            routed_nowhere(ci)
        );
    }
    let follows = match ci.mode {
        CiMode::None => "follows no rule",
        CiMode::Custom => "follows its own rule",
        CiMode::Inherited => "follows the project's default rule",
    };
    format!(
        "{} '{value}' matches no routing rule of project '{}' (CI integration '{}' {follows}), \
         and --require-route was given; nothing was registered. Add a rule, or register with \
         --environment",
        kind.as_str(),
        ci.project,
        ci.name
    )
}

/// What happens to a build registered by CI for a service attached by hand.
fn routed_nowhere(ci: &CiRow) -> String {
    format!(
        "service '{}' of project '{}' uses the manual strategy: builds registered by CI are \
         kept but routed nowhere, and each environment deploys what is attached to it by hand",
        ci.name, ci.project
    )
}

fn describe_target(request: &Registration) -> (ArtifactRegisterType, String) {
    match &request.target {
        Target::GitRef(r) => (ArtifactRegisterType::GitRef, r.clone()),
        Target::Metadata => (
            ArtifactRegisterType::GitRef,
            request
                .metadata
                .get(BRANCH_NAME)
                .cloned()
                .unwrap_or_default(),
        ),
        Target::Environment(e) => (ArtifactRegisterType::Environment, e.clone()),
        Target::ReleaseStream(s) => (ArtifactRegisterType::ReleaseStream, s.clone()),
    }
}
