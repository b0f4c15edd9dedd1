//! Parsing of provider time formats into epoch ms plus local context (`timezone`,
//! `utc_offset_s`). Every function takes the provider and field name so that bad input becomes an
//! error naming both.

use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, Zoned};

use crate::{Error, Result};

/// An instant with the local context the provider gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTime {
    /// The instant, epoch ms.
    pub epoch_ms: i64,
    /// UTC offset in seconds, when known.
    pub utc_offset_s: Option<i32>,
    /// IANA zone name, when known.
    pub timezone: Option<String>,
}

impl LocalTime {
    /// The local calendar date (`YYYY-MM-DD`) of this instant: in its zone, else at its offset,
    /// else in UTC.
    pub fn local_date(&self) -> String {
        local_date(self.epoch_ms, self.utc_offset_s)
    }
}

fn ts_ms(ts: Timestamp) -> i64 {
    // jiff gives epoch ms as an i64 (its range, about ±10,000 years, fits).
    ts.as_millisecond()
}

/// RFC 3339 / ISO 8601 with an offset (`2024-03-10T07:15:00-05:00`, `...Z`, fractional seconds).
/// An IANA annotation (`...[America/New_York]`) fills `timezone`.
pub fn parse_rfc3339(provider: &str, field: &str, s: &str) -> Result<LocalTime> {
    // A zoned time needs a `[time zone]` annotation: without a '[' the parse can only fail, and
    // building its error costs more than the parse that follows.
    if let Some(z) = s.contains('[').then(|| s.parse::<Zoned>().ok()).flatten() {
        return Ok(LocalTime {
            epoch_ms: ts_ms(z.timestamp()),
            utc_offset_s: Some(z.offset().seconds()),
            timezone: z.time_zone().iana_name().map(str::to_owned),
        });
    }
    let ts: Timestamp = s.parse().map_err(|e| {
        Error::malformed(
            provider,
            field,
            format!("expected an RFC 3339 time with an offset, got {s:?} ({e})"),
        )
    })?;
    let offset = parse_trailing_offset(s);
    Ok(LocalTime {
        epoch_ms: ts_ms(ts),
        utc_offset_s: offset,
        timezone: None,
    })
}

/// The offset written at the end of an RFC 3339 string (`Z`, `+02:00`, `-0530`), in seconds.
fn parse_trailing_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.ends_with('Z') || s.ends_with('z') {
        return Some(0);
    }
    let pos = s.rfind(['+', '-'])?;
    let tail = &s[pos..];
    // Must look like an offset, not the date's own dashes: after the time part ('T').
    if !s[..pos].contains(['T', 't', ' ']) {
        return None;
    }
    parse_offset(tail).ok()
}

/// A naive local time (`2024-03-10T07:15:00`, `2024-03-10 07:15:00`) plus the offset in seconds
/// the provider sent beside it.
pub fn parse_naive_with_offset(
    provider: &str,
    field: &str,
    naive: &str,
    utc_offset_s: i32,
) -> Result<LocalTime> {
    let dt: DateTime = naive.replacen(' ', "T", 1).parse().map_err(|e| {
        Error::malformed(
            provider,
            field,
            format!("expected a local date-time, got {naive:?} ({e})"),
        )
    })?;
    let offset = Offset::from_seconds(utc_offset_s).map_err(|e| {
        Error::malformed(
            provider,
            field,
            format!("UTC offset {utc_offset_s}s is out of range ({e})"),
        )
    })?;
    let ts = offset.to_timestamp(dt).map_err(|e| {
        Error::malformed(
            provider,
            field,
            format!("{naive:?} at offset {utc_offset_s}s: {e}"),
        )
    })?;
    Ok(LocalTime {
        epoch_ms: ts_ms(ts),
        utc_offset_s: Some(utc_offset_s),
        timezone: None,
    })
}

/// A naive local time in an IANA zone (`Europe/Berlin`).
pub fn parse_naive_in_zone(
    provider: &str,
    field: &str,
    naive: &str,
    tz: &str,
) -> Result<LocalTime> {
    let dt: DateTime = naive.replacen(' ', "T", 1).parse().map_err(|e| {
        Error::malformed(
            provider,
            field,
            format!("expected a local date-time, got {naive:?} ({e})"),
        )
    })?;
    let zone = TimeZone::get(tz).map_err(|e| {
        Error::malformed(provider, field, format!("unknown time zone {tz:?} ({e})"))
    })?;
    let z = dt
        .to_zoned(zone)
        .map_err(|e| Error::malformed(provider, field, format!("{naive:?} in {tz}: {e}")))?;
    Ok(LocalTime {
        epoch_ms: ts_ms(z.timestamp()),
        utc_offset_s: Some(z.offset().seconds()),
        timezone: Some(tz.to_owned()),
    })
}

