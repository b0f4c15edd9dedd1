//! `daily.data.workouts.*` -> `activity`.

use nexus_core::items::{Activity, ActivityType, HeartRateZone};
use nexus_core::{Error, Item, ItemBody, Normalized, Result};
use serde_json::Value;

use super::SummaryRecord;
use crate::PROVIDER;
use crate::fields::Obj;

/// `hr_zones`: seconds in each of Junction's zones, lowest first (<50%, 50-60%, ... of max HR).
/// Junction gives no bpm bounds, so `min_bpm`/`max_bpm` stay null; `zone` is the array index.
fn zones(data: &Obj<'_>) -> Result<Option<Vec<HeartRateZone>>> {
    let Some(arr) = data.arr_opt("hr_zones")? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(arr.len());
    for (i, v) in arr.iter().enumerate() {
        let secs = match v {
            Value::Null => None,
            Value::Number(n) => match n.as_f64() {
                Some(x) if x.is_finite() && x >= 0.0 => Some(x),
                _ => return Err(bad_zone(data, i)),
            },
            _ => return Err(bad_zone(data, i)),
        };
        out.push(HeartRateZone {
            zone: i64::try_from(i).unwrap_or(i64::MAX),
            min_bpm: None,
            max_bpm: None,
            duration_s: secs,
        });
    }
    Ok(Some(out))
}

fn bad_zone(data: &Obj<'_>, i: usize) -> Error {
    Error::malformed(
        PROVIDER,
        format!("{}[{i}]", data.path_of("hr_zones")),
        "expected seconds >= 0 in the zone",
    )
}

pub(super) fn normalize(rec: &SummaryRecord, data: &Obj<'_>) -> Result<Normalized> {
    let start = data.time_req("time_start")?;
    let end = data.time_req("time_end")?;
    if end.epoch_ms < start.epoch_ms {
        return Err(Error::malformed(
            PROVIDER,
            data.path_of("time_end"),
            "the workout ends before it starts",
        ));
    }
    let sport = data.obj_opt("sport")?;
    let raw_sport = match &sport {
        Some(s) => s.nonempty_str_opt("slug")?.or(s.nonempty_str_opt("name")?),
        None => None,
    };
    let body = Activity {
        start_ts: start.epoch_ms,
        end_ts: Some(end.epoch_ms),
        timezone: None,
        utc_offset_s: data.offset_opt("timezone_offset")?,
        activity_type: raw_sport.map_or(ActivityType::Other, ActivityType::from_name),
        provider_activity_type: raw_sport.map(str::to_owned),
        name: data.nonempty_str_opt("title")?.map(str::to_owned),
        // Junction gives no elapsed duration; Nexus does not subtract the times.
        duration_s: None,
        moving_duration_s: data.nonneg_opt("moving_time")?,
        distance_m: data.nonneg_opt("distance")?,
        steps: data.count_opt("steps")?,
        // "Calories burned during the workout": Junction does not split active from total.
        calories_total_kcal: data.nonneg_opt("calories")?,
        calories_active_kcal: None,
        avg_heart_rate_bpm: data.nonneg_opt("average_hr")?,
        max_heart_rate_bpm: data.nonneg_opt("max_hr")?,
        elevation_gain_m: data.nonneg_opt("total_elevation_gain")?,
        avg_speed_mps: data.nonneg_opt("average_speed")?,
        max_speed_mps: data.nonneg_opt("max_speed")?,
        avg_power_w: data.nonneg_opt("average_watts")?,
        heart_rate_zones: zones(data)?,
    };
    let mut out = Normalized::default();
    rec.push(
        &mut out,
        Item::new(PROVIDER, &rec.id, start.epoch_ms, ItemBody::Activity(body)),
    );
    Ok(out)
}
