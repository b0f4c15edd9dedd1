use serde::{Deserialize, Serialize};

/// Body composition at one time, event type `body_measurement`, stream `snapshot`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BodyMeasurement {
    /// Weight, kg.
    pub weight_kg: Option<f64>,
    /// Height, meters.
    pub height_m: Option<f64>,
    /// Body mass index.
    pub bmi: Option<f64>,
    /// Body fat, percent.
    pub body_fat_pct: Option<f64>,
    /// Muscle mass, kg.
    pub muscle_mass_kg: Option<f64>,
    /// Bone mass, kg.
    pub bone_mass_kg: Option<f64>,
    /// Body water, percent.
    pub body_water_pct: Option<f64>,
    /// Lean mass, kg.
    pub lean_mass_kg: Option<f64>,
}

/// One blood-pressure reading, event type `blood_pressure`, stream `snapshot`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BloodPressure {
    /// Systolic pressure, mmHg.
    pub systolic_mmhg: Option<f64>,
    /// Diastolic pressure, mmHg.
    pub diastolic_mmhg: Option<f64>,
    /// Pulse, bpm.
    pub pulse_bpm: Option<f64>,
}
