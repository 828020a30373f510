//! Keyless CI login: trust policies per project, the identity tokens already exchanged, and
//! the role binding and tokens of the users those exchanges make.

use crate::{JsonText, Result, Store, Tx};
use sqlx::FromRow;
use wharf_api::project_file::TrustPolicy;

/// One trust policy of a project, as stored.
#[derive(Debug, Clone, FromRow)]
pub struct TrustRow {
    pub project: String,
    pub name: String,
    pub position: i64,
    pub issuer: String,
    pub policy: JsonText<TrustPolicy>,
}

impl Store {
    /// The trust policies of `project`, in the project file's order.
    pub async fn trust_policies(&self, project: &str) -> Result<Vec<TrustRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT project, name, position, issuer, policy FROM trust_policies
             WHERE project = $1 ORDER BY position"
        )
        .bind(project)
        .fetch_all(e)
        .await)?)
    }
}

impl Tx {
    /// The trust policies of `project`, read inside the transaction that replaces them.
    pub async fn trust_policies_in_tx(&mut self, project: &str) -> Result<Vec<TrustRow>> {
        Ok(in_tx!(self, |e| sqlx::query_as(
            "SELECT project, name, position, issuer, policy FROM trust_policies
             WHERE project = $1 ORDER BY position"
        )
        .bind(project)
        .fetch_all(e)
        .await)?)
    }

    /// Replaces every trust policy of `project` with `policies` (name, policy), in order.
    pub async fn replace_trust_policies(
        &mut self,
        project: &str,
        policies: &[(String, TrustPolicy)],
    ) -> Result<()> {
        execute!(
            self,
            "DELETE FROM trust_policies WHERE project = $1",
            project
        )?;
        for (position, (name, policy)) in policies.iter().enumerate() {
            execute!(
                self,
                "INSERT INTO trust_policies (project, name, position, issuer, policy)
                 VALUES ($1, $2, $3, $4, $5)",
                project,
                name,
                position as i64,
                &policy.issuer,
                JsonText(policy),
            )?;
        }
        Ok(())
    }

    /// Records that the identity token `jti` of `issuer` was exchanged; `false` when it was
    /// already (a replay), on this replica or another.
    pub async fn remember_identity_token(
        &mut self,
        issuer: &str,
        jti: &str,
        expires_at: &str,
    ) -> Result<bool> {
        let done = execute!(
            self,
            "INSERT INTO oidc_seen_tokens (issuer, jti, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (issuer, jti) DO NOTHING",
            issuer,
            jti,
            expires_at,
        )?;
        Ok(done > 0)
    }

    /// Forgets exchanged identity tokens that expired before `before`: they can no longer be
    /// presented. Answers how many went.
    pub async fn sweep_identity_tokens(&mut self, before: &str) -> Result<u64> {
        Ok(execute!(
            self,
            "DELETE FROM oidc_seen_tokens WHERE expires_at < $1",
            before
        )?)
    }

    /// Takes `username`'s roles on every project but `project` away (`*` included).
    pub async fn unbind_other_projects(&mut self, username: &str, project: &str) -> Result<u64> {
        Ok(execute!(
            self,
            "DELETE FROM role_bindings WHERE username = $1 AND project <> $2",
            username,
            project,
        )?)
    }

    /// Deletes `username`'s tokens that expired before `before`.
    pub async fn delete_expired_tokens(&mut self, username: &str, before: &str) -> Result<u64> {
        Ok(execute!(
            self,
            "DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at < $1
             AND user_id IN (SELECT id FROM users WHERE username = $2)",
            before,
            username,
        )?)
    }
}
