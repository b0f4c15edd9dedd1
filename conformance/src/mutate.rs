//! Generated mutations of recorded bodies, for the robustness suite: a fixed, deterministic set per
//! body, bounded so a case costs milliseconds.
//!
//! For a JSON body, over at most [`MAX_PATHS`] of its values (document order, only the first
//! element of each array, spread evenly when there are more): the member removed, set to null, set
//! to a value of the wrong type, a number made huge (`1e300`), a date-like string made an invalid
//! date. For every non-empty body: truncated to half, and a non-UTF-8 byte pair inserted in the
//! middle. For the inbound request: a top-level type discriminator (`type`, `event_type`,
//! `data_type`, `kind`) set to an unknown event type.
//!
//! Mutation ids read `<where>:<kind>:<json pointer>`, e.g. `request:null:/data/0/start_time` or
//! `exchange1:huge:/data/0/steps`; a case documents a skip with that id (or a prefix and `*`).

use bytes::Bytes;
use serde_json::Value;

/// At most this many JSON paths are mutated per body.
pub const MAX_PATHS: usize = 40;

/// The kind of a mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An object member removed.
    Remove,
    /// A value set to null.
    Null,
    /// A value replaced by one of another JSON type.
    WrongType,
    /// A number replaced by `1e300`.
    Huge,
    /// A date-like string replaced by an impossible date.
    BadDate,
    /// The body cut in half.
    Truncated,
    /// Bytes that are not UTF-8 inserted in the middle.
    NonUtf8,
    /// The event type discriminator set to an unknown type.
    UnknownEventType,
}

impl Kind {
    /// The name in mutation ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Remove => "remove",
            Kind::Null => "null",
            Kind::WrongType => "wrong_type",
            Kind::Huge => "huge",
            Kind::BadDate => "bad_date",
            Kind::Truncated => "truncated",
            Kind::NonUtf8 => "non_utf8",
            Kind::UnknownEventType => "unknown_event_type",
        }
    }
}

/// One mutated body.
#[derive(Debug, Clone)]
pub struct Mutation {
    /// `<where>:<kind>:<pointer>`.
    pub id: String,
    /// The kind.
    pub kind: Kind,
    /// The mutated body.
    pub body: Bytes,
}

/// The unknown event type written by [`Kind::UnknownEventType`].
pub const UNKNOWN_EVENT_TYPE: &str = "nexus.conformance.unknown-event-type";

const DISCRIMINATORS: &[&str] = &["type", "event_type", "data_type", "kind", "event"];

/// Every mutation of `body` (labelled `place`); `inbound` adds the unknown-event-type mutation.
pub fn mutations(place: &str, body: &[u8], inbound: bool) -> Vec<Mutation> {
    let mut out = Vec::new();
    if body.is_empty() {
        return out;
    }
    let mid = body.len() / 2;
    out.push(Mutation {
        id: format!("{place}:{}", Kind::Truncated.as_str()),
        kind: Kind::Truncated,
        body: Bytes::copy_from_slice(&body[..mid]),
    });
    let mut bad = body[..mid].to_vec();
    bad.extend_from_slice(&[0xff, 0xfe]);
    bad.extend_from_slice(&body[mid..]);
    out.push(Mutation {
        id: format!("{place}:{}", Kind::NonUtf8.as_str()),
        kind: Kind::NonUtf8,
        body: Bytes::from(bad),
    });

    let Ok(root) = serde_json::from_slice::<Value>(body) else {
        return out;
    };
    if inbound && let Value::Object(o) = &root {
        for key in DISCRIMINATORS {
            if o.get(*key).is_some_and(Value::is_string) {
                let mut v = root.clone();
                v[*key] = Value::String(UNKNOWN_EVENT_TYPE.to_owned());
                push(
                    &mut out,
                    place,
                    Kind::UnknownEventType,
                    &format!("/{key}"),
                    &v,
                );
            }
        }
    }

    let mut paths = Vec::new();
    collect_paths(&root, String::new(), &mut paths);
    let paths = spread(paths, MAX_PATHS);
    for (pointer, is_member) in paths {
        let Some(current) = root.pointer(&pointer) else {
            continue;
        };
        if is_member {
            let mut v = root.clone();
            remove(&mut v, &pointer);
            push(&mut out, place, Kind::Remove, &pointer, &v);
        }
        if !current.is_null() {
            let mut v = root.clone();
            set(&mut v, &pointer, Value::Null);
            push(&mut out, place, Kind::Null, &pointer, &v);
        }
        let wrong = match current {
            Value::String(_) => Some(Value::from(123_456_789)),
            Value::Number(_) => Some(Value::String("not-a-number".to_owned())),
            Value::Bool(_) => Some(Value::String("yes".to_owned())),
            Value::Array(_) | Value::Object(_) => Some(Value::String("unexpected".to_owned())),
            Value::Null => None,
        };
        if let Some(w) = wrong {
            let mut v = root.clone();
            set(&mut v, &pointer, w);
            push(&mut out, place, Kind::WrongType, &pointer, &v);
        }
        if current.is_number() {
            let mut v = root.clone();
            set(&mut v, &pointer, serde_json::json!(1e300));
            push(&mut out, place, Kind::Huge, &pointer, &v);
        }
        if current.as_str().is_some_and(looks_like_date) {
            let mut v = root.clone();
            set(
                &mut v,
                &pointer,
                Value::String("2024-13-45T25:61:61+99:00".to_owned()),
            );
            push(&mut out, place, Kind::BadDate, &pointer, &v);
        }
    }
    out
}

