//! Events and their subscriptions (the outbox). A change writes its event in its own
//! transaction ([`emit`]), with one pending delivery per subscription that wants it, so an
//! event exists exactly when its change does and no subscription misses one. The sending is
//! `crate::webhooks`'s; what is sent, to whom, and what a subscription is, live here.

use super::Events;
use super::auth::AuthUser;
use super::permissions;
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use wharf_api::project_file::{ApplySummary, ProjectFile};
use wharf_api::{
    CloudEvent, DeliveryView, EVENT_TYPES, TEST_EVENT_TYPE, WebhookEntry, WebhookView,
};
use wharf_store::{ArtifactRow, Audit, DeliveryRow, EventRow, Tx, WebhookRow, new_id, now};

/// How long a rotated secret still signs beside the new one.
pub const ROTATION_GRACE_HOURS: i64 = 24;

/// The CloudEvents `source` of a project's events.
pub fn source_of(project: &str) -> String {
    format!("/wharf/projects/{project}")
}

/// Writes event `kind` about `subject` in `project` inside `tx`, with a pending delivery for
/// every enabled subscription of the project that wants it.
pub async fn emit(
    tx: &mut Tx,
    project: &str,
    kind: &str,
    subject: &str,
    data: serde_json::Value,
) -> Result<()> {
    let at = now();
    let row = EventRow {
        seq: 0,
        id: new_id(),
        project: project.to_string(),
        kind: kind.to_string(),
        subject: subject.to_string(),
        time: at.clone(),
        data: data.to_string(),
    };
    tx.insert_event(&row).await?;
    for webhook in tx.webhooks_in_tx(project).await? {
        if webhook.disabled_at.is_none() && wants(&webhook, kind, &data) {
            tx.insert_delivery(&new_id(), &webhook.id, &row.id, &at)
                .await?;
        }
    }
    Ok(())
}

/// The event of an audited change: its data is the audit entry's, with who and what.
pub async fn emit_audited(tx: &mut Tx, kind: &str, audit: &Audit) -> Result<()> {
    let Some(project) = audit.stack_name.as_deref() else {
        return Ok(());
    };
    let mut data = audit.metadata.clone();
    if let Some(map) = data.as_object_mut() {
        map.insert("performedBy".into(), audit.performed_by.clone().into());
        map.insert("action".into(), audit.action.into());
        if let Some((_, environment)) = &audit.cluster {
            map.insert("environment".into(), environment.clone().into());
        }
    }
    let subject = audit.target.clone().unwrap_or_default();
    emit(tx, project, kind, &subject, data).await
}

/// `stage.changed`, when `row` now leads the bucket it was placed in (what the stage deploys)
/// and its image differs from `before`, the image that led it.
pub async fn stage_changed(
    tx: &mut Tx,
    row: &ArtifactRow,
    service: &str,
    before: Option<&str>,
) -> Result<()> {
    let Some(stage) = row.bucket.routed_to() else {
        return Ok(());
    };
    if before == Some(row.artifact_uri.as_str()) {
        return Ok(());
    }
    let data = serde_json::json!({
        "service": service,
        "stage": stage,
        "bucket": if row.bucket.release_stream.is_some() { "RELEASE_STREAM" } else { "ENVIRONMENT" },
        "old": before.map(image_of),
        "new": image_of(&row.artifact_uri),
        "buildId": row.id,
        "performedBy": row.created_by,
    });
    emit(
        tx,
        &row.project,
        "stage.changed",
        &format!("{service}/{stage}"),
        data,
    )
    .await
}

/// The events of a build placed in its bucket: `kind` (from its audit entry) and, when it
/// now leads a stage with another image than `before`, `stage.changed`.
pub async fn placed(
    tx: &mut Tx,
    kind: &str,
    audit: &Audit,
    row: &ArtifactRow,
    service: &str,
    before: Option<&str>,
) -> Result<()> {
    emit_audited(tx, kind, audit).await?;
    stage_changed(tx, row, service, before).await
}

