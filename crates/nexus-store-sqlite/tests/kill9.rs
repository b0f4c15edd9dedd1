//! Crash safety: a child process enqueues requests from many tasks as fast as it can and prints
//! the id of every enqueue that returned (acknowledged); the parent `kill -9`s it mid-stream, then
//! reopens the database. Every acknowledged id must be there.
// Test code: a failed expectation panics (clippy sees helpers outside #[test] fns as non-test).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use bytes::Bytes;
use nexus_core::InboundRequest;
use nexus_runtime::Store;
use nexus_runtime::store::NewInboxEntry;
use nexus_store_sqlite::SqliteStore;

const CHILD_ENV: &str = "NEXUS_KILL9_CHILD_DB";
const ACKS_BEFORE_KILL: usize = 400;

#[test]
fn acknowledged_enqueues_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nexus.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--ignored", "--nocapture"])
        .env(CHILD_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = HashSet::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.insert(id.to_owned());
            if acked.len() >= ACKS_BEFORE_KILL {
                break;
            }
        }
    }
    // SIGKILL on Unix: no destructor, no flush, no clean shutdown.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(acked.len() >= ACKS_BEFORE_KILL, "the child stopped early");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored: HashSet<String> = rt.block_on(async {
        let store = SqliteStore::open(&db).unwrap();
        store
            .claim_inbox("check", 1_000_000, 1_000, i64::MAX / 2)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.entry.id)
            .collect()
    });
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged enqueues lost: {lost:?}",
        lost.len()
    );
    assert!(stored.len() >= acked.len());
}

/// Runs only as the child of the test above.
#[test]
#[ignore = "run by acknowledged_enqueues_survive_kill_9 as its child process"]
fn child_writer() {
    let Ok(db) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = SqliteStore::open(std::path::Path::new(&db)).unwrap();
        let mut tasks = Vec::new();
        for t in 0..16u32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0u64.. {
                    let ids = store
                        .enqueue(vec![NewInboxEntry {
                            provider: "fake".into(),
                            request: InboundRequest {
                                method: "POST".into(),
                                path: "/webhooks/fake".into(),
                                query: None,
                                headers: vec![],
                                body: Bytes::from(format!("{{\"t\":{t},\"n\":{n}}}")),
                            },
                            received_at: 1,
                        }])
                        .await
                        .unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {}", ids[0]).unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}
