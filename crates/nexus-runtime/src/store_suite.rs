//! The behaviour suite of the [`Store`] contract, written once over the trait so every backend
//! (SQLite now, PostgreSQL later) runs the same checks. Enabled by the `store-suite` feature;
//! a backend's tests call [`store_suite!`](crate::store_suite!) with an expression that makes a
//! fresh store and a guard kept alive for the test (a temporary directory):
//!
//! ```ignore
//! nexus_runtime::store_suite!({
//!     let dir = tempfile::tempdir().unwrap();
//!     (SqliteStore::open(&dir.path().join("t.db")).unwrap(), dir)
//! });
//! ```
// This module is test code shipped behind a feature: a failed check must panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nexus_core::dedupe::PreparedItem;
use nexus_core::envelope::Recipient;
use nexus_core::items::Profile;
use nexus_core::{InboundRequest, Item, ItemBody, NormalizedItem, RawRecord};

use crate::store::*;

const LEASE: i64 = 60_000;
const T0: Millis = 1_700_000_000_000;

/// Generates one `#[tokio::test]` per suite check over the store that `$make` returns as
/// `(store, guard)`.
#[macro_export]
macro_rules! store_suite {
    ($make:expr) => {
        $crate::store_suite!(@tests $make;
            inbox_is_claimed_with_leases_and_fenced,
            retries_wait_and_count_attempts,
            quarantine_keeps_the_error_and_requeues,
            apply_dedupes_and_writes_the_outbox,
            apply_refuses_a_lost_lease_and_writes_nothing,
            dedupe_state_is_scoped_per_tenant_and_connection,
            deliveries_retry_fail_disable_and_recover,
            stale_delivery_results_are_ignored,
            connections_are_unique_per_provider_user,
            archive_filters_and_pages,
            depths_count_every_queue,
            prune_deletes_only_old_delivered_rows_and_old_archive,
            a_request_body_archived_as_the_record_reads_back_everywhere,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (store, _guard) = $make;
                $crate::store_suite::$name(&store).await;
            }
        )*
    };
}

fn request(n: u32) -> InboundRequest {
    InboundRequest {
        method: "POST".into(),
        path: "/webhooks/fake".into(),
        query: None,
        headers: vec![("content-type".into(), "application/json".into())],
        body: bytes::Bytes::from(format!("{{\"n\":{n}}}")),
    }
}

fn entry(n: u32) -> NewInboxEntry {
    NewInboxEntry {
        provider: "fake".into(),
        request: request(n),
        received_at: T0 - 1_000 + i64::from(n),
    }
}

fn recipient(tenant: &str, conn: &str) -> Recipient {
    Recipient {
        tenant_id: tenant.into(),
        user_id: "user-1".into(),
        external_user_ref: "ext-1".into(),
        connection_id: conn.into(),
    }
}

/// A fake profile item whose content is `weight`.
fn profile(native: &str, weight: f64) -> NormalizedItem {
    NormalizedItem {
        item: Item::new(
            "fake",
            native,
            T0,
            ItemBody::Profile(Profile {
                provider_user_id: Some(native.into()),
                birth_year: None,
                sex: None,
                height_m: None,
                weight_kg: Some(weight),
            }),
        ),
        provider_version: None,
    }
}

