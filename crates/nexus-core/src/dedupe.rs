//! The dedupe/revision engine (EVENTS.md sections 3 and 4), pure and storage-agnostic: from the
//! stored state of a `source_id` and an incoming normalized item it decides what to emit and the
//! new state.
//!
//! - identical to what was stored, ignoring `revision` -> nothing;
//! - changed -> emitted with `revision` = last + 1;
//! - an older provider version (modification time) than the newest one seen -> dropped (stale);
//!   this holds after a deletion too, so a late copy of a deleted record does not resurrect it;
//! - `deletion` -> emitted once with the deleted item's `source_id` and `revision` = last + 1; a
//!   repeated deletion emits nothing; the same `source_id` appearing again later (with a version
//!   not older than the newest seen) is a new revision;
//! - timeseries chunk -> merged with the stored chunk, emitted whole (every sample of the window,
//!   sorted, one per `ts`) when the merged content changed. The latest value per `ts` wins:
//!   where both the stored sample and the incoming one have a provider version, the higher version
//!   wins (equal: the incoming one); otherwise the later arrival wins. A whole chunk is never
//!   dropped as stale, because an older batch may still bring samples the window lacks; only its
//!   samples that lost to newer ones are;
//! - a provider deletion of samples ([`remove_samples`]) -> the chunk re-emits whole without them
//!   with the next revision, or becomes a `deletion` when left empty.
//!
//! Consequences (property-tested below): re-delivering versioned records in any order, any number
//! of times, ends in the same state (the highest version; per `ts` for timeseries); revisions of a
//! `source_id` grow by exactly one per emission; folding the emitted items by `source_id` gives the
//! stored state.
//!
//! **Scope is the caller's job.** EVENTS.md keeps dedupe state per `(tenant_id, connection_id,
//! source_id)`. This module only sees `source_id`s: the caller keeps one state map (or one key
//! prefix) per `(tenant_id, connection_id)` and passes the right one, so two tenants receiving the
//! same provider data each get revision 1.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::adapter::NormalizedItem;
use crate::chunking::dedupe_samples;
use crate::items::{Sample, TimeseriesChunk};
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
    /// For timeseries: the provider version each sample of `chunk` came with, by `ts` (samples
    /// that came without one are absent), and the version of each provider deletion of a sample
    /// (a `ts` here without a sample in `chunk`). Lets an older batch fill gaps without
    /// overwriting newer values or bringing deleted samples back.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sample_versions: BTreeMap<i64, i64>,
}

/// The engine's verdict on one incoming item.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one decision per item, moved once: boxing buys nothing
pub enum Decision {
    /// Emit this item (revision set, chunk merged).
    Emit(Item),
    /// Identical to what was stored: nothing to emit.
    Unchanged,
    /// Older than the stored provider version: dropped.
    Stale,
}

/// Hash of an item's content, ignoring `revision`: the SHA-256 of its JSON with `revision` 0.
pub fn content_hash(item: &Item) -> String {
    content_hash_into(item, &mut Vec::new())
}

/// [`content_hash`], leaving the JSON it hashed (the item with `revision` 0) in `json`, so an
/// emitted item is serialized once for its hash and its envelope ([`ItemJson`]).
fn content_hash_into(item: &Item, json: &mut Vec<u8>) -> String {
    json.clear();
    // Serializing our own types into a Vec cannot fail (no maps with non-string keys).
    let _ = serde_json::to_writer(&mut *json, &item.view_with_revision(0));
    crate::identity::digest_hex(&Sha256::digest(json.as_slice()).into())
}

/// An emitted item's JSON as the engine hashed it (with `revision` 0), to be written into its
/// envelope at the item's real revision without serializing the item again (see
/// [`crate::envelope::to_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemJson(Vec<u8>);

impl ItemJson {
    /// Appends the item's JSON with `revision` set to `revision` to `out`. Returns false, writing
    /// nothing, when the JSON has no top-level `"revision":0` (not one the engine made).
    ///
    /// The first `"revision":` in the bytes is the item's own: the fields serialized before it
    /// are strings and numbers, and inside a JSON string every `"` is escaped (`\"`), so the
    /// sequence cannot start there.
    pub fn write_with_revision(&self, revision: u32, out: &mut Vec<u8>) -> bool {
        const FIELD: &[u8] = b"\"revision\":0";
        // Only where a `"` is: a few dozen places before the field, not every byte.
        let Some(at) = self
            .0
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'"')
            .map(|(i, _)| i)
            .find(|i| self.0[*i..].starts_with(FIELD))
        else {
            return false;
        };
        let digit = at + FIELD.len() - 1;
        out.extend_from_slice(&self.0[..digit]);
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{revision}");
        out.extend_from_slice(&self.0[digit + 1..]);
        true
    }
}

