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

/// Archived records read per page (64 day-sized records are ~8 MB).
const PAGE: usize = 64;
/// Raw bytes of records normalized into one apply transaction, at most (one record may exceed it).
const APPLY_BYTES: usize = 4 << 20;

/// Groups normalized but not yet applied, and the raw bytes they came from.
#[derive(Default)]
struct Pending {
    groups: Vec<crate::store::ApplyGroup>,
    bytes: usize,
}

impl Pending {
    /// Applies the pending groups in one transaction.
    async fn apply(&mut self, rt: &Runtime, report: &mut ReplayReport) -> Result<()> {
        self.bytes = 0;
        if self.groups.is_empty() {
            return Ok(());
        }
        let applied = rt
            .inner
            .store
            .apply(ApplyBatch {
                fence: None,
                emitted_at: now_ms(),
                groups: std::mem::take(&mut self.groups),
                archive: Vec::new(),
            })
            .await?;
        report.envelopes += applied.envelopes.len();
        report.deliveries += applied.deliveries;
        report.suppressed += applied.suppressed;
        if applied.deliveries > 0 {
            rt.inner.outbox_wake.notify_waiters();
        }
        Ok(())
    }
}

impl Runtime {
    /// Moves quarantined requests (these ids, or all) back into the inbox and wakes the workers.
    pub async fn replay_quarantined(&self, ids: Option<&[String]>) -> Result<usize> {
        let n = self.inner.store.requeue_quarantined(ids, now_ms()).await?;
        self.inner.inbox_wake.notify_waiters();
        Ok(n)
    }

    /// Re-derives items from archived records matching `filter` (its `limit` is ignored; records
    /// are read in pages), grouped per connection, one transaction per ~4 MB of records.
    pub async fn replay_archive(&self, filter: &ArchiveFilter) -> Result<ReplayReport> {
        let inner = &self.inner;
        let mut report = ReplayReport::default();
        let mut page_filter = filter.clone();
        page_filter.limit = PAGE;
        let mut conns: BTreeMap<String, Option<ConnectionRecord>> = BTreeMap::new();
        let mut pending = Pending::default();
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
                let ctx = nexus_core::NormalizeContext {
                    provider_user_id: Some(conn.provider_user_id.clone()),
                };
                // Record by record, so one bad record does not hide the others; applied in
                // batches of at most APPLY_BYTES of records, so a page of large records never has
                // all its items, states and envelopes in memory at once.
                let mut ok = Vec::new();
                let mut ok_bytes = 0;
                let mut records = records.into_iter().peekable();
                while let Some((id, r)) = records.next() {
                    match adapter.normalize(&r, &ctx) {
                        Ok(n) => {
                            ok.push(n);
                            ok_bytes += r.body.len();
                        }
                        Err(e) => report.failures.push((id, e.to_string())),
                    }
                    let full = pending.bytes + ok_bytes >= APPLY_BYTES;
                    if ok.is_empty() || !(full || records.peek().is_none()) {
                        continue;
                    }
                    let normalized = std::mem::take(&mut ok);
                    match crate::pipeline::build_group(
                        inner,
                        adapter.descriptor().id,
                        conn,
                        Vec::new(),
                        normalized,
                    ) {
                        Ok(g) => pending.groups.push(g),
                        Err(e) => report.failures.push((conn_id.clone(), e.to_string())),
                    }
                    pending.bytes += std::mem::take(&mut ok_bytes);
                    if pending.bytes >= APPLY_BYTES {
                        pending.apply(self, &mut report).await?;
                    }
                }
            }
        }
        pending.apply(self, &mut report).await?;
        Ok(report)
    }
}
