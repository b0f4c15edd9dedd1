//! The single writer: one thread owns the write connection and runs every write operation. It takes
//! whatever operations are queued (up to [`MAX_BATCH`]), runs each inside its own SAVEPOINT of one
//! transaction, takes in the operations that arrived meanwhile (for up to [`MAX_BATCH_TIME`]),
//! commits once, and only then answers every caller. One fsync per batch, not per operation: under
//! load, operations queue while the previous batch commits or runs and share its commit. A failing
//! operation rolls back only its savepoint; a failing commit fails the batch.
//!
//! [`CommitPolicy::EveryStatement`] is the benchmark baseline: no transaction at all, so SQLite
//! commits (and fsyncs) every statement, one row each, on its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use nexus_core::{Error, ErrorKind, Result};
use nexus_runtime::store::WriteStats;
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::checkpoint::Wal;

/// Most operations grouped into one transaction.
pub(crate) const MAX_BATCH: usize = 512;

/// After a batch has run this long, operations that arrive wait for the next one.
pub(crate) const MAX_BATCH_TIME: Duration = Duration::from_millis(10);

/// Answers one caller once the batch's commit is known.
type Finish = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
/// One write operation: runs inside the batch transaction, returns how to answer its caller.
type Job = Box<dyn FnOnce(&Connection) -> Finish + Send>;

/// How the writer commits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CommitPolicy {
    /// Queued operations share one transaction and one commit (the gateway's policy).
    #[default]
    Grouped,
    /// **Benchmark baseline only.** No transaction: every statement commits (and fsyncs) by
    /// itself, one row per transaction. An operation that fails half-way leaves its first rows
    /// written, so the dedupe state and the outbox are no longer written atomically. It exists so
    /// `benches/pipeline.rs` can measure what grouping buys on the same pipeline.
    EveryStatement,
}

/// What the writer thread has committed, read by [`Writer::stats`].
#[derive(Debug, Default)]
struct Counters {
    transactions: AtomicU64,
    operations: AtomicU64,
    commit_nanos: AtomicU64,
}

impl Counters {
    fn committed(&self, operations: usize, took: Duration) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.operations.fetch_add(
            u64::try_from(operations).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.commit_nanos.fetch_add(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// Handle to the writer thread.
#[derive(Debug)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Job>,
    policy: CommitPolicy,
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    /// After each commit it tells the checkpoint thread through `wal` (and restarts the WAL when
    /// that thread asks for it).
    /// No operation joins a batch that has run for `max_batch_time` ([`MAX_BATCH_TIME`]).
    pub(crate) fn start(
        conn: Connection,
        policy: CommitPolicy,
        wal: Arc<Wal>,
        max_batch_time: Duration,
    ) -> Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>();
        let counters = Arc::new(Counters::default());
        let counted = Arc::clone(&counters);
        std::thread::Builder::new()
            .name("nexus-sqlite-writer".into())
            .spawn(move || match policy {
                CommitPolicy::Grouped => run(&conn, &rx, &wal, max_batch_time, &counted),
                CommitPolicy::EveryStatement => run_unbatched(&conn, &rx, &wal, counted),
            })
            .map_err(|e| {
                Error::new(
                    ErrorKind::Storage,
                    "could not start the SQLite writer thread",
                )
                .with_source(e)
            })?;
        Ok(Writer {
            tx,
            policy,
            counters,
        })
    }

    /// What has been committed so far. Under [`CommitPolicy::EveryStatement`] each commit happens
    /// inside its statement: the transactions are counted, their time is not (`commit_seconds`
    /// stays 0).
    pub(crate) fn stats(&self) -> WriteStats {
        let c = &self.counters;
        WriteStats {
            transactions: c.transactions.load(Ordering::Relaxed),
            operations: c.operations.load(Ordering::Relaxed),
            commit_seconds: Duration::from_nanos(c.commit_nanos.load(Ordering::Relaxed))
                .as_secs_f64(),
        }
    }

    /// Runs `f` in the next batch transaction; returns its result once the batch is committed.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let grouped = self.policy == CommitPolicy::Grouped;
        let job: Job = Box::new(move |conn: &Connection| -> Finish {
            let result = if grouped {
                in_savepoint(conn, f)
            } else {
                f(conn)
            };
            Box::new(move |commit| {
                let answer = match (commit, result) {
                    (Ok(()), r) => r,
                    (Err(e), _) => Err(Error::new(
                        ErrorKind::Storage,
                        format!("the batch transaction did not commit: {e}"),
                    )),
                };
                // The caller may have gone away (cancelled); the write stands either way.
                let _ = tx.send(answer);
            })
        });
        self.tx
            .send(job)
            .map_err(|_| Error::new(ErrorKind::Storage, "the SQLite writer thread has stopped"))?;
        rx.await.map_err(|_| {
            Error::new(
                ErrorKind::Storage,
                "the SQLite writer thread stopped before answering",
            )
        })?
    }
}

