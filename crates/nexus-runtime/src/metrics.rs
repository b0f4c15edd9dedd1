//! Counters and latency histograms of the gateway, rendered as Prometheus text by
//! [`Metrics::render`] (the server's `/metrics`). Queue depths come from the store at render time.
//!
//! Names (all prefixed `nexus_`):
//! - `webhooks_received_total{provider}`, `webhooks_verified_total{provider}`,
//!   `webhooks_rejected_total{provider,reason}` (counted by the ingress);
//! - `requests_processed_total{provider}`, `requests_retried_total{provider,kind}`,
//!   `requests_quarantined_total{provider,kind}`;
//! - `records_fetched_total{provider}`, `items_normalized_total{provider}`,
//!   `events_emitted_total{provider}`, `items_suppressed_total{provider}`,
//!   `connections_relinked_total{provider}` (a re-authenticated provider user moved to its new id);
//! - `deliveries_total{sink,outcome}` (outcome: delivered, retry, failed, disabled);
//! - histograms `ingest_seconds` (processing of one request: claim to commit),
//!   `received_to_committed_seconds` (webhook stored to its envelopes in the outbox, retries
//!   included), `delivery_seconds` (one sink call), `outbox_to_delivered_seconds` (envelope written
//!   to delivered, retries included); end to end = the last two together;
//! - gauges `inbox_ready`, `inbox_delayed`, `inbox_leased`, `quarantined`, `outbox_pending`,
//!   `outbox_failed`, `outbox_oldest_pending_seconds`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::store::{QueueDepths, WriteStats};

/// Histogram bucket bounds, seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Inner {
    counters: BTreeMap<(&'static str, Labels), u64>,
    histograms: BTreeMap<&'static str, Histogram>,
}

/// The gateway's metrics. Cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Empty.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        // A poisoned lock only means a panic elsewhere while counting; the counts stay usable.
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    /// Adds `n` to a counter.
    pub fn add(&self, name: &'static str, labels: &[(&'static str, &str)], n: u64) {
        let labels: Labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        self.with(|i| *i.counters.entry((name, labels)).or_insert(0) += n);
    }

    /// A counter's value (0 when never counted).
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> u64 {
        let labels: Labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        self.with(|i| i.counters.get(&(name, labels)).copied().unwrap_or(0))
    }

    /// Records a duration in a histogram.
    pub fn observe(&self, name: &'static str, d: Duration) {
        let secs = d.as_secs_f64();
        self.with(|i| {
            let h = i.histograms.entry(name).or_default();
            for (slot, bound) in h.counts.iter_mut().zip(BUCKETS) {
                if secs <= bound {
                    *slot += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        });
    }

    /// A webhook reached the ingress.
    pub fn webhook_received(&self, provider: &str) {
        self.add("webhooks_received_total", &[("provider", provider)], 1);
    }

    /// A webhook passed verification (and was stored).
    pub fn webhook_verified(&self, provider: &str) {
        self.add("webhooks_verified_total", &[("provider", provider)], 1);
    }

    /// A webhook was refused; `reason` is an error kind name (`invalid_signature`).
    pub fn webhook_rejected(&self, provider: &str, reason: &str) {
        self.add(
            "webhooks_rejected_total",
            &[("provider", provider), ("reason", reason)],
            1,
        );
    }

    /// Prometheus text exposition (version 0.0.4), with the queue depths as gauges and the
    /// store's commit counters (`nexus_store_*`) when it has them.
    pub fn render(&self, depths: &QueueDepths, writes: Option<&WriteStats>) -> String {
        let mut out = String::new();
        self.with(|i| {
            let mut last: Option<&'static str> = None;
            for ((name, labels), v) in &i.counters {
                if last != Some(*name) {
                    let _ = writeln!(out, "# TYPE nexus_{name} counter");
                    last = Some(*name);
                }
                let _ = writeln!(out, "nexus_{name}{} {v}", render_labels(labels));
            }
            for (name, h) in &i.histograms {
                let _ = writeln!(out, "# TYPE nexus_{name} histogram");
                for (bound, c) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(out, "nexus_{name}_bucket{{le=\"{bound}\"}} {c}");
                }
                let _ = writeln!(out, "nexus_{name}_bucket{{le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "nexus_{name}_sum {}", h.sum);
                let _ = writeln!(out, "nexus_{name}_count {}", h.count);
            }
        });
        let gauges: [(&str, f64); 7] = [
            ("inbox_ready", depths.inbox_ready as f64),
            ("inbox_delayed", depths.inbox_delayed as f64),
            ("inbox_leased", depths.inbox_leased as f64),
            ("quarantined", depths.quarantined as f64),
            ("outbox_pending", depths.outbox_pending as f64),
            ("outbox_failed", depths.outbox_failed as f64),
            (
                "outbox_oldest_pending_seconds",
                depths.oldest_pending_ms as f64 / 1000.0,
            ),
        ];
        for (name, v) in gauges {
            let _ = writeln!(out, "# TYPE nexus_{name} gauge\nnexus_{name} {v}");
        }
        if let Some(w) = writes {
            let counters: [(&str, f64); 3] = [
                ("store_transactions_total", w.transactions as f64),
                ("store_operations_total", w.operations as f64),
                ("store_commit_seconds_total", w.commit_seconds),
            ];
            for (name, v) in counters {
                let _ = writeln!(out, "# TYPE nexus_{name} counter\nnexus_{name} {v}");
            }
        }
        out
    }
}

fn render_labels(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            let escaped = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{escaped}\"")
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::new();
        m.webhook_received("oura");
        m.webhook_received("oura");
        m.webhook_rejected("oura", "invalid_signature");
        m.observe("ingest_seconds", Duration::from_millis(30));
        let text = m.render(
            &QueueDepths {
                outbox_pending: 4,
                ..QueueDepths::default()
            },
            None,
        );
        assert!(text.contains("nexus_webhooks_received_total{provider=\"oura\"} 2"));
        assert!(text.contains(
            "nexus_webhooks_rejected_total{provider=\"oura\",reason=\"invalid_signature\"} 1"
        ));
        assert!(text.contains("nexus_ingest_seconds_bucket{le=\"0.025\"} 0"));
        assert!(text.contains("nexus_ingest_seconds_bucket{le=\"0.05\"} 1"));
        assert!(text.contains("nexus_ingest_seconds_count 1"));
        assert!(text.contains("nexus_outbox_pending 4"));
        assert!(
            !text.contains("nexus_store_"),
            "no store counters from a store without them"
        );
        assert_eq!(
            m.counter("webhooks_received_total", &[("provider", "oura")]),
            2
        );
    }

    #[test]
    fn the_store_commit_counters_are_rendered() {
        let text = Metrics::new().render(
            &QueueDepths::default(),
            Some(&WriteStats {
                transactions: 3,
                operations: 40,
                commit_seconds: 0.25,
            }),
        );
        assert!(text.contains(
            "# TYPE nexus_store_transactions_total counter\nnexus_store_transactions_total 3\n"
        ));
        assert!(text.contains("nexus_store_operations_total 40\n"));
        assert!(text.contains("nexus_store_commit_seconds_total 0.25\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        m.webhook_rejected("x\"y", "a\nb");
        assert!(
            m.render(&QueueDepths::default(), None)
                .contains("provider=\"x\\\"y\",reason=\"a\\nb\"")
        );
    }
}
