//! Protected stages: who may write straight into an environment or release stream, and
//! promotions (and rollbacks) into it that wait for approvals.
//!
//! A promotion into a stage whose `[protection]` asks for approvals makes a pending request
//! pinned to the source build's image digest. It completes when enough distinct eligible
//! users approve; one rejection closes it. An approval stops counting when it is older than
//! the stage's `approval_ttl_hours`, when it was given for another digest, or when its giver
//! no longer holds an approver role; it is then removed and audited as lapsed. Approvals of
//! one request are serialised by locking the request row, so two racing approvals (even on
//! two replicas) complete it exactly once.

use super::auth::AuthUser;
use super::promotion::{Promoted, RequestKind, placed};
use super::registration::Registered;
use super::views::artifact_view;
use super::{ControlPlane, permissions};
use crate::error::{Error, Result};
use wharf_api::project_file::Protection;
use wharf_api::{Approval, PromotionRequest, RegistrationType};
use wharf_oci::ImageReference;
use wharf_store::{
    ApprovalRow, ArtifactRow, Audit, CiRow, Origin, RequestRow, Tx, format_time, new_id, now,
};

pub const PENDING: &str = "PENDING";
pub const COMPLETED: &str = "COMPLETED";
pub const REJECTED: &str = "REJECTED";
pub const LAPSED: &str = "LAPSED";

fn audit(user: &str, action: &'static str, request: &RequestRow) -> Audit {
    Audit::new(user, "PROMOTION_REQUEST", action)
        .target(&request.id)
        .stack(&request.project)
        .meta("stage", &request.stage)
        .meta("kind", &request.kind)
        .meta("sourceId", &request.source_id)
        .meta("digest", &request.digest)
}

fn roles_text(roles: &[String]) -> String {
    if roles.is_empty() {
        return "no role (server admins only)".into();
    }
    let quoted: Vec<String> = roles.iter().map(|r| format!("'{r}'")).collect();
    format!("role {}", quoted.join(" or "))
}

fn holds_any(held: &[String], wanted: &[String]) -> bool {
    held.iter().any(|role| wanted.contains(role))
}

/// Whether an approval given at `approved_at` is still within `ttl_hours`.
fn fresh(approved_at: &str, ttl_hours: u32) -> bool {
    let cutoff = time::OffsetDateTime::now_utc() - time::Duration::hours(i64::from(ttl_hours));
    approved_at > format_time(cutoff).as_str()
}

impl ControlPlane {
    /// The protection of a stage of `project`, if it has one.
    pub async fn protection_of(&self, project: &str, stage: &str) -> Result<Option<Protection>> {
        Ok(self
            .store
            .protection(project, stage)
            .await?
            .map(|row| row.rules.0))
    }

    /// Registering or attaching straight into a protected stage needs a role in its `direct`
    /// list (server admins always may). Refused with 403 naming the stage and those roles.
    pub(super) async fn require_direct(
        &self,
        user: &AuthUser,
        project: &str,
        stage: &str,
        what: &str,
    ) -> Result<()> {
        let Some(rules) = self.protection_of(project, stage).await? else {
            return Ok(());
        };
        if user.admin
            || holds_any(
                &self.role_names(&user.username, project).await?,
                &rules.direct,
            )
        {
            return Ok(());
        }
        let promote = match rules.approvals {
            0 => "promote into it instead".to_string(),
            n => format!(
                "promote into it instead, which asks {n} approval(s) from {}",
                roles_text(&rules.approvers)
            ),
        };
        Err(Error::Forbidden(format!(
            "stage '{stage}' of project '{project}' is protected: to {what} straight into it \
             needs {}; user '{}' has none of them; {promote}",
            roles_text(&rules.direct),
            user.username
        )))
    }

    /// Asking for a promotion into a protected stage needs a role in its `promoters` list,
    /// when it has one.
    pub(super) async fn require_promoter(
        &self,
        user: &AuthUser,
        project: &str,
        stage: &str,
        rules: &Protection,
    ) -> Result<()> {
        let Some(promoters) = &rules.promoters else {
            return Ok(());
        };
        if user.admin || holds_any(&self.role_names(&user.username, project).await?, promoters) {
            return Ok(());
        }
        Err(Error::Forbidden(format!(
            "stage '{stage}' of project '{project}' is protected: promoting into it needs {}; \
             user '{}' has none of them",
            roles_text(promoters),
            user.username
        )))
    }

