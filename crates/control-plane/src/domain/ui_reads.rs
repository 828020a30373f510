//! What the web UI (`/ui/`) shows, read from the same store and rules as the API: a
//! project's delivery flow (services × promotion stages), a service's builds, one build's
//! provenance and history, the registries' listings for the attach dialog, and whether the
//! caller may take each action (the answer is the refusal the action itself would give).
//! Nothing here writes; every action goes through the API's own domain functions.

use super::Overview;
use super::auth::AuthUser;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::time::Duration;
use wharf_api::BUILT_IN_ARTIFACTORY;
use wharf_api::project_file::Protection;
use wharf_api::{
    BRANCH_NAME, ProjectStatus, PromotionRequest, RegistrationType, ServiceStatus, StageStatus,
};
use wharf_store::Origin;
use wharf_store::{ArtifactRow, AuditFilter, AuditRow, BuildFilter, CiRow, TagRow};

/// How long the attach dialog waits for another registry's listing.
const LISTING_TIMEOUT: Duration = Duration::from_secs(10);

/// What one stage of a service deploys now, and how it got there.
#[derive(Debug, Clone)]
pub struct Cell {
    pub build: ArtifactRow,
    /// Where the build sits: the stage's own bucket, or its release stream's.
    pub via: String,
    /// The image's digest, when its URI names one or the built-in registry knows its tag.
    pub digest: Option<String>,
}

/// One row of the flow: a service, what each stage deploys, its unclassified builds.
#[derive(Debug, Clone)]
pub struct ServiceFlow {
    pub ci: CiRow,
    pub cells: BTreeMap<String, Cell>,
    pub unclassified: Vec<ArtifactRow>,
}

/// A project's delivery flow.
#[derive(Debug, Clone)]
pub struct DeliveryFlow {
    pub project: String,
    pub kind: RegistrationType,
    /// The default workflow's stages, in order (arrows run between neighbours).
    pub stages: Vec<String>,
    /// Buckets of the project that are not stages of the workflow.
    pub others: Vec<String>,
    pub services: Vec<ServiceFlow>,
    pub pending: Vec<PromotionRequest>,
    pub protections: BTreeMap<String, Protection>,
}

impl DeliveryFlow {
    /// The stage after `stage`, if it is a stage and not the last.
    pub fn next(&self, stage: &str) -> Option<&str> {
        let at = self.stages.iter().position(|s| s == stage)?;
        self.stages.get(at + 1).map(String::as_str)
    }

    /// The pending request of `service` into `stage`, if one is open.
    pub fn pending_into(&self, service: &str, stage: &str) -> Option<&PromotionRequest> {
        self.pending
            .iter()
            .find(|r| r.ci_name == service && r.stage == stage)
    }
}

/// One build with what surrounds it: where it came from, where it went, its trail.
#[derive(Debug, Clone)]
pub struct BuildStory {
    pub build: ArtifactRow,
    pub ci: CiRow,
    /// The builds it was promoted from, nearest first.
    pub ancestors: Vec<ArtifactRow>,
    /// The builds promoted from it, nearest first.
    pub descendants: Vec<ArtifactRow>,
    pub audit: Vec<AuditRow>,
    pub requests: Vec<PromotionRequest>,
    pub digest: Option<String>,
    /// The statement recorded about the image, and how far it is believed.
    pub provenance: Option<wharf_api::provenance::BuildProvenance>,
}

/// A registry as the attach dialog offers it.
#[derive(Debug, Clone)]
pub struct RegistryChoice {
    pub name: String,
    pub uri: String,
    pub built_in: bool,
}

/// A registry's answer to "what do you hold": the list, or why there is none.
pub type Listing<T> = std::result::Result<Vec<T>, String>;

