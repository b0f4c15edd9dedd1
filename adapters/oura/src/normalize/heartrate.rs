//! Oura `heartrate` (a page of `{bpm, source, timestamp, timestamp_unix}` rows from
//! `/v2/usercollection/heartrate`) -> `heart_rate_series` chunks. Oura has no heart-rate webhook:
//! these records come from backfills and polling. Native id: `<user>:-:<window_start>`.

use nexus_core::chunking::{SeriesSpec, chunk_samples};
use nexus_core::items::Sample;
use nexus_core::time::epoch_ms_checked;
use nexus_core::{Error, EventType, NormalizeContext, Normalized, RawRecord, Result};
use serde_json::Value;

use super::provider_user_id;
use crate::PROVIDER;
use crate::fields::{Obj, parse_object};

pub(super) fn normalize(record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized> {
    let map = parse_object(&record.body, "the heart-rate page")?;
    let page = Obj::root(&map);
    let rows = page
        .array_opt("data")?
        .ok_or_else(|| Error::malformed(PROVIDER, "data", "is required"))?;
    let mut samples = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let path = format!("data[{i}]");
        let Value::Object(row) = row else {
            return Err(Error::malformed(PROVIDER, path, "expected an object"));
        };
        let row = Obj::at(row, path);
        let bpm = row
            .f64_in("bpm", 20.0, 250.0)?
            .ok_or_else(|| Error::malformed(PROVIDER, row.path_of("bpm"), "is required"))?;
        let ts = match row.f64_opt("timestamp_unix")? {
            Some(ms) => epoch_ms_checked(PROVIDER, &row.path_of("timestamp_unix"), ms)?,
            None => row.time_req("timestamp")?.epoch_ms,
        };
        samples.push(Sample::one(ts, bpm));
    }
    let mut out = Normalized::default();
    if samples.is_empty() {
        return Ok(out);
    }
    let user = provider_user_id(record, ctx)?;
    for item in chunk_samples(
        &SeriesSpec::new(PROVIDER, EventType::HeartRateSeries, user),
        samples,
    ) {
        out.push(item);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{items, run};

    #[test]
    fn rows_become_chunks_by_utc_quarter_hour() {
        let page = r#"{"data":[
          {"bpm":71,"source":"awake","timestamp":"2024-11-11T08:14:50+00:00","timestamp_unix":1731312890000},
          {"bpm":73,"source":"awake","timestamp":"2024-11-11T08:15:05+00:00","timestamp_unix":1731312905000},
          {"bpm":70,"source":"rest","timestamp":"2024-11-11T03:44:55-04:30"}],"next_token":null}"#;
        let n = run("heartrate", page).unwrap();
        let all = items(&n);
        assert_eq!(all.len(), 2);
        // 03:44:55-04:30 is 08:14:55Z: the first window, sorted after 08:14:50Z.
        let first = all[0].body.chunk().unwrap();
        let got: Vec<(i64, Option<f64>)> =
            first.samples.iter().map(|s| (s.ts, s.values[0])).collect();
        assert_eq!(
            got,
            vec![
                (1_731_312_890_000, Some(71.0)),
                (1_731_312_895_000, Some(70.0))
            ]
        );
        assert_eq!(all[0].provider_ref, "u-1:-:1731312000000");
        assert_eq!(all[0].payload_ts, 1_731_312_000_000);
        let second = all[1].body.chunk().unwrap();
        assert_eq!(second.samples.len(), 1);
        assert_eq!(second.chunk_index, Some(33));
    }

    #[test]
    fn bad_rows_name_the_row() {
        let e = run(
            "heartrate",
            r#"{"data":[{"bpm":"71","timestamp":"2024-11-11T08:00:00Z"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("data[0].bpm"));
        let e = run("heartrate", r#"{"data":[{"bpm":71}]}"#).unwrap_err();
        assert_eq!(e.field(), Some("data[0].timestamp"));
        let e = run("heartrate", r#"{"data":[{"bpm":71,"timestamp":"2024-11-11T08:00:00Z"},{"bpm":900,"timestamp":"2024-11-11T08:00:00Z"}]}"#).unwrap_err();
        assert_eq!(e.field(), Some("data[1].bpm"));
        assert!(run("heartrate", r#"{"data":[]}"#).unwrap().items.is_empty());
        assert_eq!(
            run("heartrate", r#"{"next_token":null}"#)
                .unwrap_err()
                .field(),
            Some("data")
        );
    }
}