/// An incoming item with its content hash made in advance, before the store's transaction: the
/// engine uses it wherever the item it would hash has that same content (every item except a
/// chunk whose merge with the stored chunk changed it), so the hashing need not run inside the
/// single writer's transaction. [`PreparedItem::new`] hashes; `From<NormalizedItem>` does not.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedItem {
    /// The item as normalized (a chunk's samples sorted, one per `ts`, by [`PreparedItem::new`]).
    pub incoming: NormalizedItem,
    /// Its content hash and the JSON hashed.
    hashed: Option<(String, ItemJson)>,
}

impl PreparedItem {
    /// Hashes `incoming` (a chunk's samples first sorted and deduplicated, as the engine would).
    pub fn new(mut incoming: NormalizedItem) -> PreparedItem {
        if let Some(chunk) = incoming.item.body.chunk_mut() {
            dedupe_samples(&mut chunk.samples);
        }
        let mut json = Vec::new();
        let hash = content_hash_into(&incoming.item, &mut json);
        PreparedItem {
            incoming,
            hashed: Some((hash, ItemJson(json))),
        }
    }
}

impl From<NormalizedItem> for PreparedItem {
    /// Not hashed in advance: the engine hashes it.
    fn from(incoming: NormalizedItem) -> PreparedItem {
        PreparedItem {
            incoming,
            hashed: None,
        }
    }
}

fn is_older(incoming: Option<i64>, newest_seen: Option<i64>) -> bool {
    matches!((incoming, newest_seen), (Some(v), Some(seen)) if v < seen)
}

