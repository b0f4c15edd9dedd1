//! End to end, notifications in -> outbox committed, SQLite on disk (WAL, synchronous=FULL):
//!
//! 1. **MB/s of provider JSON**: signed Terra `daily` webhooks of a full day (1,440 HR samples,
//!    ~120 kB) through `Runtime::ingest` and 16 ingest workers, 64 requests in flight (target:
//!    at least 20 MB/s on one core). Run it pinned to one core:
//!    `taskset -c 0 cargo bench -p nexus-benches --bench pipeline`; the CPU seconds the process
//!    used are printed too (MB per CPU-second), and the bytes written per notification (the WAL
//!    and the checkpoints, from `/proc/self/io`), and how long notifications took to be
//!    acknowledged (verified and stored durably) meanwhile.
//! 2. **Grouped vs one row per transaction** (target: at least 50x): the same pipeline, same
//!    bodies, same concurrency, on a store opened with `CommitPolicy::EveryStatement`, where
//!    SQLite commits (and fsyncs) every statement on its own. Measured on the day bodies of (1)
//!    and on the recorded-size Terra `daily` (~1.3 kB). The baseline's commits are counted
//!    (SQLite's commit hook), so the run also prints what one durable one-row commit costs on this
//!    disk and how fast the grouped pipeline would have to be for 50x here.
//!
//! To profile one part: `NEXUS_BENCH_ONLY=day:1000` runs only the grouped day bodies of (1), and
//! `NEXUS_BENCH_ONLY=small:20000` only the grouped recorded-size bodies, with that many
//! notifications. The runtime is tokio's current-thread one; `NEXUS_BENCH_RUNTIME=multi` runs a
//! multi-thread one (a worker per CPU), as `nexus serve` does.
//!
//! Every run checks its outcome: nothing quarantined and the expected outbox rows written.

// A broken fixture must stop the benchmark loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use nexus_benches::bodies::{self, load_case, step_body};
use nexus_benches::{machine, mb_per_s, pipeline};
use nexus_runtime::store::WriteStats;
use nexus_store_sqlite::CommitPolicy;

/// Notifications in flight at once, as from that many concurrent provider requests.
const IN_FLIGHT: usize = 64;

struct Run {
    notifications: usize,
    bytes: u64,
    secs: f64,
    cpu_secs: f64,
    outbox: u64,
    /// Bytes written (the WAL, the checkpoints into the database file) during the run.
    written: u64,
    /// How long each notification took to be acknowledged (verified and stored durably).
    acks: Vec<Duration>,
    /// The store's commits during the run (for the baseline, one per statement that wrote).
    writes: WriteStats,
}

impl Run {
    fn per_s(&self) -> f64 {
        self.notifications as f64 / self.secs
    }
}

/// Runs `n` notifications made from `template` through a fresh gateway.
fn run(template: &str, day0: jiff::civil::Date, n: usize, policy: CommitPolicy) -> Run {
    let (concurrency, workers) = (IN_FLIGHT, 16);
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    // NEXUS_BENCH_RUNTIME=multi: a multi-thread runtime (one worker per CPU), as `nexus serve`.
    let rt = if std::env::var("NEXUS_BENCH_RUNTIME").is_ok_and(|v| v == "multi") {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cpus)
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    rt.block_on(async {
        let gw = pipeline::start_with(dir.path(), workers, policy).await;
        // Warm up: the 20 users' connections are created (auto-connect) outside the measurement.
        let warm: Vec<_> = (0..20)
            .map(|i| pipeline::signed(pipeline::vary(template, day0, i + 100_000, 20), i))
            .collect();
        pipeline::ingest_all(&gw, warm, concurrency).await;
        let before = pipeline::drain(&gw, 20, Duration::from_secs(60)).await;

        let requests: Vec<_> = (0..n)
            .map(|i| pipeline::signed(pipeline::vary(template, day0, i, 20), i))
            .collect();
        let bytes: u64 = requests.iter().map(|r| r.body.len() as u64).sum();
        let cpu0 = pipeline::cpu_seconds();
        let written0 = pipeline::bytes_written();
        let writes0 = gw.store().write_stats().unwrap_or_default();
        let t = Instant::now();
        let acks = pipeline::ingest_all(&gw, requests, concurrency).await;
        let after = pipeline::drain(&gw, 20 + n as u64, Duration::from_secs(600)).await;
        let secs = t.elapsed().as_secs_f64();
        let cpu_secs = pipeline::cpu_seconds() - cpu0;
        let written = pipeline::bytes_written() - written0;
        let writes1 = gw.store().write_stats().unwrap_or_default();
        let writes = WriteStats {
            transactions: writes1.transactions - writes0.transactions,
            operations: writes1.operations - writes0.operations,
            commit_seconds: writes1.commit_seconds - writes0.commit_seconds,
        };
        assert_eq!(after.quarantined, 0, "requests were quarantined");
        assert_eq!(
            after.inbox_ready + after.inbox_leased + after.inbox_delayed,
            0
        );
        let outbox = after.outbox_pending - before.outbox_pending;
        gw.shutdown().await;
        Run {
            notifications: n,
            bytes,
            secs,
            cpu_secs,
            outbox,
            written,
            acks,
            writes,
        }
    })
}

