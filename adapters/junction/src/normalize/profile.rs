//! `daily.data.profile.*` -> `profile`.

use nexus_core::items::Profile;
use nexus_core::time::parse_date;
use nexus_core::units::cm_to_m;
use nexus_core::{Error, Item, ItemBody, Normalized, Result};

use super::SummaryRecord;
use crate::PROVIDER;
use crate::fields::Obj;

pub(super) fn normalize(rec: &SummaryRecord, data: &Obj<'_>, user_id: &str) -> Result<Normalized> {
    // A profile has no measurement time: its modification time is the authoritative one.
    let at = match data.time_opt("updated_at")? {
        Some(t) => t,
        None => data.time_opt("created_at")?.ok_or_else(|| {
            Error::malformed(
                PROVIDER,
                data.path_of("updated_at"),
                "the profile has no updated_at or created_at",
            )
        })?,
    };
    let birth_year = match data.nonempty_str_opt("birth_date")? {
        Some(s) => Some(i32::from(
            parse_date(PROVIDER, &data.path_of("birth_date"), s)?.year(),
        )),
        None => None,
    };
    let body = Profile {
        provider_user_id: Some(user_id.to_owned()),
        birth_year,
        // `sex` as Junction reports it (female, male, other); `gender` is a different question.
        sex: data.nonempty_str_opt("sex")?.map(str::to_owned),
        // Junction's height is in centimetres.
        height_m: data.nonneg_opt("height")?.map(cm_to_m),
        weight_kg: None,
    };
    let mut out = Normalized::default();
    rec.push(
        &mut out,
        Item::new(PROVIDER, &rec.id, at.epoch_ms, ItemBody::Profile(body)),
    );
    Ok(out)
}