fn group(tenant: &str, conn: &str, items: Vec<NormalizedItem>, sinks: &[&str]) -> ApplyGroup {
    ApplyGroup {
        provider: "fake".into(),
        recipient: recipient(tenant, conn),
        sources: Vec::new(),
        devices: Vec::new(),
        items: items.into_iter().map(PreparedItem::new).collect(),
        sinks: sinks.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn batch(fence: Option<InboxFence>, groups: Vec<ApplyGroup>) -> ApplyBatch {
    ApplyBatch {
        fence,
        emitted_at: T0,
        groups,
        archive: Vec::new(),
    }
}

fn sink(tenant: &str, name: &str) -> SinkRef {
    SinkRef {
        tenant_id: tenant.into(),
        sink_id: name.into(),
    }
}

/// Claims are leased: claimed entries are invisible until the lease expires, and a stale token
/// completes nothing once another claim took over.
pub async fn inbox_is_claimed_with_leases_and_fenced(store: &dyn Store) {
    let ids = store
        .enqueue(vec![entry(1), entry(2), entry(3)])
        .await
        .unwrap();
    assert_eq!(ids.len(), 3);
    let a = store.claim_inbox("w1", 2, LEASE, T0 + 10).await.unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].entry.id, ids[0]);
    assert_eq!(a[0].entry.request, request(1));
    let b = store.claim_inbox("w2", 5, LEASE, T0 + 10).await.unwrap();
    assert_eq!(b.len(), 1, "leased entries must not be claimed twice");
    assert_eq!(b[0].entry.id, ids[2]);
    assert!(
        store
            .claim_inbox("w3", 5, LEASE, T0 + 20)
            .await
            .unwrap()
            .is_empty()
    );
    // The lease of w1 expires; w3 takes the entries over with new tokens.
    let c = store
        .claim_inbox("w3", 5, LEASE, T0 + 10 + LEASE + 1)
        .await
        .unwrap();
    let c_ids: Vec<_> = c.iter().map(|x| x.entry.id.clone()).collect();
    assert!(c_ids.contains(&ids[0]) && c_ids.contains(&ids[1]));
    assert_ne!(c[0].lease.token, a[0].lease.token);
    assert!(!store.complete_inbox(&a[0].fence()).await.unwrap());
    assert!(!store.retry_inbox(&a[1].fence(), "x", T0).await.unwrap());
    let new0 = c.iter().find(|x| x.entry.id == ids[0]).unwrap();
    assert!(store.complete_inbox(&new0.fence()).await.unwrap());
    assert!(!store.complete_inbox(&new0.fence()).await.unwrap());
}

/// A retried entry waits until `not_before`, with its attempt counted and its error kept.
pub async fn retries_wait_and_count_attempts(store: &dyn Store) {
    store.enqueue(vec![entry(1)]).await.unwrap();
    let c = store.claim_inbox("w", 1, LEASE, T0).await.unwrap();
    assert!(
        store
            .retry_inbox(&c[0].fence(), "upstream: 503", T0 + 5_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_inbox("w", 1, LEASE, T0 + 4_999)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_inbox("w", 1, LEASE, T0 + 5_000).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].entry.attempts, 1);
    assert_eq!(again[0].entry.last_error.as_deref(), Some("upstream: 503"));
}

/// Quarantine moves an entry out of the inbox with its error; requeue brings it back.
pub async fn quarantine_keeps_the_error_and_requeues(store: &dyn Store) {
    let ids = store.enqueue(vec![entry(1), entry(2)]).await.unwrap();
    let c = store.claim_inbox("w", 2, LEASE, T0).await.unwrap();
    let reason = QuarantineReason {
        kind: "malformed_payload".into(),
        message: "malformed_payload: fake: field `x`: bad".into(),
    };
    assert!(
        store
            .quarantine_inbox(&c[0].fence(), &reason, T0 + 1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .quarantine_inbox(
                &InboxFence {
                    inbox_id: ids[1].clone(),
                    token: "wrong".into()
                },
                &reason,
                T0
            )
            .await
            .unwrap()
    );
    let q = store.quarantined(10).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].entry.id, ids[0]);
    assert_eq!(q[0].entry.request, request(1));
    assert_eq!(q[0].reason, reason);
    // Not in the inbox any more (entry 2 is still leased; nothing else is due).
    assert!(
        store
            .claim_inbox("w", 5, LEASE, T0 + 2)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.requeue_quarantined(None, T0 + 3).await.unwrap(), 1);
    assert!(store.quarantined(10).await.unwrap().is_empty());
    let back = store.claim_inbox("w", 5, LEASE, T0 + 3).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].entry.id, ids[0]);
    assert_eq!(back[0].entry.attempts, 0);
}

