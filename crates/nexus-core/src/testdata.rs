//! Test fixtures shared by the unit tests of this crate: items with every field set, and the field
//! lists of EVENTS.md written out by hand (not derived from the types, so the tests compare the
//! types against the spec).

use crate::items::*;
use crate::{CaptureMode, EventType, Item, ItemBody};

/// 2023-11-15T00:00:00Z, a UTC midnight.
pub const T0: i64 = 1_700_006_400_000;

/// The type's own fields as EVENTS.md sections 4 and 5 list them, in order.
pub fn spec_fields(t: EventType) -> &'static [&'static str] {
    const CHUNK: &[&str] = &[
        "window_start",
        "window_end",
        "chunk_index",
        "day_complete",
        "resolution_s",
        "columns",
        "samples",
    ];
    match t {
        EventType::Activity => &[
            "start_ts",
            "end_ts",
            "timezone",
            "utc_offset_s",
            "activity_type",
            "provider_activity_type",
            "name",
            "duration_s",
            "moving_duration_s",
            "distance_m",
            "steps",
            "calories_total_kcal",
            "calories_active_kcal",
            "avg_heart_rate_bpm",
            "max_heart_rate_bpm",
            "elevation_gain_m",
            "avg_speed_mps",
            "max_speed_mps",
            "avg_power_w",
            "heart_rate_zones",
        ],
        EventType::Sleep => &[
            "start_ts",
            "end_ts",
            "timezone",
            "utc_offset_s",
            "is_nap",
            "in_bed_s",
            "asleep_s",
            "awake_s",
            "light_s",
            "deep_s",
            "rem_s",
            "latency_s",
            "efficiency_pct",
            "avg_heart_rate_bpm",
            "min_heart_rate_bpm",
            "avg_hrv_rmssd_ms",
            "avg_hrv_sdnn_ms",
            "avg_respiration_brpm",
            "avg_spo2_pct",
            "temp_deviation_c",
            "score",
            "stages",
        ],
        EventType::BodyMeasurement => &[
            "weight_kg",
            "height_m",
            "bmi",
            "body_fat_pct",
            "muscle_mass_kg",
            "bone_mass_kg",
            "body_water_pct",
            "lean_mass_kg",
        ],
        EventType::BloodPressure => &["systolic_mmhg", "diastolic_mmhg", "pulse_bpm"],
        EventType::DailySummary => &[
            "date",
            "timezone",
            "steps",
            "distance_m",
            "floors",
            "calories_total_kcal",
            "calories_active_kcal",
            "active_minutes",
            "sedentary_minutes",
            "resting_heart_rate_bpm",
        ],
        EventType::DailyReadiness => &[
            "date",
            "timezone",
            "score_kind",
            "score",
            "resting_heart_rate_bpm",
            "hrv_rmssd_ms",
            "temp_deviation_c",
        ],
        EventType::Nutrition => &[
            "date",
            "timezone",
            "calories_kcal",
            "protein_g",
            "carbohydrates_g",
            "fat_g",
            "fiber_g",
            "sugar_g",
            "sodium_mg",
            "water_ml",
        ],
        EventType::Menstruation => &[
            "date",
            "timezone",
            "cycle_day",
            "period_day",
            "flow",
            "phase",
        ],
        EventType::Profile => &[
            "provider_user_id",
            "birth_year",
            "sex",
            "height_m",
            "weight_kg",
        ],
        EventType::Connection => &[
            "status",
            "reason",
            "scopes",
            "scopes_added",
            "scopes_removed",
            "previous_provider_user_id",
            "occurred_at",
        ],
        EventType::Sync => &[
            "status",
            "resource",
            "range_start_ts",
            "range_end_ts",
            "expected_payloads",
            "retry_at_ts",
            "reference",
        ],
        EventType::Deletion => &["deleted_event_type", "deleted_at"],
        EventType::TemperatureSeries => &[
            "window_start",
            "window_end",
            "chunk_index",
            "day_complete",
            "resolution_s",
            "columns",
            "samples",
            "temperature_kind",
        ],
        EventType::StressSeries => &[
            "window_start",
            "window_end",
            "chunk_index",
            "day_complete",
            "resolution_s",
            "columns",
            "samples",
            "scale_max",
        ],
        _ => CHUNK,
    }
}

