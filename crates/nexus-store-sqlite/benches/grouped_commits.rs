//! What grouped commits buy: 256 inbox enqueues (each durable, `synchronous=FULL`) awaited one
//! after another (one commit each) versus issued by 256 concurrent tasks (the writer groups them
//! into few commits). `cargo bench -p nexus-store-sqlite`.
// Bench code: a failed setup should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nexus_core::InboundRequest;
use nexus_runtime::Store;
use nexus_runtime::store::NewInboxEntry;
use nexus_store_sqlite::SqliteStore;

const N: u64 = 256;

fn entry(n: u64) -> NewInboxEntry {
    NewInboxEntry {
        provider: "fake".into(),
        request: InboundRequest {
            method: "POST".into(),
            path: "/webhooks/fake".into(),
            query: None,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(600))),
        },
        received_at: 1,
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("enqueue_256");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.bench_function("sequential", |b| {
        b.iter(|| {
            rt.block_on(async {
                for n in 0..N {
                    store.enqueue(vec![entry(n)]).await.unwrap();
                }
            });
        });
    });
    g.bench_function("concurrent", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..N)
                    .map(|n| {
                        let s = store.clone();
                        tokio::spawn(async move { s.enqueue(vec![entry(n)]).await.unwrap() })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            });
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
