//! Build provenance: an in-toto Statement v1 whose predicate is SLSA provenance v1, as
//! `wharf register` sends it with a registration and the control plane stores it with the build.
//!
//! The client fills it from the CI context ([`ProvenanceSource`]); the control plane reads the
//! fields it can cross-check against a verified identity token through the accessors here, so
//! both sides agree on where each field lives.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// GitHub's build type, used for GitHub Actions runs (as `actions/attest-build-provenance`).
pub const GITHUB_BUILD_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";
/// wharf's build type for every other CI: the source and the run, as the CI reports them.
pub const WHARF_BUILD_TYPE: &str = "https://wharf.dev/buildtypes/ci/v1";
/// The `artifactType` of a statement stored as a referrer in the built-in registry.
pub const IN_TOTO_ARTIFACT_TYPE: &str = "application/vnd.in-toto+json";

/// How far a stored statement is to be believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// Every field the job's identity token speaks to matched it.
    VerifiedByIdentityToken,
    /// The job did not log in keyless: the statement is only what the client said.
    ReportedByTheClient,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::VerifiedByIdentityToken => "verified by identity token",
            Verification::ReportedByTheClient => "reported by the client",
        }
    }
}

/// A build's provenance as the control plane answers it (`wharf builds show`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildProvenance {
    /// The image digest the statement is about.
    pub digest: String,
    pub predicate_type: String,
    pub builder_id: Option<String>,
    pub verification: Verification,
    /// The statement's fields the identity token confirmed (`repository`, `commit`, …).
    #[serde(default)]
    pub checked: Vec<String>,
    pub recorded_by: String,
    pub recorded_at: String,
    /// The statement itself.
    pub statement: Value,
}

/// `GET /wharf/v1/builds/{id}`: a build, the statement recorded about its image, and what
/// refers to its image in the built-in registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDetails {
    pub build: crate::Artifact,
    /// The image's digest, when the control plane knows it.
    pub digest: Option<String>,
    pub provenance: Option<BuildProvenance>,
    /// Signatures, SBOMs and attestations of the image in the built-in registry.
    #[serde(default)]
    pub referrers: Vec<ReferrerSummary>,
}

/// One referrer of a build's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferrerSummary {
    pub digest: String,
    pub artifact_type: Option<String>,
}

/// What the client knows of the run that built the image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceSource {
    /// `github-actions`, `gitlab-ci`, …
    pub ci: String,
    pub builder_id: String,
    pub build_type: String,
    /// The source repository, as a URL.
    pub repository: Option<String>,
    pub commit: Option<String>,
    /// The full ref built (`refs/heads/main`).
    pub git_ref: Option<String>,
    /// The run's URL, with its attempt when the CI numbers attempts.
    pub invocation_id: Option<String>,
    /// The workflow file, where the CI has one (GitHub: `.github/workflows/build.yml`).
    pub workflow_path: Option<String>,
}

impl ProvenanceSource {
    /// The statement about image `name` (`registry/repository`) at `digest` (`sha256:…`).
    pub fn statement(&self, name: &str, digest: &str) -> Value {
        let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        let mut source = json!({});
        if let Some(repository) = &self.repository {
            source["repository"] = json!(repository);
        }
        if let Some(git_ref) = &self.git_ref {
            source["ref"] = json!(git_ref);
        }
        if let Some(path) = &self.workflow_path {
            source["path"] = json!(path);
        }
        let key = match self.build_type.as_str() {
            GITHUB_BUILD_TYPE => "workflow",
            _ => "source",
        };
        let mut dependencies = Vec::new();
        if let (Some(repository), Some(commit)) = (&self.repository, &self.commit) {
            let at = self
                .git_ref
                .as_deref()
                .map(|r| format!("@{r}"))
                .unwrap_or_default();
            dependencies.push(json!({
                "uri": format!("git+{repository}{at}"),
                "digest": {"gitCommit": commit},
            }));
        }
        let mut metadata = json!({});
        if let Some(invocation) = &self.invocation_id {
            metadata["invocationId"] = json!(invocation);
        }
        json!({
            "_type": STATEMENT_TYPE,
            "subject": [{"name": name, "digest": {algorithm: hex}}],
            "predicateType": SLSA_PROVENANCE_V1,
            "predicate": {
                "buildDefinition": {
                    "buildType": self.build_type,
                    "externalParameters": {key: source},
                    "internalParameters": {"ci": self.ci},
                    "resolvedDependencies": dependencies,
                },
                "runDetails": {
                    "builder": {"id": self.builder_id},
                    "metadata": metadata,
                },
            },
        })
    }
}

