//! Oura `daily_activity` -> `daily_summary`. Native id: the document's `id` (see the crate docs).

use nexus_core::items::DailySummary;
use nexus_core::time::local_midnight_ms;
use nexus_core::{Item, ItemBody, Normalized, RawRecord, Result};

use crate::PROVIDER;
use crate::fields::{Obj, parse_object};

pub(super) fn normalize(record: &RawRecord) -> Result<Normalized> {
    let map = parse_object(&record.body, "the daily_activity document")?;
    let doc = Obj::root(&map);
    let id = doc.str_req("id")?;
    let (day, date) = doc.day()?;
    // `timestamp` is the start of Oura's activity day (04:00 local) with the user's offset.
    let offset = doc.time_opt("timestamp")?.and_then(|t| t.utc_offset_s);
    let sedentary_s = doc.seconds("sedentary_time", 86_400.0)?;
    let summary = DailySummary {
        date,
        timezone: None,
        steps: doc.count("steps")?,
        distance_m: None,
        floors: None,
        calories_total_kcal: doc.f64_in("total_calories", 0.0, 50_000.0)?,
        calories_active_kcal: doc.f64_in("active_calories", 0.0, 50_000.0)?,
        active_minutes: None,
        sedentary_minutes: sedentary_s.map(|s| s / 60.0),
        resting_heart_rate_bpm: None,
    };
    let payload_ts = local_midnight_ms(day, offset);
    let mut out = Normalized::default();
    out.push(Item::new(
        PROVIDER,
        id,
        payload_ts,
        ItemBody::DailySummary(summary),
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{only_body, run};
    use super::*;

    const DOC: &str = r#"{"id":"da-1","class_5_min":"0011","score":88,"active_calories":612,
      "average_met_minutes":1.6,"contributors":{"meet_daily_targets":80},"equivalent_walking_distance":11200,
      "high_activity_met_minutes":30,"high_activity_time":600,"inactivity_alerts":1,
      "low_activity_met_minutes":200,"low_activity_time":14000,"medium_activity_met_minutes":120,
      "medium_activity_time":2400,"met":{"interval":60.0,"items":[0.9],"timestamp":"2024-11-11T04:00:00.000-05:00"},
      "meters_to_target":800,"non_wear_time":300,"resting_time":25000,"sedentary_met_minutes":9,
      "sedentary_time":30600,"steps":9876,"target_calories":600,"target_meters":12000,
      "total_calories":2710,"day":"2024-11-11","timestamp":"2024-11-11T04:00:00-05:00"}"#;

    #[test]
    fn a_day_maps_field_by_field() {
        let n = run("daily_activity", DOC).unwrap();
        let item = &n.items[0].item;
        assert_eq!(item.provider_ref, "da-1");
        // local midnight at -05:00
        assert_eq!(item.payload_ts, 1_731_283_200_000 + 5 * 3_600_000);
        let ItemBody::DailySummary(d) = only_body(&n) else {
            panic!()
        };
        assert_eq!(d.date, "2024-11-11");
        assert_eq!(d.timezone, None);
        assert_eq!(d.steps, Some(9876));
        assert_eq!(
            d.distance_m, None,
            "equivalent_walking_distance is not a distance"
        );
        assert_eq!(d.floors, None);
        assert_eq!(d.calories_total_kcal, Some(2710.0));
        assert_eq!(d.calories_active_kcal, Some(612.0));
        assert_eq!(d.active_minutes, None);
        assert_eq!(d.sedentary_minutes, Some(510.0));
        assert_eq!(d.resting_heart_rate_bpm, None);
    }

    #[test]
    fn without_a_timestamp_the_day_starts_at_utc_midnight_and_bad_values_fail() {
        let n = run(
            "daily_activity",
            r#"{"id":"da-2","day":"2024-11-11","steps":null}"#,
        )
        .unwrap();
        assert_eq!(n.items[0].item.payload_ts, 1_731_283_200_000);
        let e = run(
            "daily_activity",
            &DOC.replace("\"steps\":9876", "\"steps\":98.5"),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("steps"));
        let e = run(
            "daily_activity",
            &DOC.replace("\"day\":\"2024-11-11\"", "\"day\":\"11/11/2024\""),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("day"));
    }
}