fn image_of(uri: &str) -> serde_json::Value {
    let digest = uri
        .rsplit_once('@')
        .map(|(_, digest)| digest.to_string())
        .filter(|d| d.starts_with("sha256:"));
    serde_json::json!({"image": uri, "digest": digest})
}

/// Whether subscription `webhook` wants an event of `kind` with `data` (its types, services
/// and stages).
fn wants(webhook: &WebhookRow, kind: &str, data: &serde_json::Value) -> bool {
    let list = |text: &str| serde_json::from_str::<Vec<String>>(text).unwrap_or_default();
    let events = list(&webhook.events);
    if !events.iter().any(|e| e == "*" || e == kind) {
        return false;
    }
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| data.get(*name).and_then(|v| v.as_str()).map(str::to_string))
    };
    let services = list(&webhook.services);
    let service = field(&["service", "ciName"]);
    if !services.is_empty() && !service.is_some_and(|s| services.contains(&s)) {
        return false;
    }
    let stages = list(&webhook.stages);
    let stage = field(&["stage", "to", "routedTo", "environment"]);
    stages.is_empty() || stage.is_some_and(|s| stages.contains(&s))
}

/// Checks `[[webhooks]]`: names, URLs, event types.
pub fn check_webhooks(file: &ProjectFile) -> std::result::Result<(), String> {
    let mut names = BTreeSet::new();
    for (i, hook) in file.webhooks.iter().enumerate() {
        crate::validate::valid_component(&format!("webhooks[{i}].name"), &hook.name)
            .map_err(|e| e.to_string())?;
        if !names.insert(hook.name.as_str()) {
            return Err(format!("webhook '{}' is declared twice", hook.name));
        }
        check_url(i, hook)?;
        if hook.events.is_empty() {
            return Err(format!(
                "webhooks[{i}].events is empty: name the event types to send, e.g. \
                 [\"stage.changed\"], or [\"*\"] for every one"
            ));
        }
        for event in &hook.events {
            if event != "*" && !EVENT_TYPES.contains(&event.as_str()) {
                return Err(format!(
                    "webhooks[{i}].events: '{event}' is not an event type; use one of: {}",
                    EVENT_TYPES.join(", ")
                ));
            }
        }
        let variable = &hook.secret_env;
        if variable.is_empty()
            || !variable
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(format!(
                "webhooks[{i}].secret_env {variable:?} is not a variable name: name the \
                 variable of wharf serve's environment that holds the secret, e.g. \
                 WHARF_WEBHOOK_ARGO_SECRET"
            ));
        }
    }
    Ok(())
}

fn check_url(i: usize, hook: &WebhookEntry) -> std::result::Result<(), String> {
    let url = reqwest::Url::parse(&hook.url)
        .map_err(|e| format!("webhooks[{i}].url {:?} is not a URL: {e}", hook.url))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "webhooks[{i}].url carries credentials: receivers verify the signature instead; \
             remove the user and password from the URL"
        ));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if hook.allow_private_network => Ok(()),
        "http" => Err(format!(
            "webhooks[{i}].url is plain http://: events go over https:// only (plain http \
             only to a private or loopback receiver with allow_private_network = true)"
        )),
        other => Err(format!("webhooks[{i}].url scheme '{other}' is not https")),
    }
}

