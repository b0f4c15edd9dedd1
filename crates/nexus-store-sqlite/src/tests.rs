use super::*;
use nexus_core::dedupe::{PreparedItem, StoredState};
use nexus_core::envelope::Recipient;
use nexus_core::items::Profile;
use nexus_core::{Item, ItemBody, NormalizedItem};
use nexus_runtime::store::ApplyGroup;
use nexus_runtime::{TokenCipher, Tokens};

fn fresh() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("nexus.db")).unwrap();
    (store, dir)
}

nexus_runtime::store_suite!(fresh());

fn request(n: u32) -> InboundRequest {
    InboundRequest {
        method: "POST".into(),
        path: "/webhooks/fake".into(),
        query: None,
        headers: vec![],
        body: Bytes::from(format!("{{\"n\":{n}}}")),
    }
}

/// An inbox entry of the fake provider, received at `received_at`.
fn entry(request: InboundRequest, received_at: Millis) -> NewInboxEntry {
    NewInboxEntry {
        provider: "fake".into(),
        request,
        received_at,
    }
}

/// `request(0)` with `body`.
fn with_body(body: &Bytes) -> InboundRequest {
    InboundRequest {
        body: body.clone(),
        ..request(0)
    }
}

#[tokio::test]
async fn enqueued_requests_survive_reopen_and_migrations_are_not_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nexus.db");
    let ids = {
        let s = SqliteStore::open(&path).unwrap();
        s.enqueue((0..10).map(|n| entry(request(n), 1)).collect())
            .await
            .unwrap()
    };
    let s = SqliteStore::open(&path).unwrap();
    let claimed = s.claim_inbox("w", 100, 1000, 10).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|c| c.entry.id.clone())
            .collect::<Vec<_>>(),
        ids
    );
    assert_eq!(claimed[3].entry.request, request(3));
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nexus.db");
    drop(SqliteStore::open(&path).unwrap());
    let c = Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(c);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}

