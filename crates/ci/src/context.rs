//! The normalised CI context and its provenance: every value with the variable, file or command
//! it came from, and every value a build of its kind has but the CI does not say, with the reason.

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// The CI systems wharf recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GithubActions,
    GiteaActions,
    ForgejoActions,
    GitlabCi,
    Buildkite,
    Circleci,
    Jenkins,
    Codebuild,
    AzurePipelines,
    BitbucketPipelines,
    Drone,
    Woodpecker,
    HarnessCi,
    TravisCi,
    Teamcity,
    Semaphore,
    Bitrise,
    Codefresh,
    Bamboo,
    Appveyor,
    GoogleCloudBuild,
    Git,
}

impl Provider {
    /// Every provider, the CIs first and plain git last.
    pub const ALL: [Provider; 22] = [
        Self::GithubActions,
        Self::GiteaActions,
        Self::ForgejoActions,
        Self::GitlabCi,
        Self::Buildkite,
        Self::Circleci,
        Self::Jenkins,
        Self::Codebuild,
        Self::AzurePipelines,
        Self::BitbucketPipelines,
        Self::Drone,
        Self::Woodpecker,
        Self::HarnessCi,
        Self::TravisCi,
        Self::Teamcity,
        Self::Semaphore,
        Self::Bitrise,
        Self::Codefresh,
        Self::Bamboo,
        Self::Appveyor,
        Self::GoogleCloudBuild,
        Self::Git,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GithubActions => "github-actions",
            Self::GiteaActions => "gitea-actions",
            Self::ForgejoActions => "forgejo-actions",
            Self::GitlabCi => "gitlab-ci",
            Self::Buildkite => "buildkite",
            Self::Circleci => "circleci",
            Self::Jenkins => "jenkins",
            Self::Codebuild => "codebuild",
            Self::AzurePipelines => "azure-pipelines",
            Self::BitbucketPipelines => "bitbucket-pipelines",
            Self::Drone => "drone",
            Self::Woodpecker => "woodpecker",
            Self::HarnessCi => "harness-ci",
            Self::TravisCi => "travis-ci",
            Self::Teamcity => "teamcity",
            Self::Semaphore => "semaphore",
            Self::Bitrise => "bitrise",
            Self::Codefresh => "codefresh",
            Self::Bamboo => "bamboo",
            Self::Appveyor => "appveyor",
            Self::GoogleCloudBuild => "google-cloud-build",
            Self::Git => "git",
        }
    }

    /// The name people know it by, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::GithubActions => "GitHub Actions",
            Self::GiteaActions => "Gitea Actions",
            Self::ForgejoActions => "Forgejo Actions",
            Self::GitlabCi => "GitLab CI",
            Self::Buildkite => "Buildkite",
            Self::Circleci => "CircleCI",
            Self::Jenkins => "Jenkins",
            Self::Codebuild => "AWS CodeBuild",
            Self::AzurePipelines => "Azure Pipelines",
            Self::BitbucketPipelines => "Bitbucket Pipelines",
            Self::Drone => "Drone",
            Self::Woodpecker => "Woodpecker",
            Self::HarnessCi => "Harness CI",
            Self::TravisCi => "Travis CI",
            Self::Teamcity => "TeamCity",
            Self::Semaphore => "Semaphore",
            Self::Bitrise => "Bitrise",
            Self::Codefresh => "Codefresh",
            Self::Bamboo => "Bamboo",
            Self::Appveyor => "AppVeyor",
            Self::GoogleCloudBuild => "Google Cloud Build",
            Self::Git => "git",
        }
    }

    /// Whether this provider is a CI system (plain git is a laptop or an unknown CI).
    pub fn is_ci(self) -> bool {
        !matches!(self, Self::Git)
    }

    /// Whether the local checkout may supply the branch when the variables do not: CIs whose
    /// variables can lack it (CodeBuild started by hand, Jenkins freestyle, TeamCity without its
    /// parameter files, Cloud Build steps that were passed no substitutions), and plain git.
    pub fn may_ask_git_for_branch(self) -> bool {
        matches!(
            self,
            Self::Git | Self::Codebuild | Self::Jenkins | Self::Teamcity | Self::GoogleCloudBuild
        )
    }

    /// What to set when this CI cannot say which branch a build is for.
    fn git_ref_hint(self, started_by_pipeline: bool) -> &'static str {
        match self {
            Self::Codebuild if started_by_pipeline => {
                "CodePipeline hands CodeBuild a zip without .git or branch variables: set \
                 WHARF_GIT_REF in the buildspec's env (or pass --git-ref)"
            }
            Self::GoogleCloudBuild => {
                "Cloud Build passes a step no build values unless its env lists them: add \
                 BRANCH_NAME=$BRANCH_NAME and TAG_NAME=$TAG_NAME (see docs/ci-providers.md), or \
                 set WHARF_GIT_REF or pass --git-ref"
            }
            _ => "pass --git-ref BRANCH or set WHARF_GIT_REF",
        }
    }
}

