//! Dedupe states on disk (schema 3, keys of schema 7): `dedupe_scopes` names each (tenant,
//! connection) with a small integer; `dedupe_states` holds one row per (scope, source_id),
//! appended in insertion order, with the state in its compact binary form (`state_codec.rs`);
//! `dedupe_states_by_key` finds a row by (scope, [`index_key`]). See migrations 3 and 7.

use std::collections::{HashMap, HashSet};

use nexus_core::chunking::DAY_MS;
use nexus_core::dedupe::StoredState;
use nexus_core::identity::chunk_window_start;
use nexus_core::{Item, ItemBody, Result};
use rusqlite::{Connection, OptionalExtension, params};

use crate::db_error;
use crate::state_codec;

/// FNV-1a (64-bit) of a source_id's bytes. Stable: keys are stored.
fn fnv1a(source_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in source_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The index key of a state within its scope. Stable: it is stored.
///
/// - A timeseries chunk (`window_start` given): its window's UTC day in the high 32 bits, the low
///   32 bits of the source_id's FNV-1a hash below. The ~300 chunks a provider sends for one day of
///   one user then share two or three index pages, and a new day's entries go after the previous
///   days', so writing them dirties a few pages instead of one random page per chunk. (Schema 3
///   keyed every state by its hash alone: at a few hundred thousand states, each day body rewrote
///   hundreds of index pages into the WAL.)
/// - Anything else (sessions, daily summaries, profiles, deletions of those): the whole 64-bit
///   hash. Few per day, so random placement costs little.
///
/// Collisions are harmless: the row keeps the full source_id, so they only cost a second row read.
pub(crate) fn index_key(source_id: &str, window_start: Option<i64>) -> i64 {
    let h = fnv1a(source_id);
    let bits = match window_start {
        // Wrapping: a hostile far-future window cannot overflow, it only lands elsewhere.
        Some(ws) => (ws.div_euclid(DAY_MS) as u64).wrapping_shl(32) | (h & 0xffff_ffff),
        None => h,
    };
    i64::from_ne_bytes(bits.to_ne_bytes())
}

/// The window start that an item's identity carries, for [`index_key`]: a chunk's own window, or,
/// for the deletion of a chunk, the window its composed native id ends with (EVENTS.md section 3:
/// `<provider_user_id>:<device or "-">:<window_start>`, the same value). The same source_id always
/// gives the same answer, because the conformance harness holds every adapter to `source_id` =
/// sha256(type:provider:provider_ref) and to that native id for chunks.
pub(crate) fn identity_window(item: &Item) -> Option<i64> {
    match &item.body {
        ItemBody::Deletion(d) if d.deleted_event_type.is_timeseries() => {
            chunk_window_start(&item.provider_ref)
        }
        body => body.chunk().and_then(|c| c.window_start),
    }
}

/// The state key of one item: its source_id and its [`index_key`].
pub(crate) struct StateKey {
    pub(crate) source_id: String,
    pub(crate) index_key: i64,
    /// True for a chunk: the key's high 32 bits are its window's day.
    pub(crate) by_day: bool,
}

impl StateKey {
    pub(crate) fn of(item: &Item) -> StateKey {
        let window = identity_window(item);
        StateKey {
            index_key: index_key(&item.source_id, window),
            source_id: item.source_id.clone(),
            by_day: window.is_some(),
        }
    }

    /// The index range of the key's day, `[lo, hi)`, when it is a chunk's and the range does not
    /// overflow.
    fn day_range(&self) -> Option<(i64, i64)> {
        if !self.by_day {
            return None;
        }
        let lo = (self.index_key >> 32) << 32;
        Some((lo, lo.checked_add(1 << 32)?))
    }
}

/// Fewest chunk keys of one day that are read with one range scan of the index rather than a
/// lookup each (a day body brings ~300, a notification of a few new samples one or two).
const RANGE_MIN: usize = 8;

/// The scope id of (tenant, connection); created when `create` is set, else `None` when unknown.
pub(crate) fn scope_id(
    conn: &Connection,
    tenant_id: &str,
    connection_id: &str,
    create: bool,
) -> Result<Option<i64>> {
    let found: Option<i64> = conn
        .prepare_cached("SELECT id FROM dedupe_scopes WHERE tenant_id = ?1 AND connection_id = ?2")
        .and_then(|mut st| {
            st.query_row(params![tenant_id, connection_id], |r| r.get(0))
                .optional()
        })
        .map_err(|e| db_error("read a dedupe scope", e))?;
    if found.is_some() || !create {
        return Ok(found);
    }
    conn.prepare_cached("INSERT INTO dedupe_scopes (tenant_id, connection_id) VALUES (?1, ?2)")
        .and_then(|mut st| st.execute(params![tenant_id, connection_id]))
        .map_err(|e| db_error("create a dedupe scope", e))?;
    Ok(Some(conn.last_insert_rowid()))
}

/// A stored state as loaded: its row and its encoded bytes (to skip rewriting an unchanged one).
pub(crate) struct Loaded {
    row: i64,
    bytes: Vec<u8>,
}

/// Reads the state row of `source_id` in `scope`, found through its index key.
fn find(conn: &Connection, scope: i64, key: &StateKey) -> Result<Option<Loaded>> {
    let mut st = conn
        .prepare_cached(
            "SELECT id, source_id, state FROM dedupe_states WHERE scope = ?1 AND key = ?2",
        )
        .map_err(|e| db_error("prepare a dedupe state read", e))?;
    let mut rows = st
        .query(params![scope, key.index_key])
        .map_err(|e| db_error("read a dedupe state", e))?;
    matching_row(&mut rows, &key.source_id)
}

/// The first of `rows` (id, source_id, state) whose source_id is `source_id`.
fn matching_row(rows: &mut rusqlite::Rows<'_>, source_id: &str) -> Result<Option<Loaded>> {
    Ok(rows_where(rows, |sid| sid == source_id)?
        .into_iter()
        .next()
        .map(|(_, l)| l))
}

/// The rows (id, source_id, state) whose source_id `wanted` accepts. Only those are copied out.
fn rows_where(
    rows: &mut rusqlite::Rows<'_>,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<(String, Loaded)>> {
    let read = |e| db_error("read a dedupe state", e);
    let mut found = Vec::new();
    while let Some(r) = rows.next().map_err(read)? {
        let sid = r
            .get_ref(1)
            .and_then(|v| {
                v.as_str().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(1, v.data_type(), Box::new(e))
                })
            })
            .map_err(read)?;
        if wanted(sid) {
            found.push((
                sid.to_owned(),
                Loaded {
                    row: r.get(0).map_err(read)?,
                    bytes: r.get(2).map_err(read)?,
                },
            ));
        }
    }
    Ok(found)
}

