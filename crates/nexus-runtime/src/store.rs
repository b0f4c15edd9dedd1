//! The durable state of the gateway behind one object-safe trait, [`Store`], and its domain types.
//!
//! What a store keeps:
//! - **tenants** and **connections** (provider + provider user id -> tenant, user, external ref,
//!   connection id, tokens). Tokens reach the store only as ciphertext ([`ConnectionRecord::sealed_tokens`],
//!   sealed by [`crate::crypto::TokenCipher`]), so no backend ever holds them in clear;
//! - the **inbox** of verified raw requests: [`Store::enqueue`] returns only once they are durable,
//!   so the ingress may answer the provider after it;
//! - the **archive** of raw provider records (re-derivable items, `nexus replay`);
//! - **dedupe state** per (tenant, connection, source_id) and the **outbox**, written together in one
//!   transaction by [`Store::apply`];
//! - **delivery attempts**, **sink state** (disabled after `410 Gone`) and the **quarantine** of
//!   verified requests that failed normalization, with their error.
//!
//! Work is claimed with **leases**: a claim stamps a random token and an expiry on the rows it
//! returns; every completion names the token (a fence) and is refused once another worker holds a
//! newer lease. A worker that stalls past its lease therefore cannot emit: [`Store::apply`] checks the
//! fence in the same transaction as the dedupe state and the outbox. On SQLite the single writer
//! serializes claims; on PostgreSQL the same contract maps to `FOR UPDATE SKIP LOCKED` plus a lease
//! column. Times are epoch milliseconds passed in by the caller (`now`), so behaviour is testable.

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use nexus_core::dedupe::{ItemJson, PreparedItem, StoredState, apply_batch_serialized};
use nexus_core::envelope::{Device, Envelope, Recipient, Source, assemble};
use nexus_core::{Error, ErrorKind, InboundRequest, RawRecord, Result};
use serde::{Deserialize, Serialize};

/// Epoch milliseconds.
pub type Millis = i64;

/// A tenant: the owner of users, connections and sinks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Stable id (`default`, `acme`).
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// When it was first stored.
    pub created_at: Millis,
}

/// Whether a connection may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Usable.
    Active,
    /// The user or the provider revoked it; webhooks for it are quarantined.
    Revoked,
}

impl ConnectionStatus {
    /// Stable name (`active`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Active => "active",
            ConnectionStatus::Revoked => "revoked",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<ConnectionStatus> {
        match s {
            "active" => Some(ConnectionStatus::Active),
            "revoked" => Some(ConnectionStatus::Revoked),
            _ => None,
        }
    }
}

/// A connection as stored: a provider account linked to a tenant's user. Unique on
/// (`provider`, `provider_user_id`).
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionRecord {
    /// Nexus connection id (`conn_...`), the envelope's `connection_id`.
    pub connection_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The user inside the tenant.
    pub user_id: String,
    /// The tenant's own reference for the user.
    pub external_user_ref: String,
    /// Provider id (`oura`).
    pub provider: String,
    /// The provider's id of the user.
    pub provider_user_id: String,
    /// Active or revoked.
    pub status: ConnectionStatus,
    /// The OAuth tokens, encrypted (nonce + ciphertext + tag) by [`crate::crypto::TokenCipher`].
    pub sealed_tokens: Option<Vec<u8>>,
    /// When it was created.
    pub created_at: Millis,
    /// When it last changed.
    pub updated_at: Millis,
}

impl fmt::Debug for ConnectionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionRecord")
            .field("connection_id", &self.connection_id)
            .field("tenant_id", &self.tenant_id)
            .field("user_id", &self.user_id)
            .field("external_user_ref", &self.external_user_ref)
            .field("provider", &self.provider)
            .field("provider_user_id", &self.provider_user_id)
            .field("status", &self.status)
            .field(
                "sealed_tokens",
                &self
                    .sealed_tokens
                    .as_ref()
                    .map(|t| format!("<{} bytes>", t.len())),
            )
            .finish_non_exhaustive()
    }
}