/// One spelling, used in JSON, in `CI_PROVIDER` and in messages.
impl Serialize for Provider {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// For a pull request or a merge-queue build, which branch becomes `gitRef`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RefFrom {
    #[default]
    Source,
    Target,
}

/// The fields of a context, named as they appear in JSON, in `sources` and in `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Provider,
    SourceBranch,
    TargetBranch,
    Tag,
    HeadSha,
    MergeSha,
    PrNumber,
    HeadRepository,
    MergeQueue,
    BuildId,
    BuildNumber,
    BuildUrl,
    Attempt,
    Repository,
    GitRef,
}

impl Field {
    /// Every field that holds a value (all but the provider).
    pub const VALUES: [Field; 14] = [
        Self::SourceBranch,
        Self::TargetBranch,
        Self::Tag,
        Self::HeadSha,
        Self::MergeSha,
        Self::PrNumber,
        Self::HeadRepository,
        Self::MergeQueue,
        Self::BuildId,
        Self::BuildNumber,
        Self::BuildUrl,
        Self::Attempt,
        Self::Repository,
        Self::GitRef,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::SourceBranch => "sourceBranch",
            Self::TargetBranch => "targetBranch",
            Self::Tag => "tag",
            Self::HeadSha => "headSha",
            Self::MergeSha => "mergeSha",
            Self::PrNumber => "prNumber",
            Self::HeadRepository => "headRepository",
            Self::MergeQueue => "mergeQueue",
            Self::BuildId => "buildId",
            Self::BuildNumber => "buildNumber",
            Self::BuildUrl => "buildUrl",
            Self::Attempt => "attempt",
            Self::Repository => "repository",
            Self::GitRef => "gitRef",
        }
    }

    fn is_ref(self) -> bool {
        matches!(
            self,
            Self::SourceBranch | Self::TargetBranch | Self::Tag | Self::GitRef
        )
    }
}

/// The slot behind a field, borrowed as the caller says (`[&]` or `[&mut]`); `None` for the
/// provider, which is not a string.
macro_rules! slot {
    ([$($borrow:tt)+] $context:ident, $field:expr) => {
        match $field {
            Field::Provider => None,
            Field::SourceBranch => Some($($borrow)+ $context.source_branch),
            Field::TargetBranch => Some($($borrow)+ $context.target_branch),
            Field::Tag => Some($($borrow)+ $context.tag),
            Field::HeadSha => Some($($borrow)+ $context.head_sha),
            Field::MergeSha => Some($($borrow)+ $context.merge_sha),
            Field::PrNumber => Some($($borrow)+ $context.pr_number),
            Field::HeadRepository => Some($($borrow)+ $context.head_repository),
            Field::MergeQueue => Some($($borrow)+ $context.merge_queue),
            Field::BuildId => Some($($borrow)+ $context.build_id),
            Field::BuildNumber => Some($($borrow)+ $context.build_number),
            Field::BuildUrl => Some($($borrow)+ $context.build_url),
            Field::Attempt => Some($($borrow)+ $context.attempt),
            Field::Repository => Some($($borrow)+ $context.repository),
            Field::GitRef => Some($($borrow)+ $context.git_ref),
        }
    };
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
    /// A pull request from a fork: the fork, so that its branches never pass for the base
    /// repository's branches of the same name (`gitRef` becomes `fork:branch`).
    pub head_repository: Option<String>,
    /// A merge-queue or merge-train build: whose queue (`github-merge-queue`,
    /// `gitlab-merge-train`). `targetBranch` is the branch the queue merges into.
    pub merge_queue: Option<String>,
    pub build_id: Option<String>,
    pub build_number: Option<String>,
    pub build_url: Option<String>,
    pub attempt: Option<String>,
    pub repository: Option<String>,
    /// The value routing rules see: the branch, the PR's source branch, or the tag.
    pub git_ref: Option<String>,
    /// `available` when the CI offers this job an OIDC identity token (keyless login); its
    /// source says from where, `unknown` why not. Never the token itself.
    pub identity_token: Option<String>,
    /// Field name → the variable, file or command the value came from.
    pub sources: BTreeMap<&'static str, String>,
    /// Field name → why the value is null although a build of this kind has one.
    pub unknown: BTreeMap<&'static str, String>,
    /// True when a CI system was detected (or `CI` is set), so the embedded control plane is off.
    #[serde(skip)]
    pub in_ci: bool,
    /// CodeBuild started by CodePipeline: no branch can be known from the build itself.
    #[serde(skip)]
    pub started_by_pipeline: bool,
    /// The pull request comes from a fork (named in `head_repository` when the CI names it).
    #[serde(skip)]
    pub from_fork: bool,
    /// Why there is no `gitRef`, when the usual reason (nothing names a ref) is not it.
    #[serde(skip)]
    pub git_ref_gap: Option<String>,
}