fn max_version(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// Decides what to do with `incoming` given the stored state of its `source_id`; returns the
/// decision and the state to store (always `Some`; for `Unchanged` and `Stale` it may still differ
/// from `stored` in bookkeeping such as the newest provider version seen).
pub fn decide(
    stored: Option<&StoredState>,
    incoming: NormalizedItem,
) -> (Decision, Option<StoredState>) {
    let (decision, state, _) = decide_into(stored, incoming.into(), &mut Vec::new());
    (decision, state)
}

/// [`decide`] on a [`PreparedItem`], also returning the emitted item's JSON (with `revision` 0,
/// as hashed) when the decision is [`Decision::Emit`]. `scratch` is where an item not hashed in
/// advance is serialized.
fn decide_into(
    stored: Option<&StoredState>,
    incoming: PreparedItem,
    scratch: &mut Vec<u8>,
) -> (Decision, Option<StoredState>, Option<ItemJson>) {
    let PreparedItem {
        incoming: NormalizedItem {
            mut item,
            provider_version,
        },
        mut hashed,
    } = incoming;
    // The hash of `item` as it stands: the one made in advance, or made now into `scratch`.
    let mut hash_now = |item: &Item, hashed: Option<(String, ItemJson)>| match hashed {
        Some((hash, json)) => (hash, Some(json)),
        None => (content_hash_into(item, scratch), None),
    };
    let last_revision = stored.map_or(0, |s| s.revision);
    let newest_seen = stored.and_then(|s| s.provider_version);
    let version = max_version(newest_seen, provider_version);
    let live = stored.filter(|s| !s.deleted);
    let is_chunk = item.body.chunk().is_some();

    // A live chunk is never stale as a whole (see the module docs); everything else is.
    if is_older(provider_version, newest_seen) && !(is_chunk && live.is_some()) {
        return (Decision::Stale, stored.cloned(), None);
    }

    if let ItemBody::Deletion(_) = item.body {
        if let Some(s) = stored.filter(|s| s.deleted) {
            let mut kept = s.clone();
            kept.provider_version = version;
            return (Decision::Unchanged, Some(kept), None);
        }
        item.revision = last_revision + 1;
        let (hash, made) = hash_now(&item, hashed);
        let state = StoredState {
            event_type: EventType::Deletion,
            revision: item.revision,
            content_hash: hash,
            provider_version: version,
            deleted: true,
            chunk: None,
            sample_versions: BTreeMap::new(),
        };
        let json = made.unwrap_or_else(|| ItemJson(scratch.clone()));
        return (Decision::Emit(item), Some(state), Some(json));
    }

    let mut sample_versions = BTreeMap::new();
    if let Some(chunk) = item.body.chunk_mut() {
        let stored_chunk = live.and_then(|s| s.chunk.as_ref().map(|c| (s, c)));
        match stored_chunk {
            Some((s, prev)) => {
                let older = is_older(provider_version, newest_seen);
                let (merged, versions) =
                    merge_versioned(prev, &s.sample_versions, chunk, provider_version, older);
                if merged != *chunk {
                    // The hash made in advance is not this content's.
                    hashed = None;
                }
                *chunk = merged;
                sample_versions = versions;
            }
            None => {
                dedupe_samples(&mut chunk.samples);
                if let Some(v) = provider_version {
                    sample_versions = chunk.samples.iter().map(|s| (s.ts, v)).collect();
                }
            }
        }
    }

    let (hash, made) = hash_now(&item, hashed);
    if let Some(s) = live.filter(|s| s.content_hash == hash) {
        let mut kept = s.clone();
        kept.provider_version = version;
        if is_chunk {
            kept.sample_versions = sample_versions;
        }
        let verdict = if is_older(provider_version, newest_seen) {
            Decision::Stale
        } else {
            Decision::Unchanged
        };
        return (verdict, Some(kept), None);
    }
    item.revision = last_revision + 1;
    let state = StoredState {
        event_type: item.event_type(),
        revision: item.revision,
        content_hash: hash,
        provider_version: version,
        deleted: false,
        chunk: item.body.chunk().cloned(),
        sample_versions,
    };
    let json = made.unwrap_or_else(|| ItemJson(scratch.clone()));
    (Decision::Emit(item), Some(state), Some(json))
}

/// Merges `incoming` (whose samples carry `version`) into `stored` (whose samples carry
/// `stored_versions`): per `ts`, the higher version wins, the incoming sample on a tie or where
/// either has no version. Window fields, `day_complete`, `resolution_s` and `columns` come from
/// the incoming chunk where it has them, unless it is `older` than the newest version seen, in
/// which case the stored ones are kept where set.
fn merge_versioned(
    stored: &TimeseriesChunk,
    stored_versions: &BTreeMap<i64, i64>,
    incoming: &TimeseriesChunk,
    version: Option<i64>,
    older: bool,
) -> (TimeseriesChunk, BTreeMap<i64, i64>) {
    let mut incoming_samples = incoming.samples.clone();
    dedupe_samples(&mut incoming_samples);
    let mut samples: BTreeMap<i64, Sample> =
        stored.samples.iter().map(|s| (s.ts, s.clone())).collect();
    let mut versions = stored_versions.clone();
    for sample in incoming_samples {
        let wins = match (version, versions.get(&sample.ts)) {
            (Some(v), Some(seen)) => v >= *seen,
            _ => true,
        };
        if wins {
            match version {
                Some(v) => versions.insert(sample.ts, v),
                None => versions.remove(&sample.ts),
            };
            samples.insert(sample.ts, sample);
        }
    }

    fn pick<T: Clone>(newer: &Option<T>, other: &Option<T>) -> Option<T> {
        newer.clone().or_else(|| other.clone())
    }
    let (first, second) = if older {
        (stored, incoming)
    } else {
        (incoming, stored)
    };
    let merged = TimeseriesChunk {
        window_start: pick(&first.window_start, &second.window_start),
        window_end: pick(&first.window_end, &second.window_end),
        chunk_index: pick(&first.chunk_index, &second.chunk_index),
        day_complete: pick(&first.day_complete, &second.day_complete),
        resolution_s: pick(&first.resolution_s, &second.resolution_s),
        columns: if first.columns.is_empty() {
            second.columns.clone()
        } else {
            first.columns.clone()
        },
        samples: samples.into_values().collect(),
    };
    (merged, versions)
}

/// A provider deletion of samples (EVENTS.md section 4; e.g. Google Health `DELETE` over an
/// interval), applied to one chunk: removes the stored samples with `from_ts <= ts < to_ts`.
///
/// `chunk` names the chunk (its `source_id`, `provider_ref`, device, capture mode and
/// `payload_ts`; its samples are ignored), typically built like any chunk of the series. When
/// samples were removed, the chunk re-emits whole with the next revision; a chunk left empty
/// becomes a `deletion` (the chunk's `source_id`, `deleted_at`). Nothing stored, nothing in the
/// interval, or an already deleted chunk: `Unchanged`. A `provider_version` older than the newest
/// seen: `Stale`. The removed samples are remembered with `provider_version` (when given), so a
/// re-delivered older batch does not bring them back; a newer one may.
pub fn remove_samples(
    stored: Option<&StoredState>,
    chunk: Item,
    from_ts: i64,
    to_ts: i64,
    deleted_at: i64,
    provider_version: Option<i64>,
) -> (Decision, Option<StoredState>) {
    let Some(s) = stored.filter(|s| !s.deleted) else {
        return (Decision::Unchanged, stored.cloned());
    };
    let Some(prev) = s.chunk.as_ref() else {
        return (Decision::Unchanged, stored.cloned());
    };
    if is_older(provider_version, s.provider_version) {
        return (Decision::Stale, stored.cloned());
    }
    let in_range = |ts: i64| from_ts <= ts && ts < to_ts;
    if !prev.samples.iter().any(|x| in_range(x.ts)) {
        return (Decision::Unchanged, stored.cloned());
    }
    let version = max_version(s.provider_version, provider_version);
    let revision = s.revision + 1;
    let mut kept = prev.clone();
    kept.samples.retain(|x| !in_range(x.ts));

    if kept.samples.is_empty() {
        let deleted_event_type = chunk.event_type();
        let mut item = chunk;
        item.payload_ts = deleted_at;
        item.revision = revision;
        item.body = ItemBody::Deletion(crate::items::Deletion {
            deleted_event_type,
            deleted_at,
        });
        let state = StoredState {
            event_type: EventType::Deletion,
            revision,
            content_hash: content_hash(&item),
            provider_version: version,
            deleted: true,
            chunk: None,
            sample_versions: BTreeMap::new(),
        };
        return (Decision::Emit(item), Some(state));
    }

    let mut versions = s.sample_versions.clone();
    for x in prev.samples.iter().filter(|x| in_range(x.ts)) {
        match provider_version {
            Some(v) => versions.insert(x.ts, v),
            None => versions.remove(&x.ts),
        };
    }
    let mut item = chunk;
    let Some(body_chunk) = item.body.chunk_mut() else {
        // Not a timeseries item: there are no samples to remove.
        return (Decision::Unchanged, stored.cloned());
    };
    *body_chunk = kept;
    item.revision = revision;
    let state = StoredState {
        event_type: item.event_type(),
        revision,
        content_hash: content_hash(&item),
        provider_version: version,
        deleted: false,
        chunk: item.body.chunk().cloned(),
        sample_versions: versions,
    };
    (Decision::Emit(item), Some(state))
}

/// Applies a batch in order against an in-memory view of the states (keyed by `source_id`), so
/// several items for one `source_id` in a batch fold correctly. Returns the items to emit; `states`
/// holds the new state of every `source_id` touched.
///
/// Within a batch, a later emission for a `source_id` supersedes an earlier one, which is never
/// emitted: only the final item goes out, numbered as the next revision after the state before the
/// batch (no gaps), and nothing goes out when the batch ends where it started (e.g. a change and
/// its revert, or a record re-created and deleted again).
pub fn apply_batch(
    states: &mut HashMap<String, StoredState>,
    items: impl IntoIterator<Item = NormalizedItem>,
) -> Vec<Item> {
    apply_batch_serialized(states, items.into_iter().map(PreparedItem::from))
        .into_iter()
        .map(|(item, _)| item)
        .collect()
}

/// [`apply_batch`] on [`PreparedItem`]s, returning each emitted item with the JSON it was hashed
/// from: the gateway hashes items before its transaction and serializes each emitted item once,
/// for its hash and its envelope.
pub fn apply_batch_serialized(
    states: &mut HashMap<String, StoredState>,
    items: impl IntoIterator<Item = PreparedItem>,
) -> Vec<(Item, ItemJson)> {
    let mut emitted: Vec<(Item, ItemJson)> = Vec::new();
    // An item not hashed in advance is serialized here for its hash; only an emitted item's JSON
    // is kept (copied out at its exact size), so the buffer is grown once, not per item.
    let mut scratch = Vec::new();
    // For every source_id with an item pending in `emitted`: its state before that emission.
    let mut before: HashMap<String, Option<StoredState>> = HashMap::new();
    for incoming in items {
        // The state is taken out, not copied: it is put back (or replaced) below.
        let (key, prior) = match states.remove_entry(&incoming.incoming.item.source_id) {
            Some((key, state)) => (key, Some(state)),
            None => (incoming.incoming.item.source_id.clone(), None),
        };
        let (decision, new_state, json) = decide_into(prior.as_ref(), incoming, &mut scratch);
        let Some(mut state) = new_state else {
            if let Some(p) = prior {
                states.insert(key, p);
            }
            continue;
        };
        if let Decision::Emit(mut item) = decision {
            // `decide_into` returns the JSON with every emission; made here should it not.
            let json = json.unwrap_or_else(|| {
                let mut made = Vec::new();
                content_hash_into(&item, &mut made);
                ItemJson(made)
            });
            match before.get(&key) {
                None => {
                    before.insert(key.clone(), prior);
                    emitted.push((item, json));
                }
                Some(pre) => {
                    emitted.retain(|(e, _)| e.source_id != key);
                    let back_to_start = pre.as_ref().is_some_and(|p| {
                        (p.deleted && state.deleted)
                            || (!p.deleted
                                && !state.deleted
                                && p.content_hash == state.content_hash)
                    });
                    let pre_revision = pre.as_ref().map_or(0, |p| p.revision);
                    if back_to_start {
                        // Consumers already hold this content under the old revision.
                        state.revision = pre_revision;
                        before.remove(&key);
                    } else {
                        item.revision = pre_revision + 1;
                        state.revision = item.revision;
                        emitted.push((item, json));
                    }
                }
            }
        }
        states.insert(key, state);
    }
    emitted
}

#[cfg(test)]
mod tests;
