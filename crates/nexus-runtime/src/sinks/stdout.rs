//! The `stdout` sink: writes each envelope as one JSON line to standard output, flushed per batch.
//! For trying the gateway out and for piping into other tools.

use std::io::Write as _;

use nexus_core::{Delivery, DeliveryOutcome, Result, Sink, SinkFactory};

/// Writes envelopes to stdout.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutSink;

#[async_trait::async_trait]
impl Sink for StdoutSink {
    fn kind(&self) -> &str {
        "stdout"
    }

    async fn deliver(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        let mut buf = Vec::new();
        for d in batch {
            buf.extend_from_slice(&d.body);
            buf.push(b'\n');
        }
        let mut out = std::io::stdout().lock();
        let outcome = match out.write_all(&buf).and_then(|()| out.flush()) {
            Ok(()) => DeliveryOutcome::Delivered,
            Err(e) => DeliveryOutcome::Retry {
                after: None,
                reason: format!("writing to stdout failed: {e}"),
            },
        };
        vec![outcome; batch.len()]
    }
}

fn build(_config: &serde_json::Value) -> Result<Box<dyn Sink>> {
    Ok(Box::new(StdoutSink))
}

/// The `stdout` sink kind.
pub static STDOUT: SinkFactory = SinkFactory {
    kind: "stdout",
    description: "write each envelope as a JSON line to standard output",
    build,
};
nexus_core::register_sink!(STDOUT);
