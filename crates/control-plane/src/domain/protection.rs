//! Protected stages: the requests the door ([`super::door`]) opens for changes that wait for
//! approvals (a promotion, a rollback, a reclassification in or out, the deletion of what a
//! stage deploys), and rollback itself.
//!
//! A request is pinned to the image digest it would place; completing it places exactly that
//! digest (`registry/repository@sha256:…`), whatever the tag points at by then. It completes when enough distinct eligible
//! users approve; one rejection closes it. An approval stops counting when it is older than
//! the stage's `approval_ttl_hours`, when it was given for another digest, or when its giver
//! no longer holds an approver role; it is then removed and audited as lapsed. Approvals of
//! one request are serialised by locking the request row, so two racing approvals (even on
//! two replicas) complete it exactly once.

use super::auth::AuthUser;
use super::door::{Admission, Pinned, Placement, holds_any, pinned_row, pinned_uri, roles_text};
use super::promotion::{Promoted, placed};
use super::registration::StoredBuild;
use super::requests::{RequestKind, RequestStatus, origin_of};
use super::wire::artifact_view;
use super::{Approvals, events, permissions};
use crate::error::{Error, Result};
use wharf_api::ClosedSet;
use wharf_api::project_file::Protection;
use wharf_api::{Approval, PromotionRequest, RegistrationType};
use wharf_store::{
    ApprovalRow, ArtifactRow, Audit, Bucket, CiRow, Origin, RequestRow, Tx, format_time, new_id,
    now,
};

fn audit(user: &str, action: &'static str, request: &RequestRow) -> Audit {
    Audit::new(user, "PROMOTION_REQUEST", action)
        .target(&request.id)
        .stack(&request.project)
        .meta("stage", &request.stage)
        .meta("kind", request.kind.name())
        .meta("sourceId", &request.source_id)
        .meta("digest", &request.digest)
}

/// The approvals a request needs now: the stricter of what its stage asked when it was made
/// and what it asks today (raising `approvals` holds open requests to the new count; lowering
/// it completes none early).
fn required(request: &RequestRow, rules: &Protection) -> i64 {
    request.required.max(i64::from(rules.approvals))
}

/// Whether an approval given at `approved_at` is still within `ttl_hours`.
fn fresh(approved_at: &str, ttl_hours: u32) -> bool {
    let cutoff = time::OffsetDateTime::now_utc() - time::Duration::hours(i64::from(ttl_hours));
    approved_at > format_time(cutoff).as_str()
}

/// What completing a request does, worked out before its transaction opens (nothing is read
/// on the writer while the transaction holds it).
enum Completion {
    Place(Box<ArtifactRow>),
    Move {
        to: Bucket,
        pinned: Option<Pinned>,
    },
    Remove,
    /// Nothing to do any more; the request lapses with this reason.
    Lapse(String),
}

/// Who may not approve a request when the stage says so: everyone who registered its image
/// in the project, and everyone who asked for that image to enter the stage.
#[derive(Debug, Default)]
struct Authors {
    registrants: Vec<String>,
    requesters: Vec<String>,
}