impl ConnectionRecord {
    /// The routing fields of envelopes produced by this connection.
    pub fn recipient(&self) -> Recipient {
        Recipient {
            tenant_id: self.tenant_id.clone(),
            user_id: self.user_id.clone(),
            external_user_ref: self.external_user_ref.clone(),
            connection_id: self.connection_id.clone(),
        }
    }
}

/// A verified request to store in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInboxEntry {
    /// Provider id (the adapter that verified it).
    pub provider: String,
    /// The request exactly as received.
    pub request: InboundRequest,
    /// When it was received.
    pub received_at: Millis,
}

/// A request in the inbox, waiting for a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    /// Id (uuid v7, so ids sort by arrival).
    pub id: String,
    /// Provider id.
    pub provider: String,
    /// The request exactly as received.
    pub request: InboundRequest,
    /// When it was received.
    pub received_at: Millis,
    /// How many times processing was tried and failed retryably.
    pub attempts: u32,
    /// The last retryable error.
    pub last_error: Option<String>,
}

/// A lease on claimed work: the token fences every completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Random token of this claim.
    pub token: String,
    /// Expiry; after it another worker may claim the work again.
    pub until: Millis,
}

/// An inbox entry claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedInbox {
    /// The entry.
    pub entry: InboxEntry,
    /// The lease.
    pub lease: Lease,
}

impl ClaimedInbox {
    /// The fence that completes this claim.
    pub fn fence(&self) -> InboxFence {
        InboxFence {
            inbox_id: self.entry.id.clone(),
            token: self.lease.token.clone(),
        }
    }
}

/// Names a claimed inbox entry and the lease token it was claimed with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InboxFence {
    /// The inbox entry.
    pub inbox_id: String,
    /// The claim's token.
    pub token: String,
}

/// Why a verified request was quarantined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineReason {
    /// The error kind's stable name (`malformed_payload`).
    pub kind: String,
    /// The full error text (provider, field, reason).
    pub message: String,
}

impl QuarantineReason {
    /// From a Nexus error.
    pub fn from_error(e: &Error) -> QuarantineReason {
        QuarantineReason {
            kind: e.kind().as_str().to_owned(),
            message: e.to_string(),
        }
    }
}

/// A quarantined request: kept with its error until it is replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedEntry {
    /// The inbox entry (same id as it had in the inbox).
    pub entry: InboxEntry,
    /// Why.
    pub reason: QuarantineReason,
    /// When it was quarantined.
    pub quarantined_at: Millis,
}

/// A raw provider record to archive, with who it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArchivedRecord {
    /// Provider id.
    pub provider: String,
    /// Tenant.
    pub tenant_id: String,
    /// Connection.
    pub connection_id: String,
    /// The inbox entry it came from, if any.
    pub inbox_id: Option<String>,
    /// The record as received or fetched.
    pub record: RawRecord,
    /// When it was archived.
    pub archived_at: Millis,
    /// True when `record.body` is the body of the inbox request `inbox_id` (push providers send
    /// the data in the webhook itself): a store may then keep the bytes once for both.
    pub body_is_request: bool,
}

/// An archived raw record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedRecord {
    /// Id (uuid v7).
    pub id: String,
    /// Provider id.
    pub provider: String,
    /// Tenant.
    pub tenant_id: String,
    /// Connection.
    pub connection_id: String,
    /// The inbox entry it came from, if any.
    pub inbox_id: Option<String>,
    /// The record.
    pub record: RawRecord,
    /// When it was archived.
    pub archived_at: Millis,
}

/// Which archived records to read (all fields are ANDed; `None` matches everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveFilter {
    /// Provider id.
    pub provider: Option<String>,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Connection.
    pub connection_id: Option<String>,
    /// Archived at or after.
    pub since: Option<Millis>,
    /// Archived before.
    pub until: Option<Millis>,
    /// Only ids greater than this (paging).
    pub after_id: Option<String>,
    /// At most this many (oldest first).
    pub limit: usize,
}

