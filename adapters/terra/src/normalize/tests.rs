//! Mapping tests: one Terra body per case, checked field by field against hand-computed values.

use super::*;
use nexus_core::items::{ActivityType, ConnectionStatus, Flow, SleepStageKind, SyncStatus};
use nexus_core::{EventType, Item, ItemBody};
use serde_json::{Value, json};

fn run(kind: &str, body: &Value) -> Result<Normalized> {
    let rec = RawRecord {
        kind: kind.to_owned(),
        body: serde_json::to_vec(body).unwrap().into(),
        provider_user_id: None,
        provider_notification_id: Some("ref-1".into()),
        fetched_at: Some(1_782_900_000_000),
    };
    normalize(&rec, &NormalizeContext::default())
}

fn user() -> Value {
    json!({"user_id": "u-1", "provider": "GARMIN", "scopes": "ACTIVITY_EXPORT,HEALTH_EXPORT"})
}

fn of(out: &Normalized, t: EventType) -> Vec<&Item> {
    out.items
        .iter()
        .map(|n| &n.item)
        .filter(|i| i.event_type() == t)
        .collect()
}

fn ms(s: &str) -> i64 {
    nexus_core::time::parse_rfc3339("t", "t", s)
        .unwrap()
        .epoch_ms
}

#[test]
fn activity_maps_summary_fields_units_and_a_negative_offset() {
    let body = json!({"type": "activity", "user": user(), "version": "2022-03-16", "data": [{
        "metadata": {"summary_id": "act-1", "name": "Evening Run", "type": 8, "upload_type": 1,
            "start_time": "2026-07-01T18:00:00.000000-04:00", "end_time": "2026-07-01T18:45:30.000000-04:00"},
        "device_data": {"name": "Forerunner 265", "serial_number": "SN-1"},
        "distance_data": {"summary": {"distance_meters": 7400, "steps": 6900, "elevation": {"gain_actual_meters": 31.5}}},
        "calories_data": {"total_burned_calories": 520, "net_activity_calories": 430},
        "heart_rate_data": {"summary": {"avg_hr_bpm": 151, "max_hr_bpm": 178,
            "hr_zone_data": [{"zone": 2, "duration_seconds": 600}, {"zone": 6, "duration_seconds": 5}]}},
        "movement_data": {"avg_speed_meters_per_second": 2.71, "max_speed_meters_per_second": 4.1},
        "power_data": {"avg_watts": 240}
    }]});
    let out = run("activity", &body).unwrap();
    let a = of(&out, EventType::Activity);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].provider_ref, "act-1");
    assert_eq!(a[0].payload_ts, ms("2026-07-01T22:00:00Z"));
    assert_eq!(a[0].capture_mode, Some(nexus_core::CaptureMode::Automatic));
    let ItemBody::Activity(x) = &a[0].body else {
        panic!()
    };
    assert_eq!(x.utc_offset_s, Some(-4 * 3600));
    assert_eq!(x.end_ts, Some(ms("2026-07-01T22:45:30Z")));
    assert_eq!(x.activity_type, ActivityType::Running);
    assert_eq!(x.provider_activity_type.as_deref(), Some("8"));
    assert_eq!(x.distance_m, Some(7400.0));
    assert_eq!(x.steps, Some(6900));
    assert_eq!(x.elevation_gain_m, Some(31.5));
    assert_eq!(
        (x.calories_total_kcal, x.calories_active_kcal),
        (Some(520.0), Some(430.0))
    );
    assert_eq!(
        (x.avg_heart_rate_bpm, x.max_heart_rate_bpm),
        (Some(151.0), Some(178.0))
    );
    assert_eq!(
        (x.avg_speed_mps, x.max_speed_mps, x.avg_power_w),
        (Some(2.71), Some(4.1), Some(240.0))
    );
    assert_eq!(
        x.duration_s, None,
        "Terra gives no duration; Nexus does not compute one"
    );
    let zones = x.heart_rate_zones.as_ref().unwrap();
    assert_eq!(zones.len(), 1, "zone OTHER (6) is not a numbered zone");
    assert_eq!(
        (zones[0].zone, zones[0].duration_s, zones[0].min_bpm),
        (2, Some(600.0), None)
    );
    // The underlying source is a device, never the provider.
    assert_eq!(out.devices.len(), 1);
    let d = &out.devices[0];
    assert_eq!(d.name.as_deref(), Some("GARMIN"));
    assert_eq!(d.model.as_deref(), Some("Forerunner 265"));
    assert_eq!(d.provider_device_id.as_deref(), Some("SN-1"));
    assert_eq!(
        d.device_id,
        nexus_core::identity::device_id("terra", "GARMIN:SN-1")
    );
    assert_eq!(a[0].device_id.as_deref(), Some(d.device_id.as_str()));
}