impl Approvals {
    /// Makes (or answers the open) request to change what `stage` deploys: place, move or
    /// remove `source`, pinned to `digest`. A request open for another change of the same
    /// service there is superseded (lapsed).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn request_change(
        &self,
        user: &AuthUser,
        ci: &CiRow,
        source: &ArtifactRow,
        stage: &str,
        digest: String,
        kind: RequestKind,
        rules: &Protection,
    ) -> Result<Promoted> {
        let mut tx = self.store.begin().await?;
        if let Some(open) = tx.lock_pending_for(&ci.id, stage).await? {
            if open.source_id == source.id && open.kind == kind && open.digest == digest {
                tx.commit().await?;
                let view = self.request_view(&open).await?;
                return Ok(Promoted::Pending(view, artifact_view(source, &ci.name)));
            }
            let why = format!("superseded by a request for build '{}'", source.id);
            tx.close_request(&open.id, RequestStatus::Lapsed, Some(&why), None)
                .await?;
            tx.record(&audit(&user.username, "PROMOTION_LAPSED", &open).meta("reason", &why))
                .await?;
        }
        let at = now();
        let request = RequestRow {
            id: new_id(),
            project: ci.project.clone(),
            ci_id: ci.id.clone(),
            kind,
            source_id: source.id.clone(),
            stage: stage.to_string(),
            digest,
            required: i64::from(rules.approvals),
            status: RequestStatus::Pending,
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
        events::emit_audited(&mut tx, "promotion.requested", &entry).await?;
        tx.commit().await?;
        let view = self.request_view(&request).await?;
        Ok(Promoted::Pending(view, artifact_view(source, &ci.name)))
    }

    /// Places `source` in `bucket` (stage `stage`) through the door: a request where the
    /// stage asks approvals, else the go-ahead, with the image pinned where it is guarded.
    pub(super) async fn place_through_door(
        &self,
        user: &AuthUser,
        ci: &CiRow,
        source: &ArtifactRow,
        bucket: &Bucket,
        stage: &str,
        kind: RequestKind,
    ) -> Result<Placement> {
        let guard = self.door.guard(&ci.project, bucket).await?;
        let what = match kind {
            RequestKind::Rollback => "roll it back",
            _ => "promote into it",
        };
        match self
            .door
            .admit_change(user, &ci.project, &guard, what)
            .await?
        {
            Admission::Ask(rules) => {
                let pinned = self.door.pin(&source.artifact_uri).await?;
                let digest = self
                    .door
                    .admit_content(&ci.project, &guard, pinned)
                    .await?
                    .digest;
                let asked = self
                    .request_change(user, ci, source, stage, digest, kind, &rules)
                    .await?;
                Ok(Placement::Asked(asked))
            }
            Admission::Go(None) => Ok(Placement::Go(None)),
            Admission::Go(Some(_)) => {
                let pinned = self.door.pin(&source.artifact_uri).await?;
                let pinned = self.door.admit_content(&ci.project, &guard, pinned).await?;
                Ok(Placement::Go(Some(pinned)))
            }
        }
    }

    /// A project's protected stages and their rules.
    pub async fn protections(
        &self,
        project: &str,
    ) -> Result<std::collections::BTreeMap<String, Protection>> {
        self.lookups.project(project).await?;
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
            self.lookups.project(project).await?;
        }
        let mut views = Vec::new();
        for request in self
            .store
            .promotion_requests(project, RequestStatus::Pending)
            .await?
        {
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

    /// The rules a request is decided by: the strictest protection of its stage now.
    async fn request_rules(
        &self,
        request: &RequestRow,
        source: &ArtifactRow,
    ) -> Result<Protection> {
        self.door
            .stage_rules(&request.project, source.registration_type, &request.stage)
            .await
    }

    /// Follows the image back: whoever registered it first in the project (by digest, or at
    /// the root of the promotions the source came through), the source's own author, and
    /// whoever asked for this digest to enter this stage.
    async fn authors(&self, request: &RequestRow, source: Option<&ArtifactRow>) -> Result<Authors> {
        let mut authors = Authors::default();
        let add = |list: &mut Vec<String>, name: String| {
            if !list.contains(&name) {
                list.push(name);
            }
        };
        if let Some(source) = source {
            add(&mut authors.registrants, source.created_by.clone());
            let mut at = source.clone();
            for _ in 0..32 {
                let Some(parent) = at.promoted_from.clone() else {
                    break;
                };
                let Some(parent) = self.store.artifact(&parent).await? else {
                    break;
                };
                at = parent;
            }
            add(&mut authors.registrants, at.created_by);
        }
        if let Some(first) = self
            .store
            .first_registrant(&request.project, &request.digest)
            .await?
        {
            add(&mut authors.registrants, first);
        }
        add(&mut authors.requesters, request.requested_by.clone());
        for name in self
            .store
            .requesters_of(&request.project, &request.stage, &request.digest)
            .await?
        {
            add(&mut authors.requesters, name);
        }
        Ok(authors)
    }

    /// Whether `user` may approve or reject `request` now, and if not, why.
    async fn may_decide(
        &self,
        user: &AuthUser,
        request: &RequestRow,
        authors: &Authors,
        rules: &Protection,
        approving: bool,
    ) -> Result<()> {
        let held = self
            .identity
            .role_names(&user.username, &request.project)
            .await?;
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
        let me = &user.username;
        if approving && authors.requesters.contains(me) && !rules.requester_may_approve {
            return Err(Error::Forbidden(format!(
                "user '{me}' asked for this promotion (image {} into '{}'), and the stage does \
                 not let the requester approve: another approver must",
                request.digest, request.stage
            )));
        }
        if approving && authors.registrants.contains(me) && !rules.registrant_may_approve {
            return Err(Error::Forbidden(format!(
                "user '{me}' registered this image ({}) or placed build '{}' where it is \
                 promoted from, and stage '{}' does not let its registrant approve: another \
                 approver must",
                request.digest, request.source_id, request.stage
            )));
        }
        Ok(())
    }

    /// `None` when `user` may approve `request` now; else why not (the checks of
    /// [`Approvals::approve`]).
    pub async fn approval_refusal(
        &self,
        user: &AuthUser,
        request: &PromotionRequest,
    ) -> Result<Option<String>> {
        if request
            .approvals
            .iter()
            .any(|a| a.username == user.username)
        {
            return Ok(Some(format!("user '{}' approved already", user.username)));
        }
        let row = self.request_row(&request.request_id).await?;
        let source = self.store.artifact(&row.source_id).await?;
        let rules = match &source {
            Some(source) => self.request_rules(&row, source).await?,
            None => Protection::default(),
        };
        let authors = self.authors(&row, source.as_ref()).await?;
        match self.may_decide(user, &row, &authors, &rules, true).await {
            Ok(()) => Ok(None),
            Err(Error::Forbidden(why)) => Ok(Some(why)),
            Err(other) => Err(other),
        }
    }

    /// Approves a pending request; answers it, completed when this approval was the last one
    /// needed. Approving twice counts once.
    pub async fn approve(&self, user: &AuthUser, id: &str) -> Result<PromotionRequest> {
        let request = self.request_row(id).await?;
        let source = self.request_source(&request).await?;
        let rules = self.request_rules(&request, &source).await?;
        let authors = self.authors(&request, Some(&source)).await?;
        self.may_decide(user, &request, &authors, &rules, true)
            .await?;
        let completion = self.completion(&request, &source).await?;
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
            let service = self.lookups.ci_by_id(&request.ci_id).await?.name;
            let entry =
                audit(&user.username, "PROMOTION_APPROVED", &request).meta("ciName", &service);
            tx.record(&entry).await?;
            events::emit_audited(&mut tx, "promotion.approved", &entry).await?;
        }
        let counted = self.count_approvals(&mut tx, &request, &rules).await?;
        if counted >= required(&request, &rules) {
            self.complete(&mut tx, &request, &source, completion, user)
                .await?;
        }
        tx.commit().await?;
        self.promotion_request(id).await
    }

    /// Rejects a pending request, with the reason; it closes. Its requester may always
    /// withdraw it.
    pub async fn reject(
        &self,
        user: &AuthUser,
        id: &str,
        reason: &str,
    ) -> Result<PromotionRequest> {
        let reason = crate::validate::require("reason", Some(reason))?;
        crate::validate::valid_text("reason", Some(&reason), 1024)?;
        let request = self.request_row(id).await?;
        let source = self.request_source(&request).await?;
        let rules = self.request_rules(&request, &source).await?;
        let requester = user.username == request.requested_by;
        if !requester {
            self.may_decide(user, &request, &Authors::default(), &rules, false)
                .await?;
        }
        let mut tx = self.store.begin().await?;
        if !tx
            .close_request(id, RequestStatus::Rejected, Some(&reason), None)
            .await?
        {
            drop(tx);
            return Err(self.closed(id).await);
        }
        let service = self.lookups.ci_by_id(&request.ci_id).await?.name;
        let entry = audit(&user.username, "PROMOTION_REJECTED", &request)
            .meta("reason", &reason)
            .meta("ciName", &service);
        tx.record(&entry).await?;
        events::emit_audited(&mut tx, "promotion.rejected", &entry).await?;
        tx.commit().await?;
        self.promotion_request(id).await
    }

    /// 409 for a request that is no longer pending, saying what became of it.
    async fn closed(&self, id: &str) -> Error {
        match self.store.promotion_request(id).await {
            Ok(Some(request)) => Error::conflict(format!(
                "promotion request '{id}' is {} already{}",
                request.status.name().to_lowercase(),
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
            .identity
            .role_names(&approval.username, &request.project)
            .await?;
        if !admin && !holds_any(&held, &rules.approvers) {
            return Ok(Some("the approver no longer holds an approver role"));
        }
        Ok(None)
    }

    /// What completing `request` will do, read before its transaction.
    async fn completion(&self, request: &RequestRow, source: &ArtifactRow) -> Result<Completion> {
        let kind = request.kind;
        match kind {
            RequestKind::Promote | RequestKind::Rollback => {
                let registration = source.registration_type;
                let bucket = self
                    .lookups
                    .stage_bucket(&request.project, registration, &request.stage)
                    .await?;
                let pinned = pinned_uri(&source.artifact_uri, &request.digest)?;
                let guard = self.door.guard(&request.project, &bucket).await?;
                let pinned = self
                    .door
                    .admit_content(&request.project, &guard, pinned)
                    .await?;
                let row = placed(
                    source,
                    bucket,
                    registration,
                    &request.stage,
                    origin_of(kind),
                    &request.requested_by,
                );
                Ok(Completion::Place(Box::new(pinned_row(row, Some(pinned)))))
            }
            RequestKind::Reclassify => {
                let ci = self.lookups.ci_by_id(&source.ci_id).await?;
                let rule = self.lookups.rule_of(&ci).await?;
                let to = self
                    .lookups
                    .bucket_by_rule(&ci, rule.as_ref(), &source.metadata.0)
                    .await?;
                if to == source.bucket {
                    return Ok(Completion::Lapse(
                        "the CI's rule no longer moves the build".into(),
                    ));
                }
                let guard = self.door.guard(&request.project, &to).await?;
                let pinned = match guard.is_open() {
                    true => None,
                    false => {
                        let pinned = pinned_uri(&source.artifact_uri, &request.digest)?;
                        let project = &request.project;
                        Some(self.door.admit_content(project, &guard, pinned).await?)
                    }
                };
                Ok(Completion::Move { to, pinned })
            }
            RequestKind::Delete => Ok(Completion::Remove),
        }
    }

    /// Carries out `request` and closes it, in `tx`.
    async fn complete(
        &self,
        tx: &mut Tx,
        request: &RequestRow,
        source: &ArtifactRow,
        completion: Completion,
        last_approver: &AuthUser,
    ) -> Result<()> {
        let requester = &request.requested_by;
        let service = self.lookups.ci_by_id(&request.ci_id).await?.name;
        let mut placed_now: Option<(&'static str, ArtifactRow, Option<String>)> = None;
        let (result_id, entry) = match completion {
            Completion::Lapse(why) => {
                tx.close_request(&request.id, RequestStatus::Lapsed, Some(&why), None)
                    .await?;
                let entry = audit(&last_approver.username, "PROMOTION_LAPSED", request)
                    .meta("reason", &why);
                tx.record(&entry).await?;
                return Ok(());
            }
            Completion::Place(row) => {
                let before = tx.leading_image(&request.ci_id, &row.bucket).await?;
                tx.insert_artifact(&row).await?;
                let (action, kind) = match row.origin {
                    Origin::Rollback => ("ARTIFACT_ROLLBACK", "build.rolled_back"),
                    _ => ("ARTIFACT_PROMOTE", "build.promoted"),
                };
                let entry = Audit::new(requester, "ARTIFACT", action)
                    .target(&row.id)
                    .bucket(&row.bucket)
                    .meta("from", &source.id)
                    .meta("to", &request.stage)
                    .meta("artifactUri", &row.artifact_uri)
                    .meta("ciName", &service);
                let id = row.id.clone();
                placed_now = Some((kind, *row, before));
                (id, entry)
            }
            Completion::Move { to, pinned } => {
                let before = tx.leading_image(&request.ci_id, &to).await?;
                let moved = ArtifactRow {
                    bucket: to.clone(),
                    ..source.clone()
                };
                placed_now = Some(("build.reclassified", moved, before));
                tx.move_build(&source.id, &to).await?;
                if let Some(pinned) = &pinned {
                    tx.pin_build(&source.id, &pinned.uri, pinned.tag.as_deref())
                        .await?;
                }
                let entry = Audit::new(requester, "ARTIFACT", "ARTIFACT_RECLASSIFY")
                    .target(&source.id)
                    .bucket(&to)
                    .meta("from", source.bucket.routed_to())
                    .meta("to", to.routed_to())
                    .meta("ruleName", &to.applied_rule_name)
                    .meta("ciName", &service);
                (source.id.clone(), entry)
            }
            Completion::Remove => {
                tx.delete_artifact(&source.id).await?;
                let entry = Audit::new(requester, "ARTIFACT", "ARTIFACT_DELETE")
                    .target(&source.id)
                    .bucket(&source.bucket)
                    .meta("artifactUri", &source.artifact_uri);
                (source.id.clone(), entry)
            }
        };
        tx.close_request(
            &request.id,
            RequestStatus::Completed,
            None,
            Some(&result_id),
        )
        .await?;
        let entry = entry.stack(&request.project).meta("requestId", &request.id);
        tx.record(&entry).await?;
        if let Some((kind, row, before)) = &placed_now {
            events::placed(tx, kind, &entry, row, &service, before.as_deref()).await?;
        }
        let completed = audit(&last_approver.username, "PROMOTION_COMPLETED", request)
            .meta("resultId", &result_id)
            .meta("ciName", &service);
        tx.record(&completed).await?;
        events::emit_audited(tx, "promotion.completed", &completed).await?;
        Ok(())
    }

    /// A request as the API answers it.
    pub(super) async fn request_view(&self, request: &RequestRow) -> Result<PromotionRequest> {
        let ci = self.lookups.ci_by_id(&request.ci_id).await?;
        let source = self.store.artifact(&request.source_id).await?;
        let rules = match &source {
            Some(source) => self.request_rules(request, source).await?,
            None => Protection::default(),
        };
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
        let mut eligible: Vec<String> = Vec::new();
        if request.status == RequestStatus::Pending {
            let authors = self.authors(request, source.as_ref()).await?;
            let excluded = |username: &str| {
                (authors.requesters.iter().any(|r| r == username) && !rules.requester_may_approve)
                    || (authors.registrants.iter().any(|r| r == username)
                        && !rules.registrant_may_approve)
                    || approvals.iter().any(|a| a.username == username)
            };
            let members = self.store.members_of(&request.project).await?;
            let approving = members
                .into_iter()
                .filter(|(_, role)| rules.approvers.contains(role))
                .map(|(username, _)| username);
            // Server admins may approve any request: named too, so a request never reads as
            // one nobody can finish while an admin can.
            let admins = self
                .store
                .users()
                .await?
                .into_iter()
                .filter(|u| u.admin)
                .map(|u| u.username);
            for username in approving.chain(admins) {
                if !excluded(&username) && !eligible.contains(&username) {
                    eligible.push(username);
                }
            }
        }
        Ok(PromotionRequest {
            request_id: request.id.clone(),
            id: request.id.clone(),
            project: request.project.clone(),
            ci_name: ci.name,
            kind: request.kind.name().into(),
            source_id: request.source_id.clone(),
            artifact_uri: source.map(|s| s.artifact_uri).unwrap_or_default(),
            digest: request.digest.clone(),
            stage: request.stage.clone(),
            status: request.status.name().into(),
            required: u32::try_from(required(request, &rules)).unwrap_or(u32::MAX),
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
    /// build `to`), audited, through the door: back to a build the stage deployed before is a
    /// change like a promotion (approvals where the stage asks them); to any other build is a
    /// write straight into the stage (a `direct` role where it is protected).
    pub async fn rollback(
        &self,
        user: &AuthUser,
        project: &str,
        service: &str,
        environment: &str,
        to: Option<&str>,
    ) -> Result<Promoted> {
        let ci = self.lookups.ci(project, service).await?;
        self.identity
            .require(user, project, permissions::ARTIFACTS_WRITE)
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
        let kind = target.registration_type;
        let bucket = self.lookups.stage_bucket(project, kind, &stage).await?;
        let deployed_before = history.iter().any(|b| b.id == target.id);
        let pinned = if deployed_before {
            match self
                .place_through_door(user, &ci, &target, &bucket, &stage, RequestKind::Rollback)
                .await?
            {
                Placement::Asked(asked) => return Ok(asked),
                Placement::Go(pinned) => pinned,
            }
        } else {
            self.door
                .admit_direct(
                    user,
                    project,
                    &bucket,
                    &target.artifact_uri,
                    "roll back to a build it never deployed",
                    None,
                )
                .await?
        };
        let row = pinned_row(
            placed(
                &target,
                bucket,
                kind,
                &stage,
                Origin::Rollback,
                &user.username,
            ),
            pinned,
        );
        let entry = Audit::new(&user.username, "ARTIFACT", "ARTIFACT_ROLLBACK")
            .target(&row.id)
            .stack(project)
            .bucket(&row.bucket)
            .meta("ciName", &ci.name)
            .meta("from", &current.id)
            .meta("fromUri", &current.artifact_uri)
            .meta("to", &target.id)
            .meta("artifactUri", &row.artifact_uri);
        let mut tx = self.store.begin().await?;
        let before = tx.leading_image(&ci.id, &row.bucket).await?;
        tx.insert_artifact(&row).await?;
        let kind = "build.rolled_back";
        events::placed(&mut tx, kind, &entry, &row, &ci.name, before.as_deref()).await?;
        super::commit(tx, &entry).await?;
        Ok(Promoted::Done(StoredBuild::new(&row, &ci.name, false)))
    }

    /// The bucket an environment's builds live in: its own, or (release-stream projects) its
    /// stream's.
    async fn rollback_stage(&self, project: &str, environment: &str) -> Result<String> {
        let project_row = self.lookups.project(project).await?;
        let env = self.lookups.environment_named(project, environment).await?;
        Ok(match project_row.registration_type {
            Some(RegistrationType::ReleaseStream) => env.release_stream,
            _ => env.name,
        })
    }
}
