//! Projects, release streams and environments (Facets' clusters) one at a time; the project
//! file applies them whole.

use super::auth::AuthUser;
use super::permissions::require_admin;
use super::wire::{cluster_view, stream_view};
use super::{Catalog, commit, permissions};
use crate::error::{Error, Result};
use crate::validate::{require, valid_name};
use std::collections::BTreeMap;
use wharf_api::{Cluster, ReleaseStream};
use wharf_store::{Audit, NewStream};

/// "project 'x'", or every project when no project was named.
fn scope_name(project: Option<&str>) -> String {
    match project {
        Some(project) => format!("project '{project}'"),
        None => "every project".into(),
    }
}

impl Catalog {
    /// A project's release streams; without a project, every project's merged by name, as
    /// Facets (whose streams are account-wide) lists them.
    pub async fn streams(&self, stack: Option<&str>) -> Result<Vec<ReleaseStream>> {
        let Some(stack) = stack else {
            return self.account_streams().await;
        };
        self.lookups.project(stack).await?;
        self.stream_views(stack, None).await
    }

    async fn account_streams(&self) -> Result<Vec<ReleaseStream>> {
        let mut merged: BTreeMap<String, ReleaseStream> = BTreeMap::new();
        for project in self.store.project_names().await? {
            for stream in self.stream_views(&project, None).await? {
                match merged.get_mut(&stream.name) {
                    None => {
                        merged.insert(
                            stream.name.clone(),
                            ReleaseStream {
                                stack_name: None,
                                ..stream
                            },
                        );
                    }
                    Some(seen) => {
                        let names = seen.mapped_cluster_names.get_or_insert_default();
                        names.extend(stream.mapped_cluster_names.unwrap_or_default());
                        seen.prod |= stream.prod;
                        seen.description = seen.description.take().or(stream.description);
                    }
                }
            }
        }
        Ok(merged.into_values().collect())
    }

    /// A project's streams (or the one named), each with its environments.
    async fn stream_views(&self, project: &str, only: Option<&str>) -> Result<Vec<ReleaseStream>> {
        let environments = self.store.environments(project).await?;
        let streams = self.store.streams(project).await?;
        let views = streams
            .iter()
            .filter(|stream| only.is_none_or(|name| stream.name == name))
            .map(|stream| {
                let mapped = environments
                    .iter()
                    .filter(|env| env.release_stream == stream.name)
                    .map(|env| env.name.clone())
                    .collect();
                stream_view(stream, mapped)
            })
            .collect();
        Ok(views)
    }

    /// The projects a stream call acts on: the one named (which needs `permission` there), or,
    /// without one, every project (an account-wide call, as Facets' are: server admins only).
    async fn stream_scope(
        &self,
        user: &AuthUser,
        project: Option<&str>,
        permission: &str,
    ) -> Result<Vec<String>> {
        match project {
            Some(project) => {
                self.lookups.project(project).await?;
                self.identity.require(user, project, permission).await?;
                Ok(vec![project.to_string()])
            }
            None => {
                require_admin(user, "a release stream in every project (no `stackName`)")?;
                Ok(self.store.project_names().await?)
            }
        }
    }

    /// Creates a stream in a project, or (without one) in every project that lacks it.
    pub async fn create_stream(
        &self,
        user: &AuthUser,
        project: Option<&str>,
        body: ReleaseStream,
    ) -> Result<ReleaseStream> {
        let named = project.or(body.stack_name.as_deref());
        let projects = self
            .stream_scope(user, named, permissions::RELEASE_STREAM_WRITE)
            .await?;
        let name = valid_name("name", &body.name)?;
        let mut tx = self.store.begin().await?;
        let mut created = Vec::new();
        for project in &projects {
            let stream = NewStream {
                project,
                name: &name,
                description: body.description.as_deref(),
                prod: body.prod,
                created_by: &user.username,
                update: false,
            };
            if tx.save_stream(&stream).await? {
                let audit = Audit::new(&user.username, "RELEASE_STREAM", "RELEASE_STREAM_CREATE")
                    .target(&name)
                    .stack(project)
                    .meta("prod", body.prod);
                tx.record(&audit).await?;
                created.push(project.clone());
            }
        }
        if created.is_empty() {
            return Err(Error::conflict(format!(
                "release stream '{name}' already exists in {}",
                scope_name(named)
            )));
        }
        tx.commit().await?;
        let views = self.stream_views(&created[0], Some(&name)).await?;
        let mut view = views
            .into_iter()
            .next()
            .ok_or_else(|| Error::Internal("stream vanished".into()))?;
        if named.is_none() {
            view.stack_name = None;
        }
        Ok(view)
    }

