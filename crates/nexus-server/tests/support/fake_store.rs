//! A FAKE in-memory store for the ingress tests: it implements only what the ingress uses (inbox
//! writes, connections, ping, depths) and refuses everything else with an `Internal` error. It
//! counts `enqueue` calls (to observe group commit), can be told to fail, and can be slowed down
//! to stand in for a durable commit.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use nexus_core::dedupe::StoredState;
use nexus_core::{Error, ErrorKind, Result};
use nexus_runtime::Store;
use nexus_runtime::store::*;

#[derive(Default)]
pub struct FakeStore {
    pub inbox: Mutex<Vec<NewInboxEntry>>,
    pub connections: Mutex<Vec<ConnectionRecord>>,
    pub tenants: Mutex<Vec<Tenant>>,
    pub enqueue_calls: AtomicUsize,
    pub fail: AtomicBool,
    pub commit_delay_ms: AtomicU64,
}

fn unsupported(what: &str) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!("FakeStore does not implement {what}"),
    )
}

#[async_trait::async_trait]
impl Store for FakeStore {
    fn backend(&self) -> &'static str {
        "fake"
    }
    async fn ping(&self) -> Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Storage, "fake store is down"));
        }
        Ok(())
    }
    async fn upsert_tenant(&self, tenant: &Tenant) -> Result<()> {
        let mut t = self.tenants.lock().unwrap();
        t.retain(|x| x.id != tenant.id);
        t.push(tenant.clone());
        Ok(())
    }
    async fn tenants(&self) -> Result<Vec<Tenant>> {
        Ok(self.tenants.lock().unwrap().clone())
    }
    async fn upsert_connection(&self, c: &ConnectionRecord) -> Result<()> {
        let mut all = self.connections.lock().unwrap();
        all.retain(|x| x.connection_id != c.connection_id);
        all.push(c.clone());
        Ok(())
    }
    async fn connection(&self, id: &str) -> Result<Option<ConnectionRecord>> {
        Ok(self
            .connections
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.connection_id == id)
            .cloned())
    }
    async fn connection_for(&self, provider: &str, puid: &str) -> Result<Option<ConnectionRecord>> {
        Ok(self
            .connections
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.provider == provider && c.provider_user_id == puid)
            .cloned())
    }
    async fn connections(&self, _tenant_id: Option<&str>) -> Result<Vec<ConnectionRecord>> {
        Ok(self.connections.lock().unwrap().clone())
    }
    async fn enqueue(&self, entries: Vec<NewInboxEntry>) -> Result<Vec<String>> {
        self.enqueue_calls.fetch_add(1, Ordering::SeqCst);
        let delay = self.commit_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Storage, "fake store is down"));
        }
        let mut inbox = self.inbox.lock().unwrap();
        let ids = entries.iter().map(|_| new_row_id()).collect();
        inbox.extend(entries);
        Ok(ids)
    }
    async fn claim_inbox(&self, _: &str, _: usize, _: i64, _: Millis) -> Result<Vec<ClaimedInbox>> {
        Err(unsupported("claim_inbox"))
    }
    async fn retry_inbox(&self, _: &InboxFence, _: &str, _: Millis) -> Result<bool> {
        Err(unsupported("retry_inbox"))
    }
    async fn complete_inbox(&self, _: &InboxFence) -> Result<bool> {
        Err(unsupported("complete_inbox"))
    }
    async fn quarantine_inbox(
        &self,
        _: &InboxFence,
        _: &QuarantineReason,
        _: Millis,
    ) -> Result<bool> {
        Err(unsupported("quarantine_inbox"))
    }
    async fn quarantined(&self, _: usize) -> Result<Vec<QuarantinedEntry>> {
        Err(unsupported("quarantined"))
    }
    async fn requeue_quarantined(&self, _: Option<&[String]>, _: Millis) -> Result<usize> {
        Err(unsupported("requeue_quarantined"))
    }
    async fn archive(&self, _: Vec<NewArchivedRecord>) -> Result<Vec<String>> {
        Err(unsupported("archive"))
    }
    async fn archived(&self, _: &ArchiveFilter) -> Result<Vec<ArchivedRecord>> {
        Err(unsupported("archived"))
    }
    async fn apply(&self, _: ApplyBatch) -> Result<Applied> {
        Err(unsupported("apply"))
    }
    async fn dedupe_state(&self, _: &str, _: &str, _: &str) -> Result<Option<StoredState>> {
        Err(unsupported("dedupe_state"))
    }
    async fn claim_deliveries(
        &self,
        _: &SinkRef,
        _: usize,
        _: i64,
        _: Millis,
    ) -> Result<Vec<ClaimedDelivery>> {
        Err(unsupported("claim_deliveries"))
    }
    async fn record_deliveries(&self, _: Vec<DeliveryResult>) -> Result<usize> {
        Err(unsupported("record_deliveries"))
    }
    async fn deliveries(&self, _: &DeliveryFilter) -> Result<Vec<OutboxRow>> {
        Err(unsupported("deliveries"))
    }
    async fn attempts(&self, _: &str) -> Result<Vec<DeliveryAttempt>> {
        Err(unsupported("attempts"))
    }
    async fn retry_failed(&self, _: Option<&SinkRef>, _: Millis) -> Result<usize> {
        Err(unsupported("retry_failed"))
    }
    async fn set_sink_enabled(
        &self,
        _: &SinkRef,
        _: bool,
        _: Option<&str>,
        _: Millis,
    ) -> Result<()> {
        Err(unsupported("set_sink_enabled"))
    }
    async fn sink_states(&self) -> Result<Vec<SinkState>> {
        Err(unsupported("sink_states"))
    }
    async fn depths(&self, _now: Millis) -> Result<QueueDepths> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Storage, "fake store is down"));
        }
        Ok(QueueDepths {
            inbox_ready: self.inbox.lock().unwrap().len() as u64,
            ..QueueDepths::default()
        })
    }
}