/// Identifies one configured sink of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SinkRef {
    /// The tenant.
    pub tenant_id: String,
    /// The sink's name in the tenant's configuration (`main`).
    pub sink_id: String,
}

impl fmt::Display for SinkRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant_id, self.sink_id)
    }
}

/// The items of one connection to run through dedupe and into the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyGroup {
    /// Provider id.
    pub provider: String,
    /// Who the envelopes are for (the connection's tenant, user, ref, id); also the dedupe scope.
    pub recipient: Recipient,
    /// The notifications that triggered this (`[]` for replay and backfill).
    pub sources: Vec<Source>,
    /// Devices the items may reference.
    pub devices: Vec<Device>,
    /// The normalized items, in order, hashed in advance ([`PreparedItem::new`]) so the hashing
    /// runs on the caller's thread rather than inside the store's transaction.
    pub items: Vec<PreparedItem>,
    /// The tenant's sinks (names) to fan every emitted envelope out to: one outbox row per sink.
    pub sinks: Vec<String>,
}

/// One transaction's worth of normalized items: [`Store::apply`] archives the raw records, loads
/// the dedupe states, runs `nexus_core::dedupe`, writes the new states and the outbox rows, and
/// completes the fenced inbox entry, all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyBatch {
    /// The inbox entry this came from: deleted in the same transaction; if its lease was lost
    /// the whole batch is refused (`Applied::fenced_out`), nothing is written.
    pub fence: Option<InboxFence>,
    /// `emitted_at` of every envelope.
    pub emitted_at: Millis,
    /// Groups, one per connection.
    pub groups: Vec<ApplyGroup>,
    /// Raw records to archive in the same transaction (the records the groups were normalized
    /// from; `[]` for replay). Not written when the batch is fenced out: the worker that holds the
    /// lease archives them.
    pub archive: Vec<NewArchivedRecord>,
}

/// What [`Store::apply`] wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// The envelopes emitted (new items and revisions), in order.
    pub envelopes: Vec<Envelope>,
    /// Outbox rows written (envelopes x sinks).
    pub deliveries: usize,
    /// Items that were identical to the stored state or stale, so not emitted.
    pub suppressed: usize,
    /// True when the fence's lease was lost: nothing was written.
    pub fenced_out: bool,
}

/// An envelope planned for the outbox: the envelope and its exact JSON bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedEnvelope {
    /// The envelope.
    pub envelope: Envelope,
    /// `serde_json` bytes of the envelope, the bytes sinks deliver (and sign).
    pub body: Bytes,
}

