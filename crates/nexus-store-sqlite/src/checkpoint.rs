//! WAL checkpoints off the writer's commit path. The write connection runs with
//! `wal_autocheckpoint = 0`, so a commit only appends to the WAL (and fsyncs it); this thread,
//! on its own connection, copies committed WAL frames back into the database file with
//! `PRAGMA wal_checkpoint(PASSIVE)` every [`INTERVAL`]. PASSIVE never blocks the writer or the
//! readers; SQLite restarts the WAL from its beginning at the next write once a checkpoint has
//! caught up. Durability is unchanged: a commit is durable once its WAL frames are fsynced
//! (`synchronous = FULL`), whether or not they were checkpointed yet. Pages rewritten between two
//! checkpoints (inbox rows inserted then deleted, index pages) are copied once, not per commit.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use nexus_core::{Error, ErrorKind, Result};
use rusqlite::Connection;

/// How often the WAL is checkpointed.
const INTERVAL: Duration = Duration::from_millis(1000);

/// Handle to the checkpoint thread; dropping it stops the thread (after one last checkpoint).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`.
    pub(crate) fn start(path: &Path) -> Result<Checkpointer> {
        let conn =
            Connection::open(path).map_err(|e| crate::db_error("open the checkpointer", e))?;
        conn.execute_batch("PRAGMA busy_timeout = 10000;")
            .map_err(|e| crate::db_error("configure the checkpointer", e))?;
        let (tx, rx) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("nexus-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &rx))
            .map_err(|e| {
                Error::new(
                    ErrorKind::Storage,
                    "could not start the SQLite checkpoint thread",
                )
                .with_source(e)
            })?;
        Ok(Checkpointer { _stop: tx })
    }
}

fn run(conn: &Connection, stop: &mpsc::Receiver<()>) {
    loop {
        let stopping = !matches!(
            stop.recv_timeout(INTERVAL),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "SQLite WAL checkpoint failed; will try again");
        }
        if stopping {
            return;
        }
    }
}
