//! Path-naming access to a Junction JSON payload: every accessor that fails names the provider,
//! the JSON path of the field (`data.data[3].timestamp`) and the reason, so bad input never panics
//! and never turns into a silently wrong value.

use std::borrow::Cow;
use std::sync::Arc;

use nexus_core::time::{LocalTime, parse_rfc3339};
use nexus_core::{Error, Result};
use serde_json::{Map, Value};

use crate::PROVIDER;

/// A JSON object together with its path from the payload root.
///
/// The path is only turned into a string when an error names it: an array element keeps its
/// array's path (shared) and its index, so walking a batch of samples formats nothing.
#[derive(Debug, Clone)]
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: Arc<str>,
    index: Option<usize>,
}

/// Why a value does not fit, for error messages.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `value` as an object at `path`.
pub(crate) fn object_at(value: &Value, path: impl Into<String>) -> Result<Obj<'_>> {
    let path = path.into();
    match value {
        Value::Object(map) => Ok(Obj {
            map,
            path: path.into(),
            index: None,
        }),
        other => Err(Error::malformed(
            PROVIDER,
            if path.is_empty() {
                "$".to_owned()
            } else {
                path
            },
            format!("expected an object, got {}", kind_of(other)),
        )),
    }
}

impl<'a> Obj<'a> {
    /// The JSON path of `key` inside this object.
    pub(crate) fn path_of(&self, key: &str) -> String {
        match self.index {
            Some(i) => format!("{}[{i}].{key}", self.path),
            None if self.path.is_empty() => key.to_owned(),
            None => format!("{}.{key}", self.path),
        }
    }

    fn bad(&self, key: &str, reason: impl Into<String>) -> Error {
        Error::malformed(PROVIDER, self.path_of(key), reason)
    }