/// The state of one source_id, for [`nexus_runtime::Store::dedupe_state`]. Only the source_id is
/// known here, not the item, so its index key cannot be computed: this walks the scope's rows.
/// It serves inspection and tests; the pipeline looks states up by key ([`load`]).
pub(crate) fn read_one(
    conn: &Connection,
    tenant_id: &str,
    connection_id: &str,
    source_id: &str,
) -> Result<Option<StoredState>> {
    let Some(scope) = scope_id(conn, tenant_id, connection_id, false)? else {
        return Ok(None);
    };
    let mut st = conn
        .prepare_cached(
            "SELECT id, source_id, state FROM dedupe_states WHERE scope = ?1 AND source_id = ?2",
        )
        .map_err(|e| db_error("prepare a dedupe state read", e))?;
    let mut rows = st
        .query(params![scope, source_id])
        .map_err(|e| db_error("read a dedupe state", e))?;
    matching_row(&mut rows, source_id)?
        .map(|l| state_codec::decode(&l.bytes))
        .transpose()
}

/// Loads the states of `keys` in `scope` into `states` (decoded) and returns what was loaded, for
/// [`write_changed`].
pub(crate) fn load(
    conn: &Connection,
    scope: i64,
    keys: &[StateKey],
    states: &mut HashMap<String, StoredState>,
) -> Result<HashMap<String, Loaded>> {
    let mut loaded = HashMap::with_capacity(keys.len());
    let mut keep = |source_id: String, l: Loaded| -> Result<()> {
        states.insert(source_id.clone(), state_codec::decode(&l.bytes)?);
        loaded.insert(source_id, l);
        Ok(())
    };
    // `keys` are in index order, so the chunk keys of one day are next to each other.
    let mut rest = keys;
    while let Some(first) = rest.first() {
        let day = first.day_range();
        let run = match day {
            Some(_) => rest.iter().take_while(|k| k.day_range() == day).count(),
            None => 1,
        };
        let (these, after) = rest.split_at(run);
        rest = after;
        match day {
            Some((lo, hi)) if run >= RANGE_MIN => {
                let wanted: HashSet<&str> = these.iter().map(|k| k.source_id.as_str()).collect();
                for (source_id, l) in scan_day(conn, scope, lo, hi, &wanted)? {
                    keep(source_id, l)?;
                }
            }
            _ => {
                for key in these {
                    if let Some(l) = find(conn, scope, key)? {
                        keep(key.source_id.clone(), l)?;
                    }
                }
            }
        }
    }
    Ok(loaded)
}

