//! WAL checkpoints off the writer's commit path, and a WAL that stays bounded under load.
//!
//! The write connection runs with `wal_autocheckpoint = 0`, so a commit only appends to the WAL
//! (and fsyncs it). This thread, on its own connection, copies committed WAL frames back into the
//! database file with `PRAGMA wal_checkpoint(PASSIVE)`, which never blocks the writer or the
//! readers. Durability is unchanged: a commit is durable once its WAL frames are fsynced
//! (`synchronous = FULL`), whether or not they were checkpointed yet. Pages rewritten between two
//! checkpoints (inbox rows inserted then deleted, index pages) are copied once, not per commit.
//!
//! A passive checkpoint alone does not bound the WAL: SQLite starts the WAL over from its
//! beginning only when a write begins while *every* frame has been copied back, and under a
//! steady stream of writes the writer always appends a few more frames while a checkpoint runs.
//! The WAL then grows for as long as the load lasts (600 MB in a few seconds of the pipeline
//! bench), and every frame lands on fresh file blocks that the kernel must allocate and zero.
//! So once the WAL holds more than 64 MB ([`WalLimits`]) and a checkpoint pass has caught up to
//! within 4 MB of its end, this thread asks the writer ([`Wal::after_commit`]) to run
//! `PRAGMA wal_checkpoint(RESTART)` between two of its transactions. With no write in progress that
//! copies the last few frames and makes the next write start the WAL over, reusing its blocks.
//! `journal_size_limit` (set on the writer) then trims a file left larger by a spike.
//!
//! The thread sleeps while nothing is written: the writer wakes it after a commit.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use nexus_core::{Error, ErrorKind, Result};
use rusqlite::Connection;

/// When the WAL is started over.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WalLimits {
    /// WAL size, in frames of one page, above which the writer is asked to start it over.
    pub(crate) restart_frames: i64,
    /// A pass "caught up" when the writer appended fewer frames than this since the previous
    /// pass, so the restart has little left to copy while it holds up the writer.
    pub(crate) caught_up_frames: i64,
    /// How long the thread waits between passes while the writer is appending.
    pub(crate) busy_interval: Duration,
}

impl WalLimits {
    /// The store's limits: restart past 64 MB (of 4 kB pages), once within 4 MB of the end;
    /// a pass every 50 ms while the writer appends.
    pub(crate) const DEFAULT: WalLimits = WalLimits {
        restart_frames: 16_384,
        caught_up_frames: 1_024,
        busy_interval: Duration::from_millis(50),
    };

    /// The WAL file is truncated back to this size (bytes) when it restarts after growing larger.
    pub(crate) fn journal_size_limit(self) -> i64 {
        self.restart_frames * 4096
    }
}

enum Signal {
    /// The writer committed after the thread's last pass.
    Committed,
    /// The store is closing.
    Stop,
}

/// What the writer and the checkpoint thread share.
#[derive(Debug)]
pub(crate) struct Wal {
    /// Set by the checkpoint thread, cleared by the writer once it has restarted the WAL.
    restart_wanted: AtomicBool,
    /// Set by the writer when it commits; cleared by the checkpoint thread before each pass.
    written: AtomicBool,
    wake: mpsc::Sender<Signal>,
}

impl Wal {
    /// Run by the writer after each commit: wakes the checkpoint thread if it is idle, and
    /// restarts the WAL if the thread asked for it.
    pub(crate) fn after_commit(&self, conn: &Connection) {
        if !self.written.swap(true, Ordering::AcqRel) {
            // The thread is gone only when the store is closing.
            let _ = self.wake.send(Signal::Committed);
        }
        if !self.restart_wanted.load(Ordering::Acquire) {
            return;
        }
        // A reader still on old frames (a backup, a long replay) keeps the WAL from starting
        // over until it ends. The restart must not wait for it: with the connection's busy
        // timeout, every write would queue behind it for 10 s. So it gives up at once (busy),
        // and the checkpointer asks again after a later pass.
        let _ = conn.busy_timeout(Duration::ZERO);
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "SQLite WAL restart failed; will try again");
        }
        let _ = conn.busy_timeout(crate::BUSY_TIMEOUT);
        self.restart_wanted.store(false, Ordering::Release);
    }
}