impl Events {
    /// Applies `[[webhooks]]` inside the project file's transaction: each subscription is
    /// created or updated (its secret read from `wharf serve`'s environment by `secret_env`
    /// and sealed; a new secret keeps the old one signing for a grace period), and those the
    /// file no longer lists are removed.
    pub(super) async fn apply_webhooks(
        &self,
        tx: &mut Tx,
        file: &ProjectFile,
        summary: &mut ApplySummary,
    ) -> Result<()> {
        let project = &file.project.name;
        let existing = tx.webhooks_in_tx(project).await?;
        for (i, hook) in file.webhooks.iter().enumerate() {
            let secret = self
                .environment_variable(&hook.secret_env)
                .filter(|s| !s.trim().is_empty());
            let Some(secret) = secret else {
                return Err(Error::bad_request(format!(
                    "webhooks[{i}].secret_env: {} is not set in wharf serve's environment: set \
                     it to the receiver's secret (whsec_… and base64) where wharf serve runs, \
                     then apply again",
                    hook.secret_env
                )));
            };
            check_secret(i, &secret)?;
            let json = |list: &Vec<String>| serde_json::to_string(list).unwrap_or_default();
            let current = existing.iter().find(|w| w.name == hook.name);
            let row = match current {
                None => WebhookRow {
                    id: new_id(),
                    project: project.clone(),
                    name: hook.name.clone(),
                    url: hook.url.clone(),
                    events: json(&hook.events),
                    services: json(&hook.services),
                    stages: json(&hook.stages),
                    secret_env: hook.secret_env.clone(),
                    secret: self
                        .identity
                        .seal_webhook_secret(project, &hook.name, &secret)?,
                    previous_secret: None,
                    previous_until: None,
                    allow_private_network: hook.allow_private_network,
                    disabled_at: None,
                    disabled_reason: None,
                    failing_since: None,
                    created_at: now(),
                },
                Some(current) => {
                    let stored =
                        self.identity
                            .webhook_secret(project, &hook.name, &current.secret)?;
                    let rotated = stored != secret;
                    let changed_target = current.url != hook.url || rotated;
                    WebhookRow {
                        url: hook.url.clone(),
                        events: json(&hook.events),
                        services: json(&hook.services),
                        stages: json(&hook.stages),
                        secret_env: hook.secret_env.clone(),
                        secret: match rotated {
                            true => self
                                .identity
                                .seal_webhook_secret(project, &hook.name, &secret)?,
                            false => current.secret.clone(),
                        },
                        previous_secret: match rotated {
                            true => Some(current.secret.clone()),
                            false => current.previous_secret.clone(),
                        },
                        previous_until: match rotated {
                            true => Some(wharf_store::format_time(
                                time::OffsetDateTime::now_utc()
                                    + time::Duration::hours(ROTATION_GRACE_HOURS),
                            )),
                            false => current.previous_until.clone(),
                        },
                        allow_private_network: hook.allow_private_network,
                        disabled_at: current.disabled_at.clone().filter(|_| !changed_target),
                        disabled_reason: current
                            .disabled_reason
                            .clone()
                            .filter(|_| !changed_target),
                        failing_since: current.failing_since.clone().filter(|_| !changed_target),
                        ..current.clone()
                    }
                }
            };
            match current {
                None => {
                    tx.insert_webhook(&row).await?;
                    summary.created.push(format!("webhook {}", hook.name));
                }
                Some(before) if differs(before, &row) => {
                    tx.update_webhook(&row).await?;
                    summary.updated.push(format!("webhook {}", hook.name));
                }
                Some(_) => summary.unchanged += 1,
            }
        }
        for gone in existing
            .iter()
            .filter(|w| !file.webhooks.iter().any(|h| h.name == w.name))
        {
            tx.delete_webhook(&gone.id).await?;
            summary.removed.push(format!("webhook {}", gone.name));
        }
        Ok(())
    }

    /// Every event of `project` after `after`, oldest first, as CloudEvents.
    pub async fn events(&self, project: &str, after: i64, limit: i64) -> Result<Vec<CloudEvent>> {
        self.lookups.project(project).await?;
        let rows = self.store.events_after(project, after, limit).await?;
        Ok(rows.iter().map(cloud_event).collect())
    }

    pub async fn webhooks(&self, project: &str) -> Result<Vec<WebhookView>> {
        self.lookups.project(project).await?;
        let rows = self.store.webhooks(project).await?;
        Ok(rows.iter().map(webhook_view).collect())
    }

