//! Shared pieces of the Nexus benchmarks (`cargo bench -p nexus-benches`):
//!
//! - [`bodies`]: realistic provider bodies built from the adapters' recorded cases
//!   (`adapters/<id>/cases/`), their sample arrays scaled up to a day of data;
//! - [`terra`]: signing Terra webhooks (`terra-signature`) the way Terra does;
//! - [`receiver`]: a loopback webhook receiver that counts what it is sent;
//! - [`rss`]: peak and current resident memory of this process, from `/proc/self/status`.
//!
//! Bench code may panic on a broken fixture: that stops the run loudly, which is what we want.

// A broken fixture must stop a benchmark loudly; none of this runs on provider input in production.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The allocator of the `nexus` binary (`crates/nexus-cli/src/main.rs`), so that every bench
/// measures what the gateway runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod bodies;
pub mod pipeline;
pub mod receiver;
pub mod rss;
pub mod tally;
pub mod terra;

/// Throughput in MB/s (10^6 bytes) of `bytes` processed in `secs`.
pub fn mb_per_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

/// The machine, for the results file: `nproc` and the CPU model.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cpus} CPUs, {model}")
}