#[tokio::test]
async fn wal_and_full_sync_are_on() {
    let (s, _dir) = fresh();
    let c = Connection::open(s.path()).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

fn profile(native: &str, weight: f64) -> NormalizedItem {
    NormalizedItem {
        item: Item::new(
            "fake",
            native,
            5,
            ItemBody::Profile(Profile {
                provider_user_id: None,
                birth_year: None,
                sex: None,
                height_m: None,
                weight_kg: Some(weight),
            }),
        ),
        provider_version: None,
    }
}

/// An apply group of tenant `t`, connection `c`, for `sinks`.
fn group_tc(items: Vec<NormalizedItem>, sinks: &[&str]) -> ApplyGroup {
    ApplyGroup {
        provider: "fake".into(),
        recipient: Recipient {
            tenant_id: "t".into(),
            user_id: "u".into(),
            external_user_ref: "e".into(),
            connection_id: "c".into(),
        },
        sources: vec![],
        devices: vec![],
        items: items.into_iter().map(PreparedItem::new).collect(),
        sinks: sinks.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// A dedupe state of `event_type` at `revision`, with a fixed hash and nothing else set.
fn plain_state(event_type: nexus_core::EventType, revision: u32) -> StoredState {
    StoredState {
        event_type,
        revision,
        content_hash: "cd".repeat(32),
        provider_version: None,
        deleted: false,
        chunk: None,
        sample_versions: Default::default(),
    }
}

/// Creates dedupe scope 1, for tenant `t` and connection `c`, on `c`.
fn scope_1(c: &Connection) {
    c.execute_batch(
        "INSERT INTO dedupe_scopes (id, tenant_id, connection_id) VALUES (1, 't', 'c')",
    )
    .unwrap();
}

/// Writes `state` of `source_id` under index `key` in scope 1, as the store would.
fn put_state(c: &Connection, key: i64, source_id: &str, state: &StoredState) {
    c.execute(
        "INSERT INTO dedupe_states (scope, key, source_id, state) VALUES (1, ?1, ?2, ?3)",
        params![key, source_id, crate::state_codec::encode(state)],
    )
    .unwrap();
}

/// If any write of an apply fails, nothing of it stays: not the dedupe state, not the outbox rows
/// written before the failure, and the inbox entry is still there for a retry.
#[tokio::test]
async fn apply_is_all_or_nothing() {
    let (s, _dir) = fresh();
    // A trigger that makes the outbox insert for sink `boom` fail, after `ok` was written.
    let c = Connection::open(s.path()).unwrap();
    c.execute_batch(
        "CREATE TRIGGER fail_boom BEFORE INSERT ON outbox WHEN NEW.sink_id = 'boom'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
    )
    .unwrap();
    drop(c);
    s.enqueue(vec![entry(request(1), 1)]).await.unwrap();
    let claimed = s.claim_inbox("w", 1, 60_000, 10).await.unwrap();
    let item = profile("u1", 70.0);
    let sid = item.item.source_id.clone();
    let group = group_tc(vec![item], &["ok", "boom"]);
    let err = s
        .apply(ApplyBatch {
            fence: Some(claimed[0].fence()),
            emitted_at: 10,
            groups: vec![group.clone()],
            archive: vec![],
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("outbox"), "{err}");
    assert!(s.dedupe_state("t", "c", &sid).await.unwrap().is_none());
    assert!(
        s.deliveries(&DeliveryFilter {
            limit: 10,
            ..DeliveryFilter::default()
        })
        .await
        .unwrap()
        .is_empty()
    );
    // Other operations in the same batch are not affected; the entry is still claimed by us.
    assert!(
        s.retry_inbox(&claimed[0].fence(), "storage", 10)
            .await
            .unwrap()
    );
}

/// Tokens sealed by the runtime never appear in the database file (or its WAL) in clear.
#[tokio::test]
async fn tokens_are_encrypted_at_rest() {
    let (s, dir) = fresh();
    let cipher = TokenCipher::new(&[42; 32]);
    let tokens = Tokens {
        access_token: "fake-access-token-SENTINEL-1234567890".into(),
        refresh_token: Some("fake-refresh-token-SENTINEL-0987654321".into()),
        expires_at: None,
    };
    let record = ConnectionRecord {
        connection_id: "conn_1".into(),
        tenant_id: "t".into(),
        user_id: "u".into(),
        external_user_ref: "e".into(),
        provider: "fake".into(),
        provider_user_id: "p".into(),
        status: ConnectionStatus::Active,
        sealed_tokens: Some(cipher.seal(&tokens).unwrap()),
        created_at: 1,
        updated_at: 1,
    };
    s.upsert_connection(&record).await.unwrap();
    let back = s.connection("conn_1").await.unwrap().unwrap();
    assert_eq!(
        cipher.open(back.sealed_tokens.as_deref().unwrap()).unwrap(),
        tokens
    );
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(8).any(|w| w == b"SENTINEL"),
            "token in clear in {}",
            path.display()
        );
    }
    // The ciphertext itself is in the file: we looked at the right files.
    let sealed = back.sealed_tokens.unwrap();
    let all: Vec<u8> = std::fs::read_dir(dir.path())
        .unwrap()
        .flat_map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(all.windows(sealed.len()).any(|w| w == sealed.as_slice()));
}

/// Many concurrent writers: every acknowledged write is there, and they were grouped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_enqueues_are_all_stored() {
    let (s, _dir) = fresh();
    let mut tasks = Vec::new();
    for t in 0..16u32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..25u32 {
                ids.extend(
                    s.enqueue(vec![entry(request(t * 100 + n), 1)])
                        .await
                        .unwrap(),
                );
            }
            ids
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert_eq!(acked.len(), 400);
    let claimed = s.claim_inbox("w", 1000, 1000, 10).await.unwrap();
    let mut got: Vec<String> = claimed.into_iter().map(|c| c.entry.id).collect();
    got.sort();
    acked.sort();
    assert_eq!(got, acked);
}

/// A database written by schema 1 (bodies as base64 inside JSON, large columns first) opens,
/// migrates, and its rows read back as they were written.
#[tokio::test]
async fn schema_1_rows_survive_the_blob_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nexus.db");
    let req = request(7);
    let record = RawRecord {
        kind: "daily".into(),
        body: Bytes::from_static(b"{\"data\":[1,2,3]}"),
        provider_user_id: Some("u1".into()),
        provider_notification_id: Some("n1".into()),
        fetched_at: Some(5),
    };
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        c.execute_batch(crate::migrations::MIGRATIONS[0].sql)
            .unwrap();
        c.execute_batch("PRAGMA user_version = 1").unwrap();
        let json = serde_json::to_string(&req).unwrap();
        c.execute(
            "INSERT INTO inbox (id, provider, request, received_at, attempts, available_at)
             VALUES ('i1', 'fake', ?1, 1, 0, 1)",
            params![json],
        )
        .unwrap();
        c.execute(
            "INSERT INTO quarantine (id, provider, request, received_at, attempts, last_error,
                 reason_kind, reason_message, quarantined_at)
             VALUES ('q1', 'fake', ?1, 1, 2, 'e', 'malformed_payload', 'bad', 3)",
            params![json],
        )
        .unwrap();
        c.execute(
            "INSERT INTO archive (id, provider, tenant_id, connection_id, inbox_id, record, archived_at)
             VALUES ('a1', 'fake', 't', 'c', 'i0', ?1, 4)",
            params![serde_json::to_string(&record).unwrap()],
        )
        .unwrap();
        c.execute(
            "INSERT INTO outbox (delivery_id, tenant_id, sink_id, event_id, event_type, body, attempts,
                 state, next_attempt_at, created_at, updated_at)
             VALUES ('d1', 't', 's', 'e1', 'profile.updated', X'7B7D', 0, 'pending', 1, 1, 1)",
            [],
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    let q = s.quarantined(10).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].entry.request, req);
    let claimed = s.claim_inbox("w", 10, 1000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].entry.request, req);
    let a = s
        .archived(&ArchiveFilter {
            limit: 10,
            ..ArchiveFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].record, record);
    let d = s
        .deliveries(&DeliveryFilter {
            limit: 10,
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].body.as_ref(), b"{}");
    assert_eq!(s.depths(10).await.unwrap().outbox_pending, 1);
    // A legacy quarantined request goes back to the inbox and is read as it was.
    assert_eq!(s.requeue_quarantined(None, 20).await.unwrap(), 1);
    let again = s.claim_inbox("w", 10, 1000, 30).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].entry.request, req);
}

