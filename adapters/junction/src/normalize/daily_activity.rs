//! `daily.data.activity.*` -> `daily_summary`.

use nexus_core::items::DailySummary;
use nexus_core::time::{local_midnight_ms, parse_date, zoned_midnight_ms};
use nexus_core::{Item, ItemBody, Normalized, Result};

use super::SummaryRecord;
use crate::PROVIDER;
use crate::fields::Obj;

pub(super) fn normalize(rec: &SummaryRecord, data: &Obj<'_>) -> Result<Normalized> {
    let date_s = data.str_req("calendar_date")?;
    let date = parse_date(PROVIDER, &data.path_of("calendar_date"), date_s)?;
    let tz = data.nonempty_str_opt("time_zone")?;
    let offset = data.offset_opt("timezone_offset")?;
    let payload_ts = match tz {
        Some(tz) => zoned_midnight_ms(PROVIDER, &data.path_of("time_zone"), date, tz)?,
        None => local_midnight_ms(date, offset),
    };
    let resting = match data.obj_opt("heart_rate")? {
        Some(hr) => hr.nonneg_opt("resting_bpm")?,
        None => None,
    };
    let body = DailySummary {
        date: date.to_string(),
        timezone: tz.map(str::to_owned),
        steps: data.count_opt("steps")?,
        distance_m: data.nonneg_opt("distance")?,
        floors: data.nonneg_opt("floors_climbed")?,
        calories_total_kcal: data.nonneg_opt("calories_total")?,
        calories_active_kcal: data.nonneg_opt("calories_active")?,
        // low/medium/high are minutes per intensity; Nexus does not add them up.
        active_minutes: None,
        sedentary_minutes: None,
        resting_heart_rate_bpm: resting,
    };
    let mut out = Normalized::default();
    rec.push(
        &mut out,
        Item::new(PROVIDER, &rec.id, payload_ts, ItemBody::DailySummary(body)),
    );
    Ok(out)
}