/// Runs one cached (prepared once per connection) statement without parameters.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    run_cached(conn, "SAVEPOINT op").map_err(|e| crate::db_error("savepoint", e))?;
    match f(conn) {
        Ok(v) => {
            run_cached(conn, "RELEASE op").map_err(|e| crate::db_error("release savepoint", e))?;
            Ok(v)
        }
        Err(e) => {
            // If even the rollback fails the batch commit will fail too and report it.
            let _ = conn.execute_batch("ROLLBACK TO op; RELEASE op");
            Err(e)
        }
    }
}

fn run(
    conn: &Connection,
    rx: &mpsc::Receiver<Job>,
    wal: &Wal,
    max_batch_time: Duration,
    counters: &Counters,
) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        take_queued(rx, &mut jobs, MAX_BATCH - 1);
        if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
            // Without a transaction nothing may run: dropping the jobs answers their callers with
            // a storage error (their reply channels close).
            tracing::error!(error = %e, jobs = jobs.len(), "SQLite writer could not begin a transaction");
            drop(jobs);
            continue;
        }
        // Operations that arrive while the batch runs join it, rather than waiting for its commit
        // and then paying a commit of their own: under load most operations share fewer fsyncs.
        // Bounded, so the first callers of a batch are not kept waiting: at most MAX_BATCH
        // operations, and none joins after the batch has run for `max_batch_time`.
        let started = Instant::now();
        let mut finishers: Vec<Finish> = Vec::with_capacity(jobs.len());
        while !jobs.is_empty() {
            finishers.extend(jobs.drain(..).map(|j| j(conn)));
            if started.elapsed() < max_batch_time {
                take_queued(rx, &mut jobs, MAX_BATCH.saturating_sub(finishers.len()));
            }
        }
        let committing = Instant::now();
        let commit = run_cached(conn, "COMMIT").map_err(|e| e.to_string());
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        } else {
            counters.committed(finishers.len(), committing.elapsed());
        }
        for f in finishers {
            f(commit.clone());
        }
        // After answering: the callers need not wait for a WAL restart.
        wal.after_commit(conn);
    }
}

/// Moves up to `room` queued operations into `jobs`, without waiting.
fn take_queued(rx: &mpsc::Receiver<Job>, jobs: &mut Vec<Job>, room: usize) {
    for _ in 0..room {
        match rx.try_recv() {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
}

/// [`CommitPolicy::EveryStatement`]: runs each operation outside any transaction. SQLite's commit
/// hook counts the transactions: one per statement that wrote.
fn run_unbatched(conn: &Connection, rx: &mpsc::Receiver<Job>, wal: &Wal, counters: Arc<Counters>) {
    let hooked = Arc::clone(&counters);
    conn.commit_hook(Some(move || {
        hooked.transactions.fetch_add(1, Ordering::Relaxed);
        // false: let the commit go ahead.
        false
    }));
    while let Ok(job) = rx.recv() {
        job(conn)(Ok(()));
        counters.operations.fetch_add(1, Ordering::Relaxed);
        wal.after_commit(conn);
    }
}