    pub async fn deliveries(
        &self,
        project: &str,
        webhook: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeliveryView>> {
        self.lookups.project(project).await?;
        if let Some(name) = webhook {
            self.webhook_named(project, name).await?;
        }
        let rows = self.store.deliveries(project, webhook, limit).await?;
        Ok(rows.iter().map(delivery_view).collect())
    }

    /// Sends a delivery again (whatever became of it), as soon as its subscription's earlier
    /// deliveries are through; audited. Needs `PROJECT_ADMIN`.
    pub async fn redeliver(&self, user: &AuthUser, id: &str) -> Result<DeliveryView> {
        let delivery = self
            .store
            .delivery(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("delivery '{id}' not found")))?;
        let webhook = self
            .store
            .webhook_by_id(&delivery.webhook_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("delivery '{id}' not found")))?;
        self.identity
            .require(user, &webhook.project, permissions::PROJECT_ADMIN)
            .await?;
        let mut tx = self.store.begin().await?;
        tx.redeliver(id, &now()).await?;
        let audit = Audit::new(&user.username, "WEBHOOK", "WEBHOOK_REDELIVER")
            .target(id)
            .stack(&webhook.project)
            .meta("webhook", &webhook.name)
            .meta("eventId", &delivery.event_id);
        super::commit(tx, &audit).await?;
        let again = self.store.delivery(id).await?.unwrap_or(delivery);
        Ok(delivery_view(&again))
    }

    /// Queues a `webhook.test` event for one subscription only; answers its delivery, which
    /// the worker sends at once. Needs `PROJECT_ADMIN`.
    pub async fn test(&self, user: &AuthUser, project: &str, name: &str) -> Result<DeliveryView> {
        let webhook = self.webhook_named(project, name).await?;
        self.identity
            .require(user, project, permissions::PROJECT_ADMIN)
            .await?;
        let mut tx = self.store.begin().await?;
        let at = now();
        let event = EventRow {
            seq: 0,
            id: new_id(),
            project: project.to_string(),
            kind: TEST_EVENT_TYPE.to_string(),
            subject: name.to_string(),
            time: at.clone(),
            data: serde_json::json!({"webhook": name, "performedBy": user.username}).to_string(),
        };
        tx.insert_event(&event).await?;
        let delivery = new_id();
        tx.insert_delivery(&delivery, &webhook.id, &event.id, &at)
            .await?;
        let audit = Audit::new(&user.username, "WEBHOOK", "WEBHOOK_TEST")
            .target(name)
            .stack(project);
        super::commit(tx, &audit).await?;
        let row = self
            .store
            .delivery(&delivery)
            .await?
            .ok_or_else(|| Error::Internal("a test delivery vanished".into()))?;
        Ok(delivery_view(&row))
    }

    async fn webhook_named(&self, project: &str, name: &str) -> Result<WebhookRow> {
        self.store.webhook(project, name).await?.ok_or_else(|| {
            Error::not_found(format!(
                "webhook '{name}' not found in project '{project}'; declare it under \
                 [[webhooks]] in wharf.toml and run `wharf apply`"
            ))
        })
    }

    /// The secrets that sign for `webhook` now: its own, and a rotated one still in grace.
    pub(crate) fn signing_secrets(&self, webhook: &WebhookRow) -> Result<Vec<String>> {
        let mut secrets =
            vec![
                self.identity
                    .webhook_secret(&webhook.project, &webhook.name, &webhook.secret)?,
            ];
        if let (Some(previous), Some(until)) = (&webhook.previous_secret, &webhook.previous_until)
            && until.as_str() > now().as_str()
        {
            secrets.push(self.identity.webhook_secret(
                &webhook.project,
                &webhook.name,
                previous,
            )?);
        }
        Ok(secrets)
    }

    /// Reads webhook secrets from `table` instead of the process's environment (tests).
    pub fn read_secrets_from(&self, table: std::collections::BTreeMap<String, String>) {
        let _ = self.environment.set(table);
    }

    fn environment_variable(&self, name: &str) -> Option<String> {
        match self.environment.get() {
            Some(table) => table.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }
}

