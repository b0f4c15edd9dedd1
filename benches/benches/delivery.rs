//! Webhook delivery to a loopback receiver: signed envelopes per second through the real
//! `webhook` sink (Standard Webhooks signing, reqwest over keep-alive connections), in batches of
//! 50 as the dispatcher hands them over (target: at least 2,000 envelopes/s). The receiver (axum
//! on 127.0.0.1) shares the process and its 2 tokio worker threads, so its CPU counts too.
//!
//! The envelopes are real: the ones a Terra day of data emits (`nexus_benches::bodies`).
//!
//! Then the same through the whole gateway: Terra day webhooks are ingested into a `Runtime` on an
//! on-disk SQLite store with its `webhook` sink disabled, so their envelopes wait in the outbox;
//! the sink is enabled and the clock runs until the dispatcher has claimed, signed, posted and
//! recorded every one as delivered (store leases, attempts and state updates included).
//!
//! `cargo bench -p nexus-benches --bench delivery`

// A broken fixture must stop the benchmark loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use nexus_benches::{bodies, pipeline, receiver, tally};
use nexus_core::{Delivery, DeliveryOutcome, Sink};
use nexus_sink_webhook::WebhookSink;

/// Deliveries per batch (the runtime's default `delivery.batch_size`).
const BATCH: usize = 50;
/// A fake Standard Webhooks secret (base64 of 24 bytes).
const SECRET: &str = "whsec_ZmFrZS1iZW5jaC1zZWNyZXQtMTIzNDU2Nzg=";

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let recv = rt.block_on(receiver::start());
    let bodies = bodies::envelope_bodies(&bodies::terra_daily_day());
    assert!(!bodies.is_empty());
    let mean_len = bodies.iter().map(|b| b.len()).sum::<usize>() / bodies.len();
    let sink = WebhookSink::from_json(&serde_json::json!({
        "kind": "webhook",
        "url": recv.url,
        "secrets": [SECRET],
        "timeout_s": 10,
    }))
    .unwrap();

    let mut seq = 0u64;
    let mut batch = || -> Vec<Delivery> {
        (0..BATCH)
            .map(|i| {
                seq += 1;
                Delivery {
                    id: format!("msg_bench{seq:012}"),
                    event_type: "timeseries.heart_rate".into(),
                    tenant_id: "bench".into(),
                    attempt: 1,
                    body: bodies[i % bodies.len()].clone(),
                }
            })
            .collect()
    };

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    let mut g = c.benchmark_group("delivery");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("webhook_sink_batch_of_50", |b| {
        b.iter_custom(|iters| {
            let batches: Vec<Vec<Delivery>> = (0..iters).map(|_| batch()).collect();
            let t = Instant::now();
            rt.block_on(async {
                for d in &batches {
                    let out = sink.deliver(d).await;
                    assert!(
                        out.iter().all(|o| *o == DeliveryOutcome::Delivered),
                        "{out:?}"
                    );
                }
            });
            let took = t.elapsed();
            tally::record("delivery", iters * BATCH as u64, took);
            took
        });
    });
    g.finish();
    c.final_summary();

    if let Some(s) = tally::secs_per_iter("delivery") {
        let rate = 1.0 / s;
        let verdict = if rate >= 2000.0 { "meets" } else { "BELOW" };
        println!(
            "\nwebhook delivery: {rate:.0} signed envelopes/s (mean body {mean_len} bytes, {} received) - {verdict} the 2,000/s target",
            recv.requests()
        );
    }

    through_the_gateway(&rt, &recv);
}

/// Envelopes/s from the outbox to the receiver through the runtime's dispatcher.
fn through_the_gateway(rt: &tokio::runtime::Runtime, recv: &receiver::Receiver) {
    use nexus_runtime::now_ms;
    use nexus_runtime::store::SinkRef;
    use nexus_store_sqlite::CommitPolicy;

    const NOTIFICATIONS: usize = 600;
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let day = bodies::terra_daily_day();
    let template = std::str::from_utf8(day.bytes()).unwrap().to_owned();
    let day0 = jiff::civil::date(2026, 8, 13);
    let sink_toml = format!(
        "kind = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        recv.url
    );
    let (delivered, secs) = rt.block_on(async {
        let gw = pipeline::start_configured(dir.path(), 4, CommitPolicy::Grouped, &sink_toml).await;
        let sink = SinkRef {
            tenant_id: pipeline::TENANT.into(),
            sink_id: pipeline::SINK.into(),
        };
        gw.store()
            .set_sink_enabled(
                &sink,
                false,
                Some("benchmark: fill the outbox first"),
                now_ms(),
            )
            .await
            .unwrap();
        let requests: Vec<_> = (0..NOTIFICATIONS)
            .map(|i| pipeline::signed(pipeline::vary(&template, day0, i, 20), i))
            .collect();
        pipeline::ingest_all(&gw, requests, 64).await;
        let filled = pipeline::drain(&gw, NOTIFICATIONS as u64, Duration::from_secs(600)).await;
        let total = filled.outbox_pending;
        assert!(total > 0);
        let before = recv.requests();
        let t = Instant::now();
        gw.store()
            .set_sink_enabled(&sink, true, None, now_ms())
            .await
            .unwrap();
        let until = t + Duration::from_secs(600);
        loop {
            let d = gw.store().depths(now_ms()).await.unwrap();
            if d.outbox_pending == 0 {
                assert_eq!(d.outbox_failed, 0, "deliveries failed");
                break;
            }
            assert!(Instant::now() < until, "the outbox did not drain: {d:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let secs = t.elapsed().as_secs_f64();
        let received = recv.requests() - before;
        assert_eq!(received, total, "every envelope reached the receiver once");
        gw.shutdown().await;
        (total, secs)
    });
    let rate = delivered as f64 / secs;
    let verdict = if rate >= 2000.0 { "meets" } else { "BELOW" };
    println!(
        "through the gateway (outbox -> dispatcher -> receiver, store updates included): {delivered} envelopes in {secs:.2} s, {rate:.0}/s - {verdict} the 2,000/s target"
    );
}
