//! Terra `activity` -> `activity` sessions (or `deletion` for `upload_type` 4), plus the workout's
//! heart rate, HRV, steps, calories, distance and SpO2 samples as chunks.

use nexus_core::items::{Activity, ActivityType, HeartRateZone};
use nexus_core::{
    CaptureMode, Error, EventType, Item, ItemBody, NormalizeContext, Normalized, RawRecord, Result,
};

use super::{Series, count, data_of, device, metadata, non_negative, span, user_id};
use crate::PROVIDER;
use crate::payload::{self, DataEvent};

/// Terra `UploadType` values.
const UPLOAD_AUTOMATIC: f64 = 1.0;
const UPLOAD_MANUAL: f64 = 2.0;
const UPLOAD_DELETE: f64 = 4.0;
/// Terra `HeartRateZone.OTHER`: not a numbered zone.
const ZONE_OTHER: f64 = 6.0;

/// Checks Terra's `UploadType` (0 unknown, 1 automatic, 2 manual, 3 update, 4 delete, 5 pending,
/// 6 third-party upload): any other value is refused, since 4 decides between a record and its
/// deletion.
pub(super) fn upload_type(field: &str, v: Option<f64>) -> Result<Option<f64>> {
    match v {
        Some(x) if !(x.fract() == 0.0 && (0.0..=6.0).contains(&x)) => Err(Error::malformed(
            PROVIDER,
            field,
            format!("{x} is not a Terra UploadType (0-6)"),
        )),
        other => Ok(other),
    }
}

/// `capture_mode` from Terra's `UploadType` (1 automatic, 2 manual; others say nothing).
pub(super) fn capture_mode(upload_type: Option<f64>) -> Option<CaptureMode> {
    match upload_type {
        Some(UPLOAD_AUTOMATIC) => Some(CaptureMode::Automatic),
        Some(UPLOAD_MANUAL) => Some(CaptureMode::Manual),
        _ => None,
    }
}

/// Terra's `ActivityType` code -> the Nexus type. Unlisted codes are `other`.
pub(super) fn activity_type(code: f64) -> ActivityType {
    // Codes are whole numbers in Terra's enum; a fractional code matches nothing.
    let code = if code.fract() == 0.0 && (0.0..1000.0).contains(&code) {
        #[allow(clippy::cast_possible_truncation)] // whole and below 1000, checked above
        let c = code as i32;
        c
    } else {
        -1
    };
    match code {
        8 | 56 | 57 | 58 | 88 | 133 => ActivityType::Running,
        7 | 93 | 94 | 95 => ActivityType::Walking,
        1 | 14..=19 => ActivityType::Cycling,
        82..=84 => ActivityType::Swimming,
        35 => ActivityType::Hiking,
        80 | 97 => ActivityType::StrengthTraining,
        100 => ActivityType::Yoga,
        53 | 54 => ActivityType::Rowing,
        25 => ActivityType::Elliptical,
        114 => ActivityType::Hiit,
        _ => ActivityType::Other,
    }
}

fn code_string(code: f64) -> String {
    if code.fract() == 0.0 && code.abs() < 1e15 {
        format!("{code:.0}")
    } else {
        code.to_string()
    }
}

