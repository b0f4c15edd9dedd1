//! What Oura's cases claim, checked item by item on the testkit runner (the conformance harness's
//! runner, which also compares every step with its reviewed snapshot and declared outcome, and
//! whose loopback server checks that every API request carries the connection's bearer token):
//! a re-delivery emits nothing and a correction re-emits only what changed, deletes withdraw the
//! emitted item, a changed readiness is revision 2; and mutated fetched documents never make
//! `normalize` panic.

// A test file: a malformed case or a broken expectation must fail the test loudly, and helpers
// outside `#[test]` functions are not covered by clippy's allow-in-tests settings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use bytes::Bytes;
use nexus_adapter_oura::OuraAdapter;
use nexus_core::{Adapter, EventType, Item, ItemBody, NormalizeContext};
use nexus_testkit::{LoadedCase, StepOutcome, StepRun, load_cases, run_named};
use serde_json::Value;

fn cases() -> Vec<LoadedCase> {
    let (cases, errors) = load_cases(&Path::new(env!("CARGO_MANIFEST_DIR")).join("cases"));
    assert!(errors.is_empty(), "{errors:?}");
    cases
}

fn run(name: &str) -> Vec<StepRun> {
    run_named(
        &OuraAdapter,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("cases"),
        name,
    )
    .unwrap()
}

fn summary(items: &[Item]) -> Vec<(EventType, u32)> {
    items.iter().map(|i| (i.event_type(), i.revision)).collect()
}

fn items_of(runs: &[StepRun], step: usize) -> &[Item] {
    match &runs[step].outcome {
        StepOutcome::Envelopes => &runs[step].emitted,
        _ => panic!("step {step} did not emit items: {}", runs[step].describe()),
    }
}

#[test]
fn a_redelivery_emits_nothing_and_a_correction_re_emits_only_what_changed() {
    let out = run("sleep-corrected");
    let first = items_of(&out, 0);
    assert_eq!(first[0].event_type(), EventType::Sleep);
    let hr_chunks = first
        .iter()
        .filter(|i| i.event_type() == EventType::HeartRateSeries)
        .count();
    let hrv_chunks = first
        .iter()
        .filter(|i| i.event_type() == EventType::HrvRmssdSeries)
        .count();
    assert!(
        hr_chunks > 20 && hrv_chunks > 20,
        "{hr_chunks} {hrv_chunks}"
    );
    assert!(first.iter().all(|i| i.revision == 1));
    assert!(
        items_of(&out, 1).is_empty(),
        "identical re-delivery must emit nothing"
    );
    let third = items_of(&out, 2);
    // The sleep (stages changed), the HR chunks of items 12 and 70, the HRV chunk of item 12.
    assert_eq!(
        summary(third),
        vec![
            (EventType::Sleep, 2),
            (EventType::HeartRateSeries, 2),
            (EventType::HeartRateSeries, 2),
            (EventType::HrvRmssdSeries, 2),
        ]
    );
}

#[test]
fn deletes_withdraw_the_emitted_item() {
    for name in [
        "sleep-deleted",
        "workout-manual-deleted",
        "sleep-rejected-as-rest",
    ] {
        let out = run(name);
        let created = &items_of(&out, 0)[0];
        let deleted = items_of(&out, 1);
        assert_eq!(deleted.len(), 1, "{name}");
        assert_eq!(deleted[0].source_id, created.source_id, "{name}");
        assert_eq!(deleted[0].revision, 2, "{name}");
        let ItemBody::Deletion(d) = &deleted[0].body else {
            panic!("{name}")
        };
        assert_eq!(d.deleted_event_type, created.event_type(), "{name}");
    }
}

#[test]
fn a_changed_readiness_is_revision_two() {
    let out = run("daily-readiness-updated");
    assert_eq!(
        summary(items_of(&out, 1)),
        vec![(EventType::DailyReadiness, 2)]
    );
}

/// Every fetched document of the cases, with each of its fields (one level of nesting too)
/// removed, nulled, or replaced by a wrong type, a huge number, a negative number or a bad date:
/// normalize returns an item or a typed error, never panics.
#[test]
fn mutated_documents_never_panic() {
    let replacements = [
        Value::Null,
        Value::String("x".into()),
        serde_json::json!(1e300),
        serde_json::json!(-1),
        serde_json::json!("2024-13-45T99:99:99+99:99"),
        serde_json::json!([1, 2]),
        serde_json::json!({"a": 1}),
    ];
    let mut tried = 0;
    let mut seen = std::collections::HashSet::new();
    for case in cases() {
        for step in &case.case.steps {
            for ex in &step.exchanges {
                if ex.response.status != 200 {
                    continue;
                }
                let kind = ex.request.path.split('/').nth(3).unwrap();
                let doc = ex
                    .response
                    .body
                    .as_ref()
                    .unwrap()
                    .as_object()
                    .unwrap()
                    .clone();
                if !seen.insert(format!("{kind}{}", Value::Object(doc.clone()))) {
                    continue;
                }
                let mut variants: Vec<serde_json::Map<String, Value>> = Vec::new();
                for (key, value) in &doc {
                    let mut removed = doc.clone();
                    removed.remove(key);
                    variants.push(removed);
                    for r in &replacements {
                        let mut m = doc.clone();
                        m.insert(key.clone(), r.clone());
                        variants.push(m);
                    }
                    if let Value::Object(inner) = value {
                        for inner_key in inner.keys() {
                            for r in &replacements {
                                let mut m = doc.clone();
                                m[key.as_str()][inner_key.as_str()] = r.clone();
                                variants.push(m);
                            }
                        }
                    }
                }
                for v in variants {
                    let record = nexus_core::RawRecord {
                        kind: kind.to_owned(),
                        body: Bytes::from(serde_json::to_vec(&v).unwrap()),
                        provider_user_id: Some("oura-user-5c1e9a".into()),
                        provider_notification_id: None,
                        fetched_at: Some(1_731_312_000_000),
                    };
                    if let Ok(out) = OuraAdapter.normalize(&record, &NormalizeContext::default()) {
                        for item in out.items {
                            serde_json::to_string(&item.item).unwrap();
                        }
                    }
                    tried += 1;
                }
            }
        }
    }
    assert!(tried > 1000, "{tried}");
}
