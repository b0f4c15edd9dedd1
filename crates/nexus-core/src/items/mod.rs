//! The type-specific fields of every item type (EVENTS.md sections 4 and 5).
//!
//! Every field is present in the JSON of its type; a value the provider does not supply is `null`
//! (the nullability rule). Units live in the field names.

mod aggregate;
mod profile;
mod session;
mod snapshot;
mod timeseries;

pub use aggregate::{DailyReadiness, DailySummary, Flow, Menstruation, Nutrition};
pub use profile::{Connection, ConnectionStatus, Deletion, Profile, Sync, SyncStatus};
pub use session::{Activity, ActivityType, HeartRateZone, Sleep, SleepStage, SleepStageKind};
pub use snapshot::{BloodPressure, BodyMeasurement};
pub use timeseries::{
    Sample, StressChunk, TemperatureChunk, TemperatureKind, TimeseriesChunk, Values,
};
