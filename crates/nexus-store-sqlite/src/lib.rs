//! # nexus-store-sqlite
//!
//! The embedded Nexus store: one SQLite file (bundled SQLite via rusqlite), the default of
//! `nexus serve`. Implements [`nexus_runtime::Store`].
//!
//! - **WAL** journal, **`synchronous=FULL`**: a commit is on disk (WAL fsynced) before it returns,
//!   so an acknowledged webhook survives `kill -9` *and* power loss. `NORMAL` would survive a
//!   process crash but may lose the last commits on power loss, and an acknowledged webhook is a
//!   promise to the provider that we will not ask again. The cost of FULL is one fsync per commit,
//!   which grouped commits amortize.
//! - **Grouped commits**: every write goes through one writer thread (`writer.rs`) that runs all
//!   queued operations in one transaction (each in its own savepoint) and commits once; a caller's
//!   future resolves only after that commit. `cargo bench -p nexus-store-sqlite` (256 durable
//!   inbox writes): about 2,600/s awaited one by one (one fsync each) against about 54,000/s from
//!   256 concurrent tasks, on the 2-vCPU build VM (25 November 2026; a commit costs ~0.3 ms there).
//! - **Checkpoints** run on their own thread (`checkpoint.rs`, `wal_autocheckpoint = 0` on the
//!   writer), so a commit only appends to the WAL and fsyncs it. Under steady load the writer
//!   restarts the WAL between two transactions once it passes 64 MB and the checkpoints have
//!   caught up, so the WAL stays bounded.
//! - **Bodies are BLOBs, written once** (schemas 2, 4 and 5): a request body goes into `bodies`
//!   when it is enqueued; the inbox row, later its quarantine row, and the archive row of a push
//!   record (whose body *is* the request's) all point at it. An envelope goes into `bodies` once,
//!   and the outbox rows of all its sinks point at it. Claiming an entry or a delivery and
//!   recording a result update small rows, and nothing is stored twice. A body is deleted when
//!   nothing points at it any more. Bodies are LZ4-compressed (schema 6, `body_codec.rs`), and
//!   raw records fetched from a provider API are stored there too.
//! - **Dedupe states** (schema 3, `dedupe.rs`): appended in insertion order in a compact binary
//!   form (`state_codec.rs`), found through a small index of (scope, 64-bit key). A timeseries
//!   chunk's key starts with its window's day (schema 7), so one day's chunks share a few index
//!   pages and are read with one range scan. A state that did not change is not rewritten.
//! - **Commit policy**: [`CommitPolicy::Grouped`]; [`CommitPolicy::EveryStatement`] exists only
//!   as the benchmark baseline (one row per transaction).
//! - **Reads** run on separate read-only connections (WAL readers do not block the writer).
//! - **Migrations** are versioned (`PRAGMA user_version`) and applied at open (`migrations.rs`).

