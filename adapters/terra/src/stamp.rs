//! Sample timestamps, read once while the body is deserialized. A Terra body carries thousands of
//! them, nearly all in one shape (`2026-07-01T07:04:11.000000+01:00`); [`Stamp`] reads that shape
//! on the spot, without an allocation, and keeps any other text as written for
//! [`nexus_core::time::parse_rfc3339`] to judge when the normalizer uses the sample. The fast
//! reader accepts only strings that `parse_rfc3339` accepts too, with the same result (a test
//! checks this against it), so what is refused and every error stay as they were.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

use nexus_core::time::{LocalTime, parse_rfc3339};
use nexus_core::{Error, Result};

use crate::PROVIDER;

/// A sample's `timestamp` as Terra wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    /// The common shape, already read: epoch ms and the UTC offset in seconds.
    Read {
        /// The instant, epoch ms.
        epoch_ms: i64,
        /// The written UTC offset, seconds.
        utc_offset_s: i32,
    },
    /// Any other text, checked by `parse_rfc3339` when used.
    Text(String),
}

impl Stamp {
    /// The time, or an error naming `field` (built only on failure or for an uncommon shape).
    pub fn local_time(&self, field: impl FnOnce() -> String) -> Result<LocalTime> {
        match self {
            Stamp::Read {
                epoch_ms,
                utc_offset_s,
            } => Ok(LocalTime {
                epoch_ms: *epoch_ms,
                utc_offset_s: Some(*utc_offset_s),
                timezone: None,
            }),
            Stamp::Text(s) => parse_rfc3339(PROVIDER, &field(), s),
        }
    }

    /// The instant, epoch ms; see [`Stamp::local_time`].
    pub fn epoch_ms(&self, field: impl FnOnce() -> String) -> Result<i64> {
        match self {
            Stamp::Read { epoch_ms, .. } => Ok(*epoch_ms),
            Stamp::Text(_) => Ok(self.local_time(field)?.epoch_ms),
        }
    }
}

impl From<&str> for Stamp {
    fn from(s: &str) -> Self {
        match read_common(s) {
            Some((epoch_ms, utc_offset_s)) => Stamp::Read {
                epoch_ms,
                utc_offset_s,
            },
            None => Stamp::Text(s.to_owned()),
        }
    }
}

/// The time of an optional sample timestamp; a missing one is refused, naming `field`.
pub fn stamp_time(stamp: Option<&Stamp>, field: impl FnOnce() -> String) -> Result<LocalTime> {
    match stamp {
        Some(s) => s.local_time(field),
        None => Err(Error::malformed(PROVIDER, field(), "the time is missing")),
    }
}

/// Epoch ms of an optional sample timestamp; see [`stamp_time`].
pub fn stamp_ms(stamp: Option<&Stamp>, field: impl FnOnce() -> String) -> Result<i64> {
    match stamp {
        Some(s) => s.epoch_ms(field),
        None => Err(Error::malformed(PROVIDER, field(), "the time is missing")),
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_string(StampVisitor)
    }
}

struct StampVisitor;