/// Bodies are stored as BLOBs (not base64 inside JSON) and read back byte for byte, binary too.
#[tokio::test]
async fn bodies_are_blobs_and_round_trip() {
    let (s, _dir) = fresh();
    let mut req = request(1);
    req.body = Bytes::from_static(&[0, 159, 146, 150, 255]);
    req.headers = vec![("x-sig".into(), "fake-sig".into())];
    req.query = Some("a=1".into());
    s.enqueue(vec![entry(req.clone(), 1)]).await.unwrap();
    let c = Connection::open(s.path()).unwrap();
    let (json, body): (String, Vec<u8>) = c
        .query_row(
            "SELECT i.request, b.bytes FROM inbox i JOIN bodies b ON b.id = i.body_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(!json.contains("body"), "{json}");
    assert_eq!(body, req.body.as_ref());
    let claimed = s.claim_inbox("w", 10, 1000, 10).await.unwrap();
    assert_eq!(claimed[0].entry.request, req);
}

/// Dedupe states written by schema 2 (JSON rows keyed by tenant, connection and source_id) are
/// moved by migration 3 into `dedupe_states` in the compact form, each still in its own scope.
#[tokio::test]
async fn schema_2_dedupe_states_survive_the_state_migration() {
    use nexus_core::EventType;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nexus.db");
    let state = |revision: u32| StoredState {
        event_type: EventType::Profile,
        revision,
        content_hash: "ab".repeat(32),
        provider_version: Some(9),
        deleted: false,
        chunk: None,
        sample_versions: Default::default(),
    };
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        c.execute_batch(crate::migrations::MIGRATIONS[0].sql)
            .unwrap();
        c.execute_batch(crate::migrations::MIGRATIONS[1].sql)
            .unwrap();
        c.execute_batch("PRAGMA user_version = 2").unwrap();
        for (tenant, conn, rev) in [("t1", "c1", 4), ("t2", "c1", 7)] {
            c.execute(
                "INSERT INTO dedupe_state (tenant_id, connection_id, source_id, state) VALUES (?1, ?2, 'sid', ?3)",
                params![tenant, conn, serde_json::to_string(&state(rev)).unwrap()],
            )
            .unwrap();
        }
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(
        s.dedupe_state("t1", "c1", "sid").await.unwrap(),
        Some(state(4))
    );
    assert_eq!(
        s.dedupe_state("t2", "c1", "sid").await.unwrap(),
        Some(state(7))
    );
    assert_eq!(s.dedupe_state("t1", "c2", "sid").await.unwrap(), None);
    let c = Connection::open(s.path()).unwrap();
    let old: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'dedupe_state'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0, "the old table is dropped");
    let first: Vec<u8> = c
        .query_row("SELECT state FROM dedupe_states LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(first[0], 1, "re-encoded in the compact form");
}

/// Two source_ids whose index keys collide are told apart by the full source_id in the row.
#[tokio::test]
async fn colliding_state_keys_are_told_apart() {
    let (s, _dir) = fresh();
    let state = |revision| plain_state(nexus_core::EventType::Profile, revision);
    {
        let c = Connection::open(s.path()).unwrap();
        scope_1(&c);
        // Both rows under the key of "a": a forced collision.
        for (sid, rev) in [("b", 2), ("a", 3)] {
            put_state(&c, crate::dedupe::index_key("a", None), sid, &state(rev));
        }
    }
    // The pipeline's lookup, by index key.
    let c = Connection::open(s.path()).unwrap();
    let key = |sid: &str| crate::dedupe::StateKey {
        source_id: sid.to_owned(),
        index_key: crate::dedupe::index_key(sid, None),
        by_day: false,
    };
    let mut states = std::collections::HashMap::new();
    crate::dedupe::load(&c, 1, &[key("a"), key("b")], &mut states).unwrap();
    assert_eq!(states.get("a"), Some(&state(3)));
    assert_eq!(states.get("b"), None, "b's key is not a's");
    // The inspection lookup walks the scope by source_id: it finds both.
    assert_eq!(s.dedupe_state("t", "c", "a").await.unwrap(), Some(state(3)));
    assert_eq!(s.dedupe_state("t", "c", "b").await.unwrap(), Some(state(2)));
}

/// A push body is stored once: the archive row points at the request's body, and a request
/// whose body is not archived leaves no body behind once completed.
#[tokio::test]
async fn a_push_body_is_written_once_and_no_body_leaks() {
    let (s, _dir) = fresh();
    s.enqueue(vec![entry(request(1), 1), entry(request(2), 2)])
        .await
        .unwrap();
    let claimed = s.claim_inbox("w", 10, 1000, 10).await.unwrap();
    let pushed = &claimed[0];
    s.apply(ApplyBatch {
        fence: Some(pushed.fence()),
        emitted_at: 10,
        groups: Vec::new(),
        archive: vec![NewArchivedRecord {
            provider: "fake".into(),
            tenant_id: "t".into(),
            connection_id: "c".into(),
            inbox_id: Some(pushed.entry.id.clone()),
            record: RawRecord::new("kind", pushed.entry.request.body.clone()),
            archived_at: 10,
            body_is_request: true,
        }],
    })
    .await
    .unwrap();
    assert!(s.complete_inbox(&claimed[1].fence()).await.unwrap());
    let c = Connection::open(s.path()).unwrap();
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM bodies"),
        1,
        "one body: the archived one"
    );
    assert_eq!(count("SELECT count(*) FROM archive WHERE body IS NULL"), 1);
    assert_eq!(count("SELECT count(*) FROM inbox"), 0);
}

