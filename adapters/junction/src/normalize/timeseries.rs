//! Timeseries batches (`$.data.data[]`) -> 15-minute chunks, or snapshot items for the resources
//! Nexus has no series type for (blood pressure, weight, fat).
//!
//! A sample is identified by Junction's compound key (resource type, source provider, Source Type,
//! timestamp). In Nexus that becomes (event type, provider `junction`, device, `ts`): the device
//! native key is `<source slug>:<Source Type>`, where the Source Type is the sample's own `type`
//! when it has one, else `$.data.source.type`, else `unknown`. So the chunk native id is
//! `<user_id>:<slug>:<source type>:<window_start>` (`temperature_series` appends `:body` or
//! `:deviation`, since two Junction resources feed it), and the snapshot native id is
//! `<user_id>:<resource>:<slug>:<source type>:<timestamp ms>`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use nexus_core::chunking::{SeriesSpec, chunk_samples};
use nexus_core::items::{BloodPressure, BodyMeasurement, Sample, TemperatureKind};
use nexus_core::units::{
    fahrenheit_delta_to_c, fahrenheit_to_c, kj_to_kcal, km_to_m, lbs_to_kg, mmol_l_to_mg_dl,
};
use nexus_core::{Error, ErrorKind, EventType, Item, ItemBody, Normalized, Result};

use crate::PROVIDER;
use crate::event::Series;
use crate::fields::{Obj, elem_at, tidy};
use crate::source::SourceInfo;

fn bad_unit(s: &Obj<'_>, expected: &str, got: &str) -> Error {
    Error::malformed(
        PROVIDER,
        s.path_of("unit"),
        format!("expected {expected}, got {got:?}"),
    )
}

fn in_range(s: &Obj<'_>, v: f64, lo: f64, hi: f64) -> Result<f64> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(Error::malformed(
            PROVIDER,
            s.path_of("value"),
            format!("expected {lo}-{hi}, got {v}"),
        ))
    }
}

/// The sample's unit, lowercased; `None` means the resource's documented unit.
fn unit<'a>(s: &Obj<'a>) -> Result<Option<Cow<'a, str>>> {
    s.lower_str_opt("unit")
}

/// Temperatures in Celsius; `delta` converts a Fahrenheit difference rather than a reading.
fn celsius(s: &Obj<'_>, v: f64, delta: bool) -> Result<f64> {
    match unit(s)?.as_deref() {
        None | Some("°c" | "c" | "celsius") => Ok(v),
        Some("°f" | "f" | "fahrenheit") => Ok(tidy(if delta {
            fahrenheit_delta_to_c(v)
        } else {
            fahrenheit_to_c(v)
        })),
        Some(u) => Err(bad_unit(s, "°C", u)),
    }
}

/// The Nexus event type and the value in its unit, for a resource that becomes chunks.
fn chunk_value(series: Series, s: &Obj<'_>) -> Result<(EventType, f64)> {
    let v = s.f64_req("value")?;
    let u = unit(s)?;
    let u = u.as_deref();
    let nonneg = |v: f64| in_range(s, v, 0.0, f64::MAX);
    Ok(match series {
        Series::HeartRate => match u {
            None | Some("bpm") => (EventType::HeartRateSeries, nonneg(v)?),
            Some(u) => return Err(bad_unit(s, "bpm", u)),
        },
        // RMSSD and SDNN are never mixed: each goes to its own type.
        Series::Hrv => match u {
            None | Some("rmssd") => (EventType::HrvRmssdSeries, nonneg(v)?),
            Some("sdnn") => (EventType::HrvSdnnSeries, nonneg(v)?),
            Some(u) => return Err(bad_unit(s, "rmssd or sdnn", u)),
        },
        Series::Steps => match u {
            None | Some("count") => (EventType::StepsSeries, nonneg(v)?),
            Some(u) => return Err(bad_unit(s, "count", u)),
        },
        Series::CaloriesActive => match u {
            None | Some("kcal") => (EventType::CaloriesSeries, nonneg(v)?),
            Some("kj") => (EventType::CaloriesSeries, tidy(kj_to_kcal(nonneg(v)?))),
            Some(u) => return Err(bad_unit(s, "kcal", u)),
        },
        Series::Distance => match u {
            None | Some("m") => (EventType::DistanceSeries, nonneg(v)?),
            Some("km") => (EventType::DistanceSeries, tidy(km_to_m(nonneg(v)?))),
            Some(u) => return Err(bad_unit(s, "m", u)),
        },
        Series::Glucose => match u {
            None | Some("mmol/l") => (EventType::GlucoseSeries, tidy(mmol_l_to_mg_dl(nonneg(v)?))),
            Some("mg/dl") => (EventType::GlucoseSeries, nonneg(v)?),
            Some(u) => return Err(bad_unit(s, "mmol/L or mg/dL", u)),
        },
        Series::BloodOxygen => match u {
            None | Some("%") => (EventType::Spo2Series, in_range(s, v, 0.0, 100.0)?),
            Some(u) => return Err(bad_unit(s, "%", u)),
        },
        Series::RespiratoryRate => match u {
            None | Some("bpm" | "brpm" | "breaths/min") => {
                (EventType::RespirationSeries, nonneg(v)?)
            }
            Some(u) => return Err(bad_unit(s, "bpm (breaths per minute)", u)),
        },
        Series::BodyTemperature => (EventType::TemperatureSeries, celsius(s, v, false)?),
        Series::BodyTemperatureDelta => (EventType::TemperatureSeries, celsius(s, v, true)?),
        // Junction documents stress as a percentage 0-100; the unit string is not standardised.
        Series::StressLevel => (EventType::StressSeries, in_range(s, v, 0.0, 100.0)?),
        Series::BloodPressure | Series::Weight | Series::Fat => {
            return Err(
                Error::new(ErrorKind::Internal, "snapshot resource routed to chunks")
                    .with_provider(PROVIDER),
            );
        }
    })
}