#[test]
fn activity_without_summary_id_uses_user_and_start_time() {
    let body = json!({"type": "activity", "user": user(), "data": [{
        "metadata": {"type": 100, "upload_type": 2, "start_time": "2026-07-01T07:00:00+00:00", "end_time": "2026-07-01T08:00:00+00:00"}
    }]});
    let out = run("activity", &body).unwrap();
    let a = of(&out, EventType::Activity);
    assert_eq!(a[0].provider_ref, "u-1:2026-07-01T07:00:00+00:00");
    assert_eq!(a[0].capture_mode, Some(nexus_core::CaptureMode::Manual));
    let ItemBody::Activity(x) = &a[0].body else {
        panic!()
    };
    assert_eq!(x.activity_type, ActivityType::Yoga);
}

#[test]
fn activity_upload_type_delete_is_a_deletion_of_the_same_source_id() {
    let body = json!({"type": "activity", "user": user(), "data": [{
        "metadata": {"summary_id": "act-1", "type": 8, "upload_type": 4,
            "start_time": "2026-07-01T18:00:00-04:00", "end_time": "2026-07-01T18:45:00-04:00"}
    }]});
    let out = run("activity", &body).unwrap();
    assert_eq!(out.items.len(), 1);
    let d = &out.items[0].item;
    assert_eq!(d.event_type(), EventType::Deletion);
    assert_eq!(
        d.source_id,
        nexus_core::identity::source_id(EventType::Activity, "terra", "act-1")
    );
    let ItemBody::Deletion(x) = &d.body else {
        panic!()
    };
    assert_eq!(
        (x.deleted_event_type, x.deleted_at),
        (EventType::Activity, 1_782_900_000_000)
    );
}

#[test]
fn activity_type_codes() {
    use super::activity::activity_type as t;
    assert_eq!(t(1.0), ActivityType::Cycling);
    assert_eq!(t(58.0), ActivityType::Running);
    assert_eq!(t(83.0), ActivityType::Swimming);
    assert_eq!(t(80.0), ActivityType::StrengthTraining);
    assert_eq!(t(114.0), ActivityType::Hiit);
    assert_eq!(t(54.0), ActivityType::Rowing);
    assert_eq!(t(32.0), ActivityType::Other);
    assert_eq!(t(8.5), ActivityType::Other);
    assert_eq!(t(-8.0), ActivityType::Other);
}

#[test]
fn samples_become_chunks_with_rmssd_and_sdnn_apart() {
    let body = json!({"type": "activity", "user": user(), "data": [{
        "metadata": {"summary_id": "a", "type": 8, "upload_type": 1,
            "start_time": "2026-07-01T10:05:00+05:30", "end_time": "2026-07-01T10:40:00+05:30"},
        "heart_rate_data": {"detailed": {
            "hr_samples": [{"timestamp": "2026-07-01T10:05:00+05:30", "bpm": 120},
                           {"timestamp": "2026-07-01T10:15:00+05:30", "bpm": 140},
                           {"timestamp": "2026-07-01T10:05:00+05:30", "bpm": 121}],
            "hrv_samples_rmssd": [{"timestamp": "2026-07-01T10:06:00+05:30", "hrv_rmssd": 41.5}],
            "hrv_samples_sdnn": [{"timestamp": "2026-07-01T10:06:00+05:30", "hrv_sdnn": 55}]}}
    }]});
    let out = run("activity", &body).unwrap();
    let hr = of(&out, EventType::HeartRateSeries);
    // 10:05 and 10:15 IST are 04:35 and 04:45 UTC: the quarter hours 04:30 and 04:45.
    assert_eq!(hr.len(), 2);
    let c = hr[0].body.chunk().unwrap();
    assert_eq!(c.window_start, Some(ms("2026-07-01T04:30:00Z")));
    assert_eq!(c.chunk_index, Some(18));
    assert_eq!(c.samples.len(), 1);
    assert_eq!(
        c.samples[0].values.to_vec(),
        vec![Some(121.0)],
        "the later duplicate wins"
    );
    let dev = nexus_core::identity::device_id("terra", "GARMIN");
    assert_eq!(hr[0].device_id.as_deref(), Some(dev.as_str()));
    assert_eq!(
        hr[0].provider_ref,
        format!("u-1:GARMIN:{}", ms("2026-07-01T04:30:00Z"))
    );
    let r = of(&out, EventType::HrvRmssdSeries);
    let s = of(&out, EventType::HrvSdnnSeries);
    assert_eq!(
        r[0].body.chunk().unwrap().samples[0].values.to_vec(),
        vec![Some(41.5)]
    );
    assert_eq!(
        s[0].body.chunk().unwrap().samples[0].values.to_vec(),
        vec![Some(55.0)]
    );
    assert_ne!(r[0].source_id, s[0].source_id);
}

