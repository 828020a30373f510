//! Events, webhooks and deliveries: the outbox. An event and its delivery rows are written in
//! the transaction of the change; a worker leases one subscription at a time and works through
//! its pending deliveries in event order.

use crate::{Result, Store, Table, Tx};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub project: String,
    pub name: String,
    pub url: String,
    /// JSON arrays of text.
    pub events: String,
    pub services: String,
    pub stages: String,
    pub secret_env: String,
    /// Sealed.
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<String>,
    pub allow_private_network: bool,
    pub disabled_at: Option<String>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub id: String,
    pub project: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub time: String,
    pub data: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub webhook: String,
    pub event_seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub created_at: String,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempted<'a> {
    pub status: &'a str,
    pub attempts: i64,
    pub next_attempt_at: &'a str,
    pub last_status: Option<i64>,
    pub last_error: Option<&'a str>,
    pub at: &'a str,
}

macro_rules! select_webhooks {
    ($rest:literal) => {
        concat!(
            "SELECT id, project, name, url, events, services, stages, secret_env, secret,
             previous_secret, previous_until, allow_private_network, disabled_at, disabled_reason,
             failing_since, created_at FROM webhooks ",
            $rest
        )
    };
}

macro_rules! select_deliveries {
    ($rest:literal) => {
        concat!(
            "SELECT d.id, d.webhook_id, w.name AS webhook, d.event_seq, e.id AS event_id,
             e.type AS event_type, d.status, d.attempts, d.next_attempt_at, d.last_status,
             d.last_error, d.last_attempt_at, d.created_at
             FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
             JOIN events e ON e.seq = d.event_seq ",
            $rest
        )
    };
}

