//! The fetched workout stream -> `heart_rate_series` and `distance_series` chunks.
//!
//! The record is `{"event": <the webhook body as received>, "stream": <the REST response as
//! received>}` (built by [`crate::fetch`] from the raw bytes), so the chunks know the user and the
//! source. The stream's arrays run parallel to `time` (unix seconds).
//!
//! - `heartrate[i]` (bpm) -> a `heart_rate_series` sample at `time[i]`;
//! - `distance[i]` is cumulative metres since the start: each step `i-1 -> i` becomes a
//!   `distance_series` interval sample at `time[i-1]`, `duration_s = time[i] - time[i-1]`,
//!   `m = distance[i] - distance[i-1]` (the same distance, re-expressed per interval); a decrease
//!   is refused as malformed;
//! - the other streams (speed, altitude, cadence, power, position, resistance, temperature) have no
//!   Nexus type and are not mapped.
//!
//! Chunks of a stream belong to its workout: the device part of the native id is
//! `<slug>:<source type>:workout:<workout_id>`, so they never merge with the all-day series of the
//! same device (Junction excludes workout streams from the timeseries compound key).

use nexus_core::chunking::{SeriesSpec, chunk_samples};
use nexus_core::items::Sample;
use nexus_core::time::epoch_s_to_ms;
use nexus_core::{Error, EventType, Normalized, Result};
use serde_json::Value;

use super::{event_user_id, parse_json};
use crate::PROVIDER;
use crate::fields::{Obj, object_at, tidy};
use crate::source::SourceInfo;

/// `RawRecord::kind` of a fetched stream.
pub(crate) const RECORD_KIND: &str = "workout_stream";

/// Workout ids go into a URL path and a native id: letters, digits, `-`, `_` only.
pub(crate) fn check_workout_id(field: &str, id: &str) -> Result<()> {
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
            format!("expected a workout id, got {id:?}"),
        ))
    }
}