fn is_interval(series: Series) -> bool {
    matches!(
        series,
        Series::Steps | Series::CaloriesActive | Series::Distance
    )
}

/// A chunk sample: point samples at `timestamp`; interval samples at `start` (else `timestamp`)
/// with `duration_s` from `end` when given.
fn sample(series: Series, s: &Obj<'_>, value: f64) -> Result<Sample> {
    if !is_interval(series) {
        return Ok(Sample::one(s.time_ms_req("timestamp")?, value));
    }
    let start = match s.time_ms_opt("start")? {
        Some(t) => t,
        None => s.time_ms_req("timestamp")?,
    };
    let duration_s = match s.time_ms_opt("end")? {
        None => None,
        Some(end) if end >= start => {
            // A difference of two instants within 1900-2200: far below 2^53 ms.
            #[allow(clippy::cast_precision_loss)] // exact for these magnitudes
            let d = (end - start) as f64 / 1000.0;
            Some(d)
        }
        Some(_) => {
            return Err(Error::malformed(
                PROVIDER,
                s.path_of("end"),
                "the interval ends before it starts",
            ));
        }
    };
    Ok(Sample::interval(start, duration_s, value))
}

fn snapshot_native(user_id: &str, series: Series, src: &SourceInfo, ts: i64) -> String {
    format!("{user_id}:{}:{}:{ts}", series.resource(), src.device_key())
}

fn snapshot_body(series: Series, s: &Obj<'_>) -> Result<ItemBody> {
    let u = unit(s)?;
    let u = u.as_deref();
    let nonneg = |key: &str| -> Result<f64> {
        let v = s.f64_req(key)?;
        if v < 0.0 {
            return Err(Error::malformed(
                PROVIDER,
                s.path_of(key),
                format!("expected >= 0, got {v}"),
            ));
        }
        Ok(v)
    };
    let empty_body = BodyMeasurement {
        weight_kg: None,
        height_m: None,
        bmi: None,
        body_fat_pct: None,
        muscle_mass_kg: None,
        bone_mass_kg: None,
        body_water_pct: None,
        lean_mass_kg: None,
    };
    Ok(match series {
        Series::BloodPressure => match u {
            None | Some("mmhg") => ItemBody::BloodPressure(BloodPressure {
                systolic_mmhg: Some(nonneg("systolic")?),
                diastolic_mmhg: Some(nonneg("diastolic")?),
                pulse_bpm: None,
            }),
            Some(u) => return Err(bad_unit(s, "mmHg", u)),
        },
        Series::Weight => {
            let kg = match u {
                None | Some("kg") => nonneg("value")?,
                Some("lb" | "lbs") => tidy(lbs_to_kg(nonneg("value")?)),
                Some(u) => return Err(bad_unit(s, "kg", u)),
            };
            ItemBody::BodyMeasurement(BodyMeasurement {
                weight_kg: Some(kg),
                ..empty_body
            })
        }
        Series::Fat => match u {
            None | Some("%") => ItemBody::BodyMeasurement(BodyMeasurement {
                body_fat_pct: Some(in_range(s, s.f64_req("value")?, 0.0, 100.0)?),
                ..empty_body
            }),
            Some(u) => return Err(bad_unit(s, "%", u)),
        },
        _ => {
            return Err(
                Error::new(ErrorKind::Internal, "chunk resource routed to snapshots")
                    .with_provider(PROVIDER),
            );
        }
    })
}