/// Apply runs dedupe against stored state, writes one outbox row per envelope and sink, and
/// completes the fenced inbox entry.
pub async fn apply_dedupes_and_writes_the_outbox(store: &dyn Store) {
    store.enqueue(vec![entry(1)]).await.unwrap();
    let c = store.claim_inbox("w", 1, LEASE, T0).await.unwrap();
    let a = store
        .apply(batch(
            Some(c[0].fence()),
            vec![group(
                "t1",
                "c1",
                vec![profile("u1", 70.0), profile("u2", 80.0)],
                &["main", "copy"],
            )],
        ))
        .await
        .unwrap();
    assert!(!a.fenced_out);
    assert_eq!(a.envelopes.len(), 1, "both profiles share one envelope");
    assert_eq!(a.envelopes[0].data.len(), 2);
    assert!(a.envelopes[0].data.iter().all(|i| i.revision == 1));
    assert_eq!(a.deliveries, 2);
    // The inbox entry is gone with the same transaction.
    assert!(!store.complete_inbox(&c[0].fence()).await.unwrap());
    let main = store
        .deliveries(&DeliveryFilter {
            sink: Some(sink("t1", "main")),
            limit: 10,
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(main.len(), 1);
    assert_eq!(main[0].state, DeliveryState::Pending);
    assert_eq!(main[0].event_id, a.envelopes[0].event_id);
    let body: serde_json::Value = serde_json::from_slice(&main[0].body).unwrap();
    assert_eq!(body["tenant_id"], "t1");
    assert_eq!(body["data"][0]["revision"], 1);

    // Same content again: nothing. Changed content: revision 2.
    let same = store
        .apply(batch(
            None,
            vec![group("t1", "c1", vec![profile("u1", 70.0)], &["main"])],
        ))
        .await
        .unwrap();
    assert!(same.envelopes.is_empty());
    assert_eq!(same.suppressed, 1);
    let changed = store
        .apply(batch(
            None,
            vec![group("t1", "c1", vec![profile("u1", 71.0)], &["main"])],
        ))
        .await
        .unwrap();
    assert_eq!(changed.envelopes.len(), 1);
    assert_eq!(changed.envelopes[0].data[0].revision, 2);
    let sid = &changed.envelopes[0].data[0].source_id;
    let state = store.dedupe_state("t1", "c1", sid).await.unwrap().unwrap();
    assert_eq!(state.revision, 2);
}

/// A worker whose lease was taken over cannot emit: nothing of its batch is written.
pub async fn apply_refuses_a_lost_lease_and_writes_nothing(store: &dyn Store) {
    store.enqueue(vec![entry(1)]).await.unwrap();
    let old = store.claim_inbox("slow", 1, LEASE, T0).await.unwrap();
    let new = store
        .claim_inbox("fast", 1, LEASE, T0 + LEASE + 1)
        .await
        .unwrap();
    assert_eq!(new.len(), 1);
    let item = profile("u1", 70.0);
    let sid = item.item.source_id.clone();
    let raw = NewArchivedRecord {
        provider: "fake".into(),
        tenant_id: "t1".into(),
        connection_id: "c1".into(),
        inbox_id: Some(old[0].entry.id.clone()),
        record: RawRecord::new("profile", bytes::Bytes::from_static(b"{\"w\":70}")),
        archived_at: T0,
        body_is_request: false,
    };
    let mut stale = batch(
        Some(old[0].fence()),
        vec![group("t1", "c1", vec![item.clone()], &["main"])],
    );
    stale.archive = vec![raw.clone()];
    let a = store.apply(stale).await.unwrap();
    assert!(a.fenced_out);
    assert!(a.envelopes.is_empty());
    let all = ArchiveFilter {
        limit: 10,
        ..ArchiveFilter::default()
    };
    assert!(
        store.archived(&all).await.unwrap().is_empty(),
        "a fenced-out batch archives nothing"
    );
    assert!(
        store
            .dedupe_state("t1", "c1", &sid)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .deliveries(&DeliveryFilter {
                limit: 10,
                ..DeliveryFilter::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    // The current holder emits revision 1, once, and archives its raw record in the same
    // transaction.
    let mut current = batch(
        Some(new[0].fence()),
        vec![group("t1", "c1", vec![item], &["main"])],
    );
    current.archive = vec![raw.clone()];
    let b = store.apply(current).await.unwrap();
    assert_eq!(b.envelopes.len(), 1);
    assert_eq!(b.envelopes[0].data[0].revision, 1);
    let archived = store.archived(&all).await.unwrap();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].record, raw.record);
}

/// The same source_id in two tenants (or two connections) has independent state.
pub async fn dedupe_state_is_scoped_per_tenant_and_connection(store: &dyn Store) {
    for (t, c) in [("t1", "c1"), ("t2", "c1"), ("t1", "c2")] {
        let a = store
            .apply(batch(
                None,
                vec![group(t, c, vec![profile("u1", 70.0)], &["main"])],
            ))
            .await
            .unwrap();
        assert_eq!(a.envelopes.len(), 1, "{t}/{c}");
        assert_eq!(a.envelopes[0].data[0].revision, 1);
        assert_eq!(a.envelopes[0].tenant_id, t);
    }
    let t1 = store
        .claim_deliveries(&sink("t1", "main"), 10, LEASE, T0)
        .await
        .unwrap();
    assert_eq!(t1.len(), 2);
    assert!(t1.iter().all(|d| d.row.sink.tenant_id == "t1"));
    for d in &t1 {
        let body: serde_json::Value = serde_json::from_slice(&d.row.body).unwrap();
        assert_eq!(body["tenant_id"], "t1");
    }
    let t2 = store
        .claim_deliveries(&sink("t2", "main"), 10, LEASE, T0)
        .await
        .unwrap();
    assert_eq!(t2.len(), 1);
    assert_eq!(t2[0].row.sink.tenant_id, "t2");
}

async fn one_delivery(store: &dyn Store, name: &str) -> ClaimedDelivery {
    store
        .apply(batch(
            None,
            vec![group("t1", "c1", vec![profile(name, 70.0)], &["main"])],
        ))
        .await
        .unwrap();
    let mut c = store
        .claim_deliveries(&sink("t1", "main"), 1, LEASE, T0)
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    c.remove(0)
}

fn result(c: &ClaimedDelivery, attempt: u32, outcome: &str, next: DeliveryNext) -> DeliveryResult {
    DeliveryResult {
        delivery_id: c.row.delivery_id.clone(),
        token: c.lease.token.clone(),
        attempt: DeliveryAttempt {
            delivery_id: c.row.delivery_id.clone(),
            attempt,
            at: T0,
            duration_ms: 3,
            outcome: outcome.into(),
            error: (outcome != "delivered").then(|| format!("{outcome} error")),
        },
        next,
    }
}

/// Retry waits for its time; failed rows are kept and retryable; a disabled sink is not claimed
/// until re-enabled.
pub async fn deliveries_retry_fail_disable_and_recover(store: &dyn Store) {
    let s = sink("t1", "main");
    let c = one_delivery(store, "u1").await;
    assert_eq!(c.row.attempts, 0);
    assert_eq!(
        store
            .record_deliveries(vec![result(
                &c,
                1,
                "retry",
                DeliveryNext::RetryAt(T0 + 5_000)
            )])
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .claim_deliveries(&s, 10, LEASE, T0 + 4_999)
            .await
            .unwrap()
            .is_empty()
    );
    let c2 = store
        .claim_deliveries(&s, 10, LEASE, T0 + 5_000)
        .await
        .unwrap();
    assert_eq!(c2.len(), 1);
    assert_eq!(c2[0].row.attempts, 1);
    assert_eq!(
        c2[0].row.delivery_id, c.row.delivery_id,
        "the delivery id is stable across attempts"
    );
    store
        .record_deliveries(vec![result(&c2[0], 2, "failed", DeliveryNext::Failed)])
        .await
        .unwrap();
    let failed = store
        .deliveries(&DeliveryFilter {
            state: Some(DeliveryState::Failed),
            limit: 10,
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("failed error"));
    let attempts = store.attempts(&c.row.delivery_id).await.unwrap();
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(store.retry_failed(Some(&s), T0 + 6_000).await.unwrap(), 1);
    let c3 = store
        .claim_deliveries(&s, 10, LEASE, T0 + 6_000)
        .await
        .unwrap();
    assert_eq!(c3.len(), 1);
    // 410: failed and the sink disabled; a new delivery is not claimed while disabled.
    store
        .record_deliveries(vec![result(
            &c3[0],
            1,
            "disabled",
            DeliveryNext::FailedAndDisableSink,
        )])
        .await
        .unwrap();
    store
        .apply(batch(
            None,
            vec![group("t1", "c1", vec![profile("u9", 1.0)], &["main"])],
        ))
        .await
        .unwrap();
    assert!(
        store
            .claim_deliveries(&s, 10, LEASE, T0 + 7_000)
            .await
            .unwrap()
            .is_empty()
    );
    let states = store.sink_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert!(!states[0].enabled);
    store
        .set_sink_enabled(&s, true, None, T0 + 8_000)
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_deliveries(&s, 10, LEASE, T0 + 8_000)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A result recorded with a stale token (after the lease moved on) changes nothing.
pub async fn stale_delivery_results_are_ignored(store: &dyn Store) {
    let s = sink("t1", "main");
    let c = one_delivery(store, "u1").await;
    let again = store
        .claim_deliveries(&s, 10, LEASE, T0 + LEASE + 1)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        store
            .record_deliveries(vec![result(&c, 1, "delivered", DeliveryNext::Delivered)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .record_deliveries(vec![result(
                &again[0],
                1,
                "delivered",
                DeliveryNext::Delivered
            )])
            .await
            .unwrap(),
        1
    );
    let done = store
        .deliveries(&DeliveryFilter {
            state: Some(DeliveryState::Delivered),
            limit: 10,
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
}

fn conn_record(id: &str, tenant: &str, puid: &str) -> ConnectionRecord {
    ConnectionRecord {
        connection_id: id.into(),
        tenant_id: tenant.into(),
        user_id: "user-1".into(),
        external_user_ref: "ext-1".into(),
        provider: "fake".into(),
        provider_user_id: puid.into(),
        status: ConnectionStatus::Active,
        sealed_tokens: Some(vec![1, 2, 3, 250]),
        created_at: T0,
        updated_at: T0,
    }
}

/// Connections are found by provider user; one provider user maps to one connection.
pub async fn connections_are_unique_per_provider_user(store: &dyn Store) {
    store
        .upsert_tenant(&Tenant {
            id: "t1".into(),
            name: Some("One".into()),
            created_at: T0,
        })
        .await
        .unwrap();
    assert_eq!(store.tenants().await.unwrap()[0].id, "t1");
    let k = conn_record("conn_a", "t1", "p1");
    store.upsert_connection(&k).await.unwrap();
    assert_eq!(
        store.connection_for("fake", "p1").await.unwrap().as_ref(),
        Some(&k)
    );
    assert_eq!(store.connection("conn_a").await.unwrap().as_ref(), Some(&k));
    assert!(store.connection_for("fake", "p2").await.unwrap().is_none());
    let err = store
        .upsert_connection(&conn_record("conn_b", "t1", "p1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), nexus_core::ErrorKind::Config);
    let mut revoked = k.clone();
    revoked.status = ConnectionStatus::Revoked;
    revoked.sealed_tokens = None;
    store.upsert_connection(&revoked).await.unwrap();
    assert_eq!(
        store.connection("conn_a").await.unwrap().unwrap().status,
        ConnectionStatus::Revoked
    );
    store
        .upsert_connection(&conn_record("conn_c", "t2", "p3"))
        .await
        .unwrap();
    assert_eq!(store.connections(Some("t2")).await.unwrap().len(), 1);
    assert_eq!(store.connections(None).await.unwrap().len(), 2);
}

/// Archived records come back filtered, oldest first, in pages.
pub async fn archive_filters_and_pages(store: &dyn Store) {
    let recs: Vec<NewArchivedRecord> = (0..5)
        .map(|n| NewArchivedRecord {
            provider: if n < 4 { "fake" } else { "other" }.into(),
            tenant_id: "t1".into(),
            connection_id: if n % 2 == 0 { "c1" } else { "c2" }.into(),
            inbox_id: None,
            record: RawRecord::new("kind", format!("{{\"n\":{n}}}").into_bytes()),
            archived_at: T0 + n,
            body_is_request: false,
        })
        .collect();
    let ids = store.archive(recs).await.unwrap();
    assert_eq!(ids.len(), 5);
    let all_fake = store
        .archived(&ArchiveFilter {
            provider: Some("fake".into()),
            limit: 100,
            ..ArchiveFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all_fake.len(), 4);
    assert_eq!(&all_fake[0].record.body[..], b"{\"n\":0}");
    let page1 = store
        .archived(&ArchiveFilter {
            limit: 2,
            ..ArchiveFilter::default()
        })
        .await
        .unwrap();
    let page2 = store
        .archived(&ArchiveFilter {
            limit: 2,
            after_id: Some(page1[1].id.clone()),
            ..ArchiveFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page2[0].id, ids[2]);
    let c1_late = store
        .archived(&ArchiveFilter {
            connection_id: Some("c1".into()),
            since: Some(T0 + 1),
            limit: 100,
            ..ArchiveFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(c1_late.len(), 2);
}

/// Depths reflect every queue.
pub async fn depths_count_every_queue(store: &dyn Store) {
    store
        .enqueue(vec![entry(1), entry(2), entry(3)])
        .await
        .unwrap();
    let c = store.claim_inbox("w", 2, LEASE, T0).await.unwrap();
    store
        .retry_inbox(&c[0].fence(), "x", T0 + 100_000)
        .await
        .unwrap();
    store
        .apply(batch(
            None,
            vec![group("t1", "c1", vec![profile("u1", 1.0)], &["main"])],
        ))
        .await
        .unwrap();
    let d = store.depths(T0 + 10).await.unwrap();
    assert_eq!(d.inbox_ready, 1);
    assert_eq!(d.inbox_delayed, 1);
    assert_eq!(d.inbox_leased, 1);
    assert_eq!(d.outbox_pending, 1);
    assert_eq!(d.oldest_pending_ms, 10);
    assert_eq!(d.quarantined, 0);
}

/// Retention deletes delivered rows older than the cut-off and the archive only when asked;
/// pending and failed rows stay.
pub async fn prune_deletes_only_old_delivered_rows_and_old_archive(store: &dyn Store) {
    let s = sink("t1", "main");
    store
        .apply(batch(
            None,
            vec![group(
                "t1",
                "c1",
                vec![profile("u1", 1.0), profile("u2", 2.0)],
                &["main"],
            )],
        ))
        .await
        .unwrap();
    store
        .apply(batch(
            None,
            vec![group("t1", "c1", vec![profile("u3", 3.0)], &["other"])],
        ))
        .await
        .unwrap();
    let c = store.claim_deliveries(&s, 10, LEASE, T0).await.unwrap();
    assert_eq!(c.len(), 1);
    store
        .record_deliveries(vec![result(&c[0], 1, "delivered", DeliveryNext::Delivered)])
        .await
        .unwrap();
    store
        .archive(vec![NewArchivedRecord {
            provider: "fake".into(),
            tenant_id: "t1".into(),
            connection_id: "c1".into(),
            inbox_id: None,
            record: RawRecord::new("kind", b"{}".to_vec()),
            archived_at: T0,
            body_is_request: false,
        }])
        .await
        .unwrap();
    // Nothing is older than T0 yet.
    assert_eq!(
        store.prune(T0, Some(T0)).await.unwrap(),
        PruneReport::default()
    );
    let r = store.prune(T0 + 1, None).await.unwrap();
    assert_eq!(r.deliveries, 1);
    assert_eq!(r.archived, 0);
    assert!(
        store
            .attempts(&c[0].row.delivery_id)
            .await
            .unwrap()
            .is_empty()
    );
    let left = store
        .deliveries(&DeliveryFilter {
            limit: 10,
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "the pending row of the other sink stays");
    assert_eq!(store.prune(T0 + 1, Some(T0 + 1)).await.unwrap().archived, 1);
}

/// A push request's body archived with `body_is_request` (a store may keep the bytes once) reads
/// back from the quarantine, from the inbox after a requeue, and from the archive after the inbox
/// entry is applied; pruning the archive removes it.
pub async fn a_request_body_archived_as_the_record_reads_back_everywhere(store: &dyn Store) {
    let e = entry(5);
    store.enqueue(vec![e.clone()]).await.unwrap();
    let c = store.claim_inbox("w", 1, LEASE, T0).await.unwrap();
    let archived = |inbox_id: &str| NewArchivedRecord {
        provider: "fake".into(),
        tenant_id: "t1".into(),
        connection_id: "c1".into(),
        inbox_id: Some(inbox_id.to_owned()),
        record: RawRecord::new("kind", e.request.body.clone()),
        archived_at: T0,
        body_is_request: true,
    };
    // As the worker does before quarantining a request that failed to normalize.
    store.archive(vec![archived(&c[0].entry.id)]).await.unwrap();
    let reason = QuarantineReason {
        kind: "malformed_payload".into(),
        message: "bad".into(),
    };
    assert!(
        store
            .quarantine_inbox(&c[0].fence(), &reason, T0)
            .await
            .unwrap()
    );
    let q = store.quarantined(10).await.unwrap();
    assert_eq!(q[0].entry.request, e.request);
    assert_eq!(store.requeue_quarantined(None, T0).await.unwrap(), 1);
    let again = store.claim_inbox("w", 1, LEASE, T0).await.unwrap();
    assert_eq!(again[0].entry.request, e.request);
    let mut b = batch(Some(again[0].fence()), Vec::new());
    b.archive = vec![archived(&again[0].entry.id)];
    store.apply(b).await.unwrap();
    let all = ArchiveFilter {
        limit: 10,
        ..ArchiveFilter::default()
    };
    let a = store.archived(&all).await.unwrap();
    assert_eq!(a.len(), 2);
    for r in &a {
        assert_eq!(r.record.body, e.request.body);
    }
    assert_eq!(store.depths(T0).await.unwrap().inbox_ready, 0);
    assert_eq!(store.prune(T0, Some(T0 + 1)).await.unwrap().archived, 2);
    assert!(store.archived(&all).await.unwrap().is_empty());
}
