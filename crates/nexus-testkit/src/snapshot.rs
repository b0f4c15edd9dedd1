//! Envelope snapshots: the shared insta settings (explicit names `<adapter>__<case>__<step>`,
//! `event_id` and `emitted_at` redacted, sorted maps, the case file as input) and a comparison
//! that names the JSON paths that differ.
//!
//! A snapshot that matches passes without writing anything. A missing or different snapshot is
//! handed to insta, which writes `<name>.snap.new` for `cargo insta review` (or, with
//! `INSTA_UPDATE=always`, as `cargo xtask conformance --accept` sets it, the `.snap` itself), and
//! the check fails with the differences. When `CI` is set nothing is ever accepted.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use nexus_core::Envelope;
use serde_json::Value;

/// What redacted fields read as in snapshots.
pub const REDACTED_EVENT_ID: &str = "[event_id]";
/// What redacted fields read as in snapshots.
pub const REDACTED_EMITTED_AT: &str = "[emitted_at]";

/// The explicit snapshot name of a step: `<adapter>__<case>__<step index>`.
pub fn snapshot_name(adapter: &str, case: &str, step: usize) -> String {
    format!("{adapter}__{case}__{step}")
}

/// The snapshot file of `name` in `dir`.
pub fn snapshot_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.snap"))
}

/// Envelopes as snapshot JSON: `event_id` and `emitted_at` replaced by fixed markers.
pub fn redacted(envelopes: &[Envelope]) -> Value {
    let mut v = serde_json::to_value(envelopes).unwrap_or(Value::Null);
    if let Value::Array(list) = &mut v {
        for env in list {
            if let Value::Object(o) = env {
                if o.contains_key("event_id") {
                    o.insert("event_id".into(), Value::String(REDACTED_EVENT_ID.into()));
                }
                if o.contains_key("emitted_at") {
                    o.insert(
                        "emitted_at".into(),
                        Value::String(REDACTED_EMITTED_AT.into()),
                    );
                }
            }
        }
    }
    v
}

/// The insta settings every envelope snapshot uses.
pub fn settings(snapshot_dir: &Path, case_file: &Path, description: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(snapshot_dir);
    s.set_prepend_module_to_snapshot(false);
    s.set_sort_maps(true);
    s.set_omit_expression(true);
    s.set_input_file(case_file);
    if !description.is_empty() {
        s.set_description(description);
    }
    s.add_redaction("[].event_id", REDACTED_EVENT_ID);
    s.add_redaction("[].emitted_at", REDACTED_EMITTED_AT);
    s
}

/// Reads the JSON content of a stored snapshot; `Ok(None)` when the file does not exist.
pub fn read_snapshot(path: &Path) -> Result<Option<Value>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    let body = match text.strip_prefix("---\n") {
        Some(rest) => match rest.find("\n---\n") {
            Some(end) => &rest[end + 5..],
            None => return Err(format!("{}: no end of the snapshot header", path.display())),
        },
        None => text.as_str(),
    };
    serde_json::from_str(body)
        .map(Some)
        .map_err(|e| format!("{}: snapshot content is not JSON: {e}", path.display()))
}

/// Where two JSON values differ, as `path: expected X, got Y` lines (numbers compare by value,
/// object key order does not matter). Empty when equal.
pub fn differences(expected: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_into("", expected, actual, &mut out);
    out
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}...", s.chars().take(77).collect::<String>())
    } else {
        s
    }
}

fn diff_into(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(vb) => diff_into(&p, va, vb, out),
                    None => out.push(format!("{p}: missing (snapshot has {})", short(va))),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    out.push(format!(
                        "{path}.{k}: not in the snapshot (now {})",
                        short(vb)
                    ));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff_into(&format!("{path}[{i}]"), va, vb, out);
            }
            if x.len() != y.len() {
                out.push(format!(
                    "{path}: snapshot has {} element(s), now {}",
                    x.len(),
                    y.len()
                ));
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let same = match (x.as_i64(), y.as_i64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            };
            if !same {
                out.push(format!("{path}: snapshot {x}, now {y}"));
            }
        }
        _ => {
            if a != b {
                out.push(format!("{path}: snapshot {}, now {}", short(a), short(b)));
            }
        }
    }
}

