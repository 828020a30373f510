//! Promotion (register the build again at the next stage of its workflow), reclassification,
//! manual attach, and resolving `${blueprint.self.artifacts.<ciName>}` for an environment.

use super::auth::AuthUser;
use super::door::{Admission, Placement, pinned_row};
use super::lookups::CiKey;
use super::registration::StoredBuild;
pub use super::requests::Promoted;
use super::requests::RequestKind;
use super::wire::artifact_view;
use super::{Delivery, commit, events, permissions};
use crate::error::{Error, Result};
use crate::validate::valid_image_uri;
use std::collections::BTreeMap;
use wharf_api::{
    Artifact, ArtifactRegisterType, CiMode, EnvironmentOverrides, PromotionRequest,
    RegistrationType, WorkflowHierarchy,
};
use wharf_store::{ArtifactRow, Audit, Bucket, JsonText, Origin, new_id, now};

pub use wharf_api::Resolved;

/// The resource type wharf's builds are, in Facets' words.
const RESOURCE_TYPE: &str = "service";

/// Resource type → application name → its newest build in an environment.
pub type EnvironmentBuilds = BTreeMap<String, BTreeMap<String, Artifact>>;

/// What a reclassification changed.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reclassified {
    pub ci_name: String,
    pub moved: Vec<Artifact>,
    pub unchanged: usize,
    /// Moves in or out of a protected stage that wait for approvals instead.
    #[serde(default)]
    pub requested: Vec<PromotionRequest>,
}

/// A manual attach: pins an image to one environment (or stream) without touching the others.
pub struct Attach {
    pub project: String,
    pub ci_name: String,
    pub artifact_uri: String,
    pub artifactory: String,
    pub repository_name: Option<String>,
    pub tag: Option<String>,
    pub kind: RegistrationType,
    pub value: String,
}

/// `source` placed again in `stage` (a bucket of type `kind`) by `actor`: a promotion, or a
/// rollback. A promotion names its source, which the store allows once per source.
pub fn placed(
    source: &ArtifactRow,
    bucket: Bucket,
    kind: RegistrationType,
    stage: &str,
    origin: Origin,
    actor: &str,
) -> ArtifactRow {
    ArtifactRow {
        id: new_id(),
        register_type: addressed_as(kind),
        register_value: stage.to_string(),
        registration_type: kind,
        bucket,
        promoted: origin == Origin::Promote,
        origin,
        created_by: actor.to_string(),
        created_at: now(),
        promoted_from: (origin == Origin::Promote).then(|| source.id.clone()),
        ..source.clone()
    }
}

/// How a build placed in a bucket of type `kind` by name (a stage, an attach) is addressed.
fn addressed_as(kind: RegistrationType) -> ArtifactRegisterType {
    match kind {
        RegistrationType::ReleaseStream => ArtifactRegisterType::ReleaseStream,
        _ => ArtifactRegisterType::Environment,
    }
}

fn ladder(stages: &[WorkflowHierarchy]) -> String {
    stages
        .iter()
        .map(|s| s.registration_value.as_str())
        .collect::<Vec<_>>()
        .join(" → ")
}

/// `${blueprint.self.artifacts.<ciName>}` → the CI name.
pub fn parse_expression(expression: &str) -> Result<String> {
    expression
        .trim()
        .strip_prefix("${blueprint.self.artifacts.")
        .and_then(|rest| rest.strip_suffix('}'))
        .filter(|name| !name.is_empty() && !name.contains(['{', '}', '$']))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::bad_request(format!(
                "'{expression}' is not an artifact expression: use ${{blueprint.self.artifacts.<ciName>}}"
            ))
        })
}

