//! Group commit for the inbox: concurrent webhook requests are written to the store together, one
//! durable commit (one fsync) per group instead of one per request (ARCHITECTURE.md: "the commit is
//! the physical limit"). No request waits for a group to fill: a group is whatever arrived while
//! the previous commit was running, so an idle gateway commits each request at once.

use std::sync::Arc;

use nexus_core::{Error, ErrorKind, Result};
use nexus_runtime::Store;
use nexus_runtime::store::NewInboxEntry;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Largest group written in one commit.
pub const DEFAULT_MAX_GROUP: usize = 512;

struct Job {
    entry: NewInboxEntry,
    done: oneshot::Sender<std::result::Result<String, String>>,
}

/// Hands verified requests to the single writer task. Cheap to clone.
#[derive(Clone)]
pub struct InboxWriter {
    tx: mpsc::Sender<Job>,
}

impl InboxWriter {
    /// Starts the writer task. It ends once every `InboxWriter` clone is dropped and the queued
    /// requests are written.
    pub fn spawn(store: Arc<dyn Store>, max_group: usize) -> (InboxWriter, JoinHandle<()>) {
        let max_group = max_group.max(1);
        let (tx, rx) = mpsc::channel::<Job>(max_group * 4);
        let task = tokio::spawn(write_loop(store, rx, max_group));
        (InboxWriter { tx }, task)
    }

    /// Stores one verified request; returns its inbox id once it is durable.
    pub async fn enqueue(&self, entry: NewInboxEntry) -> Result<String> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job { entry, done })
            .await
            .map_err(|_| Error::new(ErrorKind::Storage, "the inbox writer has stopped"))?;
        match wait.await {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(message)) => Err(Error::new(ErrorKind::Storage, message)),
            Err(_) => Err(Error::new(
                ErrorKind::Storage,
                "the inbox writer stopped before the request was stored",
            )),
        }
    }
}

async fn write_loop(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Job>, max_group: usize) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < max_group {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (entries, waiters): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.entry, j.done)).unzip();
        let n = entries.len();
        match store.enqueue(entries).await {
            Ok(ids) if ids.len() == n => {
                for (done, id) in waiters.into_iter().zip(ids) {
                    let _ = done.send(Ok(id));
                }
            }
            Ok(ids) => {
                let message = format!("the store returned {} ids for {n} requests", ids.len());
                tracing::error!("inbox write: {message}");
                for done in waiters {
                    let _ = done.send(Err(message.clone()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = n, "inbox write failed");
                let message = e.to_string();
                for done in waiters {
                    let _ = done.send(Err(message.clone()));
                }
            }
        }
    }
}
