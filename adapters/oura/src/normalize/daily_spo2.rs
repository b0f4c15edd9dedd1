//! Oura `daily_spo2` -> one `spo2_series` sample per day (decision documented in the crate docs).
//!
//! Nexus has no daily SpO2 type. Oura's document holds the night's average SpO2 for a `day`, so it
//! becomes a one-sample `spo2_series` chunk: `ts` = UTC midnight of `day` (the document gives no
//! offset), `spo2_pct` = `spo2_percentage.average`, `resolution_s` = 86400 marking it as a daily
//! value rather than a point reading. Native id: the chunk's composed `<user>:-:<window_start>`.

use nexus_core::chunking::{SeriesSpec, chunk_samples};
use nexus_core::items::Sample;
use nexus_core::time::local_midnight_ms;
use nexus_core::{EventType, NormalizeContext, Normalized, RawRecord, Result};

use super::provider_user_id;
use crate::PROVIDER;
use crate::fields::{Obj, parse_object};

/// Resolution hint of the daily value, seconds.
const DAY_S: f64 = 86_400.0;

pub(super) fn normalize(record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized> {
    let map = parse_object(&record.body, "the daily_spo2 document")?;
    let doc = Obj::root(&map);
    doc.str_req("id")?;
    let (day, _) = doc.day()?;
    let average = match doc.obj_opt("spo2_percentage")? {
        Some(p) => p.f64_in("average", 0.0, 100.0)?,
        None => None,
    };
    let mut out = Normalized::default();
    let Some(average) = average else {
        return Ok(out);
    };
    let user = provider_user_id(record, ctx)?;
    let mut spec = SeriesSpec::new(PROVIDER, EventType::Spo2Series, user);
    spec.resolution_s = Some(DAY_S);
    let sample = Sample::one(local_midnight_ms(day, None), average);
    for item in chunk_samples(&spec, vec![sample]) {
        out.push(item);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{only_body, run};
    use super::*;

    #[test]
    fn the_daily_average_is_one_sample_at_the_day() {
        let n = run(
            "daily_spo2",
            r#"{"id":"sp-1","breathing_disturbance_index":7,"day":"2024-11-11","spo2_percentage":{"average":96.875}}"#,
        )
        .unwrap();
        let item = &n.items[0].item;
        assert_eq!(item.provider_ref, "u-1:-:1731283200000");
        let c = only_body(&n).chunk().unwrap();
        assert_eq!(c.columns, vec!["ts", "spo2_pct"]);
        assert_eq!(c.resolution_s, Some(86_400.0));
        assert_eq!(c.samples, vec![Sample::one(1_731_283_200_000, 96.875)]);
    }

    #[test]
    fn no_average_gives_nothing_and_bad_values_fail() {
        let n = run(
            "daily_spo2",
            r#"{"id":"sp-1","day":"2024-11-11","spo2_percentage":null}"#,
        )
        .unwrap();
        assert!(n.items.is_empty());
        let e = run(
            "daily_spo2",
            r#"{"id":"sp-1","day":"2024-11-11","spo2_percentage":{"average":120}}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("spo2_percentage.average"));
    }
}
