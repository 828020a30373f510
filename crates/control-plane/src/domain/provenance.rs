//! Provenance at registration: the in-toto statement (SLSA provenance v1) a registration sends
//! is checked for shape, bound to the image's digest, and, when the job logged in keyless,
//! cross-checked field by field against the identity token's verified claims. A field the token
//! contradicts refuses the registration; a statement the token confirms (its repository and
//! commit at least) is `verified by identity token`; any other is `reported by the client`.
//!
//! The claims read, per CI: `repository` (GitHub, Gitea, Forgejo) or `project_path` (GitLab);
//! `sha`; `ref`; `run_id` and `run_attempt` (GitHub) or `pipeline_id` (GitLab);
//! `job_workflow_ref` or `workflow_ref` (GitHub) for the builder id.

use super::auth::AuthUser;
use super::wire::artifact_view;
use super::{Delivery, Identity};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use wharf_api::provenance::{
    BuildDetails, BuildProvenance, ReferrerSummary, SLSA_PROVENANCE_V1, STATEMENT_TYPE,
    StatementFields, Verification,
};
use wharf_store::{ProvenanceRow, VERIFIED, now};

/// Largest statement a registration may send.
const MAX_STATEMENT: usize = 64 * 1024;

/// A statement checked at registration, ready to store with the build.
#[derive(Debug, Clone)]
pub struct CheckedProvenance {
    pub statement: Value,
    /// The image digest it is about.
    pub digest: String,
    pub builder_id: Option<String>,
    pub verification: Verification,
    /// The fields the identity token confirmed.
    pub checked: Vec<String>,
}

impl CheckedProvenance {
    /// The row that keeps it, for build `build_id` registered by `user`.
    pub fn row(&self, project: &str, build_id: &str, user: &str) -> ProvenanceRow {
        ProvenanceRow {
            project: project.to_string(),
            digest: self.digest.clone(),
            statement: self.statement.to_string(),
            predicate_type: SLSA_PROVENANCE_V1.into(),
            builder_id: self.builder_id.clone(),
            verification: verification_text(self.verification).into(),
            checked: serde_json::to_string(&self.checked).unwrap_or_else(|_| "[]".into()),
            build_id: build_id.to_string(),
            recorded_by: user.to_string(),
            recorded_at: now(),
        }
    }
}

fn verification_text(verification: Verification) -> &'static str {
    match verification {
        Verification::VerifiedByIdentityToken => VERIFIED,
        Verification::ReportedByTheClient => "reported-by-the-client",
    }
}

/// A stored statement as the API answers it.
pub fn provenance_view(row: &ProvenanceRow) -> BuildProvenance {
    BuildProvenance {
        digest: row.digest.clone(),
        predicate_type: row.predicate_type.clone(),
        builder_id: row.builder_id.clone(),
        verification: match row.verification.as_str() {
            VERIFIED => Verification::VerifiedByIdentityToken,
            _ => Verification::ReportedByTheClient,
        },
        checked: serde_json::from_str(&row.checked).unwrap_or_default(),
        recorded_by: row.recorded_by.clone(),
        recorded_at: row.recorded_at.clone(),
        statement: serde_json::from_str(&row.statement).unwrap_or_default(),
    }
}

impl Delivery {
    /// A build with the statement recorded about its image and its image's referrers.
    pub async fn build_details(&self, id: &str) -> Result<BuildDetails> {
        let row = self
            .store
            .artifact(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("build '{id}' not found")))?;
        let ci = self.lookups.ci_by_id(&row.ci_id).await?;
        let known = self.door.known_digest(&row.artifact_uri).await?;
        let mut provenance = None;
        let mut referrers = Vec::new();
        if let Some((reference, digest)) = &known {
            provenance = self
                .store
                .provenance(&row.project, digest)
                .await?
                .map(|p| provenance_view(&p));
            if self.door.is_own_registry(&reference.registry) {
                let found = self
                    .store
                    .referrers_of(&reference.repository, digest, None, None, 256)
                    .await?;
                referrers = found
                    .into_iter()
                    .map(|r| ReferrerSummary {
                        digest: r.digest,
                        artifact_type: r.artifact_type,
                    })
                    .collect();
            }
        }
        Ok(BuildDetails {
            build: artifact_view(&row, &ci.name),
            digest: known.map(|(_, digest)| digest),
            provenance,
            referrers,
        })
    }
}

