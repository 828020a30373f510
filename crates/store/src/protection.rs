//! Protected stages, promotion requests waiting for approvals, and the approvals themselves.

use crate::{
    ApprovalRow, ArtifactRow, JsonText, ProtectionRow, RequestRow, RequestStatus, Result, Store,
    Table, Tx, now,
};
use wharf_api::project_file::Protection;

/// `SELECT <every request column> FROM promotion_requests <rest>`, as one literal.
macro_rules! select_requests {
    ($rest:literal) => {
        concat!(
            "SELECT id, project, ci_id, kind, source_id, stage, digest, required, status,
             requested_by, requested_at, updated_at, reason, result_id FROM promotion_requests ",
            $rest
        )
    };
}

impl Store {
    /// The rules of one stage of a project, when it is protected.
    pub async fn protection(&self, project: &str, stage: &str) -> Result<Option<ProtectionRow>> {
        let key = format!("protection\0{project}\0{stage}");
        self.cached(key, &[Table::Protections], async {
            Ok(on!(&self.reader, |e| sqlx::query_as(
                "SELECT project, stage, rules FROM protections WHERE project = $1 AND stage = $2"
            )
            .bind(project)
            .bind(stage)
            .fetch_optional(e)
            .await)?)
        })
        .await
    }

    /// Every protected stage of a project.
    pub async fn protections(&self, project: &str) -> Result<Vec<ProtectionRow>> {
        let key = format!("protections\0{project}");
        self.cached(key, &[Table::Protections], async {
            Ok(on!(&self.reader, |e| sqlx::query_as(
                "SELECT project, stage, rules FROM protections WHERE project = $1 ORDER BY stage"
            )
            .bind(project)
            .fetch_all(e)
            .await)?)
        })
        .await
    }

    pub async fn promotion_request(&self, id: &str) -> Result<Option<RequestRow>> {
        Ok(on_writer!(self, |e| sqlx::query_as(select_requests!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// Requests in `status`, of one project or all, oldest first.
    pub async fn promotion_requests(
        &self,
        project: Option<&str>,
        status: RequestStatus,
    ) -> Result<Vec<RequestRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_requests!(
            "WHERE status = $1 AND ($2 IS NULL OR project = $2) ORDER BY requested_at, id
             LIMIT 1000"
        ))
        .bind(status)
        .bind(project)
        .fetch_all(e)
        .await)?)
    }

    pub async fn approvals_of(&self, request_id: &str) -> Result<Vec<ApprovalRow>> {
        Ok(on_writer!(self, |e| sqlx::query_as(
            "SELECT request_id, username, digest, approved_at FROM approvals
             WHERE request_id = $1 ORDER BY approved_at, username"
        )
        .bind(request_id)
        .fetch_all(e)
        .await)?)
    }

    /// What each bucket of a CI integration deploys now: its newest build per bucket (one
    /// indexed read per bucket the CI has builds in).
    pub async fn deployed_builds(&self, ci_id: &str) -> Result<Vec<ArtifactRow>> {
        let mut deployed = Vec::new();
        for (bucket, _) in self.buckets_of(ci_id).await? {
            let newest: Option<ArtifactRow> =
                on!(&self.reader, |e| sqlx::query_as(select_artifacts!(
                    "WHERE ci_id = $1 AND routed_to = $2 AND classified = TRUE
                     ORDER BY created_at DESC, id DESC LIMIT 1"
                ))
                .bind(ci_id)
                .bind(&bucket)
                .fetch_optional(e)
                .await)?;
            deployed.extend(newest);
        }
        Ok(deployed)
    }

    /// Who first registered (or attached) an image by `digest` in `project`.
    pub async fn first_registrant(&self, project: &str, digest: &str) -> Result<Option<String>> {
        Ok(on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT created_by FROM artifacts
             WHERE project = $1 AND artifact_uri LIKE $2 AND origin IN ('register', 'attach')
             ORDER BY created_at, id LIMIT 1"
        )
        .bind(project)
        .bind(format!("%@{digest}"))
        .fetch_optional(e)
        .await)?)
    }

    /// Everyone who asked for `digest` to enter `stage` of `project`, in any request.
    pub async fn requesters_of(
        &self,
        project: &str,
        stage: &str,
        digest: &str,
    ) -> Result<Vec<String>> {
        Ok(on!(&self.reader, |e| sqlx::query_scalar(
            "SELECT DISTINCT requested_by FROM promotion_requests
             WHERE project = $1 AND stage = $2 AND digest = $3 ORDER BY requested_by"
        )
        .bind(project)
        .bind(stage)
        .bind(digest)
        .fetch_all(e)
        .await)?)
    }

    /// The builds of a CI integration that sat in bucket `stage`, newest first.
    pub async fn builds_routed_to(&self, ci_id: &str, stage: &str) -> Result<Vec<ArtifactRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_artifacts!(
            "WHERE ci_id = $1 AND routed_to = $2 ORDER BY created_at DESC, id DESC LIMIT 500"
        ))
        .bind(ci_id)
        .bind(stage)
        .fetch_all(e)
        .await)?)
    }
}

