//! The web UI's pages as the domain answers them: one call per page, each returning a model of
//! what the page shows and, for each action on it, whether the viewer may take it (`None`) or
//! the refusal the action itself would give (`Some(why)`). The UI renders these and decides
//! nothing; its actions call the API's own domain functions.

use super::Overview;
use super::artifactories::registry_host;
use super::audit::AuditPage;
use super::auth::AuthUser;
use super::permissions::ARTIFACTS_WRITE;
use super::promotion::Attach;
use super::ui_reads::{BuildStory, DeliveryFlow, Listing, RegistryChoice};
use crate::error::{Error, Result};
use crate::validate::require;
use std::collections::BTreeMap;
use wharf_api::BUILT_IN_ARTIFACTORY;
use wharf_api::RegistrationType;
use wharf_store::{ArtifactRow, AuditFilter, BuildFilter, CiRow, TagRow};

/// Whether the viewer may approve and reject one pending request.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub approve: Option<String>,
    pub reject: Option<String>,
}

/// A project's flow, and what the viewer may do on it.
#[derive(Debug, Clone)]
pub struct FlowPage {
    pub flow: DeliveryFlow,
    /// Promote, roll back, attach, reclassify (`ARTIFACTS_WRITE`).
    pub write: Option<String>,
    /// For each pending request, in `flow.pending`'s order.
    pub decisions: Vec<Decision>,
    /// For each (service, stage): whether each action of its cell can succeed now, and why not.
    pub cells: BTreeMap<(String, String), CellActions>,
}

/// What one cell of the flow offers: `None` when the action can succeed now, else why not, in
/// the UI's words.
#[derive(Debug, Clone, Default)]
pub struct CellActions {
    pub promote: Option<String>,
    pub rollback: Option<String>,
    pub attach: Option<String>,
    /// The image a roll back would deploy again, for its confirmation.
    pub rollback_to: Option<String>,
    /// The stage is protected: every write into it asks for confirmation.
    pub protected: bool,
}

/// A service's builds, filtered by stage and branch.
#[derive(Debug, Clone)]
pub struct ServicePage {
    pub ci: CiRow,
    pub builds: Vec<ArtifactRow>,
    /// Every branch its builds came from, for the filter.
    pub branches: Vec<String>,
    /// The project's stages and other buckets, for the filter.
    pub stages: Vec<String>,
}

/// A service's Images tab: its strategy with what it follows (and, for `service`, the
/// project's beside it), and every environment with the image it deploys now.
#[derive(Debug, Clone)]
pub struct ImagesPage {
    pub ci: CiRow,
    pub strategy: wharf_api::ServiceStrategy,
    pub environments: Vec<EnvironmentImage>,
    /// Changing the strategy (`CI_CD_CONFIGURE`): `None` when the viewer may.
    pub configure: Option<String>,
}

/// A project's webhooks and their deliveries, newest first.
#[derive(Debug, Clone)]
pub struct DeliveriesPage {
    pub webhooks: Vec<wharf_api::WebhookView>,
    pub deliveries: Vec<wharf_api::DeliveryView>,
    /// Redelivering (`PROJECT_ADMIN`): `None` when the viewer may.
    pub redeliver: Option<String>,
}

/// One environment of the Images tab.
#[derive(Debug, Clone)]
pub struct EnvironmentImage {
    pub environment: String,
    pub release_stream: String,
    /// What it deploys now, and from which bucket (`environment` or its `release stream`).
    pub deployed: Option<(ArtifactRow, &'static str)>,
    /// Attaching an image to it: `None` when the viewer may.
    pub attach: Option<String>,
    pub protected: bool,
}

/// One build, its story, and what the viewer may do with it.
#[derive(Debug, Clone)]
pub struct BuildPage {
    pub story: BuildStory,
    pub flow: DeliveryFlow,
    /// The stage after the one the build sits in, where Promote takes it.
    pub next: Option<String>,
    pub write: Option<String>,
}

/// A page of the audit trail, and the projects to filter by.
#[derive(Debug, Clone)]
pub struct AuditTrailPage {
    pub entries: AuditPage,
    pub projects: Vec<String>,
}

/// The attach dialog: where an image may go, the registries to pick it from, and what the
/// chosen registry and repository hold.
#[derive(Debug, Clone)]
pub struct AttachPage {
    pub services: Vec<String>,
    pub stages: Vec<String>,
    pub registries: Vec<RegistryChoice>,
    pub repositories: Option<Listing<String>>,
    pub tags: Option<Listing<TagRow>>,
    pub write: Option<String>,
}

/// The registry and repository the attach dialog was opened on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Picked<'a> {
    pub registry: Option<&'a str>,
    pub repository: Option<&'a str>,
}

/// What the attach dialog's form chose: an image by URI, or a registry's repository and tag.
#[derive(Debug, Clone, Default)]
pub struct AttachChoice {
    pub service: String,
    pub stage: String,
    /// The registry the image is in; the built-in one when none is named.
    pub registry: Option<String>,
    pub uri: Option<String>,
    pub repository: Option<String>,
    pub tag: Option<String>,
}

