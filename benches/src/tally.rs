//! Per-benchmark time totals recorded alongside criterion (through `iter_custom`), so a bench can
//! print ratios of figures measured in the same run without parsing criterion's files.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

static TOTALS: Mutex<BTreeMap<String, (Duration, u64)>> = Mutex::new(BTreeMap::new());

/// Adds `iters` iterations that took `took` to benchmark `id`.
pub fn record(id: &str, iters: u64, took: Duration) {
    let mut t = TOTALS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let e = t.entry(id.to_owned()).or_default();
    e.0 += took;
    e.1 += iters;
}

/// Mean seconds per iteration of `id`, over every sample criterion took (warm-up included).
pub fn secs_per_iter(id: &str) -> Option<f64> {
    let t = TOTALS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    t.get(id)
        .filter(|(_, n)| *n > 0)
        .map(|(d, n)| d.as_secs_f64() / *n as f64)
}
