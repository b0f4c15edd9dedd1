//! # nexus-runtime
//!
//! The Nexus pipeline on tokio: verified requests enter the durable inbox, workers parse, fetch,
//! archive and normalize them, the dedupe stage and the outbox are written in one transaction, and
//! the dispatcher delivers envelopes to each tenant's own sinks, at least once.
//!
//! - [`store`]: the [`Store`] trait every backend implements (SQLite in `nexus-store-sqlite`);
//! - [`crypto`]: connection tokens are encrypted before any store sees them.

pub mod crypto;
pub mod store;

pub use crypto::{TokenCipher, Tokens};
pub use store::Store;