fn differs(a: &WebhookRow, b: &WebhookRow) -> bool {
    (
        &a.url,
        &a.events,
        &a.services,
        &a.stages,
        &a.secret_env,
        &a.secret,
        a.allow_private_network,
    ) != (
        &b.url,
        &b.events,
        &b.services,
        &b.stages,
        &b.secret_env,
        &b.secret,
        b.allow_private_network,
    ) || a.disabled_at != b.disabled_at
}

/// A `whsec_` secret of 24 to 64 random bytes (base64), as Standard Webhooks has it.
fn check_secret(i: usize, secret: &str) -> Result<()> {
    use base64::Engine;
    let body = secret.strip_prefix("whsec_").unwrap_or(secret);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| {
            Error::bad_request(format!(
                "webhooks[{i}].secret_env: the secret is not whsec_ and base64; make one with \
                 `printf 'whsec_%s' \"$(head -c 32 /dev/urandom | base64)\"`"
            ))
        })?;
    if !(24..=64).contains(&bytes.len()) {
        return Err(Error::bad_request(format!(
            "webhooks[{i}].secret_env: the secret holds {} bytes; use 24 to 64 random bytes",
            bytes.len()
        )));
    }
    Ok(())
}

pub fn cloud_event(row: &EventRow) -> CloudEvent {
    CloudEvent {
        specversion: "1.0".into(),
        id: row.id.clone(),
        source: source_of(&row.project),
        kind: row.kind.clone(),
        time: row.time.clone(),
        subject: row.subject.clone(),
        datacontenttype: "application/json".into(),
        data: serde_json::from_str(&row.data).unwrap_or(serde_json::Value::Null),
        wharfseq: Some(row.seq),
    }
}

pub fn webhook_view(row: &WebhookRow) -> WebhookView {
    let list = |text: &str| serde_json::from_str::<Vec<String>>(text).unwrap_or_default();
    WebhookView {
        project: row.project.clone(),
        name: row.name.clone(),
        url: row.url.clone(),
        events: list(&row.events),
        services: list(&row.services),
        stages: list(&row.stages),
        secret_env: row.secret_env.clone(),
        allow_private_network: row.allow_private_network,
        previous_secret_until: row
            .previous_until
            .clone()
            .filter(|until| until.as_str() > now().as_str()),
        disabled_at: row.disabled_at.clone(),
        disabled_reason: row.disabled_reason.clone(),
    }
}

pub fn delivery_view(row: &DeliveryRow) -> DeliveryView {
    DeliveryView {
        id: row.id.clone(),
        webhook: row.webhook.clone(),
        event_id: row.event_id.clone(),
        event_type: row.event_type.clone(),
        status: row.status.clone(),
        attempts: row.attempts,
        last_status: row.last_status,
        last_error: row.last_error.clone(),
        last_attempt_at: row.last_attempt_at.clone(),
        next_attempt_at: row.next_attempt_at.clone(),
        created_at: row.created_at.clone(),
    }
}

/// One delivery to send now: the subscription, the event as its body, the secrets that sign.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub delivery_id: String,
    pub webhook: WebhookRow,
    pub event_id: String,
    pub body: String,
    pub secrets: Vec<String>,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered(u16),
    /// 410: the receiver is gone; the subscription is disabled at once.
    Gone,
    /// Anything else: another status, a timeout, a refused address. `retry_after` is the
    /// receiver's `Retry-After`, when it gave one.
    Failed {
        status: Option<u16>,
        error: String,
        retry_after: Option<std::time::Duration>,
    },
}

