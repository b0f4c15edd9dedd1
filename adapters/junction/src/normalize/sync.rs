//! `historical.data.<resource>.created` -> `sync`: a historical pull of one resource from one
//! source finished. Native id `<user_id>:<source slug>:<resource>`.

use nexus_core::items::{Sync, SyncStatus};
use nexus_core::{Error, Item, ItemBody, Normalized, Result};

use crate::PROVIDER;
use crate::event::resource_event_type;
use crate::fields::Obj;
use crate::source::SourceInfo;

pub(super) fn normalize(resource: &str, user_id: &str, data: &Obj<'_>) -> Result<Normalized> {
    let source = SourceInfo::from_data(data)?;
    let start = data.time_req("start_date")?.epoch_ms;
    let end = data.time_req("end_date")?.epoch_ms;
    if end < start {
        return Err(Error::malformed(
            PROVIDER,
            data.path_of("end_date"),
            "the range ends before it starts",
        ));
    }
    // `is_final: false` (older events) announces more pages of the same pull.
    let status = match data.bool_opt("is_final")? {
        Some(false) => SyncStatus::InProgress,
        _ => SyncStatus::Completed,
    };
    let body = Sync {
        status,
        resource: resource_event_type(resource),
        range_start_ts: Some(start),
        range_end_ts: Some(end),
        expected_payloads: None,
        retry_at_ts: None,
        reference: None,
    };
    let native = format!("{user_id}:{}:{resource}", source.slug);
    let mut out = Normalized::default();
    out.add_device(source.device());
    out.push(
        Item::new(PROVIDER, &native, end, ItemBody::Sync(body))
            .with_device(Some(source.device_id())),
    );
    Ok(out)
}