/// The common fields of EVENTS.md section 2, in order.
pub const SPEC_COMMON: &[&str] = &[
    "event_type",
    "data_version",
    "source_id",
    "provider_ref",
    "device_id",
    "payload_ts",
    "revision",
    "capture_mode",
];

/// The envelope fields of EVENTS.md section 1, in order.
pub const SPEC_ENVELOPE: &[&str] = &[
    "event_id",
    "schema_version",
    "event_type",
    "stream",
    "provider",
    "sources",
    "devices",
    "tenant_id",
    "user_id",
    "external_user_ref",
    "connection_id",
    "emitted_at",
    "data",
];

/// A chunk of `t` with every field set: samples with integral, fractional and null values.
pub fn full_chunk(t: EventType) -> TimeseriesChunk {
    let n = t.columns().len() - 1;
    let row = |i: usize, base: f64| -> crate::items::Values {
        (0..n)
            .map(|k| match (i + k) % 3 {
                0 => Some(base + k as f64),        // integral
                1 => Some(base + 0.25 + k as f64), // fractional
                _ => None,                         // missing value
            })
            .collect()
    };
    TimeseriesChunk {
        window_start: Some(T0),
        window_end: Some(T0 + 900_000),
        chunk_index: Some(0),
        day_complete: Some(false),
        resolution_s: Some(60.0),
        columns: t.columns().iter().map(|c| (*c).to_owned()).collect(),
        samples: vec![
            Sample {
                ts: T0,
                values: row(0, 60.0),
            },
            Sample {
                ts: T0 + 60_000,
                values: row(1, 61.0),
            },
            Sample {
                ts: T0 + 120_000,
                values: row(2, 1e6 + 0.5),
            },
        ],
    }
}

