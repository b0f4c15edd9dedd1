//! The delivery dispatcher: claims a sink's due outbox rows in batches, hands them to the sink and
//! records each outcome. Every outbox row belongs to one (tenant, sink) and is claimed only by that
//! sink's dispatcher, so a tenant's envelopes reach only its own sinks.
//!
//! Outcomes: `Delivered` -> delivered; `Retry` -> the next slot of the published schedule
//! ([`crate::retry`]), `Retry-After` honoured, or failed when the schedule is exhausted;
//! `Permanent` -> failed; `Disable` (`410 Gone`) -> failed and the sink disabled until re-enabled.
//! Failed rows are kept and can be retried by command. `webhook-id` is the row's delivery id, the
//! same on every attempt.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nexus_core::{Delivery, DeliveryOutcome, Sink};

use crate::runtime::{Inner, now_ms};
use crate::store::{ClaimedDelivery, DeliveryAttempt, DeliveryNext, DeliveryResult, SinkRef};

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) async fn dispatcher_loop(inner: Arc<Inner>, sink_ref: SinkRef) {
    let Some(sink) = inner.sinks.get(&sink_ref).cloned() else {
        return;
    };
    let mut shutdown = inner.shutdown.subscribe();
    let lease_ms = ms(Duration::from_secs(
        inner.config.workers.delivery_lease_secs,
    ));
    let batch = inner.config.delivery.batch_size.max(1);
    loop {
        if *shutdown.borrow() {
            break;
        }
        let claimed = match inner
            .store
            .claim_deliveries(&sink_ref, batch, lease_ms, now_ms())
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(sink = %sink_ref, error = %e, "claiming deliveries failed");
                tokio::time::sleep(inner.poll_interval()).await;
                continue;
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                () = inner.outbox_wake.notified() => {}
                () = tokio::time::sleep(inner.poll_interval()) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        deliver_batch(&inner, &sink_ref, sink.as_ref(), claimed).await;
    }
}

pub(crate) async fn deliver_batch(
    inner: &Inner,
    sink_ref: &SinkRef,
    sink: &dyn Sink,
    claimed: Vec<ClaimedDelivery>,
) {
    let deliveries: Vec<Delivery> = claimed
        .iter()
        .map(|c| Delivery {
            id: c.row.delivery_id.clone(),
            event_type: c.row.event_type.clone(),
            tenant_id: c.row.sink.tenant_id.clone(),
            attempt: c.row.attempts + 1,
            body: c.row.body.clone(),
        })
        .collect();
    let at = now_ms();
    let started = Instant::now();
    let outcomes = sink.deliver(&deliveries).await;
    let took = started.elapsed();
    inner.metrics.observe("delivery_seconds", took);
    let sink_label = sink_ref.to_string();
    let mut results = Vec::with_capacity(claimed.len());
    let mut disabled = None;
    for (i, c) in claimed.iter().enumerate() {
        let outcome = outcomes.get(i).cloned().unwrap_or(DeliveryOutcome::Retry {
            after: None,
            reason: "the sink returned no outcome for this delivery".into(),
        });
        let attempts_made = c.row.attempts + 1;
        let (label, error, next) = match outcome {
            DeliveryOutcome::Delivered => ("delivered", None, DeliveryNext::Delivered),
            DeliveryOutcome::Retry { after, reason } => {
                match inner
                    .policy
                    .next_delay(attempts_made, after, after.is_some())
                {
                    Some(d) => (
                        "retry",
                        Some(reason),
                        DeliveryNext::RetryAt(now_ms() + ms(d)),
                    ),
                    None => (
                        "failed",
                        Some(format!(
                            "retries exhausted after {attempts_made} attempts: {reason}"
                        )),
                        DeliveryNext::Failed,
                    ),
                }
            }
            DeliveryOutcome::Permanent { reason } => ("failed", Some(reason), DeliveryNext::Failed),
            DeliveryOutcome::Disable { reason } => {
                disabled = Some(reason.clone());
                ("disabled", Some(reason), DeliveryNext::FailedAndDisableSink)
            }
        };
        inner.metrics.add(
            "deliveries_total",
            &[("sink", &sink_label), ("outcome", label)],
            1,
        );
        if matches!(next, DeliveryNext::Delivered) {
            inner.metrics.observe(
                "outbox_to_delivered_seconds",
                Duration::from_millis(u64::try_from(now_ms() - c.row.created_at).unwrap_or(0)),
            );
        }
        results.push(DeliveryResult {
            delivery_id: c.row.delivery_id.clone(),
            token: c.lease.token.clone(),
            attempt: DeliveryAttempt {
                delivery_id: c.row.delivery_id.clone(),
                attempt: attempts_made,
                at,
                duration_ms: ms(took),
                outcome: label.to_owned(),
                error,
            },
            next,
        });
    }
    if let Some(reason) = disabled {
        tracing::warn!(sink = %sink_ref, %reason, "sink disabled; its deliveries wait until it is re-enabled");
    }
    if let Err(e) = inner.store.record_deliveries(results).await {
        tracing::error!(sink = %sink_ref, error = %e, "recording delivery outcomes failed; the rows will be retried when their lease expires");
    }
}
