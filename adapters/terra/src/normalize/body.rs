//! Terra `body` -> `body_measurement` (one per measurement of the day) and `blood_pressure` (one
//! per reading), plus heart rate, HRV, SpO2, skin/body temperature and glucose samples as chunks.
//!
//! Terra overwrites a body record per date. A day may hold several measurements and readings, so
//! each item's native id is the date-scoped `<user_id>:<YYYY-MM-DD>:<epoch ms of the reading>`:
//! a re-delivered day gives the same ids, a corrected reading a new revision.

use nexus_core::items::{BloodPressure, BodyMeasurement, TemperatureKind};
use nexus_core::units::{cm_to_m, g_to_kg};
use nexus_core::{Item, ItemBody, NormalizeContext, Normalized, Result};

use super::{
    Series, data_of, day_of, device, metadata, non_negative, percent, span, time, user_id,
};
use crate::PROVIDER;
use crate::payload::{self, DataEvent};
use crate::stamp::stamp_time;

pub(super) fn normalize(body: &[u8], ctx: &NormalizeContext) -> Result<Normalized> {
    let (user, data) = data_of(payload::parse::<DataEvent<payload::Body>>(body)?)?;
    let uid = user_id(user.as_ref(), "user.user_id", ctx)?;
    let mut out = Normalized::default();
    for (i, b) in data.iter().enumerate() {
        let m = metadata(b.metadata.as_ref(), i)?;
        let (start, _) = span(m, i)?;
        let p = |f: &str| format!("data[{i}].{f}");
        let (date, _) = day_of(&start, &p("metadata.start_time"))?;
        let dev = device(user.as_ref(), b.device_data.as_ref());
        let dev_id = dev.as_ref().map(|x| x.1.device_id.clone());
        let mut referenced = false;

        let measurements = b
            .measurements_data
            .as_ref()
            .and_then(|x| x.measurements.as_ref());
        for (k, ms) in measurements.into_iter().flatten().enumerate() {
            let f = |s: &str| p(&format!("measurements_data.measurements[{k}].{s}"));
            let at = time(&f("measurement_time"), ms.measurement_time.as_deref())?;
            let item = BodyMeasurement {
                weight_kg: non_negative(&f("weight_kg"), ms.weight_kg)?,
                height_m: non_negative(&f("height_cm"), ms.height_cm)?.map(cm_to_m),
                bmi: non_negative(&f("BMI"), ms.bmi)?,
                body_fat_pct: percent(&f("bodyfat_percentage"), ms.bodyfat_percentage)?,
                muscle_mass_kg: non_negative(&f("muscle_mass_g"), ms.muscle_mass_g)?.map(g_to_kg),
                bone_mass_kg: non_negative(&f("bone_mass_g"), ms.bone_mass_g)?.map(g_to_kg),
                body_water_pct: percent(&f("water_percentage"), ms.water_percentage)?,
                lean_mass_kg: non_negative(&f("lean_mass_g"), ms.lean_mass_g)?.map(g_to_kg),
            };
            let empty = item.weight_kg.is_none()
                && item.height_m.is_none()
                && item.bmi.is_none()
                && item.body_fat_pct.is_none()
                && item.muscle_mass_kg.is_none()
                && item.bone_mass_kg.is_none()
                && item.body_water_pct.is_none()
                && item.lean_mass_kg.is_none();
            if empty {
                continue; // a measurement of fields Nexus does not carry (insulin, urine colour)
            }
            let native = format!("{uid}:{date}:{}", at.epoch_ms);
            out.push(
                Item::new(
                    PROVIDER,
                    &native,
                    at.epoch_ms,
                    ItemBody::BodyMeasurement(item),
                )
                .with_device(dev_id.clone()),
            );
            referenced = true;
        }

        let bp = b
            .blood_pressure_data
            .as_ref()
            .and_then(|x| x.blood_pressure_samples.as_ref());
        for (k, s) in bp.into_iter().flatten().enumerate() {
            let f = |x: &str| {
                p(&format!(
                    "blood_pressure_data.blood_pressure_samples[{k}].{x}"
                ))
            };
            let at = stamp_time(s.timestamp.as_ref(), || f("timestamp"))?;
            let item = BloodPressure {
                systolic_mmhg: non_negative(&f("systolic_bp"), s.systolic_bp)?,
                diastolic_mmhg: non_negative(&f("diastolic_bp"), s.diastolic_bp)?,
                pulse_bpm: None,
            };
            if item.systolic_mmhg.is_none() && item.diastolic_mmhg.is_none() {
                continue;
            }
            let native = format!("{uid}:{date}:{}", at.epoch_ms);
            out.push(
                Item::new(
                    PROVIDER,
                    &native,
                    at.epoch_ms,
                    ItemBody::BloodPressure(item),
                )
                .with_device(dev_id.clone()),
            );
            referenced = true;
        }
        if let (true, Some(x)) = (referenced, &dev) {
            out.add_device(x.1.clone());
        }

        let mut series = Series::new(&uid, dev.as_ref(), None);
        series.heart(
            &p("heart_data.heart_rate_data.detailed"),
            b.heart_data
                .as_ref()
                .and_then(|h| h.heart_rate_data.as_ref())
                .and_then(|h| h.detailed.as_ref()),
        )?;
        series.spo2(
            &p("oxygen_data.saturation_samples"),
            b.oxygen_data
                .as_ref()
                .and_then(|o| o.saturation_samples.as_ref()),
        )?;
        let temp = b.temperature_data.as_ref();
        series.temperature(
            &p("temperature_data.skin_temperature_samples"),
            TemperatureKind::Skin,
            temp.and_then(|t| t.skin_temperature_samples.as_ref()),
        )?;
        series.temperature(
            &p("temperature_data.body_temperature_samples"),
            TemperatureKind::Body,
            temp.and_then(|t| t.body_temperature_samples.as_ref()),
        )?;
        let glucose = b.glucose_data.as_ref();
        series.glucose(
            &p("glucose_data.blood_glucose_samples"),
            glucose.and_then(|g| g.blood_glucose_samples.as_ref()),
        )?;
        series.glucose(
            &p("glucose_data.detailed_blood_glucose_samples"),
            glucose.and_then(|g| g.detailed_blood_glucose_samples.as_ref()),
        )?;
        series.finish(&mut out);
    }
    Ok(out)
}
