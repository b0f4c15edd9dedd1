//! Versioned schema migrations, applied at open. `PRAGMA user_version` holds the number of
//! migrations applied; each migration runs in its own transaction with the version bump. A file
//! written by a newer Nexus (higher version than known) is refused rather than misread.

use nexus_core::{Error, ErrorKind, Result};
use rusqlite::Connection;

/// Every migration, in order. Never edit a released one: append.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
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
    "#,
    // 2: bodies as BLOBs, after the small columns. The inbox and the quarantine keep the request's
    // method, path, query and headers as JSON in `request` and its body in `body`; the archive keeps
    // the record's metadata in `record` and its bytes in `body`. Rows written by version 1 have
    // `body` NULL and the whole value (body in base64) in the JSON column, and are still read.
    // `inbox` and `outbox` are rebuilt so that their lease and state columns come before the large
    // ones (SQLite walks a row's overflow pages to reach a column stored after a large one), and
    // `outbox_by_state` lets the queue depths count rows without reading envelope bodies.
    r#"
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
    "#,
];

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
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = i + 1;
        let tx = conn
            .transaction()
            .map_err(|e| crate::db_error("begin migration", e))?;
        tx.execute_batch(sql)
            .map_err(|e| crate::db_error(&format!("migration {version}"), e))?;
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))
            .map_err(|e| crate::db_error("set schema version", e))?;
        tx.commit()
            .map_err(|e| crate::db_error("commit migration", e))?;
        tracing::info!(version, "applied SQLite schema migration");
    }
    Ok(MIGRATIONS.len())
}
