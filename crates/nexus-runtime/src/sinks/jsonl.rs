//! The `jsonl` sink: appends each envelope as one JSON line to a file, and flushes and fsyncs once
//! per batch before reporting the batch delivered.
//!
//! ```toml
//! [tenants.default.sinks.jsonl]
//! kind = "jsonl"
//! path = "./nexus-data/envelopes.jsonl"
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nexus_core::{Delivery, DeliveryOutcome, Error, ErrorKind, Result, Sink, SinkFactory};

/// Appends envelopes to a file, one per line.
#[derive(Debug, Clone)]
pub struct JsonlSink {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

impl JsonlSink {
    /// Opens (creating it and its directory if needed) the file at `path` for appending.
    pub fn open(path: &Path) -> Result<JsonlSink> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("jsonl sink: cannot create {}", dir.display()),
                )
                .with_source(e)
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("jsonl sink: cannot open {}", path.display()),
                )
                .with_source(e)
            })?;
        Ok(JsonlSink {
            path: path.to_owned(),
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_batch(&self, batch: &[Delivery]) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for d in batch {
            buf.extend_from_slice(&d.body);
            buf.push(b'\n');
        }
        // A poisoned lock means a panic mid-write elsewhere; the file handle itself is still fine.
        let mut f = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.write_all(&buf)?;
        f.flush()?;
        f.sync_data()
    }
}

#[async_trait::async_trait]
impl Sink for JsonlSink {
    fn kind(&self) -> &str {
        "jsonl"
    }

    async fn deliver(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        let this = self.clone();
        let owned = batch.to_vec();
        let result = tokio::task::spawn_blocking(move || this.write_batch(&owned)).await;
        let outcome = match result {
            Ok(Ok(())) => DeliveryOutcome::Delivered,
            Ok(Err(e)) => DeliveryOutcome::Retry {
                after: None,
                reason: format!("writing {} failed: {e}", self.path.display()),
            },
            Err(e) => DeliveryOutcome::Retry {
                after: None,
                reason: format!("jsonl writer task failed: {e}"),
            },
        };
        vec![outcome; batch.len()]
    }
}

fn build(config: &serde_json::Value) -> Result<Box<dyn Sink>> {
    let path = config.get("path").and_then(|p| p.as_str()).ok_or_else(|| {
        Error::new(ErrorKind::Config, "jsonl sink needs `path`").with_field("path")
    })?;
    Ok(Box::new(JsonlSink::open(Path::new(path))?))
}

/// The `jsonl` sink kind.
pub static JSONL: SinkFactory = SinkFactory {
    kind: "jsonl",
    description: "append each envelope as a JSON line to a file (fsynced per batch)",
    build,
};
nexus_core::register_sink!(JSONL);

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn delivery(id: &str, body: &str) -> Delivery {
        Delivery {
            id: id.into(),
            event_type: "sleep".into(),
            tenant_id: "t".into(),
            attempt: 1,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[tokio::test]
    async fn appends_lines_across_batches_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.jsonl");
        let cfg = serde_json::json!({"kind": "jsonl", "path": path.to_str().unwrap()});
        let sink = (nexus_core::registry::sink("jsonl").unwrap().build)(&cfg).unwrap();
        let out = sink
            .deliver(&[delivery("a", "{\"n\":1}"), delivery("b", "{\"n\":2}")])
            .await;
        assert_eq!(out, vec![DeliveryOutcome::Delivered; 2]);
        drop(sink);
        let sink = JsonlSink::open(&path).unwrap();
        sink.deliver(&[delivery("c", "{\"n\":3}")]).await;
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    }

    #[test]
    fn path_is_required() {
        assert!(build(&serde_json::json!({"kind": "jsonl"})).is_err());
    }
}
