//! Terra `sleep` -> `sleep` sessions (durations, averages, score, hypnogram as `stages`), plus
//! heart rate, HRV, respiration and SpO2 samples as chunks.

use nexus_core::items::{Sleep, SleepStage, SleepStageKind};
use nexus_core::{CaptureMode, Error, Item, ItemBody, NormalizeContext, Normalized, Result};

use super::{Series, data_of, device, metadata, non_negative, percent, span, user_id};
use crate::PROVIDER;
use crate::payload::{self, DataEvent, LevelSample};
use crate::stamp::stamp_ms;

/// Terra `SleepUploadType` (differs from the activity `UploadType`): 0 unknown, 1 manual,
/// 2 automatic, 3 tentative, 4 indeterminate; other values are refused.
fn capture_mode(field: &str, upload_type: Option<f64>) -> Result<Option<CaptureMode>> {
    match upload_type {
        None | Some(0.0 | 3.0 | 4.0) => Ok(None),
        Some(1.0) => Ok(Some(CaptureMode::Manual)),
        Some(2.0) => Ok(Some(CaptureMode::Automatic)),
        Some(x) => Err(Error::malformed(
            PROVIDER,
            field,
            format!("{x} is not a Terra SleepUploadType (0-4)"),
        )),
    }
}

/// Terra `SleepLevel`: 0 unknown, 1 awake, 2 sleeping (unstaged), 3 out of bed, 4 light, 5 deep,
/// 6 REM.
fn stage(level: f64) -> Option<SleepStageKind> {
    Some(match level {
        0.0 | 2.0 => SleepStageKind::Unknown,
        1.0 | 3.0 => SleepStageKind::Awake,
        4.0 => SleepStageKind::Light,
        5.0 => SleepStageKind::Deep,
        6.0 => SleepStageKind::Rem,
        _ => return None,
    })
}

/// Hypnogram samples mark where a stage begins; each stage lasts until the next sample, the last
/// one until the end of the sleep.
fn stages(path: &str, samples: &[LevelSample], end_ms: Option<i64>) -> Result<Vec<SleepStage>> {
    let mut marks: Vec<(i64, SleepStageKind)> = Vec::with_capacity(samples.len());
    for (i, s) in samples.iter().enumerate() {
        let ts = stamp_ms(s.timestamp.as_ref(), || format!("{path}[{i}].timestamp"))?;
        let level = s
            .level
            .ok_or_else(|| Error::malformed(PROVIDER, format!("{path}[{i}].level"), "missing"))?;
        let kind = stage(level).ok_or_else(|| {
            Error::malformed(
                PROVIDER,
                format!("{path}[{i}].level"),
                format!("unknown SleepLevel {level}"),
            )
        })?;
        marks.push((ts, kind));
    }
    marks.sort_by_key(|m| m.0);
    let mut out = Vec::with_capacity(marks.len());
    for (k, (start, kind)) in marks.iter().enumerate() {
        let end = match marks.get(k + 1) {
            Some(next) => next.0,
            None => match end_ms {
                Some(e) if e >= *start => e,
                _ => continue, // the last mark has no known end
            },
        };
        if end > *start {
            out.push(SleepStage {
                stage: *kind,
                start_ts: *start,
                end_ts: end,
            });
        }
    }
    Ok(out)
}