impl CiContext {
    /// The value of `field`, if known.
    pub fn get(&self, field: Field) -> Option<&str> {
        slot!([&] self, field).and_then(|v| v.as_deref())
    }

    /// Sets `field` to `value` (ignored when empty) and records where it came from.
    pub fn set(&mut self, field: Field, value: impl Into<String>, source: impl Into<String>) {
        let value = value.into();
        let value = if field.is_ref() {
            crate::normalise_ref(&value)
        } else {
            value.trim().to_string()
        };
        if value.is_empty() {
            return;
        }
        if let Some(slot) = slot!([&mut] self, field) {
            *slot = Some(value);
            self.sources.insert(field.key(), source.into());
        }
    }

    /// Clears `field` and its source.
    pub fn clear(&mut self, field: Field) {
        if let Some(slot) = slot!([&mut] self, field) {
            *slot = None;
            self.sources.remove(field.key());
        }
    }

    pub fn set_provider(&mut self, provider: Provider, source: impl Into<String>) {
        self.provider = Some(provider);
        self.sources.insert(Field::Provider.key(), source.into());
    }

    /// Says why `field` has no value, unless it has one by the end of detection. The first
    /// reason given for a field stands.
    pub fn note_unknown(&mut self, field: Field, reason: impl Into<String>) {
        if self.get(field).is_none() {
            self.unknown
                .entry(field.key())
                .or_insert_with(|| reason.into());
        }
    }

    /// A pull request from a fork: `repository` names the fork when the CI says which it is.
    pub fn set_fork(&mut self, repository: Option<&str>, source: &str) {
        self.from_fork = true;
        match repository {
            Some(repository) => self.set(Field::HeadRepository, repository, source),
            None => self.note_unknown(
                Field::HeadRepository,
                format!("{source} says the pull request comes from a fork, but not which"),
            ),
        }
    }

    /// Whether the build is for a pull request or a merge-queue entry, with a target branch.
    fn has_target(&self) -> bool {
        self.target_branch.is_some() && (self.pr_number.is_some() || self.merge_queue.is_some())
    }

    /// Picks `gitRef`: a pull request's source (or target) branch, else the branch, else the tag.
    /// A fork's branch is named after the fork (`mallory/shop:main`), never as the base
    /// repository's branch of the same name.
    pub fn derive_git_ref(&mut self, ref_from: RefFrom) {
        let pick = if ref_from == RefFrom::Target && self.has_target() {
            Field::TargetBranch
        } else if self.source_branch.is_some() {
            Field::SourceBranch
        } else {
            Field::Tag
        };
        let Some(value) = self.get(pick).map(str::to_string) else {
            return;
        };
        let source = self.sources.get(pick.key()).cloned().unwrap_or_default();
        if pick == Field::SourceBranch && self.from_fork {
            match self.head_repository.clone() {
                Some(fork) => {
                    let fork_source = self.sources[Field::HeadRepository.key()].clone();
                    self.set(
                        Field::GitRef,
                        format!("{fork}:{value}"),
                        format!("{fork_source} + {source}"),
                    );
                }
                None => {
                    self.git_ref_gap = Some(format!(
                        "the pull request comes from a fork it does not name, so its branch \
                         '{value}' cannot be told from the base repository's"
                    ));
                }
            }
            return;
        }
        self.set(Field::GitRef, value, source);
    }

    /// Ends detection: drops reasons for values that were found after all, and says why there
    /// is no `gitRef` when there is none.
    pub(crate) fn finish(&mut self) {
        if self.git_ref.is_none()
            && let Err(error) = self.require_git_ref()
        {
            self.note_unknown(Field::GitRef, error.to_string());
        }
        let known: Vec<&str> = Field::VALUES
            .into_iter()
            .filter(|f| self.get(*f).is_some())
            .map(Field::key)
            .collect();
        self.unknown.retain(|key, _| !known.contains(key));
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
        put("MERGE_QUEUE", &self.merge_queue);
        put("HEAD_REPOSITORY", &self.head_repository);
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
            let why = self.git_ref_gap.clone().unwrap_or_else(|| {
                "no branch, tag or pull request in its variables, and git reports no branch: \
                 detached HEAD or no checkout"
                    .to_string()
            });
            let hint = match self.git_ref_gap {
                Some(_) => "pass --git-ref BRANCH, set WHARF_GIT_REF, or use --ref-from target",
                None => provider.git_ref_hint(self.started_by_pipeline),
            };
            CiError::NoGitRef {
                provider: provider.as_str(),
                why,
                hint,
            }
        })
    }
}

/// What can go wrong when the context is not enough.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CiError {
    #[error("cannot tell which branch this build is for ({provider}: {why}); {hint}")]
    NoGitRef {
        provider: &'static str,
        why: String,
        hint: &'static str,
    },
}
