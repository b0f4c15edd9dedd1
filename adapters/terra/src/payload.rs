//! Serde shapes of Terra's webhook bodies (API version 2022-03-16), after Terra's published data
//! models. Tolerant: unknown fields are ignored, every field is optional (Terra: "All fields in
//! all models are nullable unless explicitly stated otherwise"); the normalizers decide what is
//! required. Numbers are read as `f64` because Terra writes integers and floats interchangeably.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use nexus_core::{Error, Result};

use crate::PROVIDER;
use crate::stamp::Stamp;

/// Parses `bytes` as `T`; a failure names the JSON path of the offending field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    // JSON is UTF-8; serde_json does not check the strings of fields it skips, so check it all.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Err(Error::malformed(
                PROVIDER,
                "$",
                format!(
                    "the body is not UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                ),
            ));
        }
    };
    // Parsed as text, so strings are not checked a second time. Tracking the path costs on every
    // field, so only a body that fails is parsed again, through serde_path_to_error, for the path
    // of the offending field (and the same error as a tracked parse gives).
    if let Ok(v) = serde_json::from_str(text) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "$".to_owned() } else { path };
        Error::malformed(PROVIDER, field, e.into_inner().to_string())
    })
}

/// Only the `type` of a body.
#[derive(Debug, Deserialize)]
pub struct Head {
    /// The event type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The user, for routing.
    pub user: Option<User>,
    /// The new user of a `user_reauth`.
    pub new_user: Option<User>,
    /// The user a `user_reauth` replaces.
    pub old_user: Option<User>,
}

/// Terra's `TerraUser`.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub user_id: Option<String>,
    /// The underlying data source (`GARMIN`, `OURA`, ...).
    pub provider: Option<String>,
    /// Comma-separated scopes.
    pub scopes: Option<String>,
}

/// A data event: `{type, user, data: [...], version}`.
#[derive(Debug, Deserialize)]
pub struct DataEvent<T> {
    pub user: Option<User>,
    pub data: Option<Vec<T>>,
}

/// `metadata` of every data record.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub summary_id: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub activity_type: Option<f64>,
    pub upload_type: Option<f64>,
    pub is_nap: Option<bool>,
}

/// `device_data`.
#[derive(Debug, Deserialize)]
pub struct DeviceData {
    pub name: Option<String>,
    pub manufacturer: Option<String>,
    pub serial_number: Option<String>,
}

