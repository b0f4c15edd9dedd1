//! `daily.data.sleep.*` -> `sleep`.

use nexus_core::items::Sleep;
use nexus_core::{Error, Item, ItemBody, Normalized, Result};

use super::SummaryRecord;
use crate::PROVIDER;
use crate::fields::{Obj, tidy};

/// Junction defines `efficiency` as a percentage (`100% * total / duration`) but prints it as a
/// fraction (`0.97`) in its own examples: a value up to 1 is a fraction, above 1 a percentage,
/// anything outside 0-100 is refused.
pub(super) fn efficiency_pct(data: &Obj<'_>) -> Result<Option<f64>> {
    match data.f64_opt("efficiency")? {
        None => Ok(None),
        Some(x) if (0.0..=1.0).contains(&x) => Ok(Some(tidy(x * 100.0))),
        Some(x) if x > 1.0 && x <= 100.0 => Ok(Some(x)),
        Some(x) => Err(Error::malformed(
            PROVIDER,
            data.path_of("efficiency"),
            format!("expected a fraction 0-1 or a percentage 0-100, got {x}"),
        )),
    }
}

pub(super) fn normalize(rec: &SummaryRecord, data: &Obj<'_>) -> Result<Normalized> {
    let start = data.time_req("bedtime_start")?;
    let stop = data.time_req("bedtime_stop")?;
    if stop.epoch_ms < start.epoch_ms {
        return Err(Error::malformed(
            PROVIDER,
            data.path_of("bedtime_stop"),
            "the sleep ends before it starts",
        ));
    }
    let is_nap = match data.str_opt("type")? {
        Some("acknowledged_nap") => Some(true),
        Some("long_sleep") => Some(false),
        _ => None,
    };
    let body = Sleep {
        start_ts: start.epoch_ms,
        end_ts: Some(stop.epoch_ms),
        timezone: None,
        utc_offset_s: data.offset_opt("timezone_offset")?,
        is_nap,
        in_bed_s: data.nonneg_opt("duration")?,
        asleep_s: data.nonneg_opt("total")?,
        awake_s: data.nonneg_opt("awake")?,
        light_s: data.nonneg_opt("light")?,
        deep_s: data.nonneg_opt("deep")?,
        rem_s: data.nonneg_opt("rem")?,
        latency_s: data.nonneg_opt("latency")?,
        efficiency_pct: efficiency_pct(data)?,
        avg_heart_rate_bpm: data.nonneg_opt("hr_average")?,
        min_heart_rate_bpm: data.nonneg_opt("hr_lowest")?,
        // Junction documents `average_hrv` in RMSSD.
        avg_hrv_rmssd_ms: data.nonneg_opt("average_hrv")?,
        avg_hrv_sdnn_ms: None,
        avg_respiration_brpm: data.nonneg_opt("respiratory_rate")?,
        avg_spo2_pct: None,
        temp_deviation_c: data.f64_opt("temperature_delta")?,
        score: data.nonneg_opt("score")?,
        stages: None,
    };
    let mut out = Normalized::default();
    rec.push(
        &mut out,
        Item::new(PROVIDER, &rec.id, start.epoch_ms, ItemBody::Sleep(body)),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::object_at;
    use serde_json::json;

    #[test]
    fn efficiency_accepts_fractions_and_percentages() {
        let f = |v: serde_json::Value| {
            let doc = json!({ "efficiency": v });
            efficiency_pct(&object_at(&doc, "data").unwrap())
        };
        assert_eq!(f(json!(0.97)).unwrap(), Some(97.0));
        assert_eq!(f(json!(91)).unwrap(), Some(91.0));
        assert_eq!(f(json!(null)).unwrap(), None);
        assert_eq!(f(json!(140)).unwrap_err().field(), Some("data.efficiency"));
        assert!(f(json!(-0.1)).is_err());
    }
}