pub(super) fn normalize(
    body: &[u8],
    ctx: &NormalizeContext,
    record: &RawRecord,
) -> Result<Normalized> {
    let (user, data) = data_of(payload::parse::<DataEvent<payload::Activity>>(body)?)?;
    let uid = user_id(user.as_ref(), "user.user_id", ctx)?;
    let mut out = Normalized::default();
    for (i, a) in data.iter().enumerate() {
        let m = metadata(a.metadata.as_ref(), i)?;
        let (start, end) = span(m, i)?;
        let upload = upload_type(&format!("data[{i}].metadata.upload_type"), m.upload_type)?;
        let native = match m
            .summary_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(id) => id.to_owned(),
            None => format!("{uid}:{}", m.start_time.as_deref().unwrap_or_default()),
        };
        if upload == Some(UPLOAD_DELETE) {
            // Terra marks a deleted workout with upload_type 4 and gives no deletion time: the
            // time Nexus received it stands in, else the workout's own start.
            let at = record.fetched_at.unwrap_or(start.epoch_ms);
            out.push(Item::deletion(PROVIDER, EventType::Activity, &native, at));
            continue;
        }
        let dev = device(user.as_ref(), a.device_data.as_ref());
        let p = |s: &str| format!("data[{i}].{s}");
        let dist = a.distance_data.as_ref().and_then(|d| d.summary.as_ref());
        let hr = a.heart_rate_data.as_ref().and_then(|h| h.summary.as_ref());
        let cal = a.calories_data.as_ref();
        let zones = match hr.and_then(|h| h.hr_zone_data.as_ref()) {
            None => None,
            Some(zs) => {
                let mut v = Vec::new();
                for (z, zone) in zs.iter().enumerate() {
                    let Some(n) = zone.zone.filter(|n| *n != ZONE_OTHER) else {
                        continue;
                    };
                    let zf = p(&format!("heart_rate_data.summary.hr_zone_data[{z}]"));
                    let n = count(&format!("{zf}.zone"), Some(n))?.unwrap_or_default();
                    v.push(HeartRateZone {
                        zone: n,
                        min_bpm: None,
                        max_bpm: None,
                        duration_s: non_negative(
                            &format!("{zf}.duration_seconds"),
                            zone.duration_seconds,
                        )?,
                    });
                }
                Some(v)
            }
        };
        let body = Activity {
            start_ts: start.epoch_ms,
            end_ts: end.as_ref().map(|e| e.epoch_ms),
            timezone: None,
            utc_offset_s: start.utc_offset_s,
            activity_type: m.activity_type.map_or(ActivityType::Other, activity_type),
            provider_activity_type: m.activity_type.map(code_string),
            name: m.name.clone(),
            duration_s: None,
            moving_duration_s: None,
            distance_m: non_negative(
                &p("distance_data.summary.distance_meters"),
                dist.and_then(|d| d.distance_meters),
            )?,
            steps: count(
                &p("distance_data.summary.steps"),
                dist.and_then(|d| d.steps),
            )?,
            calories_total_kcal: non_negative(
                &p("calories_data.total_burned_calories"),
                cal.and_then(|c| c.total_burned_calories),
            )?,
            calories_active_kcal: non_negative(
                &p("calories_data.net_activity_calories"),
                cal.and_then(|c| c.net_activity_calories),
            )?,
            avg_heart_rate_bpm: non_negative(
                &p("heart_rate_data.summary.avg_hr_bpm"),
                hr.and_then(|h| h.avg_hr_bpm),
            )?,
            max_heart_rate_bpm: non_negative(
                &p("heart_rate_data.summary.max_hr_bpm"),
                hr.and_then(|h| h.max_hr_bpm),
            )?,
            elevation_gain_m: dist
                .and_then(|d| d.elevation.as_ref())
                .and_then(|e| e.gain_actual_meters),
            avg_speed_mps: non_negative(
                &p("movement_data.avg_speed_meters_per_second"),
                a.movement_data
                    .as_ref()
                    .and_then(|m| m.avg_speed_meters_per_second),
            )?,
            max_speed_mps: non_negative(
                &p("movement_data.max_speed_meters_per_second"),
                a.movement_data
                    .as_ref()
                    .and_then(|m| m.max_speed_meters_per_second),
            )?,
            avg_power_w: non_negative(
                &p("power_data.avg_watts"),
                a.power_data.as_ref().and_then(|w| w.avg_watts),
            )?,
            heart_rate_zones: zones,
        };
        if body.activity_type == ActivityType::Other && m.activity_type.is_none() {
            // Terra requires metadata.type on activities; without it the workout is unclassified.
            return Err(Error::malformed(PROVIDER, p("metadata.type"), "missing"));
        }
        let mode = capture_mode(upload);
        let item = Item::new(PROVIDER, &native, start.epoch_ms, ItemBody::Activity(body))
            .with_device(dev.as_ref().map(|d| d.1.device_id.clone()))
            .with_capture_mode(mode);
        out.push(item);
        if let Some(d) = &dev {
            out.add_device(d.1.clone());
        }

        let mut series = Series::new(&uid, dev.as_ref(), mode);
        series.heart(
            &p("heart_rate_data.detailed"),
            a.heart_rate_data.as_ref().and_then(|h| h.detailed.as_ref()),
        )?;
        let detailed = a.distance_data.as_ref().and_then(|d| d.detailed.as_ref());
        series.steps(
            &p("distance_data.detailed.step_samples"),
            detailed.and_then(|d| d.step_samples.as_ref()),
        )?;
        series.distance(
            &p("distance_data.detailed.distance_samples"),
            detailed.and_then(|d| d.distance_samples.as_ref()),
        )?;
        series.calories(
            &p("calories_data.calorie_samples"),
            cal.and_then(|c| c.calorie_samples.as_ref()),
        )?;
        series.spo2(
            &p("oxygen_data.saturation_samples"),
            a.oxygen_data
                .as_ref()
                .and_then(|o| o.saturation_samples.as_ref()),
        )?;
        series.finish(&mut out);
    }
    Ok(out)
}
