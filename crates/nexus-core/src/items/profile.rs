use serde::{Deserialize, Serialize};

use crate::EventType;

/// The user's profile at the provider, event type `profile`, stream `profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Profile {
    /// The provider's user id.
    pub provider_user_id: Option<String>,
    /// Year of birth.
    pub birth_year: Option<i32>,
    /// Sex as the provider reports it (`male`, `female`, ...).
    pub sex: Option<String>,
    /// Height, meters.
    pub height_m: Option<f64>,
    /// Weight, kg.
    pub weight_kg: Option<f64>,
}

/// The state of a connection, event type `connection`, stream `profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Connection {
    /// The new state.
    pub status: ConnectionStatus,
    /// The provider's message, if any.
    pub reason: Option<String>,
    /// The scopes granted, if known.
    pub scopes: Option<Vec<String>>,
    /// Scopes added by this change.
    pub scopes_added: Option<Vec<String>>,
    /// Scopes removed by this change.
    pub scopes_removed: Option<Vec<String>>,
    /// The provider user id this connection had before a re-authentication.
    pub previous_provider_user_id: Option<String>,
    /// When the change happened, epoch ms.
    pub occurred_at: Option<i64>,
}

/// Connection states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// The user connected.
    Connected,
    /// The user connected again with the same account.
    Reconnected,
    /// The user disconnected through the provider or the aggregator.
    Disconnected,
    /// The user revoked access at the provider.
    Revoked,
    /// Data access fails for now (token errors, 401/403 from the provider).
    Degraded,
    /// An authentication attempt failed.
    AuthFailed,
    /// The granted permissions changed.
    PermissionsChanged,
    /// The account has no data source linked.
    NoDataSource,
}

/// Progress of a historical pull or backfill, event type `sync`, stream `profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sync {
    /// The state.
    pub status: SyncStatus,
    /// The resource being synced, as a Nexus event type, if known.
    pub resource: Option<EventType>,
    /// Start of the requested range, epoch ms.
    pub range_start_ts: Option<i64>,
    /// End of the requested range, epoch ms.
    pub range_end_ts: Option<i64>,
    /// How many payloads will follow, if the provider says.
    pub expected_payloads: Option<i64>,
    /// When the provider will retry, epoch ms.
    pub retry_at_ts: Option<i64>,
    /// The provider's request reference.
    pub reference: Option<String>,
}

/// Sync states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// The pull was accepted.
    Started,
    /// Data is being sent.
    InProgress,
    /// All data was sent.
    Completed,
    /// The provider hit a rate limit and will retry.
    RateLimited,
    /// The pull failed.
    Failed,
}

/// A record the provider deleted, event type `deletion`. It carries the deleted item's
/// `source_id` and travels in the deleted type's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Deletion {
    /// The event type of the deleted item.
    pub deleted_event_type: EventType,
    /// When the deletion happened (or was learned of), epoch ms.
    pub deleted_at: i64,
}
