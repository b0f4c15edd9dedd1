//! The ingress's own counters and latency histogram, rendered in the Prometheus text exposition
//! format (version 0.0.4) together with the store's queue depths and the runtime's metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use nexus_runtime::store::QueueDepths;

/// Upper bounds (seconds) of the ingress latency histogram buckets.
const LATENCY_BUCKETS_S: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum_s: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; LATENCY_BUCKETS_S.len()];
        }
        for (i, bound) in LATENCY_BUCKETS_S.iter().enumerate() {
            if seconds <= *bound
                && let Some(c) = self.counts.get_mut(i)
            {
                *c += 1;
            }
        }
        self.sum_s += seconds;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Inner {
    received: BTreeMap<String, u64>,
    verified: BTreeMap<String, u64>,
    rejected: BTreeMap<(String, String), u64>,
    handshakes: BTreeMap<String, u64>,
    stored: BTreeMap<String, u64>,
    store_errors: BTreeMap<String, u64>,
    ack_latency: BTreeMap<String, Histogram>,
}

/// Counters of the ingress, by provider. Cheap to update from request handlers.
#[derive(Debug, Default)]
pub struct IngressMetrics {
    inner: Mutex<Inner>,
}

/// Why a request was refused, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The signature did not verify (or its timestamp was stale).
    Signature,
    /// The provider's app secret is not configured.
    NotConfigured,
    /// A handshake was refused.
    Handshake,
    /// The body was larger than the limit.
    TooLarge,
    /// A method the path does not take.
    Method,
}

impl Rejection {
    fn label(self) -> &'static str {
        match self {
            Rejection::Signature => "signature",
            Rejection::NotConfigured => "not_configured",
            Rejection::Handshake => "handshake",
            Rejection::TooLarge => "too_large",
            Rejection::Method => "method",
        }
    }
}

impl IngressMetrics {
    fn with(&self, f: impl FnOnce(&mut Inner)) {
        // A poisoned lock only means another handler panicked mid-update; counters stay usable.
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard);
    }

    /// A request for a known provider arrived.
    pub fn received(&self, provider: &str) {
        self.with(|m| *m.received.entry(provider.to_owned()).or_default() += 1);
    }

    /// Its signature verified.
    pub fn verified(&self, provider: &str) {
        self.with(|m| *m.verified.entry(provider.to_owned()).or_default() += 1);
    }

    /// It was refused.
    pub fn rejected(&self, provider: &str, why: Rejection) {
        self.with(|m| {
            *m.rejected
                .entry((provider.to_owned(), why.label().to_owned()))
                .or_default() += 1;
        });
    }

    /// A handshake was answered.
    pub fn handshake(&self, provider: &str) {
        self.with(|m| *m.handshakes.entry(provider.to_owned()).or_default() += 1);
    }

    /// It was stored in the inbox and acknowledged after `latency`.
    pub fn stored(&self, provider: &str, latency: Duration) {
        self.with(|m| {
            *m.stored.entry(provider.to_owned()).or_default() += 1;
            m.ack_latency
                .entry(provider.to_owned())
                .or_default()
                .observe(latency.as_secs_f64());
        });
    }

    /// Storing it failed or took too long (the provider was told to retry).
    pub fn store_error(&self, provider: &str) {
        self.with(|m| *m.store_errors.entry(provider.to_owned()).or_default() += 1);
    }

    /// Appends the ingress metrics in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        self.with(|m| {
            counter(
                out,
                "nexus_webhooks_received_total",
                "Webhook requests received for a registered provider.",
                m.received.iter().map(|(p, v)| (vec![("provider", p.as_str())], *v)),
            );
            counter(
                out,
                "nexus_webhooks_verified_total",
                "Webhook requests whose signature verified.",
                m.verified.iter().map(|(p, v)| (vec![("provider", p.as_str())], *v)),
            );
            counter(
                out,
                "nexus_webhooks_rejected_total",
                "Webhook requests refused, by reason; nothing of them is stored.",
                m.rejected.iter().map(|((p, r), v)| {
                    (vec![("provider", p.as_str()), ("reason", r.as_str())], *v)
                }),
            );
            counter(
                out,
                "nexus_webhook_handshakes_total",
                "Subscription handshakes answered.",
                m.handshakes.iter().map(|(p, v)| (vec![("provider", p.as_str())], *v)),
            );
            counter(
                out,
                "nexus_webhooks_stored_total",
                "Verified webhook requests durably stored in the inbox and acknowledged.",
                m.stored.iter().map(|(p, v)| (vec![("provider", p.as_str())], *v)),
            );
            counter(
                out,
                "nexus_webhooks_store_errors_total",
                "Verified webhook requests that could not be stored in time (answered 503).",
                m.store_errors.iter().map(|(p, v)| (vec![("provider", p.as_str())], *v)),
            );
            let name = "nexus_webhook_ack_seconds";
            let _ = writeln!(
                out,
                "# HELP {name} Time from receiving a verified webhook to acknowledging it (stored).\n# TYPE {name} histogram"
            );
            for (provider, h) in &m.ack_latency {
                let p = escape(provider);
                for (bound, c) in LATENCY_BUCKETS_S.iter().zip(&h.counts) {
                    let _ = writeln!(out, "{name}_bucket{{provider=\"{p}\",le=\"{bound}\"}} {c}");
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{{provider=\"{p}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(out, "{name}_sum{{provider=\"{p}\"}} {}", h.sum_s);
                let _ = writeln!(out, "{name}_count{{provider=\"{p}\"}} {}", h.count);
            }
        });
    }
}