#[test]
fn cumulative_distance_becomes_intervals_and_a_decrease_is_refused() {
    let mk = |d2: f64| {
        json!({"type": "daily", "user": user(), "data": [{
            "metadata": {"start_time": "2026-07-01T00:00:00+00:00", "end_time": "2026-07-02T00:00:00+00:00", "upload_type": 1},
            "distance_data": {"detailed": {
                "distance_samples": [{"timestamp": "2026-07-01T09:00:00+00:00", "distance_meters": 100},
                                     {"timestamp": "2026-07-01T09:01:00+00:00", "distance_meters": 250},
                                     {"timestamp": "2026-07-01T09:03:00+00:00", "distance_meters": d2}],
                "step_samples": [{"timestamp": "2026-07-01T09:00:00+00:00", "steps": 88}]}}
        }]})
    };
    let out = run("daily", &mk(260.0)).unwrap();
    let d = of(&out, EventType::DistanceSeries);
    let got: Vec<_> = d[0]
        .body
        .chunk()
        .unwrap()
        .samples
        .iter()
        .map(|s| (s.ts, s.values.to_vec()))
        .collect();
    let t0 = ms("2026-07-01T09:00:00Z");
    assert_eq!(
        got,
        vec![
            (t0, vec![Some(60.0), Some(150.0)]),
            (t0 + 60_000, vec![Some(120.0), Some(10.0)])
        ]
    );
    let st = of(&out, EventType::StepsSeries);
    assert_eq!(
        st[0].body.chunk().unwrap().samples[0].values.to_vec(),
        vec![None, Some(88.0)]
    );
    // A float subtraction would give 718.5000000000001; the interval keeps the input's precision.
    let fine = json!({"type": "daily", "user": user(), "data": [{
        "metadata": {"start_time": "2026-07-01T00:00:00+00:00", "upload_type": 1},
        "distance_data": {"detailed": {"distance_samples": [
            {"timestamp": "2026-07-01T09:00:00+00:00", "distance_meters": 712.4},
            {"timestamp": "2026-07-01T09:01:00+00:00", "distance_meters": 1430.9}]}}}]});
    let out = run("daily", &fine).unwrap();
    let d = of(&out, EventType::DistanceSeries);
    assert_eq!(
        d[0].body.chunk().unwrap().samples[0].values.to_vec(),
        vec![Some(60.0), Some(718.5)]
    );
    let e = run("daily", &mk(200.0)).unwrap_err();
    assert_eq!(
        e.field(),
        Some("data[0].distance_data.detailed.distance_samples[2].distance_meters")
    );
}

#[test]
fn daily_summary_date_units_and_payload_ts_at_local_midnight() {
    let body = json!({"type": "daily", "user": user(), "data": [{
        "metadata": {"start_time": "2026-07-01T00:00:00.000000-03:30", "end_time": "2026-07-02T00:00:00.000000-03:30", "upload_type": 1},
        "distance_data": {"steps": 11894, "distance_meters": 9412.7, "floors_climbed": 12},
        "calories_data": {"total_burned_calories": 2450, "net_activity_calories": 610},
        "active_durations_data": {"activity_seconds": 5340, "inactivity_seconds": 36000},
        "heart_rate_data": {"summary": {"resting_hr_bpm": 52}},
        "stress_data": {"samples": [{"timestamp": "2026-07-01T08:00:00-03:30", "level": 35},
                                    {"timestamp": "2026-07-01T08:03:00-03:30", "level": -1}]}
    }]});
    let out = run("daily", &body).unwrap();
    let d = of(&out, EventType::DailySummary);
    assert_eq!(d[0].provider_ref, "u-1:2026-07-01");
    assert_eq!(d[0].payload_ts, ms("2026-07-01T03:30:00Z"));
    let ItemBody::DailySummary(x) = &d[0].body else {
        panic!()
    };
    assert_eq!(x.date, "2026-07-01");
    assert_eq!(
        (x.steps, x.distance_m, x.floors),
        (Some(11894), Some(9412.7), Some(12.0))
    );
    assert_eq!(
        (x.calories_total_kcal, x.calories_active_kcal),
        (Some(2450.0), Some(610.0))
    );
    assert_eq!(
        (x.active_minutes, x.sedentary_minutes),
        (Some(89.0), Some(600.0))
    );
    assert_eq!(x.resting_heart_rate_bpm, Some(52.0));
    let s = of(&out, EventType::StressSeries);
    let ItemBody::StressSeries(c) = &s[0].body else {
        panic!()
    };
    assert_eq!(c.scale_max, Some(100.0));
    assert_eq!(
        c.chunk.samples.len(),
        1,
        "the -1 no-reading marker is skipped"
    );
}

