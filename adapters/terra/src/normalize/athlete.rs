//! Terra `athlete` -> `profile` (native id `<user_id>`).

use nexus_core::identity::user_native_id;
use nexus_core::items::Profile;
use nexus_core::time::parse_date;
use nexus_core::{Error, Item, ItemBody, NormalizeContext, Normalized, Result};

use super::{device, user_id};
use crate::PROVIDER;
use crate::payload::{self, AthleteEvent};

pub(super) fn normalize(body: &[u8], ctx: &NormalizeContext) -> Result<Normalized> {
    let ev: AthleteEvent = payload::parse(body)?;
    let uid = user_id(ev.user.as_ref(), "user.user_id", ctx)?;
    let athlete = ev
        .athlete
        .ok_or_else(|| Error::malformed(PROVIDER, "athlete", "missing"))?;
    let birth_year = match athlete.date_of_birth.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(i32::from(
            parse_date(PROVIDER, "athlete.date_of_birth", s)?.year(),
        )),
        None => None,
    };
    let sex = athlete
        .sex
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase);
    let profile = Profile {
        provider_user_id: Some(uid.clone()),
        birth_year,
        sex,
        height_m: None,
        weight_kg: None,
    };
    let mut out = Normalized::default();
    let dev = device(ev.user.as_ref(), None);
    // A profile has no measurement time: payload_ts is 0 so a re-delivery is identical.
    out.push(
        Item::new(
            PROVIDER,
            &user_native_id(&uid),
            0,
            ItemBody::Profile(profile),
        )
        .with_device(dev.as_ref().map(|d| d.1.device_id.clone())),
    );
    if let Some(d) = dev {
        out.add_device(d.1);
    }
    Ok(out)
}
