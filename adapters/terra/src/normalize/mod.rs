//! Terra record -> Nexus items: one file per Terra event type, shared helpers here (times, ids,
//! devices, checked numbers, sample series).

mod activity;
mod athlete;
mod body;
mod connection;
mod daily;
mod menstruation;
mod nutrition;
mod series;
mod sleep;
mod sync;

use nexus_core::identity::device_id;
use nexus_core::time::{LocalTime, parse_date, parse_rfc3339};
use nexus_core::{Device, Error, NormalizeContext, Normalized, RawRecord, Result};

use crate::PROVIDER;
use crate::payload::{self, DeviceData, Metadata, User};

pub(crate) use series::Series;

/// Normalizes one Terra webhook body (the record's kind is its `type`).
pub fn normalize(record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized> {
    let body = &record.body[..];
    match record.kind.as_str() {
        "activity" => activity::normalize(body, ctx, record),
        "sleep" => sleep::normalize(body, ctx),
        "daily" => daily::normalize(body, ctx),
        "body" => body::normalize(body, ctx),
        "nutrition" => nutrition::normalize(body, ctx),
        "menstruation" => menstruation::normalize(body, ctx),
        "athlete" => athlete::normalize(body, ctx),
        "auth"
        | "deauth"
        | "user_reauth"
        | "access_revoked"
        | "connection_error"
        | "google_no_datasource"
        | "permission_change" => connection::normalize(&record.kind, body, ctx),
        "large_request_processing" | "large_request_sending" | "rate_limit_hit" => {
            sync::normalize(&record.kind, body, ctx, record)
        }
        other => Err(
            Error::unsupported(PROVIDER, format!("Terra event type `{other}`")).with_field("type"),
        ),
    }
}

/// The Terra user id of a body: `user.user_id`, else the connection's.
fn user_id(user: Option<&User>, field: &str, ctx: &NormalizeContext) -> Result<String> {
    user.and_then(|u| u.user_id.clone())
        .or_else(|| ctx.provider_user_id.clone())
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| Error::malformed(PROVIDER, field, "the Terra user id is missing"))
}

/// The `data` array of a data event.
fn data_of<T>(event: payload::DataEvent<T>) -> Result<(Option<User>, Vec<T>)> {
    let data = event
        .data
        .ok_or_else(|| Error::malformed(PROVIDER, "data", "the data array is missing"))?;
    Ok((event.user, data))
}

/// A Terra timestamp (ISO 8601 with an offset). Terra omits the offset when it does not know it
/// ("the time corresponds to the user's local time"); such a time cannot be placed on the
/// timeline, so it is refused rather than guessed.
fn time(field: &str, value: Option<&str>) -> Result<LocalTime> {
    let s = value.ok_or_else(|| Error::malformed(PROVIDER, field, "the time is missing"))?;
    parse_rfc3339(PROVIDER, field, s)
}

/// `metadata` of record `i`, required.
fn metadata(m: Option<&Metadata>, i: usize) -> Result<&Metadata> {
    m.ok_or_else(|| Error::malformed(PROVIDER, format!("data[{i}].metadata"), "missing"))
}

/// Start (required) and end (optional) of a record.
fn span(m: &Metadata, i: usize) -> Result<(LocalTime, Option<LocalTime>)> {
    let start = time(
        &format!("data[{i}].metadata.start_time"),
        m.start_time.as_deref(),
    )?;
    let end = match m.end_time.as_deref() {
        Some(s) => Some(parse_rfc3339(
            PROVIDER,
            &format!("data[{i}].metadata.end_time"),
            s,
        )?),
        None => None,
    };
    if end.as_ref().is_some_and(|e| e.epoch_ms < start.epoch_ms) {
        return Err(Error::malformed(
            PROVIDER,
            format!("data[{i}].metadata.end_time"),
            "the end is before the start",
        ));
    }
    Ok((start, end))
}

