//! Oura `daily_readiness` -> `daily_readiness` (`score_kind` = `oura_readiness`). Native id: the
//! document's `id`.

use nexus_core::items::DailyReadiness;
use nexus_core::time::local_midnight_ms;
use nexus_core::{Item, ItemBody, Normalized, RawRecord, Result};

use crate::PROVIDER;
use crate::fields::{Obj, parse_object};

/// `score_kind` of Oura readiness.
pub(crate) const SCORE_KIND: &str = "oura_readiness";

pub(super) fn normalize(record: &RawRecord) -> Result<Normalized> {
    let map = parse_object(&record.body, "the daily_readiness document")?;
    let doc = Obj::root(&map);
    let id = doc.str_req("id")?;
    let (day, date) = doc.day()?;
    // Recorded Oura responses write this document's `timestamp` as `<day>T00:00:00+00:00` for
    // users whose activity documents carry another offset: it is not the user's offset, so
    // payload_ts is UTC midnight of `day`. The field is still checked.
    doc.time_opt("timestamp")?;
    let readiness = DailyReadiness {
        date,
        timezone: None,
        score_kind: SCORE_KIND.to_owned(),
        score: doc.f64_in("score", 0.0, 100.0)?,
        resting_heart_rate_bpm: None,
        hrv_rmssd_ms: None,
        temp_deviation_c: doc.f64_in("temperature_deviation", -15.0, 15.0)?,
    };
    let mut out = Normalized::default();
    out.push(Item::new(
        PROVIDER,
        id,
        local_midnight_ms(day, None),
        ItemBody::DailyReadiness(readiness),
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{only_body, run};
    use super::*;

    const DOC: &str = r#"{"id":"dr-1","contributors":{"activity_balance":90,"body_temperature":98,
      "hrv_balance":77,"previous_day_activity":85,"previous_night":70,"recovery_index":60,
      "resting_heart_rate":95,"sleep_balance":88},"day":"2024-11-12","score":83,
      "temperature_deviation":-0.18,"temperature_trend_deviation":0.04,"timestamp":"2024-11-12T00:00:00+00:00"}"#;

    #[test]
    fn readiness_maps_field_by_field() {
        let n = run("daily_readiness", DOC).unwrap();
        assert_eq!(n.items[0].item.provider_ref, "dr-1");
        assert_eq!(n.items[0].item.payload_ts, 1_731_369_600_000);
        let ItemBody::DailyReadiness(r) = only_body(&n) else {
            panic!()
        };
        assert_eq!(r.date, "2024-11-12");
        assert_eq!(r.score_kind, "oura_readiness");
        assert_eq!(r.score, Some(83.0));
        assert_eq!(
            r.resting_heart_rate_bpm, None,
            "contributors are scores, not bpm"
        );
        assert_eq!(r.hrv_rmssd_ms, None, "hrv_balance is a score, not ms");
        assert_eq!(r.temp_deviation_c, Some(-0.18));
    }

    #[test]
    fn bad_values_fail() {
        let e = run(
            "daily_readiness",
            &DOC.replace("\"score\":83", "\"score\":830"),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("score"));
        let e = run("daily_readiness", &DOC.replace("\"id\":\"dr-1\",", "")).unwrap_err();
        assert_eq!(e.field(), Some("id"));
    }
}