#[test]
fn sleep_maps_durations_averages_stages_and_series() {
    let body = json!({"type": "sleep", "user": user(), "data": [{
        "metadata": {"summary_id": "sl-1", "is_nap": false, "upload_type": 2,
            "start_time": "2026-06-30T23:10:00.000000+05:30", "end_time": "2026-07-01T06:40:00.000000+05:30"},
        "sleep_durations_data": {
            "asleep": {"duration_asleep_state_seconds": 24000, "duration_light_sleep_state_seconds": 13000,
                       "duration_deep_sleep_state_seconds": 5500, "duration_REM_sleep_state_seconds": 5500},
            "awake": {"duration_awake_state_seconds": 3000, "sleep_latency_seconds": 600},
            "other": {"duration_in_bed_seconds": 27000},
            "sleep_efficiency": 88.9,
            "hypnogram_samples": [{"timestamp": "2026-06-30T23:10:00+05:30", "level": 1},
                                  {"timestamp": "2026-06-30T23:20:00+05:30", "level": 4}]},
        "heart_rate_data": {"summary": {"avg_hr_bpm": 55, "min_hr_bpm": 47, "avg_hrv_rmssd": 48, "avg_hrv_sdnn": 61}},
        "respiration_data": {"breaths_data": {"avg_breaths_per_min": 14.2,
                                 "samples": [{"timestamp": "2026-07-01T01:00:00+05:30", "breaths_per_min": 14}]},
                             "oxygen_saturation_data": {"avg_saturation_percentage": 96,
                                 "samples": [{"timestamp": "2026-07-01T01:00:00+05:30", "percentage": 95, "type": 0},
                                             {"timestamp": "2026-07-01T01:01:00+05:30", "percentage": 60, "type": 1}]}},
        "temperature_data": {"delta": -0.3},
        "scores": {"sleep_score": 81}
    }]});
    let out = run("sleep", &body).unwrap();
    let s = of(&out, EventType::Sleep);
    assert_eq!(s[0].provider_ref, "sl-1");
    assert_eq!(s[0].capture_mode, Some(nexus_core::CaptureMode::Automatic));
    let ItemBody::Sleep(x) = &s[0].body else {
        panic!()
    };
    assert_eq!(x.start_ts, ms("2026-06-30T17:40:00Z"));
    assert_eq!(x.utc_offset_s, Some(19_800));
    assert_eq!(x.is_nap, Some(false));
    assert_eq!(
        (x.in_bed_s, x.asleep_s, x.awake_s),
        (Some(27000.0), Some(24000.0), Some(3000.0))
    );
    assert_eq!(
        (x.light_s, x.deep_s, x.rem_s),
        (Some(13000.0), Some(5500.0), Some(5500.0))
    );
    assert_eq!((x.latency_s, x.efficiency_pct), (Some(600.0), Some(88.9)));
    assert_eq!(
        (x.avg_heart_rate_bpm, x.min_heart_rate_bpm),
        (Some(55.0), Some(47.0))
    );
    assert_eq!(
        (x.avg_hrv_rmssd_ms, x.avg_hrv_sdnn_ms),
        (Some(48.0), Some(61.0))
    );
    assert_eq!(
        (x.avg_respiration_brpm, x.avg_spo2_pct),
        (Some(14.2), Some(96.0))
    );
    assert_eq!((x.temp_deviation_c, x.score), (Some(-0.3), Some(81.0)));
    let st = x.stages.as_ref().unwrap();
    assert_eq!(st.len(), 2);
    assert_eq!(
        (st[0].stage, st[0].end_ts - st[0].start_ts),
        (SleepStageKind::Awake, 600_000)
    );
    assert_eq!(
        (st[1].stage, st[1].end_ts),
        (SleepStageKind::Light, ms("2026-07-01T01:10:00Z"))
    );
    let spo2 = of(&out, EventType::Spo2Series);
    assert_eq!(
        spo2[0].body.chunk().unwrap().samples.len(),
        1,
        "muscle SmO2 is not SpO2"
    );
    assert_eq!(of(&out, EventType::RespirationSeries).len(), 1);
}