fn invalid(field: &str, why: impl std::fmt::Display) -> Error {
    Error::bad_request(format!(
        "field `provenance{field}`: {why}; send an in-toto Statement v1 with an SLSA provenance \
         v1 predicate (what `wharf register` builds), or register with --no-provenance"
    ))
}

impl Identity {
    /// Checks a registration's statement about the image `digest` (when the control plane
    /// knows it; else the statement's own subject is the digest it is bound to).
    pub(super) async fn check_provenance(
        &self,
        user: &AuthUser,
        statement: &Value,
        digest: Option<&str>,
    ) -> Result<CheckedProvenance> {
        let digest = check_shape(statement, digest)?;
        let fields = StatementFields(statement);
        let builder_id = fields.builder_id().map(str::to_string);
        let claims = match &user.token_id {
            Some(id) => self.store.token_claims(id).await?,
            None => None,
        };
        let claims: Option<Map<String, Value>> =
            claims.and_then(|text| serde_json::from_str(&text).ok());
        let Some(claims) = claims else {
            return Ok(CheckedProvenance {
                statement: statement.clone(),
                digest,
                builder_id,
                verification: Verification::ReportedByTheClient,
                checked: Vec::new(),
            });
        };
        let checked = cross_check(&fields, &claims)?;
        let confirmed = ["repository", "commit"]
            .iter()
            .all(|f| checked.iter().any(|c| c == f));
        Ok(CheckedProvenance {
            statement: statement.clone(),
            digest,
            builder_id,
            verification: match confirmed {
                true => Verification::VerifiedByIdentityToken,
                false => Verification::ReportedByTheClient,
            },
            checked,
        })
    }
}

/// The statement's type, predicate, builder and subject; answers the digest it is bound to.
fn check_shape(statement: &Value, digest: Option<&str>) -> Result<String> {
    if !statement.is_object() {
        return Err(invalid("", "is not a JSON object"));
    }
    if statement.to_string().len() > MAX_STATEMENT {
        return Err(invalid("", format!("is over {} KiB", MAX_STATEMENT / 1024)));
    }
    let fields = StatementFields(statement);
    if fields.statement_type() != Some(STATEMENT_TYPE) {
        return Err(invalid("._type", format!("must be {STATEMENT_TYPE}")));
    }
    if fields.predicate_type() != Some(SLSA_PROVENANCE_V1) {
        return Err(invalid(
            ".predicateType",
            format!("must be {SLSA_PROVENANCE_V1}"),
        ));
    }
    if fields.builder_id().is_none_or(str::is_empty) {
        return Err(invalid(
            ".predicate.runDetails.builder.id",
            "is missing: name the builder",
        ));
    }
    let subjects = fields.subject_digests();
    let valid = |d: &&String| d.len() == 71 && d[7..].bytes().all(|b| b.is_ascii_hexdigit());
    let Some(first) = subjects.iter().find(valid) else {
        return Err(invalid(
            ".subject",
            "names no sha256 digest: name the image's digest",
        ));
    };
    match digest {
        Some(digest) if !subjects.iter().any(|s| s == digest) => Err(invalid(
            ".subject",
            format!(
                "names {}, but the image registered is {digest}: a statement is about the image \
                 it comes with",
                subjects.join(", ")
            ),
        )),
        Some(digest) => Ok(digest.to_string()),
        None => Ok(first.clone()),
    }
}