/// The pure part of [`Store::apply`] for one group, shared by every backend: given the stored
/// states of the group's source_ids (in `states`, keyed by source_id; updated in place), returns
/// the envelopes to write and how many items were suppressed. A backend calls it inside its
/// transaction, between loading and writing the states. Takes the group by value: its items move
/// into the envelopes, uncopied (the caller keeps what it needs of the rest, such as the sinks).
pub fn plan_group(
    group: ApplyGroup,
    states: &mut HashMap<String, StoredState>,
    emitted_at: Millis,
) -> Result<(Vec<PlannedEnvelope>, usize)> {
    let ApplyGroup {
        provider,
        recipient,
        sources,
        devices,
        items,
        sinks: _,
    } = group;
    let incoming = items.len();
    let emitted = apply_batch_serialized(states, items);
    // Items for the same source_id fold into one emission, so "suppressed" counts inputs that
    // produced no emission of their own.
    let suppressed = incoming.saturating_sub(emitted.len());
    // The JSON the engine hashed, by source_id (one emission per source_id), for the envelopes.
    let mut json: HashMap<String, ItemJson> = HashMap::with_capacity(emitted.len());
    let items = emitted
        .into_iter()
        .map(|(item, j)| {
            json.insert(item.source_id.clone(), j);
            item
        })
        .collect();
    let envelopes = assemble(
        &provider,
        &recipient,
        &sources,
        &devices,
        items,
        emitted_at,
        nexus_core::envelope::new_event_id,
    );
    let planned = envelopes
        .into_iter()
        .map(|mut envelope| {
            let body = envelope_json(&mut envelope, &json).map_err(|e| {
                Error::new(ErrorKind::Internal, "could not serialize an envelope").with_source(e)
            })?;
            Ok(PlannedEnvelope {
                envelope,
                body: Bytes::from(body),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((planned, suppressed))
}

/// The envelope's JSON, byte for byte `serde_json::to_vec(envelope)`, with each item written from
/// the JSON the dedupe engine already made of it (`json`, by source_id) instead of serialized a
/// second time; an item without one is serialized. `data` is the envelope's last field: the rest
/// is serialized with `data` empty (taken out and put back), then the items go between its
/// brackets.
fn envelope_json(
    envelope: &mut Envelope,
    json: &HashMap<String, ItemJson>,
) -> serde_json::Result<Vec<u8>> {
    let data = std::mem::take(&mut envelope.data);
    let head = serde_json::to_vec(&*envelope);
    envelope.data = data;
    let mut out = head?;
    if !out.ends_with(b"[]}") {
        // Not the shape this relies on (a field added after `data`): serialize it all.
        return serde_json::to_vec(&*envelope);
    }
    out.truncate(out.len() - 2);
    for (i, item) in envelope.data.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let written = json
            .get(&item.source_id)
            .is_some_and(|j| j.write_with_revision(item.revision, &mut out));
        if !written {
            serde_json::to_writer(&mut out, item)?;
        }
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// A new, stable delivery id (Standard Webhooks `webhook-id`): `msg_` + a uuid v7 in hex. No dots.
pub fn new_delivery_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}

/// A new row id (uuid v7: sorts by creation time).
pub fn new_row_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A new random lease token.
pub fn new_lease_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// Accepted by the sink.
    Delivered,
    /// Exhausted, permanently refused, or its endpoint was disabled: kept, retryable by command.
    Failed,
}

impl DeliveryState {
    /// Stable name (`pending`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// An outbox row: one envelope for one sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Stable delivery id, the same on every attempt (`webhook-id`).
    pub delivery_id: String,
    /// The sink.
    pub sink: SinkRef,
    /// The envelope's `event_id`.
    pub event_id: String,
    /// The envelope's `event_type`.
    pub event_type: String,
    /// The envelope JSON, exactly the bytes to deliver.
    pub body: Bytes,
    /// Attempts made so far.
    pub attempts: u32,
    /// Where it stands.
    pub state: DeliveryState,
    /// When the next attempt is due (pending rows).
    pub next_attempt_at: Millis,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was written.
    pub created_at: Millis,
}

/// A delivery claimed by a dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The row.
    pub row: OutboxRow,
    /// The lease.
    pub lease: Lease,
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryNext {
    /// Delivered.
    Delivered,
    /// Try again at this time.
    RetryAt(Millis),
    /// Keep as failed (exhausted or permanent).
    Failed,
    /// Keep as failed and disable the sink (`410 Gone`).
    FailedAndDisableSink,
}

/// One attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The delivery.
    pub delivery_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it was made.
    pub at: Millis,
    /// How long it took.
    pub duration_ms: i64,
    /// `delivered`, `retry`, `permanent`, `disable`.
    pub outcome: String,
    /// The error, if it failed.
    pub error: Option<String>,
}

/// The result of one attempt, to record (fenced by the claim's token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryResult {
    /// The delivery.
    pub delivery_id: String,
    /// The claim's token.
    pub token: String,
    /// The attempt.
    pub attempt: DeliveryAttempt,
    /// What happens next.
    pub next: DeliveryNext,
}

/// Which outbox rows to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// One sink.
    pub sink: Option<SinkRef>,
    /// One tenant.
    pub tenant_id: Option<String>,
    /// One state.
    pub state: Option<DeliveryState>,
    /// At most this many (oldest first).
    pub limit: usize,
}

