use serde::{Deserialize, Serialize};

/// The day's activity totals, event type `daily_summary`, stream `aggregate` (published).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DailySummary {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// IANA time zone of the day.
    pub timezone: Option<String>,
    /// Steps.
    pub steps: Option<i64>,
    /// Distance, meters.
    pub distance_m: Option<f64>,
    /// Floors climbed.
    pub floors: Option<f64>,
    /// Total energy, kcal.
    pub calories_total_kcal: Option<f64>,
    /// Active energy, kcal.
    pub calories_active_kcal: Option<f64>,
    /// Active minutes.
    pub active_minutes: Option<f64>,
    /// Sedentary minutes.
    pub sedentary_minutes: Option<f64>,
    /// Resting heart rate, bpm.
    pub resting_heart_rate_bpm: Option<f64>,
}

/// A readiness or recovery score for a day, event type `daily_readiness`, stream `aggregate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DailyReadiness {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// IANA time zone of the day.
    pub timezone: Option<String>,
    /// Which score this is: `oura_readiness`, `whoop_recovery`, `garmin_body_battery`, ...
    pub score_kind: String,
    /// The provider's score.
    pub score: Option<f64>,
    /// Resting heart rate, bpm.
    pub resting_heart_rate_bpm: Option<f64>,
    /// HRV (RMSSD), ms.
    pub hrv_rmssd_ms: Option<f64>,
    /// Temperature deviation from baseline, Celsius.
    pub temp_deviation_c: Option<f64>,
}

/// The day's nutrition totals, event type `nutrition`, stream `aggregate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Nutrition {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// IANA time zone of the day.
    pub timezone: Option<String>,
    /// Energy, kcal.
    pub calories_kcal: Option<f64>,
    /// Protein, grams.
    pub protein_g: Option<f64>,
    /// Carbohydrates, grams.
    pub carbohydrates_g: Option<f64>,
    /// Fat, grams.
    pub fat_g: Option<f64>,
    /// Fiber, grams.
    pub fiber_g: Option<f64>,
    /// Sugar, grams.
    pub sugar_g: Option<f64>,
    /// Sodium, milligrams.
    pub sodium_mg: Option<f64>,
    /// Water, milliliters.
    pub water_ml: Option<f64>,
}

/// Menstrual cycle state for a day, event type `menstruation`, stream `aggregate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Menstruation {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// IANA time zone of the day.
    pub timezone: Option<String>,
    /// Day of the cycle, 1-based.
    pub cycle_day: Option<i64>,
    /// Day of the period, 1-based, null outside a period.
    pub period_day: Option<i64>,
    /// Flow.
    pub flow: Option<Flow>,
    /// Cycle phase as the provider names it.
    pub phase: Option<String>,
}

/// Menstrual flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// No flow.
    None,
    /// Light flow.
    Light,
    /// Medium flow.
    Medium,
    /// Heavy flow.
    Heavy,
    /// Flow recorded without an amount.
    Unknown,
}