#[test]
fn body_measurements_blood_pressure_temperature_and_glucose() {
    let body = json!({"type": "body", "user": user(), "data": [{
        "metadata": {"start_time": "2026-07-01T00:00:00+01:00", "end_time": "2026-07-02T00:00:00+01:00"},
        "measurements_data": {"measurements": [
            {"measurement_time": "2026-07-01T07:55:02+01:00", "weight_kg": 72.4, "height_cm": 178,
             "BMI": 22.9, "bodyfat_percentage": 17.9, "muscle_mass_g": 33500, "bone_mass_g": 3100,
             "lean_mass_g": 59400, "water_percentage": 58.2},
            {"measurement_time": "2026-07-01T08:00:00+01:00", "insulin_units": 4}]},
        "blood_pressure_data": {"blood_pressure_samples": [
            {"timestamp": "2026-07-01T08:10:00+01:00", "systolic_bp": 121, "diastolic_bp": 79}]},
        "temperature_data": {
            "skin_temperature_samples": [{"timestamp": "2026-07-01T08:10:00+01:00", "temperature_celsius": 33.1}],
            "body_temperature_samples": [{"timestamp": "2026-07-01T08:10:00+01:00", "temperature_celsius": 36.8}]},
        "glucose_data": {"blood_glucose_samples": [{"timestamp": "2026-07-01T08:10:00+01:00", "blood_glucose_mg_per_dL": 96}]}
    }]});
    let out = run("body", &body).unwrap();
    let b = of(&out, EventType::BodyMeasurement);
    assert_eq!(
        b.len(),
        1,
        "a measurement without Nexus fields emits nothing"
    );
    let t = ms("2026-07-01T07:55:02+01:00");
    assert_eq!(b[0].provider_ref, format!("u-1:2026-07-01:{t}"));
    assert_eq!(b[0].payload_ts, t);
    let ItemBody::BodyMeasurement(x) = &b[0].body else {
        panic!()
    };
    assert_eq!(
        (x.weight_kg, x.height_m, x.bmi),
        (Some(72.4), Some(1.78), Some(22.9))
    );
    assert_eq!((x.body_fat_pct, x.body_water_pct), (Some(17.9), Some(58.2)));
    assert_eq!(
        (x.muscle_mass_kg, x.bone_mass_kg, x.lean_mass_kg),
        (Some(33.5), Some(3.1), Some(59.4))
    );
    let bp = of(&out, EventType::BloodPressure);
    let ItemBody::BloodPressure(p) = &bp[0].body else {
        panic!()
    };
    assert_eq!(
        (p.systolic_mmhg, p.diastolic_mmhg, p.pulse_bpm),
        (Some(121.0), Some(79.0), None)
    );
    let temps = of(&out, EventType::TemperatureSeries);
    assert_eq!(temps.len(), 2);
    assert_ne!(
        temps[0].source_id, temps[1].source_id,
        "skin and body temperature never share a chunk"
    );
    let kinds: Vec<_> = temps
        .iter()
        .map(|i| match &i.body {
            ItemBody::TemperatureSeries(t) => (t.temperature_kind, t.chunk.samples[0].values[0]),
            _ => panic!(),
        })
        .collect();
    use nexus_core::items::TemperatureKind::{Body, Skin};
    assert_eq!(
        kinds,
        vec![(Some(Skin), Some(33.1)), (Some(Body), Some(36.8))]
    );
    let g = of(&out, EventType::GlucoseSeries);
    assert_eq!(
        g[0].body.chunk().unwrap().samples[0].values.to_vec(),
        vec![Some(96.0)]
    );
}

