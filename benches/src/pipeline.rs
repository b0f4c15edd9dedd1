//! The real pipeline on an on-disk SQLite store, for the pipeline and memory benches: signed Terra
//! webhooks go through `Runtime::ingest` (verify + durable inbox write), the ingest workers
//! (parse, archive, normalize, dedupe + outbox in one transaction), until every request has left
//! the inbox. The tenant's sink is disabled before the workers start, so nothing is delivered and
//! the figure is "notifications in -> outbox committed".

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use nexus_core::InboundRequest;
use nexus_runtime::store::{QueueDepths, SinkRef};
use nexus_runtime::{Config, Runtime, Store, now_ms};
use nexus_store_sqlite::{CommitPolicy, SqliteStore};
use tokio::task::JoinSet;

use crate::terra;

/// The tenant and sink of the bench gateway.
pub const TENANT: &str = "bench";
/// The sink name.
pub const SINK: &str = "main";

/// A gateway runtime on a fresh SQLite file under `dir`, with `ingest_workers` workers.
pub async fn start(dir: &Path, ingest_workers: usize) -> Runtime {
    start_with(dir, ingest_workers, CommitPolicy::Grouped).await
}

/// [`start`] with the store's commit policy (the baseline commits every row on its own).
pub async fn start_with(dir: &Path, ingest_workers: usize, policy: CommitPolicy) -> Runtime {
    let sink = format!(
        "kind = \"jsonl\"\npath = \"{}/envelopes.jsonl\"\n",
        dir.display()
    );
    start_configured(dir, ingest_workers, policy, &sink).await
}

/// [`start_with`] with the bench sink's TOML table body (`kind = ...` and its options). The sink
/// starts disabled: enable it with `Store::set_sink_enabled` to deliver what the outbox holds.
pub async fn start_configured(
    dir: &Path,
    ingest_workers: usize,
    policy: CommitPolicy,
    sink_toml: &str,
) -> Runtime {
    let toml = format!(
        r#"data_dir = "{dir}"
encryption_key = "{key}"
auto_connect_tenant = "{TENANT}"
[workers]
ingest = {ingest_workers}
poll_interval_ms = 20
[providers.terra]
webhook_secret = "{secret}"
[tenants.{TENANT}.sinks.{SINK}]
{sink_toml}
"#,
        dir = dir.display(),
        key = "0000000000000000000000000000000000000000000000000000000000000000",
        secret = terra::FAKE_SECRET,
    );
    let config = Config::from_sources(Some(&toml), std::iter::empty()).expect("bench config");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_with(&dir.join("nexus.db"), policy).expect("open the SQLite store"),
    );
    // Nothing is delivered: the figure stops at the committed outbox.
    store
        .set_sink_enabled(
            &SinkRef {
                tenant_id: TENANT.into(),
                sink_id: SINK.into(),
            },
            false,
            Some("benchmark: measure up to the outbox"),
            now_ms(),
        )
        .await
        .expect("disable the sink");
    let rt = Runtime::builder(config, store)
        .build()
        .await
        .expect("build the runtime");
    rt.spawn_workers();
    rt
}

/// A Terra webhook body for notification `i` made from `template` (a body whose dates are
/// `day0` and the day after): user `i % users`, day `i / users` after `day0`, so every
/// notification carries new data.
pub fn vary(template: &str, day0: jiff::civil::Date, i: usize, users: usize) -> Bytes {
    let shift = jiff::Span::new().days(i64::try_from(i / users).unwrap_or(0));
    let d0 = day0.checked_add(shift).expect("date in range");
    let d1 = d0.tomorrow().expect("date in range");
    let next0 = day0.tomorrow().expect("date in range");
    // Replace the later date first so the shifted first date is not shifted twice.
    let body = template
        .replace(&next0.to_string(), "\u{1}")
        .replace(&day0.to_string(), &d0.to_string())
        .replace('\u{1}', &d1.to_string())
        .replace(
            "6d1c2f4e-3a58-4b2e-9f77-0c1ab2d3e4f5",
            &format!("bench-user-{:04}", i % users),
        );
    Bytes::from(body)
}

/// Signs `body` as Terra would, now.
pub fn signed(body: Bytes, i: usize) -> InboundRequest {
    let t = now_ms() / 1000;
    terra::signed_request(terra::FAKE_SECRET, t, &format!("ref-{i}"), body)
}

/// Ingests `requests` with at most `concurrency` in flight (as the HTTP ingress would under that
/// many concurrent provider requests). Returns how long each took to be acknowledged (verified
/// and durably stored: when the ingress would answer the provider), in completion order.
pub async fn ingest_all(
    rt: &Runtime,
    requests: Vec<InboundRequest>,
    concurrency: usize,
) -> Vec<Duration> {
    let mut set = JoinSet::new();
    let mut acks = Vec::with_capacity(requests.len());
    for r in requests {
        while set.len() >= concurrency {
            acks.push(set.join_next().await.expect("a task").expect("ingest task"));
        }
        let rt = rt.clone();
        set.spawn(async move {
            let t = Instant::now();
            rt.ingest("terra", r).await.expect("ingest");
            t.elapsed()
        });
    }
    while let Some(r) = set.join_next().await {
        acks.push(r.expect("ingest task"));
    }
    acks
}

/// The `q` quantile (0..=1) of `sorted` (ascending), nearest rank; zero for none.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let Some(last) = sorted.len().checked_sub(1) else {
        return Duration::ZERO;
    };
    let rank = (last as f64 * q.clamp(0.0, 1.0)).round() as usize;
    sorted[rank.min(last)]
}

/// Waits until the workers have processed `total` requests in all (an in-memory counter: polling
/// the store's queue depths would itself cost a scan per poll), then returns the store's depths.
pub async fn drain(rt: &Runtime, total: u64, timeout: Duration) -> QueueDepths {
    let until = Instant::now() + timeout;
    let m = rt.metrics();
    loop {
        let done = m.counter("requests_processed_total", &[("provider", "terra")]);
        if done >= total {
            return rt.store().depths(now_ms()).await.expect("depths");
        }
        if Instant::now() > until {
            let d = rt.store().depths(now_ms()).await.expect("depths");
            panic!("the pipeline did not drain: {done} of {total} processed, {d:?}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Bytes this process has passed to write calls (files, the WAL, sockets), from the `wchar` line
/// of `/proc/self/io`; 0 where that file does not exist.
pub fn bytes_written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("wchar:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat`.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
