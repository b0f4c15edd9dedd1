//! Unit conversions adapters need. Nexus field names carry SI-ish units (`_m`, `_kg`, `_c`,
//! `_kcal`, `_s`, `_mps`, `_mg_dl`); these convert what providers send into them.

/// Meters per statute mile.
pub const METERS_PER_MILE: f64 = 1_609.344;
/// Meters per foot.
pub const METERS_PER_FOOT: f64 = 0.3048;
/// Meters per inch.
pub const METERS_PER_INCH: f64 = 0.0254;
/// Kilograms per pound (avoirdupois).
pub const KG_PER_LB: f64 = 0.453_592_37;
/// Kilojoules per kilocalorie (thermochemical).
pub const KJ_PER_KCAL: f64 = 4.184;
/// mg/dL per mmol/L of glucose (molar mass 180.16 g/mol).
pub const MG_DL_PER_MMOL_L: f64 = 18.016;

/// Miles to meters.
pub fn miles_to_m(mi: f64) -> f64 {
    mi * METERS_PER_MILE
}
/// Kilometers to meters.
pub fn km_to_m(km: f64) -> f64 {
    km * 1_000.0
}
/// Feet to meters.
pub fn feet_to_m(ft: f64) -> f64 {
    ft * METERS_PER_FOOT
}
/// Inches to meters.
pub fn inches_to_m(inch: f64) -> f64 {
    inch * METERS_PER_INCH
}
/// Centimeters to meters.
pub fn cm_to_m(cm: f64) -> f64 {
    cm / 100.0
}
/// Pounds to kilograms.
pub fn lbs_to_kg(lb: f64) -> f64 {
    lb * KG_PER_LB
}
/// Grams to kilograms.
pub fn g_to_kg(g: f64) -> f64 {
    g / 1_000.0
}
/// Fahrenheit to Celsius.
pub fn fahrenheit_to_c(f: f64) -> f64 {
    (f - 32.0) * 5.0 / 9.0
}
/// A temperature *difference* in Fahrenheit to Celsius (no offset).
pub fn fahrenheit_delta_to_c(df: f64) -> f64 {
    df * 5.0 / 9.0
}
/// Kilojoules to kilocalories.
pub fn kj_to_kcal(kj: f64) -> f64 {
    kj / KJ_PER_KCAL
}
/// Minutes to seconds.
pub fn minutes_to_s(min: f64) -> f64 {
    min * 60.0
}
/// Hours to seconds.
pub fn hours_to_s(h: f64) -> f64 {
    h * 3_600.0
}
/// Seconds to minutes.
pub fn s_to_minutes(s: f64) -> f64 {
    s / 60.0
}
/// Milliseconds to seconds.
pub fn ms_to_s(ms: f64) -> f64 {
    ms / 1_000.0
}
/// Kilometers per hour to meters per second.
pub fn kmh_to_mps(kmh: f64) -> f64 {
    kmh / 3.6
}
/// Miles per hour to meters per second.
pub fn mph_to_mps(mph: f64) -> f64 {
    mph * METERS_PER_MILE / 3_600.0
}
/// Glucose mmol/L to mg/dL.
pub fn mmol_l_to_mg_dl(mmol: f64) -> f64 {
    mmol * MG_DL_PER_MMOL_L
}
/// A fraction 0-1 to percent 0-100.
pub fn fraction_to_pct(f: f64) -> f64 {
    f * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn conversions() {
        assert!(close(miles_to_m(1.0), 1_609.344));
        assert!(close(feet_to_m(10.0), 3.048));
        assert!(close(inches_to_m(12.0), 0.3048));
        assert!(close(lbs_to_kg(150.0), 68.038_855_5));
        assert!(close(fahrenheit_to_c(98.6), 37.0));
        assert!(close(fahrenheit_to_c(-40.0), -40.0));
        assert!(close(fahrenheit_delta_to_c(1.8), 1.0));
        assert!(close(kj_to_kcal(4.184), 1.0));
        assert!(close(minutes_to_s(1.5), 90.0));
        assert!(close(hours_to_s(2.0), 7_200.0));
        assert!(close(kmh_to_mps(36.0), 10.0));
        assert!(close(mph_to_mps(10.0), 4.4704));
        assert!(close(mmol_l_to_mg_dl(5.5), 99.088));
        assert!(close(cm_to_m(180.0), 1.8));
        assert!(close(fraction_to_pct(0.97), 97.0));
        assert!(close(ms_to_s(1500.0), 1.5));
        assert!(close(s_to_minutes(90.0), 1.5));
        assert!(close(g_to_kg(70_500.0), 70.5));
        assert!(close(km_to_m(5.0), 5_000.0));
    }
}