mod body_codec;
mod checkpoint;
mod dedupe;
mod migrations;
mod state_codec;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use nexus_core::dedupe::StoredState;
use nexus_core::{Error, ErrorKind, InboundRequest, RawRecord, Result};
use nexus_runtime::store::{
    Applied, ApplyBatch, ArchiveFilter, ArchivedRecord, ClaimedDelivery, ClaimedInbox,
    ConnectionRecord, ConnectionStatus, DeliveryAttempt, DeliveryFilter, DeliveryNext,
    DeliveryResult, DeliveryState, InboxEntry, InboxFence, Lease, Millis, NewArchivedRecord,
    NewInboxEntry, OutboxRow, PruneReport, QuarantineReason, QuarantinedEntry, QueueDepths,
    SinkRef, SinkState, Store, Tenant, WriteStats, new_delivery_id, new_lease_token, new_row_id,
    plan_group,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use crate::checkpoint::{Checkpointer, WalLimits};

/// How long a connection waits for a lock another holds (another process's writer, a checkpoint).
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Prepared statements each connection keeps (rusqlite's default is 16). The writer alone runs
/// about 30 distinct statements; with 16, a mix of ingest, delivery and dedupe work evicts and
/// re-parses them.
const STATEMENT_CACHE: usize = 64;
pub use crate::writer::CommitPolicy;
use crate::writer::Writer;

/// Read connections kept open for reuse: at least as many as reads run at once (every ingest
/// worker looks up its connection), since opening and closing a WAL connection costs far more
/// than the read.
const READ_POOL: usize = 32;

pub(crate) fn db_error(what: &str, e: rusqlite::Error) -> Error {
    Error::new(ErrorKind::Storage, format!("sqlite: {what} failed")).with_source(e)
}

fn json_error(what: &str, e: serde_json::Error) -> Error {
    Error::new(ErrorKind::Storage, format!("sqlite: {what} is not valid")).with_source(e)
}

/// Proof that this process holds the serving lock of a store ([`SqliteStore::lock_for_serving`]).
/// The lock is released when this is dropped or the process exits.
#[derive(Debug)]
pub struct ServeLock {
    _file: std::fs::File,
}

/// The SQLite store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    /// Stops its thread when the store is dropped.
    _checkpointer: Checkpointer,
}

impl SqliteStore {
    /// Opens (creating it and its directory) the database at `path`, applies pending migrations
    /// and starts the writer thread.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        SqliteStore::open_with(path, CommitPolicy::Grouped)
    }

    /// [`SqliteStore::open`] with a commit policy other than the default
    /// ([`CommitPolicy::Grouped`]); see [`CommitPolicy::EveryStatement`] for the only other one, a
    /// benchmark baseline.
    pub fn open_with(path: &Path, policy: CommitPolicy) -> Result<SqliteStore> {
        SqliteStore::open_limited(path, policy, WalLimits::DEFAULT, writer::MAX_BATCH_TIME)
    }

    /// [`SqliteStore::open_with`] with the WAL's limits and the writer's longest batch set (tests).
    fn open_limited(
        path: &Path,
        policy: CommitPolicy,
        limits: WalLimits,
        max_batch_time: std::time::Duration,
    ) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::new(
                    ErrorKind::Storage,
                    format!("cannot create the data directory {}", dir.display()),
                )
                .with_source(e)
            })?;
        }
        let mut conn = Connection::open(path).map_err(|e| db_error("open", e))?;
        // WAL + FULL: see the crate docs for why FULL.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = OFF;",
        )
        .map_err(|e| db_error("configure", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| db_error("configure", e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(|e| db_error("read journal mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::new(
                ErrorKind::Storage,
                format!("sqlite: could not enable WAL (journal_mode is {mode})"),
            ));
        }
        migrations::migrate(&mut conn)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Checkpoints run on their own thread (`checkpoint.rs`), not inside the writer's commits.
        // The writer keeps a larger page cache (16 MB): with SQLite's default 2 MB a batch of large rows
        // spills dirty pages to the WAL mid-transaction and re-reads b-tree pages from the file.
        // Savepoint sub-journals stay in memory (`temp_store`), not in a temp file.
        // A WAL restarted after growing past the checkpointer's limit is trimmed back to it.
        conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = {};
             PRAGMA cache_size = -16384;
             PRAGMA temp_store = MEMORY;",
            limits.journal_size_limit()
        ))
        .map_err(|e| db_error("configure the writer", e))?;
        let checkpointer = Checkpointer::start(path, limits)?;
        let writer = Writer::start(conn, policy, checkpointer.wal(), max_batch_time)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer,
                readers: Mutex::new(Vec::new()),
                _checkpointer: checkpointer,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Writes a consistent copy of the database to `dest` (`VACUUM INTO`: a snapshot of one read
    /// transaction, compacted), while the gateway keeps running; then fsyncs it. `dest` must not
    /// exist. The copy holds tokens sealed with the encryption key, which it does not contain.
    pub async fn backup_to(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(Error::new(
                ErrorKind::Storage,
                format!(
                    "{} already exists; a backup never overwrites",
                    dest.display()
                ),
            ));
        }
        let target = dest.to_string_lossy().into_owned();
        self.read(move |c| {
            c.execute("VACUUM INTO ?1", params![target])
                .map(|_| ())
                .map_err(|e| db_error("back up the database", e))
        })
        .await?;
        std::fs::File::open(dest)
            .and_then(|f| f.sync_all())
            .map_err(|e| {
                Error::new(
                    ErrorKind::Storage,
                    format!("could not flush the backup {} to disk", dest.display()),
                )
                .with_source(e)
            })
    }

    /// Takes the serving lock of this database: an exclusive lock on `<db file>.serve.lock`, held
    /// until the returned guard is dropped (or the process dies, however it dies). Only one
    /// `nexus serve` may process a database at a time; admin commands do not take it. Fails, naming
    /// the lock file, when another process holds it.
    pub fn lock_for_serving(&self) -> Result<ServeLock> {
        let mut name = self.inner.path.clone().into_os_string();
        name.push(".serve.lock");
        let path = PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Storage,
                    format!("cannot open the lock file {}", path.display()),
                )
                .with_source(e)
            })?;
        match file.try_lock() {
            Ok(()) => Ok(ServeLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::new(
                ErrorKind::Storage,
                format!(
                    "another `nexus serve` is using this store (it holds {}); stop it first",
                    path.display()
                ),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::new(
                ErrorKind::Storage,
                format!("cannot lock {}", path.display()),
            )
            .with_source(e)),
        }
    }

    /// Releases every inbox and outbox lease, making that work due now. Leases outlive a crashed
    /// gateway (they expire after `inbox_lease_secs` / the delivery lease); the holder of the
    /// serving lock knows no other process works on this store, so at startup every lease is a
    /// dead one and waiting for it to expire only delays the restart. A delivery that was in
    /// flight when the gateway died is sent again, with the same `webhook-id` (at least once).
    /// Returns (inbox, outbox) leases released.
    pub async fn release_leases(&self, _held: &ServeLock, now: Millis) -> Result<(u64, u64)> {
        self.write(move |c| {
            let inbox = c
                .execute(
                    "UPDATE inbox SET lease_token = NULL, lease_owner = NULL,
                         available_at = min(available_at, ?1)
                     WHERE lease_token IS NOT NULL",
                    params![now],
                )
                .map_err(|e| db_error("release inbox leases", e))?;
            let outbox = c
                .execute(
                    "UPDATE outbox SET lease_token = NULL, next_attempt_at = min(next_attempt_at, ?1)
                     WHERE state = 'pending' AND lease_token IS NOT NULL",
                    params![now],
                )
                .map_err(|e| db_error("release delivery leases", e))?;
            Ok((inbox as u64, outbox as u64))
        })
        .await
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop();
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(|e| db_error("open a read connection", e))?;
                    // A small page cache (1 MB, SQLite's default is 2 MB): up to READ_POOL of
                    // these stay open, and the OS page cache serves what they do not keep.
                    c.busy_timeout(BUSY_TIMEOUT)
                        .and_then(|()| c.execute_batch("PRAGMA cache_size = -1024;"))
                        .map_err(|e| db_error("configure a read connection", e))?;
                    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                    c
                }
            };
            let out = f(&conn);
            let mut pool = inner
                .readers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if pool.len() < READ_POOL {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Storage, "sqlite read task failed").with_source(e))?
    }

    /// Runs `delete` (which deletes up to [`PRUNE_CHUNK`] rows and returns how many) as
    /// separate writes until a chunk comes back short, so other writes run between them; returns
    /// the total.
    async fn in_chunks<F>(&self, delete: F) -> Result<u64>
    where
        F: Fn(&Connection) -> Result<u64> + Clone + Send + 'static,
    {
        let mut total = 0;
        loop {
            let n = self.write(delete.clone()).await?;
            total += n;
            if n < PRUNE_CHUNK {
                return Ok(total);
            }
        }
    }

    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.inner.writer.write(f).await
    }
}

// ---- row mapping ----

fn to_json<T: serde::Serialize>(what: &str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| json_error(what, e))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| json_error(what, e))
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i64_of(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

const CONNECTION_COLS: &str = "connection_id, tenant_id, user_id, external_user_ref, provider, \
     provider_user_id, status, sealed_tokens, created_at, updated_at";

fn connection_row(r: &Row<'_>) -> rusqlite::Result<(ConnectionRecord, String)> {
    let status: String = r.get(6)?;
    Ok((
        ConnectionRecord {
            connection_id: r.get(0)?,
            tenant_id: r.get(1)?,
            user_id: r.get(2)?,
            external_user_ref: r.get(3)?,
            provider: r.get(4)?,
            provider_user_id: r.get(5)?,
            status: ConnectionStatus::Active,
            sealed_tokens: r.get(7)?,
            created_at: r.get(8)?,
            updated_at: r.get(9)?,
        },
        status,
    ))
}

fn finish_connection((mut c, status): (ConnectionRecord, String)) -> Result<ConnectionRecord> {
    c.status = ConnectionStatus::parse(&status).ok_or_else(|| {
        Error::new(
            ErrorKind::Storage,
            format!("sqlite: unknown connection status {status:?}"),
        )
    })?;
    Ok(c)
}

/// A request as stored (schema 2): everything but the body, which is stored as a BLOB.
#[derive(serde::Serialize)]
struct RequestHeadRef<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a [(String, String)],
}

/// [`RequestHeadRef`] read back.
#[derive(serde::Deserialize)]
struct RequestHead {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
}

fn request_head(r: &InboundRequest) -> Result<String> {
    to_json(
        "request",
        &RequestHeadRef {
            method: &r.method,
            path: &r.path,
            query: r.query.as_deref(),
            headers: &r.headers,
        },
    )
}