/// Reads the fields of a statement the control plane checks, wherever the build type keeps
/// them; `None` when absent.
pub struct StatementFields<'a>(pub &'a Value);

impl<'a> StatementFields<'a> {
    fn predicate(&self) -> &'a Value {
        &self.0["predicate"]
    }

    fn external(&self) -> &'a Value {
        let parameters = &self.predicate()["buildDefinition"]["externalParameters"];
        match &parameters["workflow"] {
            Value::Object(_) => &parameters["workflow"],
            _ => &parameters["source"],
        }
    }

    pub fn statement_type(&self) -> Option<&'a str> {
        self.0["_type"].as_str()
    }

    pub fn predicate_type(&self) -> Option<&'a str> {
        self.0["predicateType"].as_str()
    }

    /// The subjects' `sha256:<hex>` digests.
    pub fn subject_digests(&self) -> Vec<String> {
        self.0["subject"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["digest"]["sha256"].as_str())
            .map(|hex| format!("sha256:{hex}"))
            .collect()
    }

    pub fn builder_id(&self) -> Option<&'a str> {
        self.predicate()["runDetails"]["builder"]["id"].as_str()
    }

    pub fn repository(&self) -> Option<&'a str> {
        self.external()["repository"].as_str()
    }

    pub fn git_ref(&self) -> Option<&'a str> {
        self.external()["ref"].as_str()
    }

    /// Every `gitCommit` the resolved dependencies name.
    pub fn commits(&self) -> Vec<&'a str> {
        self.predicate()["buildDefinition"]["resolvedDependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["digest"]["gitCommit"].as_str())
            .collect()
    }

    /// The repositories the resolved dependencies name (`git+URL@ref` read as `URL`).
    pub fn dependency_repositories(&self) -> Vec<&'a str> {
        self.predicate()["buildDefinition"]["resolvedDependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["uri"].as_str())
            .map(|uri| {
                let uri = uri.strip_prefix("git+").unwrap_or(uri);
                uri.split_once('@').map_or(uri, |(url, _)| url)
            })
            .collect()
    }

    pub fn invocation_id(&self) -> Option<&'a str> {
        self.predicate()["runDetails"]["metadata"]["invocationId"].as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_reads_back_the_fields_it_was_built_from() {
        let source = ProvenanceSource {
            ci: "github-actions".into(),
            builder_id: "https://github.com/acme/shop/.github/workflows/b.yml@refs/heads/main"
                .into(),
            build_type: GITHUB_BUILD_TYPE.into(),
            repository: Some("https://github.com/acme/shop".into()),
            commit: Some("a".repeat(40)),
            git_ref: Some("refs/heads/main".into()),
            invocation_id: Some("https://github.com/acme/shop/actions/runs/7/attempts/2".into()),
            workflow_path: Some(".github/workflows/b.yml".into()),
        };
        let digest = format!("sha256:{}", "b".repeat(64));
        let statement = source.statement("registry.example/shop/api", &digest);
        let fields = StatementFields(&statement);
        assert_eq!(fields.statement_type(), Some(STATEMENT_TYPE));
        assert_eq!(fields.predicate_type(), Some(SLSA_PROVENANCE_V1));
        assert_eq!(fields.subject_digests(), vec![digest]);
        assert_eq!(fields.builder_id(), Some(source.builder_id.as_str()));
        assert_eq!(fields.repository(), Some("https://github.com/acme/shop"));
        assert_eq!(fields.git_ref(), Some("refs/heads/main"));
        assert_eq!(fields.commits(), vec!["a".repeat(40)]);
        assert_eq!(
            fields.dependency_repositories(),
            vec!["https://github.com/acme/shop"]
        );
        assert_eq!(fields.invocation_id(), source.invocation_id.as_deref());

        let other = ProvenanceSource {
            build_type: WHARF_BUILD_TYPE.into(),
            ..source
        };
        let statement = other.statement("r/x", "sha256:00");
        assert_eq!(
            StatementFields(&statement).repository(),
            Some("https://github.com/acme/shop"),
            "another CI's source is read from externalParameters.source"
        );
    }
}