/// Handle to the checkpoint thread; dropping it stops the thread (after one last checkpoint).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    wal: Arc<Wal>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`. The writer gets [`Checkpointer::wal`].
    pub(crate) fn start(path: &Path, limits: WalLimits) -> Result<Checkpointer> {
        let conn =
            Connection::open(path).map_err(|e| crate::db_error("open the checkpointer", e))?;
        conn.busy_timeout(crate::BUSY_TIMEOUT)
            .map_err(|e| crate::db_error("configure the checkpointer", e))?;
        let (tx, rx) = mpsc::channel::<Signal>();
        let wal = Arc::new(Wal {
            restart_wanted: AtomicBool::new(false),
            written: AtomicBool::new(false),
            wake: tx,
        });
        let shared = Arc::clone(&wal);
        std::thread::Builder::new()
            .name("nexus-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &rx, &shared, limits))
            .map_err(|e| {
                Error::new(
                    ErrorKind::Storage,
                    "could not start the SQLite checkpoint thread",
                )
                .with_source(e)
            })?;
        Ok(Checkpointer { wal })
    }

    /// What the writer shares with this thread.
    pub(crate) fn wal(&self) -> Arc<Wal> {
        Arc::clone(&self.wal)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.wal.wake.send(Signal::Stop);
    }
}

fn run(conn: &Connection, rx: &mpsc::Receiver<Signal>, wal: &Wal, limits: WalLimits) {
    // WAL frames at the end of the previous pass.
    let mut last_log = 0_i64;
    // None: wait for the writer's next commit.
    let mut interval = Some(limits.busy_interval);
    loop {
        let signal = match interval {
            Some(d) => match rx.recv_timeout(d) {
                Ok(s) => Some(s),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => Some(Signal::Stop),
            },
            None => Some(rx.recv().unwrap_or(Signal::Stop)),
        };
        let stopping = matches!(signal, Some(Signal::Stop));
        if wal.restart_wanted.load(Ordering::Acquire) && !stopping {
            // The writer has not got to it yet; a checkpoint now would only contend with it.
            interval = Some(limits.busy_interval);
            continue;
        }
        wal.written.store(false, Ordering::Release);
        let pass = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        let (log, copied) = match pass {
            Ok(counts) => counts,
            Err(e) => {
                tracing::warn!(error = %e, "SQLite WAL checkpoint failed; will try again");
                // Closing: the store's own writes are done, and no second Stop will come.
                if stopping {
                    return;
                }
                interval = Some(limits.busy_interval);
                continue;
            }
        };
        if stopping {
            return;
        }
        // A smaller WAL than last time means it restarted in between.
        let appended = if log >= last_log { log - last_log } else { log };
        last_log = log;
        let over = log > limits.restart_frames;
        // Every frame the pass saw is in the database file; not so while a reader holds a
        // snapshot older than the WAL's end.
        let complete = copied >= log;
        let restart = over && complete && appended < limits.caught_up_frames;
        if restart {
            wal.restart_wanted.store(true, Ordering::Release);
        }
        // While the WAL is over the limit, passes run back to back, each copying what the writer
        // appended during the previous one, until one catches up. While the writer is appending,
        // or a reader holds frames back, they follow each other quickly, so each has little to
        // copy. Otherwise the thread waits for the next commit.
        interval = if over && complete && !restart {
            Some(Duration::ZERO)
        } else if appended > 0 || restart || !complete {
            Some(limits.busy_interval)
        } else {
            None
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Even when asked at the worst moment (a reader began on old frames after the checkpointer's
    /// last pass), the writer's restart gives up at once instead of waiting out its busy timeout.
    #[test]
    fn a_restart_behind_a_reader_gives_up_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(100000));",
            )
            .unwrap();
        writer.busy_timeout(crate::BUSY_TIMEOUT).unwrap();
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        writer
            .execute_batch("INSERT INTO t VALUES (zeroblob(100000))")
            .unwrap();
        let (tx, _rx) = mpsc::channel();
        let wal = Wal {
            restart_wanted: AtomicBool::new(true),
            written: AtomicBool::new(true),
            wake: tx,
        };
        let t = std::time::Instant::now();
        wal.after_commit(&writer);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "the restart waited {:?} for the reader",
            t.elapsed()
        );
        assert!(!wal.restart_wanted.load(Ordering::Acquire));
        reader.execute_batch("COMMIT").unwrap();
    }
}