/// An item of `t` with every optional field set (nested arrays non-empty), device and capture
/// mode set, revision 3.
pub fn full_item(t: EventType) -> Item {
    let body = match t {
        EventType::Activity => ItemBody::Activity(Activity {
            start_ts: T0,
            end_ts: Some(T0 + 3_600_000),
            timezone: Some("Europe/Berlin".into()),
            utc_offset_s: Some(3600),
            activity_type: ActivityType::Running,
            provider_activity_type: Some("run".into()),
            name: Some("Morning run".into()),
            duration_s: Some(3600.0),
            moving_duration_s: Some(3500.5),
            distance_m: Some(10_000.25),
            steps: Some(9000),
            calories_total_kcal: Some(700.0),
            calories_active_kcal: Some(550.5),
            avg_heart_rate_bpm: Some(150.0),
            max_heart_rate_bpm: Some(181.0),
            elevation_gain_m: Some(120.5),
            avg_speed_mps: Some(2.78),
            max_speed_mps: Some(4.1),
            avg_power_w: Some(250.0),
            heart_rate_zones: Some(vec![
                HeartRateZone {
                    zone: 1,
                    min_bpm: Some(100.0),
                    max_bpm: Some(130.0),
                    duration_s: Some(600.0),
                },
                HeartRateZone {
                    zone: 2,
                    min_bpm: None,
                    max_bpm: None,
                    duration_s: Some(3000.5),
                },
            ]),
        }),
        EventType::Sleep => ItemBody::Sleep(Sleep {
            start_ts: T0,
            end_ts: Some(T0 + 28_800_000),
            timezone: Some("America/New_York".into()),
            utc_offset_s: Some(-18_000),
            is_nap: Some(false),
            in_bed_s: Some(28_800.0),
            asleep_s: Some(27_000.0),
            awake_s: Some(1800.0),
            light_s: Some(14_000.0),
            deep_s: Some(6000.0),
            rem_s: Some(7000.0),
            latency_s: Some(600.0),
            efficiency_pct: Some(93.75),
            avg_heart_rate_bpm: Some(55.5),
            min_heart_rate_bpm: Some(48.0),
            avg_hrv_rmssd_ms: Some(45.2),
            avg_hrv_sdnn_ms: Some(60.1),
            avg_respiration_brpm: Some(14.5),
            avg_spo2_pct: Some(96.0),
            temp_deviation_c: Some(-0.2),
            score: Some(82.0),
            stages: Some(vec![
                SleepStage {
                    stage: SleepStageKind::Light,
                    start_ts: T0,
                    end_ts: T0 + 600_000,
                },
                SleepStage {
                    stage: SleepStageKind::Deep,
                    start_ts: T0 + 600_000,
                    end_ts: T0 + 1_200_000,
                },
            ]),
        }),
        EventType::BodyMeasurement => ItemBody::BodyMeasurement(BodyMeasurement {
            weight_kg: Some(72.5),
            height_m: Some(1.8),
            bmi: Some(22.4),
            body_fat_pct: Some(18.0),
            muscle_mass_kg: Some(33.1),
            bone_mass_kg: Some(3.2),
            body_water_pct: Some(55.0),
            lean_mass_kg: Some(59.4),
        }),
        EventType::BloodPressure => ItemBody::BloodPressure(BloodPressure {
            systolic_mmhg: Some(120.0),
            diastolic_mmhg: Some(80.0),
            pulse_bpm: Some(64.0),
        }),
        EventType::DailySummary => ItemBody::DailySummary(DailySummary {
            date: "2023-11-15".into(),
            timezone: Some("UTC".into()),
            steps: Some(12_345),
            distance_m: Some(9_000.5),
            floors: Some(12.0),
            calories_total_kcal: Some(2400.0),
            calories_active_kcal: Some(600.25),
            active_minutes: Some(75.0),
            sedentary_minutes: Some(600.0),
            resting_heart_rate_bpm: Some(52.0),
        }),
        EventType::DailyReadiness => ItemBody::DailyReadiness(DailyReadiness {
            date: "2023-11-15".into(),
            timezone: Some("UTC".into()),
            score_kind: "oura_readiness".into(),
            score: Some(85.0),
            resting_heart_rate_bpm: Some(50.0),
            hrv_rmssd_ms: Some(48.5),
            temp_deviation_c: Some(0.1),
        }),
        EventType::Nutrition => ItemBody::Nutrition(Nutrition {
            date: "2023-11-15".into(),
            timezone: Some("UTC".into()),
            calories_kcal: Some(2100.0),
            protein_g: Some(120.5),
            carbohydrates_g: Some(250.0),
            fat_g: Some(70.0),
            fiber_g: Some(30.0),
            sugar_g: Some(45.5),
            sodium_mg: Some(2300.0),
            water_ml: Some(2000.0),
        }),
        EventType::Menstruation => ItemBody::Menstruation(Menstruation {
            date: "2023-11-15".into(),
            timezone: Some("UTC".into()),
            cycle_day: Some(3),
            period_day: Some(3),
            flow: Some(Flow::Medium),
            phase: Some("menstrual".into()),
        }),
        EventType::Profile => ItemBody::Profile(Profile {
            provider_user_id: Some("u1".into()),
            birth_year: Some(1990),
            sex: Some("female".into()),
            height_m: Some(1.7),
            weight_kg: Some(60.0),
        }),
        EventType::Connection => ItemBody::Connection(Connection {
            status: ConnectionStatus::PermissionsChanged,
            reason: Some("user changed scopes".into()),
            scopes: Some(vec!["sleep".into(), "activity".into()]),
            scopes_added: Some(vec!["activity".into()]),
            scopes_removed: Some(vec!["heartrate".into()]),
            previous_provider_user_id: Some("u0".into()),
            occurred_at: Some(T0),
        }),
        EventType::Sync => ItemBody::Sync(Sync {
            status: SyncStatus::InProgress,
            resource: Some(EventType::Sleep),
            range_start_ts: Some(T0 - 86_400_000),
            range_end_ts: Some(T0),
            expected_payloads: Some(4),
            retry_at_ts: Some(T0 + 60_000),
            reference: Some("ref-1".into()),
        }),
        EventType::Deletion => {
            return Item::deletion("oura", EventType::Sleep, "sleep-1", T0)
                .with_device(Some("dev_1".into()))
                .with_capture_mode(Some(CaptureMode::Automatic));
        }
        EventType::TemperatureSeries => ItemBody::TemperatureSeries(TemperatureChunk {
            chunk: full_chunk(t),
            temperature_kind: Some(TemperatureKind::Skin),
        }),
        EventType::StressSeries => ItemBody::StressSeries(StressChunk {
            chunk: full_chunk(t),
            scale_max: Some(100.0),
        }),
        series => match ItemBody::from_chunk(series, full_chunk(series)) {
            Some(b) => b,
            None => unreachable!("{series} is a timeseries type"),
        },
    };
    let mut item = Item::new("oura", "native-1", T0, body)
        .with_device(Some("dev_1".into()))
        .with_capture_mode(Some(CaptureMode::Automatic));
    item.revision = 3;
    item
}