/// The waits before the second to the eighth attempt, in seconds (Standard Webhooks' and
/// Svix's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); after the eighth, failed.
pub const RETRY_SCHEDULE_SECS: [u64; 7] = [5, 300, 1800, 7200, 18000, 36000, 36000];
/// A subscription that has only failed for this long is disabled.
pub const DISABLE_AFTER_DAYS: i64 = 5;

/// Whether a subscription failing since `since` (and nothing but failing) is to be disabled.
fn failing_too_long(since: &str, now: time::OffsetDateTime) -> bool {
    let cutoff = wharf_store::format_time(now - time::Duration::days(DISABLE_AFTER_DAYS));
    since < cutoff.as_str()
}

fn at_offset(from: time::OffsetDateTime, by: std::time::Duration) -> String {
    wharf_store::format_time(from + by)
}

impl Events {
    /// Leases each subscription with a delivery due now (one replica at a time) and answers
    /// its oldest pending delivery: in event order, never two at once.
    /// `lease` must outlast a send (its timeout), so no other replica takes the subscription
    /// while this one waits for an answer; a replica that dies holding it holds it no longer.
    pub async fn due(&self, owner: &str, lease: std::time::Duration) -> Result<Vec<Outgoing>> {
        let now_at = time::OffsetDateTime::now_utc();
        let at = wharf_store::format_time(now_at);
        let until = at_offset(now_at, lease);
        let mut out = Vec::new();
        for id in self.store.webhooks_due(&at).await? {
            if !self.store.lease_webhook(&id, owner, &at, &until).await? {
                continue;
            }
            let Some(delivery) = self.store.head_delivery(&id).await? else {
                self.store.release_webhook(&id, owner).await?;
                continue;
            };
            if delivery.next_attempt_at.as_str() > at.as_str() {
                // The oldest waits for its retry: later ones wait behind it (order).
                self.store.release_webhook(&id, owner).await?;
                continue;
            }
            let (Some(webhook), Some(event)) = (
                self.store.webhook_by_id(&id).await?,
                self.store.event(delivery.event_seq).await?,
            ) else {
                continue;
            };
            let secrets = match self.signing_secrets(&webhook) {
                Ok(secrets) => secrets,
                Err(error) => {
                    tracing::error!(webhook = %webhook.name, %error, "webhook secret unreadable");
                    self.store.release_webhook(&id, owner).await?;
                    continue;
                }
            };
            let mut cloud = cloud_event(&event);
            cloud.wharfseq = None;
            out.push(Outgoing {
                delivery_id: delivery.id,
                body: serde_json::to_string(&cloud).unwrap_or_default(),
                event_id: event.id,
                webhook,
                secrets,
                attempts: delivery.attempts,
            });
        }
        Ok(out)
    }

