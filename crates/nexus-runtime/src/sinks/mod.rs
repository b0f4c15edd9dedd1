//! The sinks that live in the runtime because they need nothing beyond std: [`jsonl`] (append
//! envelopes to a file) and [`stdout`]. Both are registered with `nexus_core::register_sink!`.

pub mod jsonl;
pub mod stdout;
