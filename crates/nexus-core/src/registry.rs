//! Compile-time registration of adapters and sinks (`inventory`). Adapter crates call
//! [`register_adapter!`](crate::register_adapter) and never name `inventory` themselves.
//!
//! A registration is only seen when its crate is linked into the binary: a crate nothing refers to
//! is dropped silently. The workspace keeps a generated list of adapter crates that the `nexus`
//! binary and the conformance harness link, and a test that it matches `adapters/*`.

use crate::adapter::Adapter;
use crate::sink::SinkFactory;

/// One registered adapter.
pub struct AdapterRegistration {
    /// The adapter.
    pub adapter: &'static dyn Adapter,
}

/// One registered sink kind.
pub struct SinkRegistration {
    /// The factory.
    pub factory: &'static SinkFactory,
}

inventory::collect!(AdapterRegistration);
inventory::collect!(SinkRegistration);

/// Every registered adapter, sorted by id.
pub fn adapters() -> Vec<&'static dyn Adapter> {
    let mut all: Vec<&'static dyn Adapter> = inventory::iter::<AdapterRegistration>
        .into_iter()
        .map(|r| r.adapter)
        .collect();
    all.sort_by_key(|a| a.descriptor().id);
    all
}

/// The adapter registered under `id`.
pub fn adapter(id: &str) -> Option<&'static dyn Adapter> {
    inventory::iter::<AdapterRegistration>
        .into_iter()
        .map(|r| r.adapter)
        .find(|a| a.descriptor().id == id)
}

/// Every registered sink kind, sorted by kind.
pub fn sinks() -> Vec<&'static SinkFactory> {
    let mut all: Vec<&'static SinkFactory> = inventory::iter::<SinkRegistration>
        .into_iter()
        .map(|r| r.factory)
        .collect();
    all.sort_by_key(|f| f.kind);
    all
}

/// The sink kind registered as `kind`.
pub fn sink(kind: &str) -> Option<&'static SinkFactory> {
    inventory::iter::<SinkRegistration>
        .into_iter()
        .map(|r| r.factory)
        .find(|f| f.kind == kind)
}

/// Registers an adapter value (a constant expression, typically a unit struct):
///
/// ```ignore
/// pub struct OuraAdapter;
/// nexus_core::register_adapter!(OuraAdapter);
/// ```
#[macro_export]
macro_rules! register_adapter {
    ($adapter:expr) => {
        $crate::__private::inventory::submit! {
            $crate::registry::AdapterRegistration { adapter: &$adapter }
        }
    };
}

/// Registers a sink factory (a `static` [`SinkFactory`](crate::sink::SinkFactory)):
///
/// ```ignore
/// static WEBHOOK: SinkFactory = SinkFactory { kind: "webhook", description: "...", build };
/// nexus_core::register_sink!(WEBHOOK);
/// ```
#[macro_export]
macro_rules! register_sink {
    ($factory:expr) => {
        $crate::__private::inventory::submit! {
            $crate::registry::SinkRegistration { factory: &$factory }
        }
    };
}