/// True when snapshots may be written by this run (`INSTA_UPDATE=always`, outside CI).
pub fn accepting() -> bool {
    std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always") && !in_ci()
}

/// True when running on CI (`CI` set and not `false`/`0`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Checks `envelopes` against the snapshot `name` in `snapshot_dir`.
pub fn check(
    snapshot_dir: &Path,
    name: &str,
    case_file: &Path,
    description: &str,
    envelopes: &[Envelope],
) -> Result<(), String> {
    let actual = redacted(envelopes);
    let file = snapshot_file(snapshot_dir, name);
    let stored = read_snapshot(&file)?;
    let diffs = match &stored {
        Some(expected) => {
            let d = differences(expected, &actual);
            if d.is_empty() {
                // A pending `.snap.new` from an earlier run is settled now.
                let _ = std::fs::remove_file(file.with_extension("snap.new"));
                return Ok(());
            }
            d
        }
        None => Vec::new(),
    };
    if in_ci() && std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always") {
        return Err(format!(
            "snapshot `{name}` {}; snapshots are never accepted on CI (CI is set): \
             run `cargo xtask conformance --accept` locally, review and commit them",
            if stored.is_some() {
                "differs"
            } else {
                "is missing"
            }
        ));
    }
    // Hand over to insta: it writes `.snap.new` (or `.snap` when accepting) and fails.
    let settings = settings(snapshot_dir, case_file, description);
    let value = actual.clone();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_json_snapshot!(name, value));
    }));
    if accepting() {
        // insta wrote the `.snap`; confirm it now holds this run's envelopes.
        if let Ok(Some(now)) = read_snapshot(&file)
            && differences(&now, &actual).is_empty()
        {
            return Ok(());
        }
    }
    let _ = outcome;
    let hint = if in_ci() {
        "CI is set, so nothing was written"
    } else {
        "insta wrote the new version beside it as `.snap.new`: review it with `cargo insta review`, \
         or accept every pending snapshot with `cargo xtask conformance --accept`"
    };
    match stored {
        None => Err(format!(
            "snapshot `{name}` is missing ({}); {hint}",
            file.display()
        )),
        Some(_) => {
            let shown: Vec<&String> = diffs.iter().take(12).collect();
            let more = diffs.len().saturating_sub(shown.len());
            let mut msg = format!("snapshot `{name}` differs from {}:\n", file.display());
            for d in shown {
                msg.push_str(&format!("  {d}\n"));
            }
            if more > 0 {
                msg.push_str(&format!("  ... and {more} more\n"));
            }
            msg.push_str(hint);
            Err(msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_paths_and_compare_numbers_by_value() {
        let a = json!({"data": [{"distance_m": 1200.0, "steps": 3, "x": null}]});
        let b = json!({"data": [{"distance_m": 1200, "steps": 4}]});
        let d = differences(&a, &b);
        assert_eq!(
            d,
            vec![
                ".data[0].steps: snapshot 3, now 4",
                ".data[0].x: missing (snapshot has null)"
            ]
        );
        assert!(differences(&a, &a).is_empty());
    }

    #[test]
    fn snapshot_files_are_read_past_their_header() {
        let dir = std::env::temp_dir().join(format!("nexus-testkit-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.snap");
        std::fs::write(&f, "---\nsource: a.rs\nexpression: v\n---\n[\n  1\n]\n").unwrap();
        assert_eq!(read_snapshot(&f).unwrap(), Some(json!([1])));
        assert_eq!(read_snapshot(&dir.join("none.snap")).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