/// `builds`' distinct `BRANCH_NAME` values, sorted.
pub fn branches(builds: &[ArtifactRow]) -> Vec<String> {
    let mut names: Vec<String> = builds
        .iter()
        .filter_map(|b| b.metadata.0.get(BRANCH_NAME).cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// How a build came to sit where it sits, in words: one wording for the UI and `wharf status`.
pub fn how_it_got_there(build: &ArtifactRow) -> String {
    match build.origin {
        Origin::Promote => "promoted".into(),
        Origin::Attach => "attached by hand".into(),
        Origin::Rollback => "rolled back".into(),
        Origin::Register => match &build.bucket.applied_rule_name {
            Some(rule) => format!("routed by rule {rule}"),
            None if build.bucket.classified => "registered straight to it".into(),
            None => "matched no rule".into(),
        },
    }
}

impl Overview {
    /// What each stage deploys now, per service, and the pending requests.
    pub async fn status(&self, project: &str) -> Result<ProjectStatus> {
        let flow = self.flow(project).await?;
        let stages: Vec<String> = flow.stages.iter().chain(&flow.others).cloned().collect();
        let services = flow
            .services
            .iter()
            .map(|service| ServiceStatus {
                service: service.ci.name.clone(),
                stages: stages
                    .iter()
                    .filter_map(|stage| {
                        let cell = service.cells.get(stage)?;
                        Some(StageStatus {
                            stage: stage.clone(),
                            artifact_id: cell.build.id.clone(),
                            image: cell.build.artifact_uri.clone(),
                            digest: cell.digest.clone(),
                            since: cell.build.created_at.clone(),
                            by: cell.build.created_by.clone(),
                            how: how_it_got_there(&cell.build),
                            via: cell.via.clone(),
                        })
                    })
                    .collect(),
            })
            .collect();
        Ok(ProjectStatus {
            project: flow.project,
            stages,
            services,
            pending: flow.pending,
        })
    }

    /// `None` when `user` holds `permission` on `project`; else the refusal's message.
    pub async fn refusal(
        &self,
        user: &AuthUser,
        project: &str,
        permission: &str,
    ) -> Result<Option<String>> {
        match self.identity.require(user, project, permission).await {
            Ok(()) => Ok(None),
            Err(Error::Forbidden(why)) => Ok(Some(why)),
            Err(other) => Err(other),
        }
    }

    /// `None` when `user` may reject `request` (its requester always may).
    pub async fn rejection_refusal(
        &self,
        user: &AuthUser,
        request: &PromotionRequest,
    ) -> Result<Option<String>> {
        if user.username == request.requested_by || user.admin {
            return Ok(None);
        }
        let held = self
            .identity
            .role_names(&user.username, &request.project)
            .await?;
        if held.iter().any(|r| request.approvers.contains(r)) {
            return Ok(None);
        }
        Ok(Some(format!(
            "rejecting a promotion into '{}' needs an approver role or to have asked for it; \
             user '{}' has neither",
            request.stage, user.username
        )))
    }

    /// The digest an image URI names, or this server's registry's digest for its tag.
    pub async fn image_digest(&self, uri: &str) -> Result<Option<String>> {
        Ok(self.door.known_digest(uri).await?.map(|(_, digest)| digest))
    }

    /// Every project's name.
    pub async fn project_names(&self) -> Result<Vec<String>> {
        Ok(self.store.project_names().await?)
    }

    /// A project's delivery flow: for each service, what each stage deploys now.
    pub async fn flow(&self, project: &str) -> Result<DeliveryFlow> {
        let project_row = self.lookups.project(project).await?;
        let kind = project_row
            .registration_type
            .unwrap_or(RegistrationType::Environment);
        let environments = self.store.environments(project).await?;
        let buckets: Vec<String> = match kind {
            RegistrationType::ReleaseStream => self
                .store
                .streams(project)
                .await?
                .into_iter()
                .map(|s| s.name)
                .collect(),
            _ => environments.iter().map(|e| e.name.clone()).collect(),
        };
        let stages: Vec<String> = match self.store.default_workflow(project, kind).await? {
            Some(workflow) => workflow
                .hierarchies
                .0
                .iter()
                .map(|h| h.registration_value.clone())
                .collect(),
            None => Vec::new(),
        };
        let others = buckets
            .iter()
            .filter(|b| !stages.contains(b))
            .cloned()
            .collect();
        let mut services = Vec::new();
        for ci in self.store.cis(Some(project)).await? {
            let mut cells = BTreeMap::new();
            for bucket in &buckets {
                let cell = match kind {
                    RegistrationType::ReleaseStream => self
                        .store
                        .newest_in_stream(&ci.id, bucket)
                        .await?
                        .map(|build| Cell {
                            build,
                            via: format!("release stream {bucket}"),
                            digest: None,
                        }),
                    _ => match environments.iter().find(|e| &e.name == bucket) {
                        Some(env) => {
                            self.lookups
                                .deployed_in(&ci, env)
                                .await?
                                .map(|deployed| Cell {
                                    via: match deployed.from {
                                        RegistrationType::ReleaseStream => {
                                            format!("release stream {}", deployed.bucket)
                                        }
                                        _ => format!("environment {}", deployed.bucket),
                                    },
                                    build: deployed.build,
                                    digest: None,
                                })
                        }
                        None => None,
                    },
                };
                if let Some(mut cell) = cell {
                    cell.digest = self.image_digest(&cell.build.artifact_uri).await?;
                    cells.insert(bucket.clone(), cell);
                }
            }
            let unclassified = self
                .store
                .artifacts_of(
                    &ci.id,
                    &BuildFilter {
                        classified: Some(false),
                        limit: 5,
                        ..BuildFilter::default()
                    },
                )
                .await?;
            services.push(ServiceFlow {
                ci,
                cells,
                unclassified,
            });
        }
        Ok(DeliveryFlow {
            project: project.to_string(),
            kind,
            stages,
            others,
            services,
            pending: self.approvals.pending_requests(Some(project)).await?,
            protections: self.approvals.protections(project).await?,
        })
    }

    /// A service's builds, newest first: in one stage's bucket and of one branch when given.
    pub async fn service_builds(
        &self,
        project: &str,
        service: &str,
        stage: Option<&str>,
        branch: Option<&str>,
    ) -> Result<(CiRow, Vec<ArtifactRow>, Vec<String>)> {
        let ci = self.lookups.ci(project, service).await?;
        let all = self
            .store
            .artifacts_of(
                &ci.id,
                &BuildFilter {
                    limit: 500,
                    ..BuildFilter::default()
                },
            )
            .await?;
        let branch_names = branches(&all);
        let builds = all
            .into_iter()
            .filter(|b| stage.is_none_or(|s| b.bucket.routed_to() == Some(s)))
            .filter(|b| {
                branch.is_none_or(|n| b.metadata.0.get(BRANCH_NAME).map(String::as_str) == Some(n))
            })
            .take(200)
            .collect();
        Ok((ci, builds, branch_names))
    }

    /// One build, where it came from and went, its audit entries and promotion requests.
    pub async fn build_story(&self, id: &str) -> Result<BuildStory> {
        let build = self
            .store
            .artifact(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("build '{id}' not found")))?;
        let ci = self.lookups.ci_by_id(&build.ci_id).await?;
        let mut ancestors = Vec::new();
        let mut from = build.promoted_from.clone();
        while let Some(source) = from.take() {
            if ancestors.len() >= 50 {
                break;
            }
            if let Some(row) = self.store.artifact(&source).await? {
                from = row.promoted_from.clone();
                ancestors.push(row);
            }
        }
        let mut descendants = Vec::new();
        let mut next = self.store.promotion_of(&build.id).await?;
        while let Some(row) = next.take() {
            if descendants.len() >= 50 {
                break;
            }
            next = self.store.promotion_of(&row.id).await?;
            descendants.push(row);
        }
        let filter = AuditFilter {
            start: "1970-01-01T00:00:00.000Z".into(),
            target: Some(build.id.clone()),
            size: 100,
            ..AuditFilter::default()
        };
        let (_, audit) = self.store.audit_page(&filter).await?;
        let mut requests = Vec::new();
        for status in <super::requests::RequestStatus as wharf_api::ClosedSet>::ALL {
            for request in self
                .store
                .promotion_requests(Some(&build.project), *status)
                .await?
                .into_iter()
                .filter(|r| r.source_id == build.id)
            {
                requests.push(self.approvals.request_view(&request).await?);
            }
        }
        let digest = self.image_digest(&build.artifact_uri).await?;
        let provenance = match &digest {
            Some(digest) => self.store.provenance(&build.project, digest).await?,
            None => None,
        };
        Ok(BuildStory {
            provenance: provenance.as_ref().map(super::provenance::provenance_view),
            digest,
            build,
            ci,
            ancestors,
            descendants,
            audit,
            requests,
        })
    }

    /// The registries an image can be attached from: the built-in one (reached at `host`)
    /// first, then the others an admin added.
    pub async fn registry_choices(&self, host: &str) -> Result<Vec<RegistryChoice>> {
        let mut all = vec![RegistryChoice {
            name: BUILT_IN_ARTIFACTORY.into(),
            uri: host.to_string(),
            built_in: true,
        }];
        for row in self.store.artifactories().await? {
            all.push(RegistryChoice {
                name: row.name.clone(),
                uri: row.uri.clone(),
                built_in: false,
            });
        }
        Ok(all)
    }

    /// A registry's repositories: the built-in one's from the store, another's from its own
    /// `/v2/_catalog` (under its path prefix), or why it cannot be listed.
    pub async fn registry_repositories(&self, registry: &str) -> Result<Listing<String>> {
        if registry == BUILT_IN_ARTIFACTORY {
            return Ok(Ok(self.store.registry_repositories().await?));
        }
        let row = self.artifactories.artifactory_row(registry).await?;
        let (host, prefix) = super::artifactories::split_uri(&row.uri);
        let client = self.artifactories.registry_client(&row, host)?;
        let answer = listed(client.catalog()).await;
        Ok(answer
            .map(|names| {
                names
                    .into_iter()
                    .filter(|n| prefix.is_empty() || n.starts_with(&format!("{prefix}/")))
                    .collect()
            })
            .map_err(|why| {
                format!(
                    "registry '{registry}' ({}) did not list its repositories ({why}); type the \
                     image's full URI instead",
                    row.uri
                )
            }))
    }

    /// A repository's tags (with digests for the built-in registry), newest first there.
    pub async fn registry_tags(&self, registry: &str, repository: &str) -> Result<Listing<TagRow>> {
        if registry == BUILT_IN_ARTIFACTORY {
            return Ok(Ok(self.store.registry_tag_rows(repository).await?));
        }
        let row = self.artifactories.artifactory_row(registry).await?;
        let (host, _) = super::artifactories::split_uri(&row.uri);
        let client = self.artifactories.registry_client(&row, host)?;
        let answer = listed(client.tags(repository)).await;
        Ok(answer
            .map(|tags| {
                tags.into_iter()
                    .map(|tag| TagRow {
                        tag,
                        digest: String::new(),
                        updated_at: String::new(),
                    })
                    .collect()
            })
            .map_err(|why| {
                format!(
                    "registry '{registry}' did not list the tags of '{repository}' ({why}); type \
                     the image's full URI instead"
                )
            }))
    }
}

/// A listing call of the registry client, within [`LISTING_TIMEOUT`].
async fn listed(
    call: impl std::future::Future<Output = std::result::Result<Vec<String>, wharf_oci::RegistryError>>,
) -> std::result::Result<Vec<String>, String> {
    tokio::time::timeout(LISTING_TIMEOUT, call)
        .await
        .map_err(|_| format!("no answer within {} s", LISTING_TIMEOUT.as_secs()))?
        .map_err(|e| e.to_string())
}