impl DeliveryFlow {
    /// The workflow's stages, then the project's other buckets.
    fn all_stages(&self) -> Vec<String> {
        self.stages.iter().chain(&self.others).cloned().collect()
    }
}

impl Overview {
    pub async fn flow_page(&self, user: &AuthUser, project: &str) -> Result<FlowPage> {
        let flow = self.flow(project).await?;
        let write = self.refusal(user, project, ARTIFACTS_WRITE).await?;
        let mut decisions = Vec::with_capacity(flow.pending.len());
        for request in &flow.pending {
            decisions.push(Decision {
                approve: self.approvals.approval_refusal(user, request).await?,
                reject: self.rejection_refusal(user, request).await?,
            });
        }
        let cells = self.cell_actions(user, &flow, write.as_deref()).await?;
        Ok(FlowPage {
            flow,
            write,
            decisions,
            cells,
        })
    }

    /// Each cell's actions: refused as the viewer's permission refuses them, or when they could
    /// only fail (nothing earlier to roll back to, already promoted, a request already waiting,
    /// a protected stage the viewer may not write straight into).
    async fn cell_actions(
        &self,
        user: &AuthUser,
        flow: &DeliveryFlow,
        write: Option<&str>,
    ) -> Result<BTreeMap<(String, String), CellActions>> {
        let held = self
            .identity
            .role_names(&user.username, &flow.project)
            .await?;
        let mut cells = BTreeMap::new();
        for service in &flow.services {
            let name = &service.ci.name;
            for stage in flow.stages.iter().chain(&flow.others) {
                let protection = flow.protections.get(stage);
                let waiting = |into: &str| {
                    flow.pending_into(name, into)
                        .map(|_| format!("a request into {into} already waits for approval"))
                };
                let cell = service.cells.get(stage);
                let promote = match (cell, flow.next(stage)) {
                    (Some(cell), Some(next)) => {
                        let there = service.cells.get(next).map(|c| &c.build);
                        let promoted = there.is_some_and(|b| {
                            b.promoted_from.as_deref() == Some(cell.build.id.as_str())
                                || b.artifact_uri == cell.build.artifact_uri
                        });
                        write
                            .map(str::to_string)
                            .or_else(|| waiting(next))
                            .or_else(|| {
                                promoted.then(|| format!("this image is already in {next}"))
                            })
                    }
                    _ => Some("there is no next stage".into()),
                };
                let earlier = match cell {
                    Some(cell) => self.earlier_image(&service.ci, stage, &cell.build).await?,
                    None => None,
                };
                let rollback = write
                    .map(str::to_string)
                    .or_else(|| waiting(stage))
                    .or_else(|| {
                        earlier.is_none().then(|| {
                            format!("{stage} has deployed no earlier image of {name} to go back to")
                        })
                    });
                let may_write_straight = user.admin
                    || protection.is_none_or(|p| p.direct.iter().any(|r| held.contains(r)));
                let attach = write.map(str::to_string).or_else(|| {
                    (!may_write_straight).then(|| {
                        format!(
                            "{stage} is protected: attaching into it needs role {}; promote a \
                             build into it instead",
                            protection
                                .map(|p| p.direct.join(" or "))
                                .unwrap_or_default()
                        )
                    })
                });
                cells.insert(
                    (name.clone(), stage.clone()),
                    CellActions {
                        promote,
                        rollback,
                        attach,
                        rollback_to: earlier,
                        protected: protection.is_some(),
                    },
                );
            }
        }
        Ok(cells)
    }

    /// The newest image `stage` deployed for `ci` before `now`, other than `now`'s.
    async fn earlier_image(
        &self,
        ci: &CiRow,
        stage: &str,
        now: &ArtifactRow,
    ) -> Result<Option<String>> {
        let filter = BuildFilter {
            routed_to: Some(stage.to_string()),
            limit: 50,
            ..BuildFilter::default()
        };
        Ok(self
            .store
            .artifacts_of(&ci.id, &filter)
            .await?
            .into_iter()
            .filter(|b| b.created_at < now.created_at && b.artifact_uri != now.artifact_uri)
            .map(|b| b.artifact_uri)
            .next())
    }

    pub async fn service_page(
        &self,
        project: &str,
        service: &str,
        stage: Option<&str>,
        branch: Option<&str>,
    ) -> Result<ServicePage> {
        let flow = self.flow(project).await?;
        let (ci, builds, branches) = self.service_builds(project, service, stage, branch).await?;
        Ok(ServicePage {
            ci,
            builds,
            branches,
            stages: flow.all_stages(),
        })
    }

