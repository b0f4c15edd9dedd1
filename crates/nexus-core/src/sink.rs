//! The delivery sink trait (ARCHITECTURE.md): sinks receive envelopes, never provider payloads, and
//! classify each delivery's outcome so the runtime can retry, wait, give up or disable.

use std::time::Duration;

use bytes::Bytes;

use crate::Result;

/// One envelope to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Stable id of this delivery, the same on every attempt (Standard Webhooks `webhook-id`).
    pub id: String,
    /// The envelope's `event_type`, for routing and headers.
    pub event_type: String,
    /// The tenant the envelope belongs to.
    pub tenant_id: String,
    /// 1 on the first attempt.
    pub attempt: u32,
    /// The envelope serialized as JSON, exactly the bytes to send.
    pub body: Bytes,
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver accepted it.
    Delivered,
    /// Failed, may succeed later; `after` is the receiver's requested delay (429 `Retry-After`).
    Retry {
        /// Requested delay, if any.
        after: Option<Duration>,
        /// Why.
        reason: String,
    },
    /// Failed and will fail again: keep as failed, do not retry.
    Permanent {
        /// Why.
        reason: String,
    },
    /// The receiver is gone (`410 Gone`): disable the endpoint, keep the delivery as failed.
    Disable {
        /// Why.
        reason: String,
    },
}

impl DeliveryOutcome {
    /// Classifies an HTTP status from a receiver: 2xx delivered, 410 disable, 408/425/429/5xx
    /// retry (with `retry_after`), any other 4xx permanent, 3xx permanent (redirects are not
    /// followed).
    pub fn from_http_status(status: u16, retry_after: Option<Duration>) -> DeliveryOutcome {
        match status {
            200..=299 => DeliveryOutcome::Delivered,
            410 => DeliveryOutcome::Disable {
                reason: "receiver answered 410 Gone".to_owned(),
            },
            408 | 425 | 429 | 500..=599 => DeliveryOutcome::Retry {
                after: retry_after,
                reason: format!("receiver answered HTTP {status}"),
            },
            300..=399 => DeliveryOutcome::Permanent {
                reason: format!(
                    "receiver answered a redirect (HTTP {status}); redirects are not followed"
                ),
            },
            _ => DeliveryOutcome::Permanent {
                reason: format!("receiver answered HTTP {status}"),
            },
        }
    }
}

/// A delivery sink. Registered with [`crate::register_sink!`], built from its configuration.
#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    /// The sink kind (`webhook`, `jsonl`, `stdout`).
    fn kind(&self) -> &str;

    /// Delivers a batch; returns one outcome per delivery, in order.
    async fn deliver(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome>;
}

/// A sink kind: its name and how to build one from its JSON configuration (the `[[sinks]]` table of
/// `nexus.toml`, as JSON).
pub struct SinkFactory {
    /// The kind (`webhook`).
    pub kind: &'static str,
    /// One line on what it does.
    pub description: &'static str,
    /// Builds a sink from its configuration.
    pub build: fn(&serde_json::Value) -> Result<Box<dyn Sink>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify() {
        assert_eq!(
            DeliveryOutcome::from_http_status(204, None),
            DeliveryOutcome::Delivered
        );
        assert!(matches!(
            DeliveryOutcome::from_http_status(410, None),
            DeliveryOutcome::Disable { .. }
        ));
        assert!(matches!(
            DeliveryOutcome::from_http_status(429, Some(Duration::from_secs(3))),
            DeliveryOutcome::Retry { after: Some(d), .. } if d == Duration::from_secs(3)
        ));
        assert!(matches!(
            DeliveryOutcome::from_http_status(503, None),
            DeliveryOutcome::Retry { .. }
        ));
        assert!(matches!(
            DeliveryOutcome::from_http_status(400, None),
            DeliveryOutcome::Permanent { .. }
        ));
        assert!(matches!(
            DeliveryOutcome::from_http_status(301, None),
            DeliveryOutcome::Permanent { .. }
        ));
    }
}