/// The stored request: head JSON + body, or (rows of schema 1, `body` NULL) the whole request as
/// JSON with the body in base64.
fn stored_request(request: &str, body: Option<Vec<u8>>) -> Result<InboundRequest> {
    match body {
        Some(body) => {
            let h: RequestHead = from_json("stored request", request)?;
            Ok(InboundRequest {
                method: h.method,
                path: h.path,
                query: h.query,
                headers: h.headers,
                body: Bytes::from(body),
            })
        }
        None => from_json::<InboundRequest>("stored request", request),
    }
}

/// A raw record as archived (schema 2): everything but the body.
#[derive(serde::Serialize)]
struct RecordHeadRef<'a> {
    kind: &'a str,
    provider_user_id: Option<&'a str>,
    provider_notification_id: Option<&'a str>,
    fetched_at: Option<i64>,
}

/// [`RecordHeadRef`] read back.
#[derive(serde::Deserialize)]
struct RecordHead {
    kind: String,
    provider_user_id: Option<String>,
    provider_notification_id: Option<String>,
    fetched_at: Option<i64>,
}

fn record_head(r: &RawRecord) -> Result<String> {
    to_json(
        "record",
        &RecordHeadRef {
            kind: &r.kind,
            provider_user_id: r.provider_user_id.as_deref(),
            provider_notification_id: r.provider_notification_id.as_deref(),
            fetched_at: r.fetched_at,
        },
    )
}

/// The archived record: head JSON + body, or (rows of schema 1) the whole record as JSON.
fn stored_record(record: &str, body: Option<Vec<u8>>) -> Result<RawRecord> {
    match body {
        Some(body) => {
            let h: RecordHead = from_json("archived record", record)?;
            Ok(RawRecord {
                kind: h.kind,
                body: Bytes::from(body),
                provider_user_id: h.provider_user_id,
                provider_notification_id: h.provider_notification_id,
                fetched_at: h.fetched_at,
            })
        }
        None => from_json::<RawRecord>("archived record", record),
    }
}

struct RawInbox {
    id: String,
    provider: String,
    request: String,
    body: StoredBody,
    received_at: i64,
    attempts: i64,
    last_error: Option<String>,
}

impl RawInbox {
    fn into_entry(self) -> Result<InboxEntry> {
        Ok(InboxEntry {
            request: stored_request(&self.request, self.body.decode()?)?,
            id: self.id,
            provider: self.provider,
            received_at: self.received_at,
            attempts: u32_of(self.attempts),
            last_error: self.last_error,
        })
    }
}

/// The columns [`outbox_row`] reads, over [`OUTBOX_FROM`]: the envelope is in `bodies` (schema 5)
/// or, for rows written before, in the row's own `body`.
const OUTBOX_COLS: &str = "delivery_id, tenant_id, sink_id, event_id, event_type, attempts, \
     state, next_attempt_at, last_error, created_at, \
     CASE WHEN body_id IS NULL THEN body END, bytes, codec, body_id";
/// The outbox with its envelope bodies.
const OUTBOX_FROM: &str = "outbox LEFT JOIN bodies ON bodies.id = outbox.body_id";

/// An outbox row as read: the row (its body still empty), its state, its stored body.
type RawOutbox = (OutboxRow, String, StoredBody);

fn outbox_row(r: &Row<'_>) -> rusqlite::Result<RawOutbox> {
    Ok((
        OutboxRow {
            delivery_id: r.get(0)?,
            sink: SinkRef {
                tenant_id: r.get(1)?,
                sink_id: r.get(2)?,
            },
            event_id: r.get(3)?,
            event_type: r.get(4)?,
            body: Bytes::new(),
            attempts: u32_of(r.get(5)?),
            state: DeliveryState::Pending,
            next_attempt_at: r.get(7)?,
            last_error: r.get(8)?,
            created_at: r.get(9)?,
        },
        r.get(6)?,
        StoredBody::read(r, 10)?,
    ))
}

fn finish_outbox((mut row, state, body): RawOutbox) -> Result<OutboxRow> {
    row.state = DeliveryState::parse(&state).ok_or_else(|| {
        Error::new(
            ErrorKind::Storage,
            format!("sqlite: unknown delivery state {state:?}"),
        )
    })?;
    row.body = Bytes::from(body.decode()?.unwrap_or_default());
    Ok(row)
}

fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<T>>, what: &str) -> Result<Vec<T>> {
    rows.collect::<rusqlite::Result<Vec<T>>>()
        .map_err(|e| db_error(what, e))
}

// ---- the archive and apply transactions ----

/// Archive rows with their ids, encoded records and compressed bodies (for the records whose body
/// is not the request's), made before the writer thread runs them.
type ArchiveRows = Vec<(String, String, NewArchivedRecord, Option<Vec<u8>>)>;

fn encode_archive(records: Vec<NewArchivedRecord>) -> Result<ArchiveRows> {
    records
        .into_iter()
        .map(|r| {
            let shares_request = r.inbox_id.is_some() && r.body_is_request;
            let packed = if shares_request {
                None
            } else {
                body_codec::compress(&r.record.body)
            };
            Ok((new_row_id(), record_head(&r.record)?, r, packed))
        })
        .collect()
}

fn archive_in_tx(conn: &Connection, rows: ArchiveRows) -> Result<Vec<String>> {
    let mut st = conn
        .prepare_cached(
            "INSERT INTO archive (id, provider, tenant_id, connection_id, inbox_id, record, archived_at, body_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(|e| db_error("prepare archive", e))?;
    let mut ids = Vec::with_capacity(rows.len());
    for (id, json, r, packed) in rows {
        // A push record's body is the request's: point at the inbox entry's stored body.
        let shared = match (&r.inbox_id, r.body_is_request) {
            (Some(inbox_id), true) => inbox_body_id(conn, inbox_id)?,
            _ => None,
        };
        let body_id = match shared {
            Some(b) => b,
            None => {
                // Compressed before, unless the request's body was expected (an inbox row
                // written before schema 4 has none in `bodies`).
                let packed = packed.or_else(|| {
                    r.body_is_request
                        .then(|| body_codec::compress(&r.record.body))
                        .flatten()
                });
                insert_body(conn, &r.record.body, packed.as_deref())?
            }
        };
        st.execute(params![
            id,
            r.provider,
            r.tenant_id,
            r.connection_id,
            r.inbox_id,
            json,
            r.archived_at,
            body_id
        ])
        .map_err(|e| db_error("archive", e))?;
        ids.push(id);
    }
    Ok(ids)
}

/// The stored body of inbox entry `id` (`None` for rows written before schema 4, or no entry).
fn inbox_body_id(conn: &Connection, id: &str) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT body_id FROM inbox WHERE id = ?1")
        .and_then(|mut st| {
            st.query_row(params![id], |r| r.get::<_, Option<i64>>(0))
                .optional()
        })
        .map(Option::flatten)
        .map_err(|e| db_error("read an inbox body id", e))
}

