//! *wharf extension*: the event stream, subscriptions and their deliveries.

use super::{AppState, Path, Query};
use crate::domain::auth::AuthUser;
use crate::error::Result;
use crate::validate::require;
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use wharf_api::{CloudEvent, DeliveryView, WebhookView};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventsQuery {
    project: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
}

/// `GET /wharf/v1/events?project=P[&after=SEQ][&limit=N]`: the project's events after `after`
/// (`wharfseq`), oldest first; a poller reads the stream the webhooks are sent from.
pub async fn events(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<Vec<CloudEvent>>> {
    let project = require("project", query.project.as_deref())?;
    let after = query.after.unwrap_or(0);
    let limit = super::list_limit(query.limit, 100)?;
    Ok(Json(state.cp.events.events(&project, after, limit).await?))
}

/// `GET /wharf/v1/projects/{project}/webhooks`.
pub async fn webhooks(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<Vec<WebhookView>>> {
    Ok(Json(state.cp.events.webhooks(&project).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveriesQuery {
    webhook: Option<String>,
    limit: Option<i64>,
}

/// `GET /wharf/v1/projects/{project}/deliveries[?webhook=NAME][&limit=N]`, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Json<Vec<DeliveryView>>> {
    let limit = super::list_limit(query.limit, 100)?;
    let rows = state
        .cp
        .events
        .deliveries(&project, query.webhook.as_deref(), limit)
        .await?;
    Ok(Json(rows))
}

/// `POST /wharf/v1/deliveries/{id}/redeliver`.
pub async fn redeliver(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path(id): Path<String>,
) -> Result<Json<DeliveryView>> {
    Ok(Json(state.cp.events.redeliver(&user, &id).await?))
}

/// `POST /wharf/v1/projects/{project}/webhooks/{name}/test`: a `webhook.test` event, to that
/// subscription only.
pub async fn test(
    State(state): State<AppState>,
    Extension(user): Extension<AuthUser>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<DeliveryView>> {
    Ok(Json(state.cp.events.test(&user, &project, &name).await?))
}
