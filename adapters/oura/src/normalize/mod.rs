//! Oura documents -> Nexus items, one file per Oura data type. Pure: no clock, no I/O; the only
//! time besides the document's own is the record's `fetched_at` (profile observation time and the
//! `deleted_at` of sleeps Oura marks deleted), which is archived with the record.

mod daily_activity;
mod daily_readiness;
mod daily_spo2;
mod deletion;
mod heartrate;
mod personal_info;
mod samples;
mod sleep;
mod workout;

use nexus_core::{Error, NormalizeContext, Normalized, RawRecord, Result};

use crate::PROVIDER;
use crate::fetch::{HEARTRATE, PERSONAL_INFO};
use crate::webhook::DELETE_KIND;

/// Dispatches a raw record on its kind.
pub(crate) fn normalize(record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized> {
    match record.kind.as_str() {
        "sleep" => sleep::normalize(record, ctx),
        "daily_activity" => daily_activity::normalize(record),
        "daily_readiness" => daily_readiness::normalize(record),
        "workout" => workout::normalize(record),
        "daily_spo2" => daily_spo2::normalize(record, ctx),
        HEARTRATE => heartrate::normalize(record, ctx),
        PERSONAL_INFO => personal_info::normalize(record),
        DELETE_KIND => deletion::normalize(record),
        other => Err(Error::unsupported(
            PROVIDER,
            format!("no normalization for Oura record kind {other:?}"),
        )),
    }
}

/// The provider user id for composed native ids: the record's, else the connection's.
pub(crate) fn provider_user_id<'a>(
    record: &'a RawRecord,
    ctx: &'a NormalizeContext,
) -> Result<&'a str> {
    record
        .provider_user_id
        .as_deref()
        .or(ctx.provider_user_id.as_deref())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            Error::malformed(
                PROVIDER,
                "user_id",
                "no Oura user id for the composed native id of a timeseries chunk",
            )
        })
}

#[cfg(test)]
pub(crate) mod test_support {
    use nexus_core::{Item, ItemBody, NormalizeContext, Normalized, RawRecord};

    /// A record of `kind` with `body`, user `u-1`, fetched at 2024-11-11T08:00:00Z.
    pub(crate) fn record(kind: &str, body: &str) -> RawRecord {
        RawRecord {
            kind: kind.to_owned(),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
            provider_user_id: Some("u-1".to_owned()),
            provider_notification_id: None,
            fetched_at: Some(1_731_312_000_000),
        }
    }

    pub(crate) fn run(kind: &str, body: &str) -> nexus_core::Result<Normalized> {
        super::normalize(&record(kind, body), &NormalizeContext::default())
    }

    pub(crate) fn items(n: &Normalized) -> Vec<&Item> {
        n.items.iter().map(|i| &i.item).collect()
    }

    pub(crate) fn only_body(n: &Normalized) -> &ItemBody {
        assert_eq!(n.items.len(), 1, "{n:?}");
        &n.items[0].item.body
    }
}
