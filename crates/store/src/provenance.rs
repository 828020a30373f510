//! Build provenance, by image digest, and the verified identity claims of keyless tokens.

use crate::{Result, Store, Tx};
use sqlx::FromRow;

/// A statement as stored: `verification` is `verified-by-identity-token` or
/// `reported-by-the-client`; `checked` a JSON array of the fields the claims confirmed.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ProvenanceRow {
    pub project: String,
    pub digest: String,
    pub statement: String,
    pub predicate_type: String,
    pub builder_id: Option<String>,
    pub verification: String,
    pub checked: String,
    pub build_id: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

/// The stored value of a verified statement; a reported one never replaces it.
pub const VERIFIED: &str = "verified-by-identity-token";

impl Store {
    /// The statement about `digest` in `project`.
    pub async fn provenance(&self, project: &str, digest: &str) -> Result<Option<ProvenanceRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT project, digest, statement, predicate_type, builder_id, verification, checked,
             build_id, recorded_by, recorded_at FROM provenance WHERE project = $1 AND digest = $2"
        )
        .bind(project)
        .bind(digest)
        .fetch_optional(e)
        .await)?)
    }

    /// The verified claims of the keyless token `token_id` (JSON), when it is one.
    pub async fn token_claims(&self, token_id: &str) -> Result<Option<String>> {
        let found: Option<Option<String>> = on_writer!(self, |e| sqlx::query_scalar(
            "SELECT identity_claims FROM tokens WHERE id = $1"
        )
        .bind(token_id)
        .fetch_optional(e)
        .await)?;
        Ok(found.flatten())
    }
}

impl Tx {
    /// Records a statement about a digest: a new one, or in place of one that was only
    /// reported; a verified statement is never replaced by a reported one. Answers whether it
    /// was stored.
    pub async fn save_provenance(&mut self, row: &ProvenanceRow) -> Result<bool> {
        let done = execute!(
            self,
            "INSERT INTO provenance (project, digest, statement, predicate_type, builder_id,
             verification, checked, build_id, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (project, digest) DO UPDATE SET statement = excluded.statement,
             predicate_type = excluded.predicate_type, builder_id = excluded.builder_id,
             verification = excluded.verification, checked = excluded.checked,
             build_id = excluded.build_id, recorded_by = excluded.recorded_by,
             recorded_at = excluded.recorded_at
             WHERE provenance.verification <> $11 OR excluded.verification = $11",
            &row.project,
            &row.digest,
            &row.statement,
            &row.predicate_type,
            &row.builder_id,
            &row.verification,
            &row.checked,
            &row.build_id,
            &row.recorded_by,
            &row.recorded_at,
            VERIFIED,
        )?;
        Ok(done > 0)
    }

    /// Keeps a keyless token's verified claims with it.
    pub async fn set_token_claims(&mut self, token_id: &str, claims: &str) -> Result<()> {
        execute!(
            self,
            "UPDATE tokens SET identity_claims = $1 WHERE id = $2",
            claims,
            token_id,
        )?;
        Ok(())
    }
}
