//! Acme records -> Nexus items. Pure: no clock, no I/O. Every bad value is an error naming the
//! field; a value Acme does not give stays null.

use nexus_core::identity::daily_native_id;
use nexus_core::items::{Activity, ActivityType, DailySummary};
use nexus_core::time::{local_midnight_ms, parse_date, parse_offset_field, parse_rfc3339};
use nexus_core::units::km_to_m;
use nexus_core::{Error, EventType, Item, ItemBody, Normalized, Result};
use serde_json::Value;

use crate::ID;

fn path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A required string field.
pub fn str_field<'a>(v: &'a Value, prefix: &str, name: &str) -> Result<&'a str> {
    match v.get(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(Error::malformed(ID, path(prefix, name), "missing")),
        Some(other) => Err(Error::malformed(
            ID,
            path(prefix, name),
            format!("expected a string, got {other}"),
        )),
    }
}

fn opt_num(v: &Value, name: &str) -> Result<Option<f64>> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(Error::malformed(
            ID,
            path("data", name),
            format!("expected a number, got {other}"),
        )),
    }
}

fn opt_count(v: &Value, name: &str) -> Result<Option<i64>> {
    match opt_num(v, name)? {
        None => Ok(None),
        Some(x) if x.fract() == 0.0 && (0.0..1e12).contains(&x) => Ok(Some(x as i64)),
        Some(x) => Err(Error::malformed(
            ID,
            path("data", name),
            format!("expected a count, got {x}"),
        )),
    }
}

/// `workout.created|updated` -> one `activity`.
pub fn workout(d: &Value) -> Result<Normalized> {
    let id = str_field(d, "data", "id")?;
    let start = parse_rfc3339(ID, "data.start", str_field(d, "data", "start")?)?;
    let end = match d.get("end") {
        None | Some(Value::Null) => None,
        Some(_) => Some(parse_rfc3339(ID, "data.end", str_field(d, "data", "end")?)?.epoch_ms),
    };
    let updated = parse_rfc3339(ID, "data.updated_at", str_field(d, "data", "updated_at")?)?;
    let sport = match d.get("sport") {
        None | Some(Value::Null) => None,
        Some(_) => Some(str_field(d, "data", "sport")?),
    };
    let activity = Activity {
        start_ts: start.epoch_ms,
        end_ts: end,
        timezone: start.timezone.clone(),
        utc_offset_s: start.utc_offset_s,
        activity_type: sport.map_or(ActivityType::Other, ActivityType::from_name),
        provider_activity_type: sport.map(str::to_owned),
        name: None,
        duration_s: end.map(|e| ((e - start.epoch_ms) / 1000) as f64),
        moving_duration_s: None,
        distance_m: opt_num(d, "distance_km")?.map(km_to_m),
        steps: opt_count(d, "steps")?,
        calories_total_kcal: None,
        calories_active_kcal: opt_num(d, "active_kcal")?,
        avg_heart_rate_bpm: opt_num(d, "avg_hr")?,
        max_heart_rate_bpm: opt_num(d, "max_hr")?,
        elevation_gain_m: None,
        avg_speed_mps: None,
        max_speed_mps: None,
        avg_power_w: None,
        heart_rate_zones: None,
    };
    let mut out = Normalized::default();
    out.push_versioned(
        Item::new(ID, id, start.epoch_ms, ItemBody::Activity(activity)),
        Some(updated.epoch_ms),
    );
    Ok(out)
}

/// `workout.deleted` -> a `deletion` of the `activity` with that id.
pub fn workout_deleted(d: &Value) -> Result<Normalized> {
    let id = str_field(d, "data", "id")?;
    let at = parse_rfc3339(ID, "data.deleted_at", str_field(d, "data", "deleted_at")?)?;
    let mut out = Normalized::default();
    out.push_versioned(
        Item::deletion(ID, EventType::Activity, id, at.epoch_ms),
        Some(at.epoch_ms),
    );
    Ok(out)
}

/// `daily.updated` -> one `daily_summary`, native id `<user_id>:<date>`.
pub fn daily(d: &Value, user: &str) -> Result<Normalized> {
    let date_s = str_field(d, "data", "date")?;
    let date = parse_date(ID, "data.date", date_s)?;
    let offset = match d.get("utc_offset") {
        None | Some(Value::Null) => None,
        Some(_) => Some(parse_offset_field(
            ID,
            "data.utc_offset",
            str_field(d, "data", "utc_offset")?,
        )?),
    };
    let updated = parse_rfc3339(ID, "data.updated_at", str_field(d, "data", "updated_at")?)?;
    let summary = DailySummary {
        date: date.to_string(),
        timezone: None,
        steps: opt_count(d, "steps")?,
        distance_m: opt_num(d, "distance_km")?.map(km_to_m),
        floors: opt_num(d, "floors")?,
        calories_total_kcal: opt_num(d, "kcal_total")?,
        calories_active_kcal: opt_num(d, "kcal_active")?,
        active_minutes: opt_num(d, "active_min")?,
        sedentary_minutes: None,
        resting_heart_rate_bpm: opt_num(d, "resting_hr")?,
    };
    let mut out = Normalized::default();
    out.push_versioned(
        Item::new(
            ID,
            &daily_native_id(user, &date.to_string()),
            local_midnight_ms(date, offset),
            ItemBody::DailySummary(summary),
        ),
        Some(updated.epoch_ms),
    );
    Ok(out)
}