struct Group {
    event_type: EventType,
    source: SourceInfo,
    samples: Vec<Sample>,
}

pub(super) fn normalize(series: Series, user_id: &str, data: &Obj<'_>) -> Result<Normalized> {
    let source = SourceInfo::from_data(data)?;
    let samples = data.arr_req("data")?;
    let snapshot = matches!(series, Series::BloodPressure | Series::Weight | Series::Fat);

    // Keyed by the sample's Source Type: every sample shares the slug, so this orders groups as
    // their device keys (`<slug>:<type>`) would.
    let mut groups: BTreeMap<(&str, EventType), Group> = BTreeMap::new();
    let array_path: Arc<str> = data.path_of("data").into();
    // Snapshot items by native id: a later sample with the same key replaces an earlier one.
    let mut snapshots: BTreeMap<String, (Item, SourceInfo)> = BTreeMap::new();
    for (i, v) in samples.iter().enumerate() {
        let s = elem_at(&array_path, i, v)?;
        let sample_type = s.nonempty_str_opt("type")?;
        if let Some(t) = sample_type {
            source.check_type(|| s.path_of("type"), t)?;
        }
        if snapshot {
            let src = match sample_type {
                Some(t) => source.with_type(&s.path_of("type"), t)?,
                None => source.clone(),
            };
            let ts = s.time_req("timestamp")?.epoch_ms;
            let native = snapshot_native(user_id, series, &src, ts);
            let item = Item::new(PROVIDER, &native, ts, snapshot_body(series, &s)?)
                .with_device(Some(src.device_id()))
                .with_capture_mode(src.capture_mode());
            snapshots.insert(native, (item, src));
            continue;
        }
        let (event_type, value) = chunk_value(series, &s)?;
        let smp = sample(series, &s, value)?;
        let type_key = sample_type.unwrap_or(source.source_type.as_str());
        let group = match groups.entry((type_key, event_type)) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let src = match sample_type {
                    Some(t) => source.with_type(&s.path_of("type"), t)?,
                    None => source.clone(),
                };
                e.insert(Group {
                    event_type,
                    source: src,
                    samples: Vec::with_capacity(samples.len()),
                })
            }
        };
        group.samples.push(smp);
    }

    let mut out = Normalized::default();
    for (item, src) in snapshots.into_values() {
        out.add_device(src.device());
        out.push(item);
    }
    for g in groups.into_values() {
        let kind = match series {
            Series::BodyTemperature => Some(TemperatureKind::Body),
            Series::BodyTemperatureDelta => Some(TemperatureKind::Deviation),
            _ => None,
        };
        let mut key = g.source.device_key();
        if let Some(k) = kind {
            key.push_str(if k == TemperatureKind::Body {
                ":body"
            } else {
                ":deviation"
            });
        }
        let spec = SeriesSpec {
            provider: PROVIDER,
            event_type: g.event_type,
            provider_user_id: user_id,
            device_native_id: Some(&key),
            device_id: Some(g.source.device_id()),
            resolution_s: None,
            capture_mode: g.source.capture_mode(),
            day_complete: None,
        };
        for mut item in chunk_samples(&spec, g.samples) {
            match &mut item.body {
                ItemBody::TemperatureSeries(t) => t.temperature_kind = kind,
                // Junction documents stress as a percentage: the scale tops out at 100.
                ItemBody::StressSeries(s) => s.scale_max = Some(100.0),
                _ => {}
            }
            out.push(item);
        }
        out.add_device(g.source.device());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::object_at;
    use nexus_core::chunking::WINDOW_MS;
    use serde_json::json;

    // 2024-03-10T12:00:00Z
    const T: i64 = 1_710_072_000_000;

    fn run(series: Series, data: serde_json::Value) -> Result<Normalized> {
        normalize(series, "u1", &object_at(&data, "data").unwrap())
    }

    fn chunk(n: &Normalized, i: usize) -> &nexus_core::items::TimeseriesChunk {
        n.items[i].item.body.chunk().unwrap()
    }

    #[test]
    fn samples_at_negative_and_half_hour_offsets_land_in_utc_windows() {
        let n = run(
            Series::HeartRate,
            json!({"source": {"provider": "oura", "type": "ring"}, "data": [
                {"timestamp": "2024-03-10T07:05:00-05:00", "timezone_offset": -18000, "unit": "bpm", "value": 61},
                {"timestamp": "2024-03-10T17:40:00+05:30", "timezone_offset": 19800, "unit": "bpm", "value": 62}
            ]}),
        )
        .unwrap();
        assert_eq!(n.items.len(), 1);
        let c = chunk(&n, 0);
        assert_eq!(c.window_start, Some(T));
        assert_eq!(c.chunk_index, Some(48));
        let got: Vec<_> = c.samples.iter().map(|s| (s.ts, s.values[0])).collect();
        assert_eq!(
            got,
            vec![(T + 300_000, Some(61.0)), (T + 600_000, Some(62.0))]
        );
        assert_eq!(n.items[0].item.provider_ref, format!("u1:oura:ring:{T}"));
        assert_eq!(n.devices.len(), 1);
        assert_eq!(n.devices[0].model.as_deref(), Some("ring"));
    }

    #[test]
    fn a_sample_type_splits_the_source_and_the_device() {
        let n = run(
            Series::Glucose,
            json!({"source": {"provider": "freestyle_libre", "type": "automatic"}, "data": [
                {"timestamp": "2024-03-10T12:01:00+00:00", "type": "manual_scan", "unit": "mmol/L", "value": 5.5},
                {"timestamp": "2024-03-10T12:02:00+00:00", "type": null, "unit": "mg/dL", "value": 101}
            ]}),
        )
        .unwrap();
        assert_eq!(n.items.len(), 2);
        assert_eq!(n.devices.len(), 2);
        let refs: Vec<_> = n
            .items
            .iter()
            .map(|i| i.item.provider_ref.clone())
            .collect();
        assert_eq!(
            refs,
            vec![
                format!("u1:freestyle_libre:automatic:{T}"),
                format!("u1:freestyle_libre:manual_scan:{T}")
            ]
        );
        assert_eq!(chunk(&n, 1).samples[0].values[0], Some(99.088));
        assert_eq!(chunk(&n, 0).samples[0].values[0], Some(101.0));
    }

    #[test]
    fn interval_samples_carry_their_duration() {
        let n = run(
            Series::Steps,
            json!({"source": {"provider": "apple_health_kit", "type": "watch"}, "data": [
                {"timestamp": "2024-03-10T12:00:00+00:00", "start": "2024-03-10T12:00:00+00:00",
                 "end": "2024-03-10T12:10:00+00:00", "unit": "count", "value": 420},
                {"timestamp": "2024-03-10T12:15:00+00:00", "start": "2024-03-10T12:15:00+00:00",
                 "end": "2024-03-10T12:14:00+00:00", "unit": "count", "value": 1}
            ]}),
        );
        assert_eq!(n.unwrap_err().field(), Some("data.data[1].end"));
        let n = run(
            Series::Steps,
            json!({"source": {"provider": "apple_health_kit", "type": "watch"}, "data": [
                {"timestamp": "2024-03-10T12:00:00+00:00", "start": "2024-03-10T12:00:00+00:00",
                 "end": "2024-03-10T12:10:00+00:00", "unit": "count", "value": 420},
                {"timestamp": "2024-03-10T12:15:00+00:00", "unit": "count", "value": 7}
            ]}),
        )
        .unwrap();
        assert_eq!(
            chunk(&n, 0).samples[0].values.to_vec(),
            vec![Some(600.0), Some(420.0)]
        );
        assert_eq!(chunk(&n, 1).window_start, Some(T + WINDOW_MS));
        assert_eq!(
            chunk(&n, 1).samples[0].values.to_vec(),
            vec![None, Some(7.0)]
        );
    }

    #[test]
    fn hrv_kinds_never_mix_and_unknown_units_are_refused() {
        let n = run(
            Series::Hrv,
            json!({"source": {"provider": "oura"}, "data": [
                {"timestamp": "2024-03-10T12:00:00+00:00", "unit": "rmssd", "value": 40},
                {"timestamp": "2024-03-10T12:00:00+00:00", "unit": "sdnn", "value": 55}
            ]}),
        )
        .unwrap();
        let types: Vec<_> = n.items.iter().map(|i| i.item.event_type()).collect();
        assert_eq!(
            types,
            vec![EventType::HrvRmssdSeries, EventType::HrvSdnnSeries]
        );
        let e = run(
            Series::Hrv,
            json!({"source": {"provider": "oura"}, "data": [
                {"timestamp": "2024-03-10T12:00:00+00:00", "unit": "ms", "value": 40}]}),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("data.data[0].unit"));
        let e = run(
            Series::BloodOxygen,
            json!({"source": {"provider": "oura"}, "data": [
                {"timestamp": "2024-03-10T12:00:00+00:00", "unit": "%", "value": 140}]}),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("data.data[0].value"));
    }

    #[test]
    fn temperature_and_stress_chunks_say_what_they_measure() {
        let src = json!({"provider": "oura", "type": "ring"});
        let body = run(
            Series::BodyTemperature,
            json!({"source": src, "data": [{"timestamp": "2024-03-10T12:00:00+00:00",
                "start": "2024-03-10T12:00:00+00:00", "end": "2024-03-10T12:00:00+00:00", "unit": "°C", "value": 36.6}]}),
        )
        .unwrap();
        let delta = run(
            Series::BodyTemperatureDelta,
            json!({"source": src, "data": [{"timestamp": "2024-03-10T12:00:00+00:00",
                "start": "2024-03-10T12:00:00+00:00", "end": "2024-03-10T12:00:00+00:00", "unit": "°F", "value": 0.9}]}),
        )
        .unwrap();
        let (b, d) = (&body.items[0].item, &delta.items[0].item);
        assert_ne!(b.source_id, d.source_id);
        match (&b.body, &d.body) {
            (ItemBody::TemperatureSeries(b), ItemBody::TemperatureSeries(d)) => {
                assert_eq!(b.temperature_kind, Some(TemperatureKind::Body));
                assert_eq!(d.temperature_kind, Some(TemperatureKind::Deviation));
                assert_eq!(d.chunk.samples[0].values[0], Some(0.5));
            }
            other => panic!("{other:?}"),
        }
        let stress = run(
            Series::StressLevel,
            json!({"source": src, "data": [{"timestamp": "2024-03-10T12:00:00+00:00", "unit": "%", "value": 35}]}),
        )
        .unwrap();
        match &stress.items[0].item.body {
            ItemBody::StressSeries(s) => assert_eq!(s.scale_max, Some(100.0)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn blood_pressure_weight_and_fat_become_snapshots_keyed_by_resource() {
        let src = json!({"provider": "withings", "type": "cuff"});
        let bp = run(
            Series::BloodPressure,
            json!({"source": src, "data": [
                {"timestamp": "2024-03-10T08:00:00-03:30", "unit": "mmHg", "systolic": 121, "diastolic": 79},
                {"timestamp": "2024-03-10T08:00:00-03:30", "unit": "mmHg", "systolic": 122, "diastolic": 80}]}),
        )
        .unwrap();
        assert_eq!(bp.items.len(), 1, "the later sample with the same key wins");
        let ts = T - 30 * 60_000;
        assert_eq!(bp.items[0].item.payload_ts, ts);
        assert_eq!(
            bp.items[0].item.provider_ref,
            format!("u1:blood_pressure:withings:cuff:{ts}")
        );
        match &bp.items[0].item.body {
            ItemBody::BloodPressure(b) => {
                assert_eq!(
                    (b.systolic_mmhg, b.diastolic_mmhg, b.pulse_bpm),
                    (Some(122.0), Some(80.0), None)
                );
            }
            other => panic!("{other:?}"),
        }
        let scale = json!({"provider": "withings", "type": "scale"});
        let w = run(
            Series::Weight,
            json!({"source": scale, "data": [{"timestamp": "2024-03-10T12:00:00+00:00", "unit": "lb", "value": 150}]}),
        )
        .unwrap();
        let f = run(
            Series::Fat,
            json!({"source": scale, "data": [{"timestamp": "2024-03-10T12:00:00+00:00", "unit": "%", "value": 21.5}]}),
        )
        .unwrap();
        assert_ne!(w.items[0].item.source_id, f.items[0].item.source_id);
        match (&w.items[0].item.body, &f.items[0].item.body) {
            (ItemBody::BodyMeasurement(w), ItemBody::BodyMeasurement(f)) => {
                assert_eq!(w.weight_kg, Some(68.0388555));
                assert_eq!(
                    (w.body_fat_pct, f.weight_kg, f.body_fat_pct),
                    (None, None, Some(21.5))
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