/// Whether a sink is enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkState {
    /// The sink.
    pub sink: SinkRef,
    /// False after `410 Gone` or by command.
    pub enabled: bool,
    /// Why it was disabled.
    pub reason: Option<String>,
    /// When it last changed.
    pub changed_at: Millis,
}

/// How a store's writes have been committed since it was opened, for metrics: how many
/// operations each durable commit carries, and what the commits cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WriteStats {
    /// Transactions committed (each one fsync).
    pub transactions: u64,
    /// Write operations those transactions carried (an ingest, a claim, an apply, ...).
    pub operations: u64,
    /// Time spent committing them (the COMMIT, its fsync included), seconds.
    pub commit_seconds: f64,
}

/// Queue depths, for metrics and readiness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepths {
    /// Inbox entries due now and not leased.
    pub inbox_ready: u64,
    /// Inbox entries waiting for a retry time.
    pub inbox_delayed: u64,
    /// Inbox entries under a live lease.
    pub inbox_leased: u64,
    /// Quarantined requests.
    pub quarantined: u64,
    /// Outbox rows pending (due or not).
    pub outbox_pending: u64,
    /// Outbox rows failed.
    pub outbox_failed: u64,
    /// Outbox rows delivered (kept until pruned).
    pub outbox_delivered: u64,
    /// Age of the oldest pending outbox row, ms (0 when none).
    pub oldest_pending_ms: i64,
}

/// What [`Store::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Delivered outbox rows.
    pub deliveries: u64,
    /// Archived records.
    pub archived: u64,
}