/// Prints grouped vs one-row-per-transaction for one body and returns the ratio; then the
/// baseline's commits (one per statement that wrote) and what they imply on this disk: the time
/// of one durable one-row commit (statement included), and the grouped time per notification
/// that 50x would take here.
fn compare(what: &str, body: &[u8], grouped: &Run, per_row: &Run) -> f64 {
    assert_eq!(
        grouped.outbox / grouped.notifications as u64,
        per_row.outbox / per_row.notifications as u64
    );
    let ratio = grouped.per_s() / per_row.per_s();
    println!(
        "{what}: grouped {:.1} notifications/s ({} in {:.2} s), one row per transaction {:.2}/s ({} in {:.2} s): {ratio:.1}x - {} the 50x target",
        grouped.per_s(),
        grouped.notifications,
        grouped.secs,
        per_row.per_s(),
        per_row.notifications,
        per_row.secs,
        if ratio >= 50.0 { "meets" } else { "BELOW" }
    );
    let commits = per_row.writes.transactions as f64 / per_row.notifications as f64;
    let per_commit_ms = per_row.secs * 1e3 / per_row.writes.transactions.max(1) as f64;
    let per_row_ms = per_row.secs * 1e3 / per_row.notifications as f64;
    let grouped_ms = grouped.secs * 1e3 / grouped.notifications as f64;
    let mean_bytes = grouped.bytes as f64 / grouped.notifications as f64;
    println!(
        "{what}: the baseline commits {commits:.0} times per notification, {per_commit_ms:.3} ms per durable one-row commit on this disk (statement included): {per_row_ms:.1} ms per notification; grouped takes {grouped_ms:.2} ms ({:.2} CPU ms); 50x here needs {:.2} ms per notification, {:.0} MB/s; serde_json::from_slice::<Value> alone parses the body at {:.0} MB/s",
        grouped.cpu_secs * 1e3 / grouped.notifications as f64,
        per_row_ms / 50.0,
        mean_bytes / (per_row_ms / 50.0) / 1e3,
        value_parse_mb_s(body),
    );
    ratio
}

/// MB/s of `serde_json::from_slice::<Value>` on `body`, for scale: the least any pipeline does
/// with a body is read it once.
fn value_parse_mb_s(body: &[u8]) -> f64 {
    let rounds = (20_000_000 / body.len().max(1)).max(10);
    let t = Instant::now();
    for _ in 0..rounds {
        let v: serde_json::Value = serde_json::from_slice(std::hint::black_box(body)).unwrap();
        std::hint::black_box(v);
    }
    mb_per_s((body.len() * rounds) as u64, t.elapsed().as_secs_f64())
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported here.
    println!("machine: {}", machine());

    // 1. MB/s on day-sized bodies.
    let day = bodies::terra_daily_day();
    let day_text = std::str::from_utf8(day.bytes()).unwrap().to_owned();
    let day0 = jiff::civil::date(2026, 8, 13);
    let per_envelope = bodies::envelope_bodies(&day).len() as u64;
    // NEXUS_BENCH_ONLY=day:N or small:N runs only that grouped part (for a profiler).
    let only: Option<(String, usize)> = std::env::var("NEXUS_BENCH_ONLY").ok().and_then(|v| {
        let (part, n) = v.split_once(':')?;
        Some((part.to_owned(), n.parse().ok()?))
    });
    let case = load_case("terra", "daily_heart_rate_overlap");
    let small = serde_json::to_string(&step_body(&case, 0)).unwrap();
    if let Some(("small", n)) = only.as_ref().map(|(p, n)| (p.as_str(), *n)) {
        let r = run(&small, day0, n, CommitPolicy::Grouped);
        println!(
            "small bodies: grouped {:.1} notifications/s ({} in {:.2} s, {:.2} CPU s)",
            r.per_s(),
            r.notifications,
            r.secs,
            r.cpu_secs
        );
        return;
    }
    let day_n = only.as_ref().map_or(300, |(_, n)| *n);
    let mut big = run(&day_text, day0, day_n, CommitPolicy::Grouped);
    assert_eq!(big.outbox, big.notifications as u64 * per_envelope);
    let mbs = mb_per_s(big.bytes, big.secs);
    let mbs_cpu = mb_per_s(big.bytes, big.cpu_secs);
    println!(
        "day bodies: {} notifications, {:.1} MB in {:.2} s: {mbs:.1} MB/s wall, {mbs_cpu:.1} MB per CPU-second ({:.2} CPU s), {} outbox rows, {:.0} kB written per notification - {} the 20 MB/s target",
        big.notifications,
        big.bytes as f64 / 1e6,
        big.secs,
        big.cpu_secs,
        big.outbox,
        big.written as f64 / 1e3 / big.notifications as f64,
        if mbs >= 20.0 { "meets" } else { "BELOW" }
    );
    big.acks.sort_unstable();
    let ms = |q: f64| pipeline::quantile(&big.acks, q).as_secs_f64() * 1e3;
    println!(
        "day bodies: time to acknowledge a notification (verified, stored durably) while the pipeline runs: median {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} in flight)",
        ms(0.5),
        ms(0.99),
        ms(1.0),
        IN_FLIGHT
    );
    let w = &big.writes;
    println!(
        "day bodies: {} commits carried {} write operations ({:.1} each), {:.2} ms per commit",
        w.transactions,
        w.operations,
        w.operations as f64 / w.transactions.max(1) as f64,
        w.commit_seconds * 1e3 / w.transactions.max(1) as f64,
    );
    if only.is_some() {
        return;
    }

    // 2. The same pipeline committing one row per transaction: the day bodies of (1), then the
    // recorded-size body.
    let big_per_row = run(&day_text, day0, 24, CommitPolicy::EveryStatement);
    compare("day bodies", day.bytes(), &big, &big_per_row);
    let grouped = run(&small, day0, 6000, CommitPolicy::Grouped);
    let per_row = run(&small, day0, 200, CommitPolicy::EveryStatement);
    compare(
        &format!("small bodies (~{} B)", small.len()),
        small.as_bytes(),
        &grouped,
        &per_row,
    );
}