/// The fields the claims speak to, each compared; a contradiction refuses the registration.
fn cross_check(fields: &StatementFields<'_>, claims: &Map<String, Value>) -> Result<Vec<String>> {
    let claim = |name: &str| {
        claims
            .get(name)
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    };
    let mut checked = Vec::new();
    let refuse = |field: &str, said: &str, token: &str| {
        Err(Error::Forbidden(format!(
            "provenance: field `{field}` says '{said}', but the identity token this job logged in \
             with says '{token}'; a statement must agree with the verified token, so the \
             registration was refused and nothing was stored"
        )))
    };
    if let Some(repository) = claim("repository").or_else(|| claim("project_path")) {
        let said: Vec<&str> = fields
            .repository()
            .into_iter()
            .chain(fields.dependency_repositories())
            .collect();
        for url in &said {
            if !same_repository(url, &repository) {
                return refuse("repository", url, &repository);
            }
        }
        if !said.is_empty() {
            checked.push("repository".into());
        }
    }
    if let Some(sha) = claim("sha") {
        let said = fields.commits();
        if let Some(other) = said.iter().find(|c| !c.eq_ignore_ascii_case(&sha)) {
            return refuse("commit", other, &sha);
        }
        if !said.is_empty() {
            checked.push("commit".into());
        }
    }
    if let (Some(token_ref), Some(said)) = (claim("ref"), fields.git_ref()) {
        if short_ref(said) != short_ref(&token_ref) {
            return refuse("ref", said, &token_ref);
        }
        checked.push("ref".into());
    }
    if let Some(said) = fields.invocation_id() {
        let run = match (claim("run_id"), claim("pipeline_id")) {
            (Some(run), _) => Some(format!("/runs/{run}")),
            (None, Some(pipeline)) => Some(format!("/pipelines/{pipeline}")),
            _ => None,
        };
        if let Some(run) = run {
            let attempt = claim("run_attempt").map(|a| format!("/attempts/{a}"));
            let matches = contains_segment(said, &run)
                && attempt.as_deref().is_none_or(|a| contains_segment(said, a));
            if !matches {
                return refuse(
                    "invocationId",
                    said,
                    &format!("{run}{}", attempt.unwrap_or_default()),
                );
            }
            checked.push("run".into());
        }
    }
    let workflows: Vec<String> = ["job_workflow_ref", "workflow_ref"]
        .iter()
        .filter_map(|name| claim(name))
        .collect();
    if let (false, Some(builder)) = (workflows.is_empty(), fields.builder_id()) {
        if !workflows
            .iter()
            .any(|w| builder.ends_with(&format!("/{w}")))
        {
            return refuse("builder.id", builder, &workflows.join("' or '"));
        }
        checked.push("builder".into());
    }
    Ok(checked)
}

/// Whether `url` (`https://host/owner/repo[.git]`) is repository `path` (`owner/repo`).
fn same_repository(url: &str, path: &str) -> bool {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let url_path = without_scheme
        .split_once('/')
        .map_or("", |(_, rest)| rest)
        .trim_end_matches('/');
    let url_path = url_path.strip_suffix(".git").unwrap_or(url_path);
    url_path.eq_ignore_ascii_case(path.trim_matches('/'))
}

/// `refs/heads/main` and `main` name the same branch (GitLab's `ref` claim is short).
fn short_ref(git_ref: &str) -> &str {
    git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(git_ref)
}

