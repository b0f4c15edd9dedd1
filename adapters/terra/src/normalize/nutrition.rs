//! Terra `nutrition` -> `nutrition` (the day's totals from `summary`), one per local date.

use nexus_core::identity::daily_native_id;
use nexus_core::items::Nutrition;
use nexus_core::{Item, ItemBody, NormalizeContext, Normalized, Result};

use super::{data_of, day_of, device, metadata, non_negative, span, user_id};
use crate::PROVIDER;
use crate::payload::{self, DataEvent};

pub(super) fn normalize(body: &[u8], ctx: &NormalizeContext) -> Result<Normalized> {
    let (user, data) = data_of(payload::parse::<DataEvent<payload::Nutrition>>(body)?)?;
    let uid = user_id(user.as_ref(), "user.user_id", ctx)?;
    let mut out = Normalized::default();
    for (i, n) in data.iter().enumerate() {
        let m = metadata(n.metadata.as_ref(), i)?;
        let (start, _) = span(m, i)?;
        let p = |f: &str| format!("data[{i}].{f}");
        let (date, midnight) = day_of(&start, &p("metadata.start_time"))?;
        let summary = n.summary.as_ref();
        let macros = summary.and_then(|s| s.macros.as_ref());
        let g = |f: &str, v: Option<f64>| non_negative(&p(&format!("summary.macros.{f}")), v);
        let item = Nutrition {
            date: date.clone(),
            timezone: None,
            calories_kcal: g("calories", macros.and_then(|x| x.calories))?,
            protein_g: g("protein_g", macros.and_then(|x| x.protein_g))?,
            carbohydrates_g: g("carbohydrates_g", macros.and_then(|x| x.carbohydrates_g))?,
            fat_g: g("fat_g", macros.and_then(|x| x.fat_g))?,
            fiber_g: g("fiber_g", macros.and_then(|x| x.fiber_g))?,
            sugar_g: g("sugar_g", macros.and_then(|x| x.sugar_g))?,
            sodium_mg: g("sodium_mg", macros.and_then(|x| x.sodium_mg))?,
            water_ml: non_negative(&p("summary.water_ml"), summary.and_then(|s| s.water_ml))?,
        };
        // The logging app (`user.provider`, e.g. CRONOMETER) is the source in the registry.
        let dev = device(user.as_ref(), None);
        out.push(
            Item::new(
                PROVIDER,
                &daily_native_id(&uid, &date),
                midnight,
                ItemBody::Nutrition(item),
            )
            .with_device(dev.as_ref().map(|d| d.1.device_id.clone())),
        );
        if let Some(d) = dev {
            out.add_device(d.1);
        }
    }
    Ok(out)
}
