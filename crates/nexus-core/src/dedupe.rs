//! The dedupe/revision engine (EVENTS.md section 3), pure and storage-agnostic: from the stored state
//! of a `source_id` and an incoming normalized item it decides what to emit and the new state.
//!
//! - identical to what was stored (ignoring `revision`) -> nothing;
//! - changed -> emitted with `revision` = last + 1;
//! - older provider version than the stored one -> dropped (stale);
//! - `deletion` -> emitted once with `revision` = last + 1; the same `source_id` later is new again;
//! - timeseries chunk -> merged with the stored chunk (latest value per `ts` wins), emitted whole
//!   when the merged content changed.
//!
//! State is scoped by the caller per (tenant, connection, source_id); this module never sees the
//! scope, so two tenants cannot share state unless the caller passes the same map.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::adapter::NormalizedItem;
use crate::chunking::merge_chunks;
use crate::items::TimeseriesChunk;
use crate::{EventType, Item, ItemBody};

/// What the engine remembers per `source_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredState {
    /// The event type last emitted for this `source_id` (`deletion` after a delete).
    pub event_type: EventType,
    /// The last emitted revision.
    pub revision: u32,
    /// SHA-256 (hex) of the last emitted item's JSON with `revision` zeroed.
    pub content_hash: String,
    /// The newest provider version (modification time, epoch ms) seen.
    pub provider_version: Option<i64>,
    /// True after a deletion was emitted.
    pub deleted: bool,
    /// For timeseries: the merged chunk as last emitted.
    pub chunk: Option<TimeseriesChunk>,
}

/// The engine's verdict on one incoming item.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Emit this item (revision set, chunk merged).
    Emit(Item),
    /// Identical to what was stored: nothing to emit.
    Unchanged,
    /// Older than the stored provider version: dropped.
    Stale,
}

/// Hash of an item's content, ignoring `revision`.
pub fn content_hash(item: &Item) -> String {
    let mut copy_rev = item.clone();
    copy_rev.revision = 0;
    // Serializing our own types to a Vec cannot fail (no maps with non-string keys, no I/O).
    let bytes = serde_json::to_vec(&copy_rev).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// Decides what to do with `incoming` given the stored state of its `source_id`; returns the
/// decision and the state to store (unchanged state is returned as is).
pub fn decide(
    stored: Option<&StoredState>,
    incoming: NormalizedItem,
) -> (Decision, Option<StoredState>) {
    let NormalizedItem {
        mut item,
        provider_version,
    } = incoming;
    let last_revision = stored.map_or(0, |s| s.revision);

    if let (Some(s), Some(v)) = (stored, provider_version) {
        if s.provider_version.is_some_and(|sv| v < sv) && !s.deleted {
            return (Decision::Stale, Some(s.clone()));
        }
    }

    if let ItemBody::Deletion(_) = item.body {
        if stored.is_some_and(|s| s.deleted) {
            return (Decision::Unchanged, stored.cloned());
        }
        item.revision = last_revision + 1;
        let state = StoredState {
            event_type: EventType::Deletion,
            revision: item.revision,
            content_hash: content_hash(&item),
            provider_version: max_version(
                stored.and_then(|s| s.provider_version),
                provider_version,
            ),
            deleted: true,
            chunk: None,
        };
        return (Decision::Emit(item), Some(state));
    }

    let live = stored.filter(|s| !s.deleted);
    if let (Some(prev), Some(incoming_chunk)) =
        (live.and_then(|s| s.chunk.as_ref()), item.body.chunk_mut())
    {
        *incoming_chunk = merge_chunks(prev, incoming_chunk);
    }

    let hash = content_hash(&item);
    if let Some(s) = live {
        if s.content_hash == hash {
            let mut kept = s.clone();
            kept.provider_version = max_version(s.provider_version, provider_version);
            return (Decision::Unchanged, Some(kept));
        }
    }
    item.revision = last_revision + 1;
    let state = StoredState {
        event_type: item.event_type(),
        revision: item.revision,
        content_hash: hash,
        provider_version: max_version(stored.and_then(|s| s.provider_version), provider_version),
        deleted: false,
        chunk: item.body.chunk().cloned(),
    };
    (Decision::Emit(item), Some(state))
}

fn max_version(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// Applies a batch in order against an in-memory view of the states (keyed by `source_id`), so
/// several items for one `source_id` in a batch fold correctly. Returns the items to emit; `states`
/// holds the new state of every `source_id` touched.
pub fn apply_batch(
    states: &mut HashMap<String, StoredState>,
    items: impl IntoIterator<Item = NormalizedItem>,
) -> Vec<Item> {
    let mut emitted: Vec<Item> = Vec::new();
    for incoming in items {
        let key = incoming.item.source_id.clone();
        let (decision, new_state) = decide(states.get(&key), incoming);
        if let Some(s) = new_state {
            states.insert(key.clone(), s);
        }
        if let Decision::Emit(item) = decision {
            // A later item of the same batch for the same source_id supersedes an earlier one:
            // emit only the final version, with the final revision.
            if let Some(pos) = emitted.iter().position(|e| e.source_id == key) {
                emitted.remove(pos);
            }
            emitted.push(item);
        }
    }
    emitted
}