#[test]
fn nutrition_and_menstruation_are_per_date() {
    let n = json!({"type": "nutrition", "user": user(), "data": [{
        "metadata": {"start_time": "2026-07-01T00:00:00-07:00", "end_time": "2026-07-02T00:00:00-07:00"},
        "summary": {"macros": {"calories": 2105, "protein_g": 128.4, "carbohydrates_g": 231, "fat_g": 71.3,
                               "fiber_g": 30, "sugar_g": 60, "sodium_mg": 2100}, "water_ml": 2300}
    }]});
    let out = run("nutrition", &n).unwrap();
    let i = &out.items[0].item;
    assert_eq!(
        (i.provider_ref.as_str(), i.payload_ts),
        ("u-1:2026-07-01", ms("2026-07-01T07:00:00Z"))
    );
    let ItemBody::Nutrition(x) = &i.body else {
        panic!()
    };
    assert_eq!(
        (x.calories_kcal, x.protein_g, x.water_ml),
        (Some(2105.0), Some(128.4), Some(2300.0))
    );
    assert_eq!(
        (x.fiber_g, x.sugar_g, x.sodium_mg),
        (Some(30.0), Some(60.0), Some(2100.0))
    );

    let m = json!({"type": "menstruation", "user": user(), "data": [{
        "metadata": {"start_time": "2026-07-01T00:00:00+09:30", "end_time": "2026-07-02T00:00:00+09:30"},
        "menstruation_data": {"day_in_cycle": 4, "current_phase": "menstrual",
            "last_updated_time": "2026-07-01T21:00:00+09:30",
            "menstruation_flow": [{"timestamp": "2026-07-01T20:00:00+09:30", "flow": 3},
                                  {"timestamp": "2026-07-01T08:00:00+09:30", "flow": 4}]}
    }]});
    let out = run("menstruation", &m).unwrap();
    let n = &out.items[0];
    assert_eq!(n.provider_version, Some(ms("2026-07-01T21:00:00+09:30")));
    assert_eq!(n.item.provider_ref, "u-1:2026-07-01");
    let ItemBody::Menstruation(x) = &n.item.body else {
        panic!()
    };
    assert_eq!((x.cycle_day, x.period_day), (Some(4), None));
    assert_eq!(x.flow, Some(Flow::Medium), "the latest flow log of the day");
    assert_eq!(x.phase.as_deref(), Some("menstrual"));

    let predicted = json!({"type": "menstruation", "user": user(), "data": [{
        "metadata": {"start_time": "2026-07-20T00:00:00+09:30", "end_time": "2026-07-21T00:00:00+09:30"},
        "menstruation_data": {"day_in_cycle": 23, "is_predicted_cycle": "true"}}]});
    assert!(run("menstruation", &predicted).unwrap().items.is_empty());
    let odd = json!({"type": "menstruation", "user": user(), "data": [{
        "metadata": {"start_time": "2026-07-20T00:00:00+09:30"},
        "menstruation_data": {"is_predicted_cycle": 1}}]});
    assert_eq!(
        run("menstruation", &odd).unwrap_err().field(),
        Some("data[0].menstruation_data.is_predicted_cycle")
    );
}

#[test]
fn athlete_is_a_profile() {
    let body = json!({"type": "athlete", "user": user(), "athlete": {"sex": "Female", "date_of_birth": "1990-02-03", "email": "x@example.com"}});
    let out = run("athlete", &body).unwrap();
    let ItemBody::Profile(p) = &out.items[0].item.body else {
        panic!()
    };
    assert_eq!(
        (
            p.provider_user_id.as_deref(),
            p.birth_year,
            p.sex.as_deref()
        ),
        (Some("u-1"), Some(1990), Some("female"))
    );
    assert_eq!(out.items[0].item.provider_ref, "u-1");
}

