//! Peak memory while replaying 1 GB of recorded payloads (target: under 200 MB peak RSS).
//!
//! 1 GB of Terra `daily` webhooks (a day of data each, ~120 kB, every one a new user-day) is
//! generated into a temp dir as JSON lines (never committed, deleted at the end). Then, measured
//! separately with the peak reset in between (`/proc/self/clear_refs` = 5 resets `VmHWM`):
//!
//! 1. **ingest**: the file is streamed line by line into the real pipeline on an on-disk SQLite
//!    store (`Runtime::ingest`, 64 in flight, 4 workers), until the inbox is drained;
//! 2. **archive replay**: `Runtime::replay_archive` re-derives every archived record (1 GB), as
//!    `nexus replay` does.
//!
//! `cargo bench -p nexus-benches --bench replay_memory` (about 1 GB of input and ~3 GB of SQLite
//! on disk under $TMPDIR while it runs). `NEXUS_BENCH_REPLAY_MB` sets a smaller size for a quick try.

// A broken fixture must stop the benchmark loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::{Duration, Instant};

use nexus_benches::{bodies, machine, mb_per_s, pipeline, rss};
use nexus_runtime::store::ArchiveFilter;

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

/// Resets the peak RSS (`VmHWM`) to the current RSS. Linux only; false when it could not.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn main() {
    println!("machine: {}", machine());
    let target_mb: u64 = std::env::var("NEXUS_BENCH_REPLAY_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();

    // Generate the payloads, streaming to disk.
    let day = bodies::terra_daily_day();
    let template = std::str::from_utf8(day.bytes()).unwrap().to_owned();
    let day0 = jiff::civil::date(2026, 8, 13);
    let users = 200;
    let path = dir.path().join("payloads.jsonl");
    let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
    let (mut written, mut count) = (0u64, 0usize);
    while written < target_mb * 1_000_000 {
        let body = pipeline::vary(&template, day0, count, users);
        out.write_all(&body).unwrap();
        out.write_all(b"\n").unwrap();
        written += body.len() as u64;
        count += 1;
    }
    out.flush().unwrap();
    drop(out);
    println!("generated {count} payloads, {:.0} MB", mb(written));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store_dir = dir.path().join("gateway");
    std::fs::create_dir_all(&store_dir).unwrap();
    let gw = rt.block_on(pipeline::start(&store_dir, 4));

    // 1. Stream the file into the pipeline.
    let baseline = rss::current_bytes().unwrap_or(0);
    let can_reset = reset_peak();
    let t = Instant::now();
    rt.block_on(async {
        let mut reader = BufReader::new(std::fs::File::open(&path).unwrap());
        let mut batch = Vec::with_capacity(64);
        let mut line = Vec::new();
        let mut i = 0usize;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).unwrap();
            if n > 0 {
                let body = line.strip_suffix(b"\n").unwrap_or(&line).to_vec();
                batch.push(pipeline::signed(body.into(), i));
                i += 1;
            }
            if batch.len() == 64 || (n == 0 && !batch.is_empty()) {
                pipeline::ingest_all(&gw, std::mem::take(&mut batch), 64).await;
            }
            if n == 0 {
                break;
            }
        }
        let d = pipeline::drain(&gw, i as u64, Duration::from_secs(1800)).await;
        assert_eq!(d.quarantined, 0);
    });
    let ingest_secs = t.elapsed().as_secs_f64();
    let ingest_peak = rss::peak_bytes().unwrap_or(0);

    // 2. Replay the whole archive.
    reset_peak();
    let t = Instant::now();
    let report = rt
        .block_on(gw.replay_archive(&ArchiveFilter::default()))
        .unwrap();
    let replay_secs = t.elapsed().as_secs_f64();
    let replay_peak = rss::peak_bytes().unwrap_or(0);
    assert_eq!(report.records, count, "every archived record replayed");
    assert!(report.failures.is_empty(), "{:?}", report.failures.first());
    rt.block_on(gw.shutdown());

    let verdict = |p: u64| if p < 200_000_000 { "meets" } else { "ABOVE" };
    println!(
        "RSS before the run {:.0} MB{}",
        mb(baseline),
        if can_reset {
            ""
        } else {
            " (peak could not be reset: peaks include generation)"
        }
    );
    println!(
        "ingest of {:.0} MB: {:.1} s ({:.1} MB/s), peak RSS {:.0} MB - {} the 200 MB target",
        mb(written),
        ingest_secs,
        mb_per_s(written, ingest_secs),
        mb(ingest_peak),
        verdict(ingest_peak)
    );
    println!(
        "archive replay of {} records: {:.1} s ({:.1} MB/s), {} envelopes re-emitted, peak RSS {:.0} MB - {} the 200 MB target",
        report.records,
        replay_secs,
        mb_per_s(written, replay_secs),
        report.envelopes,
        mb(replay_peak),
        verdict(replay_peak)
    );
}
