//! Versioned schema migrations, applied at open. `PRAGMA user_version` holds the number of
//! migrations applied; each migration runs in its own transaction with the version bump. A file
//! written by a newer Nexus (higher version than known) is refused rather than misread.

use nexus_core::{Error, ErrorKind, Result};
use rusqlite::{Connection, Transaction, params};

/// One migration: SQL, then (optionally) a Rust step for what SQL cannot do, such as re-encoding
/// values. Both run in the migration's transaction.
pub(crate) struct Migration {
    pub(crate) sql: &'static str,
    then: Option<fn(&Transaction<'_>) -> Result<()>>,
}

const fn sql(sql: &'static str) -> Migration {
    Migration { sql, then: None }
}

/// Every migration, in order. Never edit a released one: append.
pub(crate) const MIGRATIONS: &[Migration] = &[
    // 1: the initial schema.
    sql(r#"
    CREATE TABLE tenants (
        id          TEXT PRIMARY KEY,
        name        TEXT,
        created_at  INTEGER NOT NULL
    );

    CREATE TABLE connections (
        connection_id     TEXT PRIMARY KEY,
        tenant_id         TEXT NOT NULL,
        user_id           TEXT NOT NULL,
        external_user_ref TEXT NOT NULL,
        provider          TEXT NOT NULL,
        provider_user_id  TEXT NOT NULL,
        status            TEXT NOT NULL,
        sealed_tokens     BLOB,
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL,
        UNIQUE (provider, provider_user_id)
    );
    CREATE INDEX connections_by_tenant ON connections (tenant_id, connection_id);

    -- Verified requests waiting for a worker. A claim sets lease_token and moves available_at to
    -- the lease's expiry (visibility-timeout model): an expired lease makes the row due again.
    CREATE TABLE inbox (
        id            TEXT PRIMARY KEY,
        provider      TEXT NOT NULL,
        request       TEXT NOT NULL,
        received_at   INTEGER NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        available_at  INTEGER NOT NULL,
        lease_token   TEXT,
        lease_owner   TEXT
    );
    CREATE INDEX inbox_due ON inbox (available_at, id);

    CREATE TABLE quarantine (
        id              TEXT PRIMARY KEY,
        provider        TEXT NOT NULL,
        request         TEXT NOT NULL,
        received_at     INTEGER NOT NULL,
        attempts        INTEGER NOT NULL,
        last_error      TEXT,
        reason_kind     TEXT NOT NULL,
        reason_message  TEXT NOT NULL,
        quarantined_at  INTEGER NOT NULL
    );

    CREATE TABLE archive (
        id             TEXT PRIMARY KEY,
        provider       TEXT NOT NULL,
        tenant_id      TEXT NOT NULL,
        connection_id  TEXT NOT NULL,
        inbox_id       TEXT,
        record         TEXT NOT NULL,
        archived_at    INTEGER NOT NULL
    );
    CREATE INDEX archive_by_time ON archive (archived_at, id);

    CREATE TABLE dedupe_state (
        tenant_id      TEXT NOT NULL,
        connection_id  TEXT NOT NULL,
        source_id      TEXT NOT NULL,
        state          TEXT NOT NULL,
        PRIMARY KEY (tenant_id, connection_id, source_id)
    ) WITHOUT ROWID;

    CREATE TABLE outbox (
        delivery_id      TEXT PRIMARY KEY,
        tenant_id        TEXT NOT NULL,
        sink_id          TEXT NOT NULL,
        event_id         TEXT NOT NULL,
        event_type       TEXT NOT NULL,
        body             BLOB NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        state            TEXT NOT NULL,
        next_attempt_at  INTEGER NOT NULL,
        lease_token      TEXT,
        last_error       TEXT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (tenant_id, sink_id, state, next_attempt_at);

    CREATE TABLE delivery_attempts (
        delivery_id  TEXT NOT NULL,
        attempt      INTEGER NOT NULL,
        at           INTEGER NOT NULL,
        duration_ms  INTEGER NOT NULL,
        outcome      TEXT NOT NULL,
        error        TEXT,
        PRIMARY KEY (delivery_id, attempt)
    );

    CREATE TABLE sink_state (
        tenant_id   TEXT NOT NULL,
        sink_id     TEXT NOT NULL,
        enabled     INTEGER NOT NULL,
        reason      TEXT,
        changed_at  INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, sink_id)
    );
    "#),
    // 2: bodies as BLOBs, after the small columns. The inbox and the quarantine keep the request's
    // method, path, query and headers as JSON in `request` and its body in `body`; the archive keeps
    // the record's metadata in `record` and its bytes in `body`. Rows written by version 1 have
    // `body` NULL and the whole value (body in base64) in the JSON column, and are still read.
    // `inbox` and `outbox` are rebuilt so that their lease and state columns come before the large
    // ones (SQLite walks a row's overflow pages to reach a column stored after a large one), and
    // `outbox_by_state` lets the queue depths count rows without reading envelope bodies.
    sql(r#"
    CREATE TABLE inbox_v2 (
        id            TEXT PRIMARY KEY,
        provider      TEXT NOT NULL,
        received_at   INTEGER NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        available_at  INTEGER NOT NULL,
        lease_token   TEXT,
        lease_owner   TEXT,
        last_error    TEXT,
        request       TEXT NOT NULL,
        body          BLOB
    );
    INSERT INTO inbox_v2 (id, provider, received_at, attempts, available_at, lease_token,
                          lease_owner, last_error, request, body)
        SELECT id, provider, received_at, attempts, available_at, lease_token, lease_owner,
               last_error, request, NULL
        FROM inbox;
    DROP TABLE inbox;
    ALTER TABLE inbox_v2 RENAME TO inbox;
    CREATE INDEX inbox_due ON inbox (available_at, id);

    ALTER TABLE quarantine ADD COLUMN body BLOB;
    ALTER TABLE archive ADD COLUMN body BLOB;

    CREATE TABLE outbox_v2 (
        delivery_id      TEXT PRIMARY KEY,
        tenant_id        TEXT NOT NULL,
        sink_id          TEXT NOT NULL,
        event_id         TEXT NOT NULL,
        event_type       TEXT NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        state            TEXT NOT NULL,
        next_attempt_at  INTEGER NOT NULL,
        lease_token      TEXT,
        last_error       TEXT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        body             BLOB NOT NULL
    );
    INSERT INTO outbox_v2 (delivery_id, tenant_id, sink_id, event_id, event_type, attempts, state,
                           next_attempt_at, lease_token, last_error, created_at, updated_at, body)
        SELECT delivery_id, tenant_id, sink_id, event_id, event_type, attempts, state,
               next_attempt_at, lease_token, last_error, created_at, updated_at, body
        FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v2 RENAME TO outbox;
    CREATE INDEX outbox_due ON outbox (tenant_id, sink_id, state, next_attempt_at);
    CREATE INDEX outbox_by_state ON outbox (state, created_at);
    "#),
    // 3: dedupe states in insertion order, found through a small index. States used to live in a
    // table keyed by (tenant, connection, source_id): a source_id is a hash, so each new state
    // landed on a random page of a table of ~450-byte JSON rows, and a commit of a few thousand
    // states rewrote thousands of pages. Now a state row is appended (new rows share pages), it
    // holds the compact binary state (`state_codec.rs`), and the random inserts go to
    // `dedupe_states_by_key`, whose entries are ~20 bytes: (scope, 64-bit hash of the source_id).
    // The full source_id is kept in the row, so hash collisions are told apart.
    Migration {
        sql: r#"
    CREATE TABLE dedupe_scopes (
        id             INTEGER PRIMARY KEY,
        tenant_id      TEXT NOT NULL,
        connection_id  TEXT NOT NULL,
        UNIQUE (tenant_id, connection_id)
    );
    CREATE TABLE dedupe_states (
        id         INTEGER PRIMARY KEY,
        scope      INTEGER NOT NULL,
        key        INTEGER NOT NULL,
        source_id  TEXT NOT NULL,
        state      BLOB NOT NULL
    );
    CREATE INDEX dedupe_states_by_key ON dedupe_states (scope, key);
    "#,
        then: Some(move_dedupe_states),
    },
    // 4: request bodies in their own table, written once. The inbox row used to hold the body, so
    // claiming an entry (a lease update) rewrote the whole body, and archiving a push record wrote
    // it a second time. Now `bodies` holds the bytes; inbox and quarantine rows point at them, and
    // so does the archive row of a push record (whose body is the request's). A body is deleted
    // when no inbox, quarantine or archive row points at it any more. Rows written before keep
    // their bytes in their own `body` column and are still read.
    sql(r#"
    CREATE TABLE bodies (
        id     INTEGER PRIMARY KEY,
        bytes  BLOB NOT NULL
    );
    ALTER TABLE inbox ADD COLUMN body_id INTEGER;
    ALTER TABLE quarantine ADD COLUMN body_id INTEGER;
    ALTER TABLE archive ADD COLUMN body_id INTEGER;
    CREATE INDEX inbox_by_body ON inbox (body_id) WHERE body_id IS NOT NULL;
    CREATE INDEX quarantine_by_body ON quarantine (body_id) WHERE body_id IS NOT NULL;
    CREATE INDEX archive_by_body ON archive (body_id) WHERE body_id IS NOT NULL;
    "#),
    // 5: envelopes in `bodies` too. An outbox row held its envelope, so leasing a delivery and
    // recording its result (which change the row's size) rewrote the whole envelope twice per
    // attempt. Now the row points at one stored body per envelope, shared by the rows of all the
    // tenant's sinks; `body` stays empty. Rows written before keep their envelope in `body`.
    sql(r#"
    ALTER TABLE outbox ADD COLUMN body_id INTEGER;
    CREATE INDEX outbox_by_body ON outbox (body_id) WHERE body_id IS NOT NULL;
    "#),
    // 6: bodies compressed (`body_codec.rs`): `codec` says how a body is stored; the rows written
    // before are kept as they are (codec 0). Raw records fetched from a provider API, which the
    // archive row used to hold itself, are stored in `bodies` too from now on.
    sql(r#"
    ALTER TABLE bodies ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
    "#),
    // 7: the index key of a timeseries chunk's state starts with its window's UTC day
    // (`dedupe::index_key`), so the chunks of one day share a few index pages instead of landing
    // on a random page each. Existing chunk states are re-keyed from the window their stored
    // chunk holds. A deleted state holds no chunk and keeps its key: no earlier release emits the
    // deletion of a chunk (no adapter deletes one, and sample removal is not reachable from
    // adapters), so every deleted state is of a session, summary or profile, whose key is
    // unchanged.
    Migration {
        sql: "",
        then: Some(rekey_chunk_states),
    },
];

/// Migration 3: every row of the old `dedupe_state` table into `dedupe_states`, re-encoded.
fn move_dedupe_states(tx: &Transaction<'_>) -> Result<()> {
    let count: i64 = tx
        .query_row("SELECT count(*) FROM dedupe_state", [], |r| r.get(0))
        .map_err(|e| crate::db_error("count old dedupe states", e))?;
    if count > 0 {
        tracing::info!(
            states = count,
            "re-encoding dedupe states into the compact form (schema 3); a large store takes a while"
        );
    }
    let mut read = tx
        .prepare("SELECT tenant_id, connection_id, source_id, state FROM dedupe_state")
        .map_err(|e| crate::db_error("read old dedupe states", e))?;
    let rows = read
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(|e| crate::db_error("read old dedupe states", e))?;
    let mut insert = tx
        .prepare("INSERT INTO dedupe_states (scope, key, source_id, state) VALUES (?1, ?2, ?3, ?4)")
        .map_err(|e| crate::db_error("prepare the dedupe state move", e))?;
    for row in rows {
        let (tenant, connection, source_id, json) =
            row.map_err(|e| crate::db_error("read an old dedupe state", e))?;
        let state = crate::state_codec::decode(json.as_bytes())?;
        let scope = crate::dedupe::scope_id(tx, &tenant, &connection, true)?
            .ok_or_else(|| Error::new(ErrorKind::Storage, "sqlite: no dedupe scope created"))?;
        insert
            .execute(params![
                scope,
                crate::dedupe::index_key(&source_id, None),
                source_id,
                crate::state_codec::encode(&state)
            ])
            .map_err(|e| crate::db_error("move a dedupe state", e))?;
    }
    drop(insert);
    drop(read);
    tx.execute_batch("DROP TABLE dedupe_state")
        .map_err(|e| crate::db_error("drop the old dedupe state table", e))
}

/// Migration 7: the chunk states get the index key of their window's day. Walks the table in
/// slices of rowids, so no statement reads rows that another one is changing.
fn rekey_chunk_states(tx: &Transaction<'_>) -> Result<()> {
    const SLICE: i64 = 10_000;
    let mut read = tx
        .prepare("SELECT id, source_id, key, state FROM dedupe_states WHERE id > ?1 ORDER BY id LIMIT ?2")
        .map_err(|e| crate::db_error("read dedupe states to re-key", e))?;
    let mut update = tx
        .prepare("UPDATE dedupe_states SET key = ?1 WHERE id = ?2")
        .map_err(|e| crate::db_error("prepare the dedupe state re-key", e))?;
    let (mut after, mut rekeyed) = (0_i64, 0_u64);
    loop {
        let rows = read
            .query_map(params![after, SLICE], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(|e| crate::db_error("read dedupe states to re-key", e))?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.0;
        for (id, source_id, key, bytes) in rows {
            let state = crate::state_codec::decode(&bytes)?;
            let window = state.chunk.as_ref().and_then(|c| c.window_start);
            let new_key = crate::dedupe::index_key(&source_id, window);
            if new_key != key {
                update
                    .execute(params![new_key, id])
                    .map_err(|e| crate::db_error("re-key a dedupe state", e))?;
                rekeyed += 1;
            }
        }
    }
    if rekeyed > 0 {
        tracing::info!(
            states = rekeyed,
            "re-keyed timeseries dedupe states by day (schema 7)"
        );
    }
    Ok(())
}

/// Applies the migrations `conn` has not seen yet. Returns the resulting version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<usize> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| crate::db_error("read schema version", e))?;
    let current = usize::try_from(current).unwrap_or(0);
    if current > MIGRATIONS.len() {
        return Err(Error::new(
            ErrorKind::Storage,
            format!(
                "the database has schema version {current}, newer than this binary knows ({}); upgrade Nexus",
                MIGRATIONS.len()
            ),
        ));
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = i + 1;
        let tx = conn
            .transaction()
            .map_err(|e| crate::db_error("begin migration", e))?;
        tx.execute_batch(m.sql)
            .map_err(|e| crate::db_error(&format!("migration {version}"), e))?;
        if let Some(step) = m.then {
            step(&tx)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))
            .map_err(|e| crate::db_error("set schema version", e))?;
        tx.commit()
            .map_err(|e| crate::db_error("commit migration", e))?;
        tracing::info!(version, "applied SQLite schema migration");
    }
    Ok(MIGRATIONS.len())
}
