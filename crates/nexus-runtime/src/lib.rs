//! # nexus-runtime
//!
//! The Nexus pipeline on tokio: verified requests enter the durable inbox, workers parse, fetch,
//! archive and normalize them, the dedupe stage and the outbox are written in one transaction, and
//! the dispatcher delivers envelopes to each tenant's own sinks, at least once.
//!
//! - [`store`]: the [`Store`] trait every backend implements (SQLite in `nexus-store-sqlite`);
//! - [`runtime`]: [`Runtime`], the handle the server and CLI use (ingest, enqueue, connect,
//!   readiness, metrics, replay, retry of failed deliveries);
//! - [`config`]: the `nexus.toml` model and its environment overrides;
//! - `pipeline` (ingest workers), `dispatch` (delivery), [`retry`] (the published schedule),
//!   [`ratelimit`] (provider pacing), [`replay`];
//! - [`crypto`]: connection tokens are encrypted before any store sees them;
//! - [`metrics`]: counters, histograms and queue gauges as Prometheus text;
//! - [`sinks`]: the `jsonl` and `stdout` sinks.

pub mod config;
pub mod crypto;
mod dispatch;
pub mod metrics;
mod oauth;
mod pipeline;
pub mod ratelimit;
pub mod replay;
pub mod retry;
pub mod runtime;
pub mod sinks;
pub mod store;
#[cfg(feature = "store-suite")]
pub mod store_suite;

pub use config::Config;
pub use crypto::{TokenCipher, Tokens};
pub use metrics::Metrics;
pub use replay::ReplayReport;
pub use retry::RetryPolicy;
pub use runtime::{IngestOutcome, NewConnection, Readiness, Runtime, RuntimeBuilder, now_ms};
pub use store::Store;