#[test]
fn connection_events_map_to_statuses() {
    let cases = [
        (
            "auth",
            json!({"type": "auth", "status": "success", "user": user(), "reference_id": "r", "widget_session_id": "w"}),
            ConnectionStatus::Connected,
        ),
        (
            "auth",
            json!({"type": "auth", "status": "error", "user": user(), "provider": "GARMIN", "message": "failed", "reason": "access_denied", "reference_id": "r", "widget_session_id": "w"}),
            ConnectionStatus::AuthFailed,
        ),
        (
            "deauth",
            json!({"type": "deauth", "status": "success", "user": user(), "message": "m"}),
            ConnectionStatus::Disconnected,
        ),
        (
            "access_revoked",
            json!({"type": "access_revoked", "user": user(), "message": "m"}),
            ConnectionStatus::Revoked,
        ),
        (
            "connection_error",
            json!({"type": "connection_error", "user": user(), "message": "m"}),
            ConnectionStatus::Degraded,
        ),
        (
            "google_no_datasource",
            json!({"type": "google_no_datasource", "user": user(), "message": "m"}),
            ConnectionStatus::NoDataSource,
        ),
    ];
    for (kind, body, status) in cases {
        let out = run(kind, &body).unwrap();
        let ItemBody::Connection(c) = &out.items[0].item.body else {
            panic!()
        };
        assert_eq!(c.status, status, "{kind}");
        assert_eq!(out.items[0].item.provider_ref, "u-1");
        assert_eq!(
            c.scopes.as_deref(),
            Some(&["ACTIVITY_EXPORT".to_owned(), "HEALTH_EXPORT".to_owned()][..])
        );
    }
    let out = run("auth", &json!({"type": "auth", "status": "error", "user": user(), "message": "failed", "reason": "access_denied"})).unwrap();
    let ItemBody::Connection(c) = &out.items[0].item.body else {
        panic!()
    };
    assert_eq!(c.reason.as_deref(), Some("access_denied"));

    let pc = json!({"type": "permission_change", "user": user(), "message": "m", "version": "v", "scopes_added": "BODY_EXPORT, SLEEP_EXPORT", "scopes_removed": ""});
    let out = run("permission_change", &pc).unwrap();
    let ItemBody::Connection(c) = &out.items[0].item.body else {
        panic!()
    };
    assert_eq!(c.status, ConnectionStatus::PermissionsChanged);
    assert_eq!(
        c.scopes_added,
        Some(vec!["BODY_EXPORT".to_owned(), "SLEEP_EXPORT".to_owned()])
    );
    assert_eq!(c.scopes_removed, Some(vec![]));

    let re = json!({"type": "user_reauth", "new_user": {"user_id": "u-2", "provider": "GARMIN"}, "old_user": {"user_id": "u-1", "provider": "GARMIN"}, "message": "m"});
    let out = run("user_reauth", &re).unwrap();
    let i = &out.items[0].item;
    let ItemBody::Connection(c) = &i.body else {
        panic!()
    };
    assert_eq!(
        (c.status, c.previous_provider_user_id.as_deref()),
        (ConnectionStatus::Reconnected, Some("u-1"))
    );
    assert_eq!(i.provider_ref, "u-2");

    let e = run(
        "auth",
        &json!({"type": "auth", "status": "pending", "user": user()}),
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("status"));
}

#[test]
fn sync_events() {
    let out = run("large_request_sending", &json!({"type": "large_request_sending", "user": user(), "reference": "big-1", "message": "m", "expected_payloads": 12})).unwrap();
    let i = &out.items[0].item;
    let ItemBody::Sync(s) = &i.body else { panic!() };
    assert_eq!(
        (s.status, s.expected_payloads, s.reference.as_deref()),
        (SyncStatus::InProgress, Some(12), Some("big-1"))
    );
    assert_eq!(i.provider_ref, "u-1:big-1");

    let rl = json!({"type": "rate_limit_hit", "user": user(), "start_date": "2026-06-01T00:00:00-05:00", "end_date": "2026-06-30", "retrying_at": "2026-07-01T12:30:00+00:00", "message": "m"});
    let out = run("rate_limit_hit", &rl).unwrap();
    let ItemBody::Sync(s) = &out.items[0].item.body else {
        panic!()
    };
    assert_eq!(s.status, SyncStatus::RateLimited);
    assert_eq!(s.range_start_ts, Some(ms("2026-06-01T05:00:00Z")));
    assert_eq!(s.range_end_ts, Some(ms("2026-06-30T00:00:00Z")));
    assert_eq!(s.retry_at_ts, Some(ms("2026-07-01T12:30:00Z")));
    assert_eq!(
        s.reference.as_deref(),
        Some("ref-1"),
        "the terra-reference header stands in"
    );

    let out = run("large_request_processing", &json!({"type": "large_request_processing", "user": user(), "reference": "big-1", "message": "m"})).unwrap();
    let ItemBody::Sync(s) = &out.items[0].item.body else {
        panic!()
    };
    assert_eq!(s.status, SyncStatus::Started);
}

