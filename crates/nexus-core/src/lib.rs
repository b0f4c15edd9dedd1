//! # nexus-core
//!
//! Types and traits of Nexus, the SDK and gateway for wearable health data: the event
//! [`Envelope`] and every item type of the Nexus event format (schema 1.1), identity
//! ([`identity::source_id`]), the pure dedupe/revision engine ([`dedupe`]), timeseries chunking
//! ([`chunking`]), unit and time helpers ([`units`], [`time`]), the provider [`Adapter`] and
//! delivery [`Sink`] traits with their compile-time [`registry`], and the one [`Error`] type.
//!
//! No I/O runtime lives here: adapters reach the network through [`http::HttpClient`], which the
//! runtime implements.
#![deny(missing_docs)]

pub mod adapter;
pub mod chunking;
pub mod dedupe;
pub mod envelope;
mod error;
mod event_type;
pub mod http;
pub mod identity;
mod item;
pub mod items;
pub mod registry;
pub mod schema;
pub mod sink;
#[cfg(test)]
mod testdata;
pub mod time;
pub mod units;

pub use adapter::{
    Adapter, AdapterDescriptor, FetchContext, HandshakeResponse, InboundRequest, Ingestion,
    NormalizeContext, Normalized, NormalizedItem, Notification, NotificationAction, RawRecord,
    Secrets,
};
pub use envelope::{Device, Envelope, Recipient, SCHEMA_VERSION, Source};
pub use error::{Error, ErrorKind, ErrorStatus, Result};
pub use event_type::{EventType, Stream};
pub use item::{CaptureMode, DATA_VERSION, Item, ItemBody};
pub use sink::{Delivery, DeliveryOutcome, Sink, SinkFactory};

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
