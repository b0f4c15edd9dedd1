//! Oura `sleep` (one sleep period) -> `sleep` item, plus `heart_rate_series` chunks from its
//! `heart_rate` samples and `hrv_rmssd_series` chunks from its `hrv` samples (Oura's HRV is RMSSD).

use nexus_core::chunking::{SeriesSpec, chunk_samples};
use nexus_core::items::{Sleep, SleepStage, SleepStageKind};
use nexus_core::{
    Error, EventType, Item, ItemBody, NormalizeContext, Normalized, RawRecord, Result,
};

use super::provider_user_id;
use super::samples::sampled_series;
use crate::PROVIDER;
use crate::fields::{Obj, parse_object};

/// Longest plausible duration field of one sleep period, seconds (2 days).
const MAX_SLEEP_S: f64 = 172_800.0;
/// Length of one `sleep_phase_5_min` character, ms.
const PHASE_MS: i64 = 300_000;

pub(super) fn normalize(record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized> {
    let map = parse_object(&record.body, "the sleep document")?;
    let doc = Obj::root(&map);
    let id = doc.str_req("id")?;
    let is_nap = match doc.str_opt("type")? {
        Some("long_sleep") => Some(false),
        Some("sleep" | "late_nap") => Some(true),
        // `deleted`: the user deleted the period; `rest`: the user rejected a falsely detected
        // sleep. Neither is a sleep any more: a deletion withdraws what may have been emitted.
        Some("deleted" | "rest") => return deleted(record, id),
        None => None,
        Some(other) => {
            return Err(Error::malformed(
                PROVIDER,
                "type",
                format!("unknown sleep type {other:?}"),
            ));
        }
    };
    let start = doc.time_req("bedtime_start")?;
    let end = doc.time_req("bedtime_end")?;
    if end.epoch_ms < start.epoch_ms {
        return Err(Error::malformed(
            PROVIDER,
            "bedtime_end",
            "the sleep ends before it starts",
        ));
    }
    let readiness = doc.obj_opt("readiness")?;
    let temp_deviation_c = match &readiness {
        Some(r) => r.f64_in("temperature_deviation", -15.0, 15.0)?,
        None => None,
    };
    let sleep = Sleep {
        start_ts: start.epoch_ms,
        end_ts: Some(end.epoch_ms),
        timezone: None,
        utc_offset_s: start.utc_offset_s,
        is_nap,
        in_bed_s: doc.seconds("time_in_bed", MAX_SLEEP_S)?,
        asleep_s: doc.seconds("total_sleep_duration", MAX_SLEEP_S)?,
        awake_s: doc.seconds("awake_time", MAX_SLEEP_S)?,
        light_s: doc.seconds("light_sleep_duration", MAX_SLEEP_S)?,
        deep_s: doc.seconds("deep_sleep_duration", MAX_SLEEP_S)?,
        rem_s: doc.seconds("rem_sleep_duration", MAX_SLEEP_S)?,
        latency_s: doc.seconds("latency", MAX_SLEEP_S)?,
        efficiency_pct: doc.f64_in("efficiency", 0.0, 100.0)?,
        avg_heart_rate_bpm: doc.f64_in("average_heart_rate", 0.0, 300.0)?,
        min_heart_rate_bpm: doc.f64_in("lowest_heart_rate", 0.0, 300.0)?,
        avg_hrv_rmssd_ms: doc.f64_in("average_hrv", 0.0, 1000.0)?,
        avg_hrv_sdnn_ms: None,
        avg_respiration_brpm: doc.f64_in("average_breath", 0.0, 100.0)?,
        avg_spo2_pct: None,
        temp_deviation_c,
        score: None,
        stages: stages(&doc, start.epoch_ms, end.epoch_ms)?,
    };

    let series = [
        ("heart_rate", EventType::HeartRateSeries, 20.0, 250.0),
        ("hrv", EventType::HrvRmssdSeries, 0.0, 1000.0),
    ];
    let mut chunks = Vec::with_capacity(series.len());
    for (key, event_type, min, max) in series {
        let Some(obj) = doc.obj_opt(key)? else {
            continue;
        };
        let samples = sampled_series(&obj, min, max)?;
        if samples.is_empty() {
            continue;
        }
        let user = provider_user_id(record, ctx)?;
        let mut spec = SeriesSpec::new(PROVIDER, event_type, user);
        spec.resolution_s = obj.f64_opt("interval")?;
        chunks.push(chunk_samples(&spec, samples));
    }

    // Items are large: allocate their vector once rather than moving them on every growth.
    let mut out = Normalized::default();
    out.items
        .reserve_exact(1 + chunks.iter().map(Vec::len).sum::<usize>());
    out.push(Item::new(
        PROVIDER,
        id,
        start.epoch_ms,
        ItemBody::Sleep(sleep),
    ));
    for series_items in chunks {
        for item in series_items {
            out.push(item);
        }
    }
    Ok(out)
}

/// A sleep Oura marks `deleted` or `rest`: a deletion of the sleep item. Its `deleted_at` is when
/// Nexus fetched the document (Oura does not say when the user deleted it).
fn deleted(record: &RawRecord, id: &str) -> Result<Normalized> {
    let deleted_at = record.fetched_at.ok_or_else(|| {
        Error::malformed(
            PROVIDER,
            "type",
            "a deleted sleep needs the record's fetched_at as its deletion time",
        )
    })?;
    let mut out = Normalized::default();
    out.push(Item::deletion(PROVIDER, EventType::Sleep, id, deleted_at));
    Ok(out)
}

/// `sleep_phase_5_min`: one character per 5 minutes from `bedtime_start`, '1' deep, '2' light,
/// '3' REM, '4' awake. Runs of one stage become one interval; the last interval ends at
/// `bedtime_end` when the string reaches past it.
fn stages(doc: &Obj<'_>, start_ms: i64, end_ms: i64) -> Result<Option<Vec<SleepStage>>> {
    let Some(phases) = doc.str_opt("sleep_phase_5_min")?.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let max_len = usize::try_from((end_ms - start_ms) / PHASE_MS + 2).unwrap_or(usize::MAX);
    if phases.len() > max_len {
        return Err(Error::malformed(
            PROVIDER,
            "sleep_phase_5_min",
            format!(
                "{} phases of 5 minutes do not fit between bedtime_start and bedtime_end",
                phases.len()
            ),
        ));
    }
    let mut out: Vec<SleepStage> = Vec::new();
    let mut at = start_ms;
    for (i, c) in phases.chars().enumerate() {
        let stage = match c {
            '1' => SleepStageKind::Deep,
            '2' => SleepStageKind::Light,
            '3' => SleepStageKind::Rem,
            '4' => SleepStageKind::Awake,
            other => {
                return Err(Error::malformed(
                    PROVIDER,
                    "sleep_phase_5_min",
                    format!("character {i} is {other:?}, expected '1' to '4'"),
                ));
            }
        };
        // The string may reach up to two phases past `bedtime_end` (its last character covers a
        // partial period): a phase starting at or after the end adds nothing.
        if at >= end_ms {
            continue;
        }
        let next = (at + PHASE_MS).min(end_ms);
        match out.last_mut() {
            Some(last) if last.stage == stage => last.end_ts = next,
            _ => out.push(SleepStage {
                stage,
                start_ts: at,
                end_ts: next,
            }),
        }
        at = next;
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use nexus_core::ErrorKind;

    use super::super::test_support::{items, only_body, run};
    use super::*;

    // Shaped after Oura's sleep document; values are ours. Half-hour negative offset (-03:30).
    const SLEEP: &str = r#"{"id":"s-1","average_breath":15.25,"average_heart_rate":58.5,"average_hrv":41,
      "awake_time":1200,"bedtime_end":"2024-11-11T07:10:00-03:30","bedtime_start":"2024-11-10T23:05:00-03:30",
      "day":"2024-11-11","deep_sleep_duration":3600,"efficiency":91,
      "heart_rate":{"interval":300.0,"items":[61.0,57.0,null],"timestamp":"2024-11-10T23:05:00.000-03:30"},
      "hrv":{"interval":300.0,"items":[35.0,44.0,null],"timestamp":"2024-11-10T23:05:00.000-03:30"},
      "latency":600,"light_sleep_duration":16200,"low_battery_alert":false,"lowest_heart_rate":52,
      "period":0,"readiness":{"contributors":{},"score":80,"temperature_deviation":-0.21},
      "rem_sleep_duration":6300,"sleep_phase_5_min":"4221133","time_in_bed":29100,
      "total_sleep_duration":26100,"type":"long_sleep"}"#;

    #[test]
    fn a_sleep_maps_field_by_field() {
        let n = run("sleep", SLEEP).unwrap();
        let all = items(&n);
        let ItemBody::Sleep(s) = &all[0].body else {
            panic!("{:?}", all[0])
        };
        let start = 1_731_292_500_000; // 2024-11-11T02:35:00Z
        assert_eq!(all[0].payload_ts, start);
        assert_eq!(all[0].provider_ref, "s-1");
        assert_eq!(s.start_ts, start);
        assert_eq!(s.end_ts, Some(start + 29_100_000));
        assert_eq!(s.utc_offset_s, Some(-12_600));
        assert_eq!(s.timezone, None);
        assert_eq!(s.is_nap, Some(false));
        assert_eq!(s.in_bed_s, Some(29_100.0));
        assert_eq!(s.asleep_s, Some(26_100.0));
        assert_eq!(s.awake_s, Some(1_200.0));
        assert_eq!(
            (s.light_s, s.deep_s, s.rem_s),
            (Some(16_200.0), Some(3_600.0), Some(6_300.0))
        );
        assert_eq!(s.latency_s, Some(600.0));
        assert_eq!(s.efficiency_pct, Some(91.0));
        assert_eq!(s.avg_heart_rate_bpm, Some(58.5));
        assert_eq!(s.min_heart_rate_bpm, Some(52.0));
        assert_eq!(s.avg_hrv_rmssd_ms, Some(41.0));
        assert_eq!(s.avg_hrv_sdnn_ms, None);
        assert_eq!(s.avg_respiration_brpm, Some(15.25));
        assert_eq!(s.avg_spo2_pct, None);
        assert_eq!(s.temp_deviation_c, Some(-0.21));
        assert_eq!(s.score, None);
        let stages = s.stages.as_ref().unwrap();
        let got: Vec<(SleepStageKind, i64, i64)> = stages
            .iter()
            .map(|st| (st.stage, st.start_ts - start, st.end_ts - start))
            .collect();
        let m = 300_000;
        assert_eq!(
            got,
            vec![
                (SleepStageKind::Awake, 0, m),
                (SleepStageKind::Light, m, 3 * m),
                (SleepStageKind::Deep, 3 * m, 5 * m),
                (SleepStageKind::Rem, 5 * m, 7 * m),
            ]
        );
    }

    #[test]
    fn heart_rate_and_hrv_become_chunks() {
        let n = run("sleep", SLEEP).unwrap();
        let all = items(&n);
        assert_eq!(
            all.len(),
            3,
            "sleep + one HR chunk + one HRV chunk (all samples in 02:30-02:45Z)"
        );
        let start = 1_731_292_500_000;
        let hr = all[1].body.chunk().unwrap();
        assert_eq!(all[1].event_type(), EventType::HeartRateSeries);
        assert_eq!(hr.columns, vec!["ts", "bpm"]);
        assert_eq!(hr.resolution_s, Some(300.0));
        let got: Vec<(i64, Option<f64>)> = hr.samples.iter().map(|s| (s.ts, s.values[0])).collect();
        assert_eq!(
            got,
            vec![(start, Some(61.0)), (start + 300_000, Some(57.0))]
        );
        assert_eq!(
            all[1].provider_ref,
            format!("u-1:-:{}", 1_731_292_200_000_i64)
        );
        let hrv = all[2].body.chunk().unwrap();
        assert_eq!(all[2].event_type(), EventType::HrvRmssdSeries);
        assert_eq!(hrv.columns, vec!["ts", "rmssd_ms"]);
        assert_eq!(hrv.samples.len(), 2);
    }

    #[test]
    fn sleep_types_decide_is_nap_and_deleted_or_rest_periods_are_deletions() {
        for (t, nap) in [("sleep", Some(true)), ("late_nap", Some(true))] {
            let body = SLEEP.replace("\"long_sleep\"", &format!("\"{t}\""));
            let n = run("sleep", &body).unwrap();
            let ItemBody::Sleep(s) = &n.items[0].item.body else {
                panic!()
            };
            assert_eq!(s.is_nap, nap, "{t}");
        }
        for t in ["deleted", "rest"] {
            let body = SLEEP.replace("\"long_sleep\"", &format!("\"{t}\""));
            let n = run("sleep", &body).unwrap();
            let ItemBody::Deletion(d) = only_body(&n) else {
                panic!("{t}")
            };
            assert_eq!(d.deleted_event_type, EventType::Sleep);
            assert_eq!(d.deleted_at, 1_731_312_000_000);
            assert_eq!(
                n.items[0].item.source_id,
                nexus_core::identity::source_id(EventType::Sleep, "oura", "s-1")
            );
        }
        let e = run("sleep", &SLEEP.replace("\"long_sleep\"", "\"siesta\"")).unwrap_err();
        assert_eq!(e.field(), Some("type"));
    }

    #[test]
    fn the_last_stage_ends_at_bedtime_end() {
        // 29100 s in bed = 97 phases exactly; 99 phases reach 10 min past the end: clipped, and
        // the phases past the end (another stage here) add no zero-length stage.
        let long = format!("{}44", "2".repeat(97));
        let body = SLEEP.replace("\"4221133\"", &format!("\"{long}\""));
        let n = run("sleep", &body).unwrap();
        let ItemBody::Sleep(s) = &n.items[0].item.body else {
            panic!()
        };
        let st = s.stages.as_ref().unwrap();
        assert_eq!(st.len(), 1);
        assert_eq!(st[0].end_ts, s.end_ts.unwrap());
    }

    #[test]
    fn bad_sleeps_are_errors_naming_the_field() {
        let cases = [
            (SLEEP.replace("\"4221133\"", "\"42x\""), "sleep_phase_5_min"),
            (
                SLEEP.replace("\"4221133\"", &format!("\"{}\"", "1".repeat(200))),
                "sleep_phase_5_min",
            ),
            (
                SLEEP.replace("\"efficiency\":91", "\"efficiency\":191"),
                "efficiency",
            ),
            (
                SLEEP.replace("\"latency\":600", "\"latency\":-5"),
                "latency",
            ),
            (
                SLEEP.replace("2024-11-11T07:10:00-03:30", "2024-11-10T20:00:00-03:30"),
                "bedtime_end",
            ),
            (
                SLEEP.replace(
                    "\"bedtime_start\":\"2024-11-10T23:05:00-03:30\"",
                    "\"bedtime_start\":null",
                ),
                "bedtime_start",
            ),
            (
                SLEEP.replace("\"average_hrv\":41", "\"average_hrv\":\"41\""),
                "average_hrv",
            ),
            (
                SLEEP.replace("[61.0,57.0,null]", "[61.0,570.0,null]"),
                "heart_rate.items[1]",
            ),
        ];
        for (body, field) in cases {
            let e = run("sleep", &body).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedPayload, "{field}");
            assert_eq!(e.field(), Some(field));
        }
    }

    #[test]
    fn missing_optional_fields_stay_null() {
        let body = r#"{"id":"s-2","bedtime_start":"2024-11-11T13:00:00+05:30","bedtime_end":"2024-11-11T13:40:00+05:30","type":"sleep","time_in_bed":2400,"period":1,"low_battery_alert":false}"#;
        let n = run("sleep", body).unwrap();
        let ItemBody::Sleep(s) = only_body(&n) else {
            panic!()
        };
        assert_eq!(s.utc_offset_s, Some(19_800));
        assert_eq!(s.asleep_s, None);
        assert_eq!(s.stages, None);
        assert_eq!(s.temp_deviation_c, None);
    }
}