/// Epoch seconds (integer or fractional) to epoch ms. Refuses values outside years 1900-2200.
pub fn epoch_s_to_ms(provider: &str, field: &str, secs: f64) -> Result<i64> {
    epoch_ms_checked(provider, field, secs * 1000.0)
}

/// Epoch ms, checked to lie within years 1900-2200.
pub fn epoch_ms_checked(provider: &str, field: &str, ms: f64) -> Result<i64> {
    const MIN: f64 = -2_208_988_800_000.0; // 1900-01-01
    const MAX: f64 = 7_258_118_400_000.0; // 2200-01-01
    if !ms.is_finite() || !(MIN..MAX).contains(&ms) {
        return Err(Error::malformed(
            provider,
            field,
            format!("epoch time {ms} ms is outside 1900-2200"),
        ));
    }
    // In range and finite, see above.
    #[allow(clippy::cast_possible_truncation)] // bounded above
    Ok(ms.round() as i64)
}

/// An offset: `"-14400s"` (Google style), `"+02:00"`, `"-0530"`, `"Z"`, or plain seconds `"3600"`.
pub fn parse_offset(s: &str) -> Result<i32, String> {
    let t = s.trim();
    if t == "Z" || t == "z" {
        return Ok(0);
    }
    let bad = || format!("expected a UTC offset such as \"-14400s\" or \"+02:00\", got {s:?}");
    let secs: i64 = if let Some(n) = t.strip_suffix('s') {
        n.parse().map_err(|_| bad())?
    } else if let Some(rest) = t.strip_prefix(['+', '-']) {
        let sign = if t.starts_with('-') { -1 } else { 1 };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
            if rest.chars().all(|c| c.is_ascii_digit()) && !rest.is_empty() {
                sign * rest.parse::<i64>().map_err(|_| bad())?
            } else {
                return Err(bad());
            }
        } else {
            let h: i64 = digits[..2].parse().map_err(|_| bad())?;
            let m: i64 = digits[2..].parse().map_err(|_| bad())?;
            if m >= 60 {
                return Err(bad());
            }
            sign * (h * 3600 + m * 60)
        }
    } else {
        t.parse().map_err(|_| bad())?
    };
    if secs.abs() > 18 * 3600 {
        return Err(format!("UTC offset {secs}s is beyond ±18h in {s:?}"));
    }
    i32::try_from(secs).map_err(|_| bad())
}

/// [`parse_offset`] with the error naming the provider and field.
pub fn parse_offset_field(provider: &str, field: &str, s: &str) -> Result<i32> {
    parse_offset(s).map_err(|reason| Error::malformed(provider, field, reason))
}

/// A calendar date `YYYY-MM-DD` (a trailing time part, as in `2024-03-10T00:00:00+00:00`, is
/// ignored: the date is the provider's local date).
pub fn parse_date(provider: &str, field: &str, s: &str) -> Result<Date> {
    let head = s.get(..10).unwrap_or(s);
    head.parse::<Date>().map_err(|e| {
        Error::malformed(
            provider,
            field,
            format!("expected a date YYYY-MM-DD, got {s:?} ({e})"),
        )
    })
}

/// Epoch ms of local midnight of `date` at `utc_offset_s`, or UTC midnight when the offset is
/// unknown (`payload_ts` of daily aggregates).
pub fn local_midnight_ms(date: Date, utc_offset_s: Option<i32>) -> i64 {
    let offset = utc_offset_s
        .and_then(|s| Offset::from_seconds(s).ok())
        .unwrap_or(Offset::UTC);
    offset
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .map(ts_ms)
        .unwrap_or(0)
}

/// Epoch ms of local midnight of `date` in the IANA zone `tz`.
pub fn zoned_midnight_ms(provider: &str, field: &str, date: Date, tz: &str) -> Result<i64> {
    let zone = TimeZone::get(tz).map_err(|e| {
        Error::malformed(provider, field, format!("unknown time zone {tz:?} ({e})"))
    })?;
    date.to_zoned(zone)
        .map(|z| ts_ms(z.timestamp()))
        .map_err(|e| Error::malformed(provider, field, format!("midnight of {date} in {tz}: {e}")))
}

/// The local date (`YYYY-MM-DD`) of an instant at an offset (UTC when unknown).
pub fn local_date(epoch_ms: i64, utc_offset_s: Option<i32>) -> String {
    let offset = utc_offset_s
        .and_then(|s| Offset::from_seconds(s).ok())
        .unwrap_or(Offset::UTC);
    match Timestamp::from_millisecond(epoch_ms) {
        Ok(ts) => offset.to_datetime(ts).date().to_string(),
        Err(_) => "1970-01-01".to_owned(),
    }
}