impl Visitor<'_> for StampVisitor {
    type Value = Stamp;

    // The words of serde's own `String` visitor, so a wrong type reads as before.
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Stamp, E> {
        Ok(Stamp::from(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Stamp, E> {
        Ok(match read_common(&v) {
            Some((epoch_ms, utc_offset_s)) => Stamp::Read {
                epoch_ms,
                utc_offset_s,
            },
            None => Stamp::Text(v),
        })
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Stamp, E> {
        match std::str::from_utf8(v) {
            Ok(s) => Ok(Stamp::from(s)),
            Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(v), &self)),
        }
    }
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)` into (epoch ms, offset s). Anything else
/// (other separators or offset forms, leap seconds, offsets beyond 18 h, `-00:00`, instants
/// before 1970 or after 9000) is `None`, for the general parser.
fn read_common(s: &str) -> Option<(i64, i32)> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = num(&b[0..4])?;
    let month = num(&b[5..7])?;
    let day = num(&b[8..10])?;
    let hour = num(&b[11..13])?;
    let minute = num(&b[14..16])?;
    let second = num(&b[17..19])?;
    if !(1970..=9000).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut frac_ms = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return None;
        }
        // Whole milliseconds: the first three digits (jiff truncates the rest, instants >= 0).
        for k in 0..3 {
            let d = if k < n {
                i64::from(b[start + k] - b'0')
            } else {
                0
            };
            frac_ms = frac_ms * 10 + d;
        }
    }
    let offset_s = match &b[i..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = num(&[*h1, *h2])?;
            let m = num(&[*m1, *m2])?;
            let secs = h * 3600 + m * 60;
            if m > 59 || secs > 18 * 3600 || (*sign == b'-' && secs == 0) {
                return None;
            }
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    if secs < 0 {
        return None;
    }
    Some((secs * 1000 + frac_ms, i32::try_from(offset_s).ok()?))
}

/// ASCII digits to a number; `None` if any byte is not a digit.
fn num(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast reader agrees with `parse_rfc3339` wherever it answers.
    fn agrees(s: &str) -> bool {
        match read_common(s) {
            None => false,
            Some((ms, off)) => {
                let t = parse_rfc3339("p", "f", s)
                    .unwrap_or_else(|e| panic!("{s:?}: fast read it, parse_rfc3339 refused: {e}"));
                assert_eq!(t.epoch_ms, ms, "{s:?}");
                assert_eq!(t.utc_offset_s, Some(off), "{s:?}");
                assert_eq!(t.timezone, None, "{s:?}");
                true
            }
        }
    }

    #[test]
    fn terra_shapes_are_read_fast_and_exactly() {
        for s in [
            "2026-07-01T07:04:11.000000+01:00",
            "2026-07-01T00:00:00+05:30",
            "2026-07-01T00:00:00-03:30",
            "2026-07-01T23:59:59.999999999Z",
            "2024-02-29T12:00:00.5-11:00",
            "1970-01-01T00:00:00Z",
            "2000-03-01T00:00:00.123+18:00",
            "9000-12-31T23:59:59-18:00",
        ] {
            assert!(agrees(s), "{s:?} should take the fast path");
        }
        assert_eq!(
            read_common("2026-07-01T07:04:11.000000+01:00"),
            Some((1_782_885_851_000, 3600))
        );
    }

    #[test]
    fn uncommon_shapes_go_to_the_general_parser() {
        for s in [
            "2026-07-01T07:04:11",             // no offset: refused there
            "2026-07-01 07:04:11Z",            // space separator
            "2026-07-01t07:04:11Z",            // lower-case t
            "2026-07-01T07:04:11z",            // lower-case z
            "2026-07-01T07:04:11+0100",        // offset without colon
            "2026-07-01T07:04:11+01",          // hour-only offset
            "2026-07-01T07:04:11-00:00",       // unknown-offset marker
            "2026-07-01T07:04:11+19:00",       // beyond 18 h
            "2026-07-01T07:04:11+18:30",       // beyond 18 h
            "2026-07-01T07:04:11+01:60",       // bad minutes
            "2026-06-30T23:59:60Z",            // leap second
            "2026-07-01T07:04:11.Z",           // empty fraction
            "2026-07-01T07:04:11.1234567891Z", // ten digits
            "2026-07-01T07:04:11,5Z",          // comma fraction
            "2026-02-29T00:00:00Z",            // no such day
            "2026-04-31T00:00:00Z",            // no such day
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-07-00T00:00:00Z",
            "2026-07-01T24:00:00Z",
            "2026-07-01T07:60:00Z",
            "1969-12-31T23:59:59Z",      // before 1970
            "1970-01-01T00:30:00+01:00", // before 1970 in UTC
            "9001-01-01T00:00:00Z",
            "2026-07-01T07:04:11Z[Europe/London]",
            "2026-07-01T07:04:11+01:00 ",
            "+2026-07-01T07:04:11Z",
            "２026-07-01T07:04:11Z",
            "",
            "yesterday",
        ] {
            assert_eq!(read_common(s), None, "{s:?}");
        }
    }

    #[test]
    fn a_grid_of_dates_times_fractions_and_offsets_agrees_with_parse_rfc3339() {
        let mut fast = 0;
        let years = [
            "1970", "1999", "2000", "2024", "2026", "2100", "2400", "8999",
        ];
        let months = ["01", "02", "03", "04", "06", "09", "11", "12"];
        let days = ["01", "15", "28", "29", "30", "31"];
        let times = ["00:00:00", "00:00:01", "12:34:56", "23:59:59"];
        let fracs = [
            "",
            ".0",
            ".5",
            ".05",
            ".123",
            ".999",
            ".1234",
            ".000000",
            ".999999999",
        ];
        let offsets = [
            "Z", "+00:00", "+01:00", "-01:00", "+05:30", "-03:30", "+05:45", "-09:30", "+14:00",
            "-12:00", "+18:00", "-18:00", "-17:59",
        ];
        for y in years {
            for m in months {
                for d in days {
                    for t in times {
                        for f in fracs {
                            for o in offsets {
                                let s = format!("{y}-{m}-{d}T{t}{f}{o}");
                                if agrees(&s) {
                                    fast += 1;
                                } else {
                                    // Not read fast: only invalid days (refused there too)
                                    // and instants before 1970.
                                    let ok = match parse_rfc3339("p", "f", &s) {
                                        Err(_) => d >= "29",
                                        Ok(t) => t.epoch_ms < 0,
                                    };
                                    assert!(ok, "{s:?} fell back though it is common");
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(fast > 100_000, "{fast} read fast");
    }

    #[test]
    fn single_byte_mutations_never_disagree() {
        let base = "2024-02-29T23:59:59.123456-05:30";
        let replacements = b"0123456789+-:.TZtz ,[]";
        for i in 0..base.len() {
            for &r in replacements {
                let mut b = base.as_bytes().to_vec();
                b[i] = r;
                let s = String::from_utf8(b).unwrap();
                agrees(&s);
                // Dropping or doubling the byte, too.
                let mut dropped = base.as_bytes().to_vec();
                dropped.remove(i);
                agrees(&String::from_utf8(dropped).unwrap());
                let mut doubled = base.as_bytes().to_vec();
                doubled.insert(i, r);
                agrees(&String::from_utf8(doubled).unwrap());
            }
        }
    }

    #[test]
    fn deserializes_fast_or_as_text_and_refuses_non_strings_in_serde_words() {
        let s: Stamp = serde_json::from_str(r#""2026-07-01T07:04:11.000000+01:00""#).unwrap();
        assert_eq!(
            s,
            Stamp::Read {
                epoch_ms: 1_782_885_851_000,
                utc_offset_s: 3600
            }
        );
        let s: Stamp = serde_json::from_str(r#""2026-07-01T07:04:11""#).unwrap();
        assert_eq!(s, Stamp::Text("2026-07-01T07:04:11".into()));
        let e = s.local_time(|| "x.timestamp".into()).unwrap_err();
        assert_eq!(e.field(), Some("x.timestamp"));
        // Escaped text reaches the visitor as an owned string.
        let s: Stamp = serde_json::from_str(r#""2026-07-01T07:04:11\u002B01:00""#).unwrap();
        assert_eq!(s.epoch_ms(|| unreachable!()).unwrap(), 1_782_885_851_000);

        let ours = serde_json::from_str::<Stamp>("5").unwrap_err().to_string();
        let serdes = serde_json::from_str::<String>("5").unwrap_err().to_string();
        assert_eq!(ours, serdes);
        let e = stamp_ms(None, || "y.timestamp".into()).unwrap_err();
        assert_eq!(e.field(), Some("y.timestamp"));
    }
}
