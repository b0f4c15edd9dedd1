//! Runs every recorded case in `adapters/terra/cases/` through verify -> parse -> normalize -> the
//! dedupe engine, and checks each step's declared outcome: the expected error kind, success, and
//! nothing emitted for a step marked `stale`. The field-by-field snapshots are the conformance
//! harness's job; this only proves the cases and the adapter agree on outcomes.

// Test helpers outside #[test] fns: a broken case file must stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::Bytes;
use nexus_adapter_terra::TerraAdapter;
use nexus_core::dedupe::{StoredState, apply_batch};
use nexus_core::{Adapter, InboundRequest, Item, NormalizeContext, Secrets};
use serde_json::Value;

fn cases() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Runs one step; `Ok(items emitted)` or `Err(error kind name)`.
fn run_step(
    step: &Value,
    secrets: &Secrets,
    ctx: &NormalizeContext,
    state: &mut HashMap<String, StoredState>,
) -> Result<Vec<Item>, String> {
    let r = &step["request"];
    let headers = r["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap().to_owned()))
        .collect();
    let req = InboundRequest {
        method: r["method"].as_str().unwrap().to_owned(),
        path: r["path"].as_str().unwrap().to_owned(),
        query: r["query"].as_str().map(str::to_owned),
        headers,
        body: Bytes::from(r["body"].as_str().unwrap().to_owned()),
    };
    let now = step["now_ms"].as_i64().unwrap();
    let a = TerraAdapter;
    let kind = |e: nexus_core::Error| e.kind().as_str().to_owned();
    a.verify(&req, secrets, now).map_err(kind)?;
    let mut items = Vec::new();
    for n in a.parse(&req).map_err(kind)? {
        for mut rec in n.records {
            rec.fetched_at = Some(now);
            let out = a.normalize(&rec, ctx).map_err(kind)?;
            // Every referenced device is in the registry.
            for ni in &out.items {
                if let Some(d) = &ni.item.device_id {
                    assert!(out.devices.iter().any(|x| &x.device_id == d));
                }
            }
            items.extend(apply_batch(state, out.items));
        }
    }
    Ok(items)
}

#[test]
fn every_case_step_has_its_declared_outcome() {
    let all = cases();
    assert!(
        all.len() >= 25,
        "expected the full case set, found {}",
        all.len()
    );
    for (name, case) in all {
        let secrets: Secrets = serde_json::from_value(case["secrets"].clone()).unwrap();
        let ctx = NormalizeContext {
            provider_user_id: case["connection"]["provider_user_id"]
                .as_str()
                .map(str::to_owned),
        };
        let mut state = HashMap::new();
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let got = run_step(step, &secrets, &ctx, &mut state);
            match &step["expect"] {
                Value::Object(o) => {
                    let want = o["error"].as_str().unwrap();
                    assert_eq!(got.err().as_deref(), Some(want), "{name} step {i}");
                }
                _ => {
                    let items = got.unwrap_or_else(|e| panic!("{name} step {i}: {e}"));
                    if step["stale"].as_bool() == Some(true) {
                        assert!(
                            items.is_empty(),
                            "{name} step {i} is stale but emitted {items:?}"
                        );
                    }
                    for it in &items {
                        assert_eq!(it.source_id.len(), 64);
                    }
                }
            }
        }
    }
}

#[test]
fn sequences_behave_as_their_descriptions_say() {
    let find = |n: &str| cases().into_iter().find(|c| c.0 == n).unwrap().1;
    let run_all = |case: &Value| -> Vec<Vec<Item>> {
        let secrets: Secrets = serde_json::from_value(case["secrets"].clone()).unwrap();
        let ctx = NormalizeContext::default();
        let mut state = HashMap::new();
        case["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| run_step(s, &secrets, &ctx, &mut state).unwrap())
            .collect()
    };

    let rev = run_all(&find("daily_revision.json"));
    assert!(!rev[0].is_empty());
    assert!(rev[1].is_empty(), "identical re-delivery emits nothing");
    let summary: Vec<_> = rev[2]
        .iter()
        .filter(|i| i.event_type() == nexus_core::EventType::DailySummary)
        .collect();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].revision, 2);
    assert_eq!(rev[2].len(), 1, "only the summary changed");

    let merge = run_all(&find("daily_heart_rate_overlap.json"));
    let hr: Vec<_> = merge[1]
        .iter()
        .filter(|i| i.event_type() == nexus_core::EventType::HeartRateSeries)
        .collect();
    assert_eq!(hr.len(), 1);
    assert_eq!(hr[0].revision, 2);
    let values: Vec<_> = hr[0]
        .body
        .chunk()
        .unwrap()
        .samples
        .iter()
        .map(|s| s.values[0])
        .collect();
    assert_eq!(values, vec![Some(68.0), Some(75.0), Some(80.0)]);

    let del = run_all(&find("activity_deletion.json"));
    assert_eq!(del[1].len(), 1);
    assert_eq!(del[1][0].event_type(), nexus_core::EventType::Deletion);
    assert_eq!(del[1][0].source_id, del[0][0].source_id);
    assert_eq!(del[1][0].revision, 2);
}