/// The local date of a per-day record and the `payload_ts` of its aggregate: Terra's day
/// records start at local midnight, so the date is `start_time`'s own calendar date.
fn day_of(start: &LocalTime, field: &str) -> Result<(String, i64)> {
    let date = start.local_date();
    let d = parse_date(PROVIDER, field, &date)?;
    Ok((
        date,
        nexus_core::time::local_midnight_ms(d, start.utc_offset_s),
    ))
}

/// The device a record came from: the underlying source (`user.provider`) and, where Terra
/// names it, the concrete device (`device_data`). Returns the device native key (for chunk ids)
/// and the registry entry.
fn device(user: Option<&User>, data: Option<&DeviceData>) -> Option<(String, Device)> {
    let source = user
        .and_then(|u| u.provider.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let serial = data
        .and_then(|d| d.serial_number.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let name = data
        .and_then(|d| d.name.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let manufacturer = data
        .and_then(|d| d.manufacturer.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let concrete = serial.or(name);
    let key = match (source, concrete) {
        (None, None) => return None,
        (Some(s), None) => s.to_owned(),
        (s, Some(c)) => format!("{}:{c}", s.unwrap_or("-")),
    };
    let device = Device {
        device_id: device_id(PROVIDER, &key),
        name: source.or(manufacturer).map(str::to_owned),
        model: name.map(str::to_owned),
        provider_device_id: serial.map(str::to_owned),
    };
    Some((key, device))
}

/// Checks a value that must be finite and >= 0.
fn non_negative(field: &str, v: Option<f64>) -> Result<Option<f64>> {
    non_negative_at(v, || field.to_owned())
}

/// [`non_negative`] with the field named by `field`, called only for an error (sample loops).
fn non_negative_at(v: Option<f64>, field: impl FnOnce() -> String) -> Result<Option<f64>> {
    match v {
        Some(x) if !x.is_finite() || x < 0.0 => Err(Error::malformed(
            PROVIDER,
            field(),
            format!("expected a value >= 0, got {x}"),
        )),
        other => Ok(other),
    }
}

/// Checks a percentage (0-100).
fn percent(field: &str, v: Option<f64>) -> Result<Option<f64>> {
    percent_at(v, || field.to_owned())
}

/// [`percent`] with the field named by `field`, called only for an error.
fn percent_at(v: Option<f64>, field: impl FnOnce() -> String) -> Result<Option<f64>> {
    match v {
        Some(x) if !(0.0..=100.0).contains(&x) => Err(Error::malformed(
            PROVIDER,
            field(),
            format!("expected a percentage 0-100, got {x}"),
        )),
        other => Ok(other),
    }
}

/// A whole count (steps): Terra may write `7902` or `7902.0`; fractions and negatives are refused.
fn count(field: &str, v: Option<f64>) -> Result<Option<i64>> {
    count_at(v, || field.to_owned())
}

/// [`count`] with the field named by `field`, called only for an error.
fn count_at(v: Option<f64>, field: impl FnOnce() -> String) -> Result<Option<i64>> {
    match v {
        None => Ok(None),
        Some(x) if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 9.0e15 => {
            // Integral and below 2^53, checked above.
            #[allow(clippy::cast_possible_truncation)] // bounded and integral, see the guard
            Ok(Some(x as i64))
        }
        Some(x) => Err(Error::malformed(
            PROVIDER,
            field(),
            format!("expected a whole count >= 0, got {x}"),
        )),
    }
}

/// Seconds to minutes, for the daily summary's `*_minutes` fields (a unit change only).
fn minutes(field: &str, secs: Option<f64>) -> Result<Option<f64>> {
    Ok(non_negative(field, secs)?.map(nexus_core::units::s_to_minutes))
}

/// Splits Terra's comma-separated scope list; an empty string is an empty list.
fn scopes(s: Option<&str>) -> Option<Vec<String>> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

#[cfg(test)]
mod tests;