    /// The image digest a build's URI names, or the built-in registry's digest for its tag.
    /// A plain tag anywhere else cannot be pinned: refused, saying how to give the digest.
    async fn digest_of(&self, build: &ArtifactRow) -> Result<String> {
        let reference: Option<ImageReference> = build.artifact_uri.parse().ok();
        if let Some(digest) = reference.as_ref().and_then(|r| r.digest.as_ref()) {
            return Ok(digest.to_string());
        }
        if let Some(reference) = &reference
            && let Some(tag) = &reference.tag
            && let Some(digest) = self.store.registry_tag(&reference.repository, tag).await?
        {
            return Ok(digest);
        }
        Err(Error::conflict(format!(
            "build '{}' ({}) names its image by tag only, so an approval could not be pinned to \
             what it approves: register the image by digest (`wharf push` does; or `wharf \
             register --image REPOSITORY@sha256:…`), then promote that build",
            build.id, build.artifact_uri
        )))
    }

    /// Makes (or answers the open) request to place `source` in `stage`; a request open for
    /// another build of the same service there is superseded (lapsed).
    pub(super) async fn request_placement(
        &self,
        user: &AuthUser,
        ci: &CiRow,
        source: &ArtifactRow,
        stage: &str,
        kind: RequestKind,
        rules: &Protection,
    ) -> Result<Promoted> {
        let digest = self.digest_of(source).await?;
        let mut tx = self.store.begin().await?;
        if let Some(open) = tx.lock_pending_for(&ci.id, stage).await? {
            if open.source_id == source.id && open.kind == kind.name() && open.digest == digest {
                tx.commit().await?;
                let view = self.request_view(&open).await?;
                return Ok(Promoted::Pending(view, artifact_view(source, &ci.name)));
            }
            let why = format!("superseded by a request for build '{}'", source.id);
            tx.close_request(&open.id, LAPSED, Some(&why), None).await?;
            tx.record(&audit(&user.username, "PROMOTION_LAPSED", &open).meta("reason", &why))
                .await?;
        }
        let at = now();
        let request = RequestRow {
            id: new_id(),
            project: ci.project.clone(),
            ci_id: ci.id.clone(),
            kind: kind.name().into(),
            source_id: source.id.clone(),
            stage: stage.to_string(),
            digest,
            required: i64::from(rules.approvals),
            status: PENDING.into(),
            requested_by: user.username.clone(),
            requested_at: at.clone(),
            updated_at: at,
            reason: None,
            result_id: None,
        };
        tx.insert_promotion_request(&request).await?;
        let entry = audit(&user.username, "PROMOTION_REQUESTED", &request)
            .meta("ciName", &ci.name)
            .meta("required", rules.approvals)
            .meta("approvers", &rules.approvers);
        tx.record(&entry).await?;
        tx.commit().await?;
        let view = self.request_view(&request).await?;
        Ok(Promoted::Pending(view, artifact_view(source, &ci.name)))
    }

    /// A project's protected stages and their rules.
    pub async fn protections(
        &self,
        project: &str,
    ) -> Result<std::collections::BTreeMap<String, Protection>> {
        self.project(project).await?;
        Ok(self
            .store
            .protections(project)
            .await?
            .into_iter()
            .map(|row| (row.stage, row.rules.0))
            .collect())
    }

    /// Pending requests, of one project or every one.
    pub async fn pending_requests(&self, project: Option<&str>) -> Result<Vec<PromotionRequest>> {
        if let Some(project) = project {
            self.project(project).await?;
        }
        let mut views = Vec::new();
        for request in self.store.promotion_requests(project, PENDING).await? {
            views.push(self.request_view(&request).await?);
        }
        Ok(views)
    }

    pub async fn promotion_request(&self, id: &str) -> Result<PromotionRequest> {
        let request = self.request_row(id).await?;
        self.request_view(&request).await
    }