fn counter<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (Vec<(&'a str, &'a str)>, u64)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (labels, value) in rows {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// Appends the store's queue depths as gauges.
pub fn render_depths(out: &mut String, depths: &QueueDepths) {
    let rows: [(&str, &str, u64); 7] = [
        ("inbox", "ready", depths.inbox_ready),
        ("inbox", "delayed", depths.inbox_delayed),
        ("inbox", "leased", depths.inbox_leased),
        ("quarantine", "all", depths.quarantined),
        ("outbox", "pending", depths.outbox_pending),
        ("outbox", "failed", depths.outbox_failed),
        ("outbox", "delivered", depths.outbox_delivered),
    ];
    let name = "nexus_queue_depth";
    let _ = writeln!(
        out,
        "# HELP {name} Rows in the durable queues, by queue and state.\n# TYPE {name} gauge"
    );
    for (queue, state, v) in rows {
        let _ = writeln!(out, "{name}{{queue=\"{queue}\",state=\"{state}\"}} {v}");
    }
    let name = "nexus_outbox_oldest_pending_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Age of the oldest pending delivery.\n# TYPE {name} gauge\n{name} {}",
        depths.oldest_pending_ms as f64 / 1000.0
    );
}

/// Escapes a label value (backslash, quote, newline).
pub fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = IngressMetrics::default();
        m.received("terra");
        m.received("terra");
        m.verified("terra");
        m.rejected("terra", Rejection::Signature);
        m.stored("terra", Duration::from_millis(3));
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("nexus_webhooks_received_total{provider=\"terra\"} 2\n"),
            "{out}"
        );
        assert!(out.contains("nexus_webhooks_verified_total{provider=\"terra\"} 1\n"));
        assert!(out.contains(
            "nexus_webhooks_rejected_total{provider=\"terra\",reason=\"signature\"} 1\n"
        ));
        assert!(
            out.contains("nexus_webhook_ack_seconds_bucket{provider=\"terra\",le=\"0.0025\"} 0\n")
        );
        assert!(
            out.contains("nexus_webhook_ack_seconds_bucket{provider=\"terra\",le=\"0.005\"} 1\n")
        );
        assert!(out.contains("nexus_webhook_ack_seconds_count{provider=\"terra\"} 1\n"));
        assert!(out.contains("# TYPE nexus_webhook_ack_seconds histogram\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
