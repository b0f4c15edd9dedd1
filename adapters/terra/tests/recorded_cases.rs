//! What Terra's sequence cases claim, checked item by item on the testkit runner (the same runner
//! as the conformance harness, which also compares every step with its reviewed snapshot and its
//! declared outcome): a re-delivery emits nothing, a changed summary is revision 2, overlapping
//! heart-rate batches merge, a deletion withdraws the activity.

// Test helpers outside #[test] fns: a broken case file must stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use nexus_adapter_terra::TerraAdapter;
use nexus_core::{EventType, Item};
use nexus_testkit::{StepRun, run_named};

fn run(name: &str) -> Vec<StepRun> {
    run_named(
        &TerraAdapter,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("cases"),
        name,
    )
    .unwrap()
}

/// The items each step emitted.
fn emitted(name: &str) -> Vec<Vec<Item>> {
    run(name).into_iter().map(|s| s.emitted).collect()
}

#[test]
fn sequences_behave_as_their_descriptions_say() {
    let rev = emitted("daily_revision");
    assert!(!rev[0].is_empty());
    assert!(rev[1].is_empty(), "identical re-delivery emits nothing");
    let summary: Vec<_> = rev[2]
        .iter()
        .filter(|i| i.event_type() == EventType::DailySummary)
        .collect();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].revision, 2);
    assert_eq!(rev[2].len(), 1, "only the summary changed");

    let merge = emitted("daily_heart_rate_overlap");
    let hr: Vec<_> = merge[1]
        .iter()
        .filter(|i| i.event_type() == EventType::HeartRateSeries)
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

    let del = emitted("activity_deletion");
    assert_eq!(del[1].len(), 1);
    assert_eq!(del[1][0].event_type(), EventType::Deletion);
    assert_eq!(del[1][0].source_id, del[0][0].source_id);
    assert_eq!(del[1][0].revision, 2);
}