    async fn request_row(&self, id: &str) -> Result<RequestRow> {
        self.store
            .promotion_request(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("promotion request '{id}' not found")))
    }

    /// Whether `user` may approve or reject `request` now, and if not, why.
    async fn may_decide(
        &self,
        user: &AuthUser,
        request: &RequestRow,
        source: &ArtifactRow,
        rules: &Protection,
        approving: bool,
    ) -> Result<()> {
        let held = self.role_names(&user.username, &request.project).await?;
        if !user.admin && !holds_any(&held, &rules.approvers) {
            return Err(Error::Forbidden(format!(
                "approving or rejecting a promotion into '{}' needs {} on project '{}'; user \
                 '{}' has {}",
                request.stage,
                roles_text(&rules.approvers),
                request.project,
                user.username,
                if held.is_empty() {
                    "no role there".into()
                } else {
                    roles_text(&held)
                }
            )));
        }
        if approving && user.username == request.requested_by && !rules.requester_may_approve {
            return Err(Error::Forbidden(format!(
                "user '{}' asked for this promotion, and stage '{}' does not let the requester \
                 approve: another approver must",
                user.username, request.stage
            )));
        }
        if approving && user.username == source.created_by && !rules.registrant_may_approve {
            return Err(Error::Forbidden(format!(
                "user '{}' placed build '{}' where it is promoted from, and stage '{}' does not \
                 let its registrant approve: another approver must",
                user.username, source.id, request.stage
            )));
        }
        Ok(())
    }

    /// Approves a pending request; answers it, completed when this approval was the last one
    /// needed. Approving twice counts once.
    pub async fn approve(&self, user: &AuthUser, id: &str) -> Result<PromotionRequest> {
        let request = self.request_row(id).await?;
        let source = self.request_source(&request).await?;
        let rules = self
            .protection_of(&request.project, &request.stage)
            .await?
            .unwrap_or_default();
        self.may_decide(user, &request, &source, &rules, true)
            .await?;
        let mut tx = self.store.begin().await?;
        let Some(request) = tx.lock_pending_request(id).await? else {
            drop(tx);
            return Err(self.closed(id).await);
        };
        let approval = ApprovalRow {
            request_id: request.id.clone(),
            username: user.username.clone(),
            digest: request.digest.clone(),
            approved_at: now(),
        };
        if tx.insert_approval(&approval).await? {
            tx.record(&audit(&user.username, "PROMOTION_APPROVED", &request))
                .await?;
        }
        let counted = self.count_approvals(&mut tx, &request, &rules).await?;
        if counted >= request.required {
            self.complete(&mut tx, &request, &source, user).await?;
        }
        tx.commit().await?;
        self.promotion_request(id).await
    }

    /// Rejects a pending request, with the reason; it closes.
    pub async fn reject(
        &self,
        user: &AuthUser,
        id: &str,
        reason: &str,
    ) -> Result<PromotionRequest> {
        let reason = crate::error::require("reason", Some(reason))?;
        crate::error::valid_text("reason", Some(&reason), 1024)?;
        let request = self.request_row(id).await?;
        let source = self.request_source(&request).await?;
        let rules = self
            .protection_of(&request.project, &request.stage)
            .await?
            .unwrap_or_default();
        let requester = user.username == request.requested_by;
        if !requester {
            self.may_decide(user, &request, &source, &rules, false)
                .await?;
        }
        let mut tx = self.store.begin().await?;
        if !tx.close_request(id, REJECTED, Some(&reason), None).await? {
            drop(tx);
            return Err(self.closed(id).await);
        }
        tx.record(&audit(&user.username, "PROMOTION_REJECTED", &request).meta("reason", &reason))
            .await?;
        tx.commit().await?;
        self.promotion_request(id).await
    }

    /// 409 for a request that is no longer pending, saying what became of it.
    async fn closed(&self, id: &str) -> Error {
        match self.store.promotion_request(id).await {
            Ok(Some(request)) => Error::conflict(format!(
                "promotion request '{id}' is {} already{}",
                request.status.to_lowercase(),
                request
                    .reason
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )),
            Ok(None) => Error::not_found(format!("promotion request '{id}' not found")),
            Err(e) => e.into(),
        }
    }

    async fn request_source(&self, request: &RequestRow) -> Result<ArtifactRow> {
        self.store
            .artifact(&request.source_id)
            .await?
            .ok_or_else(|| {
                Error::conflict(format!(
                    "build '{}' of promotion request '{}' no longer exists; reject the request",
                    request.source_id, request.id
                ))
            })
    }

    /// Counts the approvals of `request` that still hold; removes (and audits) those that
    /// lapsed: too old, given for another digest, or by someone who lost the approver role.
    async fn count_approvals(
        &self,
        tx: &mut Tx,
        request: &RequestRow,
        rules: &Protection,
    ) -> Result<i64> {
        let mut counted = 0;
        for approval in tx.approvals_in_tx(&request.id).await? {
            let lapsed = self.lapse_reason(&approval, request, rules).await?;
            let Some(why) = lapsed else {
                counted += 1;
                continue;
            };
            tx.delete_approval(&request.id, &approval.username).await?;
            let entry = Audit::new(&approval.username, "PROMOTION_REQUEST", "APPROVAL_LAPSED")
                .target(&request.id)
                .stack(&request.project)
                .meta("stage", &request.stage)
                .meta("approvedAt", &approval.approved_at)
                .meta("reason", why);
            tx.record(&entry).await?;
        }
        Ok(counted)
    }

    async fn lapse_reason(
        &self,
        approval: &ApprovalRow,
        request: &RequestRow,
        rules: &Protection,
    ) -> Result<Option<&'static str>> {
        if !fresh(&approval.approved_at, rules.approval_ttl_hours) {
            return Ok(Some("expired"));
        }
        if approval.digest != request.digest {
            return Ok(Some("given for another digest"));
        }
        let admin = self.store.is_admin(&approval.username).await?;
        let held = self
            .role_names(&approval.username, &request.project)
            .await?;
        if !admin && !holds_any(&held, &rules.approvers) {
            return Ok(Some("the approver no longer holds an approver role"));
        }
        Ok(None)
    }

    /// Places the request's build in its stage and closes the request, in `tx`.
    async fn complete(
        &self,
        tx: &mut Tx,
        request: &RequestRow,
        source: &ArtifactRow,
        last_approver: &AuthUser,
    ) -> Result<()> {
        let current = self.digest_of(source).await?;
        if current != request.digest {
            let why = format!("the build's digest is now {current}");
            tx.close_request(&request.id, LAPSED, Some(&why), None)
                .await?;
            tx.record(
                &audit(&last_approver.username, "PROMOTION_LAPSED", request).meta("reason", &why),
            )
            .await?;
            return Ok(());
        }
        let kind = source.registration_type;
        let bucket = self
            .stage_bucket(&request.project, kind, &request.stage)
            .await?;
        let origin = RequestKind::origin(&request.kind);
        let row = placed(
            source,
            bucket,
            kind,
            &request.stage,
            origin,
            &request.requested_by,
        );
        tx.insert_artifact(&row).await?;
        tx.close_request(&request.id, COMPLETED, None, Some(&row.id))
            .await?;
        let action = match origin {
            Origin::Rollback => "ARTIFACT_ROLLBACK",
            _ => "ARTIFACT_PROMOTE",
        };
        let placed_entry = Audit::new(&request.requested_by, "ARTIFACT", action)
            .target(&row.id)
            .stack(&request.project)
            .bucket(&row.bucket)
            .meta("from", &source.id)
            .meta("to", &request.stage)
            .meta("artifactUri", &source.artifact_uri)
            .meta("requestId", &request.id);
        tx.record(&placed_entry).await?;
        tx.record(
            &audit(&last_approver.username, "PROMOTION_COMPLETED", request)
                .meta("resultId", &row.id),
        )
        .await?;
        Ok(())
    }

    /// A request as the API answers it.
    pub(super) async fn request_view(&self, request: &RequestRow) -> Result<PromotionRequest> {
        let ci = self.ci_by_id(&request.ci_id).await?;
        let source = self.store.artifact(&request.source_id).await?;
        let rules = self
            .protection_of(&request.project, &request.stage)
            .await?
            .unwrap_or_default();
        let mut approvals = Vec::new();
        for approval in self.store.approvals_of(&request.id).await? {
            if self
                .lapse_reason(&approval, request, &rules)
                .await?
                .is_none()
            {
                approvals.push(Approval {
                    username: approval.username,
                    approved_at: approval.approved_at,
                    digest: approval.digest,
                });
            }
        }
        let registrant = source.as_ref().map(|s| s.created_by.as_str());
        let mut eligible: Vec<String> = Vec::new();
        if request.status == PENDING {
            for (username, role) in self.store.members_of(&request.project).await? {
                let excluded = (username == request.requested_by && !rules.requester_may_approve)
                    || (Some(username.as_str()) == registrant && !rules.registrant_may_approve)
                    || approvals.iter().any(|a| a.username == username);
                if rules.approvers.contains(&role) && !excluded && !eligible.contains(&username) {
                    eligible.push(username);
                }
            }
        }
        Ok(PromotionRequest {
            request_id: request.id.clone(),
            id: request.id.clone(),
            project: request.project.clone(),
            ci_name: ci.name,
            kind: request.kind.clone(),
            source_id: request.source_id.clone(),
            artifact_uri: source.map(|s| s.artifact_uri).unwrap_or_default(),
            digest: request.digest.clone(),
            stage: request.stage.clone(),
            status: request.status.clone(),
            required: u32::try_from(request.required).unwrap_or(u32::MAX),
            approvals,
            approvers: rules.approvers,
            eligible_approvers: eligible,
            requested_by: request.requested_by.clone(),
            requested_at: request.requested_at.clone(),
            updated_at: request.updated_at.clone(),
            reason: request.reason.clone(),
            result_id: request.result_id.clone(),
        })
    }

    /// Points an environment of `project` back at its previous build of `service` (or at the
    /// build `to`), audited; a protected environment asks for approvals as a promotion does.
    pub async fn rollback(
        &self,
        user: &AuthUser,
        project: &str,
        service: &str,
        environment: &str,
        to: Option<&str>,
    ) -> Result<Promoted> {
        let ci = self.ci(project, service).await?;
        self.require(user, project, permissions::ARTIFACTS_WRITE)
            .await?;
        let stage = self.rollback_stage(project, environment).await?;
        let history = self.store.builds_routed_to(&ci.id, &stage).await?;
        let current = history.first().ok_or_else(|| {
            Error::not_found(format!(
                "environment '{environment}' has no build of '{service}' to roll back from"
            ))
        })?;
        let target = match to {
            Some(id) => self
                .store
                .artifact(id)
                .await?
                .filter(|b| b.ci_id == ci.id)
                .ok_or_else(|| {
                    Error::not_found(format!("build '{id}' of '{service}' not found"))
                })?,
            None => history
                .iter()
                .find(|b| b.artifact_uri != current.artifact_uri)
                .cloned()
                .ok_or_else(|| {
                    Error::conflict(format!(
                        "environment '{environment}' has had no other image of '{service}' than \
                         {}: nothing to roll back to; name a build with --to",
                        current.artifact_uri
                    ))
                })?,
        };
        if target.artifact_uri == current.artifact_uri {
            return Err(Error::conflict(format!(
                "environment '{environment}' already deploys {} for '{service}'",
                current.artifact_uri
            )));
        }
        if let Some(rules) = self.protection_of(project, &stage).await? {
            self.require_promoter(user, project, &stage, &rules).await?;
            if rules.approvals > 0 {
                return self
                    .request_placement(user, &ci, &target, &stage, RequestKind::Rollback, &rules)
                    .await;
            }
        }
        let kind = target.registration_type;
        let bucket = self.stage_bucket(project, kind, &stage).await?;
        let row = placed(
            &target,
            bucket,
            kind,
            &stage,
            Origin::Rollback,
            &user.username,
        );
        let entry = Audit::new(&user.username, "ARTIFACT", "ARTIFACT_ROLLBACK")
            .target(&row.id)
            .stack(project)
            .bucket(&row.bucket)
            .meta("ciName", &ci.name)
            .meta("from", &current.id)
            .meta("fromUri", &current.artifact_uri)
            .meta("to", &target.id)
            .meta("artifactUri", &target.artifact_uri);
        let mut tx = self.store.begin().await?;
        tx.insert_artifact(&row).await?;
        super::commit(tx, &entry).await?;
        Ok(Promoted::Done(Registered::new(&row, &ci.name, false)))
    }

    /// The bucket an environment's builds live in: its own, or (release-stream projects) its
    /// stream's.
    async fn rollback_stage(&self, project: &str, environment: &str) -> Result<String> {
        let project_row = self.project(project).await?;
        let env = self
            .store
            .environment(project, environment)
            .await?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "environment '{environment}' not found in project '{project}'"
                ))
            })?;
        Ok(match project_row.registration_type {
            Some(RegistrationType::ReleaseStream) => env.release_stream,
            _ => env.name,
        })
    }
}