impl Store {
    pub async fn webhooks(&self, project: &str) -> Result<Vec<WebhookRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_webhooks!(
            "WHERE project = $1 ORDER BY name"
        ))
        .bind(project)
        .fetch_all(e)
        .await)?)
    }

    pub async fn webhook(&self, project: &str, name: &str) -> Result<Option<WebhookRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_webhooks!(
            "WHERE project = $1 AND name = $2"
        ))
        .bind(project)
        .bind(name)
        .fetch_optional(e)
        .await)?)
    }

    pub async fn webhook_by_id(&self, id: &str) -> Result<Option<WebhookRow>> {
        Ok(on_writer!(self, |e| sqlx::query_as(select_webhooks!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// A project's events after `after` (its sequence number), oldest first.
    pub async fn events_after(
        &self,
        project: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(
            "SELECT seq, id, project, type, subject, time, data FROM events
             WHERE project = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        )
        .bind(project)
        .bind(after)
        .bind(limit)
        .fetch_all(e)
        .await)?)
    }

    pub async fn event(&self, seq: i64) -> Result<Option<EventRow>> {
        Ok(on_writer!(self, |e| sqlx::query_as(
            "SELECT seq, id, project, type, subject, time, data FROM events WHERE seq = $1"
        )
        .bind(seq)
        .fetch_optional(e)
        .await)?)
    }

    /// A project's deliveries (of one subscription when named), newest first.
    pub async fn deliveries(
        &self,
        project: &str,
        webhook: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>> {
        Ok(on!(&self.reader, |e| sqlx::query_as(select_deliveries!(
            "WHERE w.project = $1 AND ($2 IS NULL OR w.name = $2)
             ORDER BY d.event_seq DESC, d.created_at DESC LIMIT $3"
        ))
        .bind(project)
        .bind(webhook)
        .bind(limit)
        .fetch_all(e)
        .await)?)
    }

    pub async fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>> {
        Ok(on_writer!(self, |e| sqlx::query_as(select_deliveries!(
            "WHERE d.id = $1"
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }

    /// Subscriptions with a pending delivery due by `now`, enabled and not leased by another
    /// replica.
    pub async fn webhooks_due(&self, now: &str) -> Result<Vec<String>> {
        Ok(on_writer!(self, |e| sqlx::query_scalar(
            "SELECT DISTINCT w.id FROM webhooks w JOIN deliveries d ON d.webhook_id = w.id
             WHERE w.disabled_at IS NULL AND d.status = 'pending' AND d.next_attempt_at <= $1
             AND (w.lease_until IS NULL OR w.lease_until < $1)"
        )
        .bind(now)
        .fetch_all(e)
        .await)?)
    }

    /// Takes the lease of subscription `id` until `until` for `owner`, unless another owner
    /// holds it past `now`; answers whether it was taken.
    pub async fn lease_webhook(
        &self,
        id: &str,
        owner: &str,
        now: &str,
        until: &str,
    ) -> Result<bool> {
        let done = on_writer!(self, |e| sqlx::query(
            "UPDATE webhooks SET lease_owner = $1, lease_until = $2
             WHERE id = $3 AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $1)"
        )
        .bind(owner)
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    pub async fn release_webhook(&self, id: &str, owner: &str) -> Result<()> {
        on_writer!(self, |e| sqlx::query(
            "UPDATE webhooks SET lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2"
        )
        .bind(id)
        .bind(owner)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The oldest pending delivery of subscription `id`: the next one, in event order.
    pub async fn head_delivery(&self, id: &str) -> Result<Option<DeliveryRow>> {
        Ok(on_writer!(self, |e| sqlx::query_as(select_deliveries!(
            "WHERE d.webhook_id = $1 AND d.status = 'pending'
             ORDER BY d.event_seq, d.created_at LIMIT 1"
        ))
        .bind(id)
        .fetch_optional(e)
        .await)?)
    }
}

impl Tx {
    pub async fn webhooks_in_tx(&mut self, project: &str) -> Result<Vec<WebhookRow>> {
        let tables = [Table::Webhooks];
        let cache = self.cache_for(&tables);
        let key = format!("webhooks\0{project}");
        crate::config_cache::read_through(cache.as_deref(), key, &tables, async {
            Ok(in_tx_unflushed!(self, |e| sqlx::query_as(
                select_webhooks!("WHERE project = $1 ORDER BY name")
            )
            .bind(project)
            .fetch_all(e)
            .await)?)
        })
        .await
    }

    /// Every project's subscriptions (for sealing their secrets under a new key).
    pub async fn all_webhooks_in_tx(&mut self) -> Result<Vec<WebhookRow>> {
        Ok(in_tx!(self, |e| sqlx::query_as(select_webhooks!(
            "ORDER BY project, name"
        ))
        .fetch_all(e)
        .await)?)
    }

    /// Replaces a sealed secret (`secret` or `previous_secret`) if it is still `old`.
    pub async fn replace_webhook_secret(
        &mut self,
        id: &str,
        column: &str,
        old: &str,
        new: &str,
    ) -> Result<bool> {
        let done = match column {
            "secret" => execute!(
                self,
                "UPDATE webhooks SET secret = $1 WHERE id = $2 AND secret = $3",
                new,
                id,
                old,
            )?,
            _ => execute!(
                self,
                "UPDATE webhooks SET previous_secret = $1 WHERE id = $2 AND previous_secret = $3",
                new,
                id,
                old,
            )?,
        };
        Ok(done == 1)
    }

    pub async fn insert_webhook(&mut self, w: &WebhookRow) -> Result<()> {
        execute!(
            self,
            "INSERT INTO webhooks (id, project, name, url, events, services, stages, secret_env,
             secret, previous_secret, previous_until, allow_private_network, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &w.id,
            &w.project,
            &w.name,
            &w.url,
            &w.events,
            &w.services,
            &w.stages,
            &w.secret_env,
            &w.secret,
            &w.previous_secret,
            &w.previous_until,
            w.allow_private_network,
            &w.created_at,
        )?;
        Ok(())
    }

    /// Writes what the project file says of a subscription; a changed URL or secret enables
    /// a disabled one again.
    pub async fn update_webhook(&mut self, w: &WebhookRow) -> Result<()> {
        execute!(
            self,
            "UPDATE webhooks SET url = $1, events = $2, services = $3, stages = $4,
             secret_env = $5, secret = $6, previous_secret = $7, previous_until = $8,
             allow_private_network = $9, disabled_at = $10, disabled_reason = $11,
             failing_since = $12 WHERE id = $13",
            &w.url,
            &w.events,
            &w.services,
            &w.stages,
            &w.secret_env,
            &w.secret,
            &w.previous_secret,
            &w.previous_until,
            w.allow_private_network,
            &w.disabled_at,
            &w.disabled_reason,
            &w.failing_since,
            &w.id,
        )?;
        Ok(())
    }

    pub async fn delete_webhook(&mut self, id: &str) -> Result<()> {
        execute!(self, "DELETE FROM deliveries WHERE webhook_id = $1", id)?;
        execute!(self, "DELETE FROM webhooks WHERE id = $1", id)?;
        Ok(())
    }

    /// Inserts an event (its sequence number is the database's to give).
    pub async fn insert_event(&mut self, e: &EventRow) -> Result<()> {
        execute_deferred!(
            self,
            "INSERT INTO events (id, project, type, subject, time, data)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &e.id,
            &e.project,
            &e.kind,
            &e.subject,
            &e.time,
            &e.data,
        )?;
        Ok(())
    }

    /// A pending delivery of the event whose id is `event_id` (inserted before, in this
    /// transaction or earlier).
    pub async fn insert_delivery(
        &mut self,
        id: &str,
        webhook_id: &str,
        event_id: &str,
        at: &str,
    ) -> Result<()> {
        execute_deferred!(
            self,
            "INSERT INTO deliveries (id, webhook_id, event_seq, status, attempts, next_attempt_at,
             created_at) VALUES ($1, $2, (SELECT seq FROM events WHERE id = $3), 'pending', 0,
             $4, $4)",
            id,
            webhook_id,
            event_id,
            at,
        )?;
        Ok(())
    }

    /// Records an attempt of delivery `id`.
    pub async fn record_attempt(&mut self, id: &str, a: &Attempted<'_>) -> Result<()> {
        execute!(
            self,
            "UPDATE deliveries SET status = $1, attempts = $2, next_attempt_at = $3,
             last_status = $4, last_error = $5, last_attempt_at = $6 WHERE id = $7",
            a.status,
            a.attempts,
            a.next_attempt_at,
            a.last_status,
            a.last_error,
            a.at,
            id,
        )?;
        Ok(())
    }

    /// Marks subscription `id` failing since `since` (kept when already failing), or clears it.
    pub async fn set_failing(&mut self, id: &str, since: Option<&str>) -> Result<()> {
        match since {
            Some(since) => execute!(
                self,
                "UPDATE webhooks SET failing_since = COALESCE(failing_since, $1) WHERE id = $2",
                since,
                id,
            )?,
            None => execute!(
                self,
                "UPDATE webhooks SET failing_since = NULL WHERE id = $1",
                id
            )?,
        };
        Ok(())
    }

    pub async fn disable_webhook(&mut self, id: &str, at: &str, reason: &str) -> Result<()> {
        execute!(
            self,
            "UPDATE webhooks SET disabled_at = $1, disabled_reason = $2 WHERE id = $3",
            at,
            reason,
            id,
        )?;
        Ok(())
    }

    /// Sends delivery `id` again: pending, due now, its attempts counted afresh.
    pub async fn redeliver(&mut self, id: &str, at: &str) -> Result<bool> {
        Ok(execute!(
            self,
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1
             WHERE id = $2",
            at,
            id,
        )? == 1)
    }
}