/// Stores a body: `compressed` (from [`body_codec::compress`], made before the writer runs when
/// possible) or else `raw`; returns its id.
fn insert_body(conn: &Connection, raw: &[u8], compressed: Option<&[u8]>) -> Result<i64> {
    let (codec, bytes) = match compressed {
        Some(c) => (body_codec::LZ4, c),
        None => (body_codec::RAW, raw),
    };
    conn.prepare_cached("INSERT INTO bodies (bytes, codec) VALUES (?1, ?2)")
        .and_then(|mut st| st.execute(params![bytes, codec]))
        .map_err(|e| db_error("store a body", e))?;
    Ok(conn.last_insert_rowid())
}

/// A body as read back, from the four columns `<row>.body, b.bytes, b.codec, <row>.body_id` (a
/// row LEFT JOINed with `bodies b`): inline in its row (written before schema 4), or stored in
/// `bodies` with its codec.
struct StoredBody {
    inline: Option<Vec<u8>>,
    stored: Option<Vec<u8>>,
    codec: Option<i64>,
    id: Option<i64>,
}

impl StoredBody {
    /// Reads the four columns from `at`.
    fn read(r: &Row<'_>, at: usize) -> rusqlite::Result<StoredBody> {
        Ok(StoredBody {
            inline: r.get(at)?,
            stored: r.get(at + 1)?,
            codec: r.get(at + 2)?,
            id: r.get(at + 3)?,
        })
    }

    /// The body's bytes (`None`: the row has none, as rows of schema 1).
    fn decode(self) -> Result<Option<Vec<u8>>> {
        match (self.inline, self.stored) {
            (Some(b), _) => Ok(Some(b)),
            (None, Some(b)) => {
                body_codec::decode(self.codec.unwrap_or(body_codec::RAW), b, self.id).map(Some)
            }
            (None, None) => match self.id {
                Some(id) => Err(Error::new(
                    ErrorKind::Storage,
                    format!("sqlite: stored body {id} is missing"),
                )),
                None => Ok(None),
            },
        }
    }
}

/// Deletes body `id` unless an inbox, quarantine, archive or outbox row still points at it.
fn release_body(conn: &Connection, id: Option<i64>) -> Result<()> {
    let Some(id) = id else {
        return Ok(());
    };
    conn.prepare_cached(
        "DELETE FROM bodies WHERE id = ?1
           AND NOT EXISTS (SELECT 1 FROM inbox WHERE body_id = ?1)
           AND NOT EXISTS (SELECT 1 FROM quarantine WHERE body_id = ?1)
           AND NOT EXISTS (SELECT 1 FROM archive WHERE body_id = ?1)
           AND NOT EXISTS (SELECT 1 FROM outbox WHERE body_id = ?1)",
    )
    .and_then(|mut st| st.execute(params![id]))
    .map_err(|e| db_error("release a request body", e))?;
    Ok(())
}

/// [`release_body`] for each distinct body of rows just deleted.
fn release_bodies(conn: &Connection, ids: &[Option<i64>]) -> Result<()> {
    let mut ids: Vec<i64> = ids.iter().flatten().copied().collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        release_body(conn, Some(id))?;
    }
    Ok(())
}

/// Rows deleted per prune transaction.
const PRUNE_CHUNK: u64 = 2_000;