/// Enqueues `request(n)` and applies one profile item for sink `t/main` (one outbox row).
async fn enqueue_and_apply_one(s: &SqliteStore, n: u32) {
    s.enqueue(vec![entry(request(n), 1)]).await.unwrap();
    s.apply(ApplyBatch {
        fence: None,
        emitted_at: 10,
        groups: vec![group_tc(vec![profile("u1", 70.0)], &["main"])],
        archive: vec![],
    })
    .await
    .unwrap();
}

/// Only one process serves a store; the one that does releases the leases a dead predecessor left
/// (inbox and deliveries), so their work is due at once.
#[tokio::test]
async fn one_gateway_per_store_and_dead_leases_are_released() {
    let (s, _dir) = fresh();
    enqueue_and_apply_one(&s, 1).await;
    let sink = SinkRef {
        tenant_id: "t".into(),
        sink_id: "main".into(),
    };
    // The "dead gateway" leases both for a long time.
    assert_eq!(
        s.claim_inbox("dead", 10, 3_600_000, 20)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.claim_deliveries(&sink, 10, 3_600_000, 20)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(s.claim_inbox("w", 10, 1000, 30).await.unwrap().is_empty());

    let lock = s.lock_for_serving().unwrap();
    let second = SqliteStore::open(s.path()).unwrap();
    let err = second.lock_for_serving().unwrap_err();
    assert!(err.to_string().contains("another `nexus serve`"), "{err}");
    assert_eq!(s.release_leases(&lock, 30).await.unwrap(), (1, 1));
    assert_eq!(s.claim_inbox("w", 10, 1000, 30).await.unwrap().len(), 1);
    assert_eq!(
        s.claim_deliveries(&sink, 10, 1000, 30).await.unwrap().len(),
        1
    );
    drop(lock);
    assert!(second.lock_for_serving().is_ok(), "released with its guard");
}

/// A backup taken from a live store opens as a store with the same rows; it never overwrites.
#[tokio::test]
async fn a_backup_is_a_consistent_openable_copy() {
    let (s, dir) = fresh();
    enqueue_and_apply_one(&s, 4).await;
    let dest = dir.path().join("backup.db");
    s.backup_to(&dest).await.unwrap();
    let err = s.backup_to(&dest).await.unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    let copy = SqliteStore::open(&dest).unwrap();
    let claimed = copy.claim_inbox("w", 10, 1000, 10).await.unwrap();
    assert_eq!(claimed[0].entry.request, request(4));
    let sid = profile("u1", 70.0).item.source_id;
    assert_eq!(
        copy.dedupe_state("t", "c", &sid)
            .await
            .unwrap()
            .unwrap()
            .revision,
        1
    );
    assert_eq!(copy.depths(10).await.unwrap().outbox_pending, 1);
}

/// An envelope is stored once for all the sinks of its tenant; leases and results update small
/// rows; pruning a delivered row keeps the body while another sink's row still points at it.
#[tokio::test]
async fn an_envelope_is_stored_once_for_all_sinks_and_released_by_prune() {
    let (s, _dir) = fresh();
    s.apply(ApplyBatch {
        fence: None,
        emitted_at: 10,
        groups: vec![group_tc(vec![profile("u1", 70.0)], &["a", "b"])],
        archive: vec![],
    })
    .await
    .unwrap();
    let c = Connection::open(s.path()).unwrap();
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM bodies"), 1);
    assert_eq!(
        count("SELECT count(*) FROM outbox WHERE length(body) = 0"),
        2
    );
    let sink = |id: &str| SinkRef {
        tenant_id: "t".into(),
        sink_id: id.into(),
    };
    let a = s.claim_deliveries(&sink("a"), 10, 1000, 20).await.unwrap();
    let b = s.claim_deliveries(&sink("b"), 10, 1000, 20).await.unwrap();
    assert_eq!(a[0].row.body, b[0].row.body);
    let body: serde_json::Value = serde_json::from_slice(&a[0].row.body).unwrap();
    assert_eq!(body["data"][0]["weight_kg"], 70.0);
    let delivered = |d: &ClaimedDelivery| DeliveryResult {
        delivery_id: d.row.delivery_id.clone(),
        token: d.lease.token.clone(),
        attempt: DeliveryAttempt {
            delivery_id: d.row.delivery_id.clone(),
            attempt: 1,
            at: 30,
            duration_ms: 1,
            outcome: "delivered".into(),
            error: None,
        },
        next: DeliveryNext::Delivered,
    };
    s.record_deliveries(vec![delivered(&a[0])]).await.unwrap();
    assert_eq!(s.prune(100, None).await.unwrap().deliveries, 1);
    assert_eq!(
        count("SELECT count(*) FROM bodies"),
        1,
        "sink b still needs it"
    );
    s.record_deliveries(vec![delivered(&b[0])]).await.unwrap();
    assert_eq!(s.prune(100, None).await.unwrap().deliveries, 1);
    assert_eq!(count("SELECT count(*) FROM bodies"), 0);
}

/// A prune larger than one chunk deletes everything, chunk by chunk.
#[tokio::test]
async fn a_large_prune_runs_in_chunks_and_deletes_everything() {
    let (s, _dir) = fresh();
    let n = usize::try_from(crate::PRUNE_CHUNK).unwrap() + 500;
    let records: Vec<NewArchivedRecord> = (0..n)
        .map(|i| NewArchivedRecord {
            provider: "fake".into(),
            tenant_id: "t".into(),
            connection_id: "c".into(),
            inbox_id: None,
            record: RawRecord::new("kind", format!("{{\"n\":{i}}}").into_bytes()),
            archived_at: 5,
            body_is_request: false,
        })
        .collect();
    s.archive(records).await.unwrap();
    let report = s.prune(0, Some(10)).await.unwrap();
    assert_eq!(report.archived, n as u64);
    let left = s
        .archived(&ArchiveFilter {
            limit: 10,
            ..ArchiveFilter::default()
        })
        .await
        .unwrap();
    assert!(left.is_empty());
}

/// A store whose WAL restarts past 256 kB (the default is 64 MB), for the WAL tests.
fn small_wal_store(path: &Path) -> SqliteStore {
    let limits = WalLimits {
        restart_frames: 64,
        caught_up_frames: 64,
        busy_interval: std::time::Duration::from_millis(5),
    };
    SqliteStore::open_limited(path, CommitPolicy::Grouped, limits, writer::MAX_BATCH_TIME).unwrap()
}

/// Under writes that never pause, the WAL still starts over: the checkpointer catches up and asks
/// the writer to restart it, so it does not grow with everything written (it used to: 600 MB in
/// a few seconds of the pipeline bench). Limits scaled down: restart past 256 kB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_continuous_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nexus.db");
    let s = small_wal_store(&path);
    let wal = dir.path().join("nexus.db-wal");
    let body = Bytes::from(vec![b'x'; 20_000]);
    let (waves, per_wave) = (50, 20);
    let mut largest = 0;
    for _ in 0..waves {
        let mut writes = tokio::task::JoinSet::new();
        for _ in 0..per_wave {
            let (s, body) = (s.clone(), body.clone());
            writes.spawn(async move { s.enqueue(vec![entry(with_body(&body), 1)]).await });
        }
        while let Some(r) = writes.join_next().await {
            r.unwrap().unwrap();
        }
        largest = largest.max(std::fs::metadata(&wal).unwrap().len());
    }
    let written = (waves * per_wave * body.len()) as u64;
    assert!(
        largest < written / 4,
        "the WAL grew to {largest} bytes for {written} bytes written"
    );
}