/// The durable state of the gateway. Object-safe (`Arc<dyn Store>`); every method is one
/// transaction. Writes return only once durable.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Backend name (`sqlite`).
    fn backend(&self) -> &'static str;

    /// Checks that the store answers (readiness).
    async fn ping(&self) -> Result<()>;

    // ---- tenants and connections ----

    /// Inserts or updates a tenant (by id; `created_at` of an existing tenant is kept).
    async fn upsert_tenant(&self, tenant: &Tenant) -> Result<()>;

    /// Every tenant, by id.
    async fn tenants(&self) -> Result<Vec<Tenant>>;

    /// Inserts or updates a connection. Unique on `connection_id` and on
    /// (`provider`, `provider_user_id`): linking a provider user already linked under another
    /// connection id is a `Config` error.
    async fn upsert_connection(&self, connection: &ConnectionRecord) -> Result<()>;

    /// A connection by id.
    async fn connection(&self, connection_id: &str) -> Result<Option<ConnectionRecord>>;

    /// The connection of a provider user.
    async fn connection_for(
        &self,
        provider: &str,
        provider_user_id: &str,
    ) -> Result<Option<ConnectionRecord>>;

    /// Connections, of one tenant or all, by id.
    async fn connections(&self, tenant_id: Option<&str>) -> Result<Vec<ConnectionRecord>>;

    // ---- inbox and quarantine ----

    /// Stores verified requests; returns their ids once they are durable (the ingress answers the
    /// provider after this).
    async fn enqueue(&self, entries: Vec<NewInboxEntry>) -> Result<Vec<String>>;

    /// Claims up to `limit` due inbox entries (oldest first) that no live lease holds, for
    /// `lease_ms`. `owner` names the worker (diagnostics).
    async fn claim_inbox(
        &self,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: Millis,
    ) -> Result<Vec<ClaimedInbox>>;

    /// Releases a claimed entry for a later retry (`not_before`), counting the attempt. Returns
    /// false when the lease was lost (nothing changed).
    async fn retry_inbox(
        &self,
        fence: &InboxFence,
        error: &str,
        not_before: Millis,
    ) -> Result<bool>;

    /// Deletes a claimed entry that needed no output (nothing to emit). False when the lease was lost.
    async fn complete_inbox(&self, fence: &InboxFence) -> Result<bool>;

    /// Moves a claimed entry to the quarantine with its error. False when the lease was lost.
    async fn quarantine_inbox(
        &self,
        fence: &InboxFence,
        reason: &QuarantineReason,
        now: Millis,
    ) -> Result<bool>;

    /// Quarantined entries, oldest first, at most `limit`.
    async fn quarantined(&self, limit: usize) -> Result<Vec<QuarantinedEntry>>;

    /// Moves quarantined entries (the given ids, or all when `None`) back into the inbox, due now,
    /// attempts reset. Returns how many moved.
    async fn requeue_quarantined(&self, ids: Option<&[String]>, now: Millis) -> Result<usize>;

    // ---- archive ----

    /// Archives raw records; returns their ids once durable.
    async fn archive(&self, records: Vec<NewArchivedRecord>) -> Result<Vec<String>>;

    /// Archived records matching `filter`, oldest first.
    async fn archived(&self, filter: &ArchiveFilter) -> Result<Vec<ArchivedRecord>>;

    // ---- dedupe and outbox ----

    /// In ONE transaction: checks the fence (if any), archives the batch's raw records, loads the
    /// dedupe states of every item's
    /// (tenant, connection, source_id), runs [`plan_group`] (`nexus_core::dedupe`), writes the new
    /// states and one outbox row per emitted envelope and sink, and deletes the fenced inbox entry.
    async fn apply(&self, batch: ApplyBatch) -> Result<Applied>;

    /// The dedupe state of one source_id in one (tenant, connection) scope.
    async fn dedupe_state(
        &self,
        tenant_id: &str,
        connection_id: &str,
        source_id: &str,
    ) -> Result<Option<StoredState>>;

    /// Claims up to `limit` due pending deliveries of one sink (oldest first) that no live lease
    /// holds, for `lease_ms`. Returns nothing while the sink is disabled.
    async fn claim_deliveries(
        &self,
        sink: &SinkRef,
        limit: usize,
        lease_ms: i64,
        now: Millis,
    ) -> Result<Vec<ClaimedDelivery>>;

    /// Records attempts and their consequences, all in one transaction. A result whose token no
    /// longer holds the row's lease is ignored; returns how many were applied.
    async fn record_deliveries(&self, results: Vec<DeliveryResult>) -> Result<usize>;

    /// Outbox rows matching `filter`, oldest first.
    async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<OutboxRow>>;

    /// The attempts of one delivery, in order.
    async fn attempts(&self, delivery_id: &str) -> Result<Vec<DeliveryAttempt>>;

    /// Makes failed deliveries (of one sink, or all) pending again, due now, attempts reset.
    /// Returns how many.
    async fn retry_failed(&self, sink: Option<&SinkRef>, now: Millis) -> Result<usize>;

    /// Enables or disables a sink.
    async fn set_sink_enabled(
        &self,
        sink: &SinkRef,
        enabled: bool,
        reason: Option<&str>,
        now: Millis,
    ) -> Result<()>;

    /// Every sink whose state was ever set.
    async fn sink_states(&self) -> Result<Vec<SinkState>>;

    /// Queue depths.
    async fn depths(&self, now: Millis) -> Result<QueueDepths>;

    /// How writes have been committed, when the backend counts it (`None`: it does not).
    fn write_stats(&self) -> Option<WriteStats> {
        None
    }

    /// Retention: deletes delivered outbox rows (and their attempts) last changed before
    /// `delivered_before`, and archived records archived before `archive_before` when given.
    /// Pending and failed deliveries, the inbox and the quarantine are never pruned. Added after
    /// the first release of the trait, so it has a default that prunes nothing; backends override it.
    async fn prune(
        &self,
        delivered_before: Millis,
        archive_before: Option<Millis>,
    ) -> Result<PruneReport> {
        let _ = (delivered_before, archive_before);
        Ok(PruneReport::default())
    }
}