#[test]
fn bad_input_names_the_field() {
    let no_offset = json!({"type": "daily", "user": user(), "data": [{"metadata": {"start_time": "2026-07-01T00:00:00", "upload_type": 0}}]});
    let e = run("daily", &no_offset).unwrap_err();
    assert_eq!(
        (e.provider(), e.field()),
        (Some("terra"), Some("data[0].metadata.start_time"))
    );

    let wrong_type = json!({"type": "daily", "user": user(), "data": [{"metadata": {"start_time": "2026-07-01T00:00:00Z"}, "distance_data": {"steps": "many"}}]});
    let e = run("daily", &wrong_type).unwrap_err();
    assert_eq!(e.field(), Some("data[0].distance_data.steps"));

    let fractional = json!({"type": "daily", "user": user(), "data": [{"metadata": {"start_time": "2026-07-01T00:00:00Z"}, "distance_data": {"steps": 10.5}}]});
    assert_eq!(
        run("daily", &fractional).unwrap_err().field(),
        Some("data[0].distance_data.steps")
    );

    let bad_pct = json!({"type": "sleep", "user": user(), "data": [{"metadata": {"start_time": "2026-07-01T00:00:00Z", "upload_type": 2}, "sleep_durations_data": {"sleep_efficiency": 140}}]});
    assert_eq!(
        run("sleep", &bad_pct).unwrap_err().field(),
        Some("data[0].sleep_durations_data.sleep_efficiency")
    );

    let no_data = json!({"type": "sleep", "user": user()});
    assert_eq!(run("sleep", &no_data).unwrap_err().field(), Some("data"));

    let backwards = json!({"type": "sleep", "user": user(), "data": [{"metadata": {"start_time": "2026-07-01T08:00:00Z", "end_time": "2026-07-01T07:00:00Z", "upload_type": 2}}]});
    assert_eq!(
        run("sleep", &backwards).unwrap_err().field(),
        Some("data[0].metadata.end_time")
    );

    let bad_upload = json!({"type": "activity", "user": user(), "data": [{"metadata": {"summary_id": "a", "type": 8, "upload_type": 9, "start_time": "2026-07-01T00:00:00Z"}}]});
    assert_eq!(
        run("activity", &bad_upload).unwrap_err().field(),
        Some("data[0].metadata.upload_type")
    );
    let bad_sleep_upload = json!({"type": "sleep", "user": user(), "data": [{"metadata": {"upload_type": 5, "start_time": "2026-07-01T00:00:00Z"}}]});
    assert_eq!(
        run("sleep", &bad_sleep_upload).unwrap_err().field(),
        Some("data[0].metadata.upload_type")
    );

    let no_user = json!({"type": "daily", "data": []});
    assert_eq!(
        run("daily", &no_user).unwrap_err().field(),
        Some("user.user_id")
    );

    let e = run("s3_payload", &json!({"type": "s3_payload"})).unwrap_err();
    assert_eq!(e.kind(), nexus_core::ErrorKind::UnsupportedEvent);
}

#[test]
fn normalize_is_deterministic() {
    let body = json!({"type": "daily", "user": user(), "data": [{
        "metadata": {"start_time": "2026-07-01T00:00:00+01:00", "end_time": "2026-07-02T00:00:00+01:00", "upload_type": 1},
        "distance_data": {"steps": 10}}]});
    assert_eq!(run("daily", &body).unwrap(), run("daily", &body).unwrap());
}

#[test]
fn sample_errors_name_the_sample_and_field() {
    let daily = |hr: Value| {
        json!({"type": "daily", "user": user(), "data": [{
            "metadata": {"start_time": "2026-07-01T00:00:00+01:00", "upload_type": 1},
            "heart_rate_data": {"detailed": {"hr_samples": hr}}}]})
    };
    let field = |hr: Value| {
        run("daily", &daily(hr))
            .unwrap_err()
            .field()
            .map(str::to_owned)
    };
    let ok = json!({"timestamp": "2026-07-01T08:00:00+01:00", "bpm": 60});
    assert_eq!(
        field(json!([ok, {"timestamp": "2026-07-01T08:01:00", "bpm": 61}])).as_deref(),
        Some("data[0].heart_rate_data.detailed.hr_samples[1].timestamp")
    );
    assert_eq!(
        field(json!([ok, {"bpm": 61}])).as_deref(),
        Some("data[0].heart_rate_data.detailed.hr_samples[1].timestamp")
    );
    assert_eq!(
        field(json!([ok, ok, {"timestamp": "2026-07-01T08:01:00+01:00", "bpm": -3}])).as_deref(),
        Some("data[0].heart_rate_data.detailed.hr_samples[2].bpm")
    );
    // A wrong JSON type is reported by the (second, path-tracking) parse.
    assert_eq!(
        field(json!([ok, {"timestamp": 1_782_900_000, "bpm": 61}])).as_deref(),
        Some("data[0].heart_rate_data.detailed.hr_samples[1].timestamp")
    );
    // An uncommon but valid shape takes the general parser, to the same instant.
    let out = run(
        "daily",
        &daily(json!([{"timestamp": "2026-07-01T08:00:00+0100", "bpm": 60}, ok])),
    )
    .unwrap();
    let hr = of(&out, EventType::HeartRateSeries);
    assert_eq!(hr[0].body.chunk().unwrap().samples.len(), 1, "one per ts");
    assert_eq!(
        hr[0].body.chunk().unwrap().samples[0].ts,
        ms("2026-07-01T07:00:00Z")
    );
}