    /// Records how an attempt went and releases the subscription: delivered; failed for good
    /// after the schedule (a subscription only failing for five days is then disabled); or
    /// due again after the schedule's wait (or the receiver's `Retry-After`), counted in
    /// `second`s (one second, but for tests).
    pub async fn finish(
        &self,
        owner: &str,
        sent: &Outgoing,
        outcome: &Outcome,
        second: std::time::Duration,
    ) -> Result<()> {
        let now_at = time::OffsetDateTime::now_utc();
        let at = wharf_store::format_time(now_at);
        let attempts = sent.attempts + 1;
        let mut tx = self.store.begin().await?;
        let webhook = &sent.webhook;
        let (status, next, last_status, error) = match outcome {
            Outcome::Delivered(code) => ("delivered", at.clone(), Some(i64::from(*code)), None),
            Outcome::Gone => (
                "failed",
                at.clone(),
                Some(410),
                Some("410 Gone".to_string()),
            ),
            Outcome::Failed {
                status,
                error,
                retry_after,
            } => {
                let wait = RETRY_SCHEDULE_SECS.get(sent.attempts as usize).map(|secs| {
                    let scheduled = second * (*secs as u32);
                    retry_after.map_or(scheduled, |asked| asked.max(scheduled))
                });
                match wait {
                    Some(wait) => (
                        "pending",
                        at_offset(now_at, wait),
                        status.map(i64::from),
                        Some(error.clone()),
                    ),
                    None => (
                        "failed",
                        at.clone(),
                        status.map(i64::from),
                        Some(error.clone()),
                    ),
                }
            }
        };
        let attempted = wharf_store::Attempted {
            status,
            attempts,
            next_attempt_at: &next,
            last_status,
            last_error: error.as_deref(),
            at: &at,
        };
        tx.record_attempt(&sent.delivery_id, &attempted).await?;
        match outcome {
            Outcome::Delivered(_) => tx.set_failing(&webhook.id, None).await?,
            Outcome::Gone => {
                self.disable(&mut tx, webhook, &at, "the receiver answered 410 Gone")
                    .await?
            }
            Outcome::Failed { .. } => {
                tx.set_failing(&webhook.id, Some(&at)).await?;
                let since = webhook.failing_since.as_deref().unwrap_or(&at);
                if failing_too_long(since, now_at) {
                    let why = format!("every delivery failed for {DISABLE_AFTER_DAYS} days");
                    self.disable(&mut tx, webhook, &at, &why).await?;
                }
            }
        }
        tx.commit().await?;
        self.store.release_webhook(&webhook.id, owner).await?;
        Ok(())
    }

    async fn disable(&self, tx: &mut Tx, webhook: &WebhookRow, at: &str, why: &str) -> Result<()> {
        tx.disable_webhook(&webhook.id, at, why).await?;
        let audit = Audit::new("wharf", "WEBHOOK", "WEBHOOK_DISABLE")
            .target(&webhook.name)
            .stack(&webhook.project)
            .meta("reason", why);
        tx.record(&audit).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_days_of_only_failures_disable_a_subscription_and_less_does_not() {
        let now = time::OffsetDateTime::now_utc();
        let ago = |hours: i64| wharf_store::format_time(now - time::Duration::hours(hours));
        assert!(failing_too_long(&ago(5 * 24 + 1), now));
        assert!(!failing_too_long(&ago(5 * 24 - 1), now));
        assert!(!failing_too_long(&ago(0), now));
    }

    #[test]
    fn a_subscription_wants_its_types_services_and_stages() {
        let hook = |events: &str, services: &str, stages: &str| WebhookRow {
            id: "w".into(),
            project: "shop".into(),
            name: "argo".into(),
            url: "https://r.example.com".into(),
            events: events.into(),
            services: services.into(),
            stages: stages.into(),
            secret_env: "S".into(),
            secret: String::new(),
            previous_secret: None,
            previous_until: None,
            allow_private_network: false,
            disabled_at: None,
            disabled_reason: None,
            failing_since: None,
            created_at: String::new(),
        };
        let data = serde_json::json!({"service": "api", "stage": "prod"});
        assert!(wants(&hook(r#"["*"]"#, "[]", "[]"), "stage.changed", &data));
        assert!(wants(
            &hook(r#"["stage.changed"]"#, "[]", "[]"),
            "stage.changed",
            &data
        ));
        assert!(!wants(
            &hook(r#"["build.promoted"]"#, "[]", "[]"),
            "stage.changed",
            &data
        ));
        assert!(wants(
            &hook(r#"["*"]"#, r#"["api"]"#, r#"["prod"]"#),
            "stage.changed",
            &data
        ));
        assert!(!wants(
            &hook(r#"["*"]"#, r#"["web"]"#, "[]"),
            "stage.changed",
            &data
        ));
        assert!(!wants(
            &hook(r#"["*"]"#, "[]", r#"["dev"]"#),
            "stage.changed",
            &data
        ));
        let registered = serde_json::json!({"ciName": "api", "routedTo": "dev"});
        assert!(wants(
            &hook(r#"["*"]"#, r#"["api"]"#, r#"["dev"]"#),
            "build.registered",
            &registered
        ));
    }
}