impl Tx {
    /// Replaces a project's protected stages with `stages`.
    pub async fn replace_protections(
        &mut self,
        project: &str,
        stages: &[(String, Protection)],
    ) -> Result<()> {
        execute!(self, "DELETE FROM protections WHERE project = $1", project)?;
        for (stage, rules) in stages {
            execute!(
                self,
                "INSERT INTO protections (project, stage, rules) VALUES ($1, $2, $3)",
                project,
                stage,
                JsonText(rules.clone()),
            )?;
        }
        Ok(())
    }

    pub async fn protections_in_tx(&mut self, project: &str) -> Result<Vec<ProtectionRow>> {
        Ok(in_tx!(self, |e| sqlx::query_as(
            "SELECT project, stage, rules FROM protections WHERE project = $1 ORDER BY stage"
        )
        .bind(project)
        .fetch_all(e)
        .await)?)
    }

    /// Takes a pending request for this transaction (a row lock on PostgreSQL, the write lock
    /// on SQLite), so two approvals of one request run one after the other; `None` when it is
    /// not pending.
    pub async fn lock_pending_request(&mut self, id: &str) -> Result<Option<RequestRow>> {
        let locked = execute!(
            self,
            "UPDATE promotion_requests SET updated_at = $2 WHERE id = $1 AND status = 'PENDING'",
            id,
            now(),
        )?;
        if locked == 0 {
            return Ok(None);
        }
        Ok(in_tx!(self, |e| sqlx::query_as(select_requests!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// The pending request for a service and stage, locked as [`Tx::lock_pending_request`].
    pub async fn lock_pending_for(
        &mut self,
        ci_id: &str,
        stage: &str,
    ) -> Result<Option<RequestRow>> {
        let found: Option<RequestRow> = in_tx!(self, |e| sqlx::query_as(select_requests!(
            "WHERE ci_id = $1 AND stage = $2 AND status = 'PENDING'"
        ))
        .bind(ci_id)
        .bind(stage)
        .fetch_optional(e)
        .await)?;
        match found {
            Some(request) => self.lock_pending_request(&request.id).await,
            None => Ok(None),
        }
    }

    pub async fn insert_promotion_request(&mut self, request: &RequestRow) -> Result<()> {
        execute!(
            self,
            "INSERT INTO promotion_requests (id, project, ci_id, kind, source_id, stage, digest,
                 required, status, requested_by, requested_at, updated_at, reason, result_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &request.id,
            &request.project,
            &request.ci_id,
            &request.kind,
            &request.source_id,
            &request.stage,
            &request.digest,
            request.required,
            &request.status,
            &request.requested_by,
            &request.requested_at,
            &request.updated_at,
            &request.reason,
            &request.result_id,
        )?;
        Ok(())
    }

    /// Closes a pending request: `COMPLETED` (with the build it made), `REJECTED` or `LAPSED`
    /// (with the reason); `false` when it was not pending.
    pub async fn close_request(
        &mut self,
        id: &str,
        status: RequestStatus,
        reason: Option<&str>,
        result_id: Option<&str>,
    ) -> Result<bool> {
        let done = execute!(
            self,
            "UPDATE promotion_requests SET status = $2, reason = $3, result_id = $4,
                 updated_at = $5
             WHERE id = $1 AND status = 'PENDING'",
            id,
            status,
            reason,
            result_id,
            now(),
        )?;
        Ok(done > 0)
    }

    /// Records an approval; `false` when this user had approved already (it counts once).
    pub async fn insert_approval(&mut self, approval: &ApprovalRow) -> Result<bool> {
        let done = execute!(
            self,
            "INSERT INTO approvals (request_id, username, digest, approved_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (request_id, username) DO NOTHING",
            &approval.request_id,
            &approval.username,
            &approval.digest,
            &approval.approved_at,
        )?;
        Ok(done > 0)
    }

    pub async fn approvals_in_tx(&mut self, request_id: &str) -> Result<Vec<ApprovalRow>> {
        Ok(in_tx!(self, |e| sqlx::query_as(
            "SELECT request_id, username, digest, approved_at FROM approvals
             WHERE request_id = $1 ORDER BY approved_at, username"
        )
        .bind(request_id)
        .fetch_all(e)
        .await)?)
    }

    /// Removes an approval that no longer counts (expired, another digest, a lost role).
    pub async fn delete_approval(&mut self, request_id: &str, username: &str) -> Result<()> {
        execute!(
            self,
            "DELETE FROM approvals WHERE request_id = $1 AND username = $2",
            request_id,
            username,
        )?;
        Ok(())
    }

    /// A build, read inside the transaction.
    pub async fn artifact_in_tx(&mut self, id: &str) -> Result<Option<ArtifactRow>> {
        Ok(in_tx!(self, |e| sqlx::query_as(select_artifacts!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }
}