    /// The value at `key`; `None` when missing or `null`.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn str_opt(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.bad(key, format!("expected a string, got {}", kind_of(other)))),
        }
    }

    pub(crate) fn str_req(&self, key: &str) -> Result<&'a str> {
        self.str_opt(key)?
            .ok_or_else(|| self.bad(key, "required string is missing"))
    }

    /// A non-empty string, trimmed; empty strings count as absent.
    pub(crate) fn nonempty_str_opt(&self, key: &str) -> Result<Option<&'a str>> {
        Ok(self.str_opt(key)?.map(str::trim).filter(|s| !s.is_empty()))
    }

    pub(crate) fn f64_opt(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(self.bad(key, format!("number {n} is not a finite value"))),
            },
            Some(other) => Err(self.bad(key, format!("expected a number, got {}", kind_of(other)))),
        }
    }

    pub(crate) fn f64_req(&self, key: &str) -> Result<f64> {
        self.f64_opt(key)?
            .ok_or_else(|| self.bad(key, "required number is missing"))
    }

    /// A non-negative number (durations, counts, masses).
    pub(crate) fn nonneg_opt(&self, key: &str) -> Result<Option<f64>> {
        match self.f64_opt(key)? {
            Some(x) if x < 0.0 => Err(self.bad(key, format!("expected a value >= 0, got {x}"))),
            v => Ok(v),
        }
    }

    /// A whole, non-negative count (steps, floors).
    pub(crate) fn count_opt(&self, key: &str) -> Result<Option<i64>> {
        match self.nonneg_opt(key)? {
            None => Ok(None),
            Some(x) if x.fract() != 0.0 || x > 9.0e15 => {
                Err(self.bad(key, format!("expected a whole count, got {x}")))
            }
            // Whole and below 2^53, checked above.
            #[allow(clippy::cast_possible_truncation)] // integral and bounded, see the guard
            Some(x) => Ok(Some(x as i64)),
        }
    }

    pub(crate) fn bool_opt(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => {
                Err(self.bad(key, format!("expected a boolean, got {}", kind_of(other))))
            }
        }
    }

    pub(crate) fn obj_opt(&self, key: &str) -> Result<Option<Obj<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => object_at(v, self.path_of(key)).map(Some),
        }
    }

    pub(crate) fn obj_req(&self, key: &str) -> Result<Obj<'a>> {
        self.obj_opt(key)?
            .ok_or_else(|| self.bad(key, "required object is missing"))
    }

    pub(crate) fn arr_opt(&self, key: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(self.bad(key, format!("expected an array, got {}", kind_of(other)))),
        }
    }

    pub(crate) fn arr_req(&self, key: &str) -> Result<&'a Vec<Value>> {
        self.arr_opt(key)?
            .ok_or_else(|| self.bad(key, "required array is missing"))
    }

    /// The `i`-th element of the array at `key`, as an object.
    pub(crate) fn elem(&self, key: &str, i: usize, v: &'a Value) -> Result<Obj<'a>> {
        elem_at(&self.path_of(key).into(), i, v)
    }

    /// A non-empty string, trimmed and lowercased (units); borrowed when already lowercase.
    pub(crate) fn lower_str_opt(&self, key: &str) -> Result<Option<Cow<'a, str>>> {
        Ok(self.nonempty_str_opt(key)?.map(|s| {
            if s.chars().any(char::is_uppercase) {
                Cow::Owned(s.to_lowercase())
            } else {
                Cow::Borrowed(s)
            }
        }))
    }

    /// An RFC 3339 time with an offset, as epoch ms only.
    pub(crate) fn time_ms_opt(&self, key: &str) -> Result<Option<i64>> {
        match self.str_opt(key)? {
            None => Ok(None),
            Some(s) => match fast_epoch_ms(s) {
                Some(ms) => Ok(Some(ms)),
                None => parse_rfc3339(PROVIDER, &self.path_of(key), s).map(|t| Some(t.epoch_ms)),
            },
        }
    }

    pub(crate) fn time_ms_req(&self, key: &str) -> Result<i64> {
        self.time_ms_opt(key)?
            .ok_or_else(|| self.bad(key, "required time is missing"))
    }

    /// An RFC 3339 time with an offset.
    pub(crate) fn time_opt(&self, key: &str) -> Result<Option<LocalTime>> {
        match self.str_opt(key)? {
            None => Ok(None),
            Some(s) => parse_rfc3339(PROVIDER, &self.path_of(key), s).map(Some),
        }
    }

    pub(crate) fn time_req(&self, key: &str) -> Result<LocalTime> {
        self.time_opt(key)?
            .ok_or_else(|| self.bad(key, "required time is missing"))
    }

    /// A UTC offset in seconds (`timezone_offset`), within ±18 hours.
    pub(crate) fn offset_opt(&self, key: &str) -> Result<Option<i32>> {
        match self.f64_opt(key)? {
            None => Ok(None),
            Some(x) if x.fract() == 0.0 && x.abs() <= 18.0 * 3600.0 => {
                // Whole and within ±64800, checked above.
                #[allow(clippy::cast_possible_truncation)] // bounded by the guard
                Ok(Some(x as i32))
            }
            Some(x) => Err(self.bad(
                key,
                format!("expected a UTC offset in whole seconds within ±18h, got {x}"),
            )),
        }
    }
}

/// The `i`-th element of the array whose path is `array_path`, as an object.
pub(crate) fn elem_at<'a>(array_path: &Arc<str>, i: usize, v: &'a Value) -> Result<Obj<'a>> {
    match v {
        Value::Object(map) => Ok(Obj {
            map,
            path: Arc::clone(array_path),
            index: Some(i),
        }),
        other => Err(Error::malformed(
            PROVIDER,
            format!("{array_path}[{i}]"),
            format!("expected an object, got {}", kind_of(other)),
        )),
    }
}

/// Epoch ms of the common RFC 3339 shape `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, for
/// years 1971-9000 (so the result is positive and far from the parser's range limits). `None`
/// for anything else, which then goes through the full parser (`parse_rfc3339`), so its
/// acceptance and its errors stay the full parser's; this only skips it for the plain shape.
fn fast_epoch_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut n = 0i64;
        for &c in b.get(r)? {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        Some(n)
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1971..=9000).contains(&year) || !(1..=12).contains(&month) || hour > 23 {
        return None;
    }
    if minute > 59 || second > 59 {
        return None;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day < 1 || day > month_days {
        return None;
    }
    let mut pos = 19;
    let mut ms = 0i64;
    if b[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            if pos - start < 3 {
                ms = ms * 10 + i64::from(b[pos] - b'0');
            }
            pos += 1;
        }
        let digits = pos - start;
        if digits == 0 || digits > 9 {
            return None;
        }
        for _ in digits..3 {
            ms *= 10;
        }
    }
    let offset_s = match &b[pos..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digit = |c: u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
            let (h, m) = (
                digit(*h1)? * 10 + digit(*h2)?,
                digit(*m1)? * 10 + digit(*m2)?,
            );
            if h > 17 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    // Days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Some(secs * 1000 + ms)
}