/// Deletes up to `limit` delivered outbox rows last updated before `before`, their attempts, and
/// the bodies no other row points at. Returns the rows deleted.
fn prune_deliveries(conn: &Connection, before: Millis, limit: u64) -> Result<u64> {
    let ids: Vec<String> = {
        let mut st = conn
            .prepare_cached(
                "SELECT delivery_id FROM outbox WHERE state = 'delivered' AND updated_at < ?1 LIMIT ?2",
            )
            .map_err(|e| db_error("prune deliveries", e))?;
        let rows = st
            .query_map(
                params![before, i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| r.get(0),
            )
            .map_err(|e| db_error("prune deliveries", e))?;
        collect(rows, "prune deliveries")?
    };
    let mut attempts = conn
        .prepare_cached("DELETE FROM delivery_attempts WHERE delivery_id = ?1")
        .map_err(|e| db_error("prune attempts", e))?;
    let mut rows = conn
        .prepare_cached("DELETE FROM outbox WHERE delivery_id = ?1 RETURNING body_id")
        .map_err(|e| db_error("prune deliveries", e))?;
    let mut bodies = Vec::with_capacity(ids.len());
    for id in &ids {
        attempts
            .execute(params![id])
            .map_err(|e| db_error("prune attempts", e))?;
        let body: Option<Option<i64>> = rows
            .query_row(params![id], |r| r.get(0))
            .optional()
            .map_err(|e| db_error("prune deliveries", e))?;
        bodies.push(body.flatten());
    }
    release_bodies(conn, &bodies)?;
    Ok(ids.len() as u64)
}

/// Deletes up to `limit` archived records older than `before` and the bodies no other row points
/// at. Returns the records deleted.
fn prune_archive(conn: &Connection, before: Millis, limit: u64) -> Result<u64> {
    let mut st = conn
        .prepare_cached(
            "DELETE FROM archive WHERE id IN
                 (SELECT id FROM archive WHERE archived_at < ?1 ORDER BY archived_at LIMIT ?2)
             RETURNING body_id",
        )
        .map_err(|e| db_error("prune archive", e))?;
    let rows = st
        .query_map(
            params![before, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| r.get::<_, Option<i64>>(0),
        )
        .map_err(|e| db_error("prune archive", e))?;
    let bodies = collect(rows, "prune archive")?;
    release_bodies(conn, &bodies)?;
    Ok(bodies.len() as u64)
}

/// Deletes the leased inbox entry of `fence` and releases its body; false when the lease was lost.
fn complete_in_tx(conn: &Connection, fence: &InboxFence) -> Result<bool> {
    let gone: Option<Option<i64>> = conn
        .prepare_cached("DELETE FROM inbox WHERE id = ?1 AND lease_token = ?2 RETURNING body_id")
        .and_then(|mut st| {
            st.query_row(params![fence.inbox_id, fence.token], |r| r.get(0))
                .optional()
        })
        .map_err(|e| db_error("complete the inbox entry", e))?;
    match gone {
        Some(body) => {
            release_body(conn, body)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

fn apply_in_tx(conn: &Connection, mut batch: ApplyBatch, archive: ArchiveRows) -> Result<Applied> {
    if let Some(fence) = &batch.fence {
        let held: Option<String> = conn
            .prepare_cached("SELECT id FROM inbox WHERE id = ?1 AND lease_token = ?2")
            .and_then(|mut st| {
                st.query_row(params![fence.inbox_id, fence.token], |r| r.get(0))
                    .optional()
            })
            .map_err(|e| db_error("check the inbox fence", e))?;
        if held.is_none() {
            return Ok(Applied {
                fenced_out: true,
                ..Applied::default()
            });
        }
    }
    archive_in_tx(conn, archive)?;
    let mut applied = Applied::default();
    let mut outbox = conn
        .prepare_cached(
            "INSERT INTO outbox (delivery_id, tenant_id, sink_id, event_id, event_type, body, body_id,
                                 attempts, state, next_attempt_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, X'', ?6, 0, 'pending', ?7, ?7, ?7)",
        )
        .map_err(|e| db_error("prepare outbox write", e))?;
    for mut group in std::mem::take(&mut batch.groups) {
        let tenant = group.recipient.tenant_id.clone();
        let sinks = std::mem::take(&mut group.sinks);
        let scope = dedupe::scope_id(conn, &tenant, &group.recipient.connection_id, true)?
            .ok_or_else(|| Error::new(ErrorKind::Storage, "sqlite: no dedupe scope created"))?;
        let mut keys: Vec<dedupe::StateKey> = group
            .items
            .iter()
            .map(|i| dedupe::StateKey::of(&i.incoming.item))
            .collect();
        // One key per source_id (deduplicated by source_id, so a source_id never gets two rows),
        // then read and inserted in index order: neighbouring entries, the same few pages.
        keys.sort_unstable_by(|a, b| a.source_id.cmp(&b.source_id));
        keys.dedup_by(|a, b| a.source_id == b.source_id);
        keys.sort_unstable_by_key(|k| k.index_key);
        let mut states: HashMap<String, StoredState> = HashMap::with_capacity(keys.len());
        let loaded = dedupe::load(conn, scope, &keys, &mut states)?;
        // The group's items move into its envelopes.
        let (planned, suppressed) = plan_group(group, &mut states, batch.emitted_at)?;
        applied.suppressed += suppressed;
        dedupe::write_changed(conn, scope, &keys, &states, &loaded)?;
        for p in planned {
            // One stored body per envelope, whatever the number of sinks: the rows point at it,
            // so leases and state updates never rewrite the envelope.
            let packed = body_codec::compress(&p.body);
            let body_id = insert_body(conn, &p.body, packed.as_deref())?;
            for sink in &sinks {
                outbox
                    .execute(params![
                        new_delivery_id(),
                        tenant,
                        sink,
                        p.envelope.event_id,
                        p.envelope.event_type.as_str(),
                        body_id,
                        batch.emitted_at,
                    ])
                    .map_err(|e| db_error("write outbox row", e))?;
                applied.deliveries += 1;
            }
            applied.envelopes.push(p.envelope);
        }
    }
    if let Some(fence) = &batch.fence {
        complete_in_tx(conn, fence)?;
    }
    Ok(applied)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(|e| db_error("ping", e))
        })
        .await?;
        // The writer thread must be alive too.
        self.write(|_| Ok(())).await
    }

    async fn upsert_tenant(&self, tenant: &Tenant) -> Result<()> {
        let t = tenant.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                params![t.id, t.name, t.created_at],
            )
            .map_err(|e| db_error("upsert tenant", e))?;
            Ok(())
        })
        .await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>> {
        self.read(|c| {
            let mut st = c
                .prepare("SELECT id, name, created_at FROM tenants ORDER BY id")
                .map_err(|e| db_error("list tenants", e))?;
            let rows = st
                .query_map([], |r| {
                    Ok(Tenant {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        created_at: r.get(2)?,
                    })
                })
                .map_err(|e| db_error("list tenants", e))?;
            collect(rows, "list tenants")
        })
        .await
    }

    async fn upsert_connection(&self, connection: &ConnectionRecord) -> Result<()> {
        let k = connection.clone();
        self.write(move |c| {
            let other: Option<String> = c
                .query_row(
                    "SELECT connection_id FROM connections WHERE provider = ?1 AND provider_user_id = ?2",
                    params![k.provider, k.provider_user_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| db_error("look up connection", e))?;
            if other.as_ref().is_some_and(|o| *o != k.connection_id) {
                return Err(Error::new(
                    ErrorKind::Config,
                    "this provider user is already linked to another connection",
                )
                .with_provider(k.provider.clone())
                .with_field("provider_user_id"));
            }
            c.execute(
                "INSERT INTO connections (connection_id, tenant_id, user_id, external_user_ref, provider,
                     provider_user_id, status, sealed_tokens, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (connection_id) DO UPDATE SET tenant_id = excluded.tenant_id,
                     user_id = excluded.user_id, external_user_ref = excluded.external_user_ref,
                     provider = excluded.provider, provider_user_id = excluded.provider_user_id,
                     status = excluded.status, sealed_tokens = excluded.sealed_tokens,
                     updated_at = excluded.updated_at",
                params![
                    k.connection_id,
                    k.tenant_id,
                    k.user_id,
                    k.external_user_ref,
                    k.provider,
                    k.provider_user_id,
                    k.status.as_str(),
                    k.sealed_tokens,
                    k.created_at,
                    k.updated_at
                ],
            )
            .map_err(|e| db_error("upsert connection", e))?;
            Ok(())
        })
        .await
    }

    async fn connection(&self, connection_id: &str) -> Result<Option<ConnectionRecord>> {
        let id = connection_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {CONNECTION_COLS} FROM connections WHERE connection_id = ?1"
            ))
            .and_then(|mut st| st.query_row(params![id], connection_row).optional())
            .map_err(|e| db_error("read connection", e))?
            .map(finish_connection)
            .transpose()
        })
        .await
    }

    async fn connection_for(
        &self,
        provider: &str,
        provider_user_id: &str,
    ) -> Result<Option<ConnectionRecord>> {
        let (p, u) = (provider.to_owned(), provider_user_id.to_owned());
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {CONNECTION_COLS} FROM connections WHERE provider = ?1 AND provider_user_id = ?2"
            ))
            .and_then(|mut st| st.query_row(params![p, u], connection_row).optional())
            .map_err(|e| db_error("read connection", e))?
            .map(finish_connection)
            .transpose()
        })
        .await
    }

    async fn connections(&self, tenant_id: Option<&str>) -> Result<Vec<ConnectionRecord>> {
        let t = tenant_id.map(str::to_owned);
        self.read(move |c| {
            let mut st = c
                .prepare(&format!(
                    "SELECT {CONNECTION_COLS} FROM connections WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY connection_id"
                ))
                .map_err(|e| db_error("list connections", e))?;
            let rows = st
                .query_map(params![t], connection_row)
                .map_err(|e| db_error("list connections", e))?;
            collect(rows, "list connections")?
                .into_iter()
                .map(finish_connection)
                .collect()
        })
        .await
    }

    async fn enqueue(&self, entries: Vec<NewInboxEntry>) -> Result<Vec<String>> {
        // Compressed here, on the caller's thread, not on the writer's.
        let rows = entries
            .into_iter()
            .map(|e| {
                let packed = body_codec::compress(&e.request.body);
                Ok((new_row_id(), request_head(&e.request)?, e, packed))
            })
            .collect::<Result<Vec<_>>>()?;
        self.write(move |c| {
            let mut st = c
                .prepare_cached(
                    "INSERT INTO inbox (id, provider, request, received_at, attempts, available_at, body_id)
                     VALUES (?1, ?2, ?3, ?4, 0, ?4, ?5)",
                )
                .map_err(|e| db_error("prepare enqueue", e))?;
            let mut ids = Vec::with_capacity(rows.len());
            for (id, json, e, packed) in rows {
                let body = insert_body(c, &e.request.body, packed.as_deref())?;
                st.execute(params![id, e.provider, json, e.received_at, body])
                    .map_err(|e| db_error("enqueue", e))?;
                ids.push(id);
            }
            Ok(ids)
        })
        .await
    }

    async fn claim_inbox(
        &self,
        owner: &str,
        limit: usize,
        lease_ms: i64,
        now: Millis,
    ) -> Result<Vec<ClaimedInbox>> {
        let owner = owner.to_owned();
        self.write(move |c| {
            let until = now.saturating_add(lease_ms);
            let mut st = c
                .prepare_cached(
                    "SELECT i.id, i.provider, i.request, i.received_at, i.attempts, i.last_error,
                         i.body, b.bytes, b.codec, i.body_id
                     FROM inbox i LEFT JOIN bodies b ON b.id = i.body_id
                     WHERE i.available_at <= ?1 ORDER BY i.available_at, i.id LIMIT ?2",
                )
                .map_err(|e| db_error("claim inbox", e))?;
            let rows = st
                .query_map(params![now, i64_of(limit)], |r| {
                    Ok(RawInbox {
                        id: r.get(0)?,
                        provider: r.get(1)?,
                        request: r.get(2)?,
                        received_at: r.get(3)?,
                        attempts: r.get(4)?,
                        last_error: r.get(5)?,
                        body: StoredBody::read(r, 6)?,
                    })
                })
                .map_err(|e| db_error("claim inbox", e))?;
            let raws = collect(rows, "claim inbox")?;
            let mut out = Vec::with_capacity(raws.len());
            let mut lease = c
                .prepare_cached(
                    "UPDATE inbox SET lease_token = ?1, lease_owner = ?2, available_at = ?3 WHERE id = ?4",
                )
                .map_err(|e| db_error("lease inbox entry", e))?;
            for raw in raws {
                let token = new_lease_token();
                lease
                    .execute(params![token, owner, until, raw.id])
                    .map_err(|e| db_error("lease inbox entry", e))?;
                out.push(ClaimedInbox {
                    entry: raw.into_entry()?,
                    lease: Lease { token, until },
                });
            }
            Ok(out)
        })
        .await
    }

    async fn retry_inbox(
        &self,
        fence: &InboxFence,
        error: &str,
        not_before: Millis,
    ) -> Result<bool> {
        let (f, err) = (fence.clone(), error.to_owned());
        self.write(move |c| {
            let n = c
                .execute(
                    "UPDATE inbox SET lease_token = NULL, lease_owner = NULL, available_at = ?1,
                         attempts = attempts + 1, last_error = ?2
                     WHERE id = ?3 AND lease_token = ?4",
                    params![not_before, err, f.inbox_id, f.token],
                )
                .map_err(|e| db_error("reschedule inbox entry", e))?;
            Ok(n == 1)
        })
        .await
    }

    async fn complete_inbox(&self, fence: &InboxFence) -> Result<bool> {
        let f = fence.clone();
        self.write(move |c| complete_in_tx(c, &f)).await
    }

    async fn quarantine_inbox(
        &self,
        fence: &InboxFence,
        reason: &QuarantineReason,
        now: Millis,
    ) -> Result<bool> {
        let (f, r) = (fence.clone(), reason.clone());
        self.write(move |c| {
            let n = c
                .execute(
                    "INSERT INTO quarantine (id, provider, request, received_at, attempts, last_error,
                         reason_kind, reason_message, quarantined_at, body, body_id)
                     SELECT id, provider, request, received_at, attempts, last_error, ?3, ?4, ?5, body,
                         body_id
                     FROM inbox WHERE id = ?1 AND lease_token = ?2",
                    params![f.inbox_id, f.token, r.kind, r.message, now],
                )
                .map_err(|e| db_error("quarantine", e))?;
            if n == 1 {
                c.execute("DELETE FROM inbox WHERE id = ?1", params![f.inbox_id])
                    .map_err(|e| db_error("quarantine", e))?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn quarantined(&self, limit: usize) -> Result<Vec<QuarantinedEntry>> {
        self.read(move |c| {
            let mut st = c
                .prepare(
                    "SELECT q.id, q.provider, q.request, q.received_at, q.attempts, q.last_error,
                         q.reason_kind, q.reason_message, q.quarantined_at,
                         q.body, b.bytes, b.codec, q.body_id
                     FROM quarantine q LEFT JOIN bodies b ON b.id = q.body_id
                     ORDER BY q.id LIMIT ?1",
                )
                .map_err(|e| db_error("list quarantine", e))?;
            let rows = st
                .query_map(params![i64_of(limit)], |r| {
                    Ok((
                        RawInbox {
                            id: r.get(0)?,
                            provider: r.get(1)?,
                            request: r.get(2)?,
                            received_at: r.get(3)?,
                            attempts: r.get(4)?,
                            last_error: r.get(5)?,
                            body: StoredBody::read(r, 9)?,
                        },
                        QuarantineReason {
                            kind: r.get(6)?,
                            message: r.get(7)?,
                        },
                        r.get::<_, i64>(8)?,
                    ))
                })
                .map_err(|e| db_error("list quarantine", e))?;
            collect(rows, "list quarantine")?
                .into_iter()
                .map(|(raw, reason, at)| {
                    Ok(QuarantinedEntry {
                        entry: raw.into_entry()?,
                        reason,
                        quarantined_at: at,
                    })
                })
                .collect()
        })
        .await
    }

    async fn requeue_quarantined(&self, ids: Option<&[String]>, now: Millis) -> Result<usize> {
        let ids = ids.map(<[String]>::to_vec);
        self.write(move |c| {
            let selected: Vec<String> = match ids {
                Some(ids) => ids,
                None => {
                    let mut st = c
                        .prepare("SELECT id FROM quarantine ORDER BY id")
                        .map_err(|e| db_error("requeue", e))?;
                    let rows = st
                        .query_map([], |r| r.get(0))
                        .map_err(|e| db_error("requeue", e))?;
                    collect(rows, "requeue")?
                }
            };
            let mut moved = 0;
            for id in selected {
                let n = c
                    .execute(
                        "INSERT INTO inbox (id, provider, request, received_at, attempts, last_error, available_at,
                             body, body_id)
                         SELECT id, provider, request, received_at, 0, reason_message, ?2, body, body_id
                         FROM quarantine WHERE id = ?1",
                        params![id, now],
                    )
                    .map_err(|e| db_error("requeue", e))?;
                if n == 1 {
                    c.execute("DELETE FROM quarantine WHERE id = ?1", params![id])
                        .map_err(|e| db_error("requeue", e))?;
                    moved += 1;
                }
            }
            Ok(moved)
        })
        .await
    }

    async fn archive(&self, records: Vec<NewArchivedRecord>) -> Result<Vec<String>> {
        let rows = encode_archive(records)?;
        self.write(move |c| archive_in_tx(c, rows)).await
    }

    async fn archived(&self, filter: &ArchiveFilter) -> Result<Vec<ArchivedRecord>> {
        let f = filter.clone();
        self.read(move |c| {
            let mut st = c
                .prepare(
                    "SELECT a.id, a.provider, a.tenant_id, a.connection_id, a.inbox_id, a.record,
                         a.archived_at, a.body, b.bytes, b.codec, a.body_id
                     FROM archive a LEFT JOIN bodies b ON b.id = a.body_id
                     WHERE (?1 IS NULL OR a.provider = ?1) AND (?2 IS NULL OR a.tenant_id = ?2)
                       AND (?3 IS NULL OR a.connection_id = ?3) AND (?4 IS NULL OR a.archived_at >= ?4)
                       AND (?5 IS NULL OR a.archived_at < ?5) AND (?6 IS NULL OR a.id > ?6)
                     ORDER BY a.id LIMIT ?7",
                )
                .map_err(|e| db_error("read archive", e))?;
            let rows = st
                .query_map(
                    params![
                        f.provider,
                        f.tenant_id,
                        f.connection_id,
                        f.since,
                        f.until,
                        f.after_id,
                        i64_of(f.limit)
                    ],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, i64>(6)?,
                            StoredBody::read(r, 7)?,
                        ))
                    },
                )
                .map_err(|e| db_error("read archive", e))?;
            collect(rows, "read archive")?
                .into_iter()
                .map(
                    |(id, provider, tenant_id, connection_id, inbox_id, rec, at, body)| {
                        Ok(ArchivedRecord {
                            id,
                            provider,
                            tenant_id,
                            connection_id,
                            inbox_id,
                            record: stored_record(&rec, body.decode()?)?,
                            archived_at: at,
                        })
                    },
                )
                .collect()
        })
        .await
    }

    async fn apply(&self, mut batch: ApplyBatch) -> Result<Applied> {
        let archive = encode_archive(std::mem::take(&mut batch.archive))?;
        self.write(move |c| apply_in_tx(c, batch, archive)).await
    }

    async fn dedupe_state(
        &self,
        tenant_id: &str,
        connection_id: &str,
        source_id: &str,
    ) -> Result<Option<StoredState>> {
        let (t, k, s) = (
            tenant_id.to_owned(),
            connection_id.to_owned(),
            source_id.to_owned(),
        );
        self.read(move |c| dedupe::read_one(c, &t, &k, &s)).await
    }

    async fn claim_deliveries(
        &self,
        sink: &SinkRef,
        limit: usize,
        lease_ms: i64,
        now: Millis,
    ) -> Result<Vec<ClaimedDelivery>> {
        let s = sink.clone();
        self.write(move |c| {
            let enabled: Option<i64> = c
                .prepare_cached("SELECT enabled FROM sink_state WHERE tenant_id = ?1 AND sink_id = ?2")
                .and_then(|mut st| {
                    st.query_row(params![s.tenant_id, s.sink_id], |r| r.get(0))
                        .optional()
                })
                .map_err(|e| db_error("read sink state", e))?;
            if enabled == Some(0) {
                return Ok(Vec::new());
            }
            let until = now.saturating_add(lease_ms);
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {OUTBOX_COLS} FROM {OUTBOX_FROM}
                     WHERE tenant_id = ?1 AND sink_id = ?2 AND state = 'pending' AND next_attempt_at <= ?3
                     ORDER BY next_attempt_at, delivery_id LIMIT ?4"
                ))
                .map_err(|e| db_error("claim deliveries", e))?;
            let rows = st
                .query_map(
                    params![s.tenant_id, s.sink_id, now, i64_of(limit)],
                    outbox_row,
                )
                .map_err(|e| db_error("claim deliveries", e))?;
            let rows = collect(rows, "claim deliveries")?;
            let mut out = Vec::with_capacity(rows.len());
            let mut lease = c
                .prepare_cached(
                    "UPDATE outbox SET lease_token = ?1, next_attempt_at = ?2 WHERE delivery_id = ?3",
                )
                .map_err(|e| db_error("lease delivery", e))?;
            for raw in rows {
                let row = finish_outbox(raw)?;
                let token = new_lease_token();
                lease
                    .execute(params![token, until, row.delivery_id])
                    .map_err(|e| db_error("lease delivery", e))?;
                out.push(ClaimedDelivery {
                    row,
                    lease: Lease { token, until },
                });
            }
            Ok(out)
        })
        .await
    }

    async fn record_deliveries(&self, results: Vec<DeliveryResult>) -> Result<usize> {
        self.write(move |c| {
            let mut applied = 0;
            for r in results {
                let row: Option<(String, String)> = c
                    .prepare_cached(
                        "SELECT tenant_id, sink_id FROM outbox WHERE delivery_id = ?1 AND lease_token = ?2 AND state = 'pending'",
                    )
                    .and_then(|mut st| {
                        st.query_row(params![r.delivery_id, r.token], |x| {
                            Ok((x.get(0)?, x.get(1)?))
                        })
                        .optional()
                    })
                    .map_err(|e| db_error("record delivery", e))?;
                let Some((tenant_id, sink_id)) = row else {
                    continue;
                };
                let a = &r.attempt;
                c.prepare_cached(
                    "INSERT OR REPLACE INTO delivery_attempts (delivery_id, attempt, at, duration_ms, outcome, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut st| {
                    st.execute(params![r.delivery_id, a.attempt, a.at, a.duration_ms, a.outcome, a.error])
                })
                .map_err(|e| db_error("record attempt", e))?;
                let (state, next_at) = match &r.next {
                    DeliveryNext::Delivered => (DeliveryState::Delivered, a.at),
                    DeliveryNext::RetryAt(t) => (DeliveryState::Pending, *t),
                    DeliveryNext::Failed | DeliveryNext::FailedAndDisableSink => {
                        (DeliveryState::Failed, a.at)
                    }
                };
                c.prepare_cached(
                    "UPDATE outbox SET state = ?1, next_attempt_at = ?2, attempts = ?3, last_error = ?4,
                         lease_token = NULL, updated_at = ?5
                     WHERE delivery_id = ?6",
                )
                .and_then(|mut st| {
                    st.execute(params![state.as_str(), next_at, a.attempt, a.error, a.at, r.delivery_id])
                })
                .map_err(|e| db_error("update delivery", e))?;
                if r.next == DeliveryNext::FailedAndDisableSink {
                    c.execute(
                        "INSERT INTO sink_state (tenant_id, sink_id, enabled, reason, changed_at)
                         VALUES (?1, ?2, 0, ?3, ?4)
                         ON CONFLICT (tenant_id, sink_id) DO UPDATE SET enabled = 0,
                             reason = excluded.reason, changed_at = excluded.changed_at",
                        params![tenant_id, sink_id, a.error, a.at],
                    )
                    .map_err(|e| db_error("disable sink", e))?;
                }
                applied += 1;
            }
            Ok(applied)
        })
        .await
    }

    async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<OutboxRow>> {
        let f = filter.clone();
        self.read(move |c| {
            let (st_t, st_s) = match &f.sink {
                Some(s) => (Some(s.tenant_id.clone()), Some(s.sink_id.clone())),
                None => (f.tenant_id.clone(), None),
            };
            let mut st = c
                .prepare(&format!(
                    "SELECT {OUTBOX_COLS} FROM {OUTBOX_FROM}
                     WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR sink_id = ?2)
                       AND (?3 IS NULL OR state = ?3)
                     ORDER BY created_at, delivery_id LIMIT ?4"
                ))
                .map_err(|e| db_error("list deliveries", e))?;
            let rows = st
                .query_map(
                    params![
                        st_t,
                        st_s,
                        f.state.map(DeliveryState::as_str),
                        i64_of(f.limit)
                    ],
                    outbox_row,
                )
                .map_err(|e| db_error("list deliveries", e))?;
            collect(rows, "list deliveries")?
                .into_iter()
                .map(finish_outbox)
                .collect()
        })
        .await
    }

    async fn attempts(&self, delivery_id: &str) -> Result<Vec<DeliveryAttempt>> {
        let id = delivery_id.to_owned();
        self.read(move |c| {
            let mut st = c
                .prepare(
                    "SELECT delivery_id, attempt, at, duration_ms, outcome, error FROM delivery_attempts
                     WHERE delivery_id = ?1 ORDER BY attempt",
                )
                .map_err(|e| db_error("list attempts", e))?;
            let rows = st
                .query_map(params![id], |r| {
                    Ok(DeliveryAttempt {
                        delivery_id: r.get(0)?,
                        attempt: u32_of(r.get(1)?),
                        at: r.get(2)?,
                        duration_ms: r.get(3)?,
                        outcome: r.get(4)?,
                        error: r.get(5)?,
                    })
                })
                .map_err(|e| db_error("list attempts", e))?;
            collect(rows, "list attempts")
        })
        .await
    }

    async fn retry_failed(&self, sink: Option<&SinkRef>, now: Millis) -> Result<usize> {
        let s = sink.cloned();
        self.write(move |c| {
            let (t, k) = match &s {
                Some(s) => (Some(s.tenant_id.clone()), Some(s.sink_id.clone())),
                None => (None, None),
            };
            let n = c
                .execute(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?1,
                         lease_token = NULL, updated_at = ?1
                     WHERE state = 'failed' AND (?2 IS NULL OR tenant_id = ?2) AND (?3 IS NULL OR sink_id = ?3)",
                    params![now, t, k],
                )
                .map_err(|e| db_error("retry failed deliveries", e))?;
            Ok(n)
        })
        .await
    }

    async fn set_sink_enabled(
        &self,
        sink: &SinkRef,
        enabled: bool,
        reason: Option<&str>,
        now: Millis,
    ) -> Result<()> {
        let (s, r) = (sink.clone(), reason.map(str::to_owned));
        self.write(move |c| {
            c.execute(
                "INSERT INTO sink_state (tenant_id, sink_id, enabled, reason, changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id, sink_id) DO UPDATE SET enabled = excluded.enabled,
                     reason = excluded.reason, changed_at = excluded.changed_at",
                params![s.tenant_id, s.sink_id, i64::from(enabled), r, now],
            )
            .map_err(|e| db_error("set sink state", e))?;
            Ok(())
        })
        .await
    }

    async fn sink_states(&self) -> Result<Vec<SinkState>> {
        self.read(|c| {
            let mut st = c
                .prepare(
                    "SELECT tenant_id, sink_id, enabled, reason, changed_at FROM sink_state
                     ORDER BY tenant_id, sink_id",
                )
                .map_err(|e| db_error("list sink states", e))?;
            let rows = st
                .query_map([], |r| {
                    Ok(SinkState {
                        sink: SinkRef {
                            tenant_id: r.get(0)?,
                            sink_id: r.get(1)?,
                        },
                        enabled: r.get::<_, i64>(2)? != 0,
                        reason: r.get(3)?,
                        changed_at: r.get(4)?,
                    })
                })
                .map_err(|e| db_error("list sink states", e))?;
            collect(rows, "list sink states")
        })
        .await
    }

    async fn prune(
        &self,
        delivered_before: Millis,
        archive_before: Option<Millis>,
    ) -> Result<PruneReport> {
        // In chunks, each its own write: other writes run between them, so a large prune (the
        // first after a long pause) never holds the writer for long.
        let deliveries = self
            .in_chunks(move |c| prune_deliveries(c, delivered_before, PRUNE_CHUNK))
            .await?;
        let archived = match archive_before {
            Some(t) => {
                self.in_chunks(move |c| prune_archive(c, t, PRUNE_CHUNK))
                    .await?
            }
            None => 0,
        };
        Ok(PruneReport {
            deliveries,
            archived,
        })
    }

    fn write_stats(&self) -> Option<WriteStats> {
        Some(self.inner.writer.stats())
    }

    async fn depths(&self, now: Millis) -> Result<QueueDepths> {
        self.read(move |c| {
            let q = |sql: &str| -> Result<i64> {
                c.query_row(sql, params![now], |r| r.get(0))
                    .map_err(|e| db_error("queue depths", e))
            };
            Ok(QueueDepths {
                inbox_ready: u64_of(q("SELECT count(*) FROM inbox WHERE available_at <= ?1")?),
                inbox_delayed: u64_of(q(
                    "SELECT count(*) FROM inbox WHERE available_at > ?1 AND lease_token IS NULL",
                )?),
                inbox_leased: u64_of(q(
                    "SELECT count(*) FROM inbox WHERE available_at > ?1 AND lease_token IS NOT NULL",
                )?),
                quarantined: u64_of(q("SELECT count(*) + 0 * ?1 FROM quarantine")?),
                outbox_pending: u64_of(q(
                    "SELECT count(*) + 0 * ?1 FROM outbox WHERE state = 'pending'",
                )?),
                outbox_failed: u64_of(q(
                    "SELECT count(*) + 0 * ?1 FROM outbox WHERE state = 'failed'",
                )?),
                outbox_delivered: u64_of(q(
                    "SELECT count(*) + 0 * ?1 FROM outbox WHERE state = 'delivered'",
                )?),
                oldest_pending_ms: q(
                    "SELECT coalesce(max(?1 - min(created_at), 0), 0) FROM outbox WHERE state = 'pending'",
                )?,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests;