/// Epoch ms of an ISO 8601 duration-free instant or a date: RFC 3339 when it has a time, UTC
/// midnight when it is only a date.
pub fn parse_instant_or_date(provider: &str, field: &str, s: &str) -> Result<i64> {
    if s.len() == 10 {
        let d = parse_date(provider, field, s)?;
        return Ok(local_midnight_ms(d, None));
    }
    parse_rfc3339(provider, field, s).map(|t| t.epoch_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_negative_and_half_hour_offsets() {
        let t = parse_rfc3339("p", "f", "2024-03-10T07:15:00-05:00").unwrap();
        assert_eq!(t.epoch_ms, 1_710_072_900_000);
        assert_eq!(t.utc_offset_s, Some(-18_000));
        let t = parse_rfc3339("p", "f", "2024-03-10T07:15:00.500+05:30").unwrap();
        assert_eq!(t.utc_offset_s, Some(19_800));
        assert_eq!(t.epoch_ms, 1_710_035_100_500);
        assert_eq!(t.local_date(), "2024-03-10");
        let z = parse_rfc3339("p", "f", "2024-03-10T12:00:00Z").unwrap();
        assert_eq!(z.utc_offset_s, Some(0));
    }

    #[test]
    fn rfc3339_errors_name_provider_and_field() {
        let e = parse_rfc3339("oura", "bedtime_start", "yesterday").unwrap_err();
        assert_eq!(e.provider(), Some("oura"));
        assert_eq!(e.field(), Some("bedtime_start"));
        assert!(
            parse_rfc3339("p", "f", "2024-03-10T07:15:00").is_err(),
            "no offset"
        );
    }

    #[test]
    fn naive_plus_offset() {
        let t = parse_naive_with_offset("p", "f", "2024-03-10T07:15:00", -14_400).unwrap();
        assert_eq!(t.epoch_ms, 1_710_069_300_000);
        assert!(parse_naive_with_offset("p", "f", "2024-03-10T07:15:00", 100_000).is_err());
        assert!(parse_naive_with_offset("p", "f", "nope", 0).is_err());
    }

    #[test]
    fn naive_in_zone_follows_dst() {
        let t = parse_naive_in_zone("p", "f", "2024-07-01T12:00:00", "Europe/Berlin").unwrap();
        assert_eq!(t.utc_offset_s, Some(7_200));
        assert!(parse_naive_in_zone("p", "f", "2024-07-01T12:00:00", "Mars/Olympus").is_err());
    }

    #[test]
    fn offsets_in_every_style() {
        assert_eq!(parse_offset("-14400s"), Ok(-14_400));
        assert_eq!(parse_offset("+02:00"), Ok(7_200));
        assert_eq!(parse_offset("-0530"), Ok(-19_800));
        assert_eq!(parse_offset("Z"), Ok(0));
        assert_eq!(parse_offset("3600"), Ok(3_600));
        assert!(parse_offset("+25:00").is_err());
        assert!(parse_offset("abc").is_err());
        assert!(parse_offset("99999999999999999999s").is_err());
    }

    #[test]
    fn epochs_are_range_checked() {
        assert_eq!(
            epoch_s_to_ms("p", "f", 1_700_000_000.0).unwrap(),
            1_700_000_000_000
        );
        assert!(epoch_s_to_ms("p", "f", 1e300).is_err());
        assert!(epoch_s_to_ms("p", "f", f64::NAN).is_err());
        assert!(epoch_ms_checked("p", "f", -1e15).is_err());
    }

    #[test]
    fn dates_and_midnights() {
        let d = parse_date("p", "f", "2024-03-10").unwrap();
        assert_eq!(local_midnight_ms(d, None), 1_710_028_800_000);
        assert_eq!(
            local_midnight_ms(d, Some(-18_000)),
            1_710_028_800_000 + 18_000_000
        );
        assert_eq!(
            parse_date("p", "f", "2024-03-10T00:00:00+00:00").unwrap(),
            d
        );
        assert!(parse_date("p", "f", "2024-13-01").is_err());
        assert_eq!(
            zoned_midnight_ms("p", "f", d, "America/New_York").unwrap(),
            1_710_046_800_000
        );
        assert_eq!(local_date(1_710_028_800_000 - 1, Some(0)), "2024-03-09");
        assert_eq!(local_date(1_710_028_800_000 - 1, Some(3_600)), "2024-03-10");
    }
}
