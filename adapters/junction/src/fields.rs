//! Path-naming access to a Junction JSON payload: every accessor that fails names the provider,
//! the JSON path of the field (`data.data[3].timestamp`) and the reason, so bad input never panics
//! and never turns into a silently wrong value.

use nexus_core::time::{LocalTime, parse_rfc3339};
use nexus_core::{Error, Result};
use serde_json::{Map, Value};

use crate::PROVIDER;

/// A JSON object together with its path from the payload root.
#[derive(Debug, Clone)]
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
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
        Value::Object(map) => Ok(Obj { map, path }),
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
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
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
        object_at(v, format!("{}[{i}]", self.path_of(key)))
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