/// Rounds a converted value to 9 decimal places, so a unit conversion does not print binary
/// noise (`0.97 * 100` is `97.00000000000001` in f64). Far below any sensor's precision.
pub(crate) fn tidy(x: f64) -> f64 {
    let r = (x * 1e9).round() / 1e9;
    if r.is_finite() { r } else { x }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_json_path() {
        let v = json!({"data": {"data": [{"value": "x", "timezone_offset": 99999}]}});
        let root = object_at(&v, "").unwrap();
        let data = root.obj_req("data").unwrap();
        let arr = data.arr_req("data").unwrap();
        let s = data.elem("data", 0, &arr[0]).unwrap();
        let e = s.f64_req("value").unwrap_err();
        assert_eq!(e.field(), Some("data.data[0].value"));
        assert_eq!(e.provider(), Some("junction"));
        let e = s.offset_opt("timezone_offset").unwrap_err();
        assert_eq!(e.field(), Some("data.data[0].timezone_offset"));
        assert_eq!(root.obj_req("nope").unwrap_err().field(), Some("nope"));
        assert!(object_at(&json!([1]), "").is_err());
    }

    #[test]
    fn the_fast_time_path_agrees_with_the_full_parser() {
        let cases = [
            "2024-03-10T07:05:00-05:00",
            "2024-03-10T17:40:00+05:30",
            "2024-02-29T23:59:59Z",
            "2000-02-29T00:00:00.5+00:00",
            "2100-12-31T23:59:59.123456789-17:59",
            "1971-01-01T00:00:00.12+01:00",
            "2026-11-18T14:00:00+00:00",
            "8999-06-15T12:34:56.007Z",
        ];
        for s in cases {
            let full = parse_rfc3339(PROVIDER, "t", s).unwrap().epoch_ms;
            assert_eq!(fast_epoch_ms(s), Some(full), "{s}");
        }
        // Shapes the fast path leaves to the full parser, whatever it decides about them.
        for s in [
            "2023-02-29T00:00:00Z",
            "2024-03-10T07:05:60Z",
            "2024-03-10 07:05:00Z",
            "2024-03-10T07:05:00",
            "2024-03-10T07:05:00+0530",
            "2024-03-10T07:05:00.Z",
            "2024-03-10T07:05:00z",
            "2024-03-10T07:05:00-05:00[America/New_York]",
            "1970-01-01T00:00:00Z",
            "+2024-03-10T07:05:00Z",
            "2024-03-10T24:00:00Z",
            "2024-13-10T07:05:00Z",
            "2024-03-10T07:05:00.1234567890Z",
        ] {
            assert_eq!(fast_epoch_ms(s), None, "{s}");
        }
    }

    #[test]
    fn element_errors_name_the_index() {
        let v = json!({"data": [{"value": "x"}, 3]});
        let root = object_at(&v, "").unwrap();
        let arr = root.arr_req("data").unwrap();
        let p: Arc<str> = root.path_of("data").into();
        let s = elem_at(&p, 0, &arr[0]).unwrap();
        assert_eq!(
            s.f64_req("value").unwrap_err().field(),
            Some("data[0].value")
        );
        assert_eq!(
            s.time_ms_req("timestamp").unwrap_err().field(),
            Some("data[0].timestamp")
        );
        assert_eq!(
            elem_at(&p, 1, &arr[1]).unwrap_err().field(),
            Some("data[1]")
        );
    }

    #[test]
    fn tidy_removes_conversion_noise() {
        assert_eq!(tidy(0.97 * 100.0), 97.0);
        assert_eq!(tidy(5.5 * 18.016), 99.088);
    }

    #[test]
    fn counts_must_be_whole_and_not_negative() {
        let v = json!({"a": 12.0, "b": 1.5, "c": -1, "d": null});
        let o = object_at(&v, "data").unwrap();
        assert_eq!(o.count_opt("a").unwrap(), Some(12));
        assert!(o.count_opt("b").is_err());
        assert!(o.count_opt("c").is_err());
        assert_eq!(o.count_opt("d").unwrap(), None);
        assert_eq!(o.count_opt("missing").unwrap(), None);
    }
}
