//! An Oura `delete` notification -> `deletion` of the item the deleted object became. Nothing is
//! fetched (the object is gone); `deleted_at` is the notification's `event_time`, so a re-delivery
//! or replay gives the identical item.

use nexus_core::{EventType, Item, Normalized, RawRecord, Result};

use crate::PROVIDER;
use crate::fields::{Obj, parse_object};
use crate::webhook::{check_data_type, check_object_id};

pub(super) fn normalize(record: &RawRecord) -> Result<Normalized> {
    let map = parse_object(&record.body, "the delete notification")?;
    let doc = Obj::root(&map);
    let data_type = doc.str_req("data_type")?;
    check_data_type(data_type)?;
    let object_id = doc.str_req("object_id")?;
    check_object_id("object_id", object_id)?;
    let deleted_at = doc.time_req("event_time")?.epoch_ms;
    let deleted = match data_type {
        "sleep" => EventType::Sleep,
        "daily_activity" => EventType::DailySummary,
        "daily_readiness" => EventType::DailyReadiness,
        "workout" => EventType::Activity,
        // `daily_spo2` becomes a chunk keyed by user and day; the notification names only the
        // object id, so the chunk cannot be found: acknowledged, nothing emitted (crate docs).
        _ => return Ok(Normalized::default()),
    };
    let mut out = Normalized::default();
    out.push(Item::deletion(PROVIDER, deleted, object_id, deleted_at));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use nexus_core::ItemBody;
    use nexus_core::identity::source_id;

    use super::super::test_support::{only_body, run};
    use super::*;

    fn note(data_type: &str) -> String {
        format!(
            r#"{{"event_type":"delete","data_type":"{data_type}","object_id":"o-1","event_time":"2024-11-11T09:30:00-04:00","user_id":"u-1"}}"#
        )
    }

    #[test]
    fn deletes_carry_the_deleted_items_source_id() {
        for (dt, et) in [
            ("sleep", EventType::Sleep),
            ("daily_activity", EventType::DailySummary),
            ("daily_readiness", EventType::DailyReadiness),
            ("workout", EventType::Activity),
        ] {
            let n = run("delete", &note(dt)).unwrap();
            let ItemBody::Deletion(d) = only_body(&n) else {
                panic!()
            };
            assert_eq!(d.deleted_event_type, et);
            assert_eq!(d.deleted_at, 1_731_331_800_000);
            assert_eq!(n.items[0].item.source_id, source_id(et, "oura", "o-1"));
            assert_eq!(n.items[0].item.provider_ref, "o-1");
        }
        assert!(run("delete", &note("daily_spo2")).unwrap().items.is_empty());
        assert!(run("delete", &note("session")).is_err());
    }
}