impl Delivery {
    /// Registers `artifact_id` again at the next stage. Refused, with the reason, when the CI
    /// has no workflow, the build is unclassified or of another registration type, or it
    /// already sits at the last stage. Promoting a build twice answers the first promotion.
    /// Into a stage protected with approvals, it makes a pending request instead.
    pub async fn promote(
        &self,
        user: &AuthUser,
        ci: CiKey<'_>,
        artifact_id: &str,
    ) -> Result<Promoted> {
        let ci = &self.lookups.find_ci(ci).await?;
        self.identity
            .require(user, &ci.project, permissions::ARTIFACTS_WRITE)
            .await?;
        let source = self
            .store
            .artifact(artifact_id)
            .await?
            .filter(|a| a.ci_id == ci.id)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "build '{artifact_id}' not found in CI integration '{}'",
                    ci.name
                ))
            })?;
        if let Some(done) = self.store.committed_promotion_of(&source.id).await? {
            return Ok(Promoted::Done(StoredBuild::new(&done, &ci.name, true)));
        }
        if ci.mode == CiMode::None {
            return Err(Error::bad_request(format!(
                "service '{}' uses the manual strategy, so it has no promotion order: attach \
                 the image to the next environment by hand (`wharf attach`, or the Images tab), \
                 or give the service another strategy (`wharf strategy --set project|service`)",
                ci.name
            )));
        }
        let workflow = self.lookups.workflow_of(ci).await?.ok_or_else(|| {
            Error::bad_request(format!(
                "CI integration '{}' has no promotion workflow: set [promotion] order in \
                 wharf.toml, POST /cc-ui/v1/ci-cd, or give the CI its own workflow",
                ci.name
            ))
        })?;
        if workflow.registration_type != source.registration_type {
            return Err(Error::bad_request(format!(
                "workflow '{}' promotes {} buckets but build '{}' sits in a {} bucket",
                workflow.name,
                workflow.registration_type.as_str(),
                source.id,
                source.registration_type.as_str()
            )));
        }
        let current = source.bucket.routed_to().ok_or_else(|| {
            Error::bad_request(format!(
                "build '{}' is unclassified, so it has no stage to promote from; reclassify it \
                 after adding a rule, or register it with --environment",
                source.id
            ))
        })?;
        let stages = &workflow.hierarchies.0;
        let position = stages
            .iter()
            .position(|s| s.registration_value == current)
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "build '{}' sits in '{current}', which is not a stage of workflow '{}' ({})",
                    source.id,
                    workflow.name,
                    ladder(stages)
                ))
            })?;
        let next = stages.get(position + 1).ok_or_else(|| {
            Error::bad_request(format!(
                "build '{}' already sits at '{current}', the last stage of workflow '{}' ({})",
                source.id,
                workflow.name,
                ladder(stages)
            ))
        })?;
        let stage = &next.registration_value;
        let kind = workflow.registration_type;
        let bucket = self.lookups.stage_bucket(&ci.project, kind, stage).await?;
        let pinned = match self
            .approvals
            .place_through_door(user, ci, &source, &bucket, stage, RequestKind::Promote)
            .await?
        {
            Placement::Asked(asked) => return Ok(asked),
            Placement::Go(pinned) => pinned,
        };
        let row = pinned_row(
            placed(
                &source,
                bucket,
                kind,
                stage,
                Origin::Promote,
                &user.username,
            ),
            pinned,
        );
        let audit = Audit::new(&user.username, "ARTIFACT", "ARTIFACT_PROMOTE")
            .target(&row.id)
            .stack(&ci.project)
            .bucket(&row.bucket)
            .meta("ciName", &ci.name)
            .meta("promotedFrom", &source.id)
            .meta("from", current)
            .meta("to", &next.registration_value)
            .meta("artifactUri", &row.artifact_uri);
        let mut tx = self.store.begin().await?;
        let before = tx.leading_image(&ci.id, &row.bucket).await?;
        // The build goes in with the commit (one round trip on SQLite): a second promotion of
        // the build is then the commit's error, and its events roll back with it.
        let written = match tx.insert_artifact_at_commit(&row).await {
            Ok(()) => {
                let kind = "build.promoted";
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
            Ok(()) => Ok(Promoted::Done(StoredBuild::new(&row, &ci.name, false))),
            Err(e) if e.is_duplicate() => {
                let first = self
                    .store
                    .promotion_of(&source.id)
                    .await?
                    .ok_or_else(|| Error::Internal("a concurrent promotion vanished".into()))?;
                Ok(Promoted::Done(StoredBuild::new(&first, &ci.name, true)))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Delivery {
    /// Re-runs the CI's current rule over every build a rule placed; moves those whose bucket
    /// changed, one audit entry each, in one transaction. A move in or out of a protected stage
    /// goes through the door: with approvals it becomes a request instead.
    pub async fn reclassify(&self, user: &AuthUser, ci_id: &str) -> Result<Reclassified> {
        let ci = self.lookups.ci_by_id(ci_id).await?;
        self.identity
            .require(user, &ci.project, permissions::ARTIFACTS_WRITE)
            .await?;
        if ci.mode == CiMode::None {
            return Err(Error::bad_request(format!(
                "service '{}' uses the manual strategy: it routes by no rule, so there is \
                 nothing to reclassify by (the builds already placed stay where they are); \
                 give it another strategy first (`wharf strategy --set project|service`)",
                ci.name
            )));
        }
        let rule = self.lookups.rule_of(&ci).await?;
        let builds = self.store.rule_routed_builds(&ci.id).await?;
        let mut moves = Vec::new();
        let mut asks = Vec::new();
        for build in &builds {
            let to = self
                .lookups
                .bucket_by_rule(&ci, rule.as_ref(), &build.metadata.0)
                .await?;
            if to == build.bucket {
                continue;
            }
            let entering = self.door.guard(&ci.project, &to).await?;
            let leaving = self.door.guard(&ci.project, &build.bucket).await?;
            let guard = entering.clone().with(leaving);
            let admission = self
                .door
                .admit_change(
                    user,
                    &ci.project,
                    &guard,
                    "reclassify a build in or out of it",
                )
                .await?;
            let pin = match entering.is_open() {
                true => self.door.pin(&build.artifact_uri).await.ok(),
                false => {
                    let pinned = self.door.pin(&build.artifact_uri).await?;
                    Some(
                        self.door
                            .admit_content(&ci.project, &entering, pinned)
                            .await?,
                    )
                }
            };
            match admission {
                Admission::Go(_) => {
                    let pinned = pin.filter(|_| !entering.is_open());
                    moves.push((build, to, pinned));
                }
                Admission::Ask(rules) => {
                    let stage = match entering.is_open() {
                        true => build.bucket.routed_to(),
                        false => to.routed_to(),
                    };
                    let stage = stage.unwrap_or_default().to_string();
                    let digest = pin.map(|p| p.digest).unwrap_or_default();
                    asks.push((build, stage, digest, rules));
                }
            }
        }
        let mut tx = self.store.begin().await?;
        let mut moved = Vec::new();
        for (build, to, pinned) in moves {
            let before = tx.leading_image(&ci.id, &to).await?;
            tx.move_build(&build.id, &to).await?;
            if let Some(pinned) = &pinned {
                tx.pin_build(&build.id, &pinned.uri, pinned.tag.as_deref())
                    .await?;
            }
            let moved_to = ArtifactRow {
                bucket: to.clone(),
                ..build.clone()
            };
            let after = pinned_row(moved_to, pinned);
            let audit = Audit::new(&user.username, "ARTIFACT", "ARTIFACT_RECLASSIFY")
                .target(&build.id)
                .stack(&build.project)
                .bucket(&to)
                .meta("from", build.bucket.routed_to())
                .meta("to", to.routed_to())
                .meta("ruleName", &to.applied_rule_name)
                .meta("ciName", &ci.name);
            tx.record(&audit).await?;
            let kind = "build.reclassified";
            events::placed(&mut tx, kind, &audit, &after, &ci.name, before.as_deref()).await?;
            moved.push(artifact_view(&after, &ci.name));
        }
        tx.commit().await?;
        let mut requested = Vec::new();
        for (build, stage, digest, rules) in asks {
            let kind = RequestKind::Reclassify;
            let asked = self
                .approvals
                .request_change(user, &ci, build, &stage, digest, kind, &rules)
                .await?;
            if let Promoted::Pending(view, _) = asked {
                requested.push(view);
            }
        }
        Ok(Reclassified {
            ci_name: ci.name,
            unchanged: builds.len() - moved.len() - requested.len(),
            moved,
            requested,
        })
    }

    /// The newer of the newest build in the environment's own bucket and the newest in its
    /// release stream's bucket; else an error listing where the CI's builds are.
    pub async fn resolve(
        &self,
        project: &str,
        environment: &str,
        ci_name: &str,
    ) -> Result<Resolved> {
        let env = self.lookups.environment_named(project, environment).await?;
        let ci = self.lookups.ci(project, ci_name).await?;
        let expression = format!("${{blueprint.self.artifacts.{ci_name}}}");
        if let Some(deployed) = self.lookups.deployed_in(&ci, &env).await? {
            return Ok(Resolved {
                expression,
                resolved_from: deployed.from.as_str().into(),
                bucket: deployed.bucket,
                environment: env.name.clone(),
                artifact: artifact_view(&deployed.build, &ci.name),
                service_override: Some(super::wire::service_override(&deployed.build)),
            });
        }
        let buckets = self.store.buckets_of(&ci.id).await?;
        let listing = if buckets.is_empty() {
            "it has no classified builds at all".to_string()
        } else {
            let parts: Vec<_> = buckets
                .iter()
                .map(|(name, n)| format!("{name} ({n})"))
                .collect();
            format!("its builds sit in: {}", parts.join(", "))
        };
        Err(Error::not_found(format!(
            "{expression} has no build for environment '{}': neither its bucket nor release \
             stream '{}' holds one; {listing}",
            env.name, env.release_stream
        )))
    }

    /// Every service's override for one environment (what each deploys there); services
    /// that deploy nothing there are named apart.
    pub async fn overrides(
        &self,
        project: &str,
        environment: &str,
    ) -> Result<EnvironmentOverrides> {
        let env = self.lookups.environment_named(project, environment).await?;
        let mut answer = EnvironmentOverrides {
            project: project.to_string(),
            environment: env.name.clone(),
            ..Default::default()
        };
        for ci in self.store.cis(Some(project)).await? {
            match self.lookups.deployed_in(&ci, &env).await? {
                Some(deployed) => {
                    let entry = super::wire::service_override(&deployed.build);
                    answer.overrides.insert(ci.name.clone(), entry);
                }
                None => answer.deploys_nothing.push(ci.name.clone()),
            }
        }
        Ok(answer)
    }

    /// Pins an image to one environment or stream by hand, audited; through the door, as a
    /// write straight into the bucket.
    pub async fn attach(&self, user: &AuthUser, request: Attach) -> Result<Artifact> {
        self.identity
            .require(user, &request.project, permissions::ARTIFACTS_WRITE)
            .await?;
        let artifact_uri = valid_image_uri("artifactUri", &request.artifact_uri)?;
        let ci = self.lookups.ci(&request.project, &request.ci_name).await?;
        let bucket = self
            .lookups
            .stage_bucket(&request.project, request.kind, &request.value)
            .await?;
        let pinned = self
            .door
            .admit_direct(
                user,
                &request.project,
                &bucket,
                &artifact_uri,
                "attach an image",
                None,
            )
            .await?;
        let register_type = addressed_as(request.kind);
        let row = ArtifactRow {
            id: new_id(),
            ci_id: ci.id.clone(),
            project: request.project.clone(),
            application_name: ci.name.clone(),
            artifact_uri,
            artifactory: request.artifactory,
            external_id: None,
            description: Some("attached by hand".into()),
            metadata: JsonText::default(),
            register_type,
            register_value: request.value.clone(),
            registration_type: request.kind,
            bucket,
            promoted: false,
            origin: Origin::Attach,
            repository_name: request.repository_name,
            tag: request.tag,
            created_by: user.username.clone(),
            created_at: now(),
            promoted_from: None,
            artifact_type: Default::default(),
            file: None,
        };
        let gate_warnings = pinned.as_ref().map(|p| p.warnings.clone());
        let mut row = pinned_row(row, pinned);
        let named = row.repository_name.as_deref().zip(row.tag.as_deref());
        if let Some(file) = self
            .store
            .freestyle_build(&ci.id, &row.artifact_uri, named)
            .await?
        {
            // An uploaded file attached to another environment stays a file.
            row.artifact_type = file.artifact_type;
            row.file = file.file;
        }
        let audit = Audit::new(&user.username, "ARTIFACT", "ARTIFACT_ATTACH")
            .target(&row.id)
            .stack(&row.project)
            .bucket(&row.bucket)
            .meta("ciName", &ci.name)
            .meta("artifactUri", &row.artifact_uri)
            .meta("to", &request.value)
            .meta("gateWarnings", &gate_warnings);
        let mut tx = self.store.begin().await?;
        let before = tx.leading_image(&ci.id, &row.bucket).await?;
        tx.insert_artifact(&row).await?;
        let kind = "build.attached";
        events::placed(&mut tx, kind, &audit, &row, &ci.name, before.as_deref()).await?;
        commit(tx, &audit).await?;
        let mut view = artifact_view(&row, &ci.name);
        view.warnings.extend(gate_warnings.into_iter().flatten());
        Ok(view)
    }

    /// Deletes a build's record (the image stays in its registry), audited. Deleting what a
    /// protected stage deploys is a change like a rollback: with approvals, the answer is the
    /// request that will delete it.
    pub async fn delete_build(
        &self,
        user: &AuthUser,
        id: &str,
    ) -> Result<Option<PromotionRequest>> {
        let build = self
            .store
            .artifact(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("build '{id}' not found")))?;
        self.identity
            .require(user, &build.project, permissions::ARTIFACTS_DELETE)
            .await?;
        let deployed = self.store.deployed_builds(&build.ci_id).await?;
        if deployed.iter().any(|b| b.id == build.id) {
            let guard = self.door.guard(&build.project, &build.bucket).await?;
            let what = "delete the build it deploys";
            if let Admission::Ask(rules) = self
                .door
                .admit_change(user, &build.project, &guard, what)
                .await?
            {
                let ci = self.lookups.ci_by_id(&build.ci_id).await?;
                let pinned = self.door.pin(&build.artifact_uri).await;
                let digest = pinned.map(|p| p.digest).unwrap_or_default();
                let stage = build.bucket.routed_to().unwrap_or_default().to_string();
                let kind = RequestKind::Delete;
                let asked = self
                    .approvals
                    .request_change(user, &ci, &build, &stage, digest, kind, &rules)
                    .await?;
                if let Promoted::Pending(view, _) = asked {
                    return Ok(Some(view));
                }
            }
        }
        let audit = Audit::new(&user.username, "ARTIFACT", "ARTIFACT_DELETE")
            .target(id)
            .stack(&build.project)
            .bucket(&build.bucket)
            .meta("ciName", &build.application_name)
            .meta("artifactUri", &build.artifact_uri);
        let mut tx = self.store.begin().await?;
        if !tx.delete_artifact(id).await? {
            return Err(Error::not_found(format!("build '{id}' not found")));
        }
        commit(tx, &audit).await?;
        Ok(None)
    }

    /// The newest build of each application in an environment's own bucket, as Facets keys
    /// them: resource type (`service`) → application name → build.
    pub async fn builds_in_environment(&self, cluster_id: &str) -> Result<EnvironmentBuilds> {
        self.lookups.environment_by_id(cluster_id).await?;
        let rows = self.store.artifacts_in_cluster(cluster_id, None).await?;
        let mut newest = BTreeMap::new();
        for row in &rows {
            newest
                .entry(row.application_name.clone())
                .or_insert_with(|| artifact_view(row, &row.application_name));
        }
        Ok(BTreeMap::from([(RESOURCE_TYPE.to_string(), newest)]))
    }

    /// The newest build of one application in an environment's own bucket.
    pub async fn build_in_environment(
        &self,
        cluster_id: &str,
        application: &str,
    ) -> Result<Artifact> {
        self.lookups.environment_by_id(cluster_id).await?;
        let rows = self
            .store
            .artifacts_in_cluster(cluster_id, Some(application))
            .await?;
        let newest = rows.first().ok_or_else(|| {
            Error::not_found(format!(
                "application '{application}' has no build in environment id '{cluster_id}'"
            ))
        })?;
        Ok(artifact_view(newest, &newest.application_name))
    }
}
