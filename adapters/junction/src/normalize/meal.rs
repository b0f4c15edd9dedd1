//! `daily.data.meal.*` -> `nutrition`, one item per meal.

use nexus_core::items::Nutrition;
use nexus_core::time::parse_date;
use nexus_core::{Error, Item, ItemBody, Normalized, Result};

use super::SummaryRecord;
use crate::PROVIDER;
use crate::fields::Obj;

pub(super) fn normalize(rec: &SummaryRecord, data: &Obj<'_>) -> Result<Normalized> {
    let at = data.time_req("timestamp")?;
    let date = parse_date(
        PROVIDER,
        &data.path_of("calendar_date"),
        data.str_req("calendar_date")?,
    )?;
    let calories = match data.obj_opt("energy")? {
        Some(e) => {
            match e.nonempty_str_opt("unit")? {
                None | Some("kcal") => {}
                Some(u) => {
                    return Err(Error::malformed(
                        PROVIDER,
                        e.path_of("unit"),
                        format!("expected kcal, got {u:?}"),
                    ));
                }
            }
            e.nonneg_opt("value")?
        }
        None => None,
    };
    let macros = data.obj_opt("macros")?;
    let (mut protein, mut carbs, mut fat, mut fiber, mut sugar, mut water) =
        (None, None, None, None, None, None);
    if let Some(m) = &macros {
        protein = m.nonneg_opt("protein")?;
        carbs = m.nonneg_opt("carbs")?;
        fiber = m.nonneg_opt("fibre")?;
        sugar = m.nonneg_opt("sugar")?;
        // Water in grams; 1 g of water is 1 ml.
        water = m.nonneg_opt("water")?;
        if let Some(f) = m.obj_opt("fats")? {
            fat = f.nonneg_opt("total")?;
        }
    }
    let sodium = match data.obj_opt("micros")? {
        Some(micros) => match micros.obj_opt("minerals")? {
            Some(minerals) => minerals.nonneg_opt("sodium")?,
            None => None,
        },
        None => None,
    };
    let body = Nutrition {
        date: date.to_string(),
        timezone: None,
        calories_kcal: calories,
        protein_g: protein,
        carbohydrates_g: carbs,
        fat_g: fat,
        fiber_g: fiber,
        sugar_g: sugar,
        sodium_mg: sodium,
        water_ml: water,
    };
    let mut out = Normalized::default();
    rec.push(
        &mut out,
        Item::new(PROVIDER, &rec.id, at.epoch_ms, ItemBody::Nutrition(body)),
    );
    Ok(out)
}