/// A `Storage` error with a reason and a cause.
pub fn storage_error(
    message: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::new(ErrorKind::Storage, message).with_source(source)
}

#[cfg(test)]
mod tests {
    use nexus_core::chunking::{SeriesSpec, chunk_samples};
    use nexus_core::envelope::Device;
    use nexus_core::items::{Profile, Sample};
    use nexus_core::{EventType, Item, ItemBody, NormalizedItem};

    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn profile(native: &str, weight: f64) -> NormalizedItem {
        let body = ItemBody::Profile(Profile {
            provider_user_id: Some(native.into()),
            birth_year: None,
            sex: None,
            height_m: None,
            weight_kg: Some(weight),
        });
        let mut item = Item::new("fake", native, T0, body);
        item.device_id = Some("dev-1".into());
        NormalizedItem {
            item,
            provider_version: None,
        }
    }

    fn group(items: Vec<NormalizedItem>) -> ApplyGroup {
        let items = items.into_iter().map(PreparedItem::new).collect();
        ApplyGroup {
            provider: "fake".into(),
            recipient: Recipient {
                tenant_id: "t".into(),
                user_id: "u".into(),
                external_user_ref: "ext \"quoted\"".into(),
                connection_id: "c".into(),
            },
            sources: vec![Source {
                provider_notification_id: Some("n-1".into()),
                fetched_at: T0,
            }],
            devices: vec![Device {
                device_id: "dev-1".into(),
                name: Some("Ring".into()),
                model: None,
                provider_device_id: None,
            }],
            items,
            sinks: vec!["main".into()],
        }
    }

    /// Sinks sign and deliver `body`: it must be exactly the envelope's own JSON, although the
    /// items in it are written from the dedupe engine's JSON rather than serialized again.
    #[test]
    fn a_planned_body_is_the_envelopes_json_byte_for_byte() {
        let spec = SeriesSpec::new("fake", EventType::HeartRateSeries, "u1");
        let chunk = |bpm: f64| {
            chunk_samples(
                &spec,
                vec![Sample::one(T0, bpm), Sample::one(T0 + 5_000, 61.0)],
            )
            .into_iter()
            .map(|item| NormalizedItem {
                item,
                provider_version: None,
            })
        };
        let mut states = HashMap::new();
        let mut bodies = 0;
        // Revision 1 of each, then revisions 2..=11 of one, then a deletion: several envelopes
        // (event types) per group and multi-digit revisions.
        let mut rounds = vec![
            [profile("a", 70.0), profile("b", 80.0)]
                .into_iter()
                .chain(chunk(60.0))
                .collect::<Vec<_>>(),
        ];
        rounds.extend((1..=10).map(|i| {
            std::iter::once(profile("a", 70.0 + f64::from(i)))
                .chain(chunk(60.0 + f64::from(i)))
                .collect()
        }));
        rounds.push(vec![NormalizedItem {
            item: Item::deletion("fake", EventType::Profile, "b", T0 + 1),
            provider_version: None,
        }]);
        for items in rounds {
            let (planned, _) = plan_group(group(items), &mut states, T0).unwrap();
            for p in planned {
                assert_eq!(
                    String::from_utf8(p.body.to_vec()).unwrap(),
                    serde_json::to_string(&p.envelope).unwrap()
                );
                bodies += 1;
            }
        }
        assert_eq!(bodies, 2 + 10 * 2 + 1);
        let last_a = states.values().map(|s| s.revision).max();
        assert_eq!(last_a, Some(11));
    }

    #[test]
    fn an_item_without_the_engines_json_is_serialized() {
        let (mut planned, _) =
            plan_group(group(vec![profile("a", 70.0)]), &mut HashMap::new(), T0).unwrap();
        let mut envelope = planned.remove(0).envelope;
        let body = envelope_json(&mut envelope, &HashMap::new()).unwrap();
        assert_eq!(body, serde_json::to_vec(&envelope).unwrap());
        assert_eq!(envelope.data.len(), 1, "the items are put back");
    }
}