/// One stream array, as numbers or nulls, checked to be as long as `time`.
fn column(stream: &Obj<'_>, key: &str, len: usize) -> Result<Option<Vec<Option<f64>>>> {
    let Some(arr) = stream.arr_opt(key)? else {
        return Ok(None);
    };
    if arr.len() != len {
        return Err(Error::malformed(
            PROVIDER,
            stream.path_of(key),
            format!("has {} values but `time` has {len}", arr.len()),
        ));
    }
    arr.iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Null => Ok(None),
            Value::Number(n) => match n.as_f64() {
                Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
                _ => Err(Error::malformed(
                    PROVIDER,
                    format!("{}[{i}]", stream.path_of(key)),
                    "expected a number >= 0",
                )),
            },
            _ => Err(Error::malformed(
                PROVIDER,
                format!("{}[{i}]", stream.path_of(key)),
                "expected a number or null",
            )),
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

pub(crate) fn normalize(body: &[u8]) -> Result<Normalized> {
    let value = parse_json(body, "$")?;
    let root = object_at(&value, "")?;
    let event = root.obj_req("event")?;
    let user_id = event_user_id(&event)?;
    let data = event.obj_req("data")?;
    let workout_id = data.str_req("workout_id")?;
    check_workout_id(&data.path_of("workout_id"), workout_id)?;
    let source = SourceInfo::from_data(&data)?;
    let stream = root.obj_req("stream")?;

    let times = stream.arr_req("time")?;
    let mut ts = Vec::with_capacity(times.len());
    for (i, v) in times.iter().enumerate() {
        let field = format!("{}[{i}]", stream.path_of("time"));
        let secs = v
            .as_f64()
            .ok_or_else(|| Error::malformed(PROVIDER, &field, "expected unix seconds"))?;
        let ms = epoch_s_to_ms(PROVIDER, &field, secs)?;
        if ts.last().is_some_and(|prev| *prev >= ms) {
            return Err(Error::malformed(PROVIDER, field, "times must increase"));
        }
        ts.push(ms);
    }

    let mut heart = Vec::new();
    if let Some(hr) = column(&stream, "heartrate", ts.len())? {
        heart = ts
            .iter()
            .zip(hr)
            .filter_map(|(t, v)| v.map(|b| Sample::one(*t, b)))
            .collect();
    }
    let mut distance = Vec::new();
    if let Some(d) = column(&stream, "distance", ts.len())? {
        for i in 1..ts.len() {
            let (Some(a), Some(b)) = (d[i - 1], d[i]) else {
                continue;
            };
            if b < a {
                return Err(Error::malformed(
                    PROVIDER,
                    format!("{}[{i}]", stream.path_of("distance")),
                    format!("cumulative distance decreases from {a} to {b}"),
                ));
            }
            // Two instants within 1900-2200: the difference is far below 2^53 ms.
            #[allow(clippy::cast_precision_loss)] // exact for these magnitudes
            let dur = (ts[i] - ts[i - 1]) as f64 / 1000.0;
            distance.push(Sample::interval(ts[i - 1], Some(dur), tidy(b - a)));
        }
    }

    let key = format!("{}:workout:{workout_id}", source.device_key());
    let mut out = Normalized::default();
    for (event_type, samples) in [
        (EventType::HeartRateSeries, heart),
        (EventType::DistanceSeries, distance),
    ] {
        let spec = SeriesSpec {
            provider: PROVIDER,
            event_type,
            provider_user_id: user_id,
            device_native_id: Some(&key),
            device_id: Some(source.device_id()),
            resolution_s: None,
            capture_mode: source.capture_mode(),
            day_complete: None,
        };
        for item in chunk_samples(&spec, samples) {
            out.push(item);
        }
    }
    if !out.items.is_empty() {
        out.add_device(source.device());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wrap(stream: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "event": {"event_type": "daily.data.workout_stream.created", "user_id": "u1",
                "data": {"user_id": "u1", "workout_id": "w-1", "provider_id": "p",
                         "source": {"provider": "garmin", "type": "watch"}}},
            "stream": stream
        }))
        .unwrap()
    }

    // 2024-03-10T12:00:00Z in seconds
    const S: i64 = 1_710_072_000;

    #[test]
    fn heart_rate_and_cumulative_distance_become_chunks() {
        let n = normalize(&wrap(json!({
            "time": [S, S + 5, S + 10, S + 900],
            "heartrate": [100, null, 110, 120],
            "distance": [0.0, 12.5, 25.5, 2000.0],
            "velocity_smooth": [0, 2.5, 2.6, 2.2]
        })))
        .unwrap();
        let summary: Vec<_> = n
            .items
            .iter()
            .map(|i| {
                (
                    i.item.event_type(),
                    i.item.body.chunk().unwrap().samples.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (EventType::HeartRateSeries, 2),
                (EventType::HeartRateSeries, 1),
                (EventType::DistanceSeries, 3),
            ]
        );
        let d = n.items[2].item.body.chunk().unwrap();
        assert_eq!(d.samples[1].values.to_vec(), vec![Some(5.0), Some(13.0)]);
        assert_eq!(
            d.samples[2].values.to_vec(),
            vec![Some(890.0), Some(1974.5)]
        );
        assert_eq!(
            n.items[0].item.provider_ref,
            format!("u1:garmin:watch:workout:w-1:{}", S * 1000)
        );
        assert_eq!(n.devices.len(), 1);
    }

    #[test]
    fn broken_streams_are_refused_with_the_field() {
        let e = normalize(&wrap(json!({"time": [S, S + 5], "heartrate": [100]}))).unwrap_err();
        assert_eq!(e.field(), Some("stream.heartrate"));
        let e = normalize(&wrap(json!({"time": [S, S], "heartrate": [100, 101]}))).unwrap_err();
        assert_eq!(e.field(), Some("stream.time[1]"));
        let e = normalize(&wrap(json!({"time": [S, S + 5], "distance": [10, 9]}))).unwrap_err();
        assert_eq!(e.field(), Some("stream.distance[1]"));
        let e = normalize(&wrap(json!({"heartrate": [1]}))).unwrap_err();
        assert_eq!(e.field(), Some("stream.time"));
    }
}
