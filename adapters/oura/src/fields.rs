//! Typed access to the fields of an Oura JSON document. Every accessor takes the JSON path of the
//! field, so a missing or mistyped value becomes `Error::malformed("oura", path, reason)` naming
//! exactly what was wrong. Absent keys and `null` are both "not given" (`None`).

use nexus_core::time::{self, LocalTime};
use nexus_core::{Error, Result};
use serde_json::{Map, Value};

use crate::PROVIDER;

/// Parses a body that must be one JSON object.
pub(crate) fn parse_object(body: &[u8], what: &str) -> Result<Map<String, Value>> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::malformed(PROVIDER, "$", format!("{what} is not valid JSON ({e})")))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Error::malformed(
            PROVIDER,
            "$",
            format!("{what} must be a JSON object, got {}", type_name(&other)),
        )),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong(path: &str, expected: &str, got: &Value) -> Error {
    Error::malformed(
        PROVIDER,
        path,
        format!("expected {expected}, got {}", type_name(got)),
    )
}

/// One JSON object with the path it sits at, for error messages.
#[derive(Clone)]
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    /// The top-level object of a document (path `$`).
    pub(crate) fn root(map: &'a Map<String, Value>) -> Obj<'a> {
        Obj {
            map,
            path: String::new(),
        }
    }

    /// An object found at `path` (an array element such as `data[3]`).
    pub(crate) fn at(map: &'a Map<String, Value>, path: String) -> Obj<'a> {
        Obj { map, path }
    }

    /// The JSON path of `key` in this object (`heart_rate.interval`).
    pub(crate) fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A string field, `None` when absent or null.
    pub(crate) fn str_opt(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(wrong(&self.path_of(key), "a string", other)),
        }
    }

    /// A string field that must be present and non-empty.
    pub(crate) fn str_req(&self, key: &str) -> Result<&'a str> {
        match self.str_opt(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(Error::malformed(
                PROVIDER,
                self.path_of(key),
                "must not be empty",
            )),
            None => Err(Error::malformed(PROVIDER, self.path_of(key), "is required")),
        }
    }

    /// A number field, `None` when absent or null.
    pub(crate) fn f64_opt(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                n.as_f64()
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or_else(|| {
                        Error::malformed(PROVIDER, self.path_of(key), "number out of range")
                    })
            }
            Some(other) => Err(wrong(&self.path_of(key), "a number", other)),
        }
    }

    /// A number field within `[min, max]`.
    pub(crate) fn f64_in(&self, key: &str, min: f64, max: f64) -> Result<Option<f64>> {
        match self.f64_opt(key)? {
            Some(x) if !(min..=max).contains(&x) => Err(Error::malformed(
                PROVIDER,
                self.path_of(key),
                format!("{x} is outside the plausible range {min}..={max}"),
            )),
            v => Ok(v),
        }
    }

    /// A non-negative duration in seconds (at most `max_s`).
    pub(crate) fn seconds(&self, key: &str, max_s: f64) -> Result<Option<f64>> {
        self.f64_in(key, 0.0, max_s)
    }

    /// A non-negative integer count.
    pub(crate) fn count(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) if i >= 0 => Ok(Some(i)),
                _ => Err(Error::malformed(
                    PROVIDER,
                    self.path_of(key),
                    format!("expected a non-negative integer, got {n}"),
                )),
            },
            Some(other) => Err(wrong(&self.path_of(key), "an integer", other)),
        }
    }

    /// A nested object, `None` when absent or null.
    pub(crate) fn obj_opt(&self, key: &str) -> Result<Option<Obj<'a>>> {
        let path = self.path_of(key);
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj { map, path })),
            Some(other) => Err(wrong(&path, "an object", other)),
        }
    }

    /// An array field, `None` when absent or null.
    pub(crate) fn array_opt(&self, key: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(wrong(&self.path_of(key), "an array", other)),
        }
    }

    /// An RFC 3339 time with offset, `None` when absent or null.
    pub(crate) fn time_opt(&self, key: &str) -> Result<Option<LocalTime>> {
        self.str_opt(key)?
            .map(|s| time::parse_rfc3339(PROVIDER, &self.path_of(key), s))
            .transpose()
    }

    /// An RFC 3339 time with offset that must be present.
    pub(crate) fn time_req(&self, key: &str) -> Result<LocalTime> {
        time::parse_rfc3339(PROVIDER, &self.path_of(key), self.str_req(key)?)
    }

    /// The `day` field (`YYYY-MM-DD`), required, validated, returned as written.
    pub(crate) fn day(&self) -> Result<(jiff::civil::Date, String)> {
        let s = self.str_req("day")?;
        if s.len() != 10 {
            return Err(Error::malformed(
                PROVIDER,
                self.path_of("day"),
                format!("expected a date YYYY-MM-DD, got {s:?}"),
            ));
        }
        let d = time::parse_date(PROVIDER, &self.path_of("day"), s)?;
        Ok((d, d.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: &str) -> Map<String, Value> {
        parse_object(json.as_bytes(), "test").unwrap()
    }

    #[test]
    fn wrong_types_name_the_path() {
        let m = doc(r#"{"a": "x", "n": {"b": "y"}, "c": -1, "d": 1.5}"#);
        let o = Obj::root(&m);
        let e = o.f64_opt("a").unwrap_err();
        assert_eq!(e.field(), Some("a"));
        let n = o.obj_opt("n").unwrap().unwrap();
        assert_eq!(n.f64_opt("b").unwrap_err().field(), Some("n.b"));
        assert!(o.count("c").is_err());
        assert!(o.count("d").is_err());
        assert_eq!(o.str_opt("missing").unwrap(), None);
        assert_eq!(o.str_req("missing").unwrap_err().field(), Some("missing"));
    }

    #[test]
    fn nulls_are_absent_and_ranges_are_checked() {
        let m = doc(r#"{"a": null, "p": 101, "day": "2024-02-30"}"#);
        let o = Obj::root(&m);
        assert_eq!(o.f64_opt("a").unwrap(), None);
        assert!(o.f64_in("p", 0.0, 100.0).is_err());
        assert_eq!(o.day().unwrap_err().field(), Some("day"));
        assert!(parse_object(b"[1]", "body").is_err());
        assert!(parse_object(b"{", "body").is_err());
    }
}