/// Whether `segment` (`/runs/7`) is in `url` as a whole path segment (not `/runs/71`).
fn contains_segment(url: &str, segment: &str) -> bool {
    url.match_indices(segment).any(|(at, _)| {
        let after = url[at + segment.len()..].chars().next();
        after.is_none_or(|c| c == '/' || c == '?' || c == '#')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wharf_api::provenance::{GITHUB_BUILD_TYPE, ProvenanceSource};

    fn digest() -> String {
        format!("sha256:{}", "d".repeat(64))
    }

    fn statement() -> Value {
        ProvenanceSource {
            ci: "github-actions".into(),
            builder_id: "https://github.com/acme/shop/.github/workflows/b.yml@refs/heads/main"
                .into(),
            build_type: GITHUB_BUILD_TYPE.into(),
            repository: Some("https://github.com/acme/shop".into()),
            commit: Some("c".repeat(40)),
            git_ref: Some("refs/heads/main".into()),
            invocation_id: Some("https://github.com/acme/shop/actions/runs/7/attempts/2".into()),
            workflow_path: None,
        }
        .statement("r/shop/api", &digest())
    }

    fn claims() -> Map<String, Value> {
        json!({
            "repository": "acme/shop", "sha": "c".repeat(40), "ref": "refs/heads/main",
            "run_id": "7", "run_attempt": "2",
            "workflow_ref": "acme/shop/.github/workflows/b.yml@refs/heads/main",
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn every_field_the_token_speaks_to_is_checked() {
        let statement = statement();
        let checked = cross_check(&StatementFields(&statement), &claims()).unwrap();
        assert_eq!(checked, ["repository", "commit", "ref", "run", "builder"]);
    }

    #[test]
    fn a_field_the_token_contradicts_is_refused_naming_both() {
        let cases = [
            (
                "repository",
                json!("evil/shop"),
                "field `repository` says 'https://github.com/acme/shop'",
            ),
            ("sha", json!("e".repeat(40)), "field `commit`"),
            (
                "ref",
                json!("refs/heads/dev"),
                "field `ref` says 'refs/heads/main'",
            ),
            ("run_id", json!("71"), "field `invocationId`"),
            ("run_attempt", json!("1"), "field `invocationId`"),
            (
                "workflow_ref",
                json!("evil/x/.github/workflows/b.yml@refs/heads/main"),
                "field `builder.id`",
            ),
        ];
        for (claim, value, expected) in cases {
            let mut claims = claims();
            claims.insert(claim.into(), value.clone());
            if claim == "workflow_ref" {
                claims.remove("job_workflow_ref");
            }
            let statement = statement();
            let error = cross_check(&StatementFields(&statement), &claims).unwrap_err();
            let Error::Forbidden(message) = &error else {
                panic!("{claim}: {error:?}");
            };
            assert!(message.contains(expected), "{claim}: {message}");
            assert!(message.contains("nothing was stored"), "{message}");
        }
    }

    #[test]
    fn the_shape_and_the_subject_are_checked_before_the_claims() {
        let good = statement();
        assert_eq!(check_shape(&good, Some(&digest())).unwrap(), digest());
        assert_eq!(check_shape(&good, None).unwrap(), digest());
        let other = format!("sha256:{}", "0".repeat(64));
        let error = check_shape(&good, Some(&other)).unwrap_err().to_string();
        assert!(error.contains("field `provenance.subject`"), "{error}");
        let mut wrong_type = good.clone();
        wrong_type["_type"] = json!("https://in-toto.io/Statement/v0.1");
        let error = check_shape(&wrong_type, None).unwrap_err().to_string();
        assert!(error.contains("field `provenance._type`"), "{error}");
        let mut no_builder = good.clone();
        no_builder["predicate"]["runDetails"]["builder"] = json!({});
        let error = check_shape(&no_builder, None).unwrap_err().to_string();
        assert!(error.contains("builder.id"), "{error}");
        let error = check_shape(&json!([1]), None).unwrap_err().to_string();
        assert!(error.contains("not a JSON object"), "{error}");
    }

    #[test]
    fn repositories_refs_and_runs_compare_by_whole_names() {
        assert!(same_repository(
            "https://github.com/Acme/Shop.git",
            "acme/shop"
        ));
        assert!(!same_repository(
            "https://github.com/acme/shop-evil",
            "acme/shop"
        ));
        assert!(!same_repository(
            "https://github.com/evil/acme/shop",
            "acme/shop"
        ));
        assert_eq!(short_ref("refs/heads/main"), short_ref("main"));
        assert!(contains_segment("https://x/runs/7/attempts/2", "/runs/7"));
        assert!(!contains_segment("https://x/runs/71/attempts/2", "/runs/7"));
    }
}
