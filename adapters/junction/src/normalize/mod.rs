//! Raw Junction records -> Nexus items: one file per Junction data type.

mod body;
mod connection;
mod daily_activity;
mod meal;
mod menstrual_cycle;
mod profile;
mod sleep;
mod sync;
mod timeseries;
mod workout;
pub(crate) mod workout_stream;

use nexus_core::{Error, Item, NormalizeContext, Normalized, RawRecord, Result};
use serde_json::Value;

use crate::PROVIDER;
use crate::event::{Event, Summary, classify};
use crate::fields::{Obj, object_at};
use crate::source::SourceInfo;

/// Parses raw bytes as JSON, naming `what` on failure.
pub(crate) fn parse_json(bytes: &[u8], what: &str) -> Result<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::malformed(PROVIDER, what, format!("not valid JSON ({e})")))
}

/// Junction user ids (UUIDs) are part of composed native ids joined by `:`; anything that could
/// make two keys collide is refused.
pub(crate) fn check_user_id(field: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(
            PROVIDER,
            field,
            format!("expected a Junction user id, got {id:?}"),
        ))
    }
}

/// The subject of an event: Junction's user id (top-level `user_id`).
pub(crate) fn event_user_id<'a>(root: &Obj<'a>) -> Result<&'a str> {
    let id = root.str_req("user_id")?;
    check_user_id(&root.path_of("user_id"), id)?;
    Ok(id)
}

/// Normalizes one raw record (a webhook body, or a fetched workout stream).
pub(crate) fn normalize(record: &RawRecord, _ctx: &NormalizeContext) -> Result<Normalized> {
    if record.kind == workout_stream::RECORD_KIND {
        return workout_stream::normalize(&record.body);
    }
    let (event, _) = classify(&record.kind)?;
    let value = parse_json(&record.body, "$")?;
    let root = object_at(&value, "")?;
    let user_id = event_user_id(&root)?;
    let data = root.obj_req("data")?;
    match event {
        Event::Summary(s) => {
            let summary = SummaryRecord::read(&data)?;
            match s {
                Summary::Activity => daily_activity::normalize(&summary, &data),
                Summary::Sleep => sleep::normalize(&summary, &data),
                Summary::Workouts => workout::normalize(&summary, &data),
                Summary::Body => body::normalize(&summary, &data),
                Summary::Profile => profile::normalize(&summary, &data, user_id),
                Summary::Meal => meal::normalize(&summary, &data),
                Summary::MenstrualCycle => menstrual_cycle::normalize(&summary, &data),
            }
        }
        Event::Series(s) => timeseries::normalize(s, user_id, &data),
        Event::Historical(resource) => sync::normalize(&resource, user_id, &data),
        Event::ConnectionCreated => connection::created(user_id, &data),
        Event::ConnectionError => connection::error(user_id, &data),
        // The shallow event carries no samples: the stream arrives through fetch.
        Event::WorkoutStream | Event::Ignored => Ok(Normalized::default()),
    }
}

/// What every summary record has: its id, source and modification time.
pub(crate) struct SummaryRecord {
    /// `$.data.id`, the native id.
    pub id: String,
    pub source: SourceInfo,
    /// `updated_at`, epoch ms: an older version than the stored one is dropped as stale.
    pub version: Option<i64>,
}

impl SummaryRecord {
    fn read(data: &Obj<'_>) -> Result<SummaryRecord> {
        let id = data.str_req("id")?;
        if id.trim().is_empty() {
            return Err(Error::malformed(
                PROVIDER,
                data.path_of("id"),
                "the summary id is empty",
            ));
        }
        Ok(SummaryRecord {
            id: id.to_owned(),
            source: SourceInfo::from_data(data)?,
            version: data.time_opt("updated_at")?.map(|t| t.epoch_ms),
        })
    }

    /// Adds `item` attributed to this summary's source.
    pub(crate) fn push(&self, out: &mut Normalized, item: Item) {
        let item = item
            .with_device(Some(self.source.device_id()))
            .with_capture_mode(self.source.capture_mode());
        out.add_device(self.source.device());
        out.push_versioned(item, self.version);
    }
}