/// The rows of `scope` whose index key is in `[lo, hi)` and whose source_id is `wanted`: one
/// range scan of the index instead of a lookup per key.
fn scan_day(
    conn: &Connection,
    scope: i64,
    lo: i64,
    hi: i64,
    wanted: &HashSet<&str>,
) -> Result<Vec<(String, Loaded)>> {
    let mut st = conn
        .prepare_cached(
            "SELECT id, source_id, state FROM dedupe_states
             WHERE scope = ?1 AND key >= ?2 AND key < ?3",
        )
        .map_err(|e| db_error("prepare a dedupe state scan", e))?;
    let mut rows = st
        .query(params![scope, lo, hi])
        .map_err(|e| db_error("read dedupe states", e))?;
    rows_where(&mut rows, |sid| wanted.contains(sid))
}

/// Writes the states of `keys` that are new or differ from what was loaded.
pub(crate) fn write_changed(
    conn: &Connection,
    scope: i64,
    keys: &[StateKey],
    states: &HashMap<String, StoredState>,
    loaded: &HashMap<String, Loaded>,
) -> Result<()> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO dedupe_states (scope, key, source_id, state) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(|e| db_error("prepare a dedupe state insert", e))?;
    let mut update = conn
        .prepare_cached("UPDATE dedupe_states SET state = ?1 WHERE id = ?2")
        .map_err(|e| db_error("prepare a dedupe state update", e))?;
    for key in keys {
        let Some(state) = states.get(&key.source_id) else {
            continue;
        };
        let bytes = state_codec::encode(state);
        match loaded.get(&key.source_id) {
            Some(l) if l.bytes == bytes => {}
            Some(l) => {
                update
                    .execute(params![bytes, l.row])
                    .map_err(|e| db_error("update a dedupe state", e))?;
            }
            None => {
                insert
                    .execute(params![scope, key.index_key, key.source_id, bytes])
                    .map_err(|e| db_error("write a dedupe state", e))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_fnv1a_and_stable() {
        // FNV-1a 64 test vectors: "" and "a".
        assert_eq!(index_key("", None) as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(index_key("a", None) as u64, 0xaf63_dc4c_8601_ec8c);
        // A chunk: its UTC day (2024-11-24 is day 20,051) above the hash's low 32 bits.
        let ws = 20_051 * DAY_MS + 37 * 900_000;
        assert_eq!(
            index_key("a", Some(ws)) as u64,
            (20_051 << 32) | 0x8601_ec8c
        );
        // Before 1970 and far out of range: no overflow.
        assert!(index_key("a", Some(-DAY_MS)) < 0);
        let _ = index_key("a", Some(i64::MAX));
        let _ = index_key("a", Some(i64::MIN));
    }

    #[test]
    fn the_chunks_of_one_day_get_neighbouring_keys_in_day_order() {
        let day = 20_051 * DAY_MS;
        let keys: Vec<i64> = (0..96)
            .map(|i| index_key(&format!("sid-{i}"), Some(day + i * 900_000)))
            .collect();
        let next_day = index_key("sid-0", Some(day + DAY_MS));
        for k in &keys {
            assert_eq!(k >> 32, 20_051);
            assert!(*k < next_day);
        }
    }

    #[test]
    fn a_chunk_and_the_deletion_of_it_have_the_same_key() {
        use nexus_core::EventType;
        use nexus_core::chunking::{SeriesSpec, chunk_samples};
        use nexus_core::items::Sample;

        let spec = SeriesSpec::new("oura", EventType::HeartRateSeries, "u-1");
        let ts = 1_732_406_400_000 + 5 * 60_000;
        let chunk = chunk_samples(&spec, vec![Sample::one(ts, 61.0)])
            .pop()
            .expect("one chunk");
        let deletion = Item::deletion(
            "oura",
            EventType::HeartRateSeries,
            &chunk.provider_ref,
            ts + 1,
        );
        assert_eq!(deletion.source_id, chunk.source_id);
        let (a, b) = (StateKey::of(&chunk), StateKey::of(&deletion));
        assert_eq!(a.index_key, b.index_key);
        assert_eq!(a.index_key >> 32, 1_732_406_400_000 / DAY_MS);
        // Not a chunk: the plain hash.
        let sleep = Item::deletion("oura", EventType::Sleep, "sleep-1", ts);
        assert_eq!(
            StateKey::of(&sleep).index_key,
            index_key(&sleep.source_id, None)
        );
    }
}
