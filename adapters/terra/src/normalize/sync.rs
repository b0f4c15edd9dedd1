//! Terra historical-request events -> `sync`.
//!
//! | Terra `type` | `status` | fields |
//! |---|---|---|
//! | `large_request_processing` | `started` | `reference` |
//! | `large_request_sending` | `in_progress` | `reference`, `expected_payloads` |
//! | `rate_limit_hit` | `rate_limited` | `start_date` -> `range_start_ts`, `end_date` -> `range_end_ts`, `retrying_at` -> `retry_at_ts` |
//!
//! The native id is `<user_id>:<reference>`, the reference being the body's `reference` or else
//! the `terra-reference` header the record was received with; `<user_id>` when there is neither.

use nexus_core::items::{Sync, SyncStatus};
use nexus_core::time::parse_instant_or_date;
use nexus_core::{Error, Item, ItemBody, NormalizeContext, Normalized, RawRecord, Result};

use super::{count, device, user_id};
use crate::PROVIDER;
use crate::payload::{self, StatusEvent};

fn instant(field: &str, v: Option<&str>) -> Result<Option<i64>> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse_instant_or_date(PROVIDER, field, s).map(Some),
        None => Ok(None),
    }
}

pub(super) fn normalize(
    kind: &str,
    body: &[u8],
    ctx: &NormalizeContext,
    record: &RawRecord,
) -> Result<Normalized> {
    let ev: StatusEvent = payload::parse(body)?;
    let uid = user_id(ev.user.as_ref(), "user.user_id", ctx)?;
    let status = match kind {
        "large_request_processing" => SyncStatus::Started,
        "large_request_sending" => SyncStatus::InProgress,
        "rate_limit_hit" => SyncStatus::RateLimited,
        other => {
            return Err(Error::unsupported(
                PROVIDER,
                format!("Terra event type `{other}`"),
            ));
        }
    };
    let reference = ev
        .reference
        .clone()
        .or_else(|| record.provider_notification_id.clone())
        .filter(|s| !s.trim().is_empty());
    let item = Sync {
        status,
        resource: None,
        range_start_ts: instant("start_date", ev.start_date.as_deref())?,
        range_end_ts: instant("end_date", ev.end_date.as_deref())?,
        expected_payloads: count("expected_payloads", ev.expected_payloads)?,
        retry_at_ts: instant("retrying_at", ev.retrying_at.as_deref())?,
        reference: reference.clone(),
    };
    let native = match &reference {
        Some(r) => format!("{uid}:{r}"),
        None => uid.clone(),
    };
    let dev = device(ev.user.as_ref(), None);
    let mut out = Normalized::default();
    // No event time in these bodies: payload_ts is 0 (unknown), see connection.rs.
    out.push(
        Item::new(PROVIDER, &native, 0, ItemBody::Sync(item))
            .with_device(dev.as_ref().map(|d| d.1.device_id.clone())),
    );
    if let Some(d) = dev {
        out.add_device(d.1);
    }
    Ok(out)
}
