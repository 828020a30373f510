//! The normalised CI context and its provenance.

use serde::Serialize;
use std::collections::BTreeMap;

/// The CI systems wharf recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    GithubActions,
    GitlabCi,
    Buildkite,
    Circleci,
    Jenkins,
    Codebuild,
    AzurePipelines,
    BitbucketPipelines,
    Drone,
    Woodpecker,
    Git,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GithubActions => "github-actions",
            Self::GitlabCi => "gitlab-ci",
            Self::Buildkite => "buildkite",
            Self::Circleci => "circleci",
            Self::Jenkins => "jenkins",
            Self::Codebuild => "codebuild",
            Self::AzurePipelines => "azure-pipelines",
            Self::BitbucketPipelines => "bitbucket-pipelines",
            Self::Drone => "drone",
            Self::Woodpecker => "woodpecker",
            Self::Git => "git",
        }
    }

    /// Whether this provider is a CI system (plain git is a laptop or an unknown CI).
    pub fn is_ci(self) -> bool {
        !matches!(self, Self::Git)
    }

    /// Whether the local checkout may supply the branch when the variables do not: CIs whose
    /// variables can lack it (CodeBuild started by hand, Jenkins freestyle), and plain git.
    pub fn may_ask_git_for_branch(self) -> bool {
        matches!(self, Self::Git | Self::Codebuild | Self::Jenkins)
    }

    /// What to set when this CI cannot say which branch a build is for.
    fn git_ref_hint(self, started_by_pipeline: bool) -> &'static str {
        match self {
            Self::Codebuild if started_by_pipeline => {
                "CodePipeline hands CodeBuild a zip without .git or branch variables: set \
                 WHARF_GIT_REF in the buildspec's env (or pass --git-ref)"
            }
            _ => "pass --git-ref BRANCH or set WHARF_GIT_REF",
        }
    }
}

/// For a pull request, which branch becomes `gitRef`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RefFrom {
    #[default]
    Source,
    Target,
}

/// The fields of a context, named as they appear in JSON and in `sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Provider,
    SourceBranch,
    TargetBranch,
    Tag,
    HeadSha,
    MergeSha,
    PrNumber,
    BuildId,
    BuildNumber,
    BuildUrl,
    Attempt,
    Repository,
    GitRef,
}

impl Field {
    pub fn key(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::SourceBranch => "sourceBranch",
            Self::TargetBranch => "targetBranch",
            Self::Tag => "tag",
            Self::HeadSha => "headSha",
            Self::MergeSha => "mergeSha",
            Self::PrNumber => "prNumber",
            Self::BuildId => "buildId",
            Self::BuildNumber => "buildNumber",
            Self::BuildUrl => "buildUrl",
            Self::Attempt => "attempt",
            Self::Repository => "repository",
            Self::GitRef => "gitRef",
        }
    }
}

/// Everything wharf knows about the build it runs in; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CiContext {
    pub provider: Option<Provider>,
    pub source_branch: Option<String>,
    pub target_branch: Option<String>,
    pub tag: Option<String>,
    pub head_sha: Option<String>,
    pub merge_sha: Option<String>,
    pub pr_number: Option<String>,
    pub build_id: Option<String>,
    pub build_number: Option<String>,
    pub build_url: Option<String>,
    pub attempt: Option<String>,
    pub repository: Option<String>,
    /// The value routing rules see: the branch, the PR's source branch, or the tag.
    pub git_ref: Option<String>,
    /// Field name → the variable, file or command the value came from.
    pub sources: BTreeMap<&'static str, String>,
    /// True when a CI system was detected (or `CI` is set), so the embedded control plane is off.
    #[serde(skip)]
    pub in_ci: bool,
    /// CodeBuild started by CodePipeline: no branch can be known from the build itself.
    #[serde(skip)]
    pub started_by_pipeline: bool,
}

impl CiContext {
    /// Sets `field` to `value` (ignored when empty) and records where it came from.
    pub fn set(&mut self, field: Field, value: impl Into<String>, source: impl Into<String>) {
        let value = value.into();
        let value = match field {
            Field::SourceBranch | Field::TargetBranch | Field::Tag | Field::GitRef => {
                crate::normalise_ref(&value)
            }
            _ => value.trim().to_string(),
        };
        if value.is_empty() {
            return;
        }
        let slot = match field {
            Field::Provider => return,
            Field::SourceBranch => &mut self.source_branch,
            Field::TargetBranch => &mut self.target_branch,
            Field::Tag => &mut self.tag,
            Field::HeadSha => &mut self.head_sha,
            Field::MergeSha => &mut self.merge_sha,
            Field::PrNumber => &mut self.pr_number,
            Field::BuildId => &mut self.build_id,
            Field::BuildNumber => &mut self.build_number,
            Field::BuildUrl => &mut self.build_url,
            Field::Attempt => &mut self.attempt,
            Field::Repository => &mut self.repository,
            Field::GitRef => &mut self.git_ref,
        };
        *slot = Some(value);
        self.sources.insert(field.key(), source.into());
    }

    pub fn set_provider(&mut self, provider: Provider, source: impl Into<String>) {
        self.provider = Some(provider);
        self.sources.insert(Field::Provider.key(), source.into());
    }

    /// Picks `gitRef`: a pull request's source (or target) branch, else the branch, else the tag.
    pub fn derive_git_ref(&mut self, ref_from: RefFrom) {
        let is_pull_request = self.pr_number.is_some() && self.target_branch.is_some();
        let pick = if is_pull_request && ref_from == RefFrom::Target {
            Field::TargetBranch
        } else if self.source_branch.is_some() {
            Field::SourceBranch
        } else {
            Field::Tag
        };
        let value = match pick {
            Field::TargetBranch => self.target_branch.clone(),
            Field::SourceBranch => self.source_branch.clone(),
            _ => self.tag.clone(),
        };
        if let Some(value) = value {
            let source = self.sources.get(pick.key()).cloned().unwrap_or_default();
            self.set(Field::GitRef, value, source);
        }
    }

    /// Build metadata sent with a registration, so rules can match any of it.
    pub fn registration_metadata(&self) -> BTreeMap<String, String> {
        let mut metadata = BTreeMap::new();
        let mut put = |key: &str, value: &Option<String>| {
            if let Some(value) = value {
                metadata.insert(key.to_string(), value.clone());
            }
        };
        put("COMMIT_SHA", &self.head_sha);
        put("TAG", &self.tag);
        put("PR_NUMBER", &self.pr_number);
        put("TARGET_BRANCH", &self.target_branch);
        put("BUILD_URL", &self.build_url);
        put(
            "CI_PROVIDER",
            &self.provider.map(|p| p.as_str().to_string()),
        );
        metadata
    }

    /// The git ref, or an error that says how to provide one.
    pub fn require_git_ref(&self) -> Result<&str, CiError> {
        self.git_ref.as_deref().ok_or_else(|| {
            let provider = self.provider.unwrap_or(Provider::Git);
            CiError::NoGitRef {
                provider: provider.as_str(),
                hint: provider.git_ref_hint(self.started_by_pipeline),
            }
        })
    }
}

/// What can go wrong when the context is not enough.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CiError {
    #[error(
        "cannot tell which branch this build is for ({provider}: no branch, tag or pull request \
         in its variables, and git reports no branch: detached HEAD or no checkout); {hint}"
    )]
    NoGitRef {
        provider: &'static str,
        hint: &'static str,
    },
}