// ---- samples -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct HrSample {
    pub timestamp: Option<Stamp>,
    pub bpm: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct RmssdSample {
    pub timestamp: Option<Stamp>,
    pub hrv_rmssd: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct SdnnSample {
    pub timestamp: Option<Stamp>,
    pub hrv_sdnn: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct StepSample {
    pub timestamp: Option<Stamp>,
    pub steps: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct CalorieSample {
    pub timestamp: Option<Stamp>,
    pub calories: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct DistanceSample {
    pub timestamp: Option<Stamp>,
    pub distance_meters: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct OxygenSample {
    pub timestamp: Option<Stamp>,
    pub percentage: Option<f64>,
    /// Blood (SpO2) or muscle (SmO2) saturation.
    #[serde(rename = "type")]
    pub kind: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct BreathSample {
    pub timestamp: Option<Stamp>,
    pub breaths_per_min: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct TemperatureSample {
    pub timestamp: Option<Stamp>,
    pub temperature_celsius: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct GlucoseSample {
    pub timestamp: Option<Stamp>,
    #[serde(rename = "blood_glucose_mg_per_dL")]
    pub mg_dl: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct LevelSample {
    pub timestamp: Option<Stamp>,
    pub level: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct BloodPressureSample {
    pub timestamp: Option<Stamp>,
    pub systolic_bp: Option<f64>,
    pub diastolic_bp: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct FlowSample {
    pub timestamp: Option<Stamp>,
    pub flow: Option<f64>,
}

// ---- shared blocks -------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct HeartRateData {
    pub summary: Option<HeartRateSummary>,
    pub detailed: Option<HeartRateDetailed>,
}

#[derive(Debug, Deserialize)]
pub struct HeartRateSummary {
    pub avg_hr_bpm: Option<f64>,
    pub max_hr_bpm: Option<f64>,
    pub min_hr_bpm: Option<f64>,
    pub resting_hr_bpm: Option<f64>,
    pub avg_hrv_rmssd: Option<f64>,
    pub avg_hrv_sdnn: Option<f64>,
    pub hr_zone_data: Option<Vec<HeartRateZone>>,
}

#[derive(Debug, Deserialize)]
pub struct HeartRateZone {
    pub zone: Option<f64>,
    pub duration_seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct HeartRateDetailed {
    pub hr_samples: Option<Vec<HrSample>>,
    pub hrv_samples_rmssd: Option<Vec<RmssdSample>>,
    pub hrv_samples_sdnn: Option<Vec<SdnnSample>>,
}

#[derive(Debug, Deserialize)]
pub struct CaloriesData {
    pub total_burned_calories: Option<f64>,
    pub net_activity_calories: Option<f64>,
    pub calorie_samples: Option<Vec<CalorieSample>>,
}

#[derive(Debug, Deserialize)]
pub struct DistanceDetailed {
    pub distance_samples: Option<Vec<DistanceSample>>,
    pub step_samples: Option<Vec<StepSample>>,
}

#[derive(Debug, Deserialize)]
pub struct Elevation {
    pub gain_actual_meters: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct OxygenData {
    pub saturation_samples: Option<Vec<OxygenSample>>,
}

#[derive(Debug, Deserialize)]
pub struct StressData {
    pub samples: Option<Vec<LevelSample>>,
}

// ---- activity ------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct Activity {
    pub metadata: Option<Metadata>,
    pub device_data: Option<DeviceData>,
    pub distance_data: Option<ActivityDistance>,
    pub calories_data: Option<CaloriesData>,
    pub heart_rate_data: Option<HeartRateData>,
    pub movement_data: Option<MovementData>,
    pub power_data: Option<PowerData>,
    pub oxygen_data: Option<OxygenData>,
}

#[derive(Debug, Deserialize)]
pub struct ActivityDistance {
    pub summary: Option<ActivityDistanceSummary>,
    pub detailed: Option<DistanceDetailed>,
}

#[derive(Debug, Deserialize)]
pub struct ActivityDistanceSummary {
    pub distance_meters: Option<f64>,
    pub steps: Option<f64>,
    pub elevation: Option<Elevation>,
}

#[derive(Debug, Deserialize)]
pub struct MovementData {
    pub avg_speed_meters_per_second: Option<f64>,
    pub max_speed_meters_per_second: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct PowerData {
    pub avg_watts: Option<f64>,
}

// ---- daily ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct Daily {
    pub metadata: Option<Metadata>,
    pub device_data: Option<DeviceData>,
    pub distance_data: Option<DailyDistance>,
    pub calories_data: Option<CaloriesData>,
    pub heart_rate_data: Option<HeartRateData>,
    pub active_durations_data: Option<ActiveDurations>,
    pub oxygen_data: Option<OxygenData>,
    pub stress_data: Option<StressData>,
}

#[derive(Debug, Deserialize)]
pub struct DailyDistance {
    pub distance_meters: Option<f64>,
    pub steps: Option<f64>,
    pub floors_climbed: Option<f64>,
    pub detailed: Option<DistanceDetailed>,
}

#[derive(Debug, Deserialize)]
pub struct ActiveDurations {
    pub activity_seconds: Option<f64>,
    pub inactivity_seconds: Option<f64>,
}

// ---- sleep ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct Sleep {
    pub metadata: Option<Metadata>,
    pub device_data: Option<DeviceData>,
    pub heart_rate_data: Option<HeartRateData>,
    pub sleep_durations_data: Option<SleepDurations>,
    pub respiration_data: Option<Respiration>,
    pub temperature_data: Option<SleepTemperature>,
    pub scores: Option<SleepScores>,
}

#[derive(Debug, Deserialize)]
pub struct SleepDurations {
    pub asleep: Option<Asleep>,
    pub awake: Option<Awake>,
    pub other: Option<OtherSleep>,
    pub hypnogram_samples: Option<Vec<LevelSample>>,
    pub sleep_efficiency: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct Asleep {
    pub duration_asleep_state_seconds: Option<f64>,
    pub duration_light_sleep_state_seconds: Option<f64>,
    pub duration_deep_sleep_state_seconds: Option<f64>,
    /// Terra's wire name is `duration_REM_sleep_state_seconds`.
    #[serde(rename = "duration_REM_sleep_state_seconds")]
    pub duration_rem_sleep_state_seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct Awake {
    pub duration_awake_state_seconds: Option<f64>,
    pub sleep_latency_seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct OtherSleep {
    pub duration_in_bed_seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct Respiration {
    pub breaths_data: Option<BreathsData>,
    pub oxygen_saturation_data: Option<OxygenSaturationData>,
}

#[derive(Debug, Deserialize)]
pub struct BreathsData {
    pub avg_breaths_per_min: Option<f64>,
    pub samples: Option<Vec<BreathSample>>,
}

#[derive(Debug, Deserialize)]
pub struct OxygenSaturationData {
    pub avg_saturation_percentage: Option<f64>,
    pub samples: Option<Vec<OxygenSample>>,
}

#[derive(Debug, Deserialize)]
pub struct SleepTemperature {
    pub delta: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct SleepScores {
    pub sleep_score: Option<f64>,
}

// ---- body ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct Body {
    pub metadata: Option<Metadata>,
    pub device_data: Option<DeviceData>,
    pub measurements_data: Option<MeasurementsData>,
    pub blood_pressure_data: Option<BloodPressureData>,
    pub heart_data: Option<HeartData>,
    pub oxygen_data: Option<OxygenData>,
    pub temperature_data: Option<TemperatureData>,
    pub glucose_data: Option<GlucoseData>,
}

#[derive(Debug, Deserialize)]
pub struct MeasurementsData {
    pub measurements: Option<Vec<Measurement>>,
}

#[derive(Debug, Deserialize)]
pub struct Measurement {
    pub measurement_time: Option<String>,
    pub weight_kg: Option<f64>,
    pub height_cm: Option<f64>,
    #[serde(rename = "BMI")]
    pub bmi: Option<f64>,
    pub bodyfat_percentage: Option<f64>,
    pub muscle_mass_g: Option<f64>,
    pub bone_mass_g: Option<f64>,
    pub water_percentage: Option<f64>,
    pub lean_mass_g: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct BloodPressureData {
    pub blood_pressure_samples: Option<Vec<BloodPressureSample>>,
}

#[derive(Debug, Deserialize)]
pub struct HeartData {
    pub heart_rate_data: Option<HeartRateData>,
}

#[derive(Debug, Deserialize)]
pub struct TemperatureData {
    pub skin_temperature_samples: Option<Vec<TemperatureSample>>,
    pub body_temperature_samples: Option<Vec<TemperatureSample>>,
}

#[derive(Debug, Deserialize)]
pub struct GlucoseData {
    pub blood_glucose_samples: Option<Vec<GlucoseSample>>,
    pub detailed_blood_glucose_samples: Option<Vec<GlucoseSample>>,
}

// ---- nutrition, menstruation, athlete ------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct Nutrition {
    pub metadata: Option<Metadata>,
    pub summary: Option<NutritionSummary>,
}

#[derive(Debug, Deserialize)]
pub struct NutritionSummary {
    pub macros: Option<Macros>,
    pub water_ml: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct Macros {
    pub calories: Option<f64>,
    pub protein_g: Option<f64>,
    pub carbohydrates_g: Option<f64>,
    pub fat_g: Option<f64>,
    pub fiber_g: Option<f64>,
    pub sugar_g: Option<f64>,
    pub sodium_mg: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct Menstruation {
    pub metadata: Option<Metadata>,
    pub menstruation_data: Option<MenstruationData>,
}

#[derive(Debug, Deserialize)]
pub struct MenstruationData {
    pub day_in_cycle: Option<f64>,
    /// A phase name (`menstrual`, ...), or a number in older payloads.
    pub current_phase: Option<serde_json::Value>,
    pub last_updated_time: Option<String>,
    /// `true`/`false`, as a boolean or (per Terra's model) a string.
    pub is_predicted_cycle: Option<serde_json::Value>,
    pub menstruation_flow: Option<Vec<FlowSample>>,
}

#[derive(Debug, Deserialize)]
pub struct AthleteEvent {
    pub user: Option<User>,
    pub athlete: Option<Athlete>,
}

#[derive(Debug, Deserialize)]
pub struct Athlete {
    pub sex: Option<String>,
    pub date_of_birth: Option<String>,
}

// ---- connection and sync events ------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct StatusEvent {
    pub user: Option<User>,
    pub new_user: Option<User>,
    pub old_user: Option<User>,
    pub status: Option<String>,
    pub message: Option<String>,
    pub reason: Option<String>,
    pub scopes_added: Option<String>,
    pub scopes_removed: Option<String>,
    pub reference: Option<String>,
    pub expected_payloads: Option<f64>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub retrying_at: Option<String>,
}
