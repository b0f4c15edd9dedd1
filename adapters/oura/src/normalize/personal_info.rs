//! Oura `personal_info` -> `profile`. Native id: the Oura user id (`id`).

use nexus_core::identity::user_native_id;
use nexus_core::items::Profile;
use nexus_core::{Error, Item, ItemBody, Normalized, RawRecord, Result};

use crate::PROVIDER;
use crate::fields::{Obj, parse_object};

pub(super) fn normalize(record: &RawRecord) -> Result<Normalized> {
    let map = parse_object(&record.body, "the personal_info document")?;
    let doc = Obj::root(&map);
    let id = doc.str_req("id")?;
    // A profile is a state, not an event: its time is when it was observed (fetched).
    let observed_at = record.fetched_at.ok_or_else(|| {
        Error::malformed(
            PROVIDER,
            "fetched_at",
            "a profile record needs its fetch time",
        )
    })?;
    let profile = Profile {
        provider_user_id: Some(id.to_owned()),
        birth_year: None,
        sex: doc.str_opt("biological_sex")?.map(str::to_owned),
        height_m: doc.f64_in("height", 0.0, 3.0)?,
        weight_kg: doc.f64_in("weight", 0.0, 700.0)?,
    };
    let mut out = Normalized::default();
    out.push(Item::new(
        PROVIDER,
        &user_native_id(id),
        observed_at,
        ItemBody::Profile(profile),
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{only_body, run};
    use super::*;

    #[test]
    fn personal_info_maps_and_age_and_email_are_left_out() {
        let n = run(
            "personal_info",
            r#"{"id":"u-1","age":37,"weight":64.5,"height":1.68,"biological_sex":"female","email":"fake@example.com"}"#,
        )
        .unwrap();
        let item = &n.items[0].item;
        assert_eq!(item.provider_ref, "u-1");
        assert_eq!(item.payload_ts, 1_731_312_000_000);
        let ItemBody::Profile(p) = only_body(&n) else {
            panic!()
        };
        assert_eq!(p.provider_user_id.as_deref(), Some("u-1"));
        assert_eq!(p.birth_year, None, "age is not a birth year");
        assert_eq!(p.sex.as_deref(), Some("female"));
        assert_eq!(p.height_m, Some(1.68));
        assert_eq!(p.weight_kg, Some(64.5));
        assert!(!format!("{item:?}").contains("fake@example.com"));
    }

    #[test]
    fn implausible_heights_fail() {
        let e = run("personal_info", r#"{"id":"u-1","height":168}"#).unwrap_err();
        assert_eq!(e.field(), Some("height"));
    }
}