pub(super) fn normalize(body: &[u8], ctx: &NormalizeContext) -> Result<Normalized> {
    let (user, data) = data_of(payload::parse::<DataEvent<payload::Sleep>>(body)?)?;
    let uid = user_id(user.as_ref(), "user.user_id", ctx)?;
    let mut out = Normalized::default();
    for (i, s) in data.iter().enumerate() {
        let m = metadata(s.metadata.as_ref(), i)?;
        let (start, end) = span(m, i)?;
        let native = match m
            .summary_id
            .as_deref()
            .map(str::trim)
            .filter(|x| !x.is_empty())
        {
            Some(id) => id.to_owned(),
            None => format!("{uid}:{}", m.start_time.as_deref().unwrap_or_default()),
        };
        let p = |f: &str| format!("data[{i}].{f}");
        let dur = s.sleep_durations_data.as_ref();
        let asleep = dur.and_then(|d| d.asleep.as_ref());
        let awake = dur.and_then(|d| d.awake.as_ref());
        let hr = s.heart_rate_data.as_ref().and_then(|h| h.summary.as_ref());
        let resp = s.respiration_data.as_ref();
        let stages = match dur.and_then(|d| d.hypnogram_samples.as_ref()) {
            Some(h) if !h.is_empty() => Some(stages(
                &p("sleep_durations_data.hypnogram_samples"),
                h,
                end.as_ref().map(|e| e.epoch_ms),
            )?),
            _ => None,
        };
        let item = Sleep {
            start_ts: start.epoch_ms,
            end_ts: end.as_ref().map(|e| e.epoch_ms),
            timezone: None,
            utc_offset_s: start.utc_offset_s,
            is_nap: m.is_nap,
            in_bed_s: non_negative(
                &p("sleep_durations_data.other.duration_in_bed_seconds"),
                dur.and_then(|d| d.other.as_ref())
                    .and_then(|o| o.duration_in_bed_seconds),
            )?,
            asleep_s: non_negative(
                &p("sleep_durations_data.asleep.duration_asleep_state_seconds"),
                asleep.and_then(|a| a.duration_asleep_state_seconds),
            )?,
            awake_s: non_negative(
                &p("sleep_durations_data.awake.duration_awake_state_seconds"),
                awake.and_then(|a| a.duration_awake_state_seconds),
            )?,
            light_s: non_negative(
                &p("sleep_durations_data.asleep.duration_light_sleep_state_seconds"),
                asleep.and_then(|a| a.duration_light_sleep_state_seconds),
            )?,
            deep_s: non_negative(
                &p("sleep_durations_data.asleep.duration_deep_sleep_state_seconds"),
                asleep.and_then(|a| a.duration_deep_sleep_state_seconds),
            )?,
            rem_s: non_negative(
                &p("sleep_durations_data.asleep.duration_REM_sleep_state_seconds"),
                asleep.and_then(|a| a.duration_rem_sleep_state_seconds),
            )?,
            latency_s: non_negative(
                &p("sleep_durations_data.awake.sleep_latency_seconds"),
                awake.and_then(|a| a.sleep_latency_seconds),
            )?,
            efficiency_pct: percent(
                &p("sleep_durations_data.sleep_efficiency"),
                dur.and_then(|d| d.sleep_efficiency),
            )?,
            avg_heart_rate_bpm: non_negative(
                &p("heart_rate_data.summary.avg_hr_bpm"),
                hr.and_then(|h| h.avg_hr_bpm),
            )?,
            min_heart_rate_bpm: non_negative(
                &p("heart_rate_data.summary.min_hr_bpm"),
                hr.and_then(|h| h.min_hr_bpm),
            )?,
            avg_hrv_rmssd_ms: non_negative(
                &p("heart_rate_data.summary.avg_hrv_rmssd"),
                hr.and_then(|h| h.avg_hrv_rmssd),
            )?,
            avg_hrv_sdnn_ms: non_negative(
                &p("heart_rate_data.summary.avg_hrv_sdnn"),
                hr.and_then(|h| h.avg_hrv_sdnn),
            )?,
            avg_respiration_brpm: non_negative(
                &p("respiration_data.breaths_data.avg_breaths_per_min"),
                resp.and_then(|r| r.breaths_data.as_ref())
                    .and_then(|b| b.avg_breaths_per_min),
            )?,
            avg_spo2_pct: percent(
                &p("respiration_data.oxygen_saturation_data.avg_saturation_percentage"),
                resp.and_then(|r| r.oxygen_saturation_data.as_ref())
                    .and_then(|o| o.avg_saturation_percentage),
            )?,
            temp_deviation_c: s.temperature_data.as_ref().and_then(|t| t.delta),
            score: percent(
                &p("scores.sleep_score"),
                s.scores.as_ref().and_then(|x| x.sleep_score),
            )?,
            stages,
        };
        let dev = device(user.as_ref(), s.device_data.as_ref());
        let mode = capture_mode(&p("metadata.upload_type"), m.upload_type)?;
        out.push(
            Item::new(PROVIDER, &native, start.epoch_ms, ItemBody::Sleep(item))
                .with_device(dev.as_ref().map(|d| d.1.device_id.clone()))
                .with_capture_mode(mode),
        );
        if let Some(d) = &dev {
            out.add_device(d.1.clone());
        }
        let mut series = Series::new(&uid, dev.as_ref(), mode);
        series.heart(
            &p("heart_rate_data.detailed"),
            s.heart_rate_data.as_ref().and_then(|h| h.detailed.as_ref()),
        )?;
        series.respiration(
            &p("respiration_data.breaths_data.samples"),
            resp.and_then(|r| r.breaths_data.as_ref())
                .and_then(|b| b.samples.as_ref()),
        )?;
        series.spo2(
            &p("respiration_data.oxygen_saturation_data.samples"),
            resp.and_then(|r| r.oxygen_saturation_data.as_ref())
                .and_then(|o| o.samples.as_ref()),
        )?;
        series.finish(&mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(ts: &str, level: f64) -> LevelSample {
        LevelSample {
            timestamp: Some(ts.into()),
            level: Some(level),
        }
    }

    #[test]
    fn hypnogram_marks_become_stage_intervals_ending_at_the_next_mark() {
        let s = stages(
            "h",
            &[
                mark("2026-07-01T00:30:00+05:30", 5.0),
                mark("2026-07-01T00:00:00+05:30", 1.0),
                mark("2026-07-01T01:00:00+05:30", 6.0),
            ],
            Some(1_782_848_700_000), // 2026-07-01T01:15:00+05:30
        )
        .unwrap();
        let got: Vec<_> = s.iter().map(|x| (x.stage, x.end_ts - x.start_ts)).collect();
        assert_eq!(
            got,
            vec![
                (SleepStageKind::Awake, 1_800_000),
                (SleepStageKind::Deep, 1_800_000),
                (SleepStageKind::Rem, 900_000)
            ]
        );
        assert_eq!(s[0].start_ts, 1_782_844_200_000);
    }

    #[test]
    fn unknown_levels_are_refused_with_their_path() {
        let e = stages("h", &[mark("2026-07-01T00:30:00Z", 9.0)], None).unwrap_err();
        assert_eq!(e.field(), Some("h[0].level"));
    }

    #[test]
    fn sleep_levels_map_to_stages() {
        assert_eq!(stage(0.0), Some(SleepStageKind::Unknown));
        assert_eq!(stage(2.0), Some(SleepStageKind::Unknown));
        assert_eq!(stage(3.0), Some(SleepStageKind::Awake));
        assert_eq!(stage(4.0), Some(SleepStageKind::Light));
        assert_eq!(stage(7.0), None);
    }
}
