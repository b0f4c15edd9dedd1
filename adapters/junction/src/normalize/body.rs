//! `daily.data.body.*` -> `body_measurement`.

use nexus_core::items::BodyMeasurement;
use nexus_core::{Item, ItemBody, Normalized, Result};

use super::SummaryRecord;
use crate::PROVIDER;
use crate::fields::Obj;

pub(super) fn normalize(rec: &SummaryRecord, data: &Obj<'_>) -> Result<Normalized> {
    // Junction gives the record's date as a time (`date`), no separate measurement time.
    let at = data.time_req("date")?;
    let body = BodyMeasurement {
        weight_kg: data.nonneg_opt("weight")?,
        height_m: None,
        bmi: data.nonneg_opt("body_mass_index")?,
        body_fat_pct: data.nonneg_opt("fat")?,
        // Junction gives muscle and bone mass only as percentages; Nexus does not compute kg.
        muscle_mass_kg: None,
        bone_mass_kg: None,
        body_water_pct: data.nonneg_opt("water_percentage")?,
        lean_mass_kg: data.nonneg_opt("lean_body_mass_kilogram")?,
    };
    let mut out = Normalized::default();
    rec.push(
        &mut out,
        Item::new(
            PROVIDER,
            &rec.id,
            at.epoch_ms,
            ItemBody::BodyMeasurement(body),
        ),
    );
    Ok(out)
}