/// A large provider body (request, fetched record) is stored LZ4-compressed (schema 6) and read
/// back byte for byte; a corrupt compressed body is an error naming it, not a panic.
#[tokio::test]
async fn large_bodies_are_stored_compressed_and_read_back_exactly() {
    let (s, _dir) = fresh();
    let json = |what: &str| {
        let samples: Vec<String> = (0..2000)
            .map(|i| format!("{{\"t\":{i},\"{what}\":{}}}", 40 + i % 70))
            .collect();
        Bytes::from(format!("[{}]", samples.join(",")))
    };
    let req = with_body(&json("bpm"));
    s.enqueue(vec![entry(req.clone(), 1)]).await.unwrap();
    let record = RawRecord {
        kind: "sleep".into(),
        body: json("hrv"),
        provider_user_id: Some("u1".into()),
        provider_notification_id: None,
        fetched_at: Some(5),
    };
    s.archive(vec![NewArchivedRecord {
        provider: "fake".into(),
        tenant_id: "t".into(),
        connection_id: "c".into(),
        inbox_id: None,
        record: record.clone(),
        archived_at: 5,
        body_is_request: false,
    }])
    .await
    .unwrap();
    let c = Connection::open(s.path()).unwrap();
    let (n, stored): (i64, i64) = c
        .query_row(
            "SELECT count(*), sum(length(bytes)) FROM bodies WHERE codec = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(n, 2, "both bodies are compressed");
    let raw = (req.body.len() + record.body.len()) as i64;
    assert!(stored * 2 < raw, "{stored} bytes stored for {raw}");
    assert_eq!(
        c.query_row(
            "SELECT count(*) FROM archive WHERE body IS NOT NULL",
            [],
            |r| r.get::<_, i64>(0)
        )
        .unwrap(),
        0,
        "the fetched record's body is in `bodies`, not in its archive row"
    );
    let archived = s
        .archived(&ArchiveFilter {
            limit: 10,
            ..ArchiveFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(archived[0].record, record);
    let claimed = s.claim_inbox("w", 10, 1000, 10).await.unwrap();
    assert_eq!(claimed[0].entry.request, req);

    c.execute(
        "UPDATE bodies SET bytes = X'10270000ff' WHERE id = (SELECT body_id FROM inbox)",
        [],
    )
    .unwrap();
    let err = s.claim_inbox("w", 10, 1000, 2000).await.unwrap_err();
    assert!(err.to_string().contains("is corrupt"), "{err}");
}

/// A long read (a backup, a replay paging through the archive) keeps old WAL frames in use, so the
/// WAL cannot start over until it ends. The writer's restart must then give up at once and leave
/// it for later, not wait for the reader: writes go on, each within a short time. (A hang check
/// with a generous bound, not a performance measurement: a restart that waited for the reader
/// would hold every write for the 10 s busy timeout.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_reader_does_not_stall_writes_behind_a_wal_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nexus.db");
    let s = small_wal_store(&path);
    let body = Bytes::from(vec![b'y'; 20_000]);
    s.enqueue(vec![entry(with_body(&body), 1)]).await.unwrap();
    // A reader holds a snapshot that includes WAL frames.
    let reader = Connection::open(&path).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let n: i64 = reader
        .query_row("SELECT count(*) FROM inbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let mut slowest = std::time::Duration::ZERO;
    for _ in 0..200 {
        let t = std::time::Instant::now();
        s.enqueue(vec![entry(with_body(&body), 1)]).await.unwrap();
        slowest = slowest.max(t.elapsed());
    }
    reader.execute_batch("COMMIT").unwrap();
    assert!(
        slowest < std::time::Duration::from_secs(2),
        "a write waited {slowest:?} behind the reader"
    );
}

/// A store written by schema 5 (bodies stored as they are, no `codec` column) opens under
/// schema 6, and its request, archived record and envelope read back byte for byte.
#[tokio::test]
async fn schema_5_bodies_read_back_after_the_compression_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nexus.db");
    let big = |what: &str| {
        let samples: Vec<String> = (0..500)
            .map(|i| format!("{{\"t\":{i},\"{what}\":{}}}", 40 + i % 70))
            .collect();
        Bytes::from(format!("[{}]", samples.join(",")))
    };
    let req = InboundRequest {
        body: big("bpm"),
        ..request(3)
    };
    let envelope = big("hrv");
    let record = RawRecord {
        kind: "daily".into(),
        body: req.body.clone(),
        provider_user_id: Some("u1".into()),
        provider_notification_id: None,
        fetched_at: Some(5),
    };
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        for m in &crate::migrations::MIGRATIONS[..5] {
            c.execute_batch(m.sql).unwrap();
        }
        c.execute_batch("PRAGMA user_version = 5").unwrap();
        c.execute(
            "INSERT INTO bodies (id, bytes) VALUES (1, ?1), (2, ?2)",
            params![req.body.as_ref(), envelope.as_ref()],
        )
        .unwrap();
        c.execute(
            "INSERT INTO inbox (id, provider, request, received_at, attempts, available_at, body_id)
             VALUES ('i1', 'fake', ?1, 1, 0, 1, 1)",
            params![request_head(&req).unwrap()],
        )
        .unwrap();
        c.execute(
            "INSERT INTO archive (id, provider, tenant_id, connection_id, inbox_id, record, archived_at, body_id)
             VALUES ('a1', 'fake', 't', 'c', 'i1', ?1, 5, 1)",
            params![record_head(&record).unwrap()],
        )
        .unwrap();
        c.execute(
            "INSERT INTO outbox (delivery_id, tenant_id, sink_id, event_id, event_type, body, body_id,
                                 attempts, state, next_attempt_at, created_at, updated_at)
             VALUES ('d1', 't', 'main', 'e1', 'sleep', X'', 2, 0, 'pending', 1, 1, 1)",
            [],
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    let claimed = s.claim_inbox("w", 10, 1000, 10).await.unwrap();
    assert_eq!(claimed[0].entry.request, req);
    let archived = s
        .archived(&ArchiveFilter {
            limit: 10,
            ..ArchiveFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(archived[0].record, record);
    let sink = SinkRef {
        tenant_id: "t".into(),
        sink_id: "main".into(),
    };
    let d = s.claim_deliveries(&sink, 10, 1000, 10).await.unwrap();
    assert_eq!(d[0].row.body, envelope);
}

/// A chunk state written by schema 6 (keyed by the source_id's hash alone) is re-keyed by its
/// window's day at the upgrade, and the pipeline finds it afterwards: the same chunk again emits
/// nothing, a changed one emits revision 2, and no second state row appears.
#[tokio::test]
async fn schema_6_chunk_states_are_found_after_the_rekey_migration() {
    use nexus_core::EventType;
    use nexus_core::chunking::{SeriesSpec, chunk_samples};
    use nexus_core::items::Sample;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nexus.db");
    let spec = SeriesSpec::new("fake", EventType::HeartRateSeries, "u-1");
    let t0 = 1_732_406_400_000;
    let chunk = |values: &[f64]| {
        let samples = values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample::one(t0 + i as i64 * 60_000, *v))
            .collect();
        NormalizedItem {
            item: chunk_samples(&spec, samples).pop().unwrap(),
            provider_version: None,
        }
    };
    let first = chunk(&[61.0, 62.0]);
    let sid = first.item.source_id.clone();
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        for m in &crate::migrations::MIGRATIONS[..6] {
            c.execute_batch(m.sql).unwrap();
        }
        c.execute_batch("PRAGMA user_version = 6").unwrap();
        scope_1(&c);
        let state = StoredState {
            event_type: EventType::HeartRateSeries,
            revision: 1,
            content_hash: nexus_core::dedupe::content_hash(&first.item),
            provider_version: None,
            deleted: false,
            chunk: first.item.body.chunk().cloned(),
            sample_versions: Default::default(),
        };
        // Schema 6's key: the hash alone.
        put_state(&c, crate::dedupe::index_key(&sid, None), &sid, &state);
    }
    let s = SqliteStore::open(&path).unwrap();
    let apply = |item: NormalizedItem| {
        s.apply(ApplyBatch {
            fence: None,
            emitted_at: 10,
            groups: vec![group_tc(vec![item], &["main"])],
            archive: vec![],
        })
    };
    let same = apply(first.clone()).await.unwrap();
    assert!(same.envelopes.is_empty(), "the stored chunk was not found");
    let changed = apply(chunk(&[61.0, 63.0])).await.unwrap();
    assert_eq!(changed.envelopes.len(), 1);
    assert_eq!(
        s.dedupe_state("t", "c", &sid)
            .await
            .unwrap()
            .unwrap()
            .revision,
        2
    );
    let c = Connection::open(&path).unwrap();
    let (rows, key): (i64, i64) = c
        .query_row("SELECT count(*), max(key) FROM dedupe_states", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(rows, 1);
    assert_eq!(key >> 32, t0 / nexus_core::chunking::DAY_MS);
}

/// The chunk states of one day are read with one range scan: exactly the wanted ones come back,
/// not their neighbours of the same day, and a day whose range would overflow is looked up key
/// by key.
#[tokio::test]
async fn the_chunk_states_of_a_day_load_with_one_scan() {
    use crate::dedupe::{StateKey, index_key, load};
    use nexus_core::chunking::DAY_MS;
    let (s, _dir) = fresh();
    let state = |revision| plain_state(nexus_core::EventType::HeartRateSeries, revision);
    let day = 20_051 * DAY_MS;
    let chunk_key = |i: i64, window: i64| StateKey {
        source_id: format!("sid-{i}"),
        index_key: index_key(&format!("sid-{i}"), Some(window)),
        by_day: true,
    };
    let far = i64::MAX - 1000;
    let c = Connection::open(s.path()).unwrap();
    scope_1(&c);
    // 40 states on the day, 1 on the next day, 1 far out.
    let stored: Vec<StateKey> = (0..40)
        .map(|i| chunk_key(i, day + i * 900_000))
        .chain([chunk_key(100, day + DAY_MS), chunk_key(200, far)])
        .collect();
    for (n, k) in stored.iter().enumerate() {
        put_state(&c, k.index_key, &k.source_id, &state(n as u32 + 1));
    }
    // Wanted: 20 of the day's (every other one), 10 absent ones of the day, the next day's one
    // and the far one.
    let mut wanted: Vec<StateKey> = (0..40)
        .step_by(2)
        .chain(300..310)
        .map(|i| chunk_key(i, day + (i % 96) * 900_000))
        .chain([chunk_key(100, day + DAY_MS), chunk_key(200, far)])
        .collect();
    wanted.sort_unstable_by_key(|k| k.index_key);
    let mut states = std::collections::HashMap::new();
    let loaded = load(&c, 1, &wanted, &mut states).unwrap();
    assert_eq!(loaded.len(), 22);
    for i in (0..40).step_by(2) {
        assert_eq!(states[&format!("sid-{i}")], state(i as u32 + 1));
    }
    assert!(!states.contains_key("sid-1"), "a neighbour not asked for");
    assert!(!states.contains_key("sid-300"));
    assert_eq!(states["sid-100"], state(41));
    assert_eq!(states["sid-200"], state(42));
}

/// An operation that arrives while a batch runs joins that batch's transaction instead of waiting
/// for its commit: the second operation does not yet see the first one's row from another
/// connection (not committed), and both are committed together.
#[tokio::test]
async fn an_operation_arriving_while_a_batch_runs_joins_its_commit() {
    // The first operation holds its batch open for a while below: no time limit on joining here.
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_limited(
        &dir.path().join("nexus.db"),
        CommitPolicy::Grouped,
        WalLimits::DEFAULT,
        std::time::Duration::from_secs(3600),
    )
    .unwrap();
    s.write(|c| {
        c.execute_batch("CREATE TABLE scratch (x TEXT)")
            .map_err(|e| db_error("create scratch", e))
    })
    .await
    .unwrap();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let s1 = s.clone();
    let first = tokio::spawn(async move {
        s1.write(move |c| {
            c.execute("INSERT INTO scratch VALUES ('first')", [])
                .map_err(|e| db_error("insert", e))?;
            let _ = started_tx.send(());
            // Hold the batch open until the second operation is queued.
            let _ = release_rx.recv_timeout(std::time::Duration::from_secs(10));
            Ok(())
        })
        .await
    });
    started_rx.await.unwrap();
    let path = s.path().to_owned();
    let s2 = s.clone();
    let second = tokio::spawn(async move {
        s2.write(move |_| {
            let other = Connection::open(&path).map_err(|e| db_error("open", e))?;
            other
                .query_row("SELECT count(*) FROM scratch", [], |r| r.get::<_, i64>(0))
                .map_err(|e| db_error("count", e))
        })
        .await
    });
    // Let the second operation reach the writer's queue, then let the first one finish.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    release_tx.send(()).unwrap();
    first.await.unwrap().unwrap();
    let seen_by_another_connection = second.await.unwrap().unwrap();
    assert_eq!(
        seen_by_another_connection, 0,
        "the second operation ran after the first one's commit, in a batch of its own"
    );
}

/// The writer counts its commits and the operations they carried: concurrent operations share
/// commits, and the commit time is measured.
#[tokio::test]
async fn the_writer_counts_commits_and_the_operations_they_carry() {
    let (s, _dir) = fresh();
    let before = s.write_stats().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200u32 {
        let s = s.clone();
        tasks.spawn(async move { s.enqueue(vec![entry(request(n), 1)]).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    let after = s.write_stats().unwrap();
    let operations = after.operations - before.operations;
    let transactions = after.transactions - before.transactions;
    assert_eq!(operations, 200);
    assert!(
        (1..200).contains(&transactions),
        "{transactions} commits for 200 concurrent operations"
    );
    assert!(after.commit_seconds > before.commit_seconds);
}

/// The benchmark baseline commits every statement that writes on its own, and the writer counts
/// those commits (SQLite's commit hook): one per row written here, none for a read.
#[tokio::test]
async fn the_baseline_policy_counts_one_commit_per_statement_that_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s =
        SqliteStore::open_with(&dir.path().join("nexus.db"), CommitPolicy::EveryStatement).unwrap();
    let before = s.write_stats().unwrap();
    let rows = s
        .write(|c| {
            c.execute_batch("CREATE TABLE scratch (x INTEGER)")
                .map_err(|e| db_error("create scratch", e))?;
            for x in 0..5 {
                c.execute("INSERT INTO scratch VALUES (?1)", [x])
                    .map_err(|e| db_error("insert", e))?;
            }
            c.query_row("SELECT count(*) FROM scratch", [], |r| r.get::<_, i64>(0))
                .map_err(|e| db_error("count", e))
        })
        .await
        .unwrap();
    assert_eq!(rows, 5);
    let after = s.write_stats().unwrap();
    assert_eq!(after.operations - before.operations, 1);
    assert_eq!(
        after.transactions - before.transactions,
        1 + 5,
        "the CREATE and each INSERT commit on their own; the SELECT commits nothing"
    );
}