fn push(out: &mut Vec<Mutation>, place: &str, kind: Kind, pointer: &str, v: &Value) {
    if let Ok(bytes) = serde_json::to_vec(v) {
        out.push(Mutation {
            id: format!("{place}:{}:{pointer}", kind.as_str()),
            kind,
            body: Bytes::from(bytes),
        });
    }
}

/// `YYYY-MM-DD...`.
fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// (pointer, is an object member) of every value below the root, document order, only the first
/// element of arrays.
fn collect_paths(v: &Value, at: String, out: &mut Vec<(String, bool)>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let p = format!("{at}/{}", escape(k));
                out.push((p.clone(), true));
                collect_paths(child, p, out);
            }
        }
        Value::Array(a) => {
            if let Some(first) = a.first() {
                let p = format!("{at}/0");
                out.push((p.clone(), false));
                collect_paths(first, p, out);
            }
        }
        _ => {}
    }
}

/// At most `n` elements, evenly spread (deterministic).
fn spread<T: Clone>(all: Vec<T>, n: usize) -> Vec<T> {
    if all.len() <= n {
        return all;
    }
    (0..n).map(|i| all[i * all.len() / n].clone()).collect()
}

fn split_parent(pointer: &str) -> Option<(&str, String)> {
    let (parent, last) = pointer.rsplit_once('/')?;
    Some((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn remove(root: &mut Value, pointer: &str) {
    if let Some((parent, key)) = split_parent(pointer)
        && let Some(Value::Object(o)) = root.pointer_mut(parent)
    {
        o.remove(&key);
    }
}

fn set(root: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = root.pointer_mut(pointer) {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_and_named_by_pointer() {
        let body = br#"{"type":"sleep","data":[{"start":"2024-03-01T00:00:00Z","hr":[1,2],"n":5,"ok":true},{"x":1}]}"#;
        let a = mutations("request", body, true);
        let b = mutations("request", body, true);
        let ids: Vec<&str> = a.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, b.iter().map(|m| m.id.as_str()).collect::<Vec<_>>());
        for want in [
            "request:truncated",
            "request:non_utf8",
            "request:unknown_event_type:/type",
            "request:remove:/data/0/start",
            "request:bad_date:/data/0/start",
            "request:huge:/data/0/n",
            "request:wrong_type:/data/0/ok",
            "request:null:/data/0/hr/0",
        ] {
            assert!(ids.contains(&want), "{want} missing from {ids:?}");
        }
        // Only the first array element is mutated.
        assert!(!ids.iter().any(|i| i.contains("/data/1")), "{ids:?}");
        let removed = a
            .iter()
            .find(|m| m.id == "request:remove:/data/0/start")
            .unwrap();
        let v: Value = serde_json::from_slice(&removed.body).unwrap();
        assert!(v["data"][0].get("start").is_none());
        assert!(std::str::from_utf8(&a[1].body).is_err());
    }

    #[test]
    fn paths_are_bounded() {
        let big: serde_json::Map<String, Value> = (0..500)
            .map(|i| (format!("k{i}"), Value::from(i)))
            .collect();
        let body = serde_json::to_vec(&Value::Object(big)).unwrap();
        let m = mutations("exchange0", &body, false);
        // truncated + non_utf8 + per path at most remove, null, wrong_type, huge
        assert!(m.len() <= 2 + MAX_PATHS * 4, "{}", m.len());
    }
}