    pub async fn images_page(
        &self,
        user: &AuthUser,
        project: &str,
        service: &str,
    ) -> Result<ImagesPage> {
        let ci = self.lookups.ci(project, service).await?;
        let strategy = {
            let mut tx = self.store.begin().await?;
            let view = super::strategy::strategy_in(&mut tx, &ci).await?;
            tx.rollback().await?;
            view
        };
        let write = self.refusal(user, project, ARTIFACTS_WRITE).await?;
        let configure = self
            .refusal(user, project, super::permissions::CI_CD_CONFIGURE)
            .await?;
        let held = self.identity.role_names(&user.username, project).await?;
        let protections: BTreeMap<String, wharf_api::project_file::Protection> = self
            .store
            .protections(project)
            .await?
            .into_iter()
            .map(|p| (p.stage, p.rules.0))
            .collect();
        let mut environments = Vec::new();
        for env in self.store.environments(project).await? {
            let deployed = self.lookups.deployed_in(&ci, &env).await?.map(|d| {
                let from = match d.from {
                    RegistrationType::ReleaseStream => "its release stream",
                    _ => "attached or placed here",
                };
                (d.build, from)
            });
            let guard = protections
                .get(&env.name)
                .or_else(|| protections.get(&env.release_stream));
            let may_write_straight =
                user.admin || guard.is_none_or(|p| p.direct.iter().any(|r| held.contains(r)));
            let attach = write.clone().or_else(|| {
                (!may_write_straight).then(|| {
                    format!(
                        "{} is protected: attaching into it needs role {}",
                        env.name,
                        guard.map(|p| p.direct.join(" or ")).unwrap_or_default()
                    )
                })
            });
            environments.push(EnvironmentImage {
                environment: env.name,
                release_stream: env.release_stream,
                deployed,
                attach,
                protected: guard.is_some(),
            });
        }
        Ok(ImagesPage {
            ci,
            strategy,
            environments,
            configure,
        })
    }

    pub async fn deliveries_page(&self, user: &AuthUser, project: &str) -> Result<DeliveriesPage> {
        self.lookups.project(project).await?;
        let webhooks = self.store.webhooks(project).await?;
        let deliveries = self.store.deliveries(project, None, 100).await?;
        Ok(DeliveriesPage {
            webhooks: webhooks.iter().map(super::events::webhook_view).collect(),
            deliveries: deliveries
                .iter()
                .map(super::events::delivery_view)
                .collect(),
            redeliver: self
                .refusal(user, project, super::permissions::PROJECT_ADMIN)
                .await?,
        })
    }

    pub async fn build_page(&self, user: &AuthUser, id: &str) -> Result<BuildPage> {
        let story = self.build_story(id).await?;
        let flow = self.flow(&story.build.project).await?;
        let next = story
            .build
            .bucket
            .routed_to()
            .and_then(|at| flow.next(at))
            .map(str::to_string);
        let write = self
            .refusal(user, &story.build.project, ARTIFACTS_WRITE)
            .await?;
        Ok(BuildPage {
            story,
            flow,
            next,
            write,
        })
    }

    pub async fn audit_trail_page(&self, filter: &AuditFilter) -> Result<AuditTrailPage> {
        Ok(AuditTrailPage {
            entries: self.audit_page(filter, false).await?,
            projects: self.project_names().await?,
        })
    }

    /// The attach the dialog asks for: the image by URI, or at the chosen registry's host; into
    /// the project's kind of bucket. `host` is the built-in registry's address as the viewer
    /// reached it.
    pub async fn attach_request(
        &self,
        project: &str,
        host: &str,
        choice: AttachChoice,
    ) -> Result<Attach> {
        let registry = choice
            .registry
            .unwrap_or_else(|| BUILT_IN_ARTIFACTORY.to_string());
        let kind = match self.flow(project).await?.kind {
            RegistrationType::ReleaseStream => RegistrationType::ReleaseStream,
            _ => RegistrationType::Environment,
        };
        let (artifact_uri, repository, tag) = match choice.uri {
            Some(uri) => (uri, None, None),
            None => {
                let repository = require("repository", choice.repository.as_deref())?;
                let tag = require("tag", choice.tag.as_deref())?;
                let chosen = self
                    .registry_choices(host)
                    .await?
                    .into_iter()
                    .find(|r| r.name == registry)
                    .ok_or_else(|| Error::bad_request(format!("no registry '{registry}'")))?;
                let at = registry_host(&chosen.uri);
                (
                    format!("{at}/{repository}:{tag}"),
                    Some(repository),
                    Some(tag),
                )
            }
        };
        Ok(Attach {
            project: project.to_string(),
            ci_name: choice.service,
            artifact_uri,
            artifactory: registry,
            repository_name: repository,
            tag,
            kind,
            value: choice.stage,
        })
    }

    /// `host` is the name the viewer reached this server by (the built-in registry's address).
    pub async fn attach_page(
        &self,
        user: &AuthUser,
        project: &str,
        host: &str,
        picked: Picked<'_>,
    ) -> Result<AttachPage> {
        let flow = self.flow(project).await?;
        let repositories = match picked.registry {
            Some(name) => Some(self.registry_repositories(name).await?),
            None => None,
        };
        let tags = match (picked.registry, picked.repository) {
            (Some(name), Some(repository)) => Some(self.registry_tags(name, repository).await?),
            _ => None,
        };
        Ok(AttachPage {
            services: flow.services.iter().map(|s| s.ci.name.clone()).collect(),
            stages: flow.all_stages(),
            registries: self.registry_choices(host).await?,
            repositories,
            tags,
            write: self.refusal(user, project, ARTIFACTS_WRITE).await?,
        })
    }
}
