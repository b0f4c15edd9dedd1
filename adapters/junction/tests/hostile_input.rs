//! Provider input is hostile: every body of the recorded cases, truncated anywhere or with any one
//! JSON value replaced by a value of another type or range, must give `Ok` or an `Err` through
//! parse and normalize, never a panic. Errors must name the provider.

// Test code: a broken case file must fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use bytes::Bytes;
use nexus_adapter_junction::JunctionAdapter;
use nexus_core::{Adapter, InboundRequest, NormalizeContext, RawRecord};
use serde_json::{Value, json};

fn bodies() -> Vec<(String, String, Option<Value>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for p in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let stream = step["exchanges"]
                .as_array()
                .and_then(|x| x.first())
                .map(|x| x["response"]["body"].clone());
            out.push((
                format!("{} step {i}", p.file_name().unwrap().to_string_lossy()),
                step["request"]["body"].as_str().unwrap().to_owned(),
                stream,
            ));
        }
    }
    out
}

/// Parse + normalize of a body; returns whether it ended in an error (never panics, or the
/// caller's catch_unwind reports it).
fn run(body: &[u8]) {
    let request = InboundRequest {
        method: "POST".into(),
        path: "/webhooks/junction".into(),
        query: None,
        headers: vec![("svix-id".into(), "msg_fake".into())],
        body: Bytes::copy_from_slice(body),
    };
    match JunctionAdapter.parse(&request) {
        Err(e) => assert_eq!(e.provider(), Some("junction"), "{e}"),
        Ok(ns) => {
            for n in ns {
                for r in &n.records {
                    if let Err(e) = JunctionAdapter.normalize(r, &NormalizeContext::default()) {
                        assert_eq!(e.provider(), Some("junction"), "{e}");
                    }
                }
            }
        }
    }
}

fn run_stream(event: &str, stream: &Value) {
    let body = format!("{{\"event\":{event},\"stream\":{stream}}}");
    let record = RawRecord::new("workout_stream", Bytes::from(body));
    if let Err(e) = JunctionAdapter.normalize(&record, &NormalizeContext::default()) {
        assert_eq!(e.provider(), Some("junction"), "{e}");
    }
}

/// Every path to a value in `v` (objects by key, arrays by index).
fn paths(v: &Value, prefix: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let mut p = prefix.clone();
                p.push(json!(k));
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut p = prefix.clone();
                p.push(json!(i));
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

fn replace(v: &mut Value, path: &[Value], with: Value) {
    let mut cur = v;
    for seg in path {
        cur = match seg {
            Value::String(k) => cur.get_mut(k.as_str()).unwrap(),
            Value::Number(i) => cur.get_mut(i.as_u64().unwrap() as usize).unwrap(),
            _ => unreachable!(),
        };
    }
    *cur = with;
}

fn substitutes() -> Vec<Value> {
    vec![
        Value::Null,
        json!("x"),
        json!(""),
        json!(-1),
        json!(1e300),
        json!(-1e300),
        json!(0.5),
        json!(true),
        json!([]),
        json!({}),
        json!("2026-13-45T99:00:00+00:00"),
        json!("9999-01-01T00:00:00+00:00"),
        json!("a:b c"),
    ]
}

#[test]
fn truncated_and_mutated_bodies_never_panic() {
    let mut runs = 0usize;
    for (name, body, stream) in bodies() {
        let bytes = body.as_bytes();
        let step = (bytes.len() / 64).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let r = catch_unwind(AssertUnwindSafe(|| run(&bytes[..cut])));
            assert!(
                r.is_ok(),
                "{name}: panicked on the body truncated at byte {cut}"
            );
            runs += 1;
        }
        let Ok(value) = serde_json::from_str::<Value>(&body) else {
            continue;
        };
        let mut all = Vec::new();
        paths(&value, Vec::new(), &mut all);
        for path in &all {
            for sub in substitutes() {
                let mut v = value.clone();
                replace(&mut v, path, sub.clone());
                let text = serde_json::to_string(&v).unwrap();
                let r = catch_unwind(AssertUnwindSafe(|| run(text.as_bytes())));
                assert!(r.is_ok(), "{name}: panicked with {path:?} = {sub}");
                runs += 1;
            }
        }
        if let Some(stream) = stream.filter(|s| s.get("time").is_some()) {
            let mut all = Vec::new();
            paths(&stream, Vec::new(), &mut all);
            for path in &all {
                for sub in substitutes() {
                    let mut s = stream.clone();
                    replace(&mut s, path, sub.clone());
                    let r = catch_unwind(AssertUnwindSafe(|| run_stream(&body, &s)));
                    assert!(r.is_ok(), "{name}: stream panicked with {path:?} = {sub}");
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 10_000, "only {runs} mutations ran");
}
