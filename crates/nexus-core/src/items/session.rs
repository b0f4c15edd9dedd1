use serde::{Deserialize, Serialize};

/// A workout, event type `activity`, stream `session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Activity {
    /// Start, epoch ms.
    pub start_ts: i64,
    /// End, epoch ms.
    pub end_ts: Option<i64>,
    /// IANA time zone of the user during the activity.
    pub timezone: Option<String>,
    /// UTC offset in seconds during the activity.
    pub utc_offset_s: Option<i32>,
    /// Normalized activity type.
    pub activity_type: ActivityType,
    /// The provider's own activity type, raw.
    pub provider_activity_type: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Elapsed duration, seconds.
    pub duration_s: Option<f64>,
    /// Moving duration, seconds.
    pub moving_duration_s: Option<f64>,
    /// Distance, meters.
    pub distance_m: Option<f64>,
    /// Steps.
    pub steps: Option<i64>,
    /// Total energy, kcal.
    pub calories_total_kcal: Option<f64>,
    /// Active energy, kcal.
    pub calories_active_kcal: Option<f64>,
    /// Average heart rate, bpm.
    pub avg_heart_rate_bpm: Option<f64>,
    /// Maximum heart rate, bpm.
    pub max_heart_rate_bpm: Option<f64>,
    /// Elevation gain, meters.
    pub elevation_gain_m: Option<f64>,
    /// Average speed, m/s.
    pub avg_speed_mps: Option<f64>,
    /// Maximum speed, m/s.
    pub max_speed_mps: Option<f64>,
    /// Average power, watts.
    pub avg_power_w: Option<f64>,
    /// Time in heart-rate zones, as the provider defines them.
    pub heart_rate_zones: Option<Vec<HeartRateZone>>,
}

/// Normalized activity types; anything else is `other` (the raw type stays in
/// `provider_activity_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityType {
    /// Running, jogging, treadmill.
    Running,
    /// Walking.
    Walking,
    /// Cycling, indoor or outdoor.
    Cycling,
    /// Swimming, pool or open water.
    Swimming,
    /// Hiking.
    Hiking,
    /// Strength training, weights.
    StrengthTraining,
    /// Yoga.
    Yoga,
    /// Rowing.
    Rowing,
    /// Elliptical trainer.
    Elliptical,
    /// High-intensity interval training.
    Hiit,
    /// Anything else.
    Other,
}

impl ActivityType {
    /// Maps a provider's free-form activity name (any case, `_`, `-` or spaces) to a normalized
    /// type, `Other` when nothing matches. Adapters with numeric codes map those themselves.
    pub fn from_name(name: &str) -> ActivityType {
        let n: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match n.as_str() {
            "running" | "run" | "treadmillrunning" | "treadmill" | "trailrunning" | "jogging"
            | "indoorrunning" | "streetrunning" => ActivityType::Running,
            "walking" | "walk" | "indoorwalking" | "treadmillwalking" => ActivityType::Walking,
            "cycling" | "biking" | "bike" | "ride" | "indoorcycling" | "roadbiking"
            | "mountainbiking" | "spinning" | "virtualride" | "stationarybike" => {
                ActivityType::Cycling
            }
            "swimming" | "swim" | "poolswimming" | "lapswimming" | "openwaterswimming" => {
                ActivityType::Swimming
            }
            "hiking" | "hike" => ActivityType::Hiking,
            "strengthtraining"
            | "weightlifting"
            | "weighttraining"
            | "functionalstrengthtraining"
            | "traditionalstrengthtraining"
            | "weights" => ActivityType::StrengthTraining,
            "yoga" => ActivityType::Yoga,
            "rowing" | "indoorrowing" | "rowingmachine" => ActivityType::Rowing,
            "elliptical" => ActivityType::Elliptical,
            "hiit" | "highintensityintervaltraining" => ActivityType::Hiit,
            _ => ActivityType::Other,
        }
    }
}

/// Time spent in one heart-rate zone of an activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HeartRateZone {
    /// Zone index as the provider numbers it (0 or 1 is the lowest).
    pub zone: i64,
    /// Lower bound, bpm.
    pub min_bpm: Option<f64>,
    /// Upper bound, bpm.
    pub max_bpm: Option<f64>,
    /// Time in the zone, seconds.
    pub duration_s: Option<f64>,
}

/// A sleep period, event type `sleep`, stream `session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sleep {
    /// Start (bedtime), epoch ms.
    pub start_ts: i64,
    /// End, epoch ms.
    pub end_ts: Option<i64>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// UTC offset in seconds.
    pub utc_offset_s: Option<i32>,
    /// True for a nap, false for the main sleep, null when unknown.
    pub is_nap: Option<bool>,
    /// Time in bed, seconds.
    pub in_bed_s: Option<f64>,
    /// Time asleep, seconds.
    pub asleep_s: Option<f64>,
    /// Time awake in bed, seconds.
    pub awake_s: Option<f64>,
    /// Light sleep, seconds.
    pub light_s: Option<f64>,
    /// Deep sleep, seconds.
    pub deep_s: Option<f64>,
    /// REM sleep, seconds.
    pub rem_s: Option<f64>,
    /// Time to fall asleep, seconds.
    pub latency_s: Option<f64>,
    /// Sleep efficiency, percent 0-100.
    pub efficiency_pct: Option<f64>,
    /// Average heart rate, bpm.
    pub avg_heart_rate_bpm: Option<f64>,
    /// Lowest heart rate, bpm.
    pub min_heart_rate_bpm: Option<f64>,
    /// Average HRV (RMSSD), ms.
    pub avg_hrv_rmssd_ms: Option<f64>,
    /// Average HRV (SDNN), ms.
    pub avg_hrv_sdnn_ms: Option<f64>,
    /// Average respiration rate, breaths per minute.
    pub avg_respiration_brpm: Option<f64>,
    /// Average SpO2, percent.
    pub avg_spo2_pct: Option<f64>,
    /// Temperature deviation from the user's baseline, Celsius.
    pub temp_deviation_c: Option<f64>,
    /// The provider's sleep score, 0-100.
    pub score: Option<f64>,
    /// The hypnogram, in time order.
    pub stages: Option<Vec<SleepStage>>,
}

/// One stage interval of a sleep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SleepStage {
    /// The stage.
    pub stage: SleepStageKind,
    /// Start, epoch ms.
    pub start_ts: i64,
    /// End, epoch ms.
    pub end_ts: i64,
}

/// Sleep stage names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SleepStageKind {
    /// Awake.
    Awake,
    /// Light sleep.
    Light,
    /// Deep sleep.
    Deep,
    /// REM sleep.
    Rem,
    /// Unknown or unscored.
    Unknown,
}
