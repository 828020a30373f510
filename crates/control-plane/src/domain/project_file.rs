//! The declarative project file: read, validate, and apply in one transaction.
//!
//! Applying adds and updates; it never deletes an environment, stream or CI integration that
//! the file no longer names (builds may sit in them). The default routing rule and the default
//! promotion workflow are replaced whole by the file's, keeping their ids.

use super::Catalog;
use super::access::bind_known_role;
use super::auth::AuthUser;
use super::lookups::{BUILT_IN_STREAMS, kind_name};
use super::permissions::{self, require_admin};
use super::rules::{DefaultRule, replace_default_rule};
use super::strategy::{Wanted, change_strategy, new_ci, strategy_in};
use super::workflows::{replace_default_workflow, stages_named};
use crate::error::{Error, Result};
use crate::validate::{valid_component, valid_name, valid_username};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use wharf_api::project_file::{ApplySummary, ProjectFile};
use wharf_api::{ClosedSet, Criterion, RegistrationType, Strategy};
use wharf_store::{Audit, Change, NewStream, Tx};

/// Reads and validates a TOML project file; errors name the file, the key and the fix.
pub fn load(path: &Path) -> Result<ProjectFile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::bad_request(format!("cannot read project file {}: {e}", path.display()))
    })?;
    let file: ProjectFile = toml::from_str(&text)
        .map_err(|e| Error::bad_request(format!("{}: {e}", path.display())))?;
    validate(&file).map_err(|e| Error::bad_request(format!("{}: {e}", path.display())))?;
    Ok(file)
}

fn check_name(field: &str, name: &str) -> Result<(), String> {
    check_with(valid_name, field, name)
}

fn check_with(
    rule: fn(&str, &str) -> Result<String>,
    field: &str,
    name: &str,
) -> Result<(), String> {
    let checked = rule(field, name).map_err(|e| e.to_string())?;
    // The rules trim; applying uses the name as written, so it must be the trimmed one.
    if checked != name {
        return Err(format!(
            "field `{field}` {name:?} has spaces around it; write it without them"
        ));
    }
    Ok(())
}

fn check_unique<'a>(field: &str, names: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(format!("{field} '{name}' is declared twice"));
        }
    }
    Ok(())
}

