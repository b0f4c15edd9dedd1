//! Replay after an adapter fix (`nexus replay`):
//! - **quarantined requests** go back into the inbox and through the whole pipeline again;
//! - **archived raw records** are normalized again and run through dedupe: same `source_id`s, new
//!   `event_id`s, `sources: []` (EVENTS.md section 3). Unchanged items emit nothing; changed ones
//!   emit the next revision.

use std::collections::BTreeMap;

use nexus_core::{Error, RawRecord, Result};

use crate::runtime::{Runtime, now_ms};
use crate::store::{ApplyBatch, ArchiveFilter, ConnectionRecord};

/// What a replay of archived records did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplayReport {
    /// Archived records read.
    pub records: usize,
    /// Envelopes emitted (new or revised items).
    pub envelopes: usize,
    /// Outbox rows written.
    pub deliveries: usize,
    /// Items unchanged or stale, not emitted.
    pub suppressed: usize,
    /// Records that still fail: (archive id, error).
    pub failures: Vec<(String, String)>,
}

const PAGE: usize = 200;

impl Runtime {
    /// Moves quarantined requests (these ids, or all) back into the inbox and wakes the workers.
    pub async fn replay_quarantined(&self, ids: Option<&[String]>) -> Result<usize> {
        let n = self.inner.store.requeue_quarantined(ids, now_ms()).await?;
        self.inner.inbox_wake.notify_waiters();
        Ok(n)
    }

    /// Re-derives items from archived records matching `filter` (its `limit` is ignored; records
    /// are read in pages), grouped per connection, one transaction per page.
    pub async fn replay_archive(&self, filter: &ArchiveFilter) -> Result<ReplayReport> {
        let inner = &self.inner;
        let mut report = ReplayReport::default();
        let mut page_filter = filter.clone();
        page_filter.limit = PAGE;
        let mut conns: BTreeMap<String, Option<ConnectionRecord>> = BTreeMap::new();
        loop {
            let page = inner.store.archived(&page_filter).await?;
            let Some(last) = page.last() else { break };
            page_filter.after_id = Some(last.id.clone());
            report.records += page.len();
            let mut by_conn: BTreeMap<String, Vec<(String, RawRecord)>> = BTreeMap::new();
            for a in page {
                by_conn
                    .entry(a.connection_id.clone())
                    .or_default()
                    .push((a.id, a.record));
            }
            let mut groups = Vec::new();
            for (conn_id, records) in by_conn {
                if !conns.contains_key(&conn_id) {
                    let c = inner.store.connection(&conn_id).await?;
                    conns.insert(conn_id.clone(), c);
                }
                let Some(Some(conn)) = conns.get(&conn_id) else {
                    for (id, _) in records {
                        report
                            .failures
                            .push((id, format!("connection {conn_id} no longer exists")));
                    }
                    continue;
                };
                let Some(adapter) = inner.adapters.get(&conn.provider).copied() else {
                    for (id, _) in records {
                        report.failures.push((
                            id,
                            Error::unsupported(&conn.provider, "no adapter in this binary")
                                .to_string(),
                        ));
                    }
                    continue;
                };
                // Normalize record by record so one bad record does not hide the others.
                let mut ok = Vec::new();
                for (id, r) in records {
                    match adapter.normalize(
                        &r,
                        &nexus_core::NormalizeContext {
                            provider_user_id: Some(conn.provider_user_id.clone()),
                        },
                    ) {
                        Ok(_) => ok.push(r),
                        Err(e) => report.failures.push((id, e.to_string())),
                    }
                }
                if ok.is_empty() {
                    continue;
                }
                match crate::pipeline::normalize_group(inner, adapter, conn, Vec::new(), &ok) {
                    Ok(g) => groups.push(g),
                    Err(e) => report.failures.push((conn_id.clone(), e.to_string())),
                }
            }
            if !groups.is_empty() {
                let applied = inner
                    .store
                    .apply(ApplyBatch {
                        fence: None,
                        emitted_at: now_ms(),
                        groups,
                        archive: Vec::new(),
                    })
                    .await?;
                report.envelopes += applied.envelopes.len();
                report.deliveries += applied.deliveries;
                report.suppressed += applied.suppressed;
                if applied.deliveries > 0 {
                    inner.outbox_wake.notify_waiters();
                }
            }
        }
        Ok(report)
    }
}
