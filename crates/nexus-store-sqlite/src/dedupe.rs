//! Dedupe states on disk (schema 3): `dedupe_scopes` names each (tenant, connection) with a small
//! integer; `dedupe_states` holds one row per (scope, source_id), appended in insertion order,
//! with the state in its compact binary form (`state_codec.rs`); `dedupe_states_by_key` finds a
//! row by (scope, 64-bit hash of the source_id). See migration 3 for why this layout.

use std::collections::HashMap;

use nexus_core::Result;
use nexus_core::dedupe::StoredState;
use rusqlite::{Connection, OptionalExtension, params};

use crate::db_error;
use crate::state_codec;

/// The index key of a source_id: FNV-1a (64-bit) of its bytes. Stable: it is stored. Collisions
/// are harmless (the row keeps the full source_id); they only cost a second row read.
pub(crate) fn key_of(source_id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in source_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

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

/// Reads the state row of `source_id` in `scope`.
fn find(conn: &Connection, scope: i64, source_id: &str) -> Result<Option<Loaded>> {
    let mut st = conn
        .prepare_cached(
            "SELECT id, source_id, state FROM dedupe_states WHERE scope = ?1 AND key = ?2",
        )
        .map_err(|e| db_error("prepare a dedupe state read", e))?;
    let mut rows = st
        .query(params![scope, key_of(source_id)])
        .map_err(|e| db_error("read a dedupe state", e))?;
    while let Some(r) = rows
        .next()
        .map_err(|e| db_error("read a dedupe state", e))?
    {
        let sid: String = r.get(1).map_err(|e| db_error("read a dedupe state", e))?;
        if sid == source_id {
            return Ok(Some(Loaded {
                row: r.get(0).map_err(|e| db_error("read a dedupe state", e))?,
                bytes: r.get(2).map_err(|e| db_error("read a dedupe state", e))?,
            }));
        }
    }
    Ok(None)
}

/// The state of one source_id, for [`nexus_runtime::Store::dedupe_state`].
pub(crate) fn read_one(
    conn: &Connection,
    tenant_id: &str,
    connection_id: &str,
    source_id: &str,
) -> Result<Option<StoredState>> {
    let Some(scope) = scope_id(conn, tenant_id, connection_id, false)? else {
        return Ok(None);
    };
    find(conn, scope, source_id)?
        .map(|l| state_codec::decode(&l.bytes))
        .transpose()
}

/// Loads the states of `keys` in `scope` into `states` (decoded) and returns what was loaded, for
/// [`write_changed`].
pub(crate) fn load(
    conn: &Connection,
    scope: i64,
    keys: &[&str],
    states: &mut HashMap<String, StoredState>,
) -> Result<HashMap<String, Loaded>> {
    let mut loaded = HashMap::with_capacity(keys.len());
    for key in keys {
        if let Some(l) = find(conn, scope, key)? {
            states.insert((*key).to_owned(), state_codec::decode(&l.bytes)?);
            loaded.insert((*key).to_owned(), l);
        }
    }
    Ok(loaded)
}

/// Writes the states of `keys` that are new or differ from what was loaded.
pub(crate) fn write_changed(
    conn: &Connection,
    scope: i64,
    keys: &[&str],
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
        let Some(state) = states.get(*key) else {
            continue;
        };
        let bytes = state_codec::encode(state);
        match loaded.get(*key) {
            Some(l) if l.bytes == bytes => {}
            Some(l) => {
                update
                    .execute(params![bytes, l.row])
                    .map_err(|e| db_error("update a dedupe state", e))?;
            }
            None => {
                insert
                    .execute(params![scope, key_of(key), key, bytes])
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
        assert_eq!(key_of("") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(key_of("a") as u64, 0xaf63_dc4c_8601_ec8c);
    }
}