/// Checks names, references between sections, and that rules and promotion name real buckets.
pub fn validate(file: &ProjectFile) -> Result<(), String> {
    check_with(valid_component, "project.name", &file.project.name)?;
    if file.project.registration_type == RegistrationType::Hybrid {
        return Err(
            "project.registration_type HYBRID is not supported; use ENVIRONMENT or \
                    RELEASE_STREAM"
                .into(),
        );
    }
    for (i, s) in file.release_streams.iter().enumerate() {
        check_name(&format!("release_streams[{i}].name"), &s.name)?;
    }
    check_unique(
        "release stream",
        file.release_streams.iter().map(|s| s.name.as_str()),
    )?;
    let streams = stream_names(file);
    for (i, env) in file.environments.iter().enumerate() {
        check_name(&format!("environments[{i}].name"), &env.name)?;
        if !streams.contains(env.release_stream.as_str()) {
            return Err(format!(
                "environments[{i}].release_stream '{}' is not a release stream; declare it under \
                 [[release_streams]] or use one of: {}",
                env.release_stream,
                streams.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    check_unique(
        "environment",
        file.environments.iter().map(|e| e.name.as_str()),
    )?;
    let buckets = bucket_names(file);
    let kind = bucket_kind(file.project.registration_type);
    if let Some(routing) = &file.routing {
        for (i, c) in routing.criteria.iter().enumerate() {
            if c.metadata_key.trim().is_empty() || c.value.is_empty() {
                return Err(format!(
                    "routing.criteria[{i}]: metadata_key and value must not be empty"
                ));
            }
            if !buckets.contains(c.route_to.as_str()) {
                return Err(format!(
                    "routing.criteria[{i}].route_to '{}' is not {kind} of project '{}'; use one \
                     of: {}",
                    c.route_to,
                    file.project.name,
                    join(&buckets)
                ));
            }
        }
    }
    if let Some(promotion) = &file.promotion {
        for (i, stage) in promotion.order.iter().enumerate() {
            if !buckets.contains(stage.as_str()) {
                return Err(format!(
                    "promotion.order[{i}] '{stage}' is not {kind} of project '{}'; use one of: {}",
                    file.project.name,
                    join(&buckets)
                ));
            }
        }
        check_unique(
            "promotion stage",
            promotion.order.iter().map(String::as_str),
        )?;
    }
    for (i, ci) in file.ci.iter().enumerate() {
        check_with(valid_component, &format!("ci[{i}].name"), &ci.name)?;
        check_ci_strategy(file, i, ci)?;
    }
    check_unique("CI integration", file.ci.iter().map(|c| c.name.as_str()))?;
    for (i, member) in file.members.iter().enumerate() {
        check_with(valid_username, &format!("members[{i}].user"), &member.user)?;
    }
    check_unique("member", file.members.iter().map(|m| m.user.as_str()))?;
    // A stream feeds its environments and an environment reads its stream: either may be
    // protected, in a project of either registration type.
    let stages: BTreeSet<&str> = stream_names(file)
        .into_iter()
        .chain(file.environments.iter().map(|e| e.name.as_str()))
        .collect();
    for (stage, rules) in &file.protection {
        check_protection(stage, rules, &stages, &file.project.name)?;
    }
    super::trust::check_policies(file)?;
    super::events::check_webhooks(file)?;
    Ok(())
}

/// A `[[ci]]` entry's strategy: its own rules, order and registration type only under
/// `service`, naming buckets of the registration type it keeps.
fn check_ci_strategy(
    file: &ProjectFile,
    i: usize,
    ci: &wharf_api::project_file::CiEntry,
) -> Result<(), String> {
    let own = [
        ("registration_type", ci.registration_type.is_some()),
        ("ci_system", ci.ci_system.is_some()),
        ("routing", ci.routing.is_some()),
        ("promotion", ci.promotion.is_some()),
    ];
    if ci.strategy != Some(Strategy::Service) {
        if let Some((key, _)) = own.iter().find(|(_, given)| *given) {
            return Err(format!(
                "ci[{i}].{key}: only a service with strategy = \"service\" has its own; '{}' \
                 has strategy = \"{}\" (set strategy = \"service\", or remove {key})",
                ci.name,
                ci.strategy.unwrap_or_default().name()
            ));
        }
        return Ok(());
    }
    let kind = ci
        .registration_type
        .unwrap_or(file.project.registration_type);
    if kind == RegistrationType::Hybrid {
        return Err(format!(
            "ci[{i}].registration_type HYBRID is not supported; use ENVIRONMENT or RELEASE_STREAM"
        ));
    }
    let buckets: BTreeSet<&str> = match kind {
        RegistrationType::ReleaseStream => stream_names(file),
        _ => file.environments.iter().map(|e| e.name.as_str()).collect(),
    };
    let criteria = ci.routing.iter().flat_map(|r| r.criteria.iter());
    for (j, c) in criteria.enumerate() {
        if c.metadata_key.trim().is_empty() || c.value.is_empty() {
            return Err(format!(
                "ci[{i}].routing.criteria[{j}]: metadata_key and value must not be empty"
            ));
        }
        if !buckets.contains(c.route_to.as_str()) {
            return Err(format!(
                "ci[{i}].routing.criteria[{j}].route_to '{}' is not {} of project '{}' (service \
                 '{}' keeps {} buckets); use one of: {}",
                c.route_to,
                bucket_kind(kind),
                file.project.name,
                ci.name,
                kind.as_str(),
                join(&buckets)
            ));
        }
    }
    if let Some(promotion) = &ci.promotion {
        for (j, stage) in promotion.order.iter().enumerate() {
            if !buckets.contains(stage.as_str()) {
                return Err(format!(
                    "ci[{i}].promotion.order[{j}] '{stage}' is not {} of project '{}'; use one \
                     of: {}",
                    bucket_kind(kind),
                    file.project.name,
                    join(&buckets)
                ));
            }
        }
        check_unique(
            &format!("ci[{i}].promotion stage"),
            promotion.order.iter().map(String::as_str),
        )?;
    }
    Ok(())
}

/// Most approvals a stage may ask for.
const MAX_APPROVALS: u32 = 10;
/// Longest an approval may count: a year.
const MAX_APPROVAL_TTL_HOURS: u32 = 8760;

fn check_protection(
    stage: &str,
    rules: &wharf_api::project_file::Protection,
    stages: &BTreeSet<&str>,
    project: &str,
) -> Result<(), String> {
    if !stages.contains(stage) {
        return Err(format!(
            "protection.{stage}: '{stage}' is not an environment or release stream of project \
             '{project}'; use one of: {}",
            join(stages)
        ));
    }
    if rules.approvals > MAX_APPROVALS {
        return Err(format!(
            "protection.{stage}.approvals is {}: at most {MAX_APPROVALS}",
            rules.approvals
        ));
    }
    if rules.approvals > 0 && rules.approvers.is_empty() {
        return Err(format!(
            "protection.{stage}.approvers is empty but approvals = {}: name the roles whose \
             members may approve, e.g. approvers = [\"release-manager\"]",
            rules.approvals
        ));
    }
    if !(1..=MAX_APPROVAL_TTL_HOURS).contains(&rules.approval_ttl_hours) {
        return Err(format!(
            "protection.{stage}.approval_ttl_hours is {}: use 1 to {MAX_APPROVAL_TTL_HOURS}",
            rules.approval_ttl_hours
        ));
    }
    check_gates(stage, rules)
}

/// `require`, `signature_keys` and `trusted_builders` of a stage: every key readable, and no
/// list that could never count.
fn check_gates(stage: &str, rules: &wharf_api::project_file::Protection) -> Result<(), String> {
    use wharf_api::project_file::Evidence;
    for (at, pem) in rules.signature_keys.iter().enumerate() {
        if let Err(why) = super::supply_chain::public_key_point(pem) {
            return Err(format!(
                "protection.{stage}.signature_keys[{at}] {why}: paste the cosign public key                  (cosign.pub), PEM, inline"
            ));
        }
    }
    let requires = |evidence| rules.require.contains(&evidence);
    if requires(Evidence::Signature) && rules.signature_keys.is_empty() {
        return Err(format!(
            "protection.{stage}.require names \"signature\" but signature_keys is empty: add the cosign public key(s) signatures must verify with"
        ));
    }
    if !rules.signature_keys.is_empty() && !requires(Evidence::Signature) {
        return Err(format!(
            "protection.{stage}.signature_keys is set but require does not name \"signature\": add it to require (mode = \"warn\" to only record), or drop the keys"
        ));
    }
    if !rules.trusted_builders.is_empty() && !requires(Evidence::Provenance) {
        return Err(format!(
            "protection.{stage}.trusted_builders is set but require does not name \"provenance\": add it to require (mode = \"warn\" to only record), or drop the list"
        ));
    }
    if let Some(empty) = rules.trusted_builders.iter().find(|g| g.trim().is_empty()) {
        return Err(format!(
            "protection.{stage}.trusted_builders has an empty entry ('{empty}'): give builder id globs, e.g. \"https://github.com/acme/*\""
        ));
    }
    Ok(())
}

fn join(names: &BTreeSet<&str>) -> String {
    if names.is_empty() {
        return "(none declared)".into();
    }
    names.iter().copied().collect::<Vec<_>>().join(", ")
}

fn bucket_kind(registration_type: RegistrationType) -> String {
    let kind = kind_name(registration_type);
    let article = if kind.starts_with('e') { "an" } else { "a" };
    format!("{article} {kind}")
}

fn stream_names(file: &ProjectFile) -> BTreeSet<&str> {
    BUILT_IN_STREAMS
        .iter()
        .map(|(name, _)| *name)
        .chain(file.release_streams.iter().map(|s| s.name.as_str()))
        .collect()
}

/// The names a rule may route to and a workflow may list: environments or streams.
fn bucket_names(file: &ProjectFile) -> BTreeSet<&str> {
    match file.project.registration_type {
        RegistrationType::ReleaseStream => stream_names(file),
        _ => file.environments.iter().map(|e| e.name.as_str()).collect(),
    }
}

impl Catalog {
    /// Applies a validated file in one transaction: all of it, or (on any error) none of it.
    /// A new project needs a server admin; an existing one `PROJECT_ADMIN` there.
    /// `dry_run`: check and work out every change, then change nothing (the summary says what
    /// the file would do).
    pub async fn apply_project_file(
        &self,
        user: &AuthUser,
        file: &ProjectFile,
        dry_run: bool,
    ) -> Result<ApplySummary> {
        match self.store.project(&file.project.name).await? {
            Some(_) => {
                self.identity
                    .require(user, &file.project.name, permissions::PROJECT_ADMIN)
                    .await?
            }
            None => require_admin(user, "creating a project")?,
        }
        for env in &file.environments {
            if let Some(current) = self
                .store
                .environment(&file.project.name, &env.name)
                .await?
                && current.release_stream != env.release_stream
            {
                let bucket = wharf_store::Bucket::environment(&current);
                let what = "move it to another release stream";
                self.door
                    .admit_reconfiguration(user, &file.project.name, &bucket, what)
                    .await?;
            }
        }
        let how = Apply {
            by: &user.username,
            creates_users: user.admin,
            audit_unchanged: true,
            dry_run,
        };
        self.apply_with(file, how).await
    }

    /// Applies a file as `user` without a permission check: the server's own `--config` at
    /// start, before any request is served (and the embedded control plane's, on every
    /// command). A file that changes nothing leaves no audit entry.
    pub async fn apply(&self, file: &ProjectFile, user: &str) -> Result<ApplySummary> {
        let how = Apply {
            by: user,
            creates_users: true,
            audit_unchanged: false,
            dry_run: false,
        };
        self.apply_with(file, how).await
    }

    async fn apply_with(&self, file: &ProjectFile, how: Apply<'_>) -> Result<ApplySummary> {
        let user = how.by;
        validate(file).map_err(Error::BadRequest)?;
        let mut tx = self.store.begin().await?;
        let mut summary = ApplySummary {
            project: file.project.name.clone(),
            ..Default::default()
        };
        apply_project(&mut tx, file, &mut summary).await?;
        apply_streams(&mut tx, file, user, &mut summary).await?;
        apply_environments(&mut tx, file, &mut summary).await?;
        apply_rule(&mut tx, file, user, &mut summary).await?;
        apply_workflow(&mut tx, file, &mut summary).await?;
        apply_cis(&mut tx, file, user, &mut summary).await?;
        apply_members(&mut tx, file, &how, &mut summary).await?;
        apply_protection(&mut tx, file, &mut summary).await?;
        super::trust::apply_trust(&mut tx, file, &mut summary).await?;
        self.events
            .apply_webhooks(&mut tx, file, &mut summary)
            .await?;
        if how.dry_run {
            summary.dry_run = true;
            tx.rollback().await?;
            return Ok(summary);
        }
        let changed = !summary.created.is_empty()
            || !summary.updated.is_empty()
            || !summary.removed.is_empty();
        if how.audit_unchanged || changed {
            audit_changes(&mut tx, &summary, &file.members, user).await?;
        }
        tx.commit().await?;
        self.identity.forget_cached();
        Ok(summary)
    }
}

/// How a file is applied.
struct Apply<'a> {
    /// Who applies it (the audit's actor).
    by: &'a str,
    /// Whether `[[members]]` may name users who do not exist yet (only a server admin creates
    /// users, here as through `POST /wharf/v1/users`).
    creates_users: bool,
    /// Whether an apply that changes nothing is audited (a user's apply is; a start's is not).
    audit_unchanged: bool,
    dry_run: bool,
}

async fn apply_project(tx: &mut Tx, file: &ProjectFile, summary: &mut ApplySummary) -> Result<()> {
    let name = &file.project.name;
    let wanted = file.project.registration_type;
    match tx.project_type(name).await? {
        None => {
            tx.insert_project(name, wanted, file.project.ci_system)
                .await?;
            summary.created.push(format!("project {name}"));
        }
        Some(Some(current)) if current != wanted => {
            return Err(Error::conflict(format!(
                "project '{name}' is configured for registration type {}; the file asks for {}. \
                 The registration type cannot change without a reset \
                 (DELETE /cc-ui/v1/ci-cd/{name}), which deletes the default rule and workflow",
                current.as_str(),
                wanted.as_str()
            )));
        }
        Some(_) => {
            tx.set_project_type(name, Some(wanted), file.project.ci_system)
                .await?;
            summary.unchanged += 1;
        }
    }
    Ok(())
}

async fn apply_streams(
    tx: &mut Tx,
    file: &ProjectFile,
    user: &str,
    summary: &mut ApplySummary,
) -> Result<()> {
    let built_in = BUILT_IN_STREAMS.iter().map(|(n, prod)| (*n, *prod, None));
    let declared = file
        .release_streams
        .iter()
        .map(|s| (s.name.as_str(), s.prod, s.description.as_deref()));
    for (name, prod, description) in built_in.chain(declared) {
        let stream = NewStream {
            project: &file.project.name,
            name,
            description,
            prod,
            created_by: user,
            update: true,
        };
        tx.save_stream(&stream).await?;
    }
    summary.unchanged += 1;
    Ok(())
}

async fn apply_environments(
    tx: &mut Tx,
    file: &ProjectFile,
    summary: &mut ApplySummary,
) -> Result<()> {
    let project = &file.project.name;
    for env in &file.environments {
        match tx.environment_stream(project, &env.name).await? {
            None => {
                tx.insert_environment(project, &env.name, &env.release_stream)
                    .await?;
                summary.created.push(format!("environment {}", env.name));
            }
            Some(stream) if stream != env.release_stream => {
                tx.move_environment(project, &env.name, &env.release_stream)
                    .await?;
                summary.updated.push(format!("environment {}", env.name));
            }
            Some(_) => summary.unchanged += 1,
        }
    }
    Ok(())
}

async fn apply_rule(
    tx: &mut Tx,
    file: &ProjectFile,
    user: &str,
    summary: &mut ApplySummary,
) -> Result<()> {
    let Some(routing) = &file.routing else {
        return Ok(());
    };
    let criteria: Vec<Criterion> = routing
        .criteria
        .iter()
        .enumerate()
        .map(|(i, c)| Criterion {
            metadata_key: c.metadata_key.clone(),
            operator: c.operator,
            value: c.value.clone(),
            route_to: c.route_to.clone(),
            priority: c.priority.unwrap_or(i as i64 + 1),
        })
        .collect();
    let rule = DefaultRule {
        project: &file.project.name,
        registration_type: file.project.registration_type,
        rule_name: &routing.rule_name,
        criteria: &criteria,
        ci_system: file.project.ci_system,
    };
    let change = replace_default_rule(tx, &rule, user).await?;
    record(
        summary,
        change,
        format!("routing rule {}", routing.rule_name),
    );
    Ok(())
}

async fn apply_workflow(tx: &mut Tx, file: &ProjectFile, summary: &mut ApplySummary) -> Result<()> {
    let Some(promotion) = &file.promotion else {
        return Ok(());
    };
    let change = replace_default_workflow(
        tx,
        &file.project.name,
        file.project.registration_type,
        &stages_named(&promotion.order),
    )
    .await?;
    record(summary, change, "promotion workflow default".to_string());
    Ok(())
}

async fn apply_cis(
    tx: &mut Tx,
    file: &ProjectFile,
    user: &str,
    summary: &mut ApplySummary,
) -> Result<()> {
    for entry in &file.ci {
        let (ci, created) = match tx.ci_in_tx(&file.project.name, &entry.name).await? {
            Some(ci) => (ci, false),
            None => {
                let kind = entry
                    .registration_type
                    .unwrap_or(file.project.registration_type);
                let row = wharf_store::CiRow {
                    description: entry.description.clone(),
                    ..new_ci(&file.project.name, &entry.name, kind, user)
                };
                tx.insert_ci(&row).await?;
                summary
                    .created
                    .push(format!("CI integration {}", entry.name));
                (row, true)
            }
        };
        let Some(strategy) = entry.strategy else {
            if !created {
                summary.unchanged += 1;
            }
            continue;
        };
        let wanted = Wanted {
            strategy,
            registration_type: Some(
                entry
                    .registration_type
                    .unwrap_or(file.project.registration_type),
            )
            .filter(|_| strategy == Strategy::Service),
            ci_system: entry.ci_system,
            criteria: entry.routing.as_ref().map(|r| {
                r.criteria
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c.criterion(i))
                    .collect()
            }),
            order: entry.promotion.as_ref().map(|p| p.order.clone()),
            reset: false,
        };
        let before = strategy_in(tx, &ci).await?;
        let (after_ci, changes) = change_strategy(tx, &ci, &wanted, user).await?;
        let after = strategy_in(tx, &after_ci).await?;
        if created {
            summary.changes.extend(changes);
        } else if before != after {
            summary
                .updated
                .push(format!("CI integration {} strategy", entry.name));
            summary.changes.extend(changes);
        } else {
            summary.unchanged += 1;
        }
    }
    Ok(())
}

/// Replaces the project's protected stages with the file's, after checking each role named.
/// A protected stage whose approvals no set of people could give is refused, with the
/// arithmetic; one that only people other than the requester can complete is a warning (a
/// request an approver makes then needs the others, or a server admin).
async fn check_approvals_can_be_met(
    tx: &mut Tx,
    file: &ProjectFile,
    stage: &str,
    rules: &wharf_api::project_file::Protection,
    summary: &mut ApplySummary,
) -> Result<()> {
    if rules.approvals == 0 {
        return Ok(());
    }
    let mut may_approve: std::collections::BTreeSet<String> = file
        .members
        .iter()
        .filter(|m| rules.approvers.contains(&m.role))
        .map(|m| m.user.clone())
        .collect();
    for (user, role) in tx.bindings_on_every_project().await? {
        if rules.approvers.contains(&role) {
            may_approve.insert(user);
        }
    }
    may_approve.extend(tx.server_admins().await?);
    let who = may_approve.iter().cloned().collect::<Vec<_>>().join(", ");
    let holders = may_approve.len();
    let approvals = rules.approvals as usize;
    if holders < approvals {
        return Err(Error::bad_request(format!(
            "protection.{stage}: approvals = {approvals} cannot be met: only {holders} user(s) \
             may approve ({who}: members with role {} and server admins); add approvers under \
             [[members]] or lower approvals",
            rules.approvers.join(" or ")
        )));
    }
    if !rules.requester_may_approve && holders == approvals {
        summary.warnings.push(format!(
            "protection.{stage}: approvals = {approvals} and exactly {holders} user(s) may \
             approve ({who}); the one who asks may not approve their own request, so a request \
             one of them makes cannot complete: add an approver, lower approvals, or set \
             requester_may_approve"
        ));
    }
    Ok(())
}

async fn apply_protection(
    tx: &mut Tx,
    file: &ProjectFile,
    summary: &mut ApplySummary,
) -> Result<()> {
    let project = &file.project.name;
    let before: BTreeMap<String, wharf_api::project_file::Protection> = tx
        .protections_in_tx(project)
        .await?
        .into_iter()
        .map(|row| (row.stage, row.rules.0))
        .collect();
    for (stage, rules) in &file.protection {
        let named = rules
            .approvers
            .iter()
            .chain(&rules.direct)
            .chain(rules.promoters.iter().flatten());
        for role in named {
            if !tx.role_exists(role).await? {
                return Err(Error::bad_request(format!(
                    "protection.{stage}: role '{role}' does not exist; built-in roles are admin, \
                     release-manager, ci, viewer"
                )));
            }
        }
        check_approvals_can_be_met(tx, file, stage, rules, summary).await?;
        match before.get(stage) {
            None => summary.created.push(format!("protection {stage}")),
            Some(old) if old != rules => summary.updated.push(format!("protection {stage}")),
            Some(_) => summary.unchanged += 1,
        }
    }
    for stage in before.keys().filter(|s| !file.protection.contains_key(*s)) {
        summary.updated.push(format!("protection {stage} removed"));
    }
    let stages: Vec<_> = file
        .protection
        .iter()
        .map(|(stage, rules)| (stage.clone(), rules.clone()))
        .collect();
    tx.replace_protections(project, &stages).await?;
    Ok(())
}

/// `[[members]]` is the project's whole membership: each listed user gets its role, and a
/// member the file no longer lists is removed (its approvals of pending requests then lapse,
/// as a removed role's do). Keyless users hold their role by trust policy, not membership, and
/// a binding on every project (`*`) is no one project's to remove. Applying never removes the
/// applier's own membership: that would lock them out of the project they are configuring.
async fn apply_members(
    tx: &mut Tx,
    file: &ProjectFile,
    how: &Apply<'_>,
    summary: &mut ApplySummary,
) -> Result<()> {
    let project = &file.project.name;
    let listed: std::collections::BTreeSet<&str> =
        file.members.iter().map(|m| m.user.as_str()).collect();
    for (i, member) in file.members.iter().enumerate() {
        if !how.creates_users && tx.user_admin(&member.user).await?.is_none() {
            return Err(Error::Forbidden(format!(
                "members[{i}].user: user '{}' does not exist, and only a server admin creates \
                 users: ask one to create it (POST /wharf/v1/users, or apply this file)",
                member.user
            )));
        }
        if tx.insert_user(&member.user, false).await? {
            summary.created.push(format!("user {}", member.user));
        }
        bind_known_role(tx, &member.user, &file.project.name, &member.role)
            .await
            .map_err(|e| Error::bad_request(format!("members[{i}].role: {e}")))?;
    }
    for username in tx.members_of_project(project).await? {
        if listed.contains(username.as_str()) || username.starts_with("oidc+") {
            continue;
        }
        if username == how.by {
            return Err(Error::conflict(format!(
                "members: the file does not list you ('{username}'), so applying it would \
                 remove your own membership of '{project}'; list yourself under [[members]], or \
                 have another admin apply it"
            )));
        }
        tx.unbind_role(&username, project).await?;
        summary.removed.push(format!("member {username}"));
    }
    Ok(())
}

fn record(summary: &mut ApplySummary, change: Change, label: String) {
    match change {
        Change::Created => summary.created.push(label),
        Change::Updated => summary.updated.push(label),
        Change::Unchanged => summary.unchanged += 1,
    }
}

/// One audit entry per created or updated item, plus one for the apply itself.
async fn audit_changes(
    tx: &mut Tx,
    summary: &ApplySummary,
    members: &[wharf_api::project_file::MemberEntry],
    user: &str,
) -> Result<()> {
    const KINDS: [(&str, &str, &str, &str); 7] = [
        ("webhook ", "WEBHOOK", "WEBHOOK_CREATE", "WEBHOOK_UPDATE"),
        ("user ", "USER", "USER_CREATE", "USER_UPDATE"),
        ("project ", "PROJECT", "PROJECT_CREATE", "PROJECT_UPDATE"),
        (
            "environment ",
            "ENVIRONMENT",
            "ENVIRONMENT_CREATE",
            "ENVIRONMENT_UPDATE",
        ),
        (
            "routing rule ",
            "CI_RULE",
            "CI_RULE_CREATE",
            "CI_RULE_UPDATE",
        ),
        (
            "promotion workflow ",
            "PROMOTION_WORKFLOW",
            "PROMOTION_WORKFLOW_CREATE",
            "PROMOTION_WORKFLOW_UPDATE",
        ),
        (
            "CI integration ",
            "CI_INTEGRATION",
            "CI_INTEGRATION_CREATE",
            "CI_INTEGRATION_UPDATE",
        ),
    ];
    let changes = summary
        .created
        .iter()
        .map(|l| (l, true))
        .chain(summary.updated.iter().map(|l| (l, false)));
    for (label, created) in changes {
        let Some((prefix, entity, create, update)) = KINDS.iter().find(|k| label.starts_with(k.0))
        else {
            continue;
        };
        let audit = Audit::new(user, entity, if created { create } else { update })
            .target(&label[prefix.len()..])
            .stack(&summary.project);
        tx.record(&audit).await?;
    }
    for label in &summary.removed {
        if let Some(name) = label.strip_prefix("webhook ") {
            let audit = Audit::new(user, "WEBHOOK", "WEBHOOK_DELETE")
                .target(name)
                .stack(&summary.project);
            tx.record(&audit).await?;
            continue;
        }
        let Some(username) = label.strip_prefix("member ") else {
            continue;
        };
        let audit = Audit::new(user, "USER", "MEMBER_REMOVE")
            .target(username)
            .stack(&summary.project);
        tx.record(&audit).await?;
    }
    let audit = Audit::new(user, "PROJECT", "PROJECT_APPLY")
        .target(&summary.project)
        .meta("members", members)
        .stack(&summary.project)
        .meta("created", &summary.created)
        .meta("updated", &summary.updated)
        .meta("removed", &summary.removed);
    Ok(tx.record(&audit).await?)
}
