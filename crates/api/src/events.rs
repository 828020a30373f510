//! *extension*: events and webhooks. Every change of a project is an event, a CloudEvents 1.0
//! structured JSON document; `[[webhooks]]` subscriptions receive the ones they ask for,
//! signed as Standard Webhooks are (`webhook-id`, `webhook-timestamp`, `webhook-signature`).

use serde::{Deserialize, Serialize};

/// Every event type, as subscriptions name them.
pub const EVENT_TYPES: &[&str] = &[
    "build.registered",
    "build.promoted",
    "build.attached",
    "build.rolled_back",
    "build.reclassified",
    "promotion.requested",
    "promotion.approved",
    "promotion.rejected",
    "promotion.completed",
    "stage.changed",
    "strategy.changed",
    "registry.manifest_pushed",
];

/// The type of the event `wharf webhooks test` sends.
pub const TEST_EVENT_TYPE: &str = "webhook.test";

/// `[[webhooks]]` in the project file: who is told of which changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEntry {
    /// Names the subscription in the CLI, the API, the UI and the audit trail.
    pub name: String,
    /// `https://…`; plain `http://` only with `allow_private_network`.
    pub url: String,
    /// Event types (see [`EVENT_TYPES`]); `*` for every one.
    pub events: Vec<String>,
    /// The variable of `wharf serve`'s environment that holds the secret (`whsec_…`), read
    /// when the file is applied, and sealed at rest.
    pub secret_env: String,
    /// Allow loopback and private addresses (tests, in-cluster receivers).
    #[serde(default)]
    pub allow_private_network: bool,
    /// Only events about these services (none: every one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Only events about these stages (none: every one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
}

/// An event as delivered and as `GET /wharf/v1/events` answers it: a CloudEvents 1.0
/// structured JSON event, with wharf's sequence number beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub time: String,
    pub subject: String,
    pub datacontenttype: String,
    pub data: serde_json::Value,
    /// *extension*: the event's place in the control plane's stream (`?after=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wharfseq: Option<i64>,
}

/// A subscription as the API shows it (never its secret).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub project: String,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub stages: Vec<String>,
    pub secret_env: String,
    pub allow_private_network: bool,
    /// A secret rotated recently: the old one also signs until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

/// One event's delivery to one subscription.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub id: String,
    pub webhook: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<String>,
    pub next_attempt_at: String,
    pub created_at: String,
}