    /// Deletes a stream from a project, or (without one) from every project that has it; each
    /// must have no environment in it and no build sitting in it.
    pub async fn delete_stream(
        &self,
        user: &AuthUser,
        project: Option<&str>,
        name: &str,
    ) -> Result<()> {
        let projects = self
            .stream_scope(user, project, permissions::RELEASE_STREAM_DELETE)
            .await?;
        let mut tx = self.store.begin().await?;
        let holders = tx.projects_with_stream(name).await?;
        let targets: Vec<&String> = projects.iter().filter(|p| holders.contains(p)).collect();
        if targets.is_empty() {
            return Err(Error::not_found(format!(
                "release stream '{name}' not found in {}",
                scope_name(project)
            )));
        }
        for project in targets {
            let environments = tx.environments_of_stream(project, name).await?;
            if !environments.is_empty() {
                return Err(Error::bad_request(format!(
                    "Cannot delete: release stream '{name}' still has environments {} in \
                     project '{project}'",
                    environments.join(", ")
                )));
            }
            let builds = tx.builds_in_stream(project, name).await?;
            if builds > 0 {
                return Err(Error::bad_request(format!(
                    "Cannot delete: {builds} builds sit in release stream '{name}' of project \
                     '{project}'"
                )));
            }
            tx.delete_stream(project, name).await?;
            let audit = Audit::new(&user.username, "RELEASE_STREAM", "RELEASE_STREAM_DELETE")
                .target(name)
                .stack(project);
            tx.record(&audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Catalog {
    pub async fn cluster(&self, id: &str) -> Result<Cluster> {
        Ok(cluster_view(&self.lookups.environment_by_id(id).await?))
    }

    pub async fn clusters(&self, stack: &str) -> Result<Vec<Cluster>> {
        self.lookups.project(stack).await?;
        Ok(self
            .store
            .environments(stack)
            .await?
            .iter()
            .map(cluster_view)
            .collect())
    }

    /// Creates an environment in `stream`, or moves it there; `true` when created.
    pub async fn save_environment(
        &self,
        user: &AuthUser,
        project: &str,
        name: &str,
        stream: &str,
    ) -> Result<(bool, Cluster)> {
        self.lookups.project(project).await?;
        self.identity
            .require(user, project, permissions::ENVIRONMENT_WRITE)
            .await?;
        let name = valid_name("name", name)?;
        let stream = require("releaseStream", Some(stream))?;
        if !self.store.stream_exists(project, &stream).await? {
            return Err(Error::bad_request(format!(
                "field `releaseStream` '{stream}' is not a release stream of project '{project}'"
            )));
        }
        if let Some(current) = self.store.environment(project, &name).await?
            && current.release_stream != stream
        {
            let bucket = wharf_store::Bucket::environment(&current);
            self.door
                .admit_reconfiguration(user, project, &bucket, "move it to another stream")
                .await?;
        }
        let mut tx = self.store.begin().await?;
        let created = tx.environment_stream(project, &name).await?.is_none();
        let action = if created {
            tx.insert_environment(project, &name, &stream).await?;
            "ENVIRONMENT_CREATE"
        } else {
            tx.move_environment(project, &name, &stream).await?;
            "ENVIRONMENT_UPDATE"
        };
        let audit = Audit::new(&user.username, "ENVIRONMENT", action)
            .target(&name)
            .stack(project)
            .meta("releaseStream", &stream);
        commit(tx, &audit).await?;
        let environment = self.store.environment(project, &name).await?;
        let environment =
            environment.ok_or_else(|| Error::Internal("environment vanished".into()))?;
        Ok((created, cluster_view(&environment)))
    }

    /// Deletes an environment no build sits in (checked inside the transaction).
    pub async fn delete_environment(
        &self,
        user: &AuthUser,
        project: &str,
        name: &str,
    ) -> Result<()> {
        self.lookups.project(project).await?;
        self.identity
            .require(user, project, permissions::ENVIRONMENT_DELETE)
            .await?;
        let environment = self.lookups.environment_named(project, name).await?;
        let mut tx = self.store.begin().await?;
        let builds = tx.builds_in_cluster(&environment.id).await?;
        if builds > 0 {
            return Err(Error::bad_request(format!(
                "Cannot delete: {builds} builds sit in this environment"
            )));
        }
        tx.delete_environment(&environment.id).await?;
        let audit = Audit::new(&user.username, "ENVIRONMENT", "ENVIRONMENT_DELETE")
            .target(name)
            .stack(project);
        commit(tx, &audit).await
    }
}
