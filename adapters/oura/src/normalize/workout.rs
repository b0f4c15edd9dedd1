//! Oura `workout` -> `activity`. Native id: the workout's `id`.

use nexus_core::items::{Activity, ActivityType};
use nexus_core::{CaptureMode, Error, Item, ItemBody, Normalized, RawRecord, Result};

use crate::PROVIDER;
use crate::fields::{Obj, parse_object};

pub(super) fn normalize(record: &RawRecord) -> Result<Normalized> {
    let map = parse_object(&record.body, "the workout document")?;
    let doc = Obj::root(&map);
    let id = doc.str_req("id")?;
    let activity = doc.str_req("activity")?;
    let start = doc.time_req("start_datetime")?;
    let end = doc.time_opt("end_datetime")?;
    if end.as_ref().is_some_and(|e| e.epoch_ms < start.epoch_ms) {
        return Err(Error::malformed(
            PROVIDER,
            "end_datetime",
            "the workout ends before it starts",
        ));
    }
    let capture_mode = match doc.str_opt("source")? {
        Some("manual") => Some(CaptureMode::Manual),
        Some("autodetected" | "confirmed" | "workout_heart_rate") => Some(CaptureMode::Automatic),
        None => None,
        Some(other) => {
            return Err(Error::malformed(
                PROVIDER,
                "source",
                format!("unknown workout source {other:?}"),
            ));
        }
    };
    let body = Activity {
        start_ts: start.epoch_ms,
        end_ts: end.map(|e| e.epoch_ms),
        timezone: None,
        utc_offset_s: start.utc_offset_s,
        activity_type: ActivityType::from_name(activity),
        provider_activity_type: Some(activity.to_owned()),
        name: doc.str_opt("label")?.map(str::to_owned),
        duration_s: None,
        moving_duration_s: None,
        distance_m: doc.f64_in("distance", 0.0, 1_000_000.0)?,
        steps: None,
        calories_total_kcal: doc.f64_in("calories", 0.0, 50_000.0)?,
        calories_active_kcal: None,
        avg_heart_rate_bpm: None,
        max_heart_rate_bpm: None,
        elevation_gain_m: None,
        avg_speed_mps: None,
        max_speed_mps: None,
        avg_power_w: None,
        heart_rate_zones: None,
    };
    let mut out = Normalized::default();
    out.push(
        Item::new(PROVIDER, id, start.epoch_ms, ItemBody::Activity(body))
            .with_capture_mode(capture_mode),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{only_body, run};
    use super::*;

    const DOC: &str = r#"{"id":"w-1","activity":"cycling","calories":312.5,"day":"2024-11-11",
      "distance":15234.5,"end_datetime":"2024-11-11T18:45:00+05:30","intensity":"moderate",
      "label":"Evening ride","source":"manual","start_datetime":"2024-11-11T18:00:00+05:30"}"#;

    #[test]
    fn a_workout_maps_field_by_field() {
        let n = run("workout", DOC).unwrap();
        let item = &n.items[0].item;
        assert_eq!(item.provider_ref, "w-1");
        assert_eq!(item.capture_mode, Some(CaptureMode::Manual));
        let start = 1_731_328_200_000; // 12:30Z
        assert_eq!(item.payload_ts, start);
        let ItemBody::Activity(a) = only_body(&n) else {
            panic!()
        };
        assert_eq!(a.start_ts, start);
        assert_eq!(a.end_ts, Some(start + 45 * 60_000));
        assert_eq!(a.utc_offset_s, Some(19_800));
        assert_eq!(a.activity_type, ActivityType::Cycling);
        assert_eq!(a.provider_activity_type.as_deref(), Some("cycling"));
        assert_eq!(a.name.as_deref(), Some("Evening ride"));
        assert_eq!(a.distance_m, Some(15_234.5));
        assert_eq!(a.calories_total_kcal, Some(312.5));
        assert_eq!(
            a.duration_s, None,
            "Oura gives no duration; start/end carry it"
        );
    }

    #[test]
    fn sources_and_unknown_activities() {
        let n = run(
            "workout",
            &DOC.replace("\"manual\"", "\"autodetected\"")
                .replace("\"cycling\"", "\"pickleball\""),
        )
        .unwrap();
        assert_eq!(n.items[0].item.capture_mode, Some(CaptureMode::Automatic));
        let ItemBody::Activity(a) = only_body(&n) else {
            panic!()
        };
        assert_eq!(a.activity_type, ActivityType::Other);
        assert_eq!(a.provider_activity_type.as_deref(), Some("pickleball"));
        let e = run("workout", &DOC.replace("\"manual\"", "\"telepathy\"")).unwrap_err();
        assert_eq!(e.field(), Some("source"));
        let e = run("workout", &DOC.replace("18:45:00+05:30", "17:45:00+05:30")).unwrap_err();
        assert_eq!(e.field(), Some("end_datetime"));
        let e = run(
            "workout",
            &DOC.replace("\"distance\":15234.5", "\"distance\":-1"),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("distance"));
    }
}
