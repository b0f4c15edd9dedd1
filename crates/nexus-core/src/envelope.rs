//! The event envelope (EVENTS.md section 1) and how items are grouped into envelopes.

use serde::{Deserialize, Serialize};

use crate::{EventType, Item, Stream};

/// `schema_version` of every envelope.
pub const SCHEMA_VERSION: &str = "1.1";

/// One emitted event. Fields serialize in exactly this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Envelope {
    /// New for every emission (uuid).
    pub event_id: String,
    /// `"1.1"`.
    pub schema_version: String,
    /// The type of every item in `data`.
    pub event_type: EventType,
    /// The stream tier.
    pub stream: Stream,
    /// Provider id.
    pub provider: String,
    /// The notifications that triggered this event; empty for backfill, replay, manual fetches.
    pub sources: Vec<Source>,
    /// The devices the items refer to, each once.
    pub devices: Vec<Device>,
    /// Target tenant.
    pub tenant_id: String,
    /// The user inside the tenant.
    pub user_id: String,
    /// The tenant's own reference for the user.
    pub external_user_ref: String,
    /// The connection that produced the data.
    pub connection_id: String,
    /// When the event was emitted, epoch ms.
    pub emitted_at: i64,
    /// One or more items of `event_type`.
    ///
    /// The derived `JsonSchema` of [`Envelope`] leaves items open; the full contract, items
    /// included, is [`crate::schema::envelope_schema`].
    #[schemars(with = "Vec<serde_json::Value>")]
    pub data: Vec<Item>,
}

/// A provider notification that triggered an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Source {
    /// The provider's notification id.
    pub provider_notification_id: Option<String>,
    /// When the data was fetched in response, epoch ms.
    pub fetched_at: i64,
}

/// A device in an envelope's registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Device {
    /// Nexus-scoped device id (see [`crate::identity::device_id`]).
    pub device_id: String,
    /// Display name.
    pub name: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// The provider's own device id.
    pub provider_device_id: Option<String>,
}

/// Who an envelope is for: the routing fields of the envelope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Recipient {
    /// Target tenant.
    pub tenant_id: String,
    /// The user inside the tenant.
    pub user_id: String,
    /// The tenant's own reference for the user.
    pub external_user_ref: String,
    /// The connection that produced the data.
    pub connection_id: String,
}

/// Groups items into envelopes: one envelope per (event type, stream), in order of first
/// appearance, each with the devices its items reference (each once, in order of first reference).
/// `new_event_id` is called once per envelope.
pub fn assemble(
    provider: &str,
    recipient: &Recipient,
    sources: &[Source],
    devices: &[Device],
    items: Vec<Item>,
    emitted_at: i64,
    mut new_event_id: impl FnMut() -> String,
) -> Vec<Envelope> {
    let mut groups: Vec<((EventType, Stream), Vec<Item>)> = Vec::new();
    for item in items {
        let key = (item.event_type(), item.stream());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(item),
            None => groups.push((key, vec![item])),
        }
    }
    groups
        .into_iter()
        .map(|((event_type, stream), data)| {
            let mut used: Vec<Device> = Vec::new();
            for item in &data {
                if let Some(id) = &item.device_id {
                    if used.iter().any(|d| &d.device_id == id) {
                        continue;
                    }
                    let device = devices
                        .iter()
                        .find(|d| &d.device_id == id)
                        .cloned()
                        .unwrap_or_else(|| Device {
                            device_id: id.clone(),
                            name: None,
                            model: None,
                            provider_device_id: None,
                        });
                    used.push(device);
                }
            }
            Envelope {
                event_id: new_event_id(),
                schema_version: SCHEMA_VERSION.to_owned(),
                event_type,
                stream,
                provider: provider.to_owned(),
                sources: sources.to_vec(),
                devices: used,
                tenant_id: recipient.tenant_id.clone(),
                user_id: recipient.user_id.clone(),
                external_user_ref: recipient.external_user_ref.clone(),
                connection_id: recipient.connection_id.clone(),
                emitted_at,
                data,
            }
        })
        .collect()
}

/// A fresh random event id (uuid v4).
pub fn new_event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
